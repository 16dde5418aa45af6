import { dirname } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { ok, problem, warning, worstLevel, type CheckFinding, type CheckLevel } from '../extractors/check.ts';
import { errorMessage } from '../lib/errors.ts';
import { lonePercent } from '../lib/url-parts.ts';
import { databaseUrlFromEnv } from '../config/load.ts';
import type { Logger } from '../lib/logger.ts';
import { embeddedDataDir, openWarehouse, POOL_SIZE } from '../warehouse/connection.ts';
import { freeBytes } from '../warehouse/embedded.ts';
import { encodingProblem, MIGRATIONS_TABLE, migrationsTableIn, newerSchemaProblem, privilegeAdvice, versionProblem } from '../warehouse/migrate.ts';
import { migrations } from '../warehouse/migrations/index.ts';
import { foreignTablesProblem } from '../warehouse/ownership.ts';
import { readOnlyReasonOf, temporaryProblemOf, transactionPooler, transactionPooling } from '../warehouse/writable.ts';
import { problemsFirst } from './check.ts';


export interface WarehouseCheckResult {
  /** `DATABASE_URL`'s server and database without secrets, or the embedded server's folder. */
  warehouse: string;
  level: CheckLevel;
  findings: CheckFinding[];
}

/**
 * Hosts taken for this machine or its own private network, where a connection without TLS is
 * not warned about: the loopback names and addresses, a socket folder (no host), and a name
 * without a dot, such as a Compose service's (`postgres` in docker-compose.yml).
 */
const LOCAL_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|[a-z0-9_-]*)$/i;

/** Whether a connection to `host` (a URL's hostname) crosses a network verite warns about without TLS. */
export function isRemoteHost(host: string): boolean {
  return !LOCAL_HOST.test(host) && !host.startsWith('/');
}

/**
 * Whether the first run would work on the warehouse `DATABASE_URL` names, changing nothing in
 * it: it answers (TLS included), its server is one verite is tested on, it is encoded in UTF8,
 * it takes writes (no standby, no read-only sessions), the login may create verite's tables (or
 * they are there) and temporary tables, and there are connections to spare. Without `DATABASE_URL` the embedded
 * server is named, and not started.
 */
export async function checkWarehouse(options: { databaseUrl?: string; cwd?: string; log?: Logger; freeBytes?: number; reportingTimezone?: string }): Promise<WarehouseCheckResult> {
  const url = options.databaseUrl ?? databaseUrlFromEnv();
  if (!url) {
    const dir = embeddedDataDir({ cwd: options.cwd, dataDir: process.env.VERITE_DATA_DIR });
    const findings = [ok(`DATABASE_URL is not set: the embedded PostgreSQL in ${dir}, started when a command needs it`)];
    const disk = diskFinding(dir, options.freeBytes);
    if (disk) findings.push(disk);
    return { warehouse: `embedded PostgreSQL in ${dir}`, level: worstLevel(findings), findings };
  }
  let where = '(DATABASE_URL)';
  // A provider's transaction-mode pooler is known by its name: nothing is checked through it.
  const parsed = URL.canParse(url) ? new URL(url) : null;
  const pooler = parsed?.hostname ? transactionPooler(parsed.hostname, Number(parsed.port || 5432)) : null;
  if (pooler) return { warehouse: where, level: 'problem', findings: [problem(pooler)] };
  let wh;
  try {
    wh = await openWarehouse({ databaseUrl: url, migrate: false, poolSize: 2, log: options.log });
    where = wh.describe;
  } catch (error) {
    return { warehouse: where, level: 'problem', findings: [problem(errorMessage(error))] };
  }
  try {
    const findings = await findingsOf(wh.db, new URL(url).hostname);
    const weak = passwordProblem(url);
    if (weak) findings.push(warning(weak));
    // A pooler of the shop's own in transaction mode, found by how it serves two connections.
    const pooled = await transactionPooling(wh.pool);
    if (pooled) findings.push(problem(pooled));
    if (options.reportingTimezone) findings.push(...(await zoneFinding(wh.db, options.reportingTimezone)));
    findings.sort(problemsFirst);
    return { warehouse: where, level: worstLevel(findings), findings };
  } catch (error) {
    return { warehouse: where, level: 'problem', findings: [problem(`the check itself failed: ${errorMessage(error)}`)] };
  } finally {
    await wh.close();
  }
}

