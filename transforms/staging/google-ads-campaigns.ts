import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/** One row per Google Ads customer × campaign × date; cost from micros to major units. */
export const stagingGoogleAdsCampaigns = defineModel({
  name: 'staging.google_ads_campaigns',
  dependsOn: ['raw.google_ads__campaign_daily'],
  description: 'Google Ads campaign-day rows; cost_micros divided by 1,000,000.',
  uniqueKey: ['row_key'],
  build: (db) =>
    db.selectFrom('raw.google_ads__campaign_daily').select([
      sql<string>`_key`.as('row_key'),
      sql<string>`_report_date`.as('date'),
      sql<string>`_record #>> '{customer,id}'`.as('account_id'),
      sql<string>`upper(_record #>> '{customer,currency_code}')`.as('currency'),
      sql<string | null>`_record #>> '{customer,time_zone}'`.as('account_time_zone'),
      sql<string>`_record #>> '{campaign,id}'`.as('campaign_id'),
      sql<string | null>`_record #>> '{campaign,name}'`.as('campaign_name'),
      sql<string>`coalesce(ops.try_numeric(_record #>> '{metrics,cost_micros}'), 0) / 1000000`.as('spend'),
      sql<number>`coalesce(ops.try_numeric(_record #>> '{metrics,clicks}'), 0)::bigint`.as('clicks'),
      sql<number>`coalesce(ops.try_numeric(_record #>> '{metrics,impressions}'), 0)::bigint`.as('impressions'),
      sql<string>`coalesce(ops.try_numeric(_record #>> '{metrics,conversions}'), 0)`.as('conversions'),
      sql<string>`coalesce(ops.try_numeric(_record #>> '{metrics,conversions_value}'), 0)`.as('conversions_value'),
    ]),
});
