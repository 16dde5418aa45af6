import type { ColumnType } from 'kysely';

/**
 * The published tables (`metrics.*`), rebuilt from `core.*` at the end of every run by the
 * metrics refresh; their columns come from the metric definitions (`metrics/definitions/`).
 * `numeric` arrives as a string (full precision), `date` as 'YYYY-MM-DD', bigint counts as
 * numbers. A ratio is NULL when its denominator is 0.
 */
type DateText = ColumnType<string, string, string>;
type Count = ColumnType<number, number | string, number | string>;
type Numeric = ColumnType<string, string | number, string | number>;
type Ratio = ColumnType<string | null, string | number | null, string | number | null>;

/** The columns shared by kpi_daily, kpi_weekly and kpi_monthly. */
export interface KpiColumns {
  date: DateText;
  orders: Count;
  revenue: Numeric;
  refunds: Numeric;
  net_revenue: Numeric;
  aov: Ratio;
  customers: Count;
  new_customers: Count;
  returning_customers: Count;
  new_customer_revenue: Numeric;
  sessions: Count;
  users: Count;
  add_to_carts: Count;
  checkouts: Count;
  ga4_purchases: Count;
  ga4_purchase_revenue: Numeric;
  conversion_rate: Ratio;
  revenue_per_session: Ratio;
  cart_abandonment_rate: Ratio;
  checkout_abandonment_rate: Ratio;
  ad_spend: Numeric;
  ad_clicks: Count;
  ad_impressions: Count;
  cac: Ratio;
  mer: Ratio;
  nc_roas: Ratio;
  payment_attempts: Count;
  payments_succeeded: Count;
  payment_acceptance_rate: Ratio;
  refund_rate: Ratio;
  shipments_delivered: Count;
  shipments_on_time: Count;
  shipments_delivered_with_promise: Count;
  on_time_delivery_rate: Ratio;
  delivery_days_total: Numeric;
  avg_delivery_days: Ratio;
  shipping_cost: Numeric;
  orders_shipped: Count;
  logistics_cost_per_order: Ratio;
  returns: Count;
  return_rate: Ratio;
  tax: Numeric;
  refunded_tax: Numeric;
  net_tax: Numeric;
  net_revenue_ex_tax: Numeric;
  product_sales: Numeric;
  cogs: Numeric;
  product_sales_costed: Numeric;
  cogs_coverage: Ratio;
  gross_profit: Numeric;
  gross_margin: Ratio;
  payment_fees: Numeric;
  payouts: Numeric;
  contribution_profit: Numeric;
  contribution_margin: Ratio;
  /** Null on a date without a stock snapshot; a week or month takes its last snapshot. */
  variants_out_of_stock: ColumnType<number | null, number | string | null, number | string | null>;
}

export type KpiDailyTable = KpiColumns;

export interface KpiPeriodTable extends KpiColumns {
  /** 7 for a week, the month's length for a month. */
  days_in_period: number;
  /** Days of the period that kpi_daily covers (fewer at either end of the data). */
  days_with_data: number;
  /** The period's last day is on or before the last complete day of data. */
  is_complete: boolean;
}

export interface KpiChannelDailyTable {
  date: DateText;
  channel: string;
  sessions: Count;
  orders: Count;
  revenue: Numeric;
  new_customers: Count;
  ad_spend: Numeric;
  ad_clicks: Count;
  ad_impressions: Count;
  platform_conversions: Numeric;
  platform_conversion_value: Numeric;
  cac: Ratio;
  roas: Ratio;
  platform_roas: Ratio;
}

export interface CustomerKpisTable {
  date: DateText;
  customers: Count;
  repeat_customers: Count;
  repeat_purchase_rate: Ratio;
  orders_365d: Count;
  customers_365d: Count;
  purchase_frequency: Ratio;
  order_gaps: Count;
  days_between_orders_total: Numeric;
  avg_days_between_orders: Ratio;
  net_revenue_to_date: Numeric;
  historical_clv: Ratio;
  churned_customers: Count;
  churn_rate: Ratio;
  ad_spend_365d: Numeric;
  new_customers_365d: Count;
  cac_365d: Ratio;
  ltv_to_cac: Ratio;
  /** On the last as-of date only, when the published predictions are as of it; else null. */
  predicted_clv_12m_total: Ratio;
  predicted_clv_12m_avg: Ratio;
}

export interface CohortMonthlyTable {
  date: DateText;
  cohort_month: DateText;
  months_since_first_order: number;
  /** The month measured is over: its last day is on or before the last complete day of data. */
  is_complete: boolean;
  cohort_customers: Count;
  active_customers: Count;
  orders: Count;
  revenue: Numeric;
  cumulative_revenue: Numeric;
  cumulative_revenue_per_customer: Ratio;
  retention_rate: Ratio;
}

export interface RevenueReconciliationDailyTable {
  date: DateText;
  shop_revenue: Numeric;
  stripe_captured: Numeric;
  stripe_refunded: Numeric;
  ga4_purchase_revenue: Numeric;
  shop_vs_stripe_gap: Numeric;
  shop_vs_ga4_gap: Numeric;
  orders_without_payment: Count;
  payments_without_order: Count;
}

