import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { jsonTimestamp } from '../sql.ts';

/**
 * A date-only value ('2024-03-05', as carriers give promised dates) is a calendar date, not
 * midnight UTC: it is kept apart so it is never shifted into the previous day.
 */
const dateOnly = (field: string) =>
  sql<string | null>`case when btrim(_record->>${sql.lit(field)}) ~ '^\\d{4}-\\d{2}-\\d{2}$' then ops.try_date(_record->>${sql.lit(field)}) end`;

/** One row per shipment. */
export const stagingShipments = defineModel({
  name: 'staging.shipments',
  dependsOn: ['raw.shipments__shipments'],
  description: 'Shipments from carrier exports and APIs, timestamps typed.',
  uniqueKey: ['shipment_key'],
  build: (db) =>
    db.selectFrom('raw.shipments__shipments').select([
      sql<string>`_key`.as('shipment_key'),
      sql<string | null>`nullif(btrim(_record->>'tracking_number'), '')`.as('tracking_number'),
      sql<string | null>`nullif(btrim(_record->>'order_id'), '')`.as('order_ref'),
      sql<string | null>`nullif(_record->>'carrier', '')`.as('carrier'),
      sql<string | null>`nullif(_record->>'service', '')`.as('service'),
      sql<string | null>`lower(nullif(_record->>'status', ''))`.as('status'),
      jsonTimestamp('_record', 'shipped_at').as('shipped_at'),
      dateOnly('shipped_at').as('shipped_on'),
      jsonTimestamp('_record', 'estimated_delivery_at').as('estimated_delivery_at'),
      dateOnly('estimated_delivery_at').as('estimated_delivery_on'),
      jsonTimestamp('_record', 'delivered_at').as('delivered_at'),
      dateOnly('delivered_at').as('delivered_on'),
      jsonTimestamp('_record', 'returned_at').as('returned_at'),
      dateOnly('returned_at').as('returned_on'),
      sql<string | null>`ops.try_numeric(_record->>'shipping_cost')`.as('shipping_cost'),
      sql<string | null>`upper(nullif(_record->>'currency', ''))`.as('currency'),
    ]),
});
