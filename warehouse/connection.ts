import { accessSync, constants as fsConstants } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../lib/logger.ts';
import { registerSecret } from '../lib/logger.ts';
import { ConfigError, WarehouseError } from '../lib/errors.ts';
import { databaseUrlFromEnv } from '../config/load.ts';
import type { Database } from './database.ts';
import { reachableDataDir, startEmbedded, type EmbeddedServer } from './embedded.ts';
import { migrateToLatest } from './migrate.ts';
import { lonePercent } from '../lib/url-parts.ts';

// Dates stay 'YYYY-MM-DD' strings (never shifted by the process's time zone); bigint counts
// become numbers; numeric keeps its full precision as a string.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** An open warehouse: the Kysely handle, the pool under it, and how to close both. */
export interface Warehouse {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** The connection string (holds a password: never log it; use `describe`). */
  url: string;
  /** Where the warehouse is, without secrets, for messages. */
  describe: string;
  embedded: EmbeddedServer | null;
  /** The demo shop's warehouse (`--demo`), kept apart from the real shop's. */
  demo?: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A PostgreSQL connection string; default `DATABASE_URL`, else the embedded server. */
  databaseUrl?: string;
  /**
   * The demo shop's warehouse instead of the real one (see {@link demoWarehouse}): the embedded
   * server's `demo/` folder, or the `<database>_demo` database next to `DATABASE_URL`'s.
   */
  demo?: boolean;
  /** Folder holding `.verite/` for the embedded server (default: the working directory). */
  cwd?: string;
  /** The embedded server's folder (its cluster in `pg/`); default `VERITE_DATA_DIR`, else `.verite/` in `cwd`. */
  dataDir?: string;
  log?: Logger;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  poolSize?: number;
  /** The embedded server's port when this process starts it (`verite serve --warehouse-port`); default a free one. */
  embeddedPort?: number;
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/**
 * Settings of every session verite opens, so that the server notices a client that is gone and
 * ends its session (with its locks) within seconds, not minutes:
 * - `client_connection_check_interval`: while a statement runs (a transform's CREATE TABLE AS,
 *   a lock wait), the server checks every 2 s that the client is still connected, and cancels
 *   the statement when it is not (a client killed with SIGKILL; PostgreSQL 14 and later, Linux);
 * - `tcp_keepalives_*`: a client machine that vanished without closing its connection is
 *   noticed after about a minute (30 s idle, then 3 probes 10 s apart);
 * - `idle_in_transaction_session_timeout`: a session left idle inside a transaction for a minute
 *   is ended. verite's transactions (a page being landed, the transform's one transaction, the
 *   metrics refresh) send their statements one after the other and are never idle for long: the
 *   work is done by statements, which do not count as idle. The run lock is held by a session
 *   outside any transaction, which this does not touch.
 * - `idle_session_timeout` 0 (PostgreSQL 14 and later): the run lock is held by a session that
 *   sends nothing while the run goes on (pipeline/lock.ts); a server default that ends idle
 *   sessions would end it mid-run, and free the lock for a second run beside the first.
 *   verite's pool closes its own idle connections.
 * - `statement_timeout` 0: a time-out the server, the database or verite's login carries for
 *   interactive users (`ALTER DATABASE … SET statement_timeout`, common on managed servers)
 *   would cancel a first build's statements at a large shop, each of which may take minutes,
 *   and fail the nightly run. verite's statements are batch work, bounded by the checks above;
 *   the BI role keeps its own time-out (metrics/bi-role.ts).
 * - `transaction_timeout` 0 (PostgreSQL 17 and later): the same for a time-out on a whole
 *   transaction, which ends the session (`terminating connection due to transaction timeout`):
 *   the transform's and the refresh's single transactions take as long as the shop's build.
 * - `DateStyle`, `IntervalStyle`, `extra_float_digits`, `TimeZone`: the server's defaults for
 *   them are the administrator's to choose (`DateStyle = 'SQL, DMY'` writes a date `01/03/2024`,
 *   `extra_float_digits = 0` rounds a float to 15 digits), and verite reads what the server
 *   writes: dates as ISO text, intervals in PostgreSQL's own style, floats exactly, and a time
 *   without an offset, or a timestamp made a date, in UTC, as the transform's and the refresh's
 *   transactions already did.
 * - `jit` off: a server built with LLVM (Debian's and Ubuntu's packages among others)
 *   compiles a statement whose estimated cost passes `jit_above_cost` before running it, and
 *   the estimates of verite's statements over JSON arrays (a hundred rows assumed per
 *   `jsonb_array_elements`) pass it even when the statement reads a few rows: on Debian's
 *   PostgreSQL 15 a nightly run's incremental statements each spent 0.3–0.9 s compiling what then
 *   ran in milliseconds. Measured there on the pipeline benchmark's shop of 73,000 orders
 *   (docs/scale.md): the first build 38.7 s with JIT, 26.5 s without; a run with no new data
 *   1.4 s and 0.2 s; the nightly run 7.2 s and 2.3 s.
 * Settings the server does not know (an older or a PostgreSQL-compatible server) are skipped.
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  client_connection_check_interval: '2s',
  tcp_keepalives_idle: '30',
  tcp_keepalives_interval: '10',
  tcp_keepalives_count: '3',
  idle_in_transaction_session_timeout: '1min',
  idle_session_timeout: '0',
  statement_timeout: '0',
  transaction_timeout: '0',
  DateStyle: 'ISO, MDY',
  IntervalStyle: 'postgres',
  extra_float_digits: '1',
  TimeZone: 'UTC',
  jit: 'off',
};

/**
 * Settings verite prefers but leaves to the administrator: set on a session only where the
 * server accepts the value (a setting's listed values, `pg_settings.enumvals`) and the setting
 * is still at PostgreSQL's built-in default (set by no configuration file, `ALTER SYSTEM`,
 * `ALTER DATABASE` or `ALTER ROLE`):
 * - `default_toast_compression` lz4 (PostgreSQL 14 and later, on a server built with lz4, as
 *   Debian's, the managed services' and the official images' are; not the embedded warehouse's):
 *   the JSON verite lands and the tables it builds are compressed with lz4 rather than pglz.
 *   Measured on 260,000 landed Shopify orders (docs/scale.md): landing them took 24% less time,
 *   reading two fields of every record half the time, and the table took 12% more room.
 *   Only what is written from then on is compressed so; a value stored before keeps its method,
 *   and both are read alike. The session's setting is not written into a table's definition,
 *   so `pg_dump` and restoring onto a server without lz4 work as before.
 */
export const PREFERRED_SESSION_SETTINGS: Readonly<Record<string, string>> = {
  default_toast_compression: 'lz4',
};

/**
 * The one statement that sets a new session's settings: each of `required` the server knows,
 * and each of `preferred` it accepts (one of the setting's listed values: a value it might refuse
 * would fail the statement, and every setting with it) and has left at its built-in default.
 */
export function sessionSettingsQuery(required: Readonly<Record<string, string>>, preferred: Readonly<Record<string, string>> = {}): { text: string; values: string[] } {
  const entries = [...Object.entries(required).map(([name, value]) => [name, value, 'false'] as const), ...Object.entries(preferred).map(([name, value]) => [name, value, 'true'] as const)];
  const text = `select set_config(v.name, v.value, false)
   from (values ${entries.map(([, , isPreferred], i) => `($${2 * i + 1}, $${2 * i + 2}, ${isPreferred})`).join(', ')}) as v(name, value, preferred)
  where exists (select 1 from pg_settings s
                 where s.name = v.name
                   and (not v.preferred or (s.source = 'default' and v.value = any(s.enumvals))))`;
  return { text, values: entries.flatMap(([name, value]) => [name, value]) };
}

const SESSION_SETTINGS_QUERY = sessionSettingsQuery(SESSION_SETTINGS, PREFERRED_SESSION_SETTINGS);

/** The most sessions verite's pool opens on the warehouse. */
export const POOL_SIZE = 10;

/** Opens a pool and Kysely on a connection string, without starting anything. */
export function connect(url: string, poolSize = POOL_SIZE): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: driverUrl(url),
    max: poolSize,
    application_name: 'verite',
    // Keepalives on verite's side too: a server that vanished fails the query instead of hanging it.
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
    // Awaited before the new client is handed out, so every statement runs with them. A failure
    // (the server went away) shows in the query the client was taken for.
    onConnect: async (client) => {
      await client.query(SESSION_SETTINGS_QUERY.text, SESSION_SETTINGS_QUERY.values).catch(() => undefined);
    },
  });
  pool.on('error', () => undefined); // an idle client dropped by the server; the next query reconnects
  // A client checked out (a page being landed, a transform's transaction) has no listener of the
  // pool's: a server shutting down would emit an unhandled 'error' and crash the process. Its
  // queries fail instead, and the run fails saying why; the pool discards the client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}

