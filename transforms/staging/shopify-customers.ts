import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { jsonText, jsonTimestamp, rawRecordsOnce } from '../sql.ts';

/** One row per Shopify customer record; `is_deleted` when Shopify says it was deleted since. */
export const stagingShopifyCustomers = defineModel({
  name: 'staging.shopify_customers',
  dependsOn: ['raw.shopify__customers', 'staging.shopify_deletions'],
  description: 'Shopify customers, one row per customer, typed.',
  uniqueKey: ['customer_id'],
  build: (db) =>
    db.selectFrom(rawRecordsOnce('raw.shopify__customers')).select([
      sql<string>`_key`.as('customer_id'),
      sql<boolean>`exists (select 1 from staging.shopify_deletions d where d.record_type = 'customer' and d.record_id = _key)`.as('is_deleted'),
      sql<string | null>`nullif(lower(btrim(_record->>'email')), '')`.as('email'),
      jsonText('_record', 'first_name').as('first_name'),
      jsonText('_record', 'last_name').as('last_name'),
      jsonTimestamp('_record', 'created_at').as('created_at'),
      jsonTimestamp('_record', 'updated_at').as('updated_at'),
      jsonText('_record', 'state').as('state'),
    ]),
});
