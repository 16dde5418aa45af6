import { sql } from 'kysely';
import { isCompleteExpression, lastCompleteDay } from '../data-status.ts';
import { defineView, onlyDates } from '../view.ts';

/**
 * `metrics.cohort_monthly`: customers grouped by the month of their first counted order, then
 * followed month by month up to the month of the last counted order, months without orders
 * included as zeros, so a retention curve has no holes. `is_complete` says whether the month
 * measured is over (its last day is on or before the last complete day of data): the month in
 * progress has fewer orders than it will have, not a collapse of retention.
 *
 * Read from `ops.cohort_month_activity` (metrics/customer-state.ts keeps it up to date customer
 * by customer): per cohort month and month, the cohort's customers with a counted order, their
 * orders and revenue (the measures of sales.ts). A cohort's customers are its active customers
 * in its own month: every one of them ordered then, by definition.
 */
export const cohortMonthly = defineView({
  name: 'cohort_monthly',
  grain: 'one row per cohort (first-order month) × month since the first order, up to the month of the last counted order',
  dimensions: ['date', 'cohort_month', 'months_since_first_order', 'is_complete'],
  leadingMetrics: ['cohort_customers', 'active_customers', 'orders', 'revenue'],
  indexes: [{ columns: ['cohort_month', 'months_since_first_order'], unique: true }, { columns: ['date'] }],
  build: (db, ctx) => {
    const rows = db
      .with('grid', () =>
        sql<{ cohort_month: string; cohort_customers: number; date: string }>`(
          select k.cohort_month, k.active_customers as cohort_customers, m::date as date
            from ops.cohort_month_activity k
           cross join (select max(month) as last_month from ops.cohort_month_activity) l
           cross join generate_series(k.cohort_month::timestamp, l.last_month::timestamp, interval '1 month') as m
           where k.month = k.cohort_month)`,
      )
      .selectFrom(sql<{ cohort_month: string; cohort_customers: number; date: string }>`grid`.as('g'))
      .leftJoin(sql<{ cohort_month: string; month: string; active_customers: number; orders: number; revenue: string }>`ops.cohort_month_activity`.as('a'), (j) =>
        j.on(sql<boolean>`a.cohort_month = g.cohort_month and a.month = g.date`),
      )
      .select([
        sql<string>`g.date`.as('date'),
        sql<string>`g.cohort_month`.as('cohort_month'),
        sql<number>`((extract(year from g.date) - extract(year from g.cohort_month)) * 12 + extract(month from g.date) - extract(month from g.cohort_month))`.as(
          'months_since_first_order',
        ),
        isCompleteExpression(sql<string>`(g.date + interval '1 month')::date - 1`, lastCompleteDay(db, ctx.completeness)).as('is_complete'),
        sql<number>`g.cohort_customers`.as('cohort_customers'),
        sql<number>`coalesce(a.active_customers, 0)`.as('active_customers'),
        sql<number>`coalesce(a.orders, 0)`.as('orders'),
        sql<string>`coalesce(a.revenue, 0)`.as('revenue'),
        sql<string>`sum(coalesce(a.revenue, 0)) over (partition by g.cohort_month order by g.date)`.as('cumulative_revenue'),
      ]);
    // The running sum is read over every month of a cohort, then the rows of the dates asked for kept.
    return db.selectFrom(rows.as('r')).selectAll('r').where(onlyDates(ctx, sql`r.date`));
  },
});
