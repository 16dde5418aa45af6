import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { jsonDecimal, jsonElements, jsonId, jsonSum, jsonText, rawPartOnce } from '../sql.ts';
import { isSetAside } from '../validation.ts';

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
      .selectFrom(rawPartOnce('raw.shopify__orders', 'line_items'))
      .crossJoinLateral(jsonElements(sql`o.part`, 'l', 'line'))
      .where((eb) => eb.not(isSetAside('shopify', 'orders', sql.ref('o._key'))))
      .select((eb) => [
        'o._key as order_id',
        // A line without an id is known by its place in the order.
        eb.fn.coalesce(jsonId('l.line', 'id'), eb.cast<string>('l.ord', 'text')).as('line_id'),
        jsonId('l.line', 'product_id').as('product_id'),
        jsonId('l.line', 'variant_id').as('variant_id'),
        // Trimmed, as the variants' and the costs file's are: a SKU typed with a blank after it still finds its cost.
        sql<string | null>`nullif(btrim(${jsonText('l.line', 'sku')}), '')`.as('sku'),
        jsonText('l.line', 'title').as('title'),
        jsonText('l.line', 'variant_title').as('variant_title'),
        jsonId('l.line', 'vendor').as('vendor'),
        sql<number>`coalesce(ops.parse_integer(${jsonText('l.line', 'quantity')}), 0)::int`.as('quantity'),
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
