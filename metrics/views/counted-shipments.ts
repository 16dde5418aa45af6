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
  return db
    .selectFrom('core.shipments as s')
    .innerJoin('core.orders as o', 'o.order_id', 's.order_id')
    .where('o.is_counted', '=', true)
    .select(['s.order_id', 's.shipped_date', 's.delivered_date', 's.promised_date', 's.returned_date', 's.shipping_cost_rc', 's.delivery_days', 's.is_on_time']);
}
