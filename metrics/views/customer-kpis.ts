import { sql } from 'kysely';
import { defineView } from '../view.ts';

/**
 * `metrics.customer_kpis`: customer-base measures as of the last day of every month from the
 * first counted order's month to the last counted order's month, and as of the date of the
 * last counted order. Everything is counted from orders (and refunds) dated up to the as-of
 * date, so a past row does not change when later orders arrive.
 */
export const customerKpis = defineView({
  name: 'customer_kpis',
  grain: 'one row per as-of date: every month end from the first to the last counted order, and the last counted order date',
  dimensions: ['date'],
  indexes: [{ columns: ['date'], unique: true }],
  build: (db, ctx) =>
    db
      .with('counted', (q) =>
        q
          .selectFrom('core.orders')
          .where('is_counted', '=', true)
          .select([
            'customer_key',
            'order_id',
            'order_date',
            'total_price_rc',
            'is_first_order',
            // The time since the customer's previous counted order (null for a first order).
            sql<string | null>`extract(epoch from created_at - lag(created_at) over (partition by customer_key order by created_at, order_id)) / 86400`.as(
              'gap_days',
            ),
          ]),
      )
      .with('as_of', () =>
        sql<{ date: string }>`(
          select (m + interval '1 month' - interval '1 day')::date as date
            from (select min(order_date) as first_date, max(order_date) as last_date from counted) b,
                 generate_series(date_trunc('month', b.first_date), date_trunc('month', b.last_date), interval '1 month') as m
          union
          select max(order_date) from counted having count(*) > 0)`,
      )
      .with('per_customer', (q) =>
        q
          .selectFrom('as_of as a')
          .innerJoin('counted as c', (j) => j.on(sql<boolean>`c.order_date <= a.date`))
          .groupBy(['a.date', 'c.customer_key'])
          .select(['a.date', sql<number>`count(*)`.as('orders'), sql<string>`max(c.order_date)`.as('last_order_date')]),
      )
      .with('base', (q) =>
        q
          .selectFrom('per_customer')
          .groupBy('date')
          .select([
            'date',
            sql<number>`count(*)`.as('customers'),
            sql<number>`count(*) filter (where orders >= 2)`.as('repeat_customers'),
            sql<number>`count(*) filter (where date - last_order_date > ${sql.lit(ctx.churnAfterDays)})`.as('churned_customers'),
          ]),
      )
      .with('to_date', (q) =>
        q
          .selectFrom('as_of as a')
          .leftJoin('counted as c', (j) => j.on(sql<boolean>`c.order_date <= a.date`))
          .groupBy('a.date')
          .select([
            'a.date',
            sql<number>`count(c.gap_days)`.as('order_gaps'),
            sql<string>`coalesce(sum(c.gap_days), 0)`.as('days_between_orders_total'),
            sql<string>`coalesce(sum(c.total_price_rc), 0)`.as('revenue_to_date'),
          ]),
      )
      .with('last_365', (q) =>
        q
          .selectFrom('as_of as a')
          .leftJoin('counted as c', (j) => j.on(sql<boolean>`c.order_date between a.date - 364 and a.date`))
          .groupBy('a.date')
          .select([
            'a.date',
            sql<number>`count(c.order_id)`.as('orders_365d'),
            sql<number>`count(distinct c.customer_key)`.as('customers_365d'),
            sql<number>`count(c.order_id) filter (where c.is_first_order)`.as('new_customers_365d'),
          ]),
      )
      .with('refunds_to_date', (q) =>
        q
          .selectFrom('as_of as a')
          .leftJoin('core.refunds as r', (j) => j.on(sql<boolean>`r.order_is_counted and r.refund_date <= a.date`))
          .groupBy('a.date')
          .select(['a.date', sql<string>`coalesce(sum(r.amount_rc), 0)`.as('refunds')]),
      )
      .with('spend_365', (q) =>
        q
          .selectFrom('as_of as a')
          .leftJoin('core.spend as s', (j) => j.on(sql<boolean>`s.date between a.date - 364 and a.date`))
          .groupBy('a.date')
          .select(['a.date', sql<string>`coalesce(sum(s.spend_rc), 0)`.as('ad_spend_365d')]),
      )
      .selectFrom('as_of as a')
      .innerJoin('base as b', 'b.date', 'a.date')
      .innerJoin('to_date as t', 't.date', 'a.date')
      .innerJoin('last_365 as w', 'w.date', 'a.date')
      .innerJoin('refunds_to_date as r', 'r.date', 'a.date')
      .innerJoin('spend_365 as s', 's.date', 'a.date')
      .select([
        'a.date',
        'b.customers',
        'b.repeat_customers',
        'w.orders_365d',
        'w.customers_365d',
        't.order_gaps',
        't.days_between_orders_total',
        sql<string>`t.revenue_to_date - r.refunds`.as('net_revenue_to_date'),
        'b.churned_customers',
        's.ad_spend_365d',
        'w.new_customers_365d',
      ]),
});
