import { sql, type RawBuilder } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel, type TransformContext } from '../model.ts';
import { asciiLower, asciiUpper, checkedTimestamp, jsonTextsOnce, rawRecordsOnce } from '../sql.ts';
import { amountProblem, currencyProblem, dateRange, foldedProblem, plainAmount, plainCurrency, plainParsedDate, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

/**
 * A date-only value ('2024-03-05', as carriers give promised dates) is a calendar date, not
 * midnight UTC: it is kept apart so it is never shifted into the previous day. Only a text of
 * ten bytes can be one, so the pattern (about 1 µs a call, four calls a shipment) is not matched
 * against the dates and times most shipments carry.
 */
const dateOnly = (text: RawBuilder<unknown>) =>
  sql<string | null>`case when octet_length(btrim(${text})) = 10 and btrim(${text}) ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then ops.parse_date(${text}) end`;

/** A date field's text, read once a record (`jsonTextsOnce`, as `tx`). */
const dateText = (name: string) => sql.ref(`tx.${name}`);

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

/** The column of a date field's date alone: `shipped_at` → `shipped_on`. */
const onColumn = (name: string) => name.replace(/_at$/, '_on');
type ParsedDate = 'shipped_at' | 'shipped_on' | 'estimated_delivery_at' | 'estimated_delivery_on' | 'delivered_at' | 'delivered_on' | 'returned_at' | 'returned_on';

/**
 * A shipment that plainly has no problem, where the model selects it: each date absent or in
 * range as the model parsed it (`p`, {@link plainParsedDate}), the cost and currency plain (a
 * pattern and a lookup, not the problem's functions). The dates are not matched against a
 * pattern a second time: the four of a million shipments cost some 7 s that way.
 */
function shipmentPlain(ctx: TransformContext) {
  const range = dateRange(ctx);
  const dates = DATES.map(([name, rule]) =>
    plainParsedDate({ absent: sql`${dateText(name)} is null`, at: sql.ref(`p.${name}`), on: sql.ref(`p.${onColumn(name)}`) }, range, rule),
  );
  return sql<boolean>`(${plainAmount(text('shipping_cost'))} and ${plainCurrency(text('currency'))} and ${sql.join(dates, sql` and `)})`;
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
    db
      .selectFrom(rawRecordsOnce('raw.shipments__shipments'))
      // Each date's text read once, then each date parsed once (an array each, unnested): the
      // check's plain test reads them again.
      .crossJoinLateral(jsonTextsOnce('tx', DATES.map(([name]) => name)))
      .crossJoinLateral(
        sql<Record<ParsedDate, Date | string | null>>`(select * from unnest(${sql.join(
          DATES.flatMap(([name]) => [sql`array[${checkedTimestamp(dateText(name))}]`, sql`array[${dateOnly(dateText(name))}]`]),
        )}) as p(${sql.join(DATES.flatMap(([name]) => [sql.id(name), sql.id(onColumn(name))]))}))`.as('p'),
      )
      .select([
        '_key as shipment_key',
        sql<string | null>`nullif(btrim(_record->>'tracking_number'), '')`.as('tracking_number'),
        sql<string | null>`nullif(btrim(_record->>'order_id'), '')`.as('order_ref'),
        sql<string | null>`nullif(_record->>'carrier', '')`.as('carrier'),
        sql<string | null>`nullif(_record->>'service', '')`.as('service'),
        sql<string | null>`${asciiLower(sql`nullif(_record->>'status', '')`)}`.as('status'),
        sql<Date | null>`p.shipped_at`.as('shipped_at'),
        sql<string | null>`p.shipped_on`.as('shipped_on'),
        sql<Date | null>`p.estimated_delivery_at`.as('estimated_delivery_at'),
        sql<string | null>`p.estimated_delivery_on`.as('estimated_delivery_on'),
        sql<Date | null>`p.delivered_at`.as('delivered_at'),
        sql<string | null>`p.delivered_on`.as('delivered_on'),
        sql<Date | null>`p.returned_at`.as('returned_at'),
        sql<string | null>`p.returned_on`.as('returned_on'),
        sql<string | null>`ops.parse_decimal(_record->>'shipping_cost')`.as('shipping_cost'),
        sql<string | null>`${asciiUpper(sql`nullif(btrim(_record->>'currency'), '')`)}`.as('currency'),
        // EasyPost marks a return label on its Shipment (a tracker may carry the flag too): core.shipments
        // does not take it for the tracked version of an outbound parcel of the same order and carrier.
        sql<boolean>`(_record @> '{"easypost_shipment": {"is_return": true}}' or _record @> '{"easypost_tracker": {"is_return": true}}')`.as('is_return_label'),
        foldedProblem(SHIPMENTS_CHECK, ctx),
      ]),
});
