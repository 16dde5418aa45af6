import { sql } from 'kysely';
import { channelExpression } from '../channels.ts';
import { hasRates, nonNegative, notInFuture } from '../checks.ts';
import { defineModel } from '../model.ts';
import { localDate, rateOn } from '../sql.ts';

const MONEY = ['total_price', 'subtotal_price', 'total_discounts', 'total_tax', 'total_shipping'] as const;

/**
 * One row per order, in the reporting time zone and currency, with the identity and channel
 * rules of METRICS.md: counted = neither test nor cancelled; customer = the shop's customer
 * id, else the lower-cased trimmed e-mail, else the order itself; channel from the landing
 * URL's UTM parameters, else the referrer.
 */
export const coreOrders = defineModel({
  name: 'core.orders',
  dependsOn: ['staging.shopify_orders', 'staging.shopify_refunds', 'core.fx_rates'],
  description: 'Shopify orders with local date, reporting-currency amounts, counted flag, customer key and channel.',
  uniqueKey: ['order_id'],
  indexes: [['order_date'], ['customer_key'], ['order_name']],
  checks: [
    hasRates('core.orders', MONEY.map((m) => [m, `${m}_rc`] as const), 'order_date'),
    nonNegative('core.orders', ['total_price', 'subtotal_price', 'total_discounts', 'total_tax', 'total_shipping', 'refunded'], 'order_id'),
    notInFuture('core.orders', 'order_date', 'order_id'),
  ],
  build: (db, ctx) => {
    const tz = ctx.reportingTimezone;
    const rate = rateOn(sql`o.currency`, localDate(sql`o.created_at`, tz), ctx.reportingCurrency);
    const channel = channelExpression(ctx.channels, {
      source: sql`o.utm_source`,
      medium: sql`o.utm_medium`,
      referrerHost: sql`ops.url_host(o.referring_site)`,
    });
    return db
      .selectFrom(sql<Record<string, unknown>>`(
        select s.*,
               ops.url_param(s.landing_site, 'utm_source') as utm_source,
               ops.url_param(s.landing_site, 'utm_medium') as utm_medium,
               ops.url_param(s.landing_site, 'utm_campaign') as utm_campaign,
               coalesce(s.shopify_customer_id, s.email, 'order:' || s.order_id) as customer_key,
               not s.is_test and s.cancelled_at is null as is_counted
          from staging.shopify_orders s
         where s.created_at is not null)`.as('o'))
      .leftJoin(
        sql<{ order_id: string; refunded: string; refunded_rc: string }>`(
          select r.order_id, sum(r.amount) as refunded,
                 sum(r.amount * ${rateOn(sql`coalesce(r.currency, so.currency)`, localDate(sql`r.created_at`, tz), ctx.reportingCurrency)}) as refunded_rc
            from staging.shopify_refunds r
            join staging.shopify_orders so on so.order_id = r.order_id
           where r.kind = 'refund' and r.status = 'success' and r.created_at is not null
           group by r.order_id)`.as('r'),
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
        sql<string>`coalesce(r.refunded, 0)`.as('refunded'),
        ...MONEY.map((m) => sql<string>`${sql.ref(`o.${m}`)} * ${rate}`.as(`${m}_rc`)),
        sql<string>`coalesce(r.refunded_rc, 0)`.as('refunded_rc'),
        sql<boolean>`o.is_test`.as('is_test'),
        sql<boolean>`o.cancelled_at is not null`.as('is_cancelled'),
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
