import { sql, type RawBuilder } from 'kysely';
import { defineModel } from '../model.ts';
import { asciiLower, jsonId, jsonText, jsonTimestamp } from '../sql.ts';

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
  build: (db) => {
    const subjectType = jsonText('_record', 'subject_type');
    const subjectId = jsonText('_record', 'subject_id');
    return db
      .selectFrom('raw.shopify__deletions')
      .where(jsonText('_record', 'verb'), '=', sql.lit('destroy'))
      .where(subjectType, 'in', [sql.lit('Order'), sql.lit('Customer')])
      .where(jsonId('_record', 'subject_id'), 'is not', null)
      .groupBy([subjectType, subjectId])
      .select((eb) => [
        (asciiLower(subjectType) as RawBuilder<'order' | 'customer'>).as('record_type'),
        subjectId.as('record_id'),
        eb.fn.min(jsonTimestamp('_record', 'created_at')).as('deleted_at'),
      ]);
  },
});
