import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';
import { addDays, localDate } from '../lib/dates.ts';
import { ISO_4217_CURRENCIES } from '../warehouse/migrations/0009-set-aside.ts';
import { FOLDED_COLUMN, type SetAsideCheck, type TransformContext } from './model.ts';
import { asciiUpper, rawRecordsOnce } from './sql.ts';

/**
 * Strict reading of API text for the staging models (issue 17). Each helper gives the reason a
 * field's text cannot be used, or null when it can; a record with any reason is set aside with
 * them all, never coerced (`NaN`, `abc`, `yesterday`, `infinity` are no values). The SQL
 * functions are those of migration 0009.
 */

/**
 * The earliest date a record may carry. Placeholders (0001-01-01, 1900-01-01, 1970-01-01, the
 * Unix epoch) fall before it, and no order, payment or report of the sources verite reads is
 * that old.
 */
export const EARLIEST_DATE = '1995-01-01';

/** How far ahead a promised delivery may be dated. */
const PROMISE_DAYS = 366;

/** The range of dates a record may carry in this build: 1995-01-01 to today in the reporting zone. */
export interface DateRange {
  earliest: string;
  /** The run's local date (its clock in `reportingTimezone`). */
  today: string;
  timeZone: string;
}

export function dateRange(ctx: Pick<TransformContext, 'now' | 'reportingTimezone'>): DateRange {
  return { earliest: EARLIEST_DATE, today: localDate(ctx.now, ctx.reportingTimezone), timeZone: ctx.reportingTimezone };
}

type Text = RawBuilder<unknown>;
type Field = string | RawBuilder<unknown>;

const field = (f: Field) => (typeof f === 'string' ? sql.lit(f) : f);

export interface FieldRule {
  /** Absent (missing, null or blank) is a problem. */
  required?: boolean;
}

/** Why a record's fields cannot be used: each rule's reason, joined; null when none. */
export function problems(...reasons: RawBuilder<unknown>[]): RawBuilder<string | null> {
  return sql<string | null>`nullif(concat_ws('; ', ${sql.join(reasons)}), '')`;
}

/** An ISO 8601 date and time (a time without an offset is UTC) dated within the range. */
export function timestampProblem(name: Field, text: Text, range: DateRange, rule: FieldRule & { dateOnly?: boolean; promise?: boolean } = {}): RawBuilder<string | null> {
  const latest = rule.promise ? addDays(range.today, PROMISE_DAYS) : range.today;
  const fn = rule.dateOnly ? sql.raw('ops.date_or_timestamp_problem') : sql.raw('ops.timestamp_problem');
  return sql<string | null>`${fn}(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)}, ${sql.lit(range.earliest)}::date, ${sql.lit(latest)}::date, ${sql.lit(range.timeZone)})`;
}

/**
 * A date field that plainly passes {@link timestampProblem}, read from what the model already
 * parsed instead of from its text again: `absent` (the text is null), `at` (the date and time:
 * `ops.parse_timestamptz`, or with `dateOnly` `checkedTimestamp`, a date alone at midnight
 * UTC) and, for a `dateOnly` field, `on` (the date alone, when the text is one). A date alone is
 * compared as it is; a date and time by its date in the reporting time zone, as the problem
 * does. Exact, not only plain: true exactly when the text is absent or the problem is null, but
 * for a blank text (false).
 */
export function plainParsedDate(
  parsed: { absent: RawBuilder<unknown>; at: RawBuilder<unknown>; on?: RawBuilder<unknown> },
  range: DateRange,
  rule: { promise?: boolean } = {},
): RawBuilder<boolean> {
  const latest = rule.promise ? addDays(range.today, PROMISE_DAYS) : range.today;
  const within = (date: RawBuilder<unknown>) => sql`${date} between ${sql.lit(range.earliest)}::date and ${sql.lit(latest)}::date`;
  const local = within(sql`(${parsed.at} at time zone ${sql.lit(range.timeZone)})::date`);
  if (!parsed.on) return sql<boolean>`(${parsed.absent} or (${parsed.at} is not null and ${local}))`;
  return sql<boolean>`(${parsed.absent}
    or (${parsed.on} is not null and ${within(parsed.on)})
    or (${parsed.on} is null and ${parsed.at} is not null and ${local}))`;
}

/**
 * A Unix time in seconds that plainly passes {@link epochProblem} (required or not): at most 12
 * digits, from the day after the earliest to the end of the day before `today`, in UTC, so that
 * its date in any time zone lies in the range. Records of the range's first and last days are
 * left to the check. True only when the problem is null; false tells nothing.
 */
