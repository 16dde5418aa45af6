import { sql, type Expression, type QueryCreator, type RawBuilder } from 'kysely';
import type { Database } from '../../warehouse/database.ts';
import { defineView } from '../view.ts';

/** What one day adds to (or, for a customer's window ending, takes from) the running totals. */
const EVENT_COLUMNS = [
  'first_orders',
  'second_orders',
  'orders',
  'revenue',
  'gaps',
  'gap_days',
  'refunds',
  'spend',
  'ordered_365',
  'ordered_recently',
] as const;
type EventColumn = (typeof EVENT_COLUMNS)[number];

/** One SELECT of events: the given columns, every other one 0, in EVENT_COLUMNS order. */
function events(
  q: QueryCreator<Database & { counted: Counted; as_of: { date: string } }>,
  from: 'counted' | 'core.refunds' | 'core.spend' | 'as_of',
  date: RawBuilder<string>,
  values: Partial<Record<EventColumn, Expression<unknown>>>,
  where?: RawBuilder<boolean>,
) {
  const query = q.selectFrom(from).select([date.as('date'), ...EVENT_COLUMNS.map((c) => sql`${values[c] ?? sql.lit(0)}::numeric`.as(c))]);
  return where ? query.where(where) : query;
}

interface Counted {
  customer_key: string;
  order_date: string;
  total_price_rc: string;
  seq: number;
  gap_days: string | null;
  next_date: string | null;
}

/**
 * `metrics.customer_kpis`: customer-base measures as of the last day of every month from the
 * first counted order's month on that falls before the date of the last counted order, and as
 * of that date itself: never a date after the data (the end of the month in progress is not an
 * as-of date, or its row would count the days still to come as days without orders). Everything is counted from orders (and refunds) dated up to the as-of
 * date, so a past row does not change when later orders arrive.
 *
 * It scales with the orders, not with orders × as-of dates: every measure is a running total
 * over one series of dated events, read at each as-of date (and, for a 365-day window, at
 * as-of − 365 and subtracted). A distinct count over a window becomes a sum of intervals: each
 * counted order makes its customer "ordered in the last N days" from its date until N days
 * later or the customer's next order, whichever comes first, so at any date a customer is
 * covered by at most one interval, exactly when they ordered in the N days ending on it.
 * Customers who ordered in the 365 days: N = 365. Churned customers: the customers to date less
 * those who ordered in the last `churnAfterDays` + 1 days (as-of − churnAfterDays … as-of).
 */
export const customerKpis = defineView({
  name: 'customer_kpis',
  grain: 'one row per as-of date: every month end from the first counted order on that falls before the last counted order, and the last counted order date',
  dimensions: ['date'],
  indexes: [{ columns: ['date'], unique: true }],
  build: (db, ctx) => {
    const recent = ctx.churnAfterDays + 1;
    const one = sql.lit(1);
    const perCustomer = sql`(partition by customer_key order by created_at, order_id)`;
    const until = (days: number) => sql<string>`least(order_date + ${sql.lit(days)}, coalesce(next_date, order_date + ${sql.lit(days)}))`;
    return db
      .with('counted', (q) =>
        q
          .selectFrom('core.orders')
          .where('is_counted', '=', true)
          .select([
            'customer_key',
            'order_date',
            'total_price_rc',
            sql<number>`customer_order_seq`.as('seq'),
            // The time since the customer's previous counted order (null for a first order), and the date of the next one.
            sql<string | null>`extract(epoch from created_at - lag(created_at) over ${perCustomer}) / 86400`.as('gap_days'),
            sql<string | null>`lead(order_date) over ${perCustomer}`.as('next_date'),
          ]),
      )
      .with('as_of', () =>
        sql<{ date: string }>`(
          select (m + interval '1 month' - interval '1 day')::date as date
            from (select min(order_date) as first_date, max(order_date) as last_date from counted) b,
                 generate_series(date_trunc('month', b.first_date), date_trunc('month', b.last_date), interval '1 month') as m
           where (m + interval '1 month' - interval '1 day')::date < b.last_date
          union
          select max(order_date) from counted having count(*) > 0)`,
      )
      .with('events', (q) =>
        events(q, 'counted', sql`order_date`, {
          first_orders: sql`(seq = 1)::int`,
          second_orders: sql`(seq = 2)::int`,
          orders: one,
          revenue: sql`total_price_rc`,
          gaps: sql`(gap_days is not null)::int`,
          gap_days: sql`coalesce(gap_days, 0)`,
          ordered_365: one,
          ordered_recently: one,
        })
          .unionAll(events(q, 'counted', until(365), { ordered_365: sql.lit(-1) }))
          .unionAll(events(q, 'counted', until(recent), { ordered_recently: sql.lit(-1) }))
          .unionAll(events(q, 'core.refunds', sql`refund_date`, { refunds: sql`amount_rc` }, sql<boolean>`order_is_counted`))
          .unionAll(events(q, 'core.spend', sql`date`, { spend: sql`spend_rc` }))
          // Every as-of date and the day before its 365-day window have a running total to read.
          .unionAll(events(q, 'as_of', sql`date`, {}))
          .unionAll(events(q, 'as_of', sql`date - 365`, {})),
      )
      .with('running', (q) =>
        q
          .selectFrom('events')
          .groupBy('date')
          .select([
            'date',
            ...EVENT_COLUMNS.map((c) => sql<string>`sum(sum(${sql.ref(c)})) over (order by date)`.as(c)),
          ]),
      )
      // The last published fit's predicted CLV, on the last as-of date (the last counted order's) when the fit is as of it; else NULL.
      .with('predicted', (q) =>
        q.selectFrom('core.customer_predictions').groupBy('calibration_end').select(['calibration_end', sql<string>`sum(predicted_clv_12m)`.as('total')]),
      )
      .selectFrom('as_of as a')
      .innerJoin('running as t', 't.date', 'a.date')
      .innerJoin('running as p', (j) => j.on(sql<boolean>`p.date = a.date - 365`))
      .leftJoin('predicted as v', (j) => j.on(sql<boolean>`v.calibration_end = a.date and a.date = (select max(order_date) from counted)`))
      .select([
        'a.date',
        sql<number>`t.first_orders`.as('customers'),
        sql<number>`t.second_orders`.as('repeat_customers'),
        sql<number>`t.orders - p.orders`.as('orders_365d'),
        sql<number>`t.ordered_365`.as('customers_365d'),
        sql<number>`t.gaps`.as('order_gaps'),
        sql<string>`t.gap_days`.as('days_between_orders_total'),
        sql<string>`t.revenue - t.refunds`.as('net_revenue_to_date'),
        sql<number>`t.first_orders - t.ordered_recently`.as('churned_customers'),
        sql<string>`t.spend - p.spend`.as('ad_spend_365d'),
        sql<number>`t.first_orders - p.first_orders`.as('new_customers_365d'),
        sql<string | null>`v.total`.as('predicted_clv_12m_total'),
      ]);
  },
});
