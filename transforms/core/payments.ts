import { sql } from 'kysely';
import { hasRates, nonNegative } from '../checks.ts';
import { orderReferences, ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { chargesOfSetAsideOrders } from '../validation.ts';
import { fxRateJoin, joinedRate, localDate } from '../sql.ts';

/**
 * Stripe charges, converted on their local date, each matched to the Shopify order it pays:
 * through `metadata.order_id` (the order's id, else its name with or without '#'), then
 * through the payment intent (a charge sharing the intent of a matched charge pays the same
 * order, e.g. a retry after a decline).
 */
export const corePayments = defineModel({
  name: 'core.payments',
  dependsOn: ['staging.stripe_charges', 'core.orders', 'core.fx_rates'],
  description: 'Stripe charges with status, amounts in the reporting currency and the matched order.',
  uniqueKey: ['charge_id'],
  indexes: [['payment_date'], ['order_id']],
  // No reference check on order_id: it is only ever taken from core.orders (the match), so it
  // could never fail; a charge naming an unknown order is unmatched (order_id null, metadata kept).
  // A charge whose order is set aside is set aside with it.
  checks: [
    chargesOfSetAsideOrders(),
    hasRates('core.payments', [['amount', 'amount_rc'], ['amount_captured', 'amount_captured_rc'], ['amount_refunded', 'amount_refunded_rc']], 'payment_date'),
    nonNegative('core.payments', ['amount', 'amount_captured', 'amount_refunded'], 'charge_id'),
  ],
  // A charge is rebuilt with every charge of its payment intent (matched through the intent's
  // earliest charge), and with the charges naming an order replaced, by its id or name.
  incremental: {
    replaceBy: 'charge_id',
    scope: { 'staging.stripe_charges': 'charge_id' },
    changed: (c) => sql`
      with orders as (select * from ${c.replaced('core.orders')} o),
      refs as (select ref from ${orderReferences(c)} r),
      ids as (
        select x.charge_id as id from ${c.replaced('staging.stripe_charges')} x
        union select p.charge_id from core.payments p where p.order_id in (select order_id from orders)
        union select s.charge_id from staging.stripe_charges s where s.metadata_order_id in (select ref from refs)
        union select p.charge_id from core.payments p where p.payment_date in ${ratesChangedOn(c)}
      ),
      intents as (
        select s.payment_intent from staging.stripe_charges s where s.charge_id in (select id from ids) and s.payment_intent is not null
        union select p.payment_intent from core.payments p where p.charge_id in (select id from ids) and p.payment_intent is not null
      )
      select id as value from ids
      union select s.charge_id from staging.stripe_charges s where s.payment_intent in (select payment_intent from intents)`,
  },
  build: (db, ctx) => {
    const date = localDate(sql`c.created_at`, ctx.reportingTimezone);
    const rate = joinedRate('fx', sql`c.currency`, ctx.reportingCurrency);
    return db
      .selectFrom(sql<Record<string, unknown>>`(
        with by_metadata as (
          select c.charge_id,
                 coalesce(by_id.order_id, by_name.order_id) as order_id,
                 case when by_id.order_id is not null then 'metadata_order_id'
                      when by_name.order_id is not null then 'metadata_order_name' end as match_method
            from staging.stripe_charges c
            left join core.orders by_id on by_id.order_id = c.metadata_order_id
            left join lateral (
              select o.order_id from core.orders o
               where by_id.order_id is null and c.metadata_order_id is not null
                 and (o.order_name = c.metadata_order_id or o.order_name = '#' || c.metadata_order_id)
               order by o.created_at limit 1
            ) by_name on true
        ),
        -- Each payment intent's order: that of its earliest charge matched through metadata.
        -- Computed once and joined (a lateral subquery per unmatched charge read every charge again).
        by_intent as (
          select distinct on (c2.payment_intent) c2.payment_intent, m2.order_id
            from staging.stripe_charges c2
            join by_metadata m2 on m2.charge_id = c2.charge_id
           where c2.payment_intent is not null and m2.order_id is not null
           order by c2.payment_intent, c2.created_at, c2.charge_id
        )
        select c.*,
               coalesce(m.order_id, pi.order_id) as order_id,
               coalesce(m.match_method, case when pi.order_id is not null then 'payment_intent' end) as match_method
          from staging.stripe_charges c
          join by_metadata m on m.charge_id = c.charge_id
          left join by_intent pi on m.order_id is null and pi.payment_intent = c.payment_intent
         where c.created_at is not null)`.as('c'))
      .leftJoin('core.fx_rates as fx', (j) => j.on(fxRateJoin('fx', sql`c.currency`, date)))
      .select([
        sql<string>`c.charge_id`.as('charge_id'),
        sql<Date>`c.created_at`.as('created_at'),
        date.as('payment_date'),
        sql<string>`c.status`.as('status'),
        sql<string>`c.currency`.as('currency'),
        sql<string>`c.amount`.as('amount'),
        sql<string>`c.amount_captured`.as('amount_captured'),
        sql<string>`c.amount_refunded`.as('amount_refunded'),
        sql<string>`c.amount * ${rate}`.as('amount_rc'),
        sql<string>`c.amount_captured * ${rate}`.as('amount_captured_rc'),
        sql<string>`c.amount_refunded * ${rate}`.as('amount_refunded_rc'),
        sql<string | null>`c.stripe_customer_id`.as('stripe_customer_id'),
        sql<string | null>`c.payment_intent`.as('payment_intent'),
        sql<string | null>`c.metadata_order_id`.as('metadata_order_id'),
        sql<string | null>`c.failure_code`.as('failure_code'),
        sql<string | null>`c.order_id`.as('order_id'),
        sql<string | null>`c.match_method`.as('match_method'),
      ]);
  },
});
