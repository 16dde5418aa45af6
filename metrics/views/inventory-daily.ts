import { sql } from 'kysely';
import { defineView, onlyDates } from '../view.ts';

/** The days `units_sold_28d` covers, the snapshot's date included. */
const WINDOW_DAYS = 28;

/**
 * `metrics.inventory_daily`: per stock snapshot date and tracked variant, the `available`
 * quantity summed over locations, whether it is out of stock, the units sold in the 28 days
 * ending that date (from product_daily, built before it) and the days of cover at that pace. A
 * variant absent from a snapshot has no row that date.
 */
export const inventoryDaily = defineView({
  name: 'inventory_daily',
  grain: 'one row per stock snapshot date × tracked variant',
  dimensions: ['date', 'product_id', 'variant_id', 'sku', 'is_out_of_stock'],
  indexes: [{ columns: ['date', 'variant_id'], unique: true }, { columns: ['variant_id', 'date'] }],
  build: (db, ctx) =>
    db.selectFrom(
      sql<Record<string, unknown>>`(
        with stock as (
          select l.snapshot_date as date, l.variant_id, max(l.product_id) as product_id, max(l.sku) as sku, sum(l.available) as available
            from core.inventory_levels l
           where l.is_tracked and l.variant_id is not null and ${onlyDates(ctx, sql.ref('l.snapshot_date'))}
           group by l.snapshot_date, l.variant_id
        )
        select s.date, s.product_id, s.variant_id, s.sku, s.available <= 0 as is_out_of_stock, s.available,
               coalesce(w.units, 0) as units_sold_28d,
               case when s.available <= 0 then 0
                    when coalesce(w.units, 0) = 0 then null
                    else s.available / (w.units::numeric / ${sql.lit(WINDOW_DAYS)}) end as days_of_cover
          from stock s
          left join lateral (
            select sum(p.units_sold) as units from ${sql.table('metrics.product_daily')} p
             where p.variant_id = s.variant_id and p.date > s.date - ${sql.lit(WINDOW_DAYS)} and p.date <= s.date
          ) w on true
      )`.as('i'),
    ).selectAll('i'),
});
