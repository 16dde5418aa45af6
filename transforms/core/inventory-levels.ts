import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/** Shopify's ProductStatus values of a product that is sold (UNLISTED since API 2025-10: sold, shown in no listing). */
const FOR_SALE_STATUSES = ['active', 'unlisted'] as const;

/**
 * One row per inventory item, location and snapshot date, with the variant it stocks (the
 * level's own `variant_id`, else the variant of its inventory item in the products stream),
 * whether its stock is tracked (the level's flag, else the variant's), and its product's status
 * with whether the product is for sale: `active` or `unlisted` (sold, not shown in listings), or
 * not known (a variant missing from the products stream, a product without a status). An
 * `archived` or `draft` product is not for sale: its stock at 0 is no shortage (the stock metrics
 * leave it out). The status is the one the snapshot read with the levels, so archiving a product
 * today leaves the past days as they were; a level landed before the stream read it has none and
 * takes the product's current one (Shopify keeps no history of it).
 */
export const coreInventoryLevels = defineModel({
  name: 'core.inventory_levels',
  dependsOn: ['staging.shopify_inventory_levels', 'core.product_variants'],
  description: 'Stock levels per inventory item, location and snapshot date, with their variant and product.',
  uniqueKey: ['level_key'],
  indexes: [['snapshot_date'], ['variant_id', 'snapshot_date']],
  incremental: {
    replaceBy: 'level_key',
    scope: { 'staging.shopify_inventory_levels': 'level_key' },
    // A variant whose replaced rows (as it was, as it is) differ in nothing a level reads but its
    // product's status moves only the levels without a status of their own; any other change
    // (a new or removed variant, another product, SKU, inventory item or tracked flag) moves
    // every level of it, and of its inventory item (a level without a variant reads it from there).
    changed: (c) => sql`
      with variants as (select * from ${c.replaced('core.product_variants')} v),
      status_only as (
        select variant_id from variants group by variant_id
        having count(*) = 2 and count(distinct row(product_id, sku, inventory_item_id, is_tracked)::text) = 1
      ),
      moved as (select * from variants where variant_id not in (select variant_id from status_only))
      select x.level_key as value from ${c.replaced('staging.shopify_inventory_levels')} x
      union select l.level_key from core.inventory_levels l where l.variant_id in (select variant_id from moved)
      union select l.level_key from staging.shopify_inventory_levels l where exists (select 1 from moved) and l.inventory_item_id in (select inventory_item_id from moved)
      union select l.level_key from core.inventory_levels l join staging.shopify_inventory_levels s on s.level_key = l.level_key
        where s.product_status is null and l.variant_id in (select variant_id from status_only)`,
  },
  build: (db) =>
    db
      .selectFrom('staging.shopify_inventory_levels as l')
      .leftJoin('core.product_variants as v', (join) =>
        join.on(sql<boolean>`v.variant_id = coalesce(l.variant_id, (select v2.variant_id from core.product_variants v2 where v2.inventory_item_id = l.inventory_item_id order by v2.variant_id limit 1))`),
      )
      .select([
        'l.level_key',
        'l.snapshot_date',
        'l.inventory_item_id',
        sql<string | null>`coalesce(l.variant_id, v.variant_id)`.as('variant_id'),
        sql<string | null>`v.product_id`.as('product_id'),
        sql<string | null>`v.sku`.as('sku'),
        'l.location_id',
        'l.available',
        sql<boolean>`coalesce(l.is_tracked, v.is_tracked, false)`.as('is_tracked'),
        sql<string | null>`coalesce(l.product_status, v.product_status)`.as('product_status'),
        sql<boolean>`coalesce(coalesce(l.product_status, v.product_status) in (${sql.join(FOR_SALE_STATUSES.map((s) => sql.lit(s)))}), true)`.as('is_for_sale'),
        'l.updated_at',
      ]),
});
