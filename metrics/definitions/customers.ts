import { countedOrders } from '../measure-sources.ts';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';

/** Why a customer_kpis column is never summed over its rows. */
const SNAPSHOT = "a snapshot as of the row's date, and the rows of customer_kpis overlap: read one row, never a sum of rows";

/** The rows of cohort_monthly over which its counts may be summed. */
const ACROSS_COHORTS = 'cohorts at one months_since_first_order';

/**
 * Customers: who buys, who comes back, what they are worth. A customer is the shop's customer
 * id, else the lower-cased trimmed e-mail of a guest order, else the order itself; a customer's
 * first order is their earliest counted order.
 */

export const customers = metric('customers', {
  name: 'customers',
  label: 'Customers',
  description:
    'Distinct customers with a counted order on the date. Not additive: in kpi_weekly and kpi_monthly it is recounted distinct over the period, ' +
    'so a customer who orders twice in a week counts once.',
  formula: 'distinct customers with a counted order that date',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders'],
  measure: countedOrders.countDistinct('customer_key'),
  additive: false,
  whyNotAdditive: 'distinct customers cannot be summed over days; use new_customers',
});

export const newCustomers = metric('customers', {
  name: 'new_customers',
  label: 'New customers',
  description:
    'Customers whose first counted order is on the date (each customer is new on exactly one day, so it sums over any range; ' +
    'kpi_weekly and kpi_monthly add up its days). In kpi_channel_daily, by the channel of that first order.',
  formula: 'customers whose first order is that date',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: ['shopify.orders'],
  measure: countedOrders.count({ filter: 'is_first_order' }),
});

export const returningCustomers = metric('customers', {
  name: 'returning_customers',
  label: 'Returning customers',
  description: 'Customers with a counted order on the date that is not their first. Not additive (built from the distinct customer count).',
  formula: '`customers − new_customers`',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: 'built from distinct customers, which cannot be summed over days; kpi_weekly and kpi_monthly recount them over the period',
  derivation: { kind: 'difference', minuend: 'customers', subtrahend: 'new_customers' },
});

export const newCustomerRevenue = metric('customers', {
  name: 'new_customer_revenue',
  label: "Revenue of new customers' first orders",
  description:
    "Revenue (total_price, converted) of the counted orders that are their customer's first, on the date: the numerator of nc_roas, " +
    'published so that nc_roas can be recomputed over any range.',
  formula: "revenue of new customers' first orders",
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedOrders.sum('total_price_rc', { filter: 'is_first_order' }),
});

// customer_kpis: one row per as-of date (the end of every month, and the date of the last order).

