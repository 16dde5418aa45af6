import { sql } from 'kysely';
import { measureSource } from './measure.ts';
import { countedShipments as countedShipmentRows } from './views/counted-shipments.ts';

/**
 * The rows the base measures read (metrics/measure.ts). Which rows count is decided here once
 * (docs/metrics.md, "The metric contract"): only counted orders, refunds of counted orders,
 * shipments of counted orders.
 */

/** Counted orders (neither test, cancelled nor deleted), each on the local date it was created. */
export const countedOrders = measureSource({
  name: 'counted_orders',
  description: 'core.orders where is_counted (neither test, cancelled nor deleted)',
  rows: (db) => db.selectFrom('core.orders').where('is_counted', '=', true).selectAll(),
  dates: ['order_date'],
  dimensions: ['channel'],
});

/** Successful refund transactions of counted orders, on their own date (not the order date). */
export const countedRefunds = measureSource({
  name: 'counted_refunds',
  description: 'core.refunds where order_is_counted (successful refund transactions of counted orders)',
  rows: (db) => db.selectFrom('core.refunds').where('order_is_counted', '=', true).selectAll(),
  dates: ['refund_date'],
  dimensions: [],
});

/** GA4 traffic, one row per property, day, channel and the rest of its key. */
export const traffic = measureSource({
  name: 'traffic',
  description: 'core.traffic (GA4 sessions and events)',
  rows: (db) => db.selectFrom('core.traffic').selectAll(),
  dates: ['date'],
  dimensions: ['channel'],
});

/** Ad spend of every platform, one row per campaign and day. */
export const spend = measureSource({
  name: 'spend',
  description: 'core.spend (ad spend, clicks, impressions and platform conversions per campaign and day)',
  rows: (db) => db.selectFrom('core.spend').selectAll(),
  dates: ['date'],
  dimensions: ['channel'],
});

/** Stripe charges, on the local date they were created. */
export const payments = measureSource({
  name: 'payments',
  description: 'core.payments (Stripe charges)',
  rows: (db) => db.selectFrom('core.payments').selectAll(),
  dates: ['payment_date'],
  dimensions: [],
});

/** Shipments of counted orders (metrics/views/counted-shipments.ts says why only those). */
export const countedShipments = measureSource({
  name: 'counted_shipments',
  description: 'core.shipments matched to a counted order',
  rows: (db) => countedShipmentRows(db),
  dates: ['shipped_date', 'delivered_date', 'returned_date'],
  dimensions: [],
});

/**
 * The line items of counted orders, on their order's local date, with their cost of goods
 * (`sold_quantity × unit_cost_rc`: the units an order edit removed were never sold; NULL for a
 * line whose unit cost is unknown). A line an edit removed whole (`sold_quantity` 0) sold
 * nothing: it is left out, so it makes no order of its product (`product_orders`).
 */
export const countedOrderLines = measureSource({
  name: 'counted_order_lines',
  description: 'core.order_lines where is_counted and sold_quantity > 0 (line items of counted orders, less those an order edit removed whole), with cogs_rc = sold_quantity × unit_cost_rc',
  rows: (db) =>
    db
      .selectFrom('core.order_lines')
      .where('is_counted', '=', true)
      .where('sold_quantity', '>', 0)
      .selectAll()
      .select(sql<string | null>`sold_quantity * unit_cost_rc`.as('cogs_rc')),
  dates: ['order_date'],
  dimensions: [],
});

/** The refunded line items of the successful refunds of counted orders, on the refund's date. */
export const countedRefundLines = measureSource({
  name: 'counted_refund_lines',
  description: 'core.refund_lines where order_is_counted (refunded line items of successful refunds of counted orders)',
  rows: (db) => db.selectFrom('core.refund_lines').where('order_is_counted', '=', true).selectAll(),
  dates: ['refund_date'],
  dimensions: [],
});

/**
 * The tax paid back by the successful refunds of counted orders, on the refund's date: one row
 * per refunded line item (its `total_tax`) and per refunded shipping line (its `tax`). A refund's
 * amount holds the tax of both, so both are refunded tax (DECISIONLOG.md, "Refunded shipping
 * tax is refunded tax").
 */
export const countedRefundTaxes = measureSource({
  name: 'counted_refund_taxes',
  description:
    'core.refund_lines and core.refund_shipping_lines where order_is_counted (refunded line items and refunded shipping lines of successful refunds of counted orders), with their tax as tax_rc',
  rows: (db) =>
    db
      .selectFrom('core.refund_lines')
      .where('order_is_counted', '=', true)
      .select(['refund_date', 'total_tax_rc as tax_rc'])
      .unionAll(db.selectFrom('core.refund_shipping_lines').where('order_is_counted', '=', true).select(['refund_date', 'tax_rc'])),
  dates: ['refund_date'],
  dimensions: [],
});

/** Stripe balance transactions (charges, refunds, fees, payouts …), on the local date they were created. */
export const balanceTransactions = measureSource({
  name: 'balance_transactions',
  description: 'core.balance_transactions (Stripe balance transactions of every type)',
  rows: (db) => db.selectFrom('core.balance_transactions').selectAll(),
  dates: ['transaction_date'],
  dimensions: [],
});

/**
 * The stock of each tracked variant per snapshot date: `available` summed over its locations
 * (core.inventory_levels), one row per snapshot date and variant, with whether its product is for
 * sale at that snapshot (`is_for_sale`: active or unlisted, or not known; not an archived or draft
 * product).
 */
export const stockSnapshots = measureSource({
  name: 'stock_snapshots',
  description: 'core.inventory_levels of tracked variants, available summed over locations, per snapshot date and variant, with is_for_sale (the product active or unlisted at the snapshot, or not known)',
  rows: (db) =>
    db
      .selectFrom('core.inventory_levels')
      .where('is_tracked', '=', true)
      .where('variant_id', 'is not', null)
      .groupBy(['snapshot_date', 'variant_id'])
      // One variant, one product: every level of a variant has the same is_for_sale.
      .select(['snapshot_date', 'variant_id', sql<number>`sum(available)`.as('available'), sql<boolean>`bool_and(is_for_sale)`.as('is_for_sale')]),
  dates: ['snapshot_date'],
  dimensions: [],
});

/** Every source of a base measure. */
export const measureSources = [
  countedOrders,
  countedRefunds,
  traffic,
  spend,
  payments,
  countedShipments,
  countedOrderLines,
  countedRefundLines,
  countedRefundTaxes,
  balanceTransactions,
  stockSnapshots,
] as const;
