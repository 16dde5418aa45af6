import { Migrator, sql, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations } from './migrations/index.ts';
import { up as tryTimestamptzWithoutException } from './migrations/0023-try-timestamptz-without-exception.ts';
import { up as isoTimestamptz } from './migrations/0025-iso-timestamptz.ts';
import { WarehouseError } from '../lib/errors.ts';
import { ensureRawTables } from './raw-tables.ts';
import { readOnlyReasonOf } from './writable.ts';

/**
 * Applies every pending migration, then creates the raw table of any catalogue stream that has
 * none yet (`ensureRawTables`); throws with the failing migration's name and error.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet & { rewritten: string[] }> {
  await requireUtf8(db);
  const schema = await migrationsSchema(db);
  const newer = await newerSchemaProblem(db, schema);
  if (newer) throw new WarehouseError(newer, '');
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: schema,
    migrationTableName: MIGRATIONS_TABLE,
    migrationLockTableName: `${MIGRATIONS_TABLE}_lock`,
    // Migrations written on parallel branches may land in either order.
    allowUnorderedMigrations: true,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    // Before any migration runs, the migrator creates its own tables (ops.verite_migrations).
    const what = failed ? `migration ${failed.migrationName}` : `preparing the migrations (table ${schema}.${MIGRATIONS_TABLE})`;
    const cause = result.error as { code?: unknown; message?: unknown };
    if (cause?.code === '42501') throw new WarehouseError(await privilegeMessage(db, what, String(cause.message)), '', [], { cause: result.error });
    // 25006: read_only_sql_transaction (a standby, or default_transaction_read_only).
    const readOnly = cause?.code === '25006' ? await readOnlyReasonOf(db).catch(() => null) : null;
    if (readOnly) throw new WarehouseError(`${what} failed: ${readOnly}`, '', [], { cause: result.error });
    throw new WarehouseError(`${what} failed`, '', [], { cause: result.error });
  }
  const rewritten = (await newerServerDefinitions(db)) ? [...NEWER_SERVER_FUNCTIONS] : [];
  await ensureRawTables(db);
  return { ...result, rewritten };
}

/** The functions {@link newerServerDefinitions} writes again. */
export const NEWER_SERVER_FUNCTIONS = ['ops.try_timestamptz', 'ops.iso_timestamptz'] as const;

/**
 * Migrations 0023 and 0025 write their faster definitions of `ops.try_timestamptz` and
 * `ops.iso_timestamptz` on PostgreSQL 16 and later only (they ask `pg_input_is_valid`). A
 * migration runs once: a warehouse migrated on 14 or 15 kept the older definitions after its
 * server was upgraded (pg_upgrade, a managed service's major-version upgrade), and with them
 * the slower reading of dates and a Shopify customers' staging that no parallel worker may run.
 * They are written again, once, when the server now has what they need; they give the same
 * values. Returns whether they were. Best effort: a login that may not replace them (another
 * login owns them, a read-only server) keeps them as they are, which still works.
 */
export async function newerServerDefinitions(db: Kysely<any>): Promise<boolean> {
  const stale = async (q: Kysely<any>) =>
    (
      await sql<{ stale: boolean }>`
        select current_setting('server_version_num')::int >= 160000
           and exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                        where n.nspname = 'ops' and p.proname in ('try_timestamptz', 'iso_timestamptz')
                          and p.prosrc not like '%pg_input_is_valid%') as stale`.execute(q)
    ).rows[0]!.stale;
  if (!(await stale(db))) return false;
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('verite.migrations.newer-server'))`.execute(trx);
      if (!(await stale(trx))) return false;
      await tryTimestamptzWithoutException(trx as Kysely<any>);
      await isoTimestamptz(trx as Kysely<any>);
      return true;
    });
  } catch {
    return false;
  }
}

/**
 * Why this verite may not work on the warehouse, or null: the warehouse holds migrations this
 * verite does not know, so a newer verite brought it to a schema this one was not written for
 * (a second machine or a scheduler left on the older release, a laptop behind the server). The
 * migrator alone said "corrupted migrations: previously executed migration … is missing";
 * refused before anything is read or written, naming them and what to do.
 */
export async function newerSchemaProblem(db: Kysely<any>, schema: 'ops' | 'public'): Promise<string | null> {
  if ((await migrationsTableIn(db)) === null) return null;
  const applied = await sql<{ name: string }>`select name from ${sql.table(`${schema}.${MIGRATIONS_TABLE}`)} order by name`.execute(db);
  const unknown = applied.rows.map((r) => r.name).filter((name) => !Object.hasOwn(migrations, name));
  if (unknown.length === 0) return null;
  const newest = Object.keys(migrations).sort().at(-1);
  return (
    `this warehouse was brought to a newer schema by a newer release of verite: it holds migration${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, ` +
    `which this verite (its newest is ${newest}) does not know, so it does not run against it. Upgrade verite here to the release the other machines run ` +
    '(every scheduler, cron job and laptop sharing this warehouse runs one release); a warehouse is never taken back to an older schema'
  );
}

/** The migrator's own table (and `<it>_lock`), in schema `ops` beside verite's other bookkeeping. */
export const MIGRATIONS_TABLE = 'verite_migrations';

/**
 * Where the migrator's tables are: `ops`, so that verite needs no right on schema `public`
 * (PostgreSQL 15 and later give it only to the database's owner). A warehouse made before
 * keeps them in `public`: they are moved into `ops` here, both in one transaction, once, by
 * whichever command comes first (an advisory lock keeps two from trying at once). When they
 * cannot be moved (a login that does not own them, a read-only server), they are used where
 * they are, as before.
 */
export async function migrationsSchema(db: Kysely<any>): Promise<'ops' | 'public'> {
  if ((await migrationsTableIn(db)) !== 'public') return 'ops';
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext('verite.migrations.relocate'))`.execute(trx);
      if ((await migrationsTableIn(trx)) !== 'public') return 'ops';
      await sql`alter table ${sql.table(`public.${MIGRATIONS_TABLE}`)} set schema ops`.execute(trx);
      await sql`alter table ${sql.table(`public.${MIGRATIONS_TABLE}_lock`)} set schema ops`.execute(trx);
      return 'ops' as const;
    });
  } catch {
    return 'public';
  }
}

