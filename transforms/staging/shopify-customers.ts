import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiLower, jsonText, jsonTimestamp, rawRecordsOnce } from '../sql.ts';

/** One row per Shopify customer record; `is_deleted` when Shopify says it was deleted since. */
export const stagingShopifyCustomers = defineModel({
  name: 'staging.shopify_customers',
  dependsOn: ['raw.shopify__customers', 'staging.shopify_deletions'],
  description: 'Shopify customers, one row per customer, typed.',
  uniqueKey: ['customer_id'],
  incremental: byRawKey('shopify', 'customers', 'customer_id', (changes) => sql`select record_id as value from ${changes.replaced('staging.shopify_deletions')} d where d.record_type = 'customer'`),
  build: (db) =>
    db
      .selectFrom(rawRecordsOnce('raw.shopify__customers'))
      // Joined, not asked per record: a subquery per row keeps the scan in one process.
      .leftJoin(sql<{ record_id: string }>`(select distinct record_id from staging.shopify_deletions where record_type = 'customer')`.as('d'), 'd.record_id', 'r._key')
      .select([
        'r._key as customer_id',
        sql<boolean>`d.record_id is not null`.as('is_deleted'),
        sql<string | null>`nullif(${asciiLower(sql`btrim(${jsonText('r._record', 'email')})`)}, '')`.as('email'),
        jsonText('r._record', 'first_name').as('first_name'),
        jsonText('r._record', 'last_name').as('last_name'),
        jsonTimestamp('r._record', 'created_at').as('created_at'),
        jsonTimestamp('r._record', 'updated_at').as('updated_at'),
        jsonText('r._record', 'state').as('state'),
      ]),
});