export const customersToDate = metric('customers', {
  name: 'customers_to_date',
  column: 'customers',
  label: 'Customers to date',
  description: 'Customers with at least one counted order on or before the as-of date.',
  formula: 'customers with at least one counted order up to the as-of date',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const repeatCustomers = metric('customers', {
  name: 'repeat_customers',
  label: 'Repeat customers',
  description: 'Of the customers to date, those with two or more counted orders on or before the as-of date.',
  formula: 'of those, customers with two or more',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const repeatPurchaseRate = metric('customers', {
  name: 'repeat_purchase_rate',
  label: 'Repeat purchase rate',
  description: 'Share of the customers to date who ordered at least twice.',
  formula: '`repeat_customers / customers`',
  unit: 'ratio',
  display: 'percent',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'repeat_customers', denominator: 'customers_to_date' },
});

export const orders365d = metric('customers', {
  name: 'orders_365d',
  label: 'Orders in the last 365 days',
  description: 'Counted orders dated in the 365 days ending on the as-of date (as-of − 364 … as-of): the numerator of purchase_frequency.',
  formula: 'counted orders dated in the 365 days ending on the as-of date (as-of − 364 … as-of)',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const customers365d = metric('customers', {
  name: 'customers_365d',
  label: 'Customers in the last 365 days',
  description: 'Distinct customers with a counted order in the 365 days ending on the as-of date: the denominator of purchase_frequency.',
  formula: 'distinct customers who ordered in the 365 days ending on the as-of date',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const purchaseFrequency = metric('customers', {
  name: 'purchase_frequency',
  label: 'Purchase frequency (365 days)',
  description: 'Counted orders per ordering customer over the 365 days ending on the as-of date.',
  formula: 'counted orders dated in the 365 days ending on the as-of date (as-of − 364 … as-of) / distinct customers who ordered in them',
  unit: 'ratio',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'orders_365d', denominator: 'customers_365d' },
});

export const orderGaps = metric('customers', {
  name: 'order_gaps',
  label: 'Gaps between consecutive orders',
  description: "Number of gaps between a customer's consecutive counted orders, up to the as-of date, over all customers (a customer with n orders has n − 1).",
  formula: "count of the gaps between a customer's consecutive counted orders up to the as-of date",
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const daysBetweenOrdersTotal = metric('customers', {
  name: 'days_between_orders_total',
  label: 'Days between consecutive orders (total)',
  description: "Sum of those gaps, each measured between the orders' `created_at` in fractional days.",
  formula: "sum of the gaps between the `created_at` of a customer's consecutive counted orders up to the as-of date, in fractional days",
  unit: 'days',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const avgDaysBetweenOrders = metric('customers', {
  name: 'avg_days_between_orders',
  label: 'Average days between orders',
  description: 'Mean of every gap between consecutive counted orders of the same customer, all customers pooled; NULL while no customer has ordered twice.',
  formula:
    "mean of every gap between the `created_at` of a customer's consecutive counted orders up to the as-of date, in fractional days, all customers' gaps pooled; NULL with no repeat customer",
  unit: 'days',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'days_between_orders_total', denominator: 'order_gaps' },
});

export const netRevenueToDate = metric('customers', {
  name: 'net_revenue_to_date',
  label: 'Net revenue to date',
  description: 'Revenue of all counted orders up to the as-of date less their refunds made up to the as-of date: the numerator of historical_clv.',
  formula: "sum of counted orders' `total_price` less their refunds, both up to the as-of date",
  unit: 'currency',
  views: ['customer_kpis'],
  sources: ['shopify.orders', 'fx.rates'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const historicalClv = metric('customers', {
  name: 'historical_clv',
  label: 'Historical customer lifetime value',
  description: 'What the average customer has been worth so far: net revenue to date per customer to date (not a prediction).',
  formula: "mean over customers of the sum of their counted orders' `total_price` less their refunds, both up to the as-of date",
  unit: 'currency',
  views: ['customer_kpis'],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'net_revenue_to_date', denominator: 'customers_to_date' },
});

export const churnedCustomers = metric('customers', {
  name: 'churned_customers',
  label: 'Churned customers',
  description: 'Customers whose last counted order (up to the as-of date) is more than `churnAfterDays` days (default 180) before the as-of date.',
  formula: 'customers whose last counted order (up to the as-of date) is more than `churnAfterDays` (default 180) days before the as-of date',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const churnRate = metric('customers', {
  name: 'churn_rate',
  label: 'Churn rate',
  description: 'Share of the customers to date who have churned.',
  formula: '`churned_customers / customers`',
  unit: 'ratio',
  display: 'percent',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'churned_customers', denominator: 'customers_to_date' },
});

export const adSpend365d = metric('customers', {
  name: 'ad_spend_365d',
  label: 'Ad spend in the last 365 days',
  description: 'Google Ads and Meta spend, converted, over the 365 days ending on the as-of date: the numerator of cac_365d.',
  formula: 'ad spend over the 365 days ending on the as-of date',
  unit: 'currency',
  views: ['customer_kpis'],
  sources: ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const newCustomers365d = metric('customers', {
  name: 'new_customers_365d',
  label: 'New customers in the last 365 days',
  description: 'Customers whose first counted order is in the 365 days ending on the as-of date: the denominator of cac_365d.',
  formula: 'new customers over the 365 days ending on the as-of date',
  unit: 'count',
  views: ['customer_kpis'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: SNAPSHOT,
});

export const cac365d = metric('customers', {
  name: 'cac_365d',
  label: 'Blended CAC (365 days)',
  description: 'Ad spend per new customer over the 365 days ending on the as-of date.',
  formula: 'ad spend / new customers, both over the 365 days ending on the as-of date',
  unit: 'currency',
  views: ['customer_kpis'],
  sources: ['shopify.orders', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'ad_spend_365d', denominator: 'new_customers_365d' },
});

export const ltvToCac = metric('customers', {
  name: 'ltv_to_cac',
  label: 'LTV to CAC',
  description: 'Historical CLV over the 365-day blended CAC; NULL when there was no ad spend (CAC 0) or no new customer.',
  formula: '`historical_clv / cac_365d`',
  unit: 'ratio',
  display: 'multiple',
  views: ['customer_kpis'],
  sources: ['shopify.orders', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'historical_clv', denominator: 'cac_365d' },
});

// cohort_monthly: one row per first-order month × months since the first order.

export const cohortCustomers = metric('customers', {
  name: 'cohort_customers',
  label: 'Cohort customers',
  description: 'Customers whose first counted order is in the cohort month.',
  formula: 'customers whose first order is in the cohort month',
  unit: 'count',
  views: ['cohort_monthly'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: 'every month of a cohort repeats its customers',
  additiveAcross: ACROSS_COHORTS,
});

export const activeCustomers = metric('customers', {
  name: 'active_customers',
  label: 'Active customers',
  description: 'Customers of the cohort with a counted order in the month.',
  formula: 'customers of the cohort with a counted order in that month',
  unit: 'count',
  views: ['cohort_monthly'],
  sources: ['shopify.orders'],
  additive: false,
  whyNotAdditive: 'a customer who orders in several months of a cohort is active in each',
  additiveAcross: ACROSS_COHORTS,
});

export const cumulativeRevenue = metric('customers', {
  name: 'cumulative_revenue',
  label: 'Cumulative cohort revenue',
  description: "Revenue of the cohort's counted orders from its first month up to and including the month: the numerator of cumulative_revenue_per_customer.",
  formula: "sum of `revenue` of the cohort's months from months_since_first_order 0 to this one",
  unit: 'currency',
  views: ['cohort_monthly'],
  sources: ['shopify.orders', 'fx.rates'],
  additive: false,
  whyNotAdditive: 'each month of a cohort already includes the months before it',
  additiveAcross: ACROSS_COHORTS,
});

export const cumulativeRevenuePerCustomer = metric('customers', {
  name: 'cumulative_revenue_per_customer',
  label: 'Cumulative revenue per cohort customer',
  description:
    'Cumulative cohort revenue per customer of the cohort (gross of refunds). Across cohorts at one months_since_first_order (the cohorts pooled): ' +
    'SUM(cumulative_revenue) / SUM(cohort_customers); never summed over the months of one cohort.',
  formula: '`cumulative_revenue / cohort_customers`',
  unit: 'currency',
  views: ['cohort_monthly'],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'cumulative_revenue', denominator: 'cohort_customers' },
});

export const retentionRate = metric('customers', {
  name: 'retention_rate',
  label: 'Retention rate',
  description:
    'Share of the cohort that ordered in the month (1 in month 0). Across cohorts at one months_since_first_order (a pooled retention curve): ' +
    'SUM(active_customers) / SUM(cohort_customers); never summed over the months of one cohort.',
  formula: '`active_customers / cohort_customers`',
  unit: 'ratio',
  display: 'percent',
  views: ['cohort_monthly'],
  sources: ['shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'active_customers', denominator: 'cohort_customers' },
});

/** Every customer metric, in the order the views publish them. */
export const customerMetrics = [
  customers,
  newCustomers,
  returningCustomers,
  newCustomerRevenue,
  customersToDate,
  repeatCustomers,
  repeatPurchaseRate,
  orders365d,
  customers365d,
  purchaseFrequency,
  orderGaps,
  daysBetweenOrdersTotal,
  avgDaysBetweenOrders,
  netRevenueToDate,
  historicalClv,
  churnedCustomers,
  churnRate,
  adSpend365d,
  newCustomers365d,
  cac365d,
  ltvToCac,
  cohortCustomers,
  activeCustomers,
  cumulativeRevenue,
  cumulativeRevenuePerCustomer,
  retentionRate,
];
