import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * One row per customer key with at least one counted order: first and last order, counted
 * orders, lifetime revenue and refunds (reporting currency), and the channel of the first order.
 */
export const coreCustomers = defineModel({
  name: 'core.customers',
  dependsOn: ['core.orders', 'core.refunds'],
  description: 'Customers (by customer key) with their first and last counted orders, lifetime value and acquisition channel.',
  uniqueKey: ['customer_key'],
  indexes: [['first_order_date']],
  incremental: {
    replaceBy: 'customer_key',
    scope: { 'core.orders': 'customer_key', 'core.refunds': 'customer_key' },
    changed: (c) => sql`
      select x.customer_key as value from ${c.replaced('core.orders')} x
      union select x.customer_key from ${c.replaced('core.refunds')} x`,
  },
  build: (db) =>
    db
      .selectFrom('core.orders as o')
      // Each customer's refunds summed once, then joined: a subquery per customer read every refund again for each.
      .leftJoin(
        (q) =>
          q
            .selectFrom('core.refunds')
            .where('order_is_counted', '=', true)
            .groupBy('customer_key')
            .select(['customer_key', sql<string>`sum(amount_rc)`.as('refunds_rc')])
            .as('r'),
        (j) => j.onRef('r.customer_key', '=', 'o.customer_key'),
      )
      .where('o.is_counted', '=', true)
      .groupBy('o.customer_key')
      .select([
        'o.customer_key',
        sql<string | null>`(max(o.shopify_customer_id collate "C") collate "default")`.as('shopify_customer_id'),
        sql<string | null>`(max(o.email collate "C") collate "default")`.as('email'),
        // The first order is the one core.orders numbered 1 (by created_at, then order_id): read
        // off its flag rather than sorting every customer's orders again in an ordered aggregate.
        sql<string>`max(case when o.is_first_order then o.order_id end)`.as('first_order_id'),
        sql<Date>`min(o.created_at)`.as('first_order_at'),
        sql<string>`min(o.order_date)`.as('first_order_date'),
        sql<Date>`max(o.created_at)`.as('last_order_at'),
        sql<string>`max(o.order_date)`.as('last_order_date'),
        sql<number>`count(*)::int`.as('counted_orders'),
        sql<string>`sum(o.total_price_rc)`.as('lifetime_revenue_rc'),
        sql<string>`coalesce(max(r.refunds_rc), 0)`.as('lifetime_refunds_rc'),
        sql<string>`max(case when o.is_first_order then o.channel end)`.as('acquisition_channel'),
      ]),
});
