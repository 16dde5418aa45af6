import { sql, type RawBuilder } from 'kysely';
import { channelExpression } from '../channels.ts';
import { hasRates, nonNegative, notInFuture } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { fxRateJoin, joinedRate, localDate, rateOn } from '../sql.ts';

/** An order's customer: the shop's customer id, else the e-mail, else the order itself (docs/metrics.md). */
function customerKey(order: RawBuilder<unknown>) {
  return sql<string>`coalesce(${order}.shopify_customer_id, ${order}.email, 'order:' || ${order}.order_id)`;
}

const MONEY = ['total_price', 'subtotal_price', 'total_discounts', 'total_tax', 'total_shipping'] as const;

/**
 * One row per order, in the reporting time zone and currency, with the identity and channel
 * rules of docs/metrics.md: counted = neither test, cancelled nor deleted in Shopify (a deletion
 * event in `staging.shopify_deletions`); customer = the shop's customer
 * id, else the lower-cased trimmed e-mail, else the order itself; channel from the landing
 * URL's UTM parameters, else the referrer.
 *
 * Every staged order is kept: one whose `created_at` (or any field) does not parse never gets
 * here, staging sets it aside with its reason (`ops.set_aside`) rather than letting it vanish.
 * `refunded` is in the order's currency: a refund transaction in another currency is taken
 * through the reporting currency on the refund's date; `refunded_rc` converts each transaction
 * from its own currency on that date.
 */
