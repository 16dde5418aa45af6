import { sql } from 'kysely';
import { hasRates, references } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { localDate, rateOn } from '../sql.ts';

/**
 * The refunded shipping lines of the successful refunds (those with a successful refund
 * transaction, as core.refunds counts them), dated by the refund and converted on that date:
 * the shipping paid back and its tax. `refunded_tax` adds their tax to the refund lines' (the
 * refund's amount, in `refunds`, holds it).
 */
export const coreRefundShippingLines = defineModel({
  name: 'core.refund_shipping_lines',
  dependsOn: ['staging.shopify_refund_shipping_lines', 'core.orders'],
  description: 'Refunded shipping lines of successful refunds, with their tax, on the local date of the refund, converted on that date.',
  uniqueKey: ['refund_shipping_line_id'],
  indexes: [['refund_date']],
  checks: [
    references('core.refund_shipping_lines', 'order_id', 'core.orders', 'order_id', ['refund_shipping_line_id']),
    hasRates('core.refund_shipping_lines', [['subtotal', 'subtotal_rc'], ['tax', 'tax_rc']], 'refund_date'),
  ],
  incremental: {
    replaceBy: 'order_id',
    scope: { 'staging.shopify_refund_shipping_lines': 'order_id', 'core.orders': 'order_id' },
    changed: (c) => sql`
      select x.order_id as value from ${c.replaced('core.orders')} x
      union select x.order_id from ${c.replaced('staging.shopify_refund_shipping_lines')} x
      union select r.order_id from core.refund_shipping_lines r where r.refund_date in ${ratesChangedOn(c)}`,
  },
  build: (db, ctx) => {
    const refundDate = localDate(sql`r.created_at`, ctx.reportingTimezone);
    const rate = rateOn(sql`o.currency`, refundDate, ctx.reportingCurrency);
    return db
      .selectFrom('staging.shopify_refund_shipping_lines as r')
      .leftJoin('core.orders as o', 'o.order_id', 'r.order_id')
      .where(sql<boolean>`r.is_successful and r.created_at is not null`)
      .select([
        'r.refund_shipping_line_id',
        'r.refund_id',
        'r.order_id',
        sql<Date>`r.created_at`.as('created_at'),
        refundDate.as('refund_date'),
        'r.subtotal',
        'r.tax',
        sql<string>`o.currency`.as('currency'),
        sql<string>`r.subtotal * ${rate}`.as('subtotal_rc'),
        sql<string>`r.tax * ${rate}`.as('tax_rc'),
        sql<boolean>`o.is_counted`.as('order_is_counted'),
      ]);
  },
});
