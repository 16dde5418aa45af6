import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';

/** Small SQL fragments the models share: reading API JSON safely, local dates, conversion. */

/**
 * A Stripe time (`created`, `available_on`: Unix seconds) of `_record`, or null: read as
 * `ops.epoch_problem` reads it (blanks trimmed, at most 12 digits), so a value the check sets
 * aside never fails the build (20 digits would overflow a bigint).
 */
export function jsonEpoch(field: string): RawBuilder<Date | null> {
  const text = sql`btrim(_record->>${sql.lit(field)})`;
  return sql<Date | null>`case when ${text} ~ '^[0-9]{1,12}$' then to_timestamp((${text})::bigint) end`;
}

/**
 * `lower` and `upper` of the ASCII letters alone, the same on a database of any collation
 * (docs/architecture.md, "The database's collation"). Under a Turkish one, `lower('I')` is `ı`
 * and `upper('i')` is `İ`: `INSTAGRAM` would be no known source, Stripe's `inr` no currency and
 * Shopify's `ACTIVE` no status. The codes, statuses, hosts, UTM parameters and e-mail addresses
 * verite reads are lowered as the C collation lowers them, which leaves every other character as
 * it is. The result is back in the database's collation, so a column built of it sorts as the
 * database sorts and an index on one serves a comparison with it.
 */
