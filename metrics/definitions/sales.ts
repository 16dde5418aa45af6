import { countedOrders, countedRefunds } from '../measure-sources.ts';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';

/** Orders, revenue and refunds: what the shop sold. */

export const orders = metric('sales', {
  name: 'orders',
  label: 'Orders',
  description:
    'Counted orders (neither test, cancelled nor deleted in Shopify) created on the date, by the local date of `created_at` in the reporting time zone. ' +
    "In kpi_channel_daily, the orders attributed to the channel (from the landing page's UTM parameters, else the referrer); " +
    "in cohort_monthly, the orders of the cohort's customers in that month.",
  formula: 'count of counted orders created that date',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily', 'cohort_monthly'],
  sources: ['shopify.orders'],
  measure: countedOrders.count(),
});

export const revenue = metric('sales', {
  name: 'revenue',
  label: 'Revenue',
  description:
    'Gross revenue of the counted orders: `total_price` (after discounts, including shipping and tax), converted into the reporting ' +
    'currency at the rate of the order date. Refunds are not subtracted (see net_revenue). In kpi_channel_daily, the revenue of the ' +
    "orders attributed to the channel; in cohort_monthly, of the cohort's orders in that month.",
  formula: 'sum of `total_price` of those orders (after discounts, incl. shipping and tax)',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily', 'cohort_monthly'],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedOrders.sum('total_price_rc'),
});

export const refunds = metric('sales', {
  name: 'refunds',
  label: 'Refunds',
  description:
    "The successful refund transactions (kind refund, status success) of counted orders, dated by the refund's own `created_at` " +
    '(not the order date) and converted at the rate of that date.',
  formula: 'refunds (see Conventions) created that date, by refund date, not order date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedRefunds.sum('amount_rc'),
});

export const netRevenue = metric('sales', {
  name: 'net_revenue',
  label: 'Net revenue',
  description: "Revenue less the refunds made on the same date (a refund lowers the net revenue of the day it is made, not of the order's day).",
  formula: '`revenue − refunds`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'revenue', subtrahend: 'refunds' },
});

export const aov = metric('sales', {
  name: 'aov',
  label: 'Average order value',
  description: 'Revenue per counted order. Over a date range: SUM(revenue) / SUM(orders).',
  formula: '`revenue / orders`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'revenue', denominator: 'orders' },
});

export const refundRate = metric('sales', {
  name: 'refund_rate',
  label: 'Refund rate',
  description:
    'Refunds made in the period over the revenue of the orders created in it (refunds are dated by refund, so a day can refund more than it sold). ' +
    'Over a date range: SUM(refunds) / SUM(revenue).',
  formula: '`refunds / revenue`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'refunds', denominator: 'revenue' },
});

/** Every sales metric, in the order the views publish them. */
export const salesMetrics = [orders, revenue, refunds, netRevenue, aov, refundRate];
