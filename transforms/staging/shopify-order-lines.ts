import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/** One row per line item of a Shopify order. */
export const stagingShopifyOrderLines = defineModel({
  name: 'staging.shopify_order_lines',
  dependsOn: ['raw.shopify__orders'],
  description: "The line items of Shopify orders, one row per line, in the order's currency.",
  uniqueKey: ['order_id', 'line_id'],
  build: (db) =>
    db
      .selectFrom(sql<{ _key: string; line: unknown; ord: number }>`(
        select o._key, l.line, l.ord
          from raw.shopify__orders o
          cross join lateral jsonb_array_elements(case when jsonb_typeof(o._record->'line_items') = 'array' then o._record->'line_items' else '[]'::jsonb end)
            with ordinality as l(line, ord))`.as('x'))
      .select([
        sql<string>`x._key`.as('order_id'),
        sql<string>`coalesce(nullif(x.line->>'id', ''), x.ord::text)`.as('line_id'),
        sql<string | null>`nullif(x.line->>'product_id', '')`.as('product_id'),
        sql<string | null>`nullif(x.line->>'variant_id', '')`.as('variant_id'),
        sql<string | null>`nullif(x.line->>'sku', '')`.as('sku'),
        sql<string | null>`x.line->>'title'`.as('title'),
        sql<number>`coalesce(ops.try_numeric(x.line->>'quantity'), 0)::int`.as('quantity'),
        sql<string>`coalesce(ops.try_numeric(x.line->>'price'), 0)`.as('price'),
        sql<string>`coalesce(ops.try_numeric(x.line->>'total_discount'), 0)`.as('total_discount'),
      ]),
});
