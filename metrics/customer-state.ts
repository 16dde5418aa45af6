import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../warehouse/database.ts';
import { measureOf } from './definition.ts';
import { orders, revenue } from './definitions/sales.ts';
import { aggregateSql } from './measure.ts';
import type { ChangedInputs } from './refresh-plan.ts';
import type { MetricsContext } from './view.ts';

/**
 * The state `metrics.customer_kpis` and `metrics.cohort_monthly` are read from (migration 0021;
 * docs/scale.md, "The customer tables: a state kept by customer"). Both are sums over every
 * customer's whole history (a customer's first and second order, the gaps between their orders,
 * the end of the windows each order opens, the cohort of their first order), so a nightly run
 * that rebuilt them from core.orders read every order each night. Instead:
 *
 * - `ops.customer_metric_events` keeps, customer by customer, one row per counted order and per
 *   refund of a counted order with what it adds to those sums. A customer the transform
 *   replaced (`core.customers` in `ops.metric_inputs_changed`: every customer whose orders or
 *   refunds were rebuilt, before and after) has its rows taken out and built again from core;
 * - `ops.customer_kpi_days` (per date) and `ops.cohort_month_activity` (per cohort and month)
 *   hold the sums, and move by what those customers' new rows add less what their old rows
 *   added: the work is the replaced customers' orders, not the history. The ad spend of the
 *   dates `core.spend` changed is summed again.
 *
 * Sums are kept with `trim_scale`, so a sum reached by adding and taking out rows is written as
 * one summed from scratch (12.5, never 12.50 here and 12.5 there): the tables read from them
 * are the same text whichever way the state was brought up to date.
 *
 * Replacing a customer's rows is idempotent: bringing the state up to date from changes it has
 * already seen changes nothing, so a refresh of some views only (the CLV fit's) can apply the
 * queue without taking it, and the next whole refresh applies it again.
 */

/** The metric tables read from the state. */
export const CUSTOMER_STATE_VIEWS: readonly string[] = ['customer_kpis', 'cohort_monthly'];

/** The core models whose changes move the state. */
const INPUTS = ['core.orders', 'core.refunds', 'core.customers', 'core.spend'];

/** The per-date sums of `ops.customer_kpi_days`, in their column order. */
export const KPI_DAY_COLUMNS = ['first_orders', 'second_orders', 'orders', 'revenue', 'gaps', 'gap_days', 'refunds', 'spend', 'ordered_365', 'ordered_recently'] as const;

/** What bringing the state up to date did. */
export interface CustomerStateUpdate {
  how: 'full' | 'incremental' | 'unchanged';
  /** Why it was rebuilt from core (full only). */
  reason?: string;
  /** The customers whose rows were replaced (incremental only). */
  customers: number;
  ms: number;
}

/**
 * The rows of `ops.customer_metric_events` from core: every counted order (the gap since the
 * customer's previous counted order, the date of their next one closing the windows its date
 * opens: 365 days, and the churn window of `churnAfterDays` + 1 days) and every refund of a
 * counted order; only those of the customers in `customers` (a table of `customer_key`) when given.
 */
function eventRows(ctx: Pick<MetricsContext, 'churnAfterDays'>, customers?: string): RawBuilder<unknown> {
  const recent = sql.lit(ctx.churnAfterDays + 1);
  const of = (column: RawBuilder<unknown>) => (customers ? sql`and ${column} in (select customer_key from ${sql.table(customers)})` : sql``);
  const until = (days: RawBuilder<unknown>) => sql`least(o.order_date + ${days}, coalesce(o.next_date, o.order_date + ${days}))`;
  return sql`
    select o.customer_key, o.order_date as date, date_trunc('month', c.first_order_date)::date as cohort_month,
           1 as orders, (o.seq = 1)::int as first_orders, (o.seq = 2)::int as second_orders, o.total_price_rc,
           o.gap_days, 0::numeric as refunds_rc, ${until(sql.lit(365))} as end_365, ${until(recent)} as end_recent
      from (select customer_key, order_date, total_price_rc, customer_order_seq as seq,
                   -- The time since the customer's previous counted order (null for a first order), and the date of the next one.
                   extract(epoch from created_at - lag(created_at) over w) / 86400 as gap_days,
                   lead(order_date) over w as next_date
              from core.orders
             where is_counted ${of(sql`customer_key`)}
            window w as (partition by customer_key order by created_at, order_id)) o
      left join core.customers c on c.customer_key = o.customer_key
    union all
    select r.customer_key, r.refund_date, null, 0, 0, 0, 0, null, r.amount_rc, null, null
      from core.refunds r
     where r.order_is_counted and r.refund_date is not null ${of(sql`r.customer_key`)}`;
}

/**
 * What the rows of `events` (a table shaped as ops.customer_metric_events) add to each date's
 * sums, times `sign`: an order adds itself on its date and opens its windows there; each window
 * closes on its end date.
 */
