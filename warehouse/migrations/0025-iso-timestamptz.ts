import { sql, type Kysely } from 'kysely';

/**
 * `ops.iso_timestamptz(v)` gives, for every text, what `ops.parse_timestamptz(v)` gives, as an
 * expression the planner inlines into the query that calls it (a SQL function of one `SELECT`),
 * so the call costs no PL/pgSQL frame. The dates and times the shop APIs send nearly always
 * have one shape, `2024-03-01T10:00:00Z` or with an offset `+01:00`. On PostgreSQL 16 and later,
 * such a text is read with no pattern:
 *
 * - its shape by `LIKE` (the separators in their places) and by `translate` (once its digits are
 *   taken out, the separators alone are left: every other character is a digit);
 * - its values by the server (`pg_input_is_valid`, which reads the month's days, leap years
 *   included, and the offset's range without raising an error), but for what the server takes
 *   and the strict reading does not: the hour 24, the second 60 and the year 0000.
 *
 * What passes is cast as it is, which is what `ops.parse_timestamptz` gives it; anything else
 * (other shapes, fractions of a second, a date alone, nonsense) goes to `ops.parse_timestamptz`.
 * A call costs some 1.5 µs where `ops.parse_timestamptz`'s costs 2.6 (its pattern's automaton is
 * built again at each call), measured on a million shipment dates. Inlined, the function reads
 * `v` at each of its mentions: a model passes it a text read once (`jsonTextsOnce`), not
 * `_record->>'field'`, which would be looked up again each time.
 *
 * On PostgreSQL 14 and 15 (no `pg_input_is_valid`) it is `ops.parse_timestamptz` itself.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const version = (await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(db)).rows[0]!.v;
  if (version < 160000) {
    await sql`
      create or replace function ops.iso_timestamptz(v text) returns timestamptz language sql stable parallel safe as $$
        select ops.parse_timestamptz(v)
      $$`.execute(db);
    return;
  }
  await sql`
    create or replace function ops.iso_timestamptz(v text) returns timestamptz language sql stable parallel safe as $$
      select case
        when v is null then null
        when (v like '____-__-__T__:__:__Z' and translate(v, '0123456789', '') = '--T::Z'
              or (v like '____-__-__T__:__:__+__:__' or v like '____-__-__T__:__:__-__:__') and translate(v, '0123456789', '') in ('--T::+:', '--T::-:'))
             and left(v, 4) <> '0000' and substr(v, 12, 2) <> '24' and substr(v, 18, 2) <> '60'
             and pg_input_is_valid(v, 'timestamptz')
          then v::timestamptz
        else ops.parse_timestamptz(v)
      end
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists ops.iso_timestamptz(text)`.execute(db);
}
