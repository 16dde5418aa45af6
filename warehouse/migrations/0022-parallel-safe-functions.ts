import { sql, type Kysely } from 'kysely';

/**
 * The transform's functions declared PARALLEL SAFE, so that PostgreSQL may run a staging model
 * or a set-aside check over a million raw records on parallel workers (docs/scale.md). A function
 * is parallel unsafe unless it says otherwise, and a query that calls one runs in one process.
 *
 * Each function here only reads its arguments (and the session's settings, which the workers
 * share): no writes, no sequences, no temporary tables, and no exception block. An exception
 * block starts a subtransaction, which a parallel worker cannot, so `ops.try_numeric`,
 * `ops.try_timestamptz` and `ops.try_date` stay as they are. `ops.url_decode` had one, for bytes
 * that are not UTF-8 (its only failure): it now checks them first, with a pattern of well-formed
 * UTF-8 over their hex (RFC 3629, as PostgreSQL's own check, a NUL byte refused too), and
 * becomes parallel safe, with `ops.url_param`, which calls it.
 */

/** Well-formed UTF-8 without NUL, byte by byte, over the lower-case hex of the bytes (RFC 3629, table 3-7 of Unicode). */
const UTF8_HEX = [
  '0[1-9a-f]|[1-7][0-9a-f]',
  '(?:c[2-9a-f]|d[0-9a-f])[89ab][0-9a-f]',
  'e0[ab][0-9a-f][89ab][0-9a-f]',
  '(?:e[1-9a-c]|e[ef])[89ab][0-9a-f][89ab][0-9a-f]',
  'ed[89][0-9a-f][89ab][0-9a-f]',
  'f0(?:9[0-9a-f]|[ab][0-9a-f])[89ab][0-9a-f][89ab][0-9a-f]',
  'f[1-3][89ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]',
  'f48[0-9a-f][89ab][0-9a-f][89ab][0-9a-f]',
].join('|');
const SAFE = [
  'ops.quoted(text)',
  'ops.parse_date(text)',
  'ops.parse_timestamptz(text)',
  'ops.parse_decimal(text)',
  'ops.parse_integer(text)',
  'ops.parse_boolean(text)',
  'ops.is_currency(text)',
  'ops.currency_exponent(text)',
  'ops.absent_problem(text, text, boolean)',
  'ops.range_problem(text, text, date, date, date)',
  'ops.timestamp_problem(text, text, boolean, date, date, text)',
  'ops.date_or_timestamp_problem(text, text, boolean, date, date, text)',
  'ops.epoch_problem(text, text, boolean, date, date, text)',
  'ops.amount_problem(text, text, boolean)',
  'ops.count_problem(text, text, boolean)',
  'ops.currency_problem(text, text, boolean)',
  'ops.boolean_problem(text, text)',
  'ops.url_host(text)',
  'ops.url_param(text, text)',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.url_decode(v text) returns text language plpgsql immutable parallel safe as $$
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
      -- Bytes that are not UTF-8 cannot be text: the value stays as it was written.
      if encode(out, 'hex') !~ ${sql.lit(`^(?:${UTF8_HEX})*$`)} then return v; end if;
      return convert_from(out, 'UTF8');
    end $$`.execute(db);
  for (const fn of SAFE) await sql`alter function ${sql.raw(fn)} parallel safe`.execute(db);
  // What a staging model worked out in a subquery per row, as functions: a query holding a
  // correlated subquery keeps it in one process, a call of a parallel-safe function does not.
  // The models call them on the rare rows their plain expressions do not cover (docs/scale.md).
  // The sum of `field` over the elements of a JSON array (null when there is none, or no array).
  await sql`
    create function ops.sum_decimals(items jsonb, field text) returns numeric language sql immutable parallel safe as $$
      select sum(ops.parse_decimal(e->>field))
        from jsonb_array_elements(case when jsonb_typeof(items) = 'array' then items else '[]'::jsonb end) e
    $$`.execute(db);
  // The elements of a JSON array as lower-case texts (none when it is not an array).
  await sql`
    create function ops.lower_texts(items jsonb) returns text[] language sql immutable parallel safe as $$
      select coalesce(array_agg(lower(e)), '{}')
        from jsonb_array_elements_text(case when jsonb_typeof(items) = 'array' then items else '[]'::jsonb end) e
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function ops.lower_texts(jsonb)`.execute(db);
  await sql`drop function ops.sum_decimals(jsonb, text)`.execute(db);
  for (const fn of SAFE) await sql`alter function ${sql.raw(fn)} parallel unsafe`.execute(db);
  // The definition of migration 0013, with its exception block.
  await sql`
    create or replace function ops.url_decode(v text) returns text language plpgsql immutable parallel unsafe as $$
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
}
