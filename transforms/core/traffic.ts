import { sql } from 'kysely';
import { channelExpression } from '../channels.ts';
import { defineModel } from '../model.ts';

/**
 * GA4 traffic by date × channel × source/medium/campaign × device, the channel mapped from the
 * session source and medium by the same rules as orders (GA4 rows carry no referrer).
 */
export const coreTraffic = defineModel({
  name: 'core.traffic',
  dependsOn: ['staging.ga4_traffic'],
  description: 'GA4 sessions, users and funnel events by day, channel, source/medium/campaign and device.',
  indexes: [['date'], ['channel', 'date']],
  build: (db, ctx) =>
    db
      .selectFrom(sql<Record<string, unknown>>`staging.ga4_traffic`.as('t'))
      .select([
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
        sql<string>`t.purchase_revenue`.as('purchase_revenue'),
      ]),
});
