import { oneOf, type TablesOf, type TableColumns } from './columns.ts';

/**
 * The staging tables (`staging.*`): one per raw stream, the API's JSON flattened into typed
 * columns (ids as text, timestamps as timestamptz, money as numeric in major units). Rebuilt
 * by the transforms; values as the driver returns them.
 *
 * The column lists are the description of what the models build, at run time as well as in the
 * types: `tests/transforms/types-match-models.test.ts` builds the models and fails when a
 * table's columns (names and kinds) differ from these.
 */

/** The columns the Google Ads and Meta campaign-day tables share. */
const AD_CAMPAIGN_DAY = {
  row_key: 'text',
  date: 'date',
  account_id: 'text',
  currency: 'text',
  account_time_zone: 'text?',
  campaign_id: 'text',
  campaign_name: 'text?',
  spend: 'numeric',
  clicks: 'bigint',
  impressions: 'bigint',
  conversions: 'numeric',
  conversions_value: 'numeric',
} as const satisfies TableColumns;

export const stagingColumns = {
  'staging.shopify_orders': {
    order_id: 'text',
    order_name: 'text?',
    created_at: 'timestamptz?',
    updated_at: 'timestamptz?',
    cancelled_at: 'timestamptz?',
    is_test: 'boolean',
    taxes_included: 'boolean?',
    currency: 'text',
    total_price: 'numeric',
    subtotal_price: 'numeric',
    total_discounts: 'numeric',
    total_tax: 'numeric',
    total_shipping: 'numeric',
    shopify_customer_id: 'text?',
    email: 'text?',
    landing_site: 'text?',
    referring_site: 'text?',
    utm_source: 'text?',
    utm_medium: 'text?',
    utm_campaign: 'text?',
    referrer_host: 'text?',
    payment_gateway_names: 'text[]',
    financial_status: 'text?',
    has_refunds: 'boolean',
  },
  'staging.shopify_order_lines': {
    order_id: 'text',
    line_id: 'text',
    product_id: 'text?',
    variant_id: 'text?',
    sku: 'text?',
    title: 'text?',
    variant_title: 'text?',
    vendor: 'text?',
    /** The units ordered, including those refunded or removed by an order edit (Shopify's `quantity`). */
    quantity: 'integer',
    /** The units an order edit removed: quantity − current_quantity − the units refunded, never below 0; 0 without current_quantity. */
    removed_quantity: 'integer',
    price: 'numeric',
    total_discount: 'numeric',
    /** The sum of the line's discount_allocations (else total_discount). */
    discount: 'numeric',
    /** The sum of the line's tax_lines. */
    tax: 'numeric',
  },
  'staging.shopify_refund_lines': {
    refund_line_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    /** The refunded line item's id. */
    line_id: 'text?',
    created_at: 'timestamptz?',
    /** The refund has a successful refund transaction. */
    is_successful: 'boolean',
    quantity: 'integer',
    subtotal: 'numeric',
    total_tax: 'numeric',
  },
  'staging.shopify_refund_shipping_lines': {
    refund_shipping_line_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    created_at: 'timestamptz?',
    /** The refund has a successful refund transaction. */
    is_successful: 'boolean',
    /** The shipping paid back (`subtotal_amount`), in the order's currency. */
    subtotal: 'numeric',
    /** Its tax (`tax_amount`). */
    tax: 'numeric',
  },
  'staging.shopify_refunds': {
    refund_transaction_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    created_at: 'timestamptz?',
    kind: 'text?',
    status: 'text?',
    amount: 'numeric',
    currency: 'text?',
  },
  'staging.shopify_customers': {
    customer_id: 'text',
    /** Shopify says the customer was deleted (`staging.shopify_deletions`). */
    is_deleted: 'boolean',
    email: 'text?',
    first_name: 'text?',
    last_name: 'text?',
    created_at: 'timestamptz?',
    updated_at: 'timestamptz?',
    state: 'text?',
  },
  /** One row per order or customer deleted in Shopify. */
  'staging.shopify_deletions': {
    record_type: oneOf('order', 'customer'),
    /** The deleted record's id, as `order_id` / `customer_id` give it. */
    record_id: 'text',
    deleted_at: 'timestamptz?',
  },
  'staging.stripe_charges': {
    charge_id: 'text',
    created_at: 'timestamptz?',
    status: 'text?',
    currency: 'text',
    amount: 'numeric',
    amount_captured: 'numeric',
    amount_refunded: 'numeric',
    stripe_customer_id: 'text?',
    payment_intent: 'text?',
    metadata_order_id: 'text?',
    failure_code: 'text?',
    outcome_type: 'text?',
  },
  'staging.stripe_refunds': {
    refund_id: 'text',
    charge_id: 'text?',
    created_at: 'timestamptz?',
    status: 'text?',
    currency: 'text',
    amount: 'numeric',
  },
  'staging.ga4_traffic': {
    row_key: 'text',
    property_id: 'text',
    date: 'date',
    channel_group: 'text?',
    source: 'text?',
    medium: 'text?',
    campaign: 'text?',
    device: 'text?',
    sessions: 'bigint',
    users: 'bigint',
    new_users: 'bigint',
    add_to_carts: 'bigint',
    checkouts: 'bigint',
    purchases: 'bigint',
    purchase_revenue: 'numeric',
    /** The row's property_currency_code, or null. */
    currency: 'text?',
  },
  'staging.google_ads_campaigns': AD_CAMPAIGN_DAY,
  'staging.meta_ads_campaigns': { ...AD_CAMPAIGN_DAY, reach: 'bigint' },
  'staging.shipments': {
    shipment_key: 'text',
    tracking_number: 'text?',
    order_ref: 'text?',
    carrier: 'text?',
    service: 'text?',
    status: 'text?',
    shipped_at: 'timestamptz?',
    shipped_on: 'date?',
    estimated_delivery_at: 'timestamptz?',
    estimated_delivery_on: 'date?',
    delivered_at: 'timestamptz?',
    delivered_on: 'date?',
    returned_at: 'timestamptz?',
    returned_on: 'date?',
    shipping_cost: 'numeric?',
    currency: 'text?',
    /** An EasyPost return label (its Shipment's or its tracker's `is_return`). */
    is_return_label: 'boolean',
  },
  'staging.shopify_products': {
    product_id: 'text',
    title: 'text?',
    product_type: 'text?',
    vendor: 'text?',
    status: 'text?',
    created_at: 'timestamptz?',
    updated_at: 'timestamptz?',
  },
  'staging.shopify_product_variants': {
    variant_id: 'text',
    product_id: 'text',
    sku: 'text?',
    title: 'text?',
    price: 'numeric?',
    inventory_item_id: 'text?',
    is_tracked: 'boolean',
    /** The inventory item's current cost per item, or null when none is set. */
    unit_cost: 'numeric?',
    unit_cost_currency: 'text?',
  },
  'staging.shopify_inventory_levels': {
    level_key: 'text',
    snapshot_date: 'date',
    inventory_item_id: 'text?',
    variant_id: 'text?',
    location_id: 'text?',
    available: 'integer',
    is_tracked: 'boolean?',
    /** The product's status when the snapshot was read, lower case; null for a level landed before the stream read it. */
    product_status: 'text?',
    updated_at: 'timestamptz?',
  },
  'staging.stripe_balance_transactions': {
    balance_transaction_id: 'text',
    created_at: 'timestamptz?',
    available_on: 'timestamptz?',
    type: 'text?',
    reporting_category: 'text?',
    status: 'text?',
    currency: 'text',
    /** Signed: a payout or a refund takes money out of the balance. */
    amount: 'numeric',
    fee: 'numeric',
    net: 'numeric',
    source_id: 'text?',
  },
  'staging.costs_unit_costs': {
    cost_key: 'text',
    sku: 'text',
    unit_cost: 'numeric',
    currency: 'text',
    valid_from: 'date',
  },
  'staging.fx_rates': {
    rate_key: 'text',
    date: 'date',
    base: 'text',
    quote: 'text',
    rate: 'numeric',
  },
} as const satisfies Readonly<Record<string, TableColumns>>;