/**
 * Words verite's own messages and log lines hold (its name, the server's, the sources', the
 * steps'). The output redaction blanks a registered secret wherever its text stands
 * (lib/logger.ts), so a password found in one of them blanks that part of every message.
 */
const OWN_WORDS = ['verite', 'postgres', 'postgresql', 'warehouse', 'shopify', 'stripe', 'orders', 'customers', 'products', 'shipments', 'staging', 'metrics', 'transform', 'schedule', 'succeeded', 'failed', 'demo', 'report'];

/**
 * Why `DATABASE_URL`'s password spoils verite's output, or null: it is the login's or the
 * database's name, or part of a word verite writes. The password is not named (it would be
 * blanked too).
 */
export function passwordProblem(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const parsed = new URL(url);
  const parts = [parsed.password, parsed.username, parsed.pathname.slice(1)];
  // A lone % is refused before a connection is made (warehouse/connection.ts), with its own message.
  if (parts.some(lonePercent)) return null;
  const [password, login, database] = parts.map(decodeURIComponent) as [string, string, string];
  // lib/logger.ts's registerSecret leaves out passwords shorter than this.
  if (password.length < 4) return null;
  const named = password === login ? "the login's name" : password === database ? "the database's name" : null;
  if (named) {
    return `DATABASE_URL's password is ${named}: the password is blanked wherever its text appears in messages and logs, so the name shows as [redacted] in every one, and it is the first password anyone tries; set another (random characters, at least 16)`;
  }
  if (OWN_WORDS.some((word) => word.includes(password))) {
    return `DATABASE_URL's password is a word the messages and logs use, or part of one: the password is blanked wherever its text appears in them, so they show [redacted] in place of their own words; set another (random characters, at least 16)`;
  }
  return null;
}

/**
 * The check's own session is left out of the sessions counted: it ends before any run. To a
 * login without `pg_read_all_stats` (a managed service's usual login), another role's session
 * shows in `pg_stat_activity` with its role and database but no `backend_type`: such a row is
 * counted as a session (an autovacuum or parallel worker too, which errs on the side of fewer to
 * spare), while the server's own processes, which have no database, are not.
 */
async function findingsOf(db: Kysely<any>, host: string): Promise<CheckFinding[]> {
  const found: CheckFinding[] = [];
  const server = (
    await sql<{ version: string; tls: boolean | null; free: number; roleLimit: number; roleSessions: number }>`
      select current_setting('server_version') as version,
        (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as tls,
        current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
          - coalesce(current_setting('reserved_connections', true)::int, 0)
          - (select count(*)::int from pg_stat_activity
              where pid <> pg_backend_pid()
                and (backend_type = 'client backend' or (backend_type is null and usesysid is not null and datid is not null))) as free,
        (select rolconnlimit from pg_roles where rolname = current_user) as "roleLimit",
        (select count(*)::int from pg_stat_activity where usename = current_user and backend_type = 'client backend' and pid <> pg_backend_pid()) as "roleSessions"`.execute(db)
  ).rows[0]!;
  const version = `PostgreSQL ${server.version.split(' ')[0]}`;
  const tooOld = await versionProblem(db);
  found.push(tooOld ? problem(tooOld) : ok(`${version}${server.tls ? ', over TLS' : ''}`));
  if (!server.tls && isRemoteHost(host)) {
    found.push(warning(`the connection to ${host} is not encrypted: the password and the shop's data cross the network in clear; add sslmode=verify-full to DATABASE_URL (docs/operations.md, "TLS to a managed server")`));
  }
  const encoding = await encodingProblem(db);
  if (encoding) found.push(problem(encoding));
  const readOnly = await readOnlyReasonOf(db);
  if (readOnly) found.push(problem(readOnly));
  found.push(...(await tablesFinding(db)));
  // Every command that writes creates temporary tables: a login left without TEMPORARY (revoked
  // from PUBLIC by the database's owner) passes every other check and fails the next run.
  const temporary = await temporaryProblemOf(db);
  if (temporary) found.push(problem(temporary));
  // Tables a run as another login built: the next run that must rebuild one fails on it.
  const foreign = await foreignTablesProblem(db);
  if (foreign) found.push(problem(foreign));
  const spare = server.roleLimit >= 0 ? Math.min(server.free, server.roleLimit - server.roleSessions) : server.free;
  if (spare < POOL_SIZE) {
    const whose = server.roleLimit >= 0 && server.roleLimit - server.roleSessions <= server.free ? `the login's CONNECTION LIMIT ${server.roleLimit}` : 'the server\'s max_connections';
    found.push(warning(`${spare} connection${spare === 1 ? '' : 's'} to spare under ${whose}, and a run may open up to ${POOL_SIZE}: end other sessions (BI tools, another run) or have the limit raised`));
  }
  return found;
}

