import { sql, type RawBuilder } from 'kysely';
import { hasRates, nonNegative } from '../checks.ts';
import { orderReferences, ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { shipmentsOfSetAsideOrders } from '../validation.ts';
import { asciiLower, localDate, rateOn } from '../sql.ts';

/** An order reference with its '#' left out: `#1001` and `1001` name one order. */
const orderPart = (ref: RawBuilder<unknown>) => sql<string | null>`(case when left(${ref}, 1) = '#' then substr(${ref}, 2) else ${ref} end)`;

/**
 * Whether shipments `a` and `b` (aliases of `staging.shipments`) are of the same order and carrier:
 * the order reference with or without its '#' (`order_ref` itself as one of two values, so the
 * index on it serves the lookup), the carrier in any capitals. An equivalence, so the
 * shipments of one order and carrier are one group.
 */
function sameOrderAndCarrier(a: string, b: string): RawBuilder<boolean> {
  const ref = (t: string) => sql.ref(`${t}.order_ref`);
  const carrier = (t: string) => asciiLower(sql`btrim(${sql.ref(`${t}.carrier`)})`);
  return sql<boolean>`${ref(b)} in (${orderPart(ref(a))}, '#' || ${orderPart(ref(a))})
    and ${orderPart(ref(b))} = ${orderPart(ref(a))} and ${carrier(b)} = ${carrier(a)}`;
}

/**
 * A shipment without a tracking number (keyed by order and carrier) beside a tracked shipment of
 * the same order and carrier is that parcel seen before its number was known, or by an export
 * that leaves it out: it is left out of core.shipments, and the tracked one counts. A return label
 * is another parcel, and leaves none out (DECISIONLOG.md, "A parcel landed without a tracking
 * number and later with one is one shipment").
 *
 * The untracked shipments are tested apart from the others (a union, not an OR in one scan), so
 * the planner looks them up one by one when they are few and hashes the tracked ones when they
 * are many: with an OR it looked each one up, 3 s more for 100,000 of them.
 */
const PARCELS = sql`(
  select * from staging.shipments where tracking_number is not null
  union all
  select * from staging.shipments u
   where u.tracking_number is null
     and not exists (select 1 from staging.shipments t
                      where t.tracking_number is not null and not t.is_return_label and ${sameOrderAndCarrier('u', 't')}))`;

/**
 * Shipments matched to their order (by the shop's order id, else its name), with local dates,
 * the delivery time from the order's creation and whether the promise was kept.
 *
 * The shipping cost is converted on `cost_date`: the shipped date (the label is bought then),
 * else the order's date (the nearest known date before it, and never in the future), else the
 * delivered date, else the promised one.
 *
 * A shipment without a tracking number is left out when a tracked shipment (not a return label)
 * of the same order and carrier is there: the same parcel, landed before its number was known.
 */
export const coreShipments = defineModel({
  name: 'core.shipments',
  dependsOn: ['staging.shipments', 'core.orders', 'core.fx_rates'],
  description: 'Shipments with order, carrier, local shipped/promised/delivered/returned dates, delivery days and on-time flag.',
  uniqueKey: ['shipment_key'],
  indexes: [['delivered_date'], ['shipped_date'], ['returned_date'], ['order_id'], ['cost_date']],
  // No reference check on order_id: it is only ever taken from core.orders (the match), so it
  // could never fail; a shipment naming an unknown order keeps order_ref and has no order_id.
  // A shipment whose order is set aside is set aside with it.
  checks: [
    shipmentsOfSetAsideOrders(),
    hasRates('core.shipments', [['shipping_cost', 'shipping_cost_rc']], 'cost_date'),
    nonNegative('core.shipments', ['shipping_cost'], 'shipment_key'),
  ],
  incremental: {
    replaceBy: 'shipment_key',
    scope: { 'staging.shipments': 'shipment_key' },
    // Whether an untracked shipment is left out depends on the other shipments of its order and
    // carrier: each group with an untracked shipment is rebuilt whole when one of its shipments is
    // (as it is now, or as it was: a tracked one moved to another order leaves one behind), the
    // set-aside ones the runner checks again included.
    changed: (c) => sql`
      with orders as (select * from ${c.replaced('core.orders')} o),
      refs as (select ref from ${orderReferences(c)} r),
      rebuilt as (
        select x.shipment_key as value from ${c.replaced('staging.shipments')} x
        union select s.shipment_key from core.shipments s where s.order_id in (select order_id from orders)
        union select s.shipment_key from staging.shipments s where s.order_ref in (select ref from refs)
        union select s.shipment_key from core.shipments s where s.cost_date in ${ratesChangedOn(c)}
        union select key from ops.set_aside where model = 'core.shipments'),
      touched as (
        select s.order_ref, s.carrier from staging.shipments s where s.shipment_key in (select value from rebuilt)
        union select x.order_ref, x.carrier from ${c.replaced('staging.shipments')} x),
      untracked as (
        select distinct u.order_ref, u.carrier from touched g
          join staging.shipments u on u.tracking_number is null and ${sameOrderAndCarrier('g', 'u')})
      select value from rebuilt
      union select p.shipment_key from untracked u join staging.shipments p on ${sameOrderAndCarrier('u', 'p')}`,
  },
  build: (db, ctx) => {
    const tz = ctx.reportingTimezone;
    // The local date of each event: the carrier's date-only value, else the timestamp's local date.
    const day = (on: string, at: string) => sql`coalesce(${sql.ref(`s.${on}`)}, ${localDate(sql.ref(`s.${at}`), tz)})`;
    const costDate = sql<string | null>`coalesce(s.shipped_date, s.order_date, s.delivered_date, s.promised_date)`;
    const currency = sql<string>`coalesce(s.currency, ${sql.lit(ctx.reportingCurrency)})`;
    // A shipment names its order by the order's id, else by its name with or without '#'. Each
    // spelling is its own equi-join (hash-joinable, and index-served on core.orders), not one
    // join on an OR of the three, which nothing but a nested loop over orders × shipments can
    // run. By name, the earliest order of that name wins.
    const byName = sql`
      select distinct on (n.shipment_key) n.shipment_key, o.order_id, o.created_at, o.order_date, o.is_counted
        from (select shipment_key, order_ref as name from staging.shipments where order_ref is not null
              union all
              select shipment_key, '#' || order_ref from staging.shipments where order_ref is not null) n
        join core.orders o on o.order_name = n.name
       order by n.shipment_key, o.created_at, o.order_id`;
    return db
      .selectFrom(sql<Record<string, unknown>>`(
        select s.*, o.order_id, o.created_at as order_created_at, o.order_date, o.is_counted as order_is_counted,
               ${day('shipped_on', 'shipped_at')} as shipped_date,
               ${day('estimated_delivery_on', 'estimated_delivery_at')} as promised_date,
               ${day('delivered_on', 'delivered_at')} as delivered_date,
               ${day('returned_on', 'returned_at')} as returned_date
          from ${PARCELS} s
          left join (
            select s.shipment_key,
                   coalesce(by_id.order_id, by_name.order_id) as order_id,
                   coalesce(by_id.created_at, by_name.created_at) as created_at,
                   coalesce(by_id.order_date, by_name.order_date) as order_date,
                   coalesce(by_id.is_counted, by_name.is_counted) as is_counted
              from staging.shipments s
              left join core.orders by_id on by_id.order_id = s.order_ref
              left join (${byName}) by_name on by_id.order_id is null and by_name.shipment_key = s.shipment_key
             where s.order_ref is not null
          ) o on o.shipment_key = s.shipment_key)`.as('s'))
      .select([
        sql<string>`s.shipment_key`.as('shipment_key'),
        sql<string | null>`s.tracking_number`.as('tracking_number'),
        sql<string | null>`s.order_id`.as('order_id'),
        // The metrics count the shipments of counted orders: read here, not joined again per measure.
        sql<boolean>`coalesce(s.order_is_counted, false)`.as('order_is_counted'),
        sql<string | null>`s.order_ref`.as('order_ref'),
        sql<string | null>`s.carrier`.as('carrier'),
        sql<string | null>`s.service`.as('service'),
        sql<string | null>`s.status`.as('status'),
        sql<Date | null>`s.shipped_at`.as('shipped_at'),
        sql<string | null>`s.shipped_date`.as('shipped_date'),
        sql<Date | null>`s.estimated_delivery_at`.as('estimated_delivery_at'),
        sql<string | null>`s.promised_date`.as('promised_date'),
        sql<Date | null>`s.delivered_at`.as('delivered_at'),
        sql<string | null>`s.delivered_date`.as('delivered_date'),
        sql<Date | null>`s.returned_at`.as('returned_at'),
        sql<string | null>`s.returned_date`.as('returned_date'),
        sql<string | null>`extract(epoch from (s.delivered_at - s.order_created_at)) / 86400`.as('delivery_days'),
        sql<boolean | null>`s.delivered_date <= s.promised_date`.as('is_on_time'),
        // A cost without a currency is taken to be in the reporting currency.
        currency.as('currency'),
        sql<string | null>`s.shipping_cost`.as('shipping_cost'),
        costDate.as('cost_date'),
        sql<string | null>`s.shipping_cost * ${rateOn(currency, costDate, ctx.reportingCurrency)}`.as('shipping_cost_rc'),
      ]);
  },
});
