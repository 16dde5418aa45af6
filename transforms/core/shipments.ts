import { sql } from 'kysely';
import { hasRates, nonNegative } from '../checks.ts';
import { orderReferences, ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { shipmentsOfSetAsideOrders } from '../validation.ts';
import { localDate, rateOn } from '../sql.ts';

/**
 * Shipments matched to their order (by the shop's order id, else its name), with local dates,
 * the delivery time from the order's creation and whether the promise was kept.
 *
 * The shipping cost is converted on `cost_date`: the shipped date (the label is bought then),
 * else the order's date (the nearest known date before it, and never in the future), else the
 * delivered date, else the promised one.
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
    changed: (c) => sql`
      with orders as (select * from ${c.replaced('core.orders')} o),
      refs as (select ref from ${orderReferences(c)} r)
      select x.shipment_key as value from ${c.replaced('staging.shipments')} x
      union select s.shipment_key from core.shipments s where s.order_id in (select order_id from orders)
      union select s.shipment_key from staging.shipments s where s.order_ref in (select ref from refs)
      union select s.shipment_key from core.shipments s where s.cost_date in ${ratesChangedOn(c)}`,
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
          from staging.shipments s
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
