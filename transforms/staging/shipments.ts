import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel, type TransformContext } from '../model.ts';
import { jsonCheckedTimestamp, rawRecordsOnce } from '../sql.ts';
import { amountProblem, currencyProblem, dateRange, foldedProblem, plainTimestamp, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

/**
 * A date-only value ('2024-03-05', as carriers give promised dates) is a calendar date, not
 * midnight UTC: it is kept apart so it is never shifted into the previous day.
 */
const dateOnly = (field: string) =>
  sql<string | null>`case when btrim(_record->>${sql.lit(field)}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then ops.parse_date(_record->>${sql.lit(field)}) end`;

const text = (name: string) => sql`_record->>${sql.lit(name)}`;
const DATES: [name: string, rule: { dateOnly: true; promise?: true }][] = [
  ['shipped_at', { dateOnly: true }],
  ['estimated_delivery_at', { dateOnly: true, promise: true }],
  ['delivered_at', { dateOnly: true }],
  ['returned_at', { dateOnly: true }],
];
const costProblems = () => [amountProblem('shipping_cost', text('shipping_cost')), currencyProblem('currency', text('currency'))];

/** Why a shipment cannot be used, or null. */
export function shipmentProblem(ctx: TransformContext) {
  const range = dateRange(ctx);
  return problems(...DATES.map(([name, rule]) => timestampProblem(name, text(name), range, rule)), ...costProblems());
}

/** A shipment that plainly has no problem: its dates absent or plain (`plainTimestamp`), its cost and currency passing. */
export function shipmentPlain(ctx: TransformContext) {
  const range = dateRange(ctx);
  const dates = DATES.map(([name, rule]) => sql`(${text(name)} is null or ${plainTimestamp(text(name), range, rule)})`);
  return sql<boolean>`(${problems(...costProblems())} is null and ${sql.join(dates, sql` and `)})`;
}

/** The model's check, run in its own scan of the raw records (`foldedInto`). */
const SHIPMENTS_CHECK = rawRecordsCheck('shipments', 'shipments', 'shipment_key', shipmentProblem, { plain: shipmentPlain, foldedInto: 'staging.shipments' });

/**
 * One row per shipment. A shipment whose dates (ISO 8601, or a date alone; the promised one up
 * to a year ahead, the others not in the future), cost or currency do not parse is set aside.
 */
export const stagingShipments = defineModel({
  name: 'staging.shipments',
  dependsOn: ['raw.shipments__shipments'],
  description: 'Shipments from carrier exports and APIs, timestamps typed.',
  uniqueKey: ['shipment_key'],
  checks: [SHIPMENTS_CHECK],
  // The incremental build of core.payments and core.shipments finds the rows naming an order through these.
  indexes: [['order_ref']],
  incremental: byRawKey('shipments', 'shipments', 'shipment_key'),
  build: (db, ctx) =>
    db.selectFrom(rawRecordsOnce('raw.shipments__shipments')).select([
      '_key as shipment_key',
      sql<string | null>`nullif(btrim(_record->>'tracking_number'), '')`.as('tracking_number'),
      sql<string | null>`nullif(btrim(_record->>'order_id'), '')`.as('order_ref'),
      sql<string | null>`nullif(_record->>'carrier', '')`.as('carrier'),
      sql<string | null>`nullif(_record->>'service', '')`.as('service'),
      sql<string | null>`lower(nullif(_record->>'status', ''))`.as('status'),
      jsonCheckedTimestamp('_record', 'shipped_at').as('shipped_at'),
      dateOnly('shipped_at').as('shipped_on'),
      jsonCheckedTimestamp('_record', 'estimated_delivery_at').as('estimated_delivery_at'),
      dateOnly('estimated_delivery_at').as('estimated_delivery_on'),
      jsonCheckedTimestamp('_record', 'delivered_at').as('delivered_at'),
      dateOnly('delivered_at').as('delivered_on'),
      jsonCheckedTimestamp('_record', 'returned_at').as('returned_at'),
      dateOnly('returned_at').as('returned_on'),
      sql<string | null>`ops.parse_decimal(_record->>'shipping_cost')`.as('shipping_cost'),
      sql<string | null>`upper(nullif(btrim(_record->>'currency'), ''))`.as('currency'),
      foldedProblem(SHIPMENTS_CHECK, ctx),
    ]),
});