/** verite's tables: there (and how many migrations are left to apply), or whether the login may create them. */
async function tablesFinding(db: Kysely<any>): Promise<CheckFinding[]> {
  const known = Object.keys(migrations).length;
  // In ops; a warehouse made before kept them in public until its next command moves them.
  const schema = await migrationsTableIn(db);
  if (schema) {
    const newer = await newerSchemaProblem(db, schema);
    if (newer) return [problem(newer)];
    const applied = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`${schema}.${MIGRATIONS_TABLE}`)}`.execute(db)).rows[0]!.n;
    const left = Math.max(known - applied, 0);
    return [ok(left ? `verite's tables are there; ${left} migration${left === 1 ? '' : 's'} of this release will be applied by the next command` : "verite's tables are there and up to date")];
  }
  const may = (await sql<{ create: boolean }>`select has_database_privilege(current_database(), 'CREATE') as create`.execute(db)).rows[0]!;
  if (may.create) return [ok("verite's tables are not made yet; this login may create them (the first command does)")];
  return [problem(`the first command could not create verite's tables: ${await privilegeAdvice(db)}`)];
}

/** Under this much free space the check warns: a million orders take about 10 GiB (docs/scale.md). */
const DISK_WARNING_BYTES = 2 * 1024 ** 3;

/**
 * The free space of the disk the embedded warehouse is on (the nearest folder of its path that
 * exists): a warning under {@link DISK_WARNING_BYTES}, since PostgreSQL stops when it cannot write
 * its log; nothing when it cannot be told.
 */
function diskFinding(dir: string, free?: number): CheckFinding | null {
  let at = dir;
  while (free === undefined) {
    free = freeBytes(at);
    const up = dirname(at);
    if (free !== undefined || up === at) break;
    at = up;
  }
  if (free === undefined) return null;
  const gib = (free / 1024 ** 3).toFixed(1);
  if (free >= DISK_WARNING_BYTES) return ok(`${gib} GiB free on its disk`);
  return warning(`only ${gib} GiB free on the disk of ${dir}: a warehouse takes about 10 GiB a million orders (docs/scale.md), and PostgreSQL stops when it cannot write its log; free space, or set VERITE_DATA_DIR to a larger disk`);
}

/**
 * The reporting time zone as the server knows it: the models cut days with `AT TIME ZONE`, so a
 * zone that Node's tz data has and the server's older data lacks (a zone made or renamed since)
 * would fail the first transform with `time zone "…" not recognized`. A problem, then; nothing
 * when the server knows it.
 */
async function zoneFinding(db: Kysely<any>, zone: string): Promise<CheckFinding[]> {
  const known = await sql<{ found: boolean }>`select exists (select 1 from pg_timezone_names where lower(name collate "C") = lower(${zone} collate "C")) as found`.execute(db);
  if (known.rows[0]!.found) return [];
  return [problem(`the server does not know the time zone ${zone} (reportingTimezone): its tz data is older than Node's; update the server's tz data, or choose a zone it knows (SELECT name FROM pg_timezone_names)`)];
}
