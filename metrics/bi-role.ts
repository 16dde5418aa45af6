import { sql, type Kysely, type RawBuilder } from 'kysely';
import { errorMessage, UsageError, WarehouseError } from '../lib/errors.ts';
import type { Database } from '../warehouse/database.ts';
import { readOnlyReasonOf, temporaryProblemOf } from '../warehouse/writable.ts';
import { scramSha256Verifier } from './scram.ts';

/** The schemas a BI role must not see: everything but `metrics`. */
const PRIVATE_SCHEMAS = ['raw', 'staging', 'core', 'ops'] as const;

/** How long a BI session may sit idle inside a transaction before the server ends it. */
export const BI_IDLE_IN_TRANSACTION_TIMEOUT = '10min';

export interface BiGrantOptions {
  role: string;
  /** The new password; undefined leaves an existing role's password as it is. */
  password?: string;
  /** PostgreSQL interval text, e.g. `30s`, `2min`, `500ms`. */
  statementTimeout?: string;
  /**
   * The demo shop's warehouse, a database on a server the real shop's may share (`--demo` with
   * `DATABASE_URL`). Roles are the server's, not a database's: an existing role the demo did not
   * create ({@link DEMO_ROLE_COMMENT}) is refused rather than changed.
   */
  demo?: boolean;
}

/**
 * The comment `verite --demo bi grant` gives the roles it creates on a server it may share with
 * the real shop's warehouse: the demo changes no other role, and the real shop's `bi grant`
 * removes it when it takes such a role for its own.
 */
export const DEMO_ROLE_COMMENT = "the demo shop's BI role, created by verite --demo bi grant";

export interface BiGrantResult {
  role: string;
  created: boolean;
  passwordSet: boolean;
  statementTimeout: string;
  /** The metric tables readable now (new ones become readable as they are created). */
  tables: string[];
  database: string;
  /** PUBLIC held TEMPORARY on the database and no longer does: other roles that create temporary tables need it granted. */
  temporaryRevokedFromPublic: boolean;
}

/**
 * After the grants, the role can still create something (in a schema, or a temporary table)
 * because of a grant verite's own role cannot take back: each problem says who must run what.
 */
