import { sql } from 'kysely';
import { hasRates, nonNegative, references } from '../checks.ts';
import { defineModel } from '../model.ts';
import { rateOn } from '../sql.ts';

/**
 * One row per order line, with its order's date, counted flag and currency. Lines come from
 * staging with their order left-joined, so a line whose order is not in core.orders (core.orders
 * dropped it, or only the lines were rebuilt with `--select`) shows up and fails the reference
 * check instead of disappearing.
 */
export const coreOrderLines = defineModel({
  name: 'core.order_lines',
  dependsOn: ['staging.shopify_order_lines', 'core.orders'],
  description: "Order lines with the order's local date and counted flag; line_total = price × quantity − discount.",
  uniqueKey: ['order_id', 'line_id'],
  indexes: [['order_id'], ['order_date']],
  checks: [
    references('core.order_lines', 'order_id', 'core.orders', 'order_id', ['line_id']),
    hasRates('core.order_lines', [['line_total', 'line_total_rc']], 'order_date'),
    nonNegative('core.order_lines', ['quantity', 'price', 'total_discount'], 'line_id'),
  ],
  build: (db, ctx) =>
    db
      .selectFrom('staging.shopify_order_lines as l')
      .leftJoin('core.orders as o', 'o.order_id', 'l.order_id')
      .select([
        sql<string>`l.order_id`.as('order_id'),
        sql<string>`l.line_id`.as('line_id'),
        sql<string>`o.order_date`.as('order_date'),
        sql<boolean>`o.is_counted`.as('is_counted'),
        sql<string | null>`l.product_id`.as('product_id'),
        sql<string | null>`l.variant_id`.as('variant_id'),
        sql<string | null>`l.sku`.as('sku'),
        sql<string | null>`l.title`.as('title'),
        sql<number>`l.quantity`.as('quantity'),
        sql<string>`l.price`.as('price'),
        sql<string>`l.total_discount`.as('total_discount'),
        sql<string>`l.price * l.quantity - l.total_discount`.as('line_total'),
        sql<string>`o.currency`.as('currency'),
        sql<string>`(l.price * l.quantity - l.total_discount) * ${rateOn(sql`o.currency`, sql`o.order_date`, ctx.reportingCurrency)}`.as('line_total_rc'),
      ]),
});