export const coreOrders = defineModel({
  name: 'core.orders',
  dependsOn: ['staging.shopify_orders', 'staging.shopify_refunds', 'staging.shopify_deletions', 'core.fx_rates'],
  description: 'Shopify orders with local date, reporting-currency amounts, counted flag, customer key and channel.',
  uniqueKey: ['order_id'],
  // order_id with order_name: a shipment or charge naming its order by either is matched through an index.
  indexes: [['order_id'], ['order_date'], ['customer_key'], ['order_name']],
  checks: [
    hasRates('core.orders', MONEY.map((m) => [m, `${m}_rc`] as const), 'order_date'),
    {
      name: 'refunds converted',
      failing: () => sql`select order_id, currency from core.orders where refunded is null or refunded_rc is null order by order_id limit 5`,
      describe: (rows) =>
        `the refunds of order ${rows[0]!.order_id} (${rows[0]!.currency}) could not be converted: an exchange rate is missing on a refund's date for the refund's or the order's currency`,
    },
    nonNegative('core.orders', ['total_price', 'subtotal_price', 'total_discounts', 'total_tax', 'total_shipping', 'refunded'], 'order_id'),
    notInFuture('core.orders', 'order_date', 'order_id'),
  ],
  // An order is rebuilt with every order of its customer (before and after a change): its
  // order sequence and first-order flag are numbered over all of them.
  incremental: {
    replaceBy: 'order_id',
    scope: { 'staging.shopify_orders': 'order_id', 'staging.shopify_refunds': 'order_id' },
    changed: (c) => sql`
      with ids as (
        select x.order_id as id from ${c.replaced('staging.shopify_orders')} x
        union select x.order_id from ${c.replaced('staging.shopify_refunds')} x
        union select x.record_id from ${c.replaced('staging.shopify_deletions')} x where x.record_type = 'order'
        union select o.order_id from core.orders o where o.order_date in ${ratesChangedOn(c)}
        union select r.order_id from core.refunds r where r.refund_date in ${ratesChangedOn(c)}
      ),
      customers as (
        select o.customer_key from core.orders o where o.order_id in (select id from ids)
        union select ${customerKey(sql`s`)} from staging.shopify_orders s where s.order_id in (select id from ids)
      )
      select id as value from ids
      union select o.order_id from core.orders o where o.customer_key in (select customer_key from customers)`,
  },
  build: (db, ctx) => {
    const tz = ctx.reportingTimezone;
    // The order's rate joined once (a hash join on currency and date), not looked up by a
    // subquery per amount and per order: five index probes an order at a million orders.
    const rate = sql`o.rate`;
    const refundDate = localDate(sql`r.created_at`, tz);
    const channel = channelExpression(ctx.channels, {
      source: sql`o.utm_source`,
      medium: sql`o.utm_medium`,
      referrerHost: sql`o.referrer_host`,
    });
    return db
      .selectFrom(sql<Record<string, unknown>>`(
        select s.*,
               ${customerKey(sql`s`)} as customer_key,
               d.record_id is not null as is_deleted,
               not s.is_test and s.cancelled_at is null and d.record_id is null as is_counted,
               ${joinedRate('fx', sql`s.currency`, ctx.reportingCurrency)} as rate
          from staging.shopify_orders s
          left join staging.shopify_deletions d on d.record_type = 'order' and d.record_id = s.order_id
          left join core.fx_rates fx on ${fxRateJoin('fx', sql`s.currency`, localDate(sql`s.created_at`, tz))})`.as('o'))
      .leftJoin(
        // A sum is null when any of its transactions has no rate, never a silently smaller sum.
        sql<{ order_id: string; refunded: string | null; refunded_rc: string | null }>`(
          select x.order_id,
                 case when bool_and(x.in_order is not null) then sum(x.in_order) end as refunded,
                 case when bool_and(x.in_rc is not null) then sum(x.in_rc) end as refunded_rc
            from (
              select r.order_id,
                     case when coalesce(r.currency, so.currency) = so.currency then r.amount
                          else r.amount * ${rateOn(sql`r.currency`, refundDate, ctx.reportingCurrency)} / ${rateOn(sql`so.currency`, refundDate, ctx.reportingCurrency)} end as in_order,
                     r.amount * ${rateOn(sql`coalesce(r.currency, so.currency)`, refundDate, ctx.reportingCurrency)} as in_rc
                from staging.shopify_refunds r
                join staging.shopify_orders so on so.order_id = r.order_id
               where r.kind = 'refund' and r.status = 'success' and r.created_at is not null) x
           group by x.order_id)`.as('r'),
        (join) => join.onRef(sql.ref('r.order_id') as never, '=', sql.ref('o.order_id') as never),
      )
      .select([
        sql<string>`o.order_id`.as('order_id'),
        sql<string | null>`o.order_name`.as('order_name'),
        sql<Date>`o.created_at`.as('created_at'),
        localDate(sql`o.created_at`, tz).as('order_date'),
        sql<Date | null>`o.updated_at`.as('updated_at'),
        sql<Date | null>`o.cancelled_at`.as('cancelled_at'),
        sql<string>`o.currency`.as('currency'),
        ...MONEY.map((m) => sql<string>`${sql.ref(`o.${m}`)}`.as(m)),
        sql<string>`case when r.order_id is null then 0 else r.refunded end`.as('refunded'),
        ...MONEY.map((m) => sql<string>`${sql.ref(`o.${m}`)} * ${rate}`.as(`${m}_rc`)),
        sql<string>`case when r.order_id is null then 0 else r.refunded_rc end`.as('refunded_rc'),
        sql<boolean>`o.is_test`.as('is_test'),
        sql<boolean>`o.cancelled_at is not null`.as('is_cancelled'),
        sql<boolean>`o.is_deleted`.as('is_deleted'),
        sql<boolean>`o.is_counted`.as('is_counted'),
        sql<string>`o.customer_key`.as('customer_key'),
        sql<string | null>`o.shopify_customer_id`.as('shopify_customer_id'),
        sql<string | null>`o.email`.as('email'),
        channel.as('channel'),
        sql<string | null>`o.utm_source`.as('utm_source'),
        sql<string | null>`o.utm_medium`.as('utm_medium'),
        sql<string | null>`o.utm_campaign`.as('utm_campaign'),
        sql<string | null>`o.landing_site`.as('landing_site'),
        sql<string | null>`o.referring_site`.as('referring_site'),
        sql<number | null>`case when o.is_counted then row_number() over (partition by o.customer_key, o.is_counted order by o.created_at, o.order_id) end::int`.as('customer_order_seq'),
        sql<boolean>`o.is_counted and row_number() over (partition by o.customer_key, o.is_counted order by o.created_at, o.order_id) = 1`.as('is_first_order'),
        sql<boolean>`'stripe' = any(o.payment_gateway_names)`.as('paid_with_stripe'),
      ]);
  },
});