export class BiRoleWritableError extends Error {
  override name = 'BiRoleWritableError';
  readonly role: string;
  readonly problems: string[];
  constructor(
    role: string,
    problems: string[],
  ) {
    super(`role ${role} would not be read-only, so nothing was changed:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.role = role;
    this.problems = problems;
  }
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const TIMEOUT = /^\d+\s*(ms|s|min|h)?$/;

/** Checks a role name and a statement time-out, naming every problem at once. */
export function biGrantProblems(options: BiGrantOptions): string[] {
  const problems: string[] = [];
  if (!ROLE_NAME.test(options.role)) problems.push(`--role ${JSON.stringify(options.role)}: expected a lower-case PostgreSQL name (letters, digits, _; at most 63)`);
  if (options.role.startsWith('pg_')) problems.push(`--role ${options.role}: names starting with pg_ are reserved by PostgreSQL`);
  const timeout = options.statementTimeout ?? '30s';
  if (!TIMEOUT.test(timeout) || /^0+\s*[a-z]*$/.test(timeout)) problems.push(`--statement-timeout ${JSON.stringify(timeout)}: expected a positive duration such as 30s, 2min or 500ms`);
  if (options.password !== undefined && options.password.length === 0) problems.push('the password is empty');
  return problems;
}

/**
 * Creates (or updates) a login role that can read the `metrics` schema and nothing else: USAGE
 * on `metrics` and SELECT on its tables, default privileges so the tables the refresh builds
 * later are readable too, no access to raw/staging/core/ops (nor for PUBLIC, through which it
 * would otherwise inherit), no CREATE anywhere, no TEMPORARY (a temporary table is a write, and
 * one that read-only transactions allow), read-only transactions by default, a statement
 * time-out, and `metrics` first on its search path. Then checks that the role can create nothing
 * in any schema and no temporary table, and throws {@link BiRoleWritableError} (changing
 * nothing) when a grant it cannot revoke remains, e.g. CREATE on schema `public` granted to
 * PUBLIC by PostgreSQL 14 and earlier in a schema verite's role does not own. The password is sent as a SCRAM verifier,
 * never in clear. Refuses a role that is a superuser, may create roles or databases,
 * replicates, bypasses row security, or belongs to another role (all of which would give it
 * more than `metrics`). Run it as the role that runs the refresh (the owner of the metric
 * tables), since default privileges apply to tables that role creates. That role needs no
 * superuser: owning the database and its schemas and having CREATEROLE is enough (a managed
 * database's usual set-up; docs/bi.md), since an existing role's attributes are changed only
 * where they differ. For the demo's database on a shared server (`demo`), an existing role the
 * demo did not create is refused: its settings would change in every database.
 */
export async function grantBiRole(db: Kysely<Database>, options: BiGrantOptions): Promise<BiGrantResult> {
  const problems = biGrantProblems(options);
  if (problems.length) throw new UsageError(problems.join('; '));
  const timeout = (options.statementTimeout ?? '30s').replace(/\s+/g, '');
  const role = sql.id(options.role);
  return db.transaction().execute(async (trx) => {
    // It takes no run lock (one transaction is all it needs): a warehouse that takes no writes is said so here.
    const readOnly = await readOnlyReasonOf(trx);
    if (readOnly) throw new WarehouseError(readOnly, '');
    const me = await sql<{ user: string; database: string; createrole: boolean }>`
      select current_user as user, current_database() as database, (select rolcreaterole from pg_roles where rolname = current_user) as createrole`.execute(trx);
    const { user, database, createrole } = me.rows[0]!;
    if (user === options.role) throw new UsageError(`--role ${options.role} is the role verite itself connects as; pick another name for BI`);
    const existing = await sql<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolreplication: boolean; rolbypassrls: boolean; rolcanlogin: boolean; member_of: string[]; comment: string | null }>`
      select r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls, r.rolcanlogin,
             coalesce(array(select g.rolname::text from pg_auth_members m join pg_roles g on g.oid = m.roleid where m.member = r.oid order by 1), '{}') as member_of,
             shobj_description(r.oid, 'pg_authid') as comment
        from pg_roles r where r.rolname = ${options.role}`.execute(trx);
    const found = existing.rows[0];
    const demoRole = found?.comment === DEMO_ROLE_COMMENT;
    if (options.demo && found && !demoRole) {
      // Its password and time-outs are the role's in every database: the real shop's BI tool may log in with it.
      throw new UsageError(
        `role ${options.role} exists on this server and verite --demo bi grant did not create it: roles belong to the whole server, not to the demo's database, ` +
          "so the demo's grant would change the password and time-outs of a role the real shop's BI tool may use; nothing was changed. " +
          'Pick a name for the demo\'s own BI role (e.g. demo_reader), which the demo creates and marks as its own',
      );
    }
    if (found) {
      const powers = [
        found.rolsuper && 'SUPERUSER',
        found.rolcreaterole && 'CREATEROLE',
        found.rolcreatedb && 'CREATEDB',
        found.rolreplication && 'REPLICATION',
        found.rolbypassrls && 'BYPASSRLS',
      ].filter(Boolean);
      if (powers.length) throw new UsageError(`role ${options.role} exists with ${powers.join(', ')}: a BI role must not; pick another name`);
      if (found.member_of.length) {
        throw new UsageError(`role ${options.role} is a member of ${found.member_of.join(', ')}, which may let it read more than metrics; revoke that membership or pick another name`);
      }
    }
    const password = options.password === undefined ? sql`` : sql` password ${sql.lit(scramSha256Verifier(options.password))}`;
    // Creating or changing a role takes CREATEROLE (and, on PostgreSQL 16 and later, ADMIN on a role someone else created).
    const asRoleAdmin = (statement: RawBuilder<unknown>) => statement.execute(trx).catch((error: unknown) => roleRefused(error, { login: user, createrole, role: options.role, exists: Boolean(found) }));
    if (!found) {
      await asRoleAdmin(sql`create role ${role} with login nosuperuser nocreatedb nocreaterole noreplication nobypassrls noinherit${password}`);
      if (options.demo) await asRoleAdmin(sql`comment on role ${role} is ${sql.lit(DEMO_ROLE_COMMENT)}`);
    } else if (!found.rolcanlogin || options.password !== undefined) {
      // Only what differs: naming SUPERUSER, REPLICATION or BYPASSRLS in ALTER ROLE, even to
      // switch them off, takes a superuser, which a managed database's owner login is not. The
      // powers were checked above to be off already.
      await asRoleAdmin(sql`alter role ${role} with${found.rolcanlogin ? sql`` : sql` login`}${password}`);
    }
    // The real shop's grant takes a role the demo made for its own: the demo leaves it alone from then on.
    if (!options.demo && demoRole) await asRoleAdmin(sql`comment on role ${role} is null`);
    await sql`grant connect on database ${sql.id(database)} to ${role}`.execute(trx);
    await sql`grant usage on schema metrics to ${role}`.execute(trx);
    await sql`grant select on all tables in schema metrics to ${role}`.execute(trx);
    // The refresh recreates tables; those created later by this role (the warehouse's owner) are readable too.
    await sql`alter default privileges in schema metrics grant select on tables to ${role}`.execute(trx);
    const schemas = sql.join(PRIVATE_SCHEMAS.map((s) => sql.id(s)));
    await sql`revoke all on all tables in schema ${schemas} from ${role}`.execute(trx);
    await sql`revoke all on schema ${schemas} from ${role}`.execute(trx);
    // A role inherits what PUBLIC holds: PUBLIC may not use the private schemas nor create in public.
    await sql`revoke all on schema ${schemas} from public`.execute(trx);
    const publicCreate = await sql<{ open: boolean }>`
      select exists (select 1 from pg_namespace n cross join lateral aclexplode(n.nspacl) a
                      where n.nspname = 'public' and a.grantee = 0 and a.privilege_type = 'CREATE') as open`.execute(trx);
    // PostgreSQL 15 and later already close it; before, only its owner can.
    if (publicCreate.rows[0]?.open) await sql`revoke create on schema public from public`.execute(trx);
    await sql`revoke create on schema metrics from public`.execute(trx);
    // Every database grants TEMPORARY to PUBLIC by default; only its owner (or a superuser) can take that back.
    const publicTemp = await sql<{ open: boolean }>`
      select exists (select 1 from pg_database d cross join lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                      where d.datname = current_database() and a.grantee = 0 and a.privilege_type = 'TEMPORARY') as open`.execute(trx);
    await sql`revoke temporary on database ${sql.id(database)} from ${role}`.execute(trx);
    await sql`revoke temporary on database ${sql.id(database)} from public`.execute(trx);
    // verite's own role creates temporary tables when it loads: it keeps that right if it only had it through PUBLIC.
    if (await temporaryProblemOf(trx)) {
      await sql`grant temporary on database ${sql.id(database)} to ${sql.id(user)}`.execute(trx);
      // Only the database's owner may grant it: from anyone else PostgreSQL takes the GRANT with
      // a warning and grants nothing, and the next run would fail on its first temporary table.
      const problem = await temporaryProblemOf(trx);
      if (problem) throw new BiRolePrivilegeError(`${problem}, then run verite bi grant again; nothing was changed`);
    }
    await asRoleAdmin(sql`alter role ${role} set statement_timeout = ${sql.lit(timeout)}`);
    await asRoleAdmin(sql`alter role ${role} set default_transaction_read_only = on`);
    // A BI session left open inside a transaction (a `begin` in a SQL console, a tool's open
    // cursor) holds its tables' locks: a refresh that must replace a table waits on it, and every
    // reader after queues behind the refresh. Ended after ten minutes idle, as verite's own
    // sessions are after one.
    await asRoleAdmin(sql`alter role ${role} set idle_in_transaction_session_timeout = ${sql.lit(BI_IDLE_IN_TRANSACTION_TIMEOUT)}`);
    await asRoleAdmin(sql`alter role ${role} set search_path = metrics`);
    // Last, the proof: throwing here rolls every change of this call back.
    const writable = await writableBy(trx, options.role, user);
    if (writable.length) throw new BiRoleWritableError(options.role, writable);
    const tables = await sql<{ name: string }>`
      select c.relname::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'metrics' and c.relkind in ('r', 'v', 'm', 'p') order by 1`.execute(trx);
    return {
      role: options.role,
      created: !found,
      temporaryRevokedFromPublic: publicTemp.rows[0]?.open ?? false,
      passwordSet: options.password !== undefined,
      statementTimeout: timeout,
      tables: tables.rows.map((t) => `metrics.${t.name}`),
      database,
    };
  });
}

