import type { ReportKind } from './period.ts';

/** A chart a report may hold (reports/charts.ts draws each). */
export type ChartName = 'trend' | 'channel_mix' | 'channel_roas' | 'funnel' | 'delivery' | 'cohort_retention' | 'clv_to_cac';

/**
 * What each review shows, after the rituals of docs/reports.md: the weekly one is about the
 * shop's operation (traffic, conversion, abandonment, returns, delivery: is any channel
 * dropping?), the monthly one about whether marketing pays, per lever (CAC, ROAS, new
 * customers, contribution by channel), the quarterly one about growth and retention (cohorts,
 * predicted value over acquisition cost).
 */
export interface ReportLayout {
  title: string;
  /** The headline metrics, by name (metrics/definitions), in the order shown. */
  headlines: readonly string[];
  /** The trailing periods of the trend charts (weeks for the weekly review, months otherwise). */
  trailing: { unit: 'weekly' | 'monthly'; count: number };
  /** The metric the trend chart follows, beside the same periods a year earlier. */
  trendMetric: string;
  charts: readonly ChartName[];
  /** Cohorts (and months since the first order) in the retention heat map. */
  cohorts: number;
}

export const REPORT_LAYOUTS: Record<ReportKind, ReportLayout> = {
  weekly: {
    title: 'Weekly business review',
    headlines: ['revenue', 'orders', 'sessions', 'conversion_rate', 'aov', 'cart_abandonment_rate', 'return_rate', 'on_time_delivery_rate'],
    trailing: { unit: 'weekly', count: 13 },
    trendMetric: 'revenue',
    charts: ['trend', 'funnel', 'channel_mix', 'delivery'],
    cohorts: 0,
  },
  monthly: {
    title: 'Monthly business review',
    headlines: ['revenue', 'net_revenue', 'new_customers', 'ad_spend', 'cac', 'mer', 'nc_roas', 'refund_rate'],
    trailing: { unit: 'monthly', count: 12 },
    trendMetric: 'revenue',
    charts: ['trend', 'channel_mix', 'channel_roas', 'funnel', 'delivery', 'cohort_retention'],
    cohorts: 6,
  },
  quarterly: {
    title: 'Quarterly business review',
    headlines: ['revenue', 'net_revenue', 'orders', 'new_customers', 'aov', 'cac', 'mer', 'refund_rate'],
    trailing: { unit: 'monthly', count: 12 },
    trendMetric: 'net_revenue',
    charts: ['trend', 'channel_mix', 'channel_roas', 'cohort_retention', 'clv_to_cac', 'delivery'],
    cohorts: 12,
  },
};

/** A headline whose change against the previous period passes this (relative) is listed under "What changed". */
export const CHANGE_THRESHOLD = 0.1;
