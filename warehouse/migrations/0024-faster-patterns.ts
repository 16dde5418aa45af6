import { sql, type Kysely } from 'kysely';

/**
 * The same results, at less cost per call, for the parse functions every order, line, charge
 * and shipment goes through (docs/scale.md, "A full build on parallel workers"):
 *
 * - Digits are matched as `[0-9]`, not `\d`. PostgreSQL's `\d` is the locale's digit class,
 *   looked up character by character: a pattern of it costs about twice one of `[0-9]` (a
 *   decimal 0.5 µs against 0.2, a date and time 3.3 µs against 1.6 at a million values). Under
 *   an ICU locale `\d` may also take digits of other scripts, which the cast that follows
 *   refuses with an error: `[0-9]` only takes what the cast reads.
 * - The fast path of `ops.parse_timestamptz` (migration 0013) matched its date and time with
 *   one pattern that also spelled out the days of each month and the ranges of the hours and
 *   minutes, 4.8 µs a call. It now matches the shape alone and checks the month and day
 *   against the list of those every year has (hashed), and the hours, minutes and offset by
 *   comparing two digits: what passes is a valid timestamp, cast as it is, which is what the
 *   slower steps give it too (days 29 to 31 took them before). Offsets without a colon go the
 *   slower steps, as before for most of them.
 * - `ops.date_or_timestamp_problem` asks the same fast test.
 *
 * Every function keeps its volatility and PARALLEL SAFE (migration 0022).
 */

/** Every month and day that each year has: all but 29 February. */
export const MONTH_DAYS = `{${Array.from({ length: 365 }, (_, i) => new Date(Date.UTC(2023, 0, 1 + i)).toISOString().slice(5, 10)).join(',')}}`;

/** True when the text `v` is plainly a valid ISO 8601 date and time with an offset (see above). */
export const FAST_TIMESTAMP = sql.raw(String.raw`(v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$'
        and left(v, 4) <> '0000' and substr(v, 6, 5) = any('${MONTH_DAYS}'::text[])
        and substr(v, 12, 2) collate "C" <= '23' and substr(v, 15, 2) collate "C" <= '59' and substr(v, 18, 2) collate "C" <= '59'
        and (right(v, 1) in ('Z', 'z') or (substr(v, length(v) - 4, 2) collate "C" <= '15' and right(v, 2) collate "C" <= '59')))`);

/** The 0009 steps of `ops.parse_timestamptz`, on a text `v`, digits as `[0-9]`. */
export const PARSE_TIMESTAMPTZ_STEPS = sql.raw(String.raw`case
        when btrim(v) !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?\s*([Zz]|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?$' then null
        -- Days 01 to 28 of months 01 to 12 exist in every year but 0000: no need to ask parse_date.
        when left(btrim(v), 4) = '0000' or substr(btrim(v), 6, 2) not between '01' and '12' then null
        when substr(btrim(v), 9, 2) not between '01' and '28' and ops.parse_date(left(btrim(v), 10)) is null then null
        when btrim(v) ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$' then replace(btrim(v), ',', '.')::timestamptz
        else (replace(btrim(v), ',', '.') || '+00')::timestamptz
      end`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.parse_decimal(v text) returns numeric language sql immutable parallel safe as $$
      select case when btrim(v) ~ '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$' then btrim(v)::numeric end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_integer(v text) returns numeric language sql immutable parallel safe as $$
      select case when btrim(v) ~ '^[+-]?[0-9]+$' then btrim(v)::numeric end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_date(v text) returns date language sql immutable parallel safe as $$
      select case
        when btrim(v) !~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' or left(btrim(v), 4) = '0000' then null
        when substr(btrim(v), 9, 2)::int > extract(day from make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, 1) + interval '1 month - 1 day') then null
        else make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, substr(btrim(v), 9, 2)::int)
      end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_timestamptz(v text) returns timestamptz language plpgsql stable parallel safe as $$
    begin
      if v is null then return null; end if;
      if ${FAST_TIMESTAMP} then return v::timestamptz; end if;
      return ${PARSE_TIMESTAMPTZ_STEPS};
    end $$`.execute(db);
  await sql`
    create or replace function ops.date_or_timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable parallel safe as $$
    declare
      d date;
    begin
      if ${FAST_TIMESTAMP} then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      d := ops.parse_date(v);
      if d is null then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
  await sql`
    create or replace function ops.epoch_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language sql stable parallel safe as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when btrim(v) !~ '^[0-9]{1,12}$' then field || ' ' || ops.quoted(v) || ' is not a Unix time in seconds'
        else ops.range_problem(field, v, (to_timestamp(btrim(v)::bigint) at time zone tz)::date, earliest, latest)
      end
    $$`.execute(db);
}

/** Puts back the definitions of migrations 0009 and 0013, parallel safe as 0022 left them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  const plain = sql.raw(String.raw`'^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-](0\d|1[0-5]):?[0-5]\d)$'`);
  await sql`
    create or replace function ops.parse_decimal(v text) returns numeric language sql immutable parallel safe as $$
      select case when btrim(v) ~ '^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)$' then btrim(v)::numeric end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_integer(v text) returns numeric language sql immutable parallel safe as $$
      select case when btrim(v) ~ '^[+-]?\\d+$' then btrim(v)::numeric end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_date(v text) returns date language sql immutable parallel safe as $$
      select case
        when btrim(v) !~ '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' or left(btrim(v), 4) = '0000' then null
        when substr(btrim(v), 9, 2)::int > extract(day from make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, 1) + interval '1 month - 1 day') then null
        else make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, substr(btrim(v), 9, 2)::int)
      end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_timestamptz(v text) returns timestamptz language plpgsql stable parallel safe as $$
    begin
      if v is null then return null; end if;
      if v ~ ${plain} and left(v, 4) <> '0000' then return v::timestamptz; end if;
      return ${sql.raw(String.raw`case
        when btrim(v) !~ '^\d{4}-\d{2}-\d{2}[Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d([.,]\d{1,9})?)?\s*([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)?$' then null
        when left(btrim(v), 4) = '0000' or substr(btrim(v), 6, 2) not between '01' and '12' then null
        when substr(btrim(v), 9, 2) not between '01' and '28' and ops.parse_date(left(btrim(v), 10)) is null then null
        when btrim(v) ~ '([Zz]|[+-]\d{2}(:?\d{2})?)$' then replace(btrim(v), ',', '.')::timestamptz
        else (replace(btrim(v), ',', '.') || '+00')::timestamptz
      end`)};
    end $$`.execute(db);
  await sql`
    create or replace function ops.date_or_timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable parallel safe as $$
    declare
      d date;
    begin
      if v ~ ${plain} then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      d := ops.parse_date(v);
      if d is null then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
  await sql`
    create or replace function ops.epoch_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language sql stable parallel safe as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when btrim(v) !~ '^\\d{1,12}$' then field || ' ' || ops.quoted(v) || ' is not a Unix time in seconds'
        else ops.range_problem(field, v, (to_timestamp(btrim(v)::bigint) at time zone tz)::date, earliest, latest)
      end
    $$`.execute(db);
}