/** The schema holding the migrator's table now (`ops`, or `public` in a warehouse not yet moved), or null when there is none yet. */
export async function migrationsTableIn(db: Kysely<any>): Promise<'ops' | 'public' | null> {
  const found = (
    await sql<{ ops: boolean; public: boolean }>`
      select to_regclass(${`ops.${MIGRATIONS_TABLE}`}) is not null as ops, to_regclass(${`public.${MIGRATIONS_TABLE}`}) is not null as public`.execute(db)
  ).rows[0]!;
  return found.ops ? 'ops' : found.public ? 'public' : null;
}

/**
 * What a login that may not create verite's tables is told: who it is, where, and what it needs
 * (docs/bi.md, "What verite's own login needs").
 */
async function privilegeMessage(db: Kysely<any>, what: string, reason: string): Promise<string> {
  return `${what} failed: ${reason}. ${await privilegeAdvice(db)}`;
}

/** Who the login is, who owns the database, and the grant that lets the login create its schemas. */
export async function privilegeAdvice(db: Kysely<any>): Promise<string> {
  const who = await sql<{ login: string; database: string; owner: string }>`
    select current_user as login, current_database() as database, pg_get_userbyid(d.datdba) as owner
      from pg_database d where d.datname = current_database()`.execute(db);
  const { login, database, owner } = who.rows[0]!;
  return (
    `verite's login "${login}" may not create its schemas in database "${database}", which "${owner}" owns: ` +
    `have the database owned by "${login}" (ALTER DATABASE "${database}" OWNER TO "${login}"), as a managed service's own login owns its database, ` +
    `or have "${owner}" grant it CREATE on the database (GRANT CREATE ON DATABASE "${database}" TO "${login}")`
  );
}

/**
 * The APIs' JSON may hold any Unicode character, which a database in another encoding cannot
 * store (LATIN1 refuses `中`; SQL_ASCII takes bytes it cannot read back as characters): refused
 * before anything is created, saying how to create one that can.
 */
async function requireUtf8(db: Kysely<any>): Promise<void> {
  const problem = (await versionProblem(db)) ?? (await encodingProblem(db));
  if (problem) throw new WarehouseError(problem, '');
}

/** The oldest PostgreSQL verite runs on: its models use settings and functions of 14 and later. */
export const OLDEST_SUPPORTED = 140000;

/**
 * Why the server is too old, or null. On PostgreSQL 13 the migrations and the landing went
 * through and the first transform failed on `unrecognized configuration parameter
 * "enable_memoize"`: refused before anything is created, saying so.
 */
export async function versionProblem(db: Kysely<any>): Promise<string | null> {
  const found = await sql<{ num: number; version: string }>`select current_setting('server_version_num')::int as num, current_setting('server_version') as version`.execute(db);
  const { num, version } = found.rows[0]!;
  return serverTooOld(num, version);
}

/** {@link versionProblem} of a server's `server_version_num` and `server_version`. */
export function serverTooOld(num: number, version: string): string | null {
  if (num >= OLDEST_SUPPORTED) return null;
  return `the server is PostgreSQL ${version.split(' ')[0]}, and verite needs 14 or newer (its models use what 14 brought; 13 and older are past their end of life): upgrade the server, or point DATABASE_URL at a newer one`;
}

/** Why the database's encoding will not do, or null for UTF8 ({@link requireUtf8}). */
export async function encodingProblem(db: Kysely<any>): Promise<string | null> {
  const found = await sql<{ database: string; encoding: string }>`
    select current_database() as database, pg_encoding_to_char(encoding) as encoding from pg_database where datname = current_database()`.execute(db);
  const { database, encoding } = found.rows[0]!;
  if (encoding === 'UTF8') return null;
  return (
    `database "${database}" is encoded ${encoding}: verite lands the APIs' JSON as it comes, which may hold any Unicode character, and needs a UTF8 database. ` +
    `Create one with CREATE DATABASE "${database}_utf8" ENCODING 'UTF8' TEMPLATE template0 (and the LOCALE of your choice) and point DATABASE_URL at it`
  );
}
