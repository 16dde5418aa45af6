import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * One row per product variant, with its product's title, vendor, type and status, whether Shopify
 * tracks its stock, and its current Shopify unit cost (in `unit_cost_currency`; Shopify keeps
 * no history of it, so it is not converted here but on each order's date, in core.order_lines).
 */
export const coreProductVariants = defineModel({
  name: 'core.product_variants',
  dependsOn: ['staging.shopify_product_variants', 'staging.shopify_products'],
  description: "Product variants with their product's names and their current Shopify unit cost.",
  uniqueKey: ['variant_id'],
  indexes: [['variant_id'], ['sku'], ['inventory_item_id']],
  build: (db) =>
    db
      .selectFrom('staging.shopify_product_variants as v')
      .innerJoin('staging.shopify_products as p', 'p.product_id', 'v.product_id')
      .select([
        'v.variant_id',
        'v.product_id',
        'v.sku',
        sql<string | null>`p.title`.as('product_title'),
        sql<string | null>`v.title`.as('variant_title'),
        'p.vendor',
        'p.product_type',
        sql<string | null>`p.status`.as('product_status'),
        'v.price',
        'v.inventory_item_id',
        'v.is_tracked',
        'v.unit_cost',
        'v.unit_cost_currency',
      ]),
});
