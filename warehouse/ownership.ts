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
  return (
    `${object} belongs to "${owner}", not to verite's login "${login}": a verite run as "${owner}" built it (every scheduler, cron job and laptop ` +
    `sharing a warehouse runs as one login). Run verite as "${owner}", or have an administrator hand "${owner}"'s tables to "${login}" ` +
    `(REASSIGN OWNED BY "${owner}" TO "${login}", run in this database, when "${owner}" owns nothing else in it; else ALTER TABLE … OWNER TO "${login}" for each) ` +
    `or make "${login}" a member of "${owner}" (GRANT "${owner}" TO "${login}")`
  );
}
