import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { asciiUpper, jsonDecimal, jsonElements, jsonId, jsonText } from '../sql.ts';
import { isSetAside } from '../validation.ts';

/**
 * One row per variant of a Shopify product, with its inventory item: whether Shopify tracks
 * its stock, and its unit cost (the current one: Shopify keeps no history). The variants of a
 * product set aside are left out with it.
 */
export const stagingShopifyProductVariants = defineModel({
  name: 'staging.shopify_product_variants',
  dependsOn: ['raw.shopify__products', 'staging.shopify_products'],
  description: "Variants of Shopify products, one row per variant, with their inventory item's current unit cost.",
  uniqueKey: ['variant_id'],
  build: (db) =>
    db
      .selectFrom('raw.shopify__products as p')
      .crossJoinLateral(jsonElements(sql`p._record->'variants'`, 'v', 'variant'))
      .where((eb) => eb.not(isSetAside('shopify', 'products', sql.ref('p._key'))))
      .select((eb) => [
        // A variant without an id is known by its product and its place in it.
        eb.fn.coalesce(jsonId('v.variant', 'id'), sql<string>`p._key || ':' || v.ord`).as('variant_id'),
        'p._key as product_id',
        sql<string | null>`nullif(btrim(${jsonText('v.variant', 'sku')}), '')`.as('sku'),
        jsonText('v.variant', 'title').as('title'),
        jsonDecimal('v.variant', 'price').as('price'),
        jsonId('v.variant', 'inventory_item_id').as('inventory_item_id'),
        eb.fn.coalesce(sql<boolean | null>`ops.parse_boolean(${jsonText('v.variant', 'tracked')})`, sql.lit(false)).as('is_tracked'),
        jsonDecimal('v.variant', 'unit_cost', 'amount').as('unit_cost'),
        sql<string | null>`${asciiUpper(sql`nullif(btrim(${jsonText('v.variant', 'unit_cost', 'currency_code')}), '')`)}`.as('unit_cost_currency'),
      ]),
});
