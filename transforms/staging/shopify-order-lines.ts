import { sql, type RawBuilder } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { jsonDecimal, jsonElements, jsonId, jsonSum, jsonText, rawRecordsOnce } from '../sql.ts';
import { isSetAside } from '../validation.ts';

/**
 * The units of a line an order edit removed (Shopify's `orderEditSetQuantity`, down to 0 for a
 * line removed): `quantity` keeps the units ordered, and only `current_quantity` goes down.
 * `current_quantity` leaves out the units refunded as well; those of the successful refunds
 * come back through the refund lines, so they are added back (a unit of a refund that paid
 * nothing comes back through none, and counts as removed): removed =
 * quantity − current_quantity − refunded, never below 0. Nothing is removed from a line without
 * `current_quantity` (landed before it was read, or by another producer).
 *
 * Most lines are as ordered: their two texts are the same, or there is no `current_quantity`,
 * which a comparison of the texts tells without parsing them. The refunds are read only for a
 * line whose `current_quantity` is below its `quantity`, by a function (migration 0029): a
 * subquery here would keep the model in one process. The order's check has already set aside
 * an order whose `quantity` or `current_quantity` is not a whole number ≥ 0.
 */
function removedQuantity(): RawBuilder<number> {
  const quantity = sql`coalesce(ops.parse_integer(l.line->>'quantity'), 0)`;
  const current = sql`ops.parse_integer(l.line->>'current_quantity')`;
  return sql<number>`(case
      when l.line->>'current_quantity' is null or l.line->>'current_quantity' = l.line->>'quantity' then 0
      when ${current} >= ${quantity} then 0
      else greatest(0, ${quantity} - ${current} - ops.refunded_units(r._record->'refunds', l.line->>'id'))
    end)::int`;
}

/** One row per line item of a Shopify order; the lines of an order set aside are left out with it. */
export const stagingShopifyOrderLines = defineModel({
  name: 'staging.shopify_order_lines',
  dependsOn: ['raw.shopify__orders', 'staging.shopify_orders'],
  description: "The line items of Shopify orders, one row per line, in the order's currency.",
  uniqueKey: ['order_id', 'line_id'],
  // Each record's own JSON array is read once: a cache of it (Memoize) never hits, and holds
  // half a gigabyte per process at a million orders.
  planner: { enable_memoize: 'off' },
  incremental: byRawKey('shopify', 'orders', 'order_id'),
  build: (db) =>
    db
      // The record read out of storage once: its line items for every order, its refunds for
      // the few lines an edit changed (removedQuantity).
      .selectFrom(rawRecordsOnce('raw.shopify__orders'))
      .crossJoinLateral(jsonElements(sql`r._record->'line_items'`, 'l', 'line'))
      .where((eb) => eb.not(isSetAside('shopify', 'orders', sql.ref('r._key'))))
      .select((eb) => [
        'r._key as order_id',
        // A line without an id is known by its place in the order.
        eb.fn.coalesce(jsonId('l.line', 'id'), eb.cast<string>('l.ord', 'text')).as('line_id'),
        jsonId('l.line', 'product_id').as('product_id'),
        jsonId('l.line', 'variant_id').as('variant_id'),
        // Trimmed, as the variants' and the costs file's are: a SKU typed with a blank after it still finds its cost.
        sql<string | null>`nullif(btrim(${jsonText('l.line', 'sku')}), '')`.as('sku'),
        jsonText('l.line', 'title').as('title'),
        jsonText('l.line', 'variant_title').as('variant_title'),
        jsonId('l.line', 'vendor').as('vendor'),
        // The units ordered, those an edit removed since included: Shopify's own meaning.
        sql<number>`coalesce(ops.parse_integer(${jsonText('l.line', 'quantity')}), 0)::int`.as('quantity'),
        removedQuantity().as('removed_quantity'),
        eb.fn.coalesce(jsonDecimal('l.line', 'price'), sql<string>`0`).as('price'),
        eb.fn.coalesce(jsonDecimal('l.line', 'total_discount'), sql<string>`0`).as('total_discount'),
        // The line's share of every discount, order-level codes included (docs/metrics.md, line
        // sales); the deprecated total_discount only when the line has no allocations.
        sql<string>`case when jsonb_typeof(l.line->'discount_allocations') = 'array' and jsonb_array_length(l.line->'discount_allocations') > 0
          then ${jsonSum(sql`l.line->'discount_allocations'`, 'amount')}
          else coalesce(${jsonDecimal('l.line', 'total_discount')}, 0) end`.as('discount'),
        jsonSum(sql`l.line->'tax_lines'`, 'price').as('tax'),
      ]),
});
