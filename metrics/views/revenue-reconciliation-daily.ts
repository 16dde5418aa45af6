import { sql } from 'kysely';
import { measureOf } from '../definition.ts';
import { paymentsWithoutOrder, stripeCaptured, stripeRefunded } from '../definitions/reconciliation.ts';
import { aggregateSql } from '../measure.ts';
import { defineView, onlyDates } from '../view.ts';

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
  build: (db, ctx) =>
    db
      // The measures of the reconciliation definitions, over the rows of their source (the Stripe charges).
      .with('charges_d', (q) =>
        q
          .selectFrom(sql<{ payment_date: string }>`(${measureOf(stripeCaptured).source.rows(q)})`.as('r'))
          .where(onlyDates(ctx, sql.ref('r.payment_date')))
          .groupBy('r.payment_date')
          .select([
            'r.payment_date as date',
            sql<string>`${aggregateSql(measureOf(stripeCaptured))}`.as('stripe_captured'),
            sql<string>`${aggregateSql(measureOf(stripeRefunded))}`.as('stripe_refunded'),
            sql<number>`${aggregateSql(measureOf(paymentsWithoutOrder))}`.as('payments_without_order'),
          ]),
      )
      .with('unpaid_d', (q) =>
        q
          .selectFrom('core.orders as o')
          .where('o.is_counted', '=', true)
          .where('o.paid_with_stripe', '=', true)
          .where(onlyDates(ctx, sql.ref('o.order_date')))
          .where(({ not, exists, selectFrom }) =>
            not(exists(selectFrom('core.payments as p').select(sql`1`.as('one')).whereRef('p.order_id', '=', 'o.order_id').where('p.status', '=', 'succeeded'))),
          )
          .groupBy('o.order_date')
          .select(['o.order_date as date', sql<number>`count(*)`.as('orders_without_payment')]),
      )
      .selectFrom('metrics.kpi_daily as k')
      .where(onlyDates(ctx, sql.ref('k.date')))
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
