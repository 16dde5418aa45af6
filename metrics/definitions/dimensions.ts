import { dimension } from '../definition.ts';

/** The columns of the views that are not metrics: what a row is about. */

export const date = dimension({
  name: 'date',
  label: 'Date',
  description:
    'The local date in the reporting time zone (SQL date). kpi_daily and revenue_reconciliation_daily: the day, every day from the first to the last day with data; ' +
    'kpi_weekly: the Monday of the ISO week; kpi_monthly: the first day of the month; kpi_channel_daily: the day; ' +
    'customer_kpis: the as-of date (the last day of each month before the date of the last counted order, and that date itself: never a date after the data); ' +
    'cohort_monthly: the first day of the calendar month the row measures; clv_summary: the cohort month; clv_model: the calibration end of the fit; ' +
    'product_daily: the day of the sales (order date) and of the refunds (refund date); inventory_daily: the date of the stock snapshot.',
  views: ['kpi_daily', 'kpi_weekly', 'kpi_monthly', 'kpi_channel_daily', 'customer_kpis', 'cohort_monthly', 'revenue_reconciliation_daily', 'clv_summary', 'clv_model', 'product_daily', 'inventory_daily'],
  sources: [],
  sqlType: 'date',
});

export const daysInPeriod = dimension({
  name: 'days_in_period',
  label: 'Days in the period',
  description: 'How many days the period has: 7 for an ISO week, the length of the month (28 to 31) for a month.',
  views: ['kpi_weekly', 'kpi_monthly'],
  sources: [],
  sqlType: 'integer',
});

export const daysWithData = dimension({
  name: 'days_with_data',
  label: 'Days with data',
  description:
    'How many days of the period kpi_daily covers (it has a row for every day from the first to the last day with data): days_in_period for a period ' +
    'inside the data, fewer for the first period (the data began within it) and the last (the data ends within it). Each sum covers these days only.',
  views: ['kpi_weekly', 'kpi_monthly'],
  sources: [],
  sqlType: 'integer',
});

export const isComplete = dimension({
  name: 'is_complete',
  label: 'Complete period',
  description:
    "Whether the period's last day (kpi_weekly: its Sunday; kpi_monthly and cohort_monthly: the month's last day) is on or before the last complete day of data " +
    "(metrics.data_status, the metrics row's complete_through: yesterday at the refresh, or earlier when a stream's last read failed or a fresh stream covers " +
    'fewer days, and never after the last day of kpi_daily). A period still in progress is false: compare it with nothing. A first period the data began ' +
    'within is complete, with days_with_data < days_in_period.',
  views: ['kpi_weekly', 'kpi_monthly', 'cohort_monthly'],
  sources: [],
  sqlType: 'boolean',
});

