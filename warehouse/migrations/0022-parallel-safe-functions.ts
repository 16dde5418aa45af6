import { sql, type Kysely } from 'kysely';

/**
 * The transform's functions declared PARALLEL SAFE, so that PostgreSQL may run a staging model
 * or a set-aside check over a million raw records on parallel workers (docs/scale.md). A function
 * is parallel unsafe unless it says otherwise, and a query that calls one runs in one process.
 *
 * Each function here only reads its arguments (and the session's settings, which the workers
 * share): no writes, no sequences, no temporary tables, and no exception block. An exception
 * block starts a subtransaction, which a parallel worker cannot, so `ops.try_numeric`,
 * `ops.try_timestamptz`, `ops.try_date` and `ops.url_decode` (with `ops.url_param`, which calls
 * it) stay as they are.
 */
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
];

export async function up(db: Kysely<unknown>): Promise<void> {
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
}
