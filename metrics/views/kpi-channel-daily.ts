import { timeGrainView } from '../time-grain.ts';

/**
 * `metrics.kpi_channel_daily`: one row per local date × channel that has sessions, orders or
 * ad spend. Orders and new customers take their own channel (a new customer by the channel of
 * the first order); GA4 sessions the channel of their source/medium through the same rules;
 * spend its platform's. ROAS as the shop attributes it sits next to the platform's own claim.
 * Generated from the base measures published in it (metrics/time-grain.ts).
 */
export const kpiChannelDaily = timeGrainView({
  name: 'kpi_channel_daily',
  grain: 'one row per local date × channel with sessions, orders or ad spend',
  period: 'day',
  by: ['channel'],
  rows: 'with-data',
  leadingMetrics: ['sessions', 'orders', 'revenue', 'new_customers'],
  indexes: [{ columns: ['date', 'channel'], unique: true }, { columns: ['channel', 'date'] }],
});
