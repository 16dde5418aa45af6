import { sql, type Kysely } from 'kysely';

/**
 * A table's columns in order with their types (`name type, …`), or '' when it does not exist.
 * Two tables with the same signature take each other's rows with `INSERT … SELECT *`: what a
 * rebuild compares to refill a published table in place instead of swapping it.
 */
export async function tableSignature(db: Kysely<any>, table: string): Promise<string> {
  const res = await sql<{ signature: string | null }>`
    select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum) as signature
      from pg_attribute a
     where a.attrelid = to_regclass(${table}) and a.attnum > 0 and not a.attisdropped`.execute(db);
  return res.rows[0]?.signature ?? '';
}
