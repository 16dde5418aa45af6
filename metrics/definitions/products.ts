import { sql } from 'kysely';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';
import { countedOrderLines, countedRefundLines, stockSnapshots } from '../measure-sources.ts';

/**
 * What sells and what is in stock, per variant (docs/metrics.md, "Products, stock and profit"):
 * the columns of `product_daily` and `inventory_daily` besides their dimensions and the
 * product sales, cost of goods and gross profit they share with kpi_daily.
 */

const ORDER_SOURCES = ['shopify.orders', 'shopify.products', 'fx.rates'] as const;
const STOCK_SOURCES = ['shopify.inventory_levels', 'shopify.products', 'shopify.orders'] as const;

export const unitsSold = metric('profit', {
  name: 'units_sold',
  label: 'Units sold',
  description:
    'Units of the variant in the line items of the counted orders created on the date: their `quantity` less the units an order edit removed ' +
    '(`quantity − current_quantity −` the units refunded, never below 0; none for a line without `current_quantity`). Refunded units stay sold: units_refunded counts them.',
  formula: 'sum of `quantity` of lines of counted orders created that date',
  unit: 'count',
  views: ['product_daily'],
  sources: [...ORDER_SOURCES],
  measure: countedOrderLines.sum('sold_quantity'),
});

export const productOrders = metric('profit', {
  name: 'product_orders',
  column: 'orders',
  label: 'Orders with the variant',
  description: 'Distinct counted orders created on the date with a line of the variant.',
  formula: 'distinct counted orders with the variant that date; not additive over dates',
  unit: 'count',
  views: ['product_daily'],
  sources: [...ORDER_SOURCES],
  additive: false,
  additiveAcross: 'dates, for one variant (an order is created on one date)',
  whyNotAdditive: 'an order with several variants counts once for each: summed over variants it counts orders more than once',
  measure: countedOrderLines.countDistinct('order_id'),
});

export const unitsRefunded = metric('profit', {
  name: 'units_refunded',
  label: 'Units refunded',
  description:
    "Units of the variant in the refunded line items of the successful refunds of counted orders, dated by the refund's `created_at` (a later day than the sale).",
  formula: "sum of `quantity` of the `refund_line_items` of that variant in the successful refunds of counted orders, dated by the refund's `created_at`",
  unit: 'count',
  views: ['product_daily'],
  sources: [...ORDER_SOURCES],
  measure: countedRefundLines.sum('quantity'),
});

export const refundedSales = metric('profit', {
  name: 'refunded_sales',
  label: 'Refunded sales',
  description:
    "The refunded line items' `subtotal`, less their `total_tax` when the order's prices include tax (so it compares with product_sales), converted at the rate of the refund date.",
  formula: "their `subtotal`, less their `total_tax` when the order's `taxes_included` is true, so it compares with `product_sales`; converted on the refund date",
  unit: 'currency',
  views: ['product_daily'],
  sources: [...ORDER_SOURCES],
  measure: countedRefundLines.sum('refunded_sales_rc'),
});

export const refundUnitRate = metric('profit', {
  name: 'refund_unit_rate',
  label: 'Refunded units per unit sold',
  description: 'Units refunded on the date per unit sold on it (refunds are dated by refund, so a day can refund more than it sold). Over a range: SUM(units_refunded) / SUM(units_sold).',
  formula: '`units_refunded / units_sold` (NULL when none sold)',
  unit: 'ratio',
  display: 'percent',
  views: ['product_daily'],
  sources: [...ORDER_SOURCES],
  derivation: { kind: 'ratio', numerator: 'units_refunded', denominator: 'units_sold' },
});

export const available = metric('profit', {
  name: 'available',
  label: 'Available',
  description: "Shopify's `available` quantity of the variant in that date's snapshot, summed over its locations (negative when oversold).",
  formula: '`available` summed over locations',
  unit: 'count',
  views: ['inventory_daily'],
  sources: [...STOCK_SOURCES],
  additive: false,
  additiveAcross: 'variants, on one date',
  whyNotAdditive: 'a stock level is a snapshot: over a period read the last date, never the sum of the days',
});

export const unitsSold28d = metric('profit', {
  name: 'units_sold_28d',
  label: 'Units sold in 28 days',
  description: 'Units of the variant sold in the 28 days ending on the date (product_daily). Covers fewer days in the first 27 days of data.',
  formula: 'units sold in the 28 days ending that date, from `product_daily`',
  unit: 'count',
  views: ['inventory_daily'],
  sources: [...STOCK_SOURCES],
  additive: false,
  additiveAcross: 'variants, on one date',
  whyNotAdditive: 'a rolling 28-day window: consecutive dates share 27 of their days',
});

export const daysOfCover = metric('profit', {
  name: 'days_of_cover',
  label: 'Days of cover',
  description:
    'How many days the stock lasts at the pace of the last 28 days: 0 when `available` is 0 or less (out of stock, or an archived or draft product left at 0), ' +
    'whatever the sales; NULL when nothing sold in those 28 days. Worked out as `available × 28 / units_sold_28d`, the same quotient with no rounded rate in it.',
  formula: '`available / (units_sold_28d / 28)` (0 when out of stock, whatever the sales; else NULL when nothing sold in those 28 days)',
  unit: 'days',
  views: ['inventory_daily'],
  sources: [...STOCK_SOURCES],
  additive: false,
  whyNotAdditive: 'a ratio of a snapshot and a rolling window: recompute it from available and units_sold_28d',
});

export const variantsOutOfStock = metric('profit', {
  name: 'variants_out_of_stock',
  label: 'Variants out of stock',
  description:
    "Tracked variants for sale whose `available` quantity, summed over locations, is 0 or less in the date's stock snapshot; NULL on a date without a snapshot. " +
    "A variant is for sale when its product's status is active or unlisted (sold, not shown in listings), or not known (a variant missing from the products stream): " +
    'an archived product (no longer sold) or a draft (not yet sold) is never out of stock. The status is the one the snapshot read with its levels, ' +
    "so archiving a product today leaves the past days' counts as they were; a snapshot landed before the stock stream read it takes the product's current status " +
    "(Shopify keeps no history of it). kpi_weekly and kpi_monthly take the period's last snapshot, never a sum of the days.",
  formula:
    "tracked variants whose `available` summed over locations is ≤ 0 in that date's inventory snapshot; NULL on a date without a snapshot (a snapshot, never summed: `kpi_weekly`/`kpi_monthly` take the period's last snapshot)",
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.inventory_levels', 'shopify.products'],
  additive: false,
  whyNotAdditive: "a snapshot: over a period read its last snapshot (as kpi_weekly and kpi_monthly do), never the sum of the days",
  measure: stockSnapshots.count({ filter: sql<boolean>`available <= 0 and is_for_sale`, rollUp: 'last' }),
});

/** In column order. */
export const productMetrics = [variantsOutOfStock, unitsSold, productOrders, unitsRefunded, refundedSales, refundUnitRate, available, unitsSold28d, daysOfCover] as const;
