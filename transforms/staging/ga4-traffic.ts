import { sql } from 'kysely';
import { defineModel } from '../model.ts';

const count = (field: string) => sql<number>`coalesce(ops.try_numeric(_record->>${sql.lit(field)}), 0)::bigint`;

/** GA4 "(not set)", "(none)", "(direct)" and empty mean "nothing". */
const dimension = (field: string) =>
  sql<string | null>`nullif(nullif(nullif(nullif(btrim(_record->>${sql.lit(field)}), ''), '(not set)'), '(none)'), '(direct)')`;

/** One row per GA4 report row (property × date × channel group × source/medium/campaign × device). */
export const stagingGa4Traffic = defineModel({
  name: 'staging.ga4_traffic',
  dependsOn: ['raw.ga4__traffic_daily'],
  description: 'GA4 daily traffic rows with typed metrics; GA4 placeholders such as (not set) become null.',
  uniqueKey: ['row_key'],
  build: (db) =>
    db.selectFrom('raw.ga4__traffic_daily').select([
      sql<string>`_key`.as('row_key'),
      sql<string>`_record->>'property_id'`.as('property_id'),
      sql<string>`_report_date`.as('date'),
      sql<string | null>`nullif(_record->>'sessionDefaultChannelGroup', '')`.as('channel_group'),
      dimension('sessionSource').as('source'),
      dimension('sessionMedium').as('medium'),
      dimension('sessionCampaignName').as('campaign'),
      sql<string | null>`nullif(_record->>'deviceCategory', '')`.as('device'),
      count('sessions').as('sessions'),
      count('totalUsers').as('users'),
      count('newUsers').as('new_users'),
      count('addToCarts').as('add_to_carts'),
      count('checkouts').as('checkouts'),
      count('ecommercePurchases').as('purchases'),
      sql<string>`coalesce(ops.try_numeric(_record->>'purchaseRevenue'), 0)`.as('purchase_revenue'),
      // The property's currency, which the extractor adds to each row; null when the row lacks it.
      sql<string | null>`upper(nullif(btrim(_record->>'property_currency_code'), ''))`.as('currency'),
    ]),
});