function daySums(events: string, sign: 1 | -1): RawBuilder<unknown> {
  const s = sql.lit(sign);
  const zero = sql.lit(0);
  const e = sql.table(events);
  return sql`
    select date, ${s} * first_orders as first_orders, ${s} * second_orders as second_orders, ${s} * orders as orders,
           ${s} * total_price_rc as revenue, ${s} * (gap_days is not null)::int as gaps, ${s} * coalesce(gap_days, 0) as gap_days,
           ${s} * refunds_rc as refunds, ${zero} as spend, ${s} * orders as ordered_365, ${s} * orders as ordered_recently
      from ${e}
    union all
    select end_365, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${sql.lit(-sign)}, ${zero} from ${e} where end_365 is not null
    union all
    select end_recent, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${sql.lit(-sign)} from ${e} where end_recent is not null`;
}

/** Each cohort month × month's active customers, orders and revenue from the order rows of `events` (the measures of sales.ts), times `sign`. */
function cohortSums(events: string, sign: 1 | -1): RawBuilder<unknown> {
  const s = sql.lit(sign);
  return sql`
    select cohort_month, date_trunc('month', date)::date as month, ${s} * count(distinct customer_key) as active_customers,
           ${s} * ${aggregateSql(measureOf(orders))} as orders, ${s} * ${aggregateSql(measureOf(revenue))} as revenue
      from ${sql.table(events)}
     where orders = 1 and cohort_month is not null
     group by 1, 2`;
}

const columns = (names: readonly string[]) => sql.join(names.map((c) => sql.id(c)));

/** The signature of the state: the SQL it is built with and the churn window. Another one rebuilds it from core. */
export function customerStateSignature(db: Kysely<Database>, ctx: Pick<MetricsContext, 'churnAfterDays'>): string {
  const parts = [eventRows(ctx), daySums('e', 1), cohortSums('e', 1)].map((q) => q.compile(db).sql);
  return createHash('sha256').update(JSON.stringify([parts, ctx.churnAfterDays])).digest('hex');
}

/** Why the state must be rebuilt from core (undefined: it can be brought up to date from the changes). */
async function rebuildReason(db: Kysely<Database>, signature: string, inputs: ChangedInputs | null): Promise<string | undefined> {
  if (!inputs) return 'the metrics are refreshed in full';
  const recorded = await sql<{ signature: string }>`select signature from ops.metric_states where name = 'customer_metric_events'`.execute(db);
  if (!recorded.rows.length) return 'no state is recorded';
  if (recorded.rows[0]!.signature !== signature) return 'its definition changed';
  const everything = INPUTS.filter((m) => inputs.models.get(m)?.everything);
  if (everything.length) return `${everything.join(', ')} rebuilt in full`;
  return undefined;
}

/**
 * Brings the state up to date, in the refresh's transaction: from core in full when `inputs`
 * is null (a full refresh), the state was never built or was built with another definition, or
 * an input was rebuilt in full; else from the customers and spend dates `inputs` names.
 */
export async function updateCustomerState(db: Kysely<Database>, ctx: Pick<MetricsContext, 'churnAfterDays'>, inputs: ChangedInputs | null): Promise<CustomerStateUpdate> {
  const started = Date.now();
  const signature = customerStateSignature(db, ctx);
  const reason = await rebuildReason(db, signature, inputs);
  if (reason !== undefined) {
    await rebuildFromCore(db, ctx);
    await sql`insert into ops.metric_states (name, signature) values ('customer_metric_events', ${signature})
      on conflict (name) do update set signature = excluded.signature, built_at = now()`.execute(db);
    return { how: 'full', reason, customers: 0, ms: Date.now() - started };
  }
  // Every customer whose orders or refunds the transform rebuilt: core.customers is replaced for each of them, before and after.
  const customers = inputs!.models.get('core.customers')?.customerKeys ?? [];
  const spendDates = inputs!.models.get('core.spend')?.dates ?? [];
  if (!customers.length && !spendDates.length) return { how: 'unchanged', customers: 0, ms: Date.now() - started };
  if (customers.length) await replaceCustomers(db, ctx, customers);
  if (spendDates.length) await sumSpend(db, spendDates);
  await dropEmptyDays(db);
  return { how: 'incremental', customers: customers.length, ms: Date.now() - started };
}

