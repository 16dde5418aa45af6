import { sql } from 'kysely';
import { hasRates, nonNegative } from '../checks.ts';
import { defineModel } from '../model.ts';
import { rateOn } from '../sql.ts';

/**
 * Ad spend, one row per date × platform × account × campaign, converted on the report date
 * (ad platforms bucket days in the account's own time zone; the date is taken as it is).
 * The channel is the platform's.
 */
export const coreSpend = defineModel({
  name: 'core.spend',
  dependsOn: ['staging.google_ads_campaigns', 'staging.meta_ads_campaigns', 'core.fx_rates'],
  description: 'Google Ads and Meta campaign-day spend, clicks, impressions and platform-claimed conversions.',
  uniqueKey: ['date', 'platform', 'account_id', 'campaign_id'],
  indexes: [['date']],
  checks: [
    hasRates('core.spend', [['spend', 'spend_rc'], ['platform_conversion_value', 'platform_conversion_value_rc']], 'date'),
    nonNegative('core.spend', ['spend', 'clicks', 'impressions', 'platform_conversions', 'platform_conversion_value'], 'campaign_id'),
  ],
  build: (db, ctx) => {
    const rate = rateOn(sql`s.currency`, sql`s.date`, ctx.reportingCurrency);
    return db
      .selectFrom(sql<Record<string, unknown>>`(
        select date, 'google_ads' as platform, account_id, campaign_id, campaign_name, currency, account_time_zone,
               spend, clicks, impressions, conversions, conversions_value
          from staging.google_ads_campaigns
        union all
        select date, 'meta_ads', account_id, campaign_id, campaign_name, currency, account_time_zone,
               spend, clicks, impressions, conversions, conversions_value
          from staging.meta_ads_campaigns)`.as('s'))
      .select([
        sql<string>`s.date`.as('date'),
        sql<string>`s.platform`.as('platform'),
        sql<string>`s.account_id`.as('account_id'),
        sql<string>`s.campaign_id`.as('campaign_id'),
        sql<string | null>`s.campaign_name`.as('campaign_name'),
        sql<string>`s.platform`.as('channel'),
        sql<string>`s.currency`.as('currency'),
        sql<string | null>`s.account_time_zone`.as('account_time_zone'),
        sql<string>`s.spend`.as('spend'),
        sql<string>`s.spend * ${rate}`.as('spend_rc'),
        sql<number>`s.clicks`.as('clicks'),
        sql<number>`s.impressions`.as('impressions'),
        sql<string>`s.conversions`.as('platform_conversions'),
        sql<string>`s.conversions_value`.as('platform_conversion_value'),
        sql<string>`s.conversions_value * ${rate}`.as('platform_conversion_value_rc'),
      ]);
  },
});
