import { sql } from 'kysely';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';
import { balanceTransactions, countedOrderLines, countedOrders, countedRefundTaxes } from '../measure-sources.ts';

/**
 * What the shop earns after its costs (docs/metrics.md, "Products, stock and profit"): product
 * sales and their cost of goods, tax, Stripe's fees and payouts, and the profit left after the
 * costs verite knows of.
 */

const LINE_SALES =
  "A line's sales are `price × quantity` less its discount (the sum of its `discount_allocations`, which carry order-level codes too; " +
  'the deprecated `total_discount` only when it has none), less its tax (`tax_lines`) when the order\'s prices include tax, converted at the rate of the order date. ' +
  'The units an order edit removed are left out (`quantity − current_quantity −` the units refunded, never below 0; none for a line without `current_quantity`), ' +
  "and the line's discount and tax count for the share of its units left (Shopify allocates them over the units ordered).";

const UNIT_COST =
  "A line's unit cost is the `costs` file's row for its SKU with the latest `valid_from` on or before the order date, else the variant's " +
  "Shopify cost per item (Shopify keeps only the current cost, so today's cost is applied to every past sale), else unknown; converted at the rate of the order date.";

export const tax = metric('profit', {
  name: 'tax',
  label: 'Tax',
  description: 'Tax collected on the counted orders created on the date: their `total_tax`, converted at the rate of the order date.',
  formula: 'sum of `total_tax` of counted orders created that date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedOrders.sum('total_tax_rc'),
});

export const refundedTax = metric('profit', {
  name: 'refunded_tax',
  label: 'Refunded tax',
  description:
    "Tax paid back: the `total_tax` of the refunded line items of the successful refunds of counted orders, and the tax of their refunded shipping lines " +
    "(`refund_shipping_lines`, Shopify's RefundShippingLine), dated by the refund's `created_at` and converted at the rate of that date. " +
    "A refund's amount (in refunds) holds the tax of the shipping it pays back too, so it is refunded tax, or contribution profit would take it off twice. " +
    'A refund landed before the shipping lines were read has none until its order is read again: `verite backfill --source shopify --stream orders` ' +
    'over the dates the orders were created.',
  formula: 'sum of `total_tax` of the `refund_line_items` of the successful refunds (see Conventions) of counted orders, created that date, converted on the refund date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedRefundTaxes.sum('tax_rc'),
});

export const netTax = metric('profit', {
  name: 'net_tax',
  label: 'Net tax',
  description: 'Tax collected less tax refunded on the date: the tax in net revenue, which contribution profit takes out.',
  formula: '`tax − refunded_tax`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'tax', subtrahend: 'refunded_tax' },
});

export const netRevenueExTax = metric('profit', {
  name: 'net_revenue_ex_tax',
  label: 'Net revenue excluding tax',
  description: 'Net revenue less its tax (refunds include their tax, so the refunded tax is not taken off twice): what contribution margin is a share of.',
  formula: '`net_revenue − (tax − refunded_tax)`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'net_revenue', subtrahend: 'net_tax' },
});

export const productSales = metric('profit', {
  name: 'product_sales',
  label: 'Product sales',
  description: `Sales of the line items of the counted orders created on the date, net of discounts and tax, without shipping. ${LINE_SALES}`,
  formula: 'sum of line sales of the line items of counted orders created that date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'product_daily'],
  sources: ['shopify.orders', 'fx.rates'],
  measure: countedOrderLines.sum('line_sales_rc'),
});

export const cogs = metric('profit', {
  name: 'cogs',
  label: 'Cost of goods sold',
  description:
    `Cost of the goods sold on the date: \`quantity × unit cost\` of the lines of counted orders whose unit cost is known, the units an order edit removed left out. ${UNIT_COST} ` +
    'A line without a cost counts at zero cost (read cogs_coverage beside it); the cost of returned goods is not taken back.',
  formula: 'sum over those lines whose unit cost is known of `quantity × unit cost`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'product_daily'],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'fx.rates'],
  measure: countedOrderLines.sum('cogs_rc'),
});

export const productSalesCosted = metric('profit', {
  name: 'product_sales_costed',
  label: 'Product sales with a known cost',
  description: `Product sales of the lines whose unit cost is known: the part of product_sales that cogs covers. ${UNIT_COST}`,
  formula: 'line sales of those lines whose unit cost is known',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'fx.rates'],
  measure: countedOrderLines.sum('line_sales_rc', { filter: sql<boolean>`unit_cost_rc is not null` }),
});

