import type { ColumnType } from 'kysely';

/**
 * The conformed tables (`core.*`), rebuilt by the transforms from raw on every run. Money
 * columns ending in `_rc` are in the reporting currency, converted on the row's local date;
 * the others are in the row's own `currency`. `numeric` arrives as a string (full precision);
 * `date` as 'YYYY-MM-DD'.
 */
type Numeric = ColumnType<string, string | number, string | number>;
type NullableNumeric = ColumnType<string | null, string | number | null, string | number | null>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type DateText = ColumnType<string, string, string>;
/** A bigint count (parsed to a number). */
type Count = ColumnType<number, number | string, number | string>;
type NullableDate = ColumnType<string | null, string | null, string | null>;

export interface CoreOrdersTable {
  order_id: string;
  order_name: string | null;
  created_at: Timestamp;
  /** Local date of created_at in the reporting time zone. */
  order_date: DateText;
  updated_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  currency: string;
  total_price: Numeric;
  subtotal_price: Numeric;
  total_discounts: Numeric;
  total_tax: Numeric;
  total_shipping: Numeric;
  /** Successful refund transactions, in the order's currency. */
  refunded: Numeric;
  total_price_rc: Numeric;
  subtotal_price_rc: Numeric;
  total_discounts_rc: Numeric;
  total_tax_rc: Numeric;
  total_shipping_rc: Numeric;
  /** Each refund converted on its own date. */
  refunded_rc: Numeric;
  is_test: boolean;
  is_cancelled: boolean;
  /** Deleted in Shopify (a deletion event in `staging.shopify_deletions`). */
  is_deleted: boolean;
  /** Neither test, cancelled nor deleted: the orders every metric counts. */
  is_counted: boolean;
  customer_key: string;
  shopify_customer_id: string | null;
  email: string | null;
  channel: string;
  utm_source: string | null;
  utm_medium: string | null;
  utm_campaign: string | null;
  landing_site: string | null;
  referring_site: string | null;
  /** 1 for the customer's first counted order, 2 for the second …; null when not counted. */
  customer_order_seq: number | null;
  is_first_order: boolean;
  /** payment_gateway_names includes stripe. */
  paid_with_stripe: boolean;
}

export interface CoreOrderLinesTable {
  order_id: string;
  line_id: string;
  order_date: DateText;
  is_counted: boolean;
  product_id: string | null;
  variant_id: string | null;
  sku: string | null;
  title: string | null;
  quantity: number;
  price: Numeric;
  total_discount: Numeric;
  /** price × quantity − total_discount. */
  line_total: Numeric;
  currency: string;
  line_total_rc: Numeric;
}

export interface CoreRefundsTable {
  /** The refund transaction's id (a refund can hold several transactions). */
  refund_transaction_id: string;
  refund_id: string;
  order_id: string;
  created_at: Timestamp;
  refund_date: DateText;
  amount: Numeric;
  currency: string;
  amount_rc: Numeric;
  /** Whether the refunded order is counted (metrics only take those). */
  order_is_counted: boolean;
  customer_key: string;
}

export interface CoreCustomersTable {
  customer_key: string;
  shopify_customer_id: string | null;
  email: string | null;
  first_order_id: string;
  first_order_at: Timestamp;
  first_order_date: DateText;
  last_order_at: Timestamp;
  last_order_date: DateText;
  counted_orders: number;
  lifetime_revenue_rc: Numeric;
  lifetime_refunds_rc: Numeric;
  acquisition_channel: string;
}

export interface CorePaymentsTable {
  charge_id: string;
  created_at: Timestamp;
  payment_date: DateText;
  status: string;
  currency: string;
  amount: Numeric;
  amount_captured: Numeric;
  amount_refunded: Numeric;
  amount_rc: Numeric;
  amount_captured_rc: Numeric;
  amount_refunded_rc: Numeric;
  stripe_customer_id: string | null;
  payment_intent: string | null;
  metadata_order_id: string | null;
  failure_code: string | null;
  /** The Shopify order the charge pays, or null. */
  order_id: string | null;
  /** How it was matched: metadata_order_id, metadata_order_name, payment_intent, or null. */
  match_method: string | null;
}

