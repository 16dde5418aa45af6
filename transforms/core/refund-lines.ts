import { sql } from 'kysely';
import { hasRates, references } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { localDate, rateOn } from '../sql.ts';

/**
 * The refunded line items of the successful refunds (those with a successful refund
 * transaction, as core.refunds counts them), dated by the refund and converted on that date,
 * with the variant of the line they refund. `refunded_sales` is the subtotal less its tax when
 * the order's prices include tax, so it compares with the line's sales. The line's ids and names
 * (product, variant, SKU, title, variant title, vendor) come from the refunded order line.
 */
export const coreRefundLines = defineModel({
  name: 'core.refund_lines',
  dependsOn: ['staging.shopify_refund_lines', 'staging.shopify_orders', 'core.orders', 'core.order_lines'],
  description: 'Refunded line items of successful refunds, on the local date of the refund, with their variant, converted on that date.',
  uniqueKey: ['refund_line_id'],
  indexes: [['refund_date'], ['variant_id']],
  checks: [
    references('core.refund_lines', 'order_id', 'core.orders', 'order_id', ['refund_line_id']),
    hasRates('core.refund_lines', [['subtotal', 'subtotal_rc'], ['total_tax', 'total_tax_rc'], ['refunded_sales', 'refunded_sales_rc']], 'refund_date'),
  ],
  incremental: {
    replaceBy: 'order_id',
    scope: { 'staging.shopify_refund_lines': 'order_id', 'staging.shopify_orders': 'order_id', 'core.orders': 'order_id', 'core.order_lines': 'order_id' },
    changed: (c) => sql`
      select x.order_id as value from ${c.replaced('core.orders')} x
      union select x.order_id from ${c.replaced('core.order_lines')} x
      union select x.order_id from ${c.replaced('staging.shopify_refund_lines')} x
      union select x.order_id from ${c.replaced('staging.shopify_orders')} x
      union select r.order_id from core.refund_lines r where r.refund_date in ${ratesChangedOn(c)}`,
  },
  build: (db, ctx) => {
    const refundDate = localDate(sql`r.created_at`, ctx.reportingTimezone);
    const rate = rateOn(sql`o.currency`, refundDate, ctx.reportingCurrency);
    const refundedSales = sql`(r.subtotal - case when so.taxes_included then r.total_tax else 0 end)`;
    return db
      .selectFrom('staging.shopify_refund_lines as r')
      .leftJoin('core.orders as o', 'o.order_id', 'r.order_id')
      .leftJoin('staging.shopify_orders as so', 'so.order_id', 'r.order_id')
      .leftJoin('core.order_lines as l', (join) => join.onRef('l.order_id', '=', 'r.order_id').onRef('l.line_id', '=', 'r.line_id'))
      .where(sql<boolean>`r.is_successful and r.created_at is not null`)
      .select([
        'r.refund_line_id',
        'r.refund_id',
        'r.order_id',
        'r.line_id',
        sql<string | null>`l.product_id`.as('product_id'),
        sql<string | null>`l.variant_id`.as('variant_id'),
        sql<string | null>`l.sku`.as('sku'),
        // The line item's names, which name a variant missing from the products stream (product_daily).
        sql<string | null>`l.title`.as('title'),
        sql<string | null>`l.variant_title`.as('variant_title'),
        sql<string | null>`l.vendor`.as('vendor'),
        sql<Date>`r.created_at`.as('created_at'),
        refundDate.as('refund_date'),
        'r.quantity',
        'r.subtotal',
        'r.total_tax',
        sql<string>`${refundedSales}`.as('refunded_sales'),
        sql<string>`o.currency`.as('currency'),
        sql<string>`r.subtotal * ${rate}`.as('subtotal_rc'),
        sql<string>`r.total_tax * ${rate}`.as('total_tax_rc'),
        sql<string>`${refundedSales} * ${rate}`.as('refunded_sales_rc'),
        sql<boolean>`o.is_counted`.as('order_is_counted'),
      ]);
  },
});
