import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiLower, jsonId, jsonStrictTimestamp, jsonText } from '../sql.ts';
import { booleanProblem, dateRange, integerProblem, problems, rawRecordsCheck, reportDateProblem, timestampProblem } from '../validation.ts';

/**
 * One row per inventory item, location and snapshot date: the `available` quantity as read on
 * that date, and the status its variant's product had then (lower case, as staging.shopify_products
 * gives it; null for a level landed before the stream read it). A level whose date, quantity (a
 * whole number, negative when oversold) or flags do not parse is set aside.
 */
export const stagingShopifyInventoryLevels = defineModel({
  name: 'staging.shopify_inventory_levels',
  dependsOn: ['raw.shopify__inventory_levels'],
  description: 'Shopify stock levels, one row per inventory item, location and snapshot date.',
  uniqueKey: ['level_key'],
  checks: [
    rawRecordsCheck('shopify', 'inventory_levels', 'level_key', (ctx) => {
      const range = dateRange(ctx);
      const text = (name: string) => sql`_record->>${sql.lit(name)}`;
      return problems(
        reportDateProblem(range),
        integerProblem('available', text('available'), { required: true }),
        booleanProblem('tracked', text('tracked')),
        timestampProblem('updated_at', text('updated_at'), range),
      );
    }),
  ],
  incremental: byRawKey('shopify', 'inventory_levels', 'level_key'),
  build: (db) =>
    db.selectFrom('raw.shopify__inventory_levels').select((eb) => [
      '_key as level_key',
      sql<string>`_report_date`.as('snapshot_date'),
      jsonId('_record', 'inventory_item_id').as('inventory_item_id'),
      jsonId('_record', 'variant_id').as('variant_id'),
      jsonId('_record', 'location_id').as('location_id'),
      sql<number>`coalesce(ops.parse_integer(${jsonText('_record', 'available')}), 0)::int`.as('available'),
      // Absent means unknown: the variant's own flag (from the products stream) decides then.
      sql<boolean | null>`ops.parse_boolean(${jsonText('_record', 'tracked')})`.as('is_tracked'),
      // Absent (a level landed before the stream read it) means unknown: the product's current status decides then.
      sql<string | null>`${asciiLower(sql`nullif(btrim(_record->>'product_status'), '')`)}`.as('product_status'),
      jsonStrictTimestamp('_record', 'updated_at').as('updated_at'),
    ]),
});
