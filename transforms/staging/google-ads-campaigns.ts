import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiUpper } from '../sql.ts';
import { amountProblem, countProblem, currencyProblem, dateRange, problems, rawRecordsCheck, reportDateProblem } from '../validation.ts';

const metric = (name: string) => sql`_record #>> ${sql.lit(`{metrics,${name}}`)}`;

/**
 * One row per Google Ads customer × campaign × date; cost from micros to major units. A row whose
 * metrics or currency do not parse is set aside.
 */
export const stagingGoogleAdsCampaigns = defineModel({
  name: 'staging.google_ads_campaigns',
  dependsOn: ['raw.google_ads__campaign_daily'],
  description: 'Google Ads campaign-day rows; cost_micros divided by 1,000,000.',
  uniqueKey: ['row_key'],
  checks: [
    rawRecordsCheck('google_ads', 'campaign_daily', 'row_key', (ctx) =>
      problems(
        reportDateProblem(dateRange(ctx)),
        currencyProblem('customer.currency_code', sql`_record #>> '{customer,currency_code}'`, { required: true }),
        countProblem('metrics.cost_micros', metric('cost_micros')),
        countProblem('metrics.clicks', metric('clicks')),
        countProblem('metrics.impressions', metric('impressions')),
        amountProblem('metrics.conversions', metric('conversions')),
        amountProblem('metrics.conversions_value', metric('conversions_value')),
      ),
    ),
  ],
  incremental: byRawKey('google_ads', 'campaign_daily', 'row_key'),
  build: (db) =>
    db.selectFrom('raw.google_ads__campaign_daily').select([
      '_key as row_key',
      '_report_date as date',
      sql<string>`_record #>> '{customer,id}'`.as('account_id'),
      sql<string>`${asciiUpper(sql`btrim(_record #>> '{customer,currency_code}')`)}`.as('currency'),
      sql<string | null>`_record #>> '{customer,time_zone}'`.as('account_time_zone'),
      sql<string>`_record #>> '{campaign,id}'`.as('campaign_id'),
      sql<string | null>`_record #>> '{campaign,name}'`.as('campaign_name'),
      sql<string>`coalesce(ops.parse_integer(${metric('cost_micros')}), 0) / 1000000`.as('spend'),
      sql<number>`coalesce(ops.parse_integer(${metric('clicks')}), 0)::bigint`.as('clicks'),
      sql<number>`coalesce(ops.parse_integer(${metric('impressions')}), 0)::bigint`.as('impressions'),
      sql<string>`coalesce(ops.parse_decimal(${metric('conversions')}), 0)`.as('conversions'),
      sql<string>`coalesce(ops.parse_decimal(${metric('conversions_value')}), 0)`.as('conversions_value'),
    ]),
});
