import { sql, type Kysely } from 'kysely';

/**
 * The same results, at a fraction of the cost per call: the transforms call these functions
 * once or more for every order, charge and shipment, so at a million orders each microsecond
 * is seconds of every build (measured with `npm run bench:pipeline`, docs/scale.md).
 *
 * - `ops.url_decode` (0002) wrapped its whole body in an exception block, so every call, even
 *   with nothing to decode or a null, opened a subtransaction; the cases that cannot fail (null,
 *   no '%') now return before the block.
 * - `ops.url_host` (0004) read its argument through a `FROM (select …)`, which keeps PostgreSQL
 *   from inlining the function: each call ran as a query of its own. Now one expression.
 * - `ops.parse_timestamptz` (0009) was a SQL function naming its argument a dozen times, so it
 *   was never inlined and each call planned and ran a query. Now PL/pgSQL with a fast path: a
 *   text that is plainly a valid ISO 8601 date and time with an offset (days 01 to 28, which
 *   every month has; no comma, no blank) is cast as it is, which is what the SQL form did for
 *   it; anything else takes the SQL form's steps, unchanged.
 * - `ops.timestamp_problem` (0009) takes the same fast path, and checks the range itself
 *   before asking `ops.range_problem` for the sentence.
 * - `ops.date_or_timestamp_problem` (0009) goes straight to `ops.timestamp_problem` for such a
 *   plain date-time, which `ops.parse_date` (a date alone) could only have refused.
 *
 * Backslashes are doubled in the `sql` templates (PostgreSQL sees single ones), single in the
 * `String.raw` ones.
 */

/** A text the `::timestamptz` cast reads exactly as `ops.parse_timestamptz` of 0009 does. */
const PLAIN_TIMESTAMP = String.raw`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-](0\d|1[0-5]):?[0-5]\d)$`;

/** The 0009 definition of `ops.parse_timestamptz`'s expression, on a text `v`. */
const PARSE_TIMESTAMPTZ_0009 = sql.raw(String.raw`case
        when btrim(v) !~ '^\d{4}-\d{2}-\d{2}[Tt ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d([.,]\d{1,9})?)?\s*([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)?$' then null
        -- Days 01 to 28 of months 01 to 12 exist in every year but 0000: no need to ask parse_date.
        when left(btrim(v), 4) = '0000' or substr(btrim(v), 6, 2) not between '01' and '12' then null
        when substr(btrim(v), 9, 2) not between '01' and '28' and ops.parse_date(left(btrim(v), 10)) is null then null
        when btrim(v) ~ '([Zz]|[+-]\d{2}(:?\d{2})?)$' then replace(btrim(v), ',', '.')::timestamptz
        else (replace(btrim(v), ',', '.') || '+00')::timestamptz
      end`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.url_decode(v text) returns text language plpgsql immutable as $$
    declare
      out bytea := ''::bytea;
      m text[];
    begin
      if v is null then return null; end if;
      if strpos(v, '%') = 0 then return replace(v, '+', ' '); end if;
      begin
        for m in select regexp_matches(replace(v, '+', ' '), '(%[0-9A-Fa-f]{2}|[^%]+|%)', 'g') loop
          if m[1] ~ '^%[0-9A-Fa-f]{2}$' then
            out := out || decode(substr(m[1], 2), 'hex');
          else
            out := out || convert_to(m[1], 'UTF8');
          end if;
        end loop;
        return convert_from(out, 'UTF8');
      exception when others then
        return v;
      end;
    end $$`.execute(db);
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable as $$
      select nullif(coalesce(
        substring(lower(btrim(url)) from '^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:@]+)'),
        substring(lower(btrim(url)) from '^(?:[^/?#@:]*@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\\.?(?::[0-9]*)?(?:[/?#]|$)')
      ), '')
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_timestamptz(v text) returns timestamptz language plpgsql stable as $$
    begin
      if v is null then return null; end if;
      if v ~ ${sql.raw(`'${PLAIN_TIMESTAMP}'`)} and left(v, 4) <> '0000' then return v::timestamptz; end if;
      return ${PARSE_TIMESTAMPTZ_0009};
    end $$`.execute(db);
  await sql`
    create or replace function ops.timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      ts timestamptz;
      d date;
    begin
      if nullif(btrim(v), '') is null then return ops.absent_problem(field, v, required); end if;
      ts := ops.parse_timestamptz(v);
      if ts is null then return field || ' ' || ops.quoted(v) || ' is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)'; end if;
      d := (ts at time zone tz)::date;
      if d >= earliest and d <= latest then return null; end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
  await sql`
    create or replace function ops.date_or_timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      d date;
    begin
      if v ~ ${sql.raw(`'${PLAIN_TIMESTAMP}'`)} then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      d := ops.parse_date(v);
      if d is null then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
}

/** Puts back the definitions of 0002 (`url_decode`), 0004 (`url_host`) and 0009. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.url_decode(v text) returns text language plpgsql immutable as $$
    declare
      out bytea := ''::bytea;
      m text[];
    begin
      if v is null then return null; end if;
      if strpos(v, '%') = 0 then return replace(v, '+', ' '); end if;
      for m in select regexp_matches(replace(v, '+', ' '), '(%[0-9A-Fa-f]{2}|[^%]+|%)', 'g') loop
        if m[1] ~ '^%[0-9A-Fa-f]{2}$' then
          out := out || decode(substr(m[1], 2), 'hex');
        else
          out := out || convert_to(m[1], 'UTF8');
        end if;
      end loop;
      return convert_from(out, 'UTF8');
    exception when others then
      return v;
    end $$`.execute(db);
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable as $$
      select nullif(coalesce(
        substring(u from '^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:@]+)'),
        substring(u from '^(?:[^/?#@:]*@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\\.?(?::[0-9]*)?(?:[/?#]|$)')
      ), '')
      from (select lower(btrim(url)) as u) x
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_timestamptz(v text) returns timestamptz language sql stable as $$
      select ${PARSE_TIMESTAMPTZ_0009}
    $$`.execute(db);
  await sql`
    create or replace function ops.timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      ts timestamptz;
    begin
      if nullif(btrim(v), '') is null then return ops.absent_problem(field, v, required); end if;
      ts := ops.parse_timestamptz(v);
      if ts is null then return field || ' ' || ops.quoted(v) || ' is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)'; end if;
      return ops.range_problem(field, v, (ts at time zone tz)::date, earliest, latest);
    end $$`.execute(db);
  await sql`
    create or replace function ops.date_or_timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      d date := ops.parse_date(v);
    begin
      if d is null then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
}