export interface CoreSpendTable {
  date: DateText;
  platform: string;
  account_id: string;
  campaign_id: string;
  campaign_name: string | null;
  channel: string;
  currency: string;
  account_time_zone: string | null;
  spend: Numeric;
  spend_rc: Numeric;
  clicks: Count;
  impressions: Count;
  platform_conversions: Numeric;
  platform_conversion_value: Numeric;
  platform_conversion_value_rc: Numeric;
}

export interface CoreTrafficTable {
  /** The raw row's key: property + date + the dimensions as GA4 sent them. */
  row_key: string;
  date: DateText;
  property_id: string;
  channel: string;
  channel_group: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  device: string | null;
  sessions: Count;
  users: Count;
  new_users: Count;
  add_to_carts: Count;
  checkouts: Count;
  purchases: Count;
  /** The property's currency (the row's, else the ga4 source's `currency`, else reporting). */
  currency: string;
  purchase_revenue: Numeric;
  /** purchase_revenue converted on the report date. */
  purchase_revenue_rc: Numeric;
}

export interface CoreShipmentsTable {
  shipment_key: string;
  tracking_number: string | null;
  /** The Shopify order id it was matched to (by id or name), or null. */
  order_id: string | null;
  order_ref: string | null;
  carrier: string | null;
  service: string | null;
  status: string | null;
  shipped_at: NullableTimestamp;
  shipped_date: NullableDate;
  estimated_delivery_at: NullableTimestamp;
  promised_date: NullableDate;
  delivered_at: NullableTimestamp;
  delivered_date: NullableDate;
  returned_at: NullableTimestamp;
  returned_date: NullableDate;
  /** delivered_at − the order's created_at, in fractional days. */
  delivery_days: NullableNumeric;
  /** delivered_date ≤ promised_date; null without both. */
  is_on_time: boolean | null;
  currency: string | null;
  shipping_cost: NullableNumeric;
  /** The date the cost is converted on: shipped, else the order's, else delivered, else promised. */
  cost_date: NullableDate;
  shipping_cost_rc: NullableNumeric;
}

export interface CoreFxRatesTable {
  date: DateText;
  currency: string;
  /** 1 unit of `currency` is worth `rate` units of the reporting currency on `date`. */
  rate: Numeric;
  /** direct, inverse, cross (through EUR), carried (forward from an earlier date) or identity. */
  method: string;
  /** The date of the published rate used (earlier than `date` when carried forward). */
  rate_date: DateText;
}

/**
 * One row per customer, written by the CLV fit that last published (not by the transforms):
 * the customer's history as of the calibration end and the models' predictions. `t_x` and `t`
 * (METRICS.md's T) are in weeks.
 */
export interface CoreCustomerPredictionsTable {
  customer_key: string;
  calibration_end: DateText;
  fitted_at: Timestamp;
  x: number;
  t_x: Numeric;
  t: Numeric;
  /** Mean value of the repeat transactions; null for x = 0. */
  m: NullableNumeric;
  p_alive: Numeric;
  expected_purchases_90d: Numeric;
  expected_purchases_365d: Numeric;
  /** Null where the spend model has no finite mean. */
  expected_spend: NullableNumeric;
  predicted_clv_12m: NullableNumeric;
}

export interface CoreTables {
  'core.orders': CoreOrdersTable;
  'core.order_lines': CoreOrderLinesTable;
  'core.refunds': CoreRefundsTable;
  'core.customers': CoreCustomersTable;
  'core.payments': CorePaymentsTable;
  'core.spend': CoreSpendTable;
  'core.traffic': CoreTrafficTable;
  'core.shipments': CoreShipmentsTable;
  'core.fx_rates': CoreFxRatesTable;
  'core.customer_predictions': CoreCustomerPredictionsTable;
}
