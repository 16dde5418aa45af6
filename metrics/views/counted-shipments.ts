import { sql, type QueryCreator } from 'kysely';
import type { Database } from '../../warehouse/database.ts';

/**
 * The shipments the fulfilment metrics count (DECISIONLOG.md, "Metrics"): a shipment of a
 * cancelled or test order is left out, like its order; a shipment matched to no order of the
 * shop counts, since it is a real parcel with a real cost. `order_key` identifies the order
 * for `orders_shipped`: the matched order, else the order reference the carrier gave (prefixed,
 * so it cannot meet a shop order id), else the shipment itself. `delivery_days` is NULL for an
 * unmatched shipment (no order date), so it is counted apart (`shipments_delivered_with_order`).
 */
export function countedShipments(db: QueryCreator<Database>) {
  return db
    .selectFrom('core.shipments as s')
    .leftJoin('core.orders as o', 'o.order_id', 's.order_id')
    .where((eb) => eb.or([eb('s.order_id', 'is', null), eb('o.is_counted', '=', true)]))
    .select([
      's.shipped_date',
      's.delivered_date',
      's.promised_date',
      's.returned_date',
      's.shipping_cost_rc',
      's.delivery_days',
      sql<string>`coalesce(s.order_id, 'ref:' || s.order_ref, 'shipment:' || s.shipment_key)`.as('order_key'),
    ]);
}
