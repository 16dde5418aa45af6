import { timeGrainView } from '../time-grain.ts';

/**
 * `metrics.kpi_daily`: one row per local date, every date from the first to the last day on
 * which any source has something (an order, a refund, GA4 traffic, ad spend, a Stripe charge,
 * a counted shipment shipped, delivered or returned), so a day without orders is a row of zeros.
 * Generated from the base measures published in it (metrics/time-grain.ts).
 */
export const kpiDaily = timeGrainView({
  name: 'kpi_daily',
  grain: 'one row per local date, with no gaps between the first and the last day with data',
  period: 'day',
  by: [],
  rows: 'every-day',
  indexes: [{ columns: ['date'], unique: true }],
});
