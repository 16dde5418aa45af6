import { sql, type Kysely } from 'kysely';

/**
 * What the metrics refresh keeps between runs to bring `metrics.customer_kpis` and
 * `metrics.cohort_monthly` up to date from the customers a transform replaced, instead of
 * reading every customer's whole history each night (docs/scale.md, "The customer tables: a
 * state kept by customer"; metrics/customer-state.ts writes them, in the refresh's transaction):
 *
 * - `ops.customer_metric_events`: one row per counted order and per refund of a counted order,
 *   with what it adds to the customer measures (first or second order, the gap since the
 *   customer's previous counted order, the end of its 365-day and churn windows, its cohort).
 *   Replaced customer by customer: it holds what each customer contributed, so the refresh can
 *   take out what a replaced customer contributed before.
 * - `ops.customer_kpi_days`: the sums of those events (and of the ad spend) per date, from which
 *   customer_kpis' running totals are read.
 * - `ops.cohort_month_activity`: per cohort month and month, the cohort's active customers,
 *   orders and revenue, from which cohort_monthly is read.
 * - `ops.metric_states`: the signature each of them was built with (the SQL and the churn
 *   window): another one means rebuilding them from core.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.customer_metric_events')
    .addColumn('customer_key', 'text', (c) => c.notNull())
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('cohort_month', 'date')
    .addColumn('orders', 'integer', (c) => c.notNull())
    .addColumn('first_orders', 'integer', (c) => c.notNull())
    .addColumn('second_orders', 'integer', (c) => c.notNull())
    .addColumn('total_price_rc', 'numeric', (c) => c.notNull())
    .addColumn('gap_days', 'numeric')
    .addColumn('refunds_rc', 'numeric', (c) => c.notNull())
    .addColumn('end_365', 'date')
    .addColumn('end_recent', 'date')
    .execute();
  await db.schema.createIndex('customer_metric_events_customer_key').on('ops.customer_metric_events').column('customer_key').execute();
  await db.schema
    .createTable('ops.customer_kpi_days')
    .addColumn('date', 'date', (c) => c.primaryKey())
    .addColumn('first_orders', 'numeric', (c) => c.notNull())
    .addColumn('second_orders', 'numeric', (c) => c.notNull())
    .addColumn('orders', 'numeric', (c) => c.notNull())
    .addColumn('revenue', 'numeric', (c) => c.notNull())
    .addColumn('gaps', 'numeric', (c) => c.notNull())
    .addColumn('gap_days', 'numeric', (c) => c.notNull())
    .addColumn('refunds', 'numeric', (c) => c.notNull())
    .addColumn('spend', 'numeric', (c) => c.notNull())
    .addColumn('ordered_365', 'numeric', (c) => c.notNull())
    .addColumn('ordered_recently', 'numeric', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('ops.cohort_month_activity')
    .addColumn('cohort_month', 'date', (c) => c.notNull())
    .addColumn('month', 'date', (c) => c.notNull())
    .addColumn('active_customers', 'bigint', (c) => c.notNull())
    .addColumn('orders', 'bigint', (c) => c.notNull())
    .addColumn('revenue', 'numeric', (c) => c.notNull())
    .addPrimaryKeyConstraint('cohort_month_activity_pkey', ['cohort_month', 'month'])
    .execute();
  await db.schema
    .createTable('ops.metric_states')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('built_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['ops.metric_states', 'ops.cohort_month_activity', 'ops.customer_kpi_days', 'ops.customer_metric_events']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
