import { sql, type Kysely } from 'kysely';
import type { Database } from '../warehouse/database.ts';
import type { ReportPeriod } from './period.ts';

/**
 * The products section of a review: best sellers, products out of stock and products returned
 * most. The warehouse has no products table yet; the section appears once a table of this
 * shape exists (one row per product and local date), and is left out until then:
 * `date`, `product` (its title), `units_sold`, `revenue`, `returns`, and optionally
 * `inventory_quantity` (the stock at the end of the day) for "out of stock".
 */
export const PRODUCTS_TABLE = { schema: 'metrics', name: 'product_daily' } as const;
const REQUIRED = ['date', 'product', 'units_sold', 'revenue', 'returns'];

export interface ProductLine {
  product: string;
  value: number;
}

export interface ProductsSection {
  bestSellers: ProductLine[];
  mostReturned: ProductLine[];
  /** Null when the table has no stock column. */
  outOfStock: string[] | null;
}

/** The section for the period, or null when the products table does not exist (or lacks a column it needs). */
export async function productsSection(db: Kysely<Database>, period: ReportPeriod, top = 5): Promise<ProductsSection | null> {
  const columns = (
    await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = ${PRODUCTS_TABLE.schema} and table_name = ${PRODUCTS_TABLE.name}`.execute(db)
  ).rows.map((r) => r.column_name);
  if (!REQUIRED.every((c) => columns.includes(c))) return null;
  const table = sql.table(`${PRODUCTS_TABLE.schema}.${PRODUCTS_TABLE.name}`);
  const ranked = async (measure: 'revenue' | 'returns') =>
    (
      await sql<{ product: string; value: string }>`
        select product, sum(${sql.ref(measure)})::text as value from ${table}
         where date between ${period.start}::date and ${period.end}::date
         group by product having sum(${sql.ref(measure)}) > 0
         order by sum(${sql.ref(measure)}) desc, product limit ${top}`.execute(db)
    ).rows.map((r) => ({ product: r.product, value: Number(r.value) }));
  const outOfStock = columns.includes('inventory_quantity')
    ? (
        await sql<{ product: string }>`
          select product from (
            select distinct on (product) product, inventory_quantity from ${table}
             where date between ${period.start}::date and ${period.end}::date and inventory_quantity is not null
             order by product, date desc) last
           where inventory_quantity <= 0 order by product`.execute(db)
      ).rows.map((r) => r.product)
    : null;
  return { bestSellers: await ranked('revenue'), mostReturned: await ranked('returns'), outOfStock };
}