export function plainEpoch(text: Text, range: DateRange): RawBuilder<boolean> {
  const lo = Date.parse(`${range.earliest}T00:00:00Z`) / 1000 + 86_400;
  const hi = Date.parse(`${range.today}T00:00:00Z`) / 1000 - 1;
  // A CASE, not AND: the cast runs only on digits.
  return sql<boolean>`case when ${text} ~ '^[0-9]{1,12}$' then (${text})::bigint between ${sql.lit(lo)} and ${sql.lit(hi)} else false end`;
}

/**
 * A whole number that plainly passes {@link countProblem} (`signed`: {@link integerProblem}):
 * digits alone (a minus sign first when signed), or absent when not required.
 */
export function plainInteger(text: Text, rule: FieldRule & { signed?: boolean } = {}): RawBuilder<boolean> {
  const pattern = rule.signed ? '^-?[0-9]+$' : '^[0-9]+$';
  const digits = sql<boolean>`coalesce(${text} ~ ${sql.lit(pattern)}, false)`;
  return rule.required ? digits : sql<boolean>`(${text} is null or ${digits})`;
}

// String.raw: in a plain template literal `\.` is `.`, which matches any character ("54,90").
const PLAIN_DECIMAL = String.raw`^[0-9]+(\.[0-9]+)?$`;

/** A decimal amount that plainly passes {@link amountProblem}: digits, a point and digits, or absent when not required. */
export function plainAmount(text: Text, rule: FieldRule = {}): RawBuilder<boolean> {
  const decimal = sql<boolean>`coalesce(${text} ~ ${sql.lit(PLAIN_DECIMAL)}, false)`;
  return rule.required ? decimal : sql<boolean>`(${text} is null or ${decimal})`;
}

/** A currency that plainly passes {@link currencyProblem}: an ISO 4217 code with no blanks, in any case. */
export function plainCurrency(text: Text, rule: FieldRule = {}): RawBuilder<boolean> {
  const code = sql<boolean>`ops.is_currency(${asciiUpper(text)})`;
  return rule.required ? code : sql<boolean>`(${text} is null or ${code})`;
}

/** A month and day that every year has but for 29 February: 01–28, 29 and 30 but in February, 31 in the long months. */
const PLAIN_MONTH_DAY = String.raw`(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)`;

/** A date and time in one pattern, without the anchors: what {@link plainJsonTimestamps} matches in a JSON array's text. */
const PLAIN_DATE_TIME_BODY = String.raw`[0-9]{4}-` + PLAIN_MONTH_DAY + String.raw`[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:0[0-9]|1[0-5]):?[0-5][0-9])`;

/** A plain amount as PostgreSQL writes it in a JSON array's text: a string of digits (with decimals), or a number. */
const PLAIN_JSON_AMOUNT = String.raw`"[0-9]+(?:\.[0-9]+)?"|[0-9]+(?:\.[0-9]+)?`;

/** The text of a JSON array whose elements are each one of `value` (a pattern), without the anchors. */
const jsonArrayPattern = (value: string) => `\\[(?:(?:${value})(?:, )?)*\\]`;

/**
 * Every value a JSON path finds in `record` plainly passes {@link amountProblem} or
 * {@link countProblem} (not required): a JSON number or a string of digits (with decimals for
 * an amount), or null, never negative. One match over the array of the values as PostgreSQL
 * writes it (numbers as they are, strings quoted), instead of a subquery over each element. True
 * only when each element the check reads would pass; false tells nothing. Several paths are
 * matched at once, their arrays' texts one after the other, as {@link plainJsonAmounts} does.
 */
export function plainJsonValues(record: Text, path: string | readonly string[], kind: 'amount' | 'count', rule: { nullable?: boolean } = {}): RawBuilder<boolean> {
  const number = kind === 'amount' ? PLAIN_JSON_AMOUNT : String.raw`"[0-9]+"|[0-9]+`;
  const value = rule.nullable === false ? number : `${number}|null`;
  if (typeof path === 'string') return plainJsonArray(record, path, value);
  const texts = path.map((p) => sql`jsonb_path_query_array(${record}, ${sql.lit(p)})::text`);
  return sql<boolean>`((${sql.join(texts, sql` || `)}) ~ ${sql.lit(`^(?:${jsonArrayPattern(value)})+$`)})`;
}

