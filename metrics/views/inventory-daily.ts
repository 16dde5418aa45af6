import { sql } from 'kysely';
import { defineView, onlyDates } from '../view.ts';

/** The days `units_sold_28d` covers, the snapshot's date included. */
const WINDOW_DAYS = 28;

/**
 * `metrics.inventory_daily`: per stock snapshot date and tracked variant, the `available`
 * quantity summed over locations, its product's status at that snapshot, whether it is out of
 * stock, the units sold in the 28 days ending that date (from product_daily, built before it)
 * and the days of cover at that pace. A variant absent from a snapshot has no row that date. A variant of an
 * archived or draft product keeps its rows (its stock is still stock), but is never out of
 * stock: it is not for sale, so nothing is missing (core.inventory_levels.is_for_sale), and
 * `is_out_of_stock` counts what `variants_out_of_stock` counts.
 */
export const inventoryDaily = defineView({
  name: 'inventory_daily',
  grain: 'one row per stock snapshot date × tracked variant',
  dimensions: ['date', 'product_id', 'variant_id', 'sku', 'product_status', 'is_out_of_stock'],
  indexes: [{ columns: ['date', 'variant_id'], unique: true }, { columns: ['variant_id', 'date'] }],
  build: (db, ctx) =>
    db.selectFrom(
      sql<Record<string, unknown>>`(
        with stock as (
          select l.snapshot_date as date, l.variant_id, max(l.product_id) as product_id, max(l.sku) as sku,
                 max(l.product_status) as product_status, bool_and(l.is_for_sale) as is_for_sale, sum(l.available) as available
            from core.inventory_levels l
           where l.is_tracked and l.variant_id is not null and ${onlyDates(ctx, sql.ref('l.snapshot_date'))}
           group by l.snapshot_date, l.variant_id
        ),
        -- Each variant's units sold on the 28 days ending each date: one sorted pass over its
        -- days (the sales days and the snapshot days), not a lookup of 28 days per snapshot row.
        days as (
          select p.variant_id, p.date, sum(p.units_sold) as units
            from ${sql.table('metrics.product_daily')} p
           where p.variant_id in (select variant_id from stock)
           group by p.variant_id, p.date
          union all
          select s.variant_id, s.date, null from stock s
        ),
        rolling as (
          select d.variant_id, d.date,
                 sum(d.units) over (partition by d.variant_id order by d.date range between ${sql.lit(`${WINDOW_DAYS - 1} days`)}::interval preceding and current row) as units
            from (select variant_id, date, sum(units) as units from days group by variant_id, date) d
        )
        select s.date, s.product_id, s.variant_id, s.sku, s.product_status, s.available <= 0 and s.is_for_sale as is_out_of_stock, s.available,
               coalesce(w.units, 0) as units_sold_28d,
               case when s.available <= 0 then 0
                    when coalesce(w.units, 0) = 0 then null
                    -- available / (units / 28), multiplied out: units / 28 rounded to numeric's
                    -- digits would give 139.9999… days for 5 in stock and 1 sold.
                    else s.available * ${sql.lit(WINDOW_DAYS)}::numeric / w.units end as days_of_cover
          from stock s
          left join rolling w on w.variant_id = s.variant_id and w.date = s.date
      )`.as('i'),
    ).selectAll('i'),
});
