import { sql } from 'kysely';
import { defineView } from '../view.ts';

/**
 * `metrics.revenue_reconciliation_daily`: for every day of kpi_daily, the shop's revenue next
 * to what Stripe captured and what GA4 saw, and the orders and payments that found no
 * counterpart (charges are matched to orders by the transforms: `metadata.order_id`, then the
 * payment intent).
 */
export const revenueReconciliationDaily = defineView({
  name: 'revenue_reconciliation_daily',
  grain: 'one row per local date of kpi_daily',
  dimensions: ['date'],
  leadingMetrics: ['shop_revenue', 'stripe_captured', 'stripe_refunded', 'ga4_purchase_revenue'],
  indexes: [{ columns: ['date'], unique: true }],
  build: (db) =>
    db
      .with('charges_d', (q) =>
        q
          .selectFrom('core.payments')
          .groupBy('payment_date')
          .select([
            'payment_date as date',
            sql<string>`coalesce(sum(amount_captured_rc) filter (where status = 'succeeded'), 0)`.as('stripe_captured'),
            sql<string>`sum(amount_refunded_rc)`.as('stripe_refunded'),
            sql<number>`count(*) filter (where status = 'succeeded' and order_id is null)`.as('payments_without_order'),
          ]),
      )
      .with('unpaid_d', (q) =>
        q
          .selectFrom('core.orders as o')
          .where('o.is_counted', '=', true)
          .where('o.paid_with_stripe', '=', true)
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('core.payments as p').select(sql`1`.as('one')).whereRef('p.order_id', '=', 'o.order_id').where('p.status', '=', 'succeeded'))),
          )
          .groupBy('o.order_date')
          .select(['o.order_date as date', sql<number>`count(*)`.as('orders_without_payment')]),
      )
      .selectFrom('metrics.kpi_daily as k')
      .leftJoin('charges_d as c', 'c.date', 'k.date')
      .leftJoin('unpaid_d as u', 'u.date', 'k.date')
      .select([
        'k.date',
        sql<string>`k.revenue`.as('shop_revenue'),
        sql<string>`coalesce(c.stripe_captured, 0)`.as('stripe_captured'),
        sql<string>`coalesce(c.stripe_refunded, 0)`.as('stripe_refunded'),
        'k.ga4_purchase_revenue',
        sql<number>`coalesce(u.orders_without_payment, 0)`.as('orders_without_payment'),
        sql<number>`coalesce(c.payments_without_order, 0)`.as('payments_without_order'),
      ]),
});
