import { sql, type Kysely } from 'kysely';

/**
 * Functions the transforms use to read API text safely: a value that does not parse becomes
 * null (and the data checks report what that leaves out) instead of failing the whole build.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.try_numeric(v text) returns numeric language plpgsql immutable as $$
    begin
      return nullif(btrim(v), '')::numeric;
    exception when others then
      return null;
    end $$`.execute(db);
  await sql`
    create or replace function ops.try_timestamptz(v text) returns timestamptz language plpgsql stable as $$
    begin
      return nullif(btrim(v), '')::timestamptz;
    exception when others then
      return null;
    end $$`.execute(db);
  await sql`
    create or replace function ops.try_date(v text) returns date language plpgsql immutable as $$
    begin
      if v ~ '^\\d{8}$' then
        return to_date(v, 'YYYYMMDD');
      end if;
      return substr(btrim(v), 1, 10)::date;
    exception when others then
      return null;
    end $$`.execute(db);
  // Percent-decoding of a URL component ('+' is a space in query strings); undecodable text stays as it is.
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
  // The value of a query-string parameter of a URL or path, decoded; null when absent or empty.
  await sql`
    create or replace function ops.url_param(url text, name text) returns text language sql immutable as $$
      select nullif(btrim(ops.url_decode(substring(url from '[?&]' || name || '=([^&#]*)'))), '')
    $$`.execute(db);
  // The host of a URL ('https://www.google.com/search?q=x' → 'www.google.com'); null when none.
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable as $$
      select nullif(lower(substring(btrim(url) from '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//([^/?#:]+)')), '')
    $$`.execute(db);
  // Decimal places of a currency's minor unit, as Stripe counts them.
  await sql`
    create or replace function ops.currency_exponent(code text) returns int language sql immutable as $$
      select case
        when upper(code) in ('BIF','CLP','DJF','GNF','JPY','KMF','KRW','MGA','PYG','RWF','UGX','VND','VUV','XAF','XOF','XPF') then 0
        when upper(code) in ('BHD','JOD','KWD','OMR','TND') then 3
        else 2
      end
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const fn of ['try_numeric(text)', 'try_timestamptz(text)', 'try_date(text)', 'url_param(text, text)', 'url_decode(text)', 'url_host(text)', 'currency_exponent(text)']) {
    await sql.raw(`drop function if exists ops.${fn}`).execute(db);
  }
}
