import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/** One row per Shopify product, with how many variants it has. */
export const coreProducts = defineModel({
  name: 'core.products',
  dependsOn: ['staging.shopify_products', 'staging.shopify_product_variants'],
  description: 'Shopify products, one row per product, with their number of variants.',
  uniqueKey: ['product_id'],
  build: (db) =>
    db.selectFrom('staging.shopify_products as p').select([
      'p.product_id',
      'p.title',
      'p.product_type',
      'p.vendor',
      'p.status',
      'p.created_at',
      'p.updated_at',
      sql<number>`(select count(*)::int from staging.shopify_product_variants v where v.product_id = p.product_id)`.as('variants'),
    ]),
});
