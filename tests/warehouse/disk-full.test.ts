import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freeBytes, lowDiskNote, startFailure } from '../../warehouse/embedded.ts';

/**
 * A full disk under the embedded warehouse (docs/operations.md, "A full disk"). PostgreSQL stops
 * when it cannot write its log, and cannot start until it can; the message says so first. The
 * log below is what PostgreSQL 18 wrote when the embedded server, on a 150 MiB disk, was started
 * after a demo run had filled it (reproduced by hand in a mount namespace with a small tmpfs).
 */
const LOG = [
  'LOG:  starting PostgreSQL 18.4 on x86_64-pc-linux-gnu',
  'LOG:  database system was interrupted while in recovery at 2026-12-06 14:34:45 UTC',
  'HINT:  This probably means that some data is corrupted and you will have to use the last backup for recovery.',
  'LOG:  database system was not properly shut down; automatic recovery in progress',
  'LOG:  redo done at 0/4FFFF78 system usage: CPU: user: 0.06 s, system: 0.03 s, elapsed: 0.10 s',
  'FATAL:  could not write to file "pg_wal/xlogtemp.2795": No space left on device',
  'LOG:  startup process (PID 2795) exited with exit code 1',
  'LOG:  database system is shut down',
].join('\n');
const MIB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'verite-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a full disk under the embedded warehouse', () => {
  it('says first that the disk is full, how much is free and what to do, then gives the log', () => {
    expect(startFailure('/srv/verite/pg', LOG, 12.5 * MIB)).toBe(
      'the embedded PostgreSQL in /srv/verite/pg did not start: the disk it is on is full (12 MiB free): free space there, then run again: ' +
        `PostgreSQL replays its log once it can write, and keeps what was committed. Its log: ${LOG}`,
    );
    // Another cause is the log alone, as before.
    const other = 'FATAL:  lock file "postmaster.pid" already exists';
    expect(startFailure('/srv/verite/pg', other, 10 * 1024 * MIB)).toBe(`the embedded PostgreSQL in /srv/verite/pg did not start: ${other}`);
  });

  it('adds to a lost warehouse the free space of its disk when it is under 256 MiB, the likely cause, and nothing otherwise', () => {
    expect(lowDiskNote('/srv/verite/pg', 12.5 * MIB)).toBe(
      ' The disk holding /srv/verite/pg has 12 MiB free, and PostgreSQL stops when it cannot write its log: free space there, then run again: ' +
        'PostgreSQL replays its log once it can write, and keeps what was committed.',
    );
    expect(lowDiskNote('/srv/verite/pg', 256 * MIB)).toBe('');
    expect(lowDiskNote('/srv/verite/pg', undefined)).toBe('');
  });

  it('reads the free space of the disk a folder is on', () => {
    const free = freeBytes(dir);
    expect(typeof free).toBe('number');
    expect(free).toBeGreaterThan(0);
    expect(freeBytes(join(dir, 'no-such-folder'))).toBeUndefined();
  });
});
