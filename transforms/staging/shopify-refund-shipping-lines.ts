import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { jsonDecimal, jsonElements, jsonId } from '../sql.ts';
import { refundCreatedAt, refundedOrders, refundSucceeded } from './shopify-refund-lines.ts';
import { isSetAside } from '../validation.ts';

/**
 * One row per refunded shipping line of a Shopify refund (`refund_shipping_lines[]`, Shopify's
 * `RefundShippingLine`): the shipping paid back and its tax, in the order's currency. The
 * refund's amount holds both, so the tax of a refunded shipping line is refunded tax as much as
 * a refunded line item's. `is_successful` and the date are the refund's, as the refund lines
 * take them. The shipping lines of an order set aside are left out with it.
 */
export const stagingShopifyRefundShippingLines = defineModel({
  name: 'staging.shopify_refund_shipping_lines',
  dependsOn: ['raw.shopify__orders', 'staging.shopify_orders'],
  description: 'Refunded shipping lines of Shopify refunds, one row per refund shipping line.',
  uniqueKey: ['refund_shipping_line_id'],
  // Each record's own JSON array is read once: a cache of it (Memoize) never hits.
  planner: { enable_memoize: 'off' },
  incremental: byRawKey('shopify', 'orders', 'order_id'),
  build: (db) =>
    db
      // The orders holding refunds, as staging.shopify_refund_lines reads them.
      .selectFrom(refundedOrders)
      .crossJoinLateral(jsonElements(sql`o.part`, 'r', 'refund'))
      .crossJoinLateral(jsonElements(sql`r.refund->'refund_shipping_lines'`, 's', 'line'))
      .where((eb) => eb.not(isSetAside('shopify', 'orders', sql.ref('o._key'))))
      .select((eb) => [
        // Without ids, a refunded shipping line is known by its order and its place in it.
        eb.fn.coalesce(jsonId('s.line', 'id'), sql<string>`o._key || ':' || r.ord || ':' || s.ord`).as('refund_shipping_line_id'),
        eb.fn.coalesce(jsonId('r.refund', 'id'), sql<string>`o._key || ':' || r.ord`).as('refund_id'),
        'o._key as order_id',
        // The refund's date, as core.refunds dates it: a transaction time stands in only when the refund has none.
        refundCreatedAt.as('created_at'),
        refundSucceeded.as('is_successful'),
        eb.fn.coalesce(jsonDecimal('s.line', 'subtotal_amount'), sql<string>`0`).as('subtotal'),
        eb.fn.coalesce(jsonDecimal('s.line', 'tax_amount'), sql<string>`0`).as('tax'),
      ]),
});
