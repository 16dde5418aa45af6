import { sql } from 'kysely';
import { hasRates, nonNegative, references } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { localDate, rateOn } from '../sql.ts';

/**
 * The successful refund transactions (kind refund, status success) of every order, dated by
 * the refund's own created_at and converted on that date. The order is left-joined, so a
 * refund whose order is not in core.orders fails the reference check instead of disappearing.
 */
export const coreRefunds = defineModel({
  name: 'core.refunds',
  dependsOn: ['staging.shopify_refunds', 'core.orders'],
  description: 'Successful refund transactions, on the local date of the refund, converted on that date.',
  uniqueKey: ['refund_transaction_id'],
  indexes: [['refund_date'], ['order_id'], ['customer_key']],
  checks: [
    references('core.refunds', 'order_id', 'core.orders', 'order_id', ['refund_transaction_id']),
    hasRates('core.refunds', [['amount', 'amount_rc']], 'refund_date'),
    nonNegative('core.refunds', ['amount'], 'refund_transaction_id'),
  ],
  incremental: {
    replaceBy: 'order_id',
    scope: { 'staging.shopify_refunds': 'order_id', 'core.orders': 'order_id' },
    changed: (c) => sql`
      select x.order_id as value from ${c.replaced('core.orders')} x
      union select x.order_id from ${c.replaced('staging.shopify_refunds')} x
      union select r.order_id from core.refunds r where r.refund_date in ${ratesChangedOn(c)}`,
  },
  build: (db, ctx) => {
    const refundDate = localDate(sql`r.created_at`, ctx.reportingTimezone);
    return db
      .selectFrom('staging.shopify_refunds as r')
      .leftJoin('core.orders as o', 'o.order_id', 'r.order_id')
      .where(sql<boolean>`r.kind = 'refund' and r.status = 'success' and r.created_at is not null`)
      .select([
        sql<string>`r.refund_transaction_id`.as('refund_transaction_id'),
        sql<string>`r.refund_id`.as('refund_id'),
        sql<string>`r.order_id`.as('order_id'),
        sql<Date>`r.created_at`.as('created_at'),
        refundDate.as('refund_date'),
        sql<string>`r.amount`.as('amount'),
        sql<string>`coalesce(r.currency, o.currency)`.as('currency'),
        sql<string>`r.amount * ${rateOn(sql`coalesce(r.currency, o.currency)`, refundDate, ctx.reportingCurrency)}`.as('amount_rc'),
        sql<boolean>`o.is_counted`.as('order_is_counted'),
        sql<string>`o.customer_key`.as('customer_key'),
      ]);
  },
});
