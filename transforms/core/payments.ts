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
        -- An order name and the name without its '#', each with the earliest order of that name:
        -- what metadata naming an order by its name is matched against, in one hash join
        -- (a lookup per charge took a third of this model's time at a million charges).
        -- Only the names some charge's metadata gives: a few a night, found through the index on
        -- order_name (the name itself, or with a '#' before it).
        with keys as (
          select distinct c.metadata_order_id as k from staging.stripe_charges c where c.metadata_order_id is not null
        ),
        names as (
          select distinct on (n.name) n.name, n.order_id
            from (select o.order_name as name, o.order_id, o.created_at from core.orders o where o.order_name in (select k from keys)
                  union all
                  select substr(o.order_name, 2), o.order_id, o.created_at from core.orders o where o.order_name in (select '#' || k from keys)) n
           order by n.name, n.created_at, n.order_id collate "C"
        ),
        by_metadata as (
          select c.*,
                 coalesce(by_id.order_id, by_name.order_id) as matched_order_id,
                 case when by_id.order_id is not null then 'metadata_order_id'
                      when by_name.order_id is not null then 'metadata_order_name' end as matched_by
            from staging.stripe_charges c
            left join core.orders by_id on by_id.order_id = c.metadata_order_id
            left join names by_name on by_id.order_id is null and by_name.name = c.metadata_order_id
        ),
        -- A charge matched through neither pays the order of the earliest charge of its payment
        -- intent that was matched through metadata, if any (a retry after a decline). A window
        -- over the charges of each intent, matched ones first, in one pass.
        by_intent as (
          select m.*,
                 case when m.payment_intent is not null
                      then first_value(m.matched_order_id) over (partition by m.payment_intent order by m.matched_order_id is null, m.created_at, m.charge_id) end as intent_order_id
            from by_metadata m
        )
        select i.*,
               coalesce(i.matched_order_id, i.intent_order_id) as order_id,
               coalesce(i.matched_by, case when i.intent_order_id is not null then 'payment_intent' end) as match_method
          from by_intent i
         where i.created_at is not null)`.as('c'))
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
