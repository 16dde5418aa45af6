import { sql, type ExpressionBuilder } from 'kysely';
import type { Database } from '../../warehouse/database.ts';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiLower, jsonDecimal, jsonElements, jsonId, jsonText, rawPartOnce } from '../sql.ts';
import { ORDERS_WITH_REFUNDS } from './shopify-orders.ts';
import { isSetAside } from '../validation.ts';

/**
 * The refund `r.refund`'s date, as core.refunds dates it: its own `created_at`, else (a refund
 * without one) the time of its first successful refund transaction.
 */
export const refundCreatedAt = sql<Date | null>`coalesce(ops.parse_timestamptz(${jsonText('r.refund', 'created_at')}),
          (select min(ops.parse_timestamptz(t.tx->>'created_at')) from ${jsonElements(sql`r.refund->'transactions'`, 't', 'tx')}
            where ${asciiLower(sql`t.tx->>'kind'`)} = 'refund' and ${asciiLower(sql`t.tx->>'status'`)} = 'success'))`;

/** Whether the refund `r.refund` paid anything back through a successful refund transaction. */
export const refundSucceeded = sql<boolean>`exists (select 1 from ${jsonElements(sql`r.refund->'transactions'`, 't', 'tx')}
          where ${asciiLower(sql`t.tx->>'kind'`)} = 'refund' and ${asciiLower(sql`t.tx->>'status'`)} = 'success')`;

/**
 * The raw orders holding refunds (staging.shopify_orders.has_refunds) as `o` (`o._key`, their
 * `refunds` array as `o.part`), behind `offset 0`: the subqueries over a refund's transactions
 * run for their few rows only.
 */
export function refundedOrders(eb: ExpressionBuilder<Database, keyof Database>) {
  return eb
    .selectFrom(rawPartOnce('raw.shopify__orders', 'refunds', ORDERS_WITH_REFUNDS))
    .select(['o._key', 'o.part'])
    .offset(sql.lit(0))
    .as('o');
}

/**
 * One row per refunded line item of a Shopify refund: which line, how many units, and the
 * refunded subtotal and tax, in the order's currency. `is_successful` says whether the refund
 * paid anything back through a successful refund transaction (docs/metrics.md counts those
 * refunds only). The refund lines of an order set aside are left out with it.
 */
export const stagingShopifyRefundLines = defineModel({
  name: 'staging.shopify_refund_lines',
  dependsOn: ['raw.shopify__orders', 'staging.shopify_orders'],
  description: 'Refunded line items of Shopify refunds, one row per refund line item.',
  uniqueKey: ['refund_line_id'],
  // Each record's own JSON array is read once: a cache of it (Memoize) never hits, and holds
  // half a gigabyte per process at a million orders.
  planner: { enable_memoize: 'off' },
  incremental: byRawKey('shopify', 'orders', 'order_id'),
  build: (db) =>
    db
      // The orders holding refunds (staging.shopify_orders.has_refunds), behind `offset 0`: the
      // subqueries over a refund's transactions below run for their few rows only.
      .selectFrom(refundedOrders)
      .crossJoinLateral(jsonElements(sql`o.part`, 'r', 'refund'))
      .crossJoinLateral(jsonElements(sql`r.refund->'refund_line_items'`, 'i', 'item'))
      .where((eb) => eb.not(isSetAside('shopify', 'orders', sql.ref('o._key'))))
      .select((eb) => [
        // Without ids, a refund line is known by its order and its place in it.
        eb.fn.coalesce(jsonId('i.item', 'id'), sql<string>`o._key || ':' || r.ord || ':' || i.ord`).as('refund_line_id'),
        eb.fn.coalesce(jsonId('r.refund', 'id'), sql<string>`o._key || ':' || r.ord`).as('refund_id'),
        'o._key as order_id',
        jsonId('i.item', 'line_item_id').as('line_id'),
        // The refund's date, as core.refunds dates it: a transaction time stands in only when the refund has none.
        refundCreatedAt.as('created_at'),
        refundSucceeded.as('is_successful'),
        sql<number>`coalesce(ops.parse_integer(${jsonText('i.item', 'quantity')}), 0)::int`.as('quantity'),
        eb.fn.coalesce(jsonDecimal('i.item', 'subtotal'), sql<string>`0`).as('subtotal'),
        eb.fn.coalesce(jsonDecimal('i.item', 'total_tax'), sql<string>`0`).as('total_tax'),
      ]),
});
