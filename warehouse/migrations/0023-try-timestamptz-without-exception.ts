import { sql, type Kysely } from 'kysely';

/**
 * `ops.try_timestamptz` without its exception block, on PostgreSQL 16 and later: there the
 * server says whether a text is a valid timestamp (`pg_input_is_valid`) without raising the
 * error, so no subtransaction is started and the function is PARALLEL SAFE. A query calling it
 * (the staging of the Shopify customers, half a million records at a million orders) may then
 * run on parallel workers. It gives what the old one gives: the text trimmed, blank as null, and
 * null for any text that is not a timestamp. On PostgreSQL 14 and 15 it stays as it was.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const version = (await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(db)).rows[0]!.v;
  if (version < 160000) return;
  await sql`
    create or replace function ops.try_timestamptz(v text) returns timestamptz language sql stable parallel safe as $$
      select case when pg_input_is_valid(nullif(btrim(v), ''), 'timestamptz') then nullif(btrim(v), '')::timestamptz end
    $$`.execute(db);
}

/** Puts back the definition of migration 0002. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.try_timestamptz(v text) returns timestamptz language plpgsql stable parallel unsafe as $$
    begin
      return nullif(btrim(v), '')::timestamptz;
    exception when others then
      return null;
    end $$`.execute(db);
}
