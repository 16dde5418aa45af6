import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterRoot } from '../support/cluster-root.ts';

/**
 * The folder the tests' embedded PostgreSQL servers keep their data in (tests/support/cluster-root.ts):
 * memory when the machine offers it with room, else the temp folder. What the machine offers is
 * read here from /proc/mounts and df, not from the statfs the function reads.
 */

/** The type of the file system holding `path`, by the longest mount point above it in /proc/mounts. */
function fsTypeOf(path: string): string | undefined {
  const mounts = readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((line) => line.split(' '));
  const above = mounts.filter(([, at]) => path === at || path.startsWith(at === '/' ? '/' : `${at}/`));
  above.sort((a, b) => b[1]!.length - a[1]!.length);
  return above[0]?.[2];
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the tests’ PostgreSQL data folder', () => {
  it('is the one VERITE_TEST_PG_ROOT names, whatever it is', () => {
    expect(clusterRoot({ env: '/srv/pg-tests' })).toBe('/srv/pg-tests');
  });

  it('is the temp folder when the candidate does not exist, or is closed to other users', () => {
    expect(clusterRoot({ env: '', shm: join(tmpdir(), 'no-such-folder-of-verite') })).toBe(tmpdir());
    // Made in memory when the machine has it, where only its mode can turn it down.
    const closed = mkdtempSync(join(fsTypeOf('/dev/shm') === 'tmpfs' ? '/dev/shm' : tmpdir(), 'verite-closed-'));
    dirs.push(closed);
    expect(statSync(closed).mode & 0o777).toBe(0o700);
    expect(clusterRoot({ env: '', shm: closed })).toBe(tmpdir());
  });

  it('is not a folder open to all on a disk', () => {
    const open = mkdtempSync(join(process.cwd(), 'verite-open-'));
    dirs.push(open);
    chmodSync(open, 0o1777);
    const type = fsTypeOf(open);
    expect(type).toBeDefined();
    expect(clusterRoot({ env: '', shm: open })).toBe(type === 'tmpfs' ? open : tmpdir());
  });

  it('is /dev/shm when it is a tmpfs open to all with a GiB free', () => {
    let expected = tmpdir();
    if (fsTypeOf('/dev/shm') === 'tmpfs' && (statSync('/dev/shm').mode & 0o1777) === 0o1777) {
      const avail = Number(execFileSync('df', ['-B1', '--output=avail', '/dev/shm'], { encoding: 'utf8' }).trim().split('\n')[1]);
      if (avail >= 1024 ** 3) expected = '/dev/shm';
    }
    expect(clusterRoot({ env: '', shm: '/dev/shm' })).toBe(expected);
  });
});