/**
 * A role statement the server refused (42501) becomes what verite's login lacks and the one
 * statement an administrator runs to give it: CREATEROLE, or, for a role someone else created
 * (PostgreSQL 16 and later), ADMIN on it. Any other error is thrown as it is.
 */
function roleRefused(error: unknown, who: { login: string; createrole: boolean; role: string; exists: boolean }): never {
  if ((error as { code?: string }).code !== '42501') throw error;
  const { login, role, exists } = who;
  const said = errorMessage(error);
  if (!who.createrole) {
    throw new BiRolePrivilegeError(
      `verite's login "${login}" may not ${exists ? 'change' : 'create'} role ${role} (${said}): that takes CREATEROLE, which a managed service's own login has. ` +
        `Have an administrator run ALTER ROLE "${login}" CREATEROLE, then run verite bi grant again (docs/bi.md, "What verite's own login needs")`,
    );
  }
  throw new BiRolePrivilegeError(
    `verite's login "${login}" may not change role ${role} (${said}): another login created it, and on PostgreSQL 16 and later a role is changed by whoever was given ADMIN on it. ` +
      `Have that login or an administrator run GRANT "${role}" TO "${login}" WITH ADMIN OPTION, then run verite bi grant again, or pick another role name`,
  );
}

/** verite's login lacks a privilege a role statement of `bi grant` needs; nothing was changed. */
export class BiRolePrivilegeError extends Error {
  override name = 'BiRolePrivilegeError';
}