export const channel = dimension({
  name: 'channel',
  label: 'Channel',
  description:
    "The marketing channel (google_ads, meta_ads, email, organic_search, referral, other, direct): an order's from the UTM parameters of its landing page, " +
    "else its referrer; a GA4 row's from its session source and medium; ad spend carries its platform's channel. The rule table is configurable (`channels`). " +
    "clv_summary: the channel of the customers' first counted order.",
  views: ['kpi_channel_daily', 'clv_summary'],
  sources: ['shopify.orders', 'ga4.traffic_daily', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily'],
  sqlType: 'text',
});

export const cohortMonth = dimension({
  name: 'cohort_month',
  label: 'Cohort month',
  description: "The first day of the month of the cohort's customers' first counted order.",
  views: ['cohort_monthly', 'clv_summary'],
  sources: ['shopify.orders'],
  sqlType: 'date',
});

export const monthsSinceFirstOrder = dimension({
  name: 'months_since_first_order',
  label: 'Months since first order',
  description: 'Calendar months from the cohort month to the month measured: 0 for the cohort month itself, 1 for the next … up to the month of the last counted order.',
  views: ['cohort_monthly'],
  sources: ['shopify.orders'],
  sqlType: 'integer',
});

// clv_model: what identifies a fit.

export const fittedAt = dimension({
  name: 'fitted_at',
  label: 'Fitted at',
  description: 'When the CLV models were fitted (the row\'s key).',
  views: ['clv_model'],
  sources: [],
  sqlType: 'timestamptz',
});

export const calibrationEnd = dimension({
  name: 'calibration_end',
  label: 'Calibration end',
  description:
    "The date E the fit's histories are taken as of: the counted orders up to E (by default the date of the last counted order). A fit whose E is the date of the last " +
    'counted order publishes its predictions (clv_summary, core.customer_predictions); an earlier E is a back-test (checked against the orders after E when `verite clv fit --holdout-end` is given).',
  views: ['clv_model'],
  sources: ['shopify.orders'],
  sqlType: 'date',
});

export const holdoutEnd = dimension({
  name: 'holdout_end',
  label: 'Hold-out end',
  description: "The date H up to which the fit's predictions were checked against the orders after the calibration end; NULL for a fit without a hold-out check.",
  views: ['clv_model'],
  sources: ['shopify.orders'],
  sqlType: 'date',
});

export const ordersChecksum = dimension({
  name: 'orders_checksum',
  label: 'Orders checksum',
  description:
    'A checksum of every counted order (customer, local date, amount) when the fit was made: a run fits the models again only when it has changed.',
  views: ['clv_model'],
  sources: ['shopify.orders'],
  sqlType: 'text',
});

/** Every dimension. */
const PRODUCT_SOURCES = ['shopify.products', 'shopify.orders'] as const;

export const productId = dimension({
  name: 'product_id',
  label: 'Product',
  description: "The Shopify product's id: from the products stream, else from the order line.",
  views: ['product_daily', 'inventory_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const variantId = dimension({
  name: 'variant_id',
  label: 'Variant',
  description: "The Shopify variant's id (NULL in product_daily for the lines of custom items, which have no variant).",
  views: ['product_daily', 'inventory_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const sku = dimension({
  name: 'sku',
  label: 'SKU',
  description: "The variant's SKU: from the products stream, else from the order line.",
  views: ['product_daily', 'inventory_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const productTitle = dimension({
  name: 'product_title',
  label: 'Product title',
  description: "The product's title: from the products stream, else the order line's title.",
  views: ['product_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const variantTitle = dimension({
  name: 'variant_title',
  label: 'Variant title',
  description: "The variant's title: from the products stream, else the order line's variant_title.",
  views: ['product_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const vendor = dimension({
  name: 'vendor',
  label: 'Vendor',
  description: "The product's vendor: from the products stream, else the order line's.",
  views: ['product_daily'],
  sources: [...PRODUCT_SOURCES],
  sqlType: 'text',
});

export const productType = dimension({
  name: 'product_type',
  label: 'Product type',
  description: "The product's type, from the products stream; NULL for a variant missing from it.",
  views: ['product_daily'],
  sources: ['shopify.products'],
  sqlType: 'text',
});

export const productStatus = dimension({
  name: 'product_status',
  label: 'Product status',
  description:
    "The product's status when the stock snapshot was read, lower case: active, unlisted (sold, shown in no listing), draft (not yet sold) or archived (no longer sold). " +
    "A snapshot landed before the stock stream read it takes the product's current status in the products stream (Shopify keeps no history of it); " +
    'NULL when neither is known (a variant missing from the products stream, in such a snapshot).',
  views: ['inventory_daily'],
  sources: ['shopify.inventory_levels', 'shopify.products'],
  sqlType: 'text',
});

export const isOutOfStock = dimension({
  name: 'is_out_of_stock',
  label: 'Out of stock',
  description:
    '`available ≤ 0` in that snapshot, for a variant for sale: its product active or unlisted at that snapshot (product_status), or not known. ' +
    'A variant of an archived or draft product is not sold, so never out of stock (false): the rows variants_out_of_stock counts.',
  views: ['inventory_daily'],
  sources: ['shopify.inventory_levels', 'shopify.products'],
  sqlType: 'boolean',
});

export const dimensions = [
  date, daysInPeriod, daysWithData, isComplete, channel, cohortMonth, monthsSinceFirstOrder, fittedAt, calibrationEnd, holdoutEnd, ordersChecksum,
  productId, variantId, sku, productTitle, variantTitle, vendor, productType, productStatus, isOutOfStock,
];