async function rebuildFromCore(db: Kysely<Database>, ctx: Pick<MetricsContext, 'churnAfterDays'>): Promise<void> {
  // Only the refresh writes these tables, under its lock, and nobody reads them: emptied at once.
  await sql`truncate ops.customer_metric_events, ops.customer_kpi_days, ops.cohort_month_activity`.execute(db);
  // The customers' index (migration 0021) is built once over the million rows instead of
  // maintained row by row: 4.1 s + 0.7 s instead of 5.9 s at a million orders.
  await sql`drop index ops.customer_metric_events_customer_key`.execute(db);
  await sql`insert into ops.customer_metric_events (customer_key, date, cohort_month, orders, first_orders, second_orders, total_price_rc, gap_days, refunds_rc, end_365, end_recent)
    ${eventRows(ctx)}`.execute(db);
  await sql`create index customer_metric_events_customer_key on ops.customer_metric_events (customer_key)`.execute(db);
  await sql`analyze ops.customer_metric_events`.execute(db);
  const sums = sql.join(KPI_DAY_COLUMNS.map((c) => sql`trim_scale(sum(${sql.id(c)}))`));
  await sql`insert into ops.customer_kpi_days (date, ${columns(KPI_DAY_COLUMNS)})
    select date, ${sums} from (
      ${daySums('ops.customer_metric_events', 1)}
      union all
      select date, 0, 0, 0, 0, 0, 0, 0, spend_rc, 0, 0 from core.spend where date is not null) e
    group by date`.execute(db);
  await dropEmptyDays(db);
  await sql`insert into ops.cohort_month_activity (cohort_month, month, active_customers, orders, revenue)
    select cohort_month, month, active_customers, orders, trim_scale(revenue) from (${cohortSums('ops.customer_metric_events', 1)}) c`.execute(db);
}

/**
 * Replaces the rows of `customers` with what core holds for them now, and moves the sums by
 * what their new rows add less what their old rows added.
 */
async function replaceCustomers(db: Kysely<Database>, ctx: Pick<MetricsContext, 'churnAfterDays'>, customers: string[]): Promise<void> {
  const keys = 'pg_temp.customer_state_keys';
  const before = 'pg_temp.customer_state_before';
  const after = 'pg_temp.customer_state_after';
  for (const t of [keys, before, after]) await sql`drop table if exists ${sql.table(t)}`.execute(db);
  await sql`create temporary table customer_state_keys (customer_key text primary key) on commit drop`.execute(db);
  await sql`insert into ${sql.table(keys)} select unnest(${customers}::text[])`.execute(db);
  await sql`analyze ${sql.table(keys)}`.execute(db);
  await sql`create temporary table customer_state_before on commit drop as select * from ops.customer_metric_events where false`.execute(db);
  await sql`with gone as (delete from ops.customer_metric_events where customer_key in (select customer_key from ${sql.table(keys)}) returning *)
    insert into ${sql.table(before)} select * from gone`.execute(db);
  await sql`create temporary table customer_state_after on commit drop as select * from ops.customer_metric_events where false`.execute(db);
  await sql`insert into ${sql.table(after)} ${eventRows(ctx, keys)}`.execute(db);
  await sql`insert into ops.customer_metric_events select * from ${sql.table(after)}`.execute(db);

  const sums = sql.join(KPI_DAY_COLUMNS.map((c) => sql`trim_scale(sum(${sql.id(c)}))`));
  const moved = sql.join(KPI_DAY_COLUMNS.map((c) => sql`${sql.id(c)} = trim_scale(t.${sql.id(c)} + excluded.${sql.id(c)})`));
  await sql`insert into ops.customer_kpi_days as t (date, ${columns(KPI_DAY_COLUMNS)})
    select date, ${sums} from (${daySums(after, 1)} union all ${daySums(before, -1)}) e group by date
    on conflict (date) do update set ${moved}`.execute(db);
  await sql`insert into ops.cohort_month_activity as t (cohort_month, month, active_customers, orders, revenue)
    select cohort_month, month, sum(active_customers), sum(orders), trim_scale(sum(revenue))
      from (${cohortSums(after, 1)} union all ${cohortSums(before, -1)}) c group by 1, 2
    on conflict (cohort_month, month) do update set
      active_customers = t.active_customers + excluded.active_customers, orders = t.orders + excluded.orders, revenue = trim_scale(t.revenue + excluded.revenue)`.execute(db);
  // A cohort month × month with no order left has no row (as when summed from scratch).
  await sql`delete from ops.cohort_month_activity where orders = 0`.execute(db);
}

/** The ad spend of `dates`, summed again from core.spend. */
async function sumSpend(db: Kysely<Database>, dates: string[]): Promise<void> {
  const zeros = sql.join(KPI_DAY_COLUMNS.filter((c) => c !== 'spend').map(() => sql`0`));
  const others = columns(KPI_DAY_COLUMNS.filter((c) => c !== 'spend'));
  await sql`insert into ops.customer_kpi_days (date, ${others}, spend)
    select d.date, ${zeros}, coalesce(trim_scale((select sum(s.spend_rc) from core.spend s where s.date = d.date)), 0)
      from unnest(${dates}::date[]) as d(date)
    on conflict (date) do update set spend = excluded.spend`.execute(db);
}

/** A date whose sums are all zero has no row (as when summed from scratch, where no event falls on it). */
async function dropEmptyDays(db: Kysely<Database>): Promise<void> {
  await sql`delete from ops.customer_kpi_days where ${sql.join(
    KPI_DAY_COLUMNS.map((c) => sql`${sql.id(c)} = 0`),
    sql` and `,
  )}`.execute(db);
}
