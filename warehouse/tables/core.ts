import type { TablesOf, TableColumns } from './columns.ts';

/**
 * The conformed tables (`core.*`), rebuilt by the transforms from raw on every run. Money
 * columns ending in `_rc` are in the reporting currency, converted on the row's local date;
 * the others are in the row's own `currency`. `numeric` arrives as a string (full precision);
 * `date` as 'YYYY-MM-DD'.
 *
 * The column lists are the description of what the models build, at run time as well as in the
 * types: `tests/transforms/types-match-models.test.ts` builds the models and fails when a
 * table's columns (names and kinds) differ from these.
 */
export const coreColumns = {
  'core.orders': {
    order_id: 'text',
    order_name: 'text?',
    created_at: 'timestamptz',
    /** Local date of created_at in the reporting time zone. */
    order_date: 'date',
    updated_at: 'timestamptz?',
    cancelled_at: 'timestamptz?',
    currency: 'text',
    total_price: 'numeric',
    subtotal_price: 'numeric',
    total_discounts: 'numeric',
    total_tax: 'numeric',
    total_shipping: 'numeric',
    /** Successful refund transactions, in the order's currency. */
    refunded: 'numeric',
    total_price_rc: 'numeric',
    subtotal_price_rc: 'numeric',
    total_discounts_rc: 'numeric',
    total_tax_rc: 'numeric',
    total_shipping_rc: 'numeric',
    /** Each refund converted on its own date. */
    refunded_rc: 'numeric',
    is_test: 'boolean',
    is_cancelled: 'boolean',
    /** Deleted in Shopify (a deletion event in `staging.shopify_deletions`). */
    is_deleted: 'boolean',
    /** Neither test, cancelled nor deleted: the orders every metric counts. */
    is_counted: 'boolean',
    customer_key: 'text',
    shopify_customer_id: 'text?',
    email: 'text?',
    channel: 'text',
    utm_source: 'text?',
    utm_medium: 'text?',
    utm_campaign: 'text?',
    landing_site: 'text?',
    referring_site: 'text?',
    /** 1 for the customer's first counted order, 2 for the second …; null when not counted. */
    customer_order_seq: 'integer?',
    is_first_order: 'boolean',
    /** payment_gateway_names includes stripe. */
    paid_with_stripe: 'boolean',
  },
  'core.order_lines': {
    order_id: 'text',
    line_id: 'text',
    order_date: 'date',
    is_counted: 'boolean',
    product_id: 'text?',
    variant_id: 'text?',
    sku: 'text?',
    title: 'text?',
    variant_title: 'text?',
    vendor: 'text?',
    /** The units ordered, including those refunded or removed by an order edit (Shopify's `quantity`). */
    quantity: 'integer',
    /** The units an order edit removed (staging.shopify_order_lines.removed_quantity). */
    removed_quantity: 'integer',
    /** quantity − removed_quantity: the units the metrics count as sold (refunded units included; the refund lines take them back). */
    sold_quantity: 'integer',
    price: 'numeric',
    total_discount: 'numeric',
    /** price × quantity − total_discount. */
    line_total: 'numeric',
    /** The line's discount_allocations summed (order-level codes included), else total_discount. */
    discount: 'numeric',
    /** The line's tax_lines summed. */
    tax: 'numeric',
    /** The order's prices include tax. */
    taxes_included: 'boolean',
    /** price × sold_quantity − discount, less tax when taxes_included, the discount and tax scaled by sold_quantity / quantity (docs/metrics.md, line sales). */
    line_sales: 'numeric',
    currency: 'text',
    line_total_rc: 'numeric',
    line_sales_rc: 'numeric',
    /** The line's variant is in the products stream. */
    variant_in_products: 'boolean',
    /** Where the unit cost came from: the costs file, Shopify's current cost, or null when unknown. */
    unit_cost_source: 'text?',
    /** In unit_cost_currency. */
    unit_cost: 'numeric?',
    unit_cost_currency: 'text?',
    /** Converted on the order's date. */
    unit_cost_rc: 'numeric?',
  },
  'core.refund_lines': {
    refund_line_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    /** The refunded order line. */
    line_id: 'text?',
    product_id: 'text?',
    variant_id: 'text?',
    sku: 'text?',
    /** The refunded order line's title, variant_title and vendor. */
    title: 'text?',
    variant_title: 'text?',
    vendor: 'text?',
    created_at: 'timestamptz',
    refund_date: 'date',
    quantity: 'integer',
    subtotal: 'numeric',
    total_tax: 'numeric',
    /** subtotal, less total_tax when the order's prices include tax. */
    refunded_sales: 'numeric',
    /** The order's currency. */
    currency: 'text',
    subtotal_rc: 'numeric',
    total_tax_rc: 'numeric',
    refunded_sales_rc: 'numeric',
    order_is_counted: 'boolean',
  },
  'core.refund_shipping_lines': {
    refund_shipping_line_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    created_at: 'timestamptz',
    refund_date: 'date',
    /** The shipping paid back. */
    subtotal: 'numeric',
    /** Its tax: refunded tax, as a refund line's total_tax is. */
    tax: 'numeric',
    /** The order's currency. */
    currency: 'text',
    subtotal_rc: 'numeric',
    tax_rc: 'numeric',
    order_is_counted: 'boolean',
  },
  'core.refunds': {
    /** The refund transaction's id (a refund can hold several transactions). */
    refund_transaction_id: 'text',
    refund_id: 'text',
    order_id: 'text',
    created_at: 'timestamptz',
    refund_date: 'date',
    amount: 'numeric',
    currency: 'text',
    amount_rc: 'numeric',
    /** Whether the refunded order is counted (metrics only take those). */
    order_is_counted: 'boolean',
    customer_key: 'text',
  },
  'core.customers': {
    customer_key: 'text',
    shopify_customer_id: 'text?',
    email: 'text?',
    first_order_id: 'text',
    first_order_at: 'timestamptz',
    first_order_date: 'date',
    last_order_at: 'timestamptz',
    last_order_date: 'date',
    counted_orders: 'integer',
    lifetime_revenue_rc: 'numeric',
    lifetime_refunds_rc: 'numeric',
    acquisition_channel: 'text',
  },
  'core.payments': {
    charge_id: 'text',
    created_at: 'timestamptz',
    payment_date: 'date',
    status: 'text',
    currency: 'text',
    amount: 'numeric',
    amount_captured: 'numeric',
    amount_refunded: 'numeric',
    amount_rc: 'numeric',
    amount_captured_rc: 'numeric',
    amount_refunded_rc: 'numeric',
    stripe_customer_id: 'text?',
    payment_intent: 'text?',
    metadata_order_id: 'text?',
    failure_code: 'text?',
    /** The Shopify order the charge pays, or null. */
    order_id: 'text?',
    /** How it was matched: metadata_order_id, metadata_order_name, payment_intent, or null. */
    match_method: 'text?',
  },
  'core.spend': {
    date: 'date',
    platform: 'text',
    account_id: 'text',
    campaign_id: 'text',
    campaign_name: 'text?',
    channel: 'text',
    currency: 'text',
    account_time_zone: 'text?',
    spend: 'numeric',
    spend_rc: 'numeric',
    clicks: 'bigint',
    impressions: 'bigint',
    platform_conversions: 'numeric',
    platform_conversion_value: 'numeric',
    platform_conversion_value_rc: 'numeric',
  },
  'core.traffic': {
    /** The raw row's key: property + date + the dimensions as GA4 sent them. */
    row_key: 'text',
    date: 'date',
    property_id: 'text',
    channel: 'text',
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
    /** The property's currency (the row's, else the ga4 source's `currency`, else reporting). */
    currency: 'text',
    purchase_revenue: 'numeric',
    /** purchase_revenue converted on the report date. */
    purchase_revenue_rc: 'numeric',
  },
  'core.shipments': {
    shipment_key: 'text',
    tracking_number: 'text?',
    /** The Shopify order id it was matched to (by id or name), or null. */
    order_id: 'text?',
    /** Its order is counted (not a test, not cancelled): the shipments the metrics count. False without an order. */
    order_is_counted: 'boolean',
    order_ref: 'text?',
    carrier: 'text?',
    service: 'text?',
    status: 'text?',
    shipped_at: 'timestamptz?',
    shipped_date: 'date?',
    estimated_delivery_at: 'timestamptz?',
    promised_date: 'date?',
    delivered_at: 'timestamptz?',
    delivered_date: 'date?',
    returned_at: 'timestamptz?',
    returned_date: 'date?',
    /** delivered_at − the order's created_at, in fractional days. */
    delivery_days: 'numeric?',
    /** delivered_date ≤ promised_date; null without both. */
    is_on_time: 'boolean?',
    currency: 'text?',
    shipping_cost: 'numeric?',
    /** The date the cost is converted on: shipped, else the order's, else delivered, else promised. */
    cost_date: 'date?',
    shipping_cost_rc: 'numeric?',
  },
  'core.products': {
    product_id: 'text',
    title: 'text?',
    product_type: 'text?',
    vendor: 'text?',
    status: 'text?',
    created_at: 'timestamptz?',
    updated_at: 'timestamptz?',
    variants: 'integer',
  },
  'core.product_variants': {
    variant_id: 'text',
    product_id: 'text',
    sku: 'text?',
    product_title: 'text?',
    variant_title: 'text?',
    vendor: 'text?',
    product_type: 'text?',
    /** The product's status, lower case: active, unlisted, draft or archived (Shopify's ProductStatus). */
    product_status: 'text?',
    price: 'numeric?',
    inventory_item_id: 'text?',
    /** Shopify counts its stock. */
    is_tracked: 'boolean',
    /** Shopify's current cost per item (it keeps no history), in unit_cost_currency. */
    unit_cost: 'numeric?',
    unit_cost_currency: 'text?',
  },
  'core.inventory_levels': {
    level_key: 'text',
    snapshot_date: 'date',
    inventory_item_id: 'text?',
    variant_id: 'text?',
    product_id: 'text?',
    sku: 'text?',
    location_id: 'text?',
    /** Shopify's available quantity at the location; negative when oversold. */
    available: 'integer',
    is_tracked: 'boolean',
    /**
     * The product's status when the snapshot was read (the level's own), else its current one
     * (core.product_variants) for a level landed without it; null when neither is known.
     */
    product_status: 'text?',
    /** The product is for sale: active or unlisted, or its status is not known. Archived and draft products are not. */
    is_for_sale: 'boolean',
    updated_at: 'timestamptz?',
  },
  'core.balance_transactions': {
    balance_transaction_id: 'text',
    created_at: 'timestamptz',
    transaction_date: 'date',
    type: 'text?',
    reporting_category: 'text?',
    status: 'text?',
    source_id: 'text?',
    currency: 'text',
    /** Signed, in major units: a payout or a refund is negative. */
    amount: 'numeric',
    fee: 'numeric',
    net: 'numeric',
    /** fee, plus −amount for a stripe_fee transaction (a fee billed apart). */
    payment_fee: 'numeric',
    /** −amount for a payout (cash sent to the bank), else 0. */
    payout: 'numeric',
    amount_rc: 'numeric',
    fee_rc: 'numeric',
    net_rc: 'numeric',
    payment_fee_rc: 'numeric',
    payout_rc: 'numeric',
  },
  'core.fx_rates': {
    date: 'date',
    currency: 'text',
    /** 1 unit of `currency` is worth `rate` units of the reporting currency on `date`. */
    rate: 'numeric',
    /** direct, inverse, cross (through EUR), carried (forward from an earlier date) or identity. */
    method: 'text',
    /** The date of the published rate used (earlier than `date` when carried forward). */
    rate_date: 'date',
  },
  /**
   * One row per customer, written by the CLV fit that last published (not by the transforms;
   * its table is migration 0011's): the customer's history as of the calibration end and the
   * models' predictions. `t_x` and `t` (docs/metrics.md's T) are in weeks.
   */
  'core.customer_predictions': {
    customer_key: 'text',
    calibration_end: 'date',
    fitted_at: 'timestamptz',
    x: 'integer',
    t_x: 'numeric',
    t: 'numeric',
    /** Mean value of the repeat transactions; null for x = 0. */
    m: 'numeric?',
    p_alive: 'numeric',
    expected_purchases_90d: 'numeric',
    expected_purchases_365d: 'numeric',
    /** Null where the spend model has no finite mean. */
    expected_spend: 'numeric?',
    predicted_clv_12m: 'numeric?',
  },
} as const satisfies Readonly<Record<string, TableColumns>>;

export type CoreTables = TablesOf<typeof coreColumns>;

export type CoreOrdersTable = CoreTables['core.orders'];
export type CoreOrderLinesTable = CoreTables['core.order_lines'];
export type CoreRefundsTable = CoreTables['core.refunds'];
export type CoreCustomersTable = CoreTables['core.customers'];
export type CorePaymentsTable = CoreTables['core.payments'];
export type CoreSpendTable = CoreTables['core.spend'];
export type CoreTrafficTable = CoreTables['core.traffic'];
export type CoreShipmentsTable = CoreTables['core.shipments'];
export type CoreRefundLinesTable = CoreTables['core.refund_lines'];
export type CoreRefundShippingLinesTable = CoreTables['core.refund_shipping_lines'];
export type CoreProductsTable = CoreTables['core.products'];
export type CoreProductVariantsTable = CoreTables['core.product_variants'];
export type CoreInventoryLevelsTable = CoreTables['core.inventory_levels'];
export type CoreBalanceTransactionsTable = CoreTables['core.balance_transactions'];
export type CoreFxRatesTable = CoreTables['core.fx_rates'];
export type CoreCustomerPredictionsTable = CoreTables['core.customer_predictions'];
