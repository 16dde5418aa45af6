import { sql, type Kysely } from 'kysely';

/**
 * The currencies a record may name: ISO 4217 codes as Node 20.20 (ICU 78.2, CLDR 48) lists them
 * in `Intl.supportedValuesOf('currency')`, frozen here so a Node upgrade never changes which
 * records are set aside. It holds the codes in use plus a few recently retired ones that old
 * records still carry (HRK, ANG, SLL, ZWL, CUC); it leaves out fund codes, precious metals,
 * XTS (testing) and XXX (no currency).
 */
export const ISO_4217_CURRENCIES = Object.freeze(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY ' +
    'COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ' +
    'ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP ' +
    'MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG ' +
    'SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST ' +
    'XAF XCD XCG XDR XOF XPF XSU YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

/**
 * The transform's set-aside records and the strict readers of API text (issue 17).
 *
 * - `ops.set_aside`: the records the last build of each model could not use, with the reason;
 *   rewritten by every build of that model, in the build's transaction, so it always describes
 *   what readers see. `since` keeps the first build that set the record aside.
 * - `ops.quarantine_actions`: what `verite quarantine drop|retry` did, record by record, by whom.
 * - `ops.runs.warnings`: what a run that succeeded with warnings warned about.
 * - `ops.parse_*`: strict parsers (null when the text is not what the field must hold, never a
 *   coercion: `NaN`, `yesterday`, `infinity`, `epoch` are no values), and `ops.*_problem`, which
 *   say why a field's text cannot be used, or null when it can.
 *
 * Backslashes are doubled for the JavaScript template; PostgreSQL sees single ones.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.set_aside')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('check_name', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    .addColumn('set_aside_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('set_aside_once', ['model', 'check_name', 'source', 'stream', 'key'])
    .execute();
  await db.schema.createIndex('set_aside_record').on('ops.set_aside').columns(['source', 'stream', 'key']).execute();
  await db.schema
    .createTable('ops.quarantine_actions')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('action', 'text', (c) => c.notNull())
    // 'set aside' (ops.set_aside) or 'quarantined' (ops.quarantine).
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('key', 'text')
    .addColumn('quarantine_id', 'bigint')
    .addColumn('reason', 'text')
    // The text of the record deleted (a drop), so nothing is lost that cannot be put back.
    .addColumn('raw', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('acted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('acted_by', 'text')
    .addColumn('command', 'text')
    .addColumn('host', 'text')
    .addColumn('pid', 'integer')
    .execute();
  await db.schema.alterTable('ops.runs').addColumn('warnings', 'text').execute();

  // These run on every row of every build. Most are SQL functions of one expression, which
  // PostgreSQL inlines into the calling query. None has an exception handler (each call would
  // cost a subtransaction) and none takes regular-expression captures (slow in PostgreSQL's
  // engine): a text is checked by a match, then cast or built from its parts.

  // A value quoted for a reason: JSON string syntax, cut at 60 characters.
  await sql`
    create function ops.quoted(v text) returns text language sql immutable as $$
      select case when length(v) > 60 then to_json(left(v, 59) || '…')::text else to_json(v)::text end
    $$`.execute(db);
  // A calendar date, YYYY-MM-DD, that exists (year 1 or later).
  await sql`
    create function ops.parse_date(v text) returns date language sql immutable as $$
      select case
        when btrim(v) !~ '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$' or left(btrim(v), 4) = '0000' then null
        when substr(btrim(v), 9, 2)::int > extract(day from make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, 1) + interval '1 month - 1 day') then null
        else make_date(left(btrim(v), 4)::int, substr(btrim(v), 6, 2)::int, substr(btrim(v), 9, 2)::int)
      end
    $$`.execute(db);
  // ISO 8601 / RFC 3339 date and time: 2024-03-01T10:00:00Z, 2024-03-01 10:00:00.123+01:00,
  // +0100 or +01. A time without an offset is UTC (whatever the session's zone). A date alone is
  // no timestamp here.
  await sql`
    create function ops.parse_timestamptz(v text) returns timestamptz language sql stable as $$
      select case
        when btrim(v) !~ '^\\d{4}-\\d{2}-\\d{2}[Tt ]([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d([.,]\\d{1,9})?)?\\s*([Zz]|[+-](0\\d|1[0-5])(:?[0-5]\\d)?)?$' then null
        -- Days 01 to 28 of months 01 to 12 exist in every year but 0000: no need to ask parse_date.
        when left(btrim(v), 4) = '0000' or substr(btrim(v), 6, 2) not between '01' and '12' then null
        when substr(btrim(v), 9, 2) not between '01' and '28' and ops.parse_date(left(btrim(v), 10)) is null then null
        when btrim(v) ~ '([Zz]|[+-]\\d{2}(:?\\d{2})?)$' then replace(btrim(v), ',', '.')::timestamptz
        else (replace(btrim(v), ',', '.') || '+00')::timestamptz
      end
    $$`.execute(db);
  // A decimal written out: 12, -3.5, .5, 10. (no NaN, Infinity, exponent or thousands separator).
  await sql`
    create function ops.parse_decimal(v text) returns numeric language sql immutable as $$
      select case when btrim(v) ~ '^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)$' then btrim(v)::numeric end
    $$`.execute(db);
  await sql`
    create function ops.parse_integer(v text) returns numeric language sql immutable as $$
      select case when btrim(v) ~ '^[+-]?\\d+$' then btrim(v)::numeric end
    $$`.execute(db);
  // JSON true/false, or the words true/false in any case (a CSV cell).
  await sql`
    create function ops.parse_boolean(v text) returns boolean language sql immutable as $$
      select case lower(btrim(v)) when 'true' then true when 'false' then false end
    $$`.execute(db);
  await sql`
    create function ops.is_currency(code text) returns boolean language sql immutable as $$
      select coalesce(code = any(${sql.lit(`{${ISO_4217_CURRENCIES.join(',')}}`)}::text[]), false)
    $$`.execute(db);

  // Why `field`'s text cannot be used, or null when it can (or is absent and not required).
  // Absent means JSON null, missing or blank.
  await sql`
    create function ops.absent_problem(field text, v text, required boolean) returns text language sql immutable as $$
      select case when required and nullif(btrim(v), '') is null then field || ' is missing' end
    $$`.execute(db);
  // A local date (of a timestamp in zone tz, or a date alone) outside earliest … latest.
  await sql`
    create function ops.range_problem(field text, v text, d date, earliest date, latest date) returns text language sql immutable as $$
      select case
        when d < earliest then field || ' ' || ops.quoted(v) || ' is dated before ' || to_char(earliest, 'YYYY-MM-DD')
        when d > latest then field || ' ' || ops.quoted(v) || ' is dated after ' || to_char(latest, 'YYYY-MM-DD') || ', in the future'
      end
    $$`.execute(db);
  // A timestamp whose local date (in zone tz) is in earliest … latest. PL/pgSQL, to parse once.
  await sql`
    create function ops.timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      ts timestamptz;
    begin
      if nullif(btrim(v), '') is null then return ops.absent_problem(field, v, required); end if;
      ts := ops.parse_timestamptz(v);
      if ts is null then return field || ' ' || ops.quoted(v) || ' is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)'; end if;
      return ops.range_problem(field, v, (ts at time zone tz)::date, earliest, latest);
    end $$`.execute(db);
  // Like timestamp_problem, but a date alone (a carrier's promised day) is accepted too.
  await sql`
    create function ops.date_or_timestamp_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language plpgsql stable as $$
    declare
      d date := ops.parse_date(v);
    begin
      if d is null then return ops.timestamp_problem(field, v, required, earliest, latest, tz); end if;
      return ops.range_problem(field, v, d, earliest, latest);
    end $$`.execute(db);
  // Unix seconds (Stripe's created).
  await sql`
    create function ops.epoch_problem(field text, v text, required boolean, earliest date, latest date, tz text) returns text language sql stable as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when btrim(v) !~ '^\\d{1,12}$' then field || ' ' || ops.quoted(v) || ' is not a Unix time in seconds'
        else ops.range_problem(field, v, (to_timestamp(btrim(v)::bigint) at time zone tz)::date, earliest, latest)
      end
    $$`.execute(db);
  // A money amount: a decimal, not negative.
  await sql`
    create function ops.amount_problem(field text, v text, required boolean) returns text language sql immutable as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when ops.parse_decimal(v) is null then field || ' ' || ops.quoted(v) || ' is not a decimal amount'
        when ops.parse_decimal(v) < 0 then field || ' ' || ops.quoted(v) || ' is negative'
      end
    $$`.execute(db);
  // A count (or an amount in minor units): a whole number, not negative.
  await sql`
    create function ops.count_problem(field text, v text, required boolean) returns text language sql immutable as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when ops.parse_integer(v) is null then field || ' ' || ops.quoted(v) || ' is not a whole number'
        when ops.parse_integer(v) < 0 then field || ' ' || ops.quoted(v) || ' is negative'
      end
    $$`.execute(db);
  // An ISO 4217 code, in any case (Stripe writes usd).
  await sql`
    create function ops.currency_problem(field text, v text, required boolean) returns text language sql immutable as $$
      select case
        when nullif(btrim(v), '') is null then ops.absent_problem(field, v, required)
        when not ops.is_currency(upper(btrim(v))) then field || ' ' || ops.quoted(v) || ' is not an ISO 4217 currency code'
      end
    $$`.execute(db);
  await sql`
    create function ops.boolean_problem(field text, v text) returns text language sql immutable as $$
      select case when nullif(btrim(v), '') is not null and ops.parse_boolean(v) is null then field || ' ' || ops.quoted(v) || ' is not true or false' end
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const fn of [
    'boolean_problem(text, text)', 'currency_problem(text, text, boolean)', 'count_problem(text, text, boolean)', 'amount_problem(text, text, boolean)',
    'epoch_problem(text, text, boolean, date, date, text)', 'date_or_timestamp_problem(text, text, boolean, date, date, text)',
    'timestamp_problem(text, text, boolean, date, date, text)', 'range_problem(text, text, date, date, date)', 'absent_problem(text, text, boolean)', 'is_currency(text)', 'parse_boolean(text)',
    'parse_integer(text)', 'parse_decimal(text)', 'parse_date(text)', 'parse_timestamptz(text)', 'quoted(text)',
  ]) {
    await sql.raw(`drop function if exists ops.${fn}`).execute(db);
  }
  await db.schema.alterTable('ops.runs').dropColumn('warnings').execute();
  await db.schema.dropTable('ops.quarantine_actions').ifExists().execute();
  await db.schema.dropTable('ops.set_aside').ifExists().execute();
}
