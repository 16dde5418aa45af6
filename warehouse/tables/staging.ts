import type { ColumnType } from 'kysely';

/**
 * The staging tables (`staging.*`): one per raw stream, the API's JSON flattened into typed
 * columns (ids as text, timestamps as timestamptz, money as numeric in major units). Rebuilt
 * by the transforms; values as the driver returns them.
 */
type Numeric = ColumnType<string, string | number, string | number>;
type NullableNumeric = ColumnType<string | null, string | number | null, string | number | null>;
type Count = ColumnType<number, number | string, number | string>;
type Timestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type DateText = ColumnType<string, string, string>;

export interface StagingShopifyOrdersTable {
  order_id: string;
  order_name: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  cancelled_at: Timestamp;
  is_test: boolean;
  currency: string;
  total_price: Numeric;
  subtotal_price: Numeric;
  total_discounts: Numeric;
  total_tax: Numeric;
  total_shipping: Numeric;
  shopify_customer_id: string | null;
  email: string | null;
  landing_site: string | null;
  referring_site: string | null;
  payment_gateway_names: string[];
  financial_status: string | null;
}

export interface StagingShopifyOrderLinesTable {
  order_id: string;
  line_id: string;
  product_id: string | null;
  variant_id: string | null;
  sku: string | null;
  title: string | null;
  quantity: number;
  price: Numeric;
  total_discount: Numeric;
}

export interface StagingShopifyRefundsTable {
  refund_transaction_id: string;
  refund_id: string;
  order_id: string;
  created_at: Timestamp;
  kind: string | null;
  status: string | null;
  amount: Numeric;
  currency: string | null;
}

export interface StagingShopifyCustomersTable {
  customer_id: string;
  /** Shopify says the customer was deleted (`staging.shopify_deletions`). */
  is_deleted: boolean;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  state: string | null;
}

/** One row per order or customer deleted in Shopify. */
export interface StagingShopifyDeletionsTable {
  record_type: 'order' | 'customer';
  /** The deleted record's id, as `order_id` / `customer_id` give it. */
  record_id: string;
  deleted_at: Timestamp;
}

export interface StagingStripeChargesTable {
  charge_id: string;
  created_at: Timestamp;
  status: string | null;
  currency: string;
  amount: Numeric;
  amount_captured: Numeric;
  amount_refunded: Numeric;
  stripe_customer_id: string | null;
  payment_intent: string | null;
  metadata_order_id: string | null;
  failure_code: string | null;
  outcome_type: string | null;
}

export interface StagingStripeRefundsTable {
  refund_id: string;
  charge_id: string | null;
  created_at: Timestamp;
  status: string | null;
  currency: string;
  amount: Numeric;
}

export interface StagingGa4TrafficTable {
  row_key: string;
  property_id: string;
  date: DateText;
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
  purchase_revenue: Numeric;
  /** The row's property_currency_code, or null. */
  currency: string | null;
}

interface AdCampaignDay {
  row_key: string;
  date: DateText;
  account_id: string;
  currency: string;
  account_time_zone: string | null;
  campaign_id: string;
  campaign_name: string | null;
  spend: Numeric;
  clicks: Count;
  impressions: Count;
  conversions: Numeric;
  conversions_value: Numeric;
}

export type StagingGoogleAdsCampaignsTable = AdCampaignDay;

export interface StagingMetaAdsCampaignsTable extends AdCampaignDay {
  reach: Count;
}

export interface StagingShipmentsTable {
  shipment_key: string;
  tracking_number: string | null;
  order_ref: string | null;
  carrier: string | null;
  service: string | null;
  status: string | null;
  shipped_at: Timestamp;
  shipped_on: string | null;
  estimated_delivery_at: Timestamp;
  estimated_delivery_on: string | null;
  delivered_at: Timestamp;
  delivered_on: string | null;
  returned_at: Timestamp;
  returned_on: string | null;
  shipping_cost: NullableNumeric;
  currency: string | null;
}

export interface StagingFxRatesTable {
  date: DateText;
  base: string;
  quote: string;
  rate: Numeric;
}

export interface StagingTables {
  'staging.shopify_orders': StagingShopifyOrdersTable;
  'staging.shopify_order_lines': StagingShopifyOrderLinesTable;
  'staging.shopify_refunds': StagingShopifyRefundsTable;
  'staging.shopify_customers': StagingShopifyCustomersTable;
  'staging.shopify_deletions': StagingShopifyDeletionsTable;
  'staging.stripe_charges': StagingStripeChargesTable;
  'staging.stripe_refunds': StagingStripeRefundsTable;
  'staging.ga4_traffic': StagingGa4TrafficTable;
  'staging.google_ads_campaigns': StagingGoogleAdsCampaignsTable;
  'staging.meta_ads_campaigns': StagingMetaAdsCampaignsTable;
  'staging.shipments': StagingShipmentsTable;
  'staging.fx_rates': StagingFxRatesTable;
}
