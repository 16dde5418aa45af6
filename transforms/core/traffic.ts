import { sql } from 'kysely';
import { channelExpression } from '../channels.ts';
import { hasRates } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { rateOn } from '../sql.ts';

/**
 * GA4 traffic by date × channel × source/medium/campaign × device, the channel mapped from the
 * session source and medium by the same rules as orders (GA4 rows carry no referrer).
 *
 * `purchase_revenue` is in the property's currency: the row's `property_currency_code`, else
 * the ga4 source's `currency`, else the reporting currency; `purchase_revenue_rc` converts it
 * on the report date, as ad spend is. The key is the raw row's (property + date + dimensions
 * as GA4 sent them): two rows can share a source/medium once GA4's placeholders are read as
 * nothing, so the dimensions alone are no key.
 */
export const coreTraffic = defineModel({
  name: 'core.traffic',
  dependsOn: ['staging.ga4_traffic', 'core.fx_rates'],
  description: 'GA4 sessions, users, funnel events and purchase revenue by day, channel, source/medium/campaign and device.',
  uniqueKey: ['row_key'],
  indexes: [['date'], ['channel', 'date']],
  checks: [hasRates('core.traffic', [['purchase_revenue', 'purchase_revenue_rc']], 'date')],
  incremental: {
    replaceBy: 'row_key',
    scope: { 'staging.ga4_traffic': 'row_key' },
    changed: (c) => sql`
      select x.row_key as value from ${c.replaced('staging.ga4_traffic')} x
      union select t.row_key from core.traffic t where t.date in ${ratesChangedOn(c)}`,
  },
  build: (db, ctx) => {
    const currency = sql<string>`coalesce(t.currency, ${sql.lit(ctx.config.sources.ga4?.currency ?? ctx.reportingCurrency)})`;
    return db
      .selectFrom('staging.ga4_traffic as t')
      .select([
        sql<string>`t.row_key`.as('row_key'),
        sql<string>`t.date`.as('date'),
        sql<string>`t.property_id`.as('property_id'),
        channelExpression(ctx.channels, { source: sql`t.source`, medium: sql`t.medium`, referrerHost: sql`null::text` }).as('channel'),
        sql<string | null>`t.channel_group`.as('channel_group'),
        sql<string | null>`t.source`.as('source'),
        sql<string | null>`t.medium`.as('medium'),
        sql<string | null>`t.campaign`.as('campaign'),
        sql<string | null>`t.device`.as('device'),
        sql<number>`t.sessions`.as('sessions'),
        sql<number>`t.users`.as('users'),
        sql<number>`t.new_users`.as('new_users'),
        sql<number>`t.add_to_carts`.as('add_to_carts'),
        sql<number>`t.checkouts`.as('checkouts'),
        sql<number>`t.purchases`.as('purchases'),
        currency.as('currency'),
        sql<string>`t.purchase_revenue`.as('purchase_revenue'),
        sql<string>`t.purchase_revenue * ${rateOn(currency, sql`t.date`, ctx.reportingCurrency)}`.as('purchase_revenue_rc'),
      ]);
  },
});
