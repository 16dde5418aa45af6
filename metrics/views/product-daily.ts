import { sql } from 'kysely';
import { measureOf } from '../definition.ts';
import { cogs, productSales } from '../definitions/profit.ts';
import { productOrders, refundedSales, unitsRefunded, unitsSold } from '../definitions/products.ts';
import { aggregateSql } from '../measure.ts';
import { defineView, onlyDates } from '../view.ts';

/**
 * `metrics.product_daily`: per local date and variant, what sold (on the order date) and what
 * was refunded (on the refund date), from the measures of the definitions over their rows. The
 * names come from the products stream, else from the order line (the refunded order line on a
 * day with refunds and no sales); a row with refunds only has zeros for its sales.
 */
export const productDaily = defineView({
  name: 'product_daily',
  grain: 'one row per local date × variant with any sale or refund',
  dimensions: ['date', 'product_id', 'variant_id', 'sku', 'product_title', 'variant_title', 'vendor', 'product_type'],
  indexes: [{ columns: ['date', 'variant_id'] }, { columns: ['variant_id', 'date'] }],
  build: (db, ctx) => {
    const sales = sql`select r.order_date as date, r.variant_id,
        max(r.product_id collate "C") collate "default" as product_id, max(r.sku collate "C") collate "default" as sku, max(r.title collate "C") collate "default" as title,
        max(r.variant_title collate "C") collate "default" as variant_title, max(r.vendor collate "C") collate "default" as vendor,
        ${aggregateSql(measureOf(unitsSold))} as units_sold, ${aggregateSql(measureOf(productOrders))} as orders,
        ${aggregateSql(measureOf(productSales))} as product_sales, ${aggregateSql(measureOf(cogs))} as cogs
      from (${measureOf(unitsSold).source.rows(db)}) as r
     where r.order_date is not null and ${onlyDates(ctx, sql.ref('r.order_date'))}
     group by r.order_date, r.variant_id`;
    const refunds = sql`select r.refund_date as date, r.variant_id, max(r.product_id) as product_id, max(r.sku) as sku,
        max(r.title collate "C") collate "default" as title, max(r.variant_title collate "C") collate "default" as variant_title,
        max(r.vendor collate "C") collate "default" as vendor,
        ${aggregateSql(measureOf(unitsRefunded))} as units_refunded, ${aggregateSql(measureOf(refundedSales))} as refunded_sales
      from (${measureOf(unitsRefunded).source.rows(db)}) as r
     where ${onlyDates(ctx, sql.ref('r.refund_date'))}
     group by r.refund_date, r.variant_id`;
    return db.selectFrom(
      sql<Record<string, unknown>>`(
        with sales as (${sales}), refunds as (${refunds}),
        keys as (select date, variant_id from sales union select date, variant_id from refunds)
        select k.date,
               coalesce(v.product_id, s.product_id, f.product_id) as product_id,
               k.variant_id,
               coalesce(v.sku, s.sku, f.sku) as sku,
               coalesce(v.product_title, s.title, f.title) as product_title,
               coalesce(v.variant_title, s.variant_title, f.variant_title) as variant_title,
               coalesce(v.vendor, s.vendor, f.vendor) as vendor,
               v.product_type,
               coalesce(s.units_sold, 0) as units_sold,
               coalesce(s.orders, 0) as orders,
               coalesce(s.product_sales, 0) as product_sales,
               coalesce(s.cogs, 0) as cogs,
               coalesce(f.units_refunded, 0) as units_refunded,
               coalesce(f.refunded_sales, 0) as refunded_sales
          from keys k
          left join sales s on s.date = k.date and s.variant_id is not distinct from k.variant_id
          left join refunds f on f.date = k.date and f.variant_id is not distinct from k.variant_id
          left join core.product_variants v on v.variant_id = k.variant_id
      )`.as('p'),
    ).selectAll('p');
  },
});
