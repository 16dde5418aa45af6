import { describe, expect, it } from 'vitest';
import { computedAs } from '../../metrics/catalog.ts';
import { metricByName, metricDefinitions } from '../../metrics/definitions/index.ts';

/**
 * What the catalogue's `computed_as` says of each base measure (issue 12): the SQL each one
 * runs, copied by hand from the queries kpi_daily, kpi_weekly, kpi_channel_daily and
 * revenue_reconciliation_daily were written with before they read the measures. A measure
 * whose SQL, rows or date changes fails here, by name.
 */
const BASE_MEASURES: Record<string, string> = {
  orders: 'count(*) over counted_orders by order_date',
  revenue: 'sum(total_price_rc) over counted_orders by order_date',
  refunds: 'sum(amount_rc) over counted_refunds by refund_date',
  customers: 'count(distinct customer_key) over counted_orders by order_date',
  new_customers: 'count(*) filter (where is_first_order) over counted_orders by order_date',
  new_customer_revenue: 'sum(total_price_rc) filter (where is_first_order) over counted_orders by order_date',
  sessions: 'sum(sessions) over traffic by date',
  users: 'sum(users) over traffic by date',
  add_to_carts: 'sum(add_to_carts) over traffic by date',
  checkouts: 'sum(checkouts) over traffic by date',
  ga4_purchases: 'sum(purchases) over traffic by date',
  ga4_purchase_revenue: 'sum(purchase_revenue_rc) over traffic by date',
  ad_spend: 'sum(spend_rc) over spend by date',
  ad_clicks: 'sum(clicks) over spend by date',
  ad_impressions: 'sum(impressions) over spend by date',
  platform_conversions: 'sum(platform_conversions) over spend by date',
  platform_conversion_value: 'sum(platform_conversion_value_rc) over spend by date',
  payment_attempts: "count(*) filter (where status in ('succeeded', 'failed')) over payments by payment_date",
  payments_succeeded: "count(*) filter (where status = 'succeeded') over payments by payment_date",
  shipments_delivered: 'count(*) over counted_shipments by delivered_date',
  shipments_on_time: 'count(*) filter (where is_on_time) over counted_shipments by delivered_date',
  shipments_delivered_with_promise: 'count(*) filter (where promised_date is not null) over counted_shipments by delivered_date',
  delivery_days_total: 'sum(delivery_days) over counted_shipments by delivered_date',
  shipping_cost: 'sum(shipping_cost_rc) over counted_shipments by shipped_date',
  orders_shipped: 'count(distinct order_id) over counted_shipments by shipped_date',
  returns: 'count(*) over counted_shipments by returned_date',
  tax: 'sum(total_tax_rc) over counted_orders by order_date',
  refunded_tax: 'sum(tax_rc) over counted_refund_taxes by refund_date',
  product_sales: 'sum(line_sales_rc) over counted_order_lines by order_date',
  cogs: 'sum(cogs_rc) over counted_order_lines by order_date',
  product_sales_costed: 'sum(line_sales_rc) filter (where unit_cost_rc is not null) over counted_order_lines by order_date',
  payment_fees: 'sum(payment_fee_rc) over balance_transactions by transaction_date',
  payouts: 'sum(payout_rc) over balance_transactions by transaction_date',
  variants_out_of_stock: 'count(*) filter (where available <= 0 and is_for_sale) over stock_snapshots by snapshot_date',
  // product_daily builds its table with a query of its own, reading these measures.
  units_sold: 'sum(sold_quantity) over counted_order_lines by order_date',
  product_orders: 'count(distinct order_id) over counted_order_lines by order_date',
  units_refunded: 'sum(quantity) over counted_refund_lines by refund_date',
  refunded_sales: 'sum(refunded_sales_rc) over counted_refund_lines by refund_date',
  // revenue_reconciliation_daily builds its table with a query of its own, reading these measures.
  stripe_captured: "sum(amount_captured_rc) filter (where status = 'succeeded') over payments by payment_date",
  stripe_refunded: 'sum(amount_refunded_rc) over payments by payment_date',
  payments_without_order: "count(*) filter (where status = 'succeeded' and order_id is null) over payments by payment_date",
};

describe('base measures', () => {
  it('are exactly the sums and counts of the time-grain tables and the reconciliation, each with its SQL', () => {
    const withMeasure = metricDefinitions.filter((m) => m.measure).map((m) => m.name);
    expect(withMeasure.sort()).toEqual(Object.keys(BASE_MEASURES).sort());
    for (const [name, text] of Object.entries(BASE_MEASURES)) expect(computedAs(metricByName(name)!), name).toBe(text);
  });

  it('roll up over a period as their additivity says: the distinct counts are recounted, the rest summed', () => {
    const recounted = metricDefinitions.filter((m) => m.measure?.rollUp === 'recount').map((m) => m.name);
    expect(recounted.sort()).toEqual(['customers', 'orders_shipped', 'product_orders']);
  });

  it('leave a derived metric its expression in its row, and a table with its own query none', () => {
    expect(computedAs(metricByName('net_revenue')!)).toBe('revenue − refunds');
    expect(computedAs(metricByName('aov')!)).toBe('revenue / orders (NULL when orders is 0)');
    expect(computedAs(metricByName('churned_customers')!)).toBeNull();
  });
});
