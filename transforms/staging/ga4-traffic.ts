import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiUpper } from '../sql.ts';
import { countProblem, currencyProblem, dateRange, decimalProblem, problems, rawRecordsCheck, reportDateProblem } from '../validation.ts';

const COUNTS = ['sessions', 'totalUsers', 'newUsers', 'addToCarts', 'checkouts', 'ecommercePurchases'] as const;

const count = (field: (typeof COUNTS)[number]) => sql<number>`coalesce(ops.parse_integer(_record->>${sql.lit(field)}), 0)::bigint`;

/** GA4 "(not set)", "(none)", "(direct)" and empty mean "nothing". */
const dimension = (field: string) =>
  sql<string | null>`nullif(nullif(nullif(nullif(btrim(_record->>${sql.lit(field)}), ''), '(not set)'), '(none)'), '(direct)')`;

/**
 * One row per GA4 report row (property × date × channel group × source/medium/campaign × device).
 * A row whose counts, revenue (a decimal, negative when refunds outweigh purchases) or currency
 * do not parse is set aside.
 */
export const stagingGa4Traffic = defineModel({
  name: 'staging.ga4_traffic',
  dependsOn: ['raw.ga4__traffic_daily'],
  description: 'GA4 daily traffic rows with typed metrics; GA4 placeholders such as (not set) become null.',
  uniqueKey: ['row_key'],
  checks: [
    rawRecordsCheck('ga4', 'traffic_daily', 'row_key', (ctx) =>
      problems(
        reportDateProblem(dateRange(ctx)),
        ...COUNTS.map((name) => countProblem(name, sql`_record->>${sql.lit(name)}`)),
        decimalProblem('purchaseRevenue', sql`_record->>'purchaseRevenue'`),
        currencyProblem('property_currency_code', sql`_record->>'property_currency_code'`),
      ),
    ),
  ],
  incremental: byRawKey('ga4', 'traffic_daily', 'row_key'),
  build: (db) =>
    db.selectFrom('raw.ga4__traffic_daily').select([
      '_key as row_key',
      sql<string>`_record->>'property_id'`.as('property_id'),
      '_report_date as date',
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
      sql<string>`coalesce(ops.parse_decimal(_record->>'purchaseRevenue'), 0)`.as('purchase_revenue'),
      // The property's currency, which the extractor adds to each row; null when the row lacks it.
      sql<string | null>`${asciiUpper(sql`nullif(btrim(_record->>'property_currency_code'), '')`)}`.as('currency'),
    ]),
});
