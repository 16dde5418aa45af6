import type { QueryCreator } from 'kysely';
import type { Database } from '../../warehouse/database.ts';

/**
 * The shipments the fulfilment metrics count (DECISIONLOG.md, "Metrics"): exactly the shipments
 * matched to a counted order. docs/metrics.md leaves cancelled and test orders out of every metric,
 * and its delivery time needs each counted shipment's order date, so a shipment of a cancelled
 * or test order is left out like its order, and so is a shipment matched to no order of the
 * shop (it has no order date). Every counted shipment therefore has an order id (for
 * `orders_shipped`) and, once delivered, a delivery time (`delivery_days`), so
 * `avg_delivery_days` is `delivery_days_total / shipments_delivered` as docs/metrics.md writes it.
 * The refresh counts the shipments matched to no order and warns about them
 * (`unmatchedShipments` in `metrics/refresh.ts`), so they are never left out silently.
 */
export function countedShipments(db: QueryCreator<Database>) {
  // core.shipments notes whether its order is counted (order_is_counted): no join with the
  // orders for each measure of each table (three per day table, at a million of each).
  return db
    .selectFrom('core.shipments as s')
    .where('s.order_is_counted', '=', true)
    .where('s.order_id', 'is not', null)
    .select(['s.order_id', 's.shipped_date', 's.delivered_date', 's.promised_date', 's.returned_date', 's.shipping_cost_rc', 's.delivery_days', 's.is_on_time']);
}