/**
 * What `role` can still create after the grants: a schema it has CREATE on, or the database's
 * TEMPORARY, each with the statement its owner must run. Empty when the role is read-only.
 */
async function writableBy(trx: Kysely<Database>, role: string, login: string): Promise<string[]> {
  const found = await sql<{ kind: 'schema' | 'database'; name: string; owner: string }>`
    select 'schema' as kind, n.nspname::text as name, pg_get_userbyid(n.nspowner)::text as owner
      from pg_namespace n
     where has_schema_privilege(${role}, n.oid, 'CREATE')
    union all
    select 'database', d.datname::text, pg_get_userbyid(d.datdba)::text
      from pg_database d
     where d.datname = current_database() and has_database_privilege(${role}, d.oid, 'TEMPORARY')
     order by 1, 2`.execute(trx);
  return found.rows.map(({ kind, name, owner }) => {
    const quoted = `"${name.replace(/"/g, '""')}"`;
    if (kind === 'database') {
      return (
        `it can create temporary tables in database ${name}, through a grant of TEMPORARY that only the database's owner ${owner} can revoke: ` +
        `have ${owner} run REVOKE TEMPORARY ON DATABASE ${quoted} FROM PUBLIC, ${role}; then GRANT TEMPORARY ON DATABASE ${quoted} TO "${login}" ` +
        "(verite's own login, which creates temporary tables to load, transform and refresh: without it every later run fails) and to any other role that needs it, " +
        'and run verite bi grant again'
      );
    }
    if (owner === role) return `it owns schema ${name}: have a superuser give the schema another owner (ALTER SCHEMA ${quoted} OWNER TO …), or pick another role name`;
    const why = name === 'public' ? 'PostgreSQL 14 and earlier grant CREATE on schema public to PUBLIC, and' : 'CREATE is granted to it or to PUBLIC, and';
    return `it can create objects in schema ${name}: ${why} only the schema's owner ${owner} can revoke that: have ${owner} run REVOKE CREATE ON SCHEMA ${quoted} FROM PUBLIC, ${role}; then run verite bi grant again`;
  });
}