/**
 * {@link plainJsonValues} of amounts (nullable) at each of `paths`, and {@link plainAmount} (not
 * required) of each field at `fields` (a path of keys), in one pattern match instead of one each:
 * PostgreSQL builds a pattern's automaton again at each call, and here the states of one array
 * serve the next. The arrays' texts, the fields' values as one array first, are written one
 * after the other and matched against the array pattern repeated. The same answer: no element
 * the pattern takes holds a bracket, so the texts split into their arrays one way only, each
 * matched by the array pattern; and a field reads as plainAmount reads its text (a JSON string
 * of digits quoted, a number as written, absent or null as `null`, anything else as something
 * the pattern refuses).
 */
export function plainJsonAmounts(record: Text, paths: readonly string[], fields: readonly (readonly string[])[]): RawBuilder<boolean> {
  const texts = [
    sql`jsonb_build_array(${sql.join(fields.map((path) => sql`${record} #> ${sql.lit(`{${path.join(',')}}`)}`))})::text`,
    ...paths.map((path) => sql`jsonb_path_query_array(${record}, ${sql.lit(path)})::text`),
  ];
  return sql<boolean>`((${sql.join(texts, sql` || `)}) ~ ${sql.lit(`^(?:${jsonArrayPattern(`${PLAIN_JSON_AMOUNT}|null`)})+$`)})`;
}

/** The values a JSON path finds, as PostgreSQL writes their array, are each one of `value` (a pattern). */
function plainJsonArray(record: Text, path: string, value: string): RawBuilder<boolean> {
  return sql<boolean>`(jsonb_path_query_array(${record}, ${sql.lit(path)})::text ~ ${sql.lit(`^${jsonArrayPattern(value)}$`)})`;
}

/**
 * Every value a JSON path finds is an ISO 4217 code in capitals, or null: it plainly passes
 * {@link currencyProblem} (not required).
 */
export function plainJsonCurrencies(record: Text, path: string): RawBuilder<boolean> {
  return plainJsonArray(record, path, `"(?:${ISO_4217_CURRENCIES.join('|')})"|null`);
}

/**
 * Every value a JSON path finds is a plain date and time (ISO 8601 with seconds and an offset, a
 * day that every such month has, never null) dated at least two days inside the range: its local
 * date in any time zone is then in the range too (an offset moves a date by at most a day, and
 * the reporting zone's by at most another), so it plainly passes {@link timestampProblem}. The
 * dates are compared as text, which for this one shape is their order. Two days at each end go
 * the slow way.
 */
export function plainJsonTimestamps(record: Text, path: string, range: DateRange): RawBuilder<boolean> {
  const bounds = JSON.stringify({ lo: addDays(range.earliest, 2), hi: addDays(range.today, -1) });
  return sql<boolean>`(${plainJsonArray(record, path, `"${PLAIN_DATE_TIME_BODY}"`)}
    and not jsonb_path_exists(${record}, ${sql.lit(`${path} ? (@ < $lo || @ > $hi)`)}, ${sql.lit(bounds)}::jsonb))`;
}

/** Unix seconds (Stripe's `created`) dated within the range. */
export function epochProblem(name: Field, text: Text, range: DateRange, rule: FieldRule = {}): RawBuilder<string | null> {
  return sql<string | null>`ops.epoch_problem(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)}, ${sql.lit(range.earliest)}::date, ${sql.lit(range.today)}::date, ${sql.lit(range.timeZone)})`;
}

/** A decimal amount, not negative. */
export function amountProblem(name: Field, text: Text, rule: FieldRule = {}): RawBuilder<string | null> {
  return sql<string | null>`ops.amount_problem(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)})`;
}

/** A whole number, not negative (a count, or an amount in minor units). */
export function countProblem(name: Field, text: Text, rule: FieldRule = {}): RawBuilder<string | null> {
  return sql<string | null>`ops.count_problem(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)})`;
}

/** An ISO 4217 currency code, in any case. */
export function currencyProblem(name: Field, text: Text, rule: FieldRule = {}): RawBuilder<string | null> {
  return sql<string | null>`ops.currency_problem(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)})`;
}

/** true or false, when present. */
export function booleanProblem(name: Field, text: Text): RawBuilder<string | null> {
  return sql<string | null>`ops.boolean_problem(${field(name)}, ${text})`;
}

/**
 * The set-aside check of a staging model that reads `raw.<source>__<stream>` row by row: every
 * raw record whose `problem` is not null is set aside with it. The model's table holds the raw
 * key in `keyColumn`.
 *
 * With `foldedInto` (the model's name), the check is folded into the model's own scan of the raw
 * table: the model selects `check.folded(ctx)` as {@link FOLDED_COLUMN}, and the check reads the
 * built rows instead of every record again. That column is the problem itself, or, with `plain`,
 * null for a plain record and a marker for the others, whose problem is then worked out from
 * their raw records alone. A folded `plain` is evaluated where the model selects it, so it may
 * read the model's own parsed columns (`staging.shipments` does). The runner drops the column
 * before the table is published. Only for a model with one row for every record of the raw
 * table: a record the model leaves out is not checked.
 */
