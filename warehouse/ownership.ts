import { sql, type Kysely } from 'kysely';

/** The schemas verite builds and replaces tables in. */
const VERITE_SCHEMAS = ['raw', 'staging', 'core', 'metrics', 'ops'] as const;

/** The server's words for a table verite's login may not replace or read: "must be owner of table orders", "permission denied for table orders". */
const REFUSAL = /\b(?:must be owner of|permission denied for) (table|relation|view|materialized view|index|sequence|schema) "?([^"\s]+)"?/i;

/**
 * What to do about a table (or schema) of verite's that its login may not replace or read
 * (SQLSTATE 42501), or null for any other error. The usual cause is a second login: someone ran
 * verite once as another role (an administrator's, a laptop's), whose build now owns the tables
 * verite's own login must drop and rebuild, and only an owner (or a member of the owner's role)
 * may. Names who owns the object, who verite's login is, and the two ways out. Asked on `db`
 * after the failed statement was rolled back (its transaction takes queries again).
 */
export async function permissionAdvice(db: Kysely<any>, error: unknown): Promise<string | null> {
  const e = error as { code?: unknown; message?: unknown };
  if (e?.code !== '42501') return null;
  const match = REFUSAL.exec(String(e.message));
  if (!match) return null;
  const [, kind, name] = match;
  const qualified = name!.includes('.');
  const found = await sql<{ object: string; owner: string; login: string }>`
    select coalesce(n.nspname || '.' || c.relname, s.nspname) as object, pg_get_userbyid(coalesce(c.relowner, s.nspowner)) as owner, current_user as login
      from (select 1) one
      left join pg_class c on ${kind!.toLowerCase() !== 'schema'}
        and (${qualified} and c.oid = to_regclass(${name!}) or not ${qualified} and c.relname = ${name!})
      left join pg_namespace n on n.oid = c.relnamespace
      left join pg_namespace s on ${kind!.toLowerCase() === 'schema'} and s.nspname = ${name!}
     where coalesce(n.nspname, s.nspname) = any(${[...VERITE_SCHEMAS]}::text[])
     order by 1`
    .execute(db)
    .catch(() => ({ rows: [] as { object: string; owner: string; login: string }[] }));
  const theirs = found.rows.filter((r) => r.owner !== r.login);
  if (theirs.length === 0) return null;
  const { object, owner, login } = theirs[0]!;
  return `${object} belongs to "${owner}", not to verite's login "${login}": a verite run as "${owner}" built it (${waysOut(owner, login)})`;
}

/** Who should own verite's tables, and how to get there: said after "… built it (". */
function waysOut(owner: string, login: string): string {
  return (
    `every scheduler, cron job and laptop sharing a warehouse runs as one login). Run verite as "${owner}", or have an administrator hand "${owner}"'s tables to "${login}" ` +
    `(REASSIGN OWNED BY "${owner}" TO "${login}", run in this database, when "${owner}" owns nothing else in it; else ALTER TABLE … OWNER TO "${login}" for each) ` +
    `or make "${login}" a member of "${owner}" (GRANT "${owner}" TO "${login}")`
  );
}

/**
 * verite's tables that its login may not drop and build again (owned by a role whose rights it
 * does not hold), or null: what `verite check` says before the run that would fail on them. The
 * first few are named, with the first owner's ways out.
 */
export async function foreignTablesProblem(db: Kysely<any>): Promise<string | null> {
  const found = await sql<{ owner: string; login: string; n: number; tables: string[] }>`
    select pg_get_userbyid(c.relowner) as owner, current_user as login, count(*)::int as n,
           (array_agg(n.nspname || '.' || c.relname order by n.nspname, c.relname))[1:3] as tables
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(${[...VERITE_SCHEMAS]}::text[]) and c.relkind in ('r', 'p', 'v', 'm')
       and not pg_has_role(current_user, c.relowner, 'USAGE')
     group by c.relowner order by n desc`.execute(db);
  if (found.rows.length === 0) return null;
  const total = found.rows.reduce((n, r) => n + r.n, 0);
  const { owner, login, tables, n } = found.rows[0]!;
  const others = found.rows.length > 1 ? `; ${total - n} more belong to ${found.rows.slice(1).map((r) => `"${r.owner}"`).join(', ')}` : '';
  return (
    `${total} of verite's tables belong to another login than verite's "${login}", which may not rebuild them (the transform and the metrics refresh would fail on them): ` +
    `${n} to "${owner}" (${tables.join(', ')}${n > tables.length ? ', …' : ''})${others}. A verite run as "${owner}" built them (${waysOut(owner, login)})`
  );
}
