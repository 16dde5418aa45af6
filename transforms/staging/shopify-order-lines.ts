import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { isSetAside } from '../validation.ts';

/** One row per line item of a Shopify order; the lines of an order set aside are left out with it. */
export const stagingShopifyOrderLines = defineModel({
  name: 'staging.shopify_order_lines',
  dependsOn: ['raw.shopify__orders', 'staging.shopify_orders'],
  description: "The line items of Shopify orders, one row per line, in the order's currency.",
  uniqueKey: ['order_id', 'line_id'],
  build: (db) =>
    db
      .selectFrom(sql<{ _key: string; line: unknown; ord: number }>`(
        select o._key, l.line, l.ord
          from raw.shopify__orders o
          cross join lateral jsonb_array_elements(case when jsonb_typeof(o._record->'line_items') = 'array' then o._record->'line_items' else '[]'::jsonb end)
            with ordinality as l(line, ord)
         where not ${isSetAside('shopify', 'orders', sql`o._key`)})`.as('x'))
      .select([
        sql<string>`x._key`.as('order_id'),
        sql<string>`coalesce(nullif(x.line->>'id', ''), x.ord::text)`.as('line_id'),
        sql<string | null>`nullif(x.line->>'product_id', '')`.as('product_id'),
        sql<string | null>`nullif(x.line->>'variant_id', '')`.as('variant_id'),
        sql<string | null>`nullif(x.line->>'sku', '')`.as('sku'),
        sql<string | null>`x.line->>'title'`.as('title'),
        sql<number>`coalesce(ops.parse_integer(x.line->>'quantity'), 0)::int`.as('quantity'),
        sql<string>`coalesce(ops.parse_decimal(x.line->>'price'), 0)`.as('price'),
        sql<string>`coalesce(ops.parse_decimal(x.line->>'total_discount'), 0)`.as('total_discount'),
      ]),
});
