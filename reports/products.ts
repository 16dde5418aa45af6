import { sql, type Kysely } from 'kysely';
import type { Database } from '../warehouse/database.ts';
import type { ReportPeriod } from './period.ts';

/**
 * The products section of a review, from `metrics.product_daily` and `metrics.inventory_daily`
 * (docs/metrics.md, "Products, stock and profit"): the best sellers by product sales, the
 * products refunded most by units, and the variants out of stock in the period's last stock
 * snapshot (`is_out_of_stock`: variants of products for sale only, never an archived or draft
 * product's). A warehouse whose metrics were last refreshed before these tables existed has no
 * products section until the next refresh.
 */
export const PRODUCTS_TABLE = { schema: 'metrics', name: 'product_daily' } as const;
export const INVENTORY_TABLE = { schema: 'metrics', name: 'inventory_daily' } as const;

export interface ProductLine {
  product: string;
  value: number;
}

export interface ProductsSection {
  bestSellers: ProductLine[];
  mostReturned: ProductLine[];
  /** The variants for sale (by SKU) out of stock in the period's last snapshot; null when there is no stock table. */
  outOfStock: string[] | null;
}

async function exists(db: Kysely<Database>, table: { schema: string; name: string }): Promise<boolean> {
  const found = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${table.schema} and table_name = ${table.name}`.execute(db);
  return found.rows[0]!.n > 0;
}

/** The section for the period, or null when the products table does not exist yet. */
export async function productsSection(db: Kysely<Database>, period: ReportPeriod, top = 5): Promise<ProductsSection | null> {
  if (!(await exists(db, PRODUCTS_TABLE))) return null;
  const products = sql.table(`${PRODUCTS_TABLE.schema}.${PRODUCTS_TABLE.name}`);
  // A product is named by its title; a line of a product the products stream does not know, by its SKU.
  const ranked = async (measure: 'product_sales' | 'units_refunded') =>
    (
      await sql<{ product: string; value: string }>`
        select product, sum(${sql.ref(measure)})::text as value
          from (select coalesce(product_title, sku, variant_id, 'unknown') as product, ${sql.ref(measure)} from ${products}
                 where date between ${period.start}::date and ${period.end}::date) p
         group by product having sum(${sql.ref(measure)}) > 0
         order by sum(${sql.ref(measure)}) desc, product limit ${top}`.execute(db)
    ).rows.map((r) => ({ product: r.product, value: Number(r.value) }));
  const outOfStock = (await exists(db, INVENTORY_TABLE))
    ? (
        await sql<{ variant: string }>`
          select coalesce(sku, variant_id) as variant from ${sql.table(`${INVENTORY_TABLE.schema}.${INVENTORY_TABLE.name}`)}
           where date = (select max(date) from ${sql.table(`${INVENTORY_TABLE.schema}.${INVENTORY_TABLE.name}`)} where date between ${period.start}::date and ${period.end}::date)
             and is_out_of_stock
           order by 1`.execute(db)
      ).rows.map((r) => r.variant)
    : null;
  return { bestSellers: await ranked('product_sales'), mostReturned: await ranked('units_refunded'), outOfStock };
}