/**
 * Checks that a connection string is one: a `postgres://` or `postgresql://` URL naming a host
 * (or a socket folder as `?host=`). Throws a {@link ConfigError} saying what is wrong, never
 * quoting the value (it holds a password); `pg` would otherwise read a bare word as a host
 * named "base" and report "no such host".
 */
export function checkDatabaseUrl(url: string, name = 'DATABASE_URL'): void {
  // Written so that no redaction pattern takes it for a credential.
  const expected = 'expected a URL such as postgres://db.example.com:5432/verite, with user:password@ before the host (URL-encode a password holding @ : / ? # %)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // What a file of variables leaves around a value (docker run --env-file keeps KEY="value"'s quotes).
    const around = /^\s*["']/.test(url) ? ' (it is wrapped in quotes, which the file that set it kept: remove them)' : '';
    throw new ConfigError([`${name} does not parse as a URL${around}: ${expected}`]);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError([`${name} does not parse as a PostgreSQL URL (it begins with ${parsed.protocol}, not postgres://): ${expected}`]);
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) throw new ConfigError([`${name} names no host: ${expected}`]);
  // `user:p@ss#w0rd@db…` parses, as the user `user` with the password `p` at the host `ss`: what follows a # is a URL's fragment.
  if (parsed.hash || url.includes('#')) {
    throw new ConfigError([`${name} holds a #, which ends a URL's address: what follows it is not read, and a password holding # is cut there with its host taken from it. URL-encode a # in the password as %23`]);
  }
  // The driver decodes the user name, password and database name, and stops at a % that begins no escape (URIError: "URI malformed").
  for (const [part, value] of [['user name', parsed.username], ['password', parsed.password], ['database name', parsed.pathname]] as const) {
    if (lonePercent(value)) throw new ConfigError([`${name}'s ${part} holds a % that two hexadecimal digits do not follow: URL-encode a % in it as %25`]);
  }
  const problems: string[] = [];
  const rootcert = parsed.searchParams.get('sslrootcert');
  const mode = parsed.searchParams.get('sslmode');
  if (rootcert === 'system' && mode !== null && mode !== 'verify-full') {
    problems.push(`${name} has sslrootcert=system with sslmode=${mode}: the system's authorities prove a server only with its host name checked too; set sslmode=verify-full, or leave sslmode out`);
  }
  for (const param of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = parsed.searchParams.get(param);
    if (!file || (param === 'sslrootcert' && file === 'system')) continue;
    try {
      accessSync(file, fsConstants.R_OK);
    } catch (error) {
      const why = (error as { code?: string }).code === 'ENOENT' ? 'there is no such file' : 'verite may not read it';
      problems.push(`${name} names ${param}=${file}, and ${why} (a relative path is read from the working directory)`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
}

/**
 * The connection string as node-postgres is to read it. libpq (PostgreSQL 16 and later) reads
 * `sslrootcert=system` as "the system's trusted authorities, and `sslmode=verify-full` unless
 * said otherwise", and providers print it in the connection strings they hand out;
 * node-postgres would read a file named `system`. Without it, node-postgres checks the server's
 * certificate against Node's own authorities (Mozilla's, plus `NODE_EXTRA_CA_CERTS`) and its
 * host name, which is what the value asks for. Every other parameter is passed as it is.
 */
export function driverUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.searchParams.get('sslrootcert') !== 'system') return url;
  parsed.searchParams.delete('sslrootcert');
  if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

/** A server's TLS certificate that Node cannot trace to an authority it trusts (a managed service's own authority, or a self-signed one). */
const UNTRUSTED_CERTIFICATE =
  "the server's TLS certificate is signed by an authority Node does not trust (a managed service's own, or the server's): " +
  "add sslrootcert=<path of that authority's certificate, from the provider> to DATABASE_URL; node-postgres checks the certificate and the host name for sslmode=require too (docs/operations.md, \"TLS to a managed server\")";

/** Why a connection could not be made, in words (Node gives an AggregateError without a message for a host with several addresses). */
export function connectionProblem(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: { message?: string }[] };
  // OpenSSL's words end in a line break.
  const detail = (e.message || e.errors?.map((x) => x.message).filter(Boolean).join('; ') || e.code || String(error)).trim();
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is PostgreSQL running there, and listening on that port?',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved',
    ETIMEDOUT: 'no answer (a firewall, or a server that is down)',
    ECONNRESET: 'the server closed the connection',
    // A host whose only address is IPv6 (a provider's direct connection often is) from a machine without an IPv6 route.
    ENETUNREACH: "no route to the host's network from this machine (an IPv6-only host, e.g. a provider's direct connection, from a machine without IPv6): use the provider's IPv4 address or its session-mode pooler, or give this machine IPv6",
    EHOSTUNREACH: 'no route to the host (a firewall, or a host that is down)',
    SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED_CERTIFICATE,
    DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED_CERTIFICATE,
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED_CERTIFICATE,
    UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED_CERTIFICATE,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED_CERTIFICATE,
    ERR_TLS_CERT_ALTNAME_INVALID:
      "the server's TLS certificate was issued for another host name: connect by the name it names; a certificate that names no host you can connect by " +
      '(a server reached by its address) can be checked against its authority alone, as libpq\'s verify-ca does: uselibpqcompat=true&sslmode=verify-ca&sslrootcert=<path>',
    CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
    // The server's ssl_ca_file does not hold the authority that signed the client certificate.
    ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the server does not trust the client certificate (sslcert): use one signed by an authority in its ssl_ca_file',
  };
  if (e.code && hints[e.code]) return `${hints[e.code]} (${detail})`;
  if (/does not support SSL connections/i.test(detail)) return `the server does not take TLS: leave sslmode out of DATABASE_URL, or set sslmode=disable (${detail})`;
  // PostgreSQL's pg_hba.conf refusing a connection without TLS ("…, no encryption").
  if (/no encryption/i.test(detail)) return `the server takes only TLS connections: add sslmode=verify-full to DATABASE_URL, and sslrootcert=<path> for a provider's own authority (${detail})`;
  // 53300 (too_many_connections): a limit of the login's, of the database's, or of the server's.
  const sessions = `verite keeps up to ${POOL_SIZE} sessions open during a run; the ones holding this limit are in pg_stat_activity`;
  if (/too many connections for role/i.test(detail)) {
    return `the login has used its own connection limit (ALTER ROLE … CONNECTION LIMIT): end its other sessions, or have the limit raised; ${sessions} (${detail})`;
  }
  if (/too many connections for database/i.test(detail)) {
    return `the database has used its connection limit (ALTER DATABASE … CONNECTION LIMIT): end other sessions on it, or have the limit raised; ${sessions} (${detail})`;
  }
  if (/too many clients already|remaining connection slots are reserved/i.test(detail)) {
    return `the server has no connection left (max_connections, a provider's plan often sets it low): end other clients' sessions (BI tools, another run), or raise max_connections; ${sessions} (${detail})`;
  }
  // pg_hba.conf's `cert` method, or `clientcert=verify-ca|verify-full`, and no certificate sent.
  if (/requires a valid client certificate/i.test(detail)) {
    return `the server wants a client certificate: add sslcert=<path of the certificate>&sslkey=<path of its key> to DATABASE_URL (${detail})`;
  }
  // A certificate sent whose common name is not the login's user name (nor mapped to it by pg_ident.conf).
  if (/certificate authentication failed/i.test(detail)) {
    return `the client certificate names another user: connect as the user its common name (CN) names, or use the certificate issued for this login (${detail})`;
  }
  return detail;
}

