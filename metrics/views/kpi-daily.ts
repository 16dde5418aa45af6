import { sql } from 'kysely';
import { defineView } from '../view.ts';
import { countedShipments } from './counted-shipments.ts';

/**
 * `metrics.kpi_daily`: one row per local date, every date from the first to the last day on
 * which any source has something (an order, a refund, GA4 traffic, ad spend, a Stripe charge,
 * a counted shipment shipped, delivered or returned), so a day without orders is a row of zeros.
 */
export const kpiDaily = defineView({
  name: 'kpi_daily',
  grain: 'one row per local date, with no gaps between the first and the last day with data',
  dimensions: ['date'],
  indexes: [{ columns: ['date'], unique: true }],
  build: (db) =>
    db
      .with('orders_d', (q) =>
        q
          .selectFrom('core.orders')
          .where('is_counted', '=', true)
          .groupBy('order_date')
          .select([
            'order_date as date',
            sql<number>`count(*)`.as('orders'),
            sql<string>`sum(total_price_rc)`.as('revenue'),
            sql<number>`count(distinct customer_key)`.as('customers'),
            sql<number>`count(*) filter (where is_first_order)`.as('new_customers'),
            sql<string>`coalesce(sum(total_price_rc) filter (where is_first_order), 0)`.as('new_customer_revenue'),
          ]),
      )
      .with('refunds_d', (q) =>
        q
          .selectFrom('core.refunds')
          .where('order_is_counted', '=', true)
          .groupBy('refund_date')
          .select(['refund_date as date', sql<string>`sum(amount_rc)`.as('refunds')]),
      )
      .with('traffic_d', (q) =>
        q
          .selectFrom('core.traffic')
          .groupBy('date')
          .select([
            'date',
            sql<number>`sum(sessions)`.as('sessions'),
            sql<number>`sum(users)`.as('users'),
            sql<number>`sum(add_to_carts)`.as('add_to_carts'),
            sql<number>`sum(checkouts)`.as('checkouts'),
            sql<number>`sum(purchases)`.as('ga4_purchases'),
            sql<string>`sum(purchase_revenue_rc)`.as('ga4_purchase_revenue'),
          ]),
      )
      .with('spend_d', (q) =>
        q
          .selectFrom('core.spend')
          .groupBy('date')
          .select(['date', sql<string>`sum(spend_rc)`.as('ad_spend'), sql<number>`sum(clicks)`.as('ad_clicks'), sql<number>`sum(impressions)`.as('ad_impressions')]),
      )
      .with('payments_d', (q) =>
        q
          .selectFrom('core.payments')
          .groupBy('payment_date')
          .select([
            'payment_date as date',
            sql<number>`count(*) filter (where status in ('succeeded', 'failed'))`.as('payment_attempts'),
            sql<number>`count(*) filter (where status = 'succeeded')`.as('payments_succeeded'),
          ]),
      )
      .with('shipments_c', (q) => countedShipments(q))
      .with('delivered_d', (q) =>
        q
          .selectFrom('shipments_c')
          .where('delivered_date', 'is not', null)
          .groupBy('delivered_date')
          .select([
            sql<string>`delivered_date`.as('date'),
            sql<number>`count(*)`.as('shipments_delivered'),
            sql<number>`count(*) filter (where is_on_time)`.as('shipments_on_time'),
            sql<number>`count(*) filter (where promised_date is not null)`.as('shipments_delivered_with_promise'),
            sql<string>`coalesce(sum(delivery_days), 0)`.as('delivery_days_total'),
          ]),
      )
      .with('shipped_d', (q) =>
        q
          .selectFrom('shipments_c')
          .where('shipped_date', 'is not', null)
          .groupBy('shipped_date')
          .select([
            sql<string>`shipped_date`.as('date'),
            sql<string>`coalesce(sum(shipping_cost_rc), 0)`.as('shipping_cost'),
            sql<number>`count(distinct order_id)`.as('orders_shipped'),
          ]),
      )
      .with('returned_d', (q) =>
        q
          .selectFrom('shipments_c')
          .where('returned_date', 'is not', null)
          .groupBy('returned_date')
          .select([sql<string>`returned_date`.as('date'), sql<number>`count(*)`.as('returns')]),
      )
      .with('bounds', (q) =>
        q
          .selectFrom(
            sql<{ date: string }>`(
              select date from orders_d union all select date from refunds_d union all select date from traffic_d
              union all select date from spend_d union all select date from payments_d union all select date from delivered_d
              union all select date from shipped_d union all select date from returned_d)`.as('d'),
          )
          .select([sql<string | null>`min(d.date)`.as('first_date'), sql<string | null>`max(d.date)`.as('last_date')]),
      )
      .with('days', (q) =>
        q
          .selectFrom(
            sql<{ date: string }>`(select gs::date as date from bounds, generate_series(bounds.first_date::timestamp, bounds.last_date::timestamp, interval '1 day') as gs)`.as('g'),
          )
          .select('g.date'),
      )
      .selectFrom('days')
      .leftJoin('orders_d as o', 'o.date', 'days.date')
      .leftJoin('refunds_d as r', 'r.date', 'days.date')
      .leftJoin('traffic_d as t', 't.date', 'days.date')
      .leftJoin('spend_d as s', 's.date', 'days.date')
      .leftJoin('payments_d as p', 'p.date', 'days.date')
      .leftJoin('delivered_d as dl', 'dl.date', 'days.date')
      .leftJoin('shipped_d as sh', 'sh.date', 'days.date')
      .leftJoin('returned_d as rt', 'rt.date', 'days.date')
      .select([
        'days.date',
        sql<number>`coalesce(o.orders, 0)`.as('orders'),
        sql<string>`coalesce(o.revenue, 0)`.as('revenue'),
        sql<string>`coalesce(r.refunds, 0)`.as('refunds'),
        sql<number>`coalesce(o.customers, 0)`.as('customers'),
        sql<number>`coalesce(o.new_customers, 0)`.as('new_customers'),
        sql<string>`coalesce(o.new_customer_revenue, 0)`.as('new_customer_revenue'),
        sql<number>`coalesce(t.sessions, 0)`.as('sessions'),
        sql<number>`coalesce(t.users, 0)`.as('users'),
        sql<number>`coalesce(t.add_to_carts, 0)`.as('add_to_carts'),
        sql<number>`coalesce(t.checkouts, 0)`.as('checkouts'),
        sql<number>`coalesce(t.ga4_purchases, 0)`.as('ga4_purchases'),
        sql<string>`coalesce(t.ga4_purchase_revenue, 0)`.as('ga4_purchase_revenue'),
        sql<string>`coalesce(s.ad_spend, 0)`.as('ad_spend'),
        sql<number>`coalesce(s.ad_clicks, 0)`.as('ad_clicks'),
        sql<number>`coalesce(s.ad_impressions, 0)`.as('ad_impressions'),
        sql<number>`coalesce(p.payment_attempts, 0)`.as('payment_attempts'),
        sql<number>`coalesce(p.payments_succeeded, 0)`.as('payments_succeeded'),
        sql<number>`coalesce(dl.shipments_delivered, 0)`.as('shipments_delivered'),
        sql<number>`coalesce(dl.shipments_on_time, 0)`.as('shipments_on_time'),
        sql<number>`coalesce(dl.shipments_delivered_with_promise, 0)`.as('shipments_delivered_with_promise'),
        sql<string>`coalesce(dl.delivery_days_total, 0)`.as('delivery_days_total'),
        sql<string>`coalesce(sh.shipping_cost, 0)`.as('shipping_cost'),
        sql<number>`coalesce(sh.orders_shipped, 0)`.as('orders_shipped'),
        sql<number>`coalesce(rt.returns, 0)`.as('returns'),
      ]),
});
