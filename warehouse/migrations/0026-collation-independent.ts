import { sql, type Kysely } from 'kysely';
import { FAST_TIMESTAMP, PARSE_TIMESTAMPTZ_STEPS } from './0024-faster-patterns.ts';

/**
 * The functions that lower or raise letters, ignore case or match blanks give on a database of
 * any collation what they give under the C collation, which the embedded warehouse uses
 * (docs/architecture.md, "The database's collation").
 *
 * A managed PostgreSQL is often created in the locale of its region. Under a Turkish one,
 * `upper('inr')` is `İNR` (no currency) and `lower('WWW.INSTAGRAM.COM')` is `www.ınstagram.com`
 * (no known host); under an ICU locale, `\s` also takes Unicode blanks such as an em
 * space, which the cast of a date and time that follows refuses with an error that stops the
 * build. Each function now reads its text under the C collation (`collate "C"`), where letters
 * are ASCII letters, case is ASCII case and blanks are ASCII blanks; every other character is
 * left as it is.
 *
 * Every function keeps its volatility and parallel safety.
 */

/** `PARSE_TIMESTAMPTZ_STEPS` of migration 0024, its pattern matched under the C collation. */
const PARSE_TIMESTAMPTZ_STEPS_C = sql.raw(String.raw`case
        when btrim(v) collate "C" !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]{1,9})?)?\s*([Zz]|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?$' then null
        -- Days 01 to 28 of months 01 to 12 exist in every year but 0000: no need to ask parse_date.
        when left(btrim(v), 4) = '0000' or substr(btrim(v), 6, 2) collate "C" not between '01' and '12' then null
        when substr(btrim(v), 9, 2) collate "C" not between '01' and '28' and ops.parse_date(left(btrim(v), 10)) is null then null
        when btrim(v) ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$' then replace(btrim(v), ',', '.')::timestamptz
        else (replace(btrim(v), ',', '.') || '+00')::timestamptz
      end`);

/**
 * The eight definitions, each text read under the C collation (`c` is `collate "C"`, and `back`
 * puts a result back in the database's collation), or as they were before (both empty).
 */
async function define(db: Kysely<unknown>, collateC: boolean): Promise<void> {
  const c = sql.raw(collateC ? ' collate "C"' : '');
  const back = sql.raw(collateC ? ' collate "default"' : '');
  await sql`
    create or replace function ops.parse_timestamptz(v text) returns timestamptz language plpgsql stable parallel safe as $$
    begin
      if v is null then return null; end if;
      if ${FAST_TIMESTAMP} then return v::timestamptz; end if;
      return ${collateC ? PARSE_TIMESTAMPTZ_STEPS_C : PARSE_TIMESTAMPTZ_STEPS};
    end $$`.execute(db);
  await sql`
    create or replace function ops.try_date(v text) returns date language plpgsql immutable as $$
    begin
      if v${c} ~ '^\\d{8}$' then
        return to_date(v, 'YYYYMMDD');
      end if;
      return substr(btrim(v), 1, 10)::date;
    exception when others then
      return null;
    end $$`.execute(db);
  await sql`
    create or replace function ops.url_param(url text, name text) returns text language sql immutable parallel safe as $$
      select nullif(btrim(ops.url_decode(substring(url${c} from
        '(?i)[?&](?:amp;)?' || regexp_replace(name, '([^a-zA-Z0-9_])', '\\\\\\1', 'g') || '=([^&#]*)'))), '')
    $$`.execute(db);
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable parallel safe as $$
      select nullif(coalesce(
        substring(lower(btrim(url)${c}) from '^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:@]+)'),
        substring(lower(btrim(url)${c}) from '^(?:[^/?#@:]*@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\\.?(?::[0-9]*)?(?:[/?#]|$)')
      )${back}, '')
    $$`.execute(db);
  await sql`
    create or replace function ops.currency_exponent(code text) returns int language sql immutable parallel safe as $$
      select case
        when upper(code${c}) in ('BIF','CLP','DJF','GNF','JPY','KMF','KRW','MGA','PYG','RWF','UGX','VND','VUV','XAF','XOF','XPF') then 0
        when upper(code${c}) in ('BHD','JOD','KWD','OMR','TND') then 3
        else 2
      end
    $$`.execute(db);
  await sql`
    create or replace function ops.currency_problem(field text, v text, required boolean) returns text language sql immutable parallel safe as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when not ops.is_currency(upper(btrim(v)${c})) then field || ' ' || ops.quoted(v) || ' is not an ISO 4217 currency code'
      end
    $$`.execute(db);
  await sql`
    create or replace function ops.parse_boolean(v text) returns boolean language sql immutable parallel safe as $$
      select case lower(btrim(v)${c}) when 'true' then true when 'false' then false end
    $$`.execute(db);
  await sql`
    create or replace function ops.lower_texts(items jsonb) returns text[] language sql immutable parallel safe as $$
      select coalesce(array_agg(lower(e${c})${back}), '{}')
        from jsonb_array_elements_text(case when jsonb_typeof(items) = 'array' then items else '[]'::jsonb end) e
    $$`.execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await define(db, true);
}

/** Puts back the definitions of migrations 0002, 0004, 0009, 0013, 0022 and 0024. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await define(db, false);
}
