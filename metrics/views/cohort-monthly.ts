import { sql } from 'kysely';
import { isCompleteExpression, lastCompleteDay } from '../data-status.ts';
import { measureOf } from '../definition.ts';
import { orders, revenue } from '../definitions/sales.ts';
import { aggregateSql } from '../measure.ts';
import { defineView } from '../view.ts';

/**
 * `metrics.cohort_monthly`: customers grouped by the month of their first counted order, then
 * followed month by month up to the month of the last counted order, months without orders
 * included as zeros, so a retention curve has no holes. `is_complete` says whether the month
 * measured is over (its last day is on or before the last complete day of data): the month in
 * progress has fewer orders than it will have, not a collapse of retention.
 */
export const cohortMonthly = defineView({
  name: 'cohort_monthly',
  grain: 'one row per cohort (first-order month) × month since the first order, up to the month of the last counted order',
  dimensions: ['date', 'cohort_month', 'months_since_first_order', 'is_complete'],
  leadingMetrics: ['cohort_customers', 'active_customers', 'orders', 'revenue'],
  indexes: [{ columns: ['cohort_month', 'months_since_first_order'], unique: true }, { columns: ['date'] }],
  build: (db, ctx) =>
    db
      .with('cohort_orders', (q) =>
        q
          .selectFrom('core.orders as o')
          .innerJoin('core.customers as c', 'c.customer_key', 'o.customer_key')
          .where('o.is_counted', '=', true)
          .select([
            'o.customer_key',
            'o.total_price_rc',
            sql<string>`date_trunc('month', c.first_order_date)::date`.as('cohort_month'),
            sql<string>`date_trunc('month', o.order_date)::date`.as('month'),
          ]),
      )
      .with('cohorts', (q) =>
        q.selectFrom('cohort_orders').groupBy('cohort_month').select(['cohort_month', sql<number>`count(distinct customer_key)`.as('cohort_customers')]),
      )
      .with('grid', (q) =>
        q
          .selectFrom(
            sql<{ cohort_month: string; cohort_customers: number; date: string }>`(
              select k.cohort_month, k.cohort_customers, m::date as date
                from cohorts k
               cross join (select max(month) as last_month from cohort_orders) l
               cross join generate_series(k.cohort_month::timestamp, l.last_month::timestamp, interval '1 month') as m)`.as('g'),
          )
          .selectAll('g'),
      )
      .with('activity', (q) =>
        q
          .selectFrom('cohort_orders')
          .groupBy(['cohort_month', 'month'])
          .select([
            'cohort_month',
            'month',
            sql<number>`count(distinct customer_key)`.as('active_customers'),
            // The measures of sales.ts, over the cohort's counted orders (which carry the same columns).
            sql<number>`${aggregateSql(measureOf(orders))}`.as('orders'),
            sql<string>`${aggregateSql(measureOf(revenue))}`.as('revenue'),
          ]),
      )
      .selectFrom('grid as g')
      .leftJoin('activity as a', (j) => j.onRef('a.cohort_month', '=', 'g.cohort_month').onRef('a.month', '=', 'g.date'))
      .select([
        'g.date',
        'g.cohort_month',
        sql<number>`((extract(year from g.date) - extract(year from g.cohort_month)) * 12 + extract(month from g.date) - extract(month from g.cohort_month))`.as(
          'months_since_first_order',
        ),
        isCompleteExpression(sql<string>`(g.date + interval '1 month')::date - 1`, lastCompleteDay(db, ctx.completeness)).as('is_complete'),
        'g.cohort_customers',
        sql<number>`coalesce(a.active_customers, 0)`.as('active_customers'),
        sql<number>`coalesce(a.orders, 0)`.as('orders'),
        sql<string>`coalesce(a.revenue, 0)`.as('revenue'),
        sql<string>`sum(coalesce(a.revenue, 0)) over (partition by g.cohort_month order by g.date)`.as('cumulative_revenue'),
      ]),
});
