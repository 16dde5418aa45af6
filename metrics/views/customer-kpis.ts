import { sql } from 'kysely';
import { KPI_DAY_COLUMNS } from '../customer-state.ts';
import { defineView, onlyDates } from '../view.ts';

/**
 * `metrics.customer_kpis`: customer-base measures as of the last day of every month from the
 * first counted order's month on that falls before the date of the last counted order, and as
 * of that date itself: never a date after the data (the end of the month in progress is not an
 * as-of date, or its row would count the days still to come as days without orders). Everything is counted from orders (and refunds) dated up to the as-of
 * date, so a past row does not change when later orders arrive.
 *
 * It scales with the dates, not with orders × as-of dates: every measure is a running total
 * over one series of dated events, read at each as-of date (and, for a 365-day window, at
 * as-of − 365 and subtracted). The events are summed per date in `ops.customer_kpi_days`
 * (metrics/customer-state.ts keeps it up to date customer by customer): what each counted order
 * adds on its date (a first or second order, an order, its revenue, the gap since the
 * customer's previous counted order), each refund of a counted order on its date, the ad spend.
 * A distinct count over a window becomes a sum of intervals: each counted order makes its
 * customer "ordered in the last N days" from its date until N days later or the customer's next
 * order, whichever comes first, so at any date a customer is covered by at most one interval,
 * exactly when they ordered in the N days ending on it. Customers who ordered in the 365 days:
 * N = 365. Churned customers: the customers to date less those who ordered in the last
 * `churnAfterDays` + 1 days (as-of − churnAfterDays … as-of).
 */
export const customerKpis = defineView({
  name: 'customer_kpis',
  grain: 'one row per as-of date: every month end from the first counted order on that falls before the last counted order, and the last counted order date',
  dimensions: ['date'],
  indexes: [{ columns: ['date'], unique: true }],
  build: (db, ctx) => {
    const zeros = sql.join(KPI_DAY_COLUMNS.map((c) => sql`0::numeric as ${sql.id(c)}`));
    return (
      db
        // The first and last dates with a counted order.
        .with('bounds', () =>
          sql<{ first_date: string | null; last_date: string | null }>`(
            select min(date) filter (where orders > 0) as first_date, max(date) filter (where orders > 0) as last_date from ops.customer_kpi_days)`,
        )
        .with('as_of', () =>
          sql<{ date: string }>`(
            select (m + interval '1 month' - interval '1 day')::date as date
              from bounds b,
                   generate_series(date_trunc('month', b.first_date), date_trunc('month', b.last_date), interval '1 month') as m
             where (m + interval '1 month' - interval '1 day')::date < b.last_date
            union
            select last_date from bounds where last_date is not null)`,
        )
        .with('running', () =>
          sql<Record<string, string>>`(
            select date, ${sql.join(KPI_DAY_COLUMNS.map((c) => sql`sum(sum(${sql.id(c)})) over (order by date) as ${sql.id(c)}`))}
              from (
                select date, ${sql.join(KPI_DAY_COLUMNS.map((c) => sql.id(c)))} from ops.customer_kpi_days
                -- Every as-of date and the day before its 365-day window have a running total to read.
                union all select date, ${zeros} from as_of
                union all select date - 365, ${zeros} from as_of) e
             group by date)`,
        )
        // The last published fit's predicted CLV, on the last as-of date (the last counted order's) when the fit is as of it; else NULL.
        .with('predicted', (q) =>
          q.selectFrom('core.customer_predictions').groupBy('calibration_end').select(['calibration_end', sql<string>`sum(predicted_clv_12m)`.as('total')]),
        )
        .selectFrom(sql<{ date: string }>`as_of`.as('a'))
        .innerJoin(sql<Record<string, string>>`running`.as('t'), (j) => j.on(sql<boolean>`t.date = a.date`))
        .innerJoin(sql<Record<string, string>>`running`.as('p'), (j) => j.on(sql<boolean>`p.date = a.date - 365`))
        .leftJoin('predicted as v', (j) => j.on(sql<boolean>`v.calibration_end = a.date and a.date = (select last_date from bounds)`))
        .where(onlyDates(ctx, sql`a.date`))
        .select([
          sql<string>`a.date`.as('date'),
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
        ])
    );
  },
});