export type StagingTables = TablesOf<typeof stagingColumns>;

export type StagingShopifyOrdersTable = StagingTables['staging.shopify_orders'];
export type StagingShopifyOrderLinesTable = StagingTables['staging.shopify_order_lines'];
export type StagingShopifyRefundsTable = StagingTables['staging.shopify_refunds'];
export type StagingShopifyCustomersTable = StagingTables['staging.shopify_customers'];
export type StagingShopifyDeletionsTable = StagingTables['staging.shopify_deletions'];
export type StagingStripeChargesTable = StagingTables['staging.stripe_charges'];
export type StagingStripeRefundsTable = StagingTables['staging.stripe_refunds'];
export type StagingGa4TrafficTable = StagingTables['staging.ga4_traffic'];
export type StagingGoogleAdsCampaignsTable = StagingTables['staging.google_ads_campaigns'];
export type StagingMetaAdsCampaignsTable = StagingTables['staging.meta_ads_campaigns'];
export type StagingShipmentsTable = StagingTables['staging.shipments'];
export type StagingShopifyRefundLinesTable = StagingTables['staging.shopify_refund_lines'];
export type StagingShopifyRefundShippingLinesTable = StagingTables['staging.shopify_refund_shipping_lines'];
export type StagingShopifyProductsTable = StagingTables['staging.shopify_products'];
export type StagingShopifyProductVariantsTable = StagingTables['staging.shopify_product_variants'];
export type StagingShopifyInventoryLevelsTable = StagingTables['staging.shopify_inventory_levels'];
export type StagingStripeBalanceTransactionsTable = StagingTables['staging.stripe_balance_transactions'];
export type StagingCostsUnitCostsTable = StagingTables['staging.costs_unit_costs'];
export type StagingFxRatesTable = StagingTables['staging.fx_rates'];