export function asciiLower(text: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(lower((${text}) collate "C") collate "default")`;
}

/** {@link asciiLower}'s `upper`. */
export function asciiUpper(text: RawBuilder<unknown>): RawBuilder<string | null> {
  return sql<string | null>`(upper((${text}) collate "C") collate "default")`;
}

/** `_record->>'a'` or a nested path `_record #>> '{a,b}'`, as text. */
export function jsonText(column: string, ...path: string[]): RawBuilder<string | null> {
  const ref = sql.ref(column);
  return path.length === 1 ? sql<string | null>`(${ref} ->> ${sql.lit(path[0])})` : sql<string | null>`(${ref} #>> ${sql.lit(`{${path.join(',')}}`)})`;
}

export function jsonNumeric(column: string, ...path: string[]): RawBuilder<string | null> {
  return sql<string | null>`ops.try_numeric(${jsonText(column, ...path)})`;
}

export function jsonTimestamp(column: string, ...path: string[]): RawBuilder<Date | null> {
  return sql<Date | null>`ops.try_timestamptz(${jsonText(column, ...path)})`;
}

/** An id as text, empty as null. */
export function jsonId(column: string, ...path: string[]): RawBuilder<string | null> {
  return sql<string | null>`nullif(${jsonText(column, ...path)}, '')`;
}

/** The local calendar date of a timestamp in the reporting time zone. */
export function localDate(timestamp: RawBuilder<unknown> | string, timeZone: string): RawBuilder<string> {
  const ts = typeof timestamp === 'string' ? sql.ref(timestamp) : timestamp;
  return sql<string>`((${ts}) at time zone ${sql.lit(timeZone)})::date`;
}

/** A rate lookup: 1 unit of `currency` in the reporting currency on `date` (null when none). */
export function rateOn(currency: RawBuilder<unknown> | string, date: RawBuilder<unknown> | string, reportingCurrency: string): RawBuilder<string | null> {
  const c = typeof currency === 'string' ? sql.ref(currency) : currency;
  const d = typeof date === 'string' ? sql.ref(date) : date;
  return sql<string | null>`(case when ${asciiUpper(c)} = ${sql.lit(reportingCurrency)} then 1::numeric
    else (select fx.rate from core.fx_rates fx where fx.currency = ${asciiUpper(c)} and fx.date = ${d}) end)`;
}

/**
 * {@link rateOn} as a join: join `core.fx_rates as <alias>` (left) on `fxRateJoin`, then read the
 * rate with `joinedRate`. A join finds each row's rate once (by hash), where every mention of
 * `rateOn` is a subquery of its own, run for each row, that also keeps the statement in one
 * process. The same rate: `core.fx_rates` has one row per currency and date.
 */
export function fxRateJoin(alias: string, currency: RawBuilder<unknown>, date: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(`${alias}.currency`)} = ${asciiUpper(currency)} and ${sql.ref(`${alias}.date`)} = ${date}`;
}

/** The rate a {@link fxRateJoin} found: 1 for the reporting currency itself, null when there is none. */
export function joinedRate(alias: string, currency: RawBuilder<unknown>, reportingCurrency: string): RawBuilder<string | null> {
  return sql<string | null>`(case when ${asciiUpper(currency)} = ${sql.lit(reportingCurrency)} then 1::numeric else ${sql.ref(`${alias}.rate`)} end)`;
}

/**
 * Fields of `_record` read out of it once each, as text, to select from as `<alias>.<field>` (a
 * lateral `unnest` of one-element arrays is evaluated once a row, see {@link oncePerRow}): for
 * the expressions that name a text several times, such as {@link isoTimestamp}, which would
 * otherwise look the field up in the record at each mention.
 */
export function jsonTextsOnce<F extends string, A extends string>(alias: A, fields: readonly F[]): AliasedRawBuilder<Record<F, string | null>, A> {
  return sql<Record<F, string | null>>`(select * from unnest(${sql.join(fields.map((f) => sql`array[_record->>${sql.lit(f)}]`))}) as t(${sql.join(fields.map((f) => sql.id(f)))}))`.as(alias);
}

/**
 * An ISO 8601 date and time read strictly: what `ops.parse_timestamptz` gives, by
 * `ops.iso_timestamptz`, which the planner inlines (migration 0025). Give it a text read once
 * ({@link jsonTextsOnce}): it names its text several times.
 */
export function isoTimestamp(text: RawBuilder<unknown>): RawBuilder<Date | null> {
  return sql<Date | null>`ops.iso_timestamptz(${text})`;
}

/**
 * A date and time of a record whose set-aside check parses it strictly (`timestampProblem`, so
 * a record that keeps its row has an ISO 8601 value or a date alone): the value
 * ({@link isoTimestamp}), or a date alone as midnight UTC (what `jsonTimestamp` gives it).
 * Without `jsonTimestamp`'s exception handler, which costs a subtransaction a call and keeps the
 * query off parallel workers. Give it a text read once ({@link jsonTextsOnce}).
 */
export function checkedTimestamp(text: RawBuilder<unknown>): RawBuilder<Date | null> {
  return sql<Date | null>`coalesce(${isoTimestamp(text)}, (ops.parse_date(${text}) at time zone 'UTC'))`;
}

/**
 * A query parameter of a URL: what `ops.url_param(url, name)` gives, for every URL, most often
 * without its pattern. `ops.url_param` matches `[?&](?:amp;)?<name>=([^&#]*)`, ignoring the case
 * of ASCII letters (migration 0026), some 4 µs a call on a landing URL. Lowering the URL's ASCII
 * letters ({@link asciiLower}) moves no character, so the first `<name>=` of the lowered URL is
 * where the URL's first `<name>=` in any case is, found by `strpos`: when a `?` or `&`, or
 * `?amp;` or `&amp;`, comes right before it, no match of the pattern can start earlier (it would
 * hold an earlier `<name>=`), and the value runs from after its `=` to the first `&` or `#`,
 * decoded and trimmed as `ops.url_param` does. A first `<name>=` without its lead goes to
 * `ops.url_param`; a URL without `<name>=` in any case has none. `name` is lower case; `url` is
 * named a dozen times: give a text read once ({@link jsonTextsOnce}).
 */
export function urlParam(url: RawBuilder<unknown>, name: string): RawBuilder<string | null> {
  const at = sql`strpos(${asciiLower(url)}, ${sql.lit(`${name}=`)})`;
  return sql<string | null>`case
      when ${at} = 0 then null
      when substr(${url}, ${at} - 1, 1) in ('?', '&') or ${asciiLower(sql`substr(${url}, ${at} - 5, 5)`)} in ('?amp;', '&amp;')
        then nullif(btrim(ops.url_decode(split_part(split_part(substr(${url}, ${at} + ${sql.lit(name.length + 1)}), '&', 1), '#', 1))), '')
      else ops.url_param(${url}, ${sql.lit(name)})
    end`;
}

/** A decimal read strictly (`ops.parse_decimal`): null unless the text is one. */
export function jsonDecimal(column: string, ...path: string[]): RawBuilder<string | null> {
  return sql<string | null>`ops.parse_decimal(${jsonText(column, ...path)})`;
}

/** An ISO 8601 date and time read strictly (`ops.parse_timestamptz`; no offset is UTC). */
export function jsonStrictTimestamp(column: string, ...path: string[]): RawBuilder<Date | null> {
  return sql<Date | null>`ops.parse_timestamptz(${jsonText(column, ...path)})`;
}

/**
 * The sum of `field` read as a decimal (`ops.parse_decimal`; a value that is not one counts as
 * nothing) over the elements of a JSON array: 0 when there is no array, no element or no value.
 * Arrays of up to three elements (a line's discount allocations and tax lines, nearly always)
 * are summed by an expression, longer ones by `ops.sum_decimals`: a subquery per row would keep
 * the statement in one process.
 */
export function jsonSum(array: RawBuilder<unknown>, field: string): RawBuilder<string> {
  const at = (i: number) => sql`coalesce(ops.parse_decimal(${array} -> ${sql.lit(i)} ->> ${sql.lit(field)}), 0)`;
  return sql<string>`(case when jsonb_typeof(${array}) is distinct from 'array' then 0
      else case jsonb_array_length(${array})
        when 0 then 0
        when 1 then ${at(0)}
        when 2 then ${at(0)} + ${at(1)}
        when 3 then ${at(0)} + ${at(1)} + ${at(2)}
        else coalesce(ops.sum_decimals(${array}, ${sql.lit(field)}), 0) end end)`;
}

/**
 * The elements of a JSON array (none when it is not one), numbered from 1, as a table
 * `alias(value, ord)` to join laterally: `jsonElements(sql`o._record->'line_items'`, 'l', 'line')`.
 */
export function jsonElements<A extends string, V extends string>(array: RawBuilder<unknown>, alias: A, value: V): AliasedRawBuilder<Record<V, unknown> & { ord: number }, A> {
  return sql<Record<V, unknown> & { ord: number }>`jsonb_array_elements(case when jsonb_typeof(${array}) = 'array' then ${array} else '[]'::jsonb end) with ordinality`.as<A>(
    sql`${sql.id(alias)}(${sql.id(value)}, ord)`,
  );
}

/**
 * `value` of each row of `table`, computed once per row as `x.<name>`: a set-returning function
 * of one row (`unnest` of a one-element array) is evaluated once, where an expression named
 * several times would be evaluated (and a stored jsonb decompressed) at every mention. Unlike an
 * `offset 0` fence, it leaves the query free to run on parallel workers.
 */
function oncePerRow(table: string, value: RawBuilder<unknown>, name: string, columns: string[], where?: RawBuilder<boolean>): RawBuilder<unknown> {
  const kept = sql.join(columns.map((c) => sql.ref(`t.${c}`)));
  const only = where ? sql` where ${where}` : sql``;
  return sql`(select ${kept}, x.${sql.id(name)} from ${sql.table(table)} t cross join lateral unnest(array[${value}]) as x(${sql.id(name)})${only})`;
}

/**
 * A raw table's rows with each record read out of storage once ({@link oncePerRow}), to select
 * from as `_key` and `_record`: a stored jsonb is decompressed again for every field a query
 * reads from it, a dozen times a row for a staging model.
 */
export function rawRecordsOnce(table: string, columns: string[] = ['_key']): AliasedRawBuilder<{ _key: string; _record: unknown }, 'r'> {
  return (oncePerRow(table, sql.ref('t._record'), '_record', columns) as RawBuilder<{ _key: string; _record: unknown }>).as('r');
}

/**
 * One field of each record of a raw table, read out of storage once ({@link oncePerRow}), to
 * select from as `o(_key, part)`: a model that unnests an order's `line_items` or `refunds` names
 * the array several times a row, and each mention of the stored record would decompress it again.
 */
export function rawPartOnce(table: string, field: string, where?: RawBuilder<boolean>): AliasedRawBuilder<{ _key: string; part: unknown }, 'o'> {
  return (oncePerRow(table, sql`t._record -> ${sql.lit(field)}`, 'part', ['_key'], where) as RawBuilder<{ _key: string; part: unknown }>).as('o');
}