export function rawRecordsCheck(
  source: string,
  stream: string,
  keyColumn: string,
  problem: (ctx: TransformContext) => RawBuilder<string | null>,
  options: {
    /**
     * A cheap test that a record plainly has no problem: when it holds, `problem` must be null.
     * The check then works out `problem` only for the records it does not clear. It should be
     * one expression of built-in operators and parallel-safe functions, with no subquery: it is
     * what runs on every record, and then on parallel workers.
     */
    plain?: (ctx: TransformContext) => RawBuilder<boolean>;
    /** The model whose build selects {@link SetAsideCheck.folded} as {@link FOLDED_COLUMN}. */
    foldedInto?: string;
  } = {},
): SetAsideCheck {
  const table = `raw.${source}__${stream}`;
  const { plain, foldedInto } = options;
  const check: SetAsideCheck = {
    name: 'fields parse',
    severity: 'set-aside',
    source,
    stream,
    keyColumn,
    // The record is read out of storage once per row (rawRecordsOnce): the problem expression
    // names it dozens of times, and each mention of a stored jsonb would decompress it again.
    failing: (_db, ctx) => {
      if (foldedInto) {
        const built = sql`${sql.table(foldedInto)} m`;
        const flagged = sql`m.${sql.id(FOLDED_COLUMN)} is not null`;
        if (!plain) return sql`select m.${sql.ref(keyColumn)}::text as key, m.${sql.id(FOLDED_COLUMN)} as reason from ${built} where ${flagged}`;
        // Only the records the build did not find plain are read again, by key.
        return sql`select f.key, f.reason from (
              select r._key as key, p.reason
                from (select t._key, t._report_date, x._record
                        from ${built} join ${sql.table(table)} t on t._key = m.${sql.ref(keyColumn)}::text
                        cross join lateral unnest(array[t._record]) as x(_record)
                       where ${flagged} offset 0) r
                cross join lateral (select ${problem(ctx)} as reason) p
              offset 0) f
             where f.reason is not null`;
      }
      if (!plain) {
        return sql`select r._key as key, p.reason
              from ${rawRecordsOnce(table, ['_key', '_report_date'])}
              cross join lateral (select ${problem(ctx)} as reason) p
             where p.reason is not null`;
      }
      // The records not plainly fine are picked on parallel workers. Each \`offset 0\` keeps
      // PostgreSQL from planning that scan with the problem's subqueries, which run in one
      // process: the first keeps them out of the scan, the second keeps the filter on the
      // problem (a qual holding subqueries) out of the query holding the scan.
      return sql`select f.key, f.reason from (
              select r._key as key, p.reason
                from (select r._key, r._report_date, r._record from ${rawRecordsOnce(table, ['_key', '_report_date'])} where not coalesce(${plain(ctx)}, false) offset 0) r
                cross join lateral (select ${problem(ctx)} as reason) p
              offset 0) f
             where f.reason is not null`;
    },
  };
  if (foldedInto) {
    // Worked out on the model's own row, from its `_record`.
    check.folded = (ctx) => (plain ? sql<string | null>`case when coalesce(${plain(ctx)}, false) then null else 'not plain' end` : problem(ctx));
  }
  return check;
}

/** What the model of a folded check selects: the check's expression as {@link FOLDED_COLUMN}. */
export function foldedProblem(check: SetAsideCheck, ctx: TransformContext): AliasedRawBuilder<string | null, typeof FOLDED_COLUMN> {
  if (!check.folded) throw new Error(`the check "${check.name}" of ${check.source} ${check.stream} is not folded into a model`);
  return check.folded(ctx).as(FOLDED_COLUMN);
}

/**
 * A raw record set aside by an earlier model of the build (or the last build of it): the
 * models reading the same raw table, or records that name it, leave it out too.
 */
export function isSetAside(source: string, stream: string, key: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from ops.set_aside sa where sa.source = ${sql.lit(source)} and sa.stream = ${sql.lit(stream)} and sa.key = ${key})`;
}

/**
 * The Shopify orders set aside so far in this build, as `gone(ref, order_id, reason)`: one row
 * for each text a charge or a shipment may name the order by (its id, its name, its name
 * without `#`), so that one naming it is matched by an equi-join and leaves the metrics with its
 * order instead of counting as a payment or parcel without one. An OR of the three conditions
 * can only be a nested loop: 5,000 orders set aside against 24,000 unmatched charges were 120
 * million comparisons and 9 s at a million orders, and it grows with both (a full rebuild with a
 * few days of orders dated after the run day ran for minutes).
 */
