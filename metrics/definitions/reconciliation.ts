import { sql } from 'kysely';
import { metric } from '../definition.ts';
import { payments } from '../measure-sources.ts';

/** One number of reference: the shop's revenue against what Stripe captured and GA4 saw. */

export const shopRevenue = metric('reconciliation', {
  name: 'shop_revenue',
  label: 'Shop revenue',
  description: 'The revenue of kpi_daily (counted orders by order date, converted), repeated here to compare.',
  formula: '= `kpi_daily.revenue`',
  unit: 'currency',
  views: ['revenue_reconciliation_daily'],
  sources: ['shopify.orders', 'fx.rates'],
});

export const stripeCaptured = metric('reconciliation', {
  name: 'stripe_captured',
  label: 'Stripe captured',
  description: 'Sum of `amount_captured` of the succeeded Stripe charges created on the date, from minor units, converted.',
  formula: 'the sum of `amount_captured` of succeeded charges created that date',
  unit: 'currency',
  views: ['revenue_reconciliation_daily'],
  sources: ['stripe.charges', 'fx.rates'],
  measure: payments.sum('amount_captured_rc', { filter: sql<boolean>`status = 'succeeded'` }),
});

export const stripeRefunded = metric('reconciliation', {
  name: 'stripe_refunded',
  label: 'Stripe refunded',
  description: "Sum of `amount_refunded` of the Stripe charges created on the date (by the charge's date, not the refund's), converted.",
  formula: 'the sum of `amount_refunded` of charges created that date',
  unit: 'currency',
  views: ['revenue_reconciliation_daily'],
  sources: ['stripe.charges', 'fx.rates'],
  measure: payments.sum('amount_refunded_rc'),
});

export const shopVsStripeGap = metric('reconciliation', {
  name: 'shop_vs_stripe_gap',
  label: 'Shop minus Stripe',
  description: 'Shop revenue minus Stripe captured (orders paid by other gateways, unpaid orders and timing all show here).',
  formula: '`shop_revenue − stripe_captured` (shop minus other)',
  unit: 'currency',
  views: ['revenue_reconciliation_daily'],
  sources: ['shopify.orders', 'stripe.charges', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'shop_revenue', subtrahend: 'stripe_captured' },
});

export const shopVsGa4Gap = metric('reconciliation', {
  name: 'shop_vs_ga4_gap',
  label: 'Shop minus GA4',
  description: 'Shop revenue minus GA4 purchase revenue (purchases the tag did not see, and currency or time-zone differences).',
  formula: '`shop_revenue − ga4_purchase_revenue` (shop minus other)',
  unit: 'currency',
  views: ['revenue_reconciliation_daily'],
  sources: ['shopify.orders', 'ga4.traffic_daily', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'shop_revenue', subtrahend: 'ga4_purchase_revenue' },
});

export const ordersWithoutPayment = metric('reconciliation', {
  name: 'orders_without_payment',
  label: 'Orders without a Stripe payment',
  description:
    "Counted orders, on the order's date, whose `payment_gateway_names` include stripe and that no succeeded charge is matched to " +
    "(charges match orders through `metadata.order_id`, the order's id or name, then through the payment intent).",
  formula: 'counted orders whose `payment_gateway_names` include `stripe` and that no succeeded charge is matched to, on the order\'s date',
  unit: 'count',
  views: ['revenue_reconciliation_daily'],
  sources: ['shopify.orders', 'stripe.charges'],
});

export const paymentsWithoutOrder = metric('reconciliation', {
  name: 'payments_without_order',
  label: 'Stripe payments without an order',
  description: "Succeeded Stripe charges matched to no Shopify order, on the charge's date.",
  formula: "succeeded charges matched to no order, on the charge's date",
  unit: 'count',
  views: ['revenue_reconciliation_daily'],
  sources: ['shopify.orders', 'stripe.charges'],
  measure: payments.count({ filter: sql<boolean>`status = 'succeeded' and order_id is null` }),
});

/** Every reconciliation metric, in the order the view publishes them. */
export const reconciliationMetrics = [shopRevenue, stripeCaptured, stripeRefunded, shopVsStripeGap, shopVsGa4Gap, ordersWithoutPayment, paymentsWithoutOrder];
