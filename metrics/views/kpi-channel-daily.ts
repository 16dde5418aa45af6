import { sql } from 'kysely';
import { defineView } from '../view.ts';

/**
 * `metrics.kpi_channel_daily`: one row per local date × channel that has sessions, orders or
 * ad spend. Orders and new customers take their own channel (a new customer by the channel of
 * the first order); GA4 sessions the channel of their source/medium through the same rules;
 * spend its platform's. ROAS as the shop attributes it sits next to the platform's own claim.
 */
export const kpiChannelDaily = defineView({
  name: 'kpi_channel_daily',
  grain: 'one row per local date × channel with sessions, orders or ad spend',
  dimensions: ['date', 'channel'],
  leadingMetrics: ['sessions', 'orders', 'revenue', 'new_customers'],
  indexes: [{ columns: ['date', 'channel'], unique: true }, { columns: ['channel', 'date'] }],
  build: (db) =>
    db
      .with('orders_c', (q) =>
        q
          .selectFrom('core.orders')
          .where('is_counted', '=', true)
          .groupBy(['order_date', 'channel'])
          .select([
            'order_date as date',
            'channel',
            sql<number>`count(*)`.as('orders'),
            sql<string>`sum(total_price_rc)`.as('revenue'),
            sql<number>`count(*) filter (where is_first_order)`.as('new_customers'),
          ]),
      )
      .with('traffic_c', (q) => q.selectFrom('core.traffic').groupBy(['date', 'channel']).select(['date', 'channel', sql<number>`sum(sessions)`.as('sessions')]))
      .with('spend_c', (q) =>
        q
          .selectFrom('core.spend')
          .groupBy(['date', 'channel'])
          .select([
            'date',
            'channel',
            sql<string>`sum(spend_rc)`.as('ad_spend'),
            sql<number>`sum(clicks)`.as('ad_clicks'),
            sql<number>`sum(impressions)`.as('ad_impressions'),
            sql<string>`sum(platform_conversions)`.as('platform_conversions'),
            sql<string>`sum(platform_conversion_value_rc)`.as('platform_conversion_value'),
          ]),
      )
      .with('keys', (q) =>
        q
          .selectFrom('orders_c')
          .select(['date', 'channel'])
          .union(q.selectFrom('traffic_c').select(['date', 'channel']))
          .union(q.selectFrom('spend_c').select(['date', 'channel'])),
      )
      .selectFrom('keys as k')
      .leftJoin('orders_c as o', (j) => j.onRef('o.date', '=', 'k.date').onRef('o.channel', '=', 'k.channel'))
      .leftJoin('traffic_c as t', (j) => j.onRef('t.date', '=', 'k.date').onRef('t.channel', '=', 'k.channel'))
      .leftJoin('spend_c as s', (j) => j.onRef('s.date', '=', 'k.date').onRef('s.channel', '=', 'k.channel'))
      .select([
        'k.date',
        'k.channel',
        sql<number>`coalesce(t.sessions, 0)`.as('sessions'),
        sql<number>`coalesce(o.orders, 0)`.as('orders'),
        sql<string>`coalesce(o.revenue, 0)`.as('revenue'),
        sql<number>`coalesce(o.new_customers, 0)`.as('new_customers'),
        sql<string>`coalesce(s.ad_spend, 0)`.as('ad_spend'),
        sql<number>`coalesce(s.ad_clicks, 0)`.as('ad_clicks'),
        sql<number>`coalesce(s.ad_impressions, 0)`.as('ad_impressions'),
        sql<string>`coalesce(s.platform_conversions, 0)`.as('platform_conversions'),
        sql<string>`coalesce(s.platform_conversion_value, 0)`.as('platform_conversion_value'),
      ]),
});