export const cogsCoverage = metric('profit', {
  name: 'cogs_coverage',
  label: 'Cost coverage',
  description:
    'The share of product sales whose cost is known: 1 when every sold line has a cost; below 1, cogs is understated and gross profit overstated. ' +
    'Over a date range: SUM(product_sales_costed) / SUM(product_sales).',
  formula: '`product_sales_costed / product_sales` (1 when every sold line has a cost)',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'product_sales_costed', denominator: 'product_sales' },
});

export const grossProfit = metric('profit', {
  name: 'gross_profit',
  label: 'Gross profit',
  description: 'Product sales less their cost of goods. A line without a cost counts at zero cost: read cogs_coverage beside it.',
  formula: '`product_sales − cogs` (a line without a cost counts at zero cost: read `cogs_coverage` beside it)',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'product_daily'],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'product_sales', subtrahend: 'cogs' },
});

export const grossMargin = metric('profit', {
  name: 'gross_margin',
  label: 'Gross margin',
  description: 'Gross profit per unit of product sales. Over a date range: (SUM(product_sales) − SUM(cogs)) / SUM(product_sales).',
  formula: '`gross_profit / product_sales`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'gross_profit', denominator: 'product_sales' },
});

export const paymentFees = metric('profit', {
  name: 'payment_fees',
  label: 'Payment fees',
  description:
    'What Stripe kept on the date: the `fee` of every balance transaction created that date (charges, refunds, disputes …), plus the fees Stripe ' +
    'bills apart (transactions of type `stripe_fee`, whose own fee is 0: their amount, sign reversed); converted from minor units at the rate of that date. ' +
    'Fees of gateways other than Stripe are not known.',
  formula:
    'sum of `fee` of Stripe balance transactions created that date (every type), plus minus the `amount` of those of type `stripe_fee` (fees Stripe bills apart: their `fee` is 0); minor units, converted on that date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['stripe.balance_transactions', 'fx.rates'],
  measure: balanceTransactions.sum('payment_fee_rc'),
});

export const payouts = metric('profit', {
  name: 'payouts',
  label: 'Payouts',
  description: 'Cash Stripe sent to the bank on the date: minus the `amount` of the balance transactions of type `payout` created that date (positive).',
  formula: 'minus the sum of `amount` of Stripe balance transactions of type `payout` created that date (cash sent to the bank, positive)',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['stripe.balance_transactions', 'fx.rates'],
  measure: balanceTransactions.sum('payout_rc'),
});

export const contributionProfit = metric('profit', {
  name: 'contribution_profit',
  label: 'Contribution profit',
  description:
    'What is left of net revenue after its tax and the costs verite knows of: cost of goods, shipping, payment fees and ad spend ' +
    '(refunds include their tax, so the refunded tax is not taken off twice). Each part is dated by its own date (a refund by the refund, a fee by its transaction).',
  formula: '`net_revenue − (tax − refunded_tax) − cogs − shipping_cost − payment_fees − ad_spend` (refunds include their tax, so the refunded tax is not taken off twice)',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'stripe.balance_transactions', 'shipments.shipments', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  derivation: { kind: 'difference', minuend: 'net_revenue_ex_tax', subtrahend: ['cogs', 'shipping_cost', 'payment_fees', 'ad_spend'] },
});

export const contributionMargin = metric('profit', {
  name: 'contribution_margin',
  label: 'Contribution margin',
  description: 'Contribution profit per unit of net revenue excluding tax. Over a date range: recomputed from the sums of its parts.',
  formula: '`contribution_profit / (net_revenue − (tax − refunded_tax))`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', 'shopify.products', 'costs.unit_costs', 'stripe.balance_transactions', 'shipments.shipments', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'contribution_profit', denominator: 'net_revenue_ex_tax' },
});

/** In column order. */
export const profitMetrics = [
  tax,
  refundedTax,
  netTax,
  netRevenueExTax,
  productSales,
  cogs,
  productSalesCosted,
  cogsCoverage,
  grossProfit,
  grossMargin,
  paymentFees,
  payouts,
  contributionProfit,
  contributionMargin,
] as const;