/**
 * Where the demo shop's warehouse is, apart from the real shop's, so that no demo row ever
 * reaches a real shop's metrics: the embedded server's `demo/` folder under `.verite/` (or
 * under `VERITE_DATA_DIR`), or, with `DATABASE_URL`, the database `VERITE_DEMO_DATABASE_URL`
 * names, else `<database>_demo` on the same server (created on first use).
 */
export function demoDatabaseUrl(url: string): string {
  const demo = new URL(url);
  const name = decodeURIComponent(demo.pathname.replace(/^\//, '')) || decodeURIComponent(demo.username) || 'postgres';
  demo.pathname = `/${encodeURIComponent(`${name}_demo`)}`;
  return demo.toString();
}

/**
 * The embedded server's cluster folder: `pg/` under `.verite/` in `cwd` (or under `dataDir`,
 * i.e. `VERITE_DATA_DIR`), and for the demo shop `demo/pg/` beside it, a cluster of its own.
 */
export function embeddedDataDir(options: { cwd?: string; dataDir?: string; demo?: boolean }): string {
  const base = options.dataDir ? resolve(options.dataDir) : join(resolve(options.cwd ?? process.cwd()), '.verite');
  return options.demo ? join(base, 'demo', 'pg') : join(base, 'pg');
}

/** Creates the demo's database next to `url`'s when it does not exist; the way out when it cannot. */
async function ensureDemoDatabase(url: string, demoUrl: string, log?: Logger): Promise<void> {
  const name = decodeURIComponent(new URL(demoUrl).pathname.slice(1));
  const client = new pg.Client({ connectionString: driverUrl(url), application_name: 'verite' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return;
    log?.info({ database: name }, "creating the demo shop's database, apart from the real shop's");
    await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === '42P04') return; // created meanwhile by another demo run
    if (e.code === '42501') {
      throw new ConfigError([
        `the demo shop gets a database of its own, ${name}, next to ${describeUrl(url)}, and this login may not create one: ` +
          `have an administrator run CREATE DATABASE "${name}" OWNER <this login>, or set VERITE_DEMO_DATABASE_URL to an empty database, ` +
          'or unset DATABASE_URL to run the demo on the embedded server',
      ]);
    }
    throw new WarehouseError(`cannot prepare the demo's database ${name} at ${describeUrl(url)}: ${connectionProblem(error)}`, '', [], { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Opens the warehouse: `DATABASE_URL` (or `databaseUrl`) when given, else the embedded
 * PostgreSQL under `.verite/` in the working directory (or `VERITE_DATA_DIR`), started on
 * demand; with `demo`, the demo shop's own warehouse beside it ({@link demoDatabaseUrl}).
 * Migrations run unless `migrate: false`. A connection string that is not one is a
 * {@link ConfigError}; a server that cannot be reached is named in the error, with why.
 */
export async function openWarehouse(options: OpenOptions = {}): Promise<Warehouse> {
  const log = options.log;
  let url = options.databaseUrl ?? databaseUrlFromEnv();
  let embedded: EmbeddedServer | null = null;
  if (url) {
    checkDatabaseUrl(url);
    if (options.demo) {
      const chosen = process.env.VERITE_DEMO_DATABASE_URL;
      if (chosen) checkDatabaseUrl(chosen, 'VERITE_DEMO_DATABASE_URL');
      else await ensureDemoDatabase(url, demoDatabaseUrl(url), log);
      url = chosen || demoDatabaseUrl(url);
    }
  } else {
    const chosen = options.dataDir ?? process.env.VERITE_DATA_DIR;
    const preferred = embeddedDataDir({ cwd: options.cwd, dataDir: chosen, demo: options.demo });
    embedded = await startEmbedded({ dataDir: reachableDataDir(preferred, log, { explicit: Boolean(chosen) }), log, port: options.embeddedPort });
    url = embedded.url;
  }
  registerSecret(new URL(url).password ? decodeURIComponent(new URL(url).password) : undefined);
  const { db, pool } = connect(url, options.poolSize);
  const close = async () => {
    await db.destroy().catch(() => undefined);
    if (embedded?.owned) await embedded.stop();
  };
  try {
    await pool.query('select 1').catch((error: unknown) => {
      const where = embedded ? `the embedded PostgreSQL in ${embedded.dataDir}` : `${describeUrl(url!)} (${options.demo ? "the demo's database" : 'DATABASE_URL'})`;
      // The driver's words are in the message (an AggregateError's own message is empty).
      throw new WarehouseError(`cannot connect to the warehouse at ${where}: ${connectionProblem(error)}`, '');
    });
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await close();
    throw error;
  }
  const where = embedded ? `embedded PostgreSQL in ${embedded.dataDir} (${describeUrl(url)})` : describeUrl(url);
  return { db, pool, url, describe: where, embedded, demo: options.demo === true, close };
}