const SET_ASIDE_ORDERS = sql`(
  select distinct n.ref, g.order_id, g.reason
    from (select sa.key as order_id, r._record->>'name' as order_name, min(sa.reason collate "C") collate "default" as reason
            from ops.set_aside sa left join raw.shopify__orders r on r._key = sa.key
           where sa.source = 'shopify' and sa.stream = 'orders'
           group by sa.key, r._record->>'name') g
    cross join lateral unnest(array[g.order_id, g.order_name, case when left(g.order_name, 1) = '#' then substr(g.order_name, 2) end]) as n(ref)
   where n.ref is not null) gone`;

/** `gone` names the order that `ref` names: its id, or its name with or without `#`. */
const namesGoneOrder = (ref: RawBuilder<unknown>) => sql`${ref} = gone.ref`;

/**
 * The charges of `core.payments` matched to no order because their order is set aside: by
 * `metadata.order_id`, or by sharing a payment intent with such a charge.
 */
export function chargesOfSetAsideOrders(): SetAsideCheck {
  return {
    name: 'order not set aside',
    severity: 'set-aside',
    source: 'stripe',
    stream: 'charges',
    keyColumn: 'charge_id',
    failing: () =>
      sql`with named as (
            select p.charge_id, p.payment_intent, gone.order_id, gone.reason
              from core.payments p join ${SET_ASIDE_ORDERS} on ${namesGoneOrder(sql`p.metadata_order_id`)}
             where p.order_id is null)
          select charge_id as key, 'its order ' || order_id || ' is set aside: ' || reason as reason from named
          union all
          select p.charge_id, 'its payment intent paid order ' || n.order_id || ', which is set aside: ' || n.reason
            from core.payments p join named n on n.payment_intent = p.payment_intent and n.charge_id <> p.charge_id
           where p.order_id is null`,
  };
}

/** The shipments of `core.shipments` matched to no order because their order is set aside. */
export function shipmentsOfSetAsideOrders(): SetAsideCheck {
  return {
    name: 'order not set aside',
    severity: 'set-aside',
    source: 'shipments',
    stream: 'shipments',
    keyColumn: 'shipment_key',
    failing: () =>
      sql`select s.shipment_key as key, 'its order ' || gone.order_id || ' is set aside: ' || gone.reason as reason
            from core.shipments s join ${SET_ASIDE_ORDERS} on ${namesGoneOrder(sql`s.order_ref`)}
           where s.order_id is null`,
  };
}

/** A decimal that may be negative (GA4's purchase revenue is net of refunds). */
export function decimalProblem(name: Field, text: Text): RawBuilder<string | null> {
  return sql<string | null>`case when nullif(btrim(${text}), '') is not null and ops.parse_decimal(${text}) is null
    then ${field(name)} || ' ' || ops.quoted(${text}) || ' is not a decimal number' end`;
}

/**
 * A report row's date (`_report_date`, already a date) within the range; a day ahead of the
 * reporting zone is allowed, since an ad account or property east of it is a day ahead.
 */
export function reportDateProblem(range: DateRange): RawBuilder<string | null> {
  return sql<string | null>`case
    when _report_date < ${sql.lit(range.earliest)}::date then 'date ' || to_char(_report_date, 'YYYY-MM-DD') || ' is dated before ' || ${sql.lit(range.earliest)}
    when _report_date > ${sql.lit(addDays(range.today, 1))}::date then 'date ' || to_char(_report_date, 'YYYY-MM-DD') || ' is dated after ' || ${sql.lit(addDays(range.today, 1))} || ', in the future' end`;
}

/**
 * A whole number that may be negative: a stock level (Shopify's `available` goes below zero when
 * oversold) or a signed Stripe amount in minor units (a refund, a payout, a fee billed apart).
 */
export function integerProblem(name: Field, text: Text, rule: FieldRule = {}): RawBuilder<string | null> {
  return sql<string | null>`case
    when nullif(btrim(${text}), '') is null then ops.absent_problem(${field(name)}, ${text}, ${sql.lit(rule.required ?? false)})
    when ops.parse_integer(${text}) is null then ${field(name)} || ' ' || ops.quoted(${text}) || ' is not a whole number' end`;
}
