import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * One row per order or customer Shopify says was deleted (a `destroy` event of
 * `shopify.deletions`), with the time of its first such event. `record_id` is the deleted
 * record's id as the raw tables key it, so it joins `staging.shopify_orders.order_id` and
 * `staging.shopify_customers.customer_id`.
 */
export const stagingShopifyDeletions = defineModel({
  name: 'staging.shopify_deletions',
  dependsOn: ['raw.shopify__deletions'],
  description: 'Shopify orders and customers deleted in the shop, one row per deleted record, with when.',
  uniqueKey: ['record_type', 'record_id'],
  build: (db) =>
    db
      .selectFrom('raw.shopify__deletions')
      .where(sql<boolean>`_record->>'verb' = 'destroy' and _record->>'subject_type' in ('Order', 'Customer') and nullif(_record->>'subject_id', '') is not null`)
      .groupBy([sql`_record->>'subject_type'`, sql`_record->>'subject_id'`])
      .select([
        sql<'order' | 'customer'>`lower(_record->>'subject_type')`.as('record_type'),
        sql<string>`_record->>'subject_id'`.as('record_id'),
        sql<Date | null>`min(ops.try_timestamptz(_record->>'created_at'))`.as('deleted_at'),
      ]),
});
