/**
 * How an alert reads a metric of `metrics.kpi_daily` over several days. METRICS.md publishes the
 * additive parts next to every ratio, so a ratio over a window is SUM(numerator) /
 * SUM(denominator), never an average of daily ratios.
 */
export type MetricParts =
  /** An additive column: its sum over the window. */
  | { kind: 'sum'; column: string }
  /** A ratio of two additive columns; `complement` gives 1 − ratio (abandonment rates). */
  | { kind: 'ratio'; numerator: string; denominator: string; complement?: boolean };

/** The built-in conditions that are not `kpi_daily` metrics. */
export const BUILT_IN_ALERT_METRICS = ['stream_freshness_hours', 'run_failed'] as const;

const ADDITIVE = new Set([
  'orders', 'revenue', 'refunds', 'net_revenue', 'new_customers',
  'sessions', 'users', 'add_to_carts', 'checkouts', 'ga4_purchases', 'ga4_purchase_revenue',
  'ad_spend', 'ad_clicks', 'ad_impressions', 'payment_attempts', 'payments_succeeded',
  'shipments_delivered', 'shipments_on_time', 'shipments_delivered_with_promise', 'delivery_days_total',
  'shipping_cost', 'orders_shipped', 'returns',
]);

const RATIOS: Record<string, Omit<Extract<MetricParts, { kind: 'ratio' }>, 'kind'>> = {
  aov: { numerator: 'revenue', denominator: 'orders' },
  conversion_rate: { numerator: 'orders', denominator: 'sessions' },
  revenue_per_session: { numerator: 'revenue', denominator: 'sessions' },
  cart_abandonment_rate: { numerator: 'ga4_purchases', denominator: 'add_to_carts', complement: true },
  checkout_abandonment_rate: { numerator: 'ga4_purchases', denominator: 'checkouts', complement: true },
  cac: { numerator: 'ad_spend', denominator: 'new_customers' },
  mer: { numerator: 'revenue', denominator: 'ad_spend' },
  payment_acceptance_rate: { numerator: 'payments_succeeded', denominator: 'payment_attempts' },
  refund_rate: { numerator: 'refunds', denominator: 'revenue' },
  on_time_delivery_rate: { numerator: 'shipments_on_time', denominator: 'shipments_delivered_with_promise' },
  avg_delivery_days: { numerator: 'delivery_days_total', denominator: 'shipments_delivered' },
  logistics_cost_per_order: { numerator: 'shipping_cost', denominator: 'orders_shipped' },
  return_rate: { numerator: 'returns', denominator: 'shipments_delivered' },
};

/** Daily metrics that cannot be summed over days (distinct counts) nor rebuilt from kpi_daily's parts. */
const NOT_OVER_A_WINDOW: Record<string, string> = {
  customers: 'distinct customers cannot be summed over days; use new_customers',
  returning_customers: 'distinct customers cannot be summed over days; use new_customers',
  nc_roas: 'its numerator (first-order revenue of new customers) is not a kpi_daily column',
};

/**
 * The parts of a `kpi_daily` metric an alert sums over its window, or why it cannot.
 * The one place mapping a ratio to its parts: it gives way to the metric definitions of
 * `metrics/` once those export them.
 */
export function metricParts(metric: string): MetricParts | { error: string } {
  if (ADDITIVE.has(metric)) return { kind: 'sum', column: metric };
  const ratio = RATIOS[metric];
  if (ratio) return { kind: 'ratio', ...ratio };
  const why = NOT_OVER_A_WINDOW[metric];
  if (why) return { error: `${metric} cannot be alerted on over a window: ${why}` };
  return {
    error: `unknown alert metric ${metric} (expected ${BUILT_IN_ALERT_METRICS.join(', ')}, or a kpi_daily metric: ${[...ADDITIVE, ...Object.keys(RATIOS)].sort().join(', ')})`,
  };
}