/**
 * `metrics.data_status` (a view): one row per source stream and one for the metrics
 * (`metrics`.`refresh`): how fresh and how complete the data is. `is_fresh` is worked out when read.
 */
export interface DataStatusTable {
  source: string;
  stream: string;
  last_success_at: Date | null;
  newest_data_date: DateText | null;
  freshness_limit_hours: string;
  is_fresh: boolean | null;
  last_run_status: string | null;
  incomplete_from: DateText | null;
  complete_through: DateText | null;
}

/** `metrics.clv_summary`: predictions of the last published CLV fit, by cohort month × channel of the first order. */
export interface ClvSummaryTable {
  date: DateText;
  cohort_month: DateText;
  channel: string;
  customers: Count;
  expected_purchases_365d: Numeric;
  predicted_clv_12m: Numeric;
  expected_alive_customers: Numeric;
  avg_p_alive: Ratio;
  /** Null for a channel without spend that month. */
  ad_spend: Ratio;
  predicted_ltv_to_cac: Ratio;
}

/** `metrics.product_daily`: per local date × variant, what sold (order date) and what was refunded (refund date). */
export interface ProductDailyTable {
  date: DateText;
  product_id: string | null;
  /** Null for the lines of custom items, which have no variant. */
  variant_id: string | null;
  sku: string | null;
  product_title: string | null;
  variant_title: string | null;
  vendor: string | null;
  /** Null for a variant missing from the products stream. */
  product_type: string | null;
  units_sold: Count;
  orders: Count;
  product_sales: Numeric;
  cogs: Numeric;
  gross_profit: Numeric;
  units_refunded: Count;
  refunded_sales: Numeric;
  refund_unit_rate: Ratio;
}

/** `metrics.inventory_daily`: per stock snapshot date × tracked variant. */
export interface InventoryDailyTable {
  date: DateText;
  product_id: string | null;
  variant_id: string;
  sku: string | null;
  /**
   * The product's status when the snapshot was read (active, unlisted, draft, archived), else its
   * current one for a snapshot landed without it; null when neither is known.
   */
  product_status: string | null;
  /** available ≤ 0, for a variant for sale (its product active or unlisted at that snapshot, or not known). */
  is_out_of_stock: boolean;
  available: Count;
  units_sold_28d: Count;
  /** 0 when available ≤ 0; null when nothing sold in the 28 days. */
  days_of_cover: Ratio;
}

type NullableDate = ColumnType<string | null, string | null, string | null>;

/**
 * `metrics.clv_model`: one row per fit of the CLV models, kept (written by the fit, not by
 * the refresh). The hold-out columns are null for a fit without a hold-out end.
 */
export interface ClvModelTable {
  /** The calibration end. */
  date: DateText;
  fitted_at: ColumnType<Date, Date | string, Date | string>;
  calibration_end: DateText;
  customers: Count;
  repeat_customers: Count;
  r: Numeric;
  alpha: Numeric;
  a: Numeric;
  b: Numeric;
  bgnbd_log_likelihood: Numeric;
  p: Numeric;
  q: Numeric;
  gamma: Numeric;
  gamma_gamma_log_likelihood: Numeric;
  holdout_end: NullableDate;
  holdout_actual_repeat_transactions: ColumnType<number | null, number | string | null, number | string | null>;
  holdout_predicted_repeat_transactions: Ratio;
  holdout_correlation: Ratio;
  orders_checksum: string;
}

/** `metrics.catalog`: one row per published metric (dimension columns are described by column comments). */
export interface MetricsCatalogTable {
  metric: string;
  area: string;
  column_name: string;
  label: string;
  description: string;
  formula: string;
  /** `count`, `currency`, `ratio` or `days`. */
  unit: string;
  /** Comma-separated view names. */
  views: string;
  /** Comma-separated `source.stream` names. */
  sources: string;
  additive: boolean;
  /** For a ratio, the columns (of the same views) it divides. */
  numerator: string | null;
  denominator: string | null;
  sql_type: string;
  position: number;
  /**
   * How the column is computed, from the same objects the tables are built from: a base
   * measure's SQL (`sum(total_price_rc) over counted_orders by order_date`), a derived metric's
   * expression in the columns of its row; NULL for a column its table builds with a query of its own.
   */
  computed_as: string | null;
}

export interface MetricsTables {
  'metrics.kpi_daily': KpiDailyTable;
  'metrics.kpi_weekly': KpiPeriodTable;
  'metrics.kpi_monthly': KpiPeriodTable;
  'metrics.kpi_channel_daily': KpiChannelDailyTable;
  'metrics.customer_kpis': CustomerKpisTable;
  'metrics.cohort_monthly': CohortMonthlyTable;
  'metrics.revenue_reconciliation_daily': RevenueReconciliationDailyTable;
  'metrics.clv_summary': ClvSummaryTable;
  'metrics.product_daily': ProductDailyTable;
  'metrics.inventory_daily': InventoryDailyTable;
  'metrics.clv_model': ClvModelTable;
  'metrics.catalog': MetricsCatalogTable;
  'metrics.data_status': DataStatusTable;
}
