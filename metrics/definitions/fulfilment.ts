import { sql } from 'kysely';
import { countedShipments } from '../measure-sources.ts';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';

/** Shipments from the carrier or 3PL: delivery speed, promises kept, cost, returns. */

const SHIPMENTS = 'shipments.shipments' as const;

/** Which shipments count, said in every fulfilment metric (DECISIONLOG.md, "Metrics"). */
const COUNTED_SHIPMENTS =
  'Only shipments matched to a counted order count: a shipment of a cancelled or test order is left out, like its order, and so is a shipment ' +
  'matched to no order of the shop (the metrics refresh warns when there are any).';

/** What "promised" means in the on-time metrics (DECISIONLOG.md, "EasyPost return labels, and promised dates at midnight UTC"). */
const PROMISED_IS_LATEST_ESTIMATE =
  'The promised date is the latest estimate the carrier (or the 3PL export) gave for the parcel, not the first: carriers move the estimate when ' +
  'a parcel is delayed and only the newest version of a shipment is kept, so a delayed parcel whose estimate moved can count on time.';

export const shipmentsDelivered = metric('fulfilment', {
  name: 'shipments_delivered',
  label: 'Shipments delivered',
  description: `Shipments whose local delivery date (of \`delivered_at\`) is the date. ${COUNTED_SHIPMENTS}`,
  formula: 'shipments whose local delivery date is that date',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.count({ date: 'delivered_date' }),
});

export const shipmentsOnTime = metric('fulfilment', {
  name: 'shipments_on_time',
  label: 'Shipments delivered on time',
  description: `Of the shipments delivered on the date, those whose local delivery date is on or before the local date of the promised (estimated) delivery. ${PROMISED_IS_LATEST_ESTIMATE} ${COUNTED_SHIPMENTS}`,
  formula: 'of those, the ones whose local delivery date ≤ the local date of the promised (estimated) delivery',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.count({ date: 'delivered_date', filter: 'is_on_time' }),
});

export const shipmentsDeliveredWithPromise = metric('fulfilment', {
  name: 'shipments_delivered_with_promise',
  label: 'Shipments delivered with a promised date',
  description: "Of the shipments delivered on the date, those that carry a promised (estimated) delivery date, the carrier's latest: the denominator of on_time_delivery_rate.",
  formula: 'delivered shipments that have a promised date',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.count({ date: 'delivered_date', filter: sql<boolean>`promised_date is not null` }),
});

export const onTimeDeliveryRate = metric('fulfilment', {
  name: 'on_time_delivery_rate',
  label: 'On-time delivery rate',
  description:
    'Share of delivered shipments with a promise that arrived by the promised date; shipments without a promised date are left out of both parts. ' +
    `${PROMISED_IS_LATEST_ESTIMATE} Over a date range: SUM(shipments_on_time) / SUM(shipments_delivered_with_promise).`,
  formula: '`shipments_on_time / shipments_delivered_with_promise` (the denominator counts only delivered shipments that have a promised date)',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'shipments_on_time', denominator: 'shipments_delivered_with_promise' },
});

export const deliveryDaysTotal = metric('fulfilment', {
  name: 'delivery_days_total',
  label: 'Delivery days (total)',
  description:
    "Sum over the shipments delivered on the date of the time from the order's `created_at` to `delivered_at`, in fractional days: every counted " +
    `shipment has an order, so every delivered one adds its delivery time. ${COUNTED_SHIPMENTS}`,
  formula: 'sum over those delivered shipments of (delivered_at − order created_at) in days, fractional',
  unit: 'days',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.sum('delivery_days', { date: 'delivered_date' }),
});

export const avgDeliveryDays = metric('fulfilment', {
  name: 'avg_delivery_days',
  label: 'Average delivery days',
  description:
    'Average time from order to delivery of the shipments delivered on the date (each matched to a counted order, so each has a delivery time). ' +
    'Over a date range: SUM(delivery_days_total) / SUM(shipments_delivered).',
  formula: '`delivery_days_total / shipments_delivered`',
  unit: 'days',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'delivery_days_total', denominator: 'shipments_delivered' },
});

export const shippingCost = metric('fulfilment', {
  name: 'shipping_cost',
  label: 'Shipping cost',
  description:
    'Shipping cost of the shipments shipped on the date (local date of `shipped_at`), converted at the rate of that date. A shipment without a shipped date ' +
    `is in no day's shipping cost (the metrics refresh warns when there are any, with their cost). ${COUNTED_SHIPMENTS}`,
  formula: 'shipping cost of shipments shipped that date',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders', 'fx.rates'],
  measure: countedShipments.sum('shipping_cost_rc', { date: 'shipped_date' }),
});

export const ordersShipped = metric('fulfilment', {
  name: 'orders_shipped',
  label: 'Orders shipped',
  description:
    'Distinct orders among the shipments shipped on the date (two parcels of one order count once), by the order id each is matched to. ' +
    'Not additive: kpi_weekly and kpi_monthly recount it distinct over the period, so an order shipped in parcels on two days of a week counts ' +
    'once in the week. ' +
    COUNTED_SHIPMENTS,
  formula: 'distinct orders among them',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.countDistinct('order_id', { date: 'shipped_date' }),
  additive: false,
  whyNotAdditive: 'an order shipped in parcels on several days counts on each of them; kpi_weekly and kpi_monthly recount it distinct over the period',
});

export const logisticsCostPerOrder = metric('fulfilment', {
  name: 'logistics_cost_per_order',
  label: 'Logistics cost per order',
  description: `Shipping cost per order shipped on the date, both over the same shipments. ${COUNTED_SHIPMENTS}`,
  formula: '`shipping_cost / orders_shipped`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders', 'fx.rates'],
  whyNotAdditive: 'orders_shipped is a distinct count: read it from kpi_weekly or kpi_monthly, which recount the orders shipped over the period',
  derivation: { kind: 'ratio', numerator: 'shipping_cost', denominator: 'orders_shipped' },
});

export const returns = metric('fulfilment', {
  name: 'returns',
  label: 'Returns',
  description: `Shipments returned on the date (local date of \`returned_at\`). ${COUNTED_SHIPMENTS}`,
  formula: 'shipments returned that date (local date of `returned_at`)',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  measure: countedShipments.count({ date: 'returned_date' }),
});

export const returnRate = metric('fulfilment', {
  name: 'return_rate',
  label: 'Return rate',
  description: 'Returns over deliveries of the same period (a return is dated by its own day). Over a date range: SUM(returns) / SUM(shipments_delivered).',
  formula: '`returns / shipments_delivered`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: [SHIPMENTS, 'shopify.orders'],
  derivation: { kind: 'ratio', numerator: 'returns', denominator: 'shipments_delivered' },
});

/** Every fulfilment metric, in the order the views publish them. */
export const fulfilmentMetrics = [
  shipmentsDelivered,
  shipmentsOnTime,
  shipmentsDeliveredWithPromise,
  onTimeDeliveryRate,
  deliveryDaysTotal,
  avgDeliveryDays,
  shippingCost,
  ordersShipped,
  logisticsCostPerOrder,
  returns,
  returnRate,
];
