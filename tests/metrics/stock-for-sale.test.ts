import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { productsSection } from '../../reports/products.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * The stock metrics count as out of stock only the variants of products for sale: Shopify's
 * ProductStatus ACTIVE or UNLISTED (sold, shown in no listing), or a variant whose product is
 * not known. An ARCHIVED product ("no longer being sold") or a DRAFT (not yet for sale) left at 0
 * is no shortage. And days_of_cover is `available × 28 / units`, with no rounded rate in it.
 */
const NOW = new Date('2024-03-08T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });
let wh: Warehouse;

const product = (id: number, title: string, status: string, updatedAt = '2024-03-01T00:00:00Z') => ({
  id, title, product_type: 'T', vendor: 'V', status, created_at: '2024-01-01T00:00:00Z', updated_at: updatedAt,
  variants: [{ id: id * 10 + 1, product_id: id, sku: `${title.toUpperCase()}-1`, title: 'Default', price: '100.00', inventory_item_id: id * 100 + 11, tracked: true, unit_cost: null }],
});
const level = (date: string, variant: number, available: number) => ({
  snapshot_date: date, inventory_item_id: variant * 10 + 1, variant_id: variant, location_id: 1, available, tracked: true,
});

beforeAll(async () => {
  wh = await createTestDatabase('stock_for_sale');
  await landRecords(wh.pool, 'shopify', 'products', [
    product(1, 'Current', 'ACTIVE'),
    product(2, 'Oldseason', 'ARCHIVED'),
    product(3, 'Nextseason', 'DRAFT'),
    product(4, 'Basics', 'ACTIVE'),
    product(5, 'Hidden', 'UNLISTED'),
  ]);
  // One unit of CURRENT-1 sold on 1 March: the 28 days to 4 March hold it.
  await landRecords(wh.pool, 'shopify', 'orders', [
    { id: 1, test: false, cancelled_at: null, customer: { id: 1, email: 'a@example.com' }, created_at: '2024-03-01T12:00:00Z', currency: 'USD', taxes_included: false,
      total_price: '100.00', subtotal_price: '100.00', total_tax: '0.00', total_discounts: '0.00', payment_gateway_names: [], refunds: [],
      line_items: [{ id: 1, product_id: 1, variant_id: 11, sku: 'CURRENT-1', title: 'Current', quantity: 1, current_quantity: 1, price: '100.00', total_discount: '0.00', discount_allocations: [], tax_lines: [] }] },
  ]);
  await landRecords(wh.pool, 'shopify', 'inventory_levels', [
    // 4 March: the active variant in stock, the archived one at 0.
    level('2024-03-04', 11, 5), level('2024-03-04', 21, 0),
    // 5 March: the active variant in stock, the draft at 0.
    level('2024-03-05', 11, 5), level('2024-03-05', 31, 0),
    // 6 March: both at 0 again, and an active variant at 0, an unlisted one oversold, one the products stream does not know at 0.
    level('2024-03-06', 11, 5), level('2024-03-06', 21, 0), level('2024-03-06', 31, 0), level('2024-03-06', 41, 0), level('2024-03-06', 51, -1), level('2024-03-06', 99, 0),
  ]);
  expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, undefined, { now: NOW })).status).toBe('succeeded');
}, 120_000);
afterAll(async () => wh?.close());

const outOfStock = async (date: string) =>
  (await wh.pool.query(`select variants_out_of_stock as n from metrics.kpi_daily where date = $1`, [date])).rows[0]?.n as number | null | undefined;
const period = (end: string) => ({ start: '2024-03-01', end }) as Parameters<typeof productsSection>[1];

describe('variants out of stock: only the variants of products for sale', () => {
  it('an archived product at 0 beside an active variant in stock: none out of stock, none in the review', async () => {
    expect(await outOfStock('2024-03-04')).toBe(0);
    expect((await productsSection(wh.db, period('2024-03-04')))?.outOfStock).toEqual([]);
  });

  it('a draft at 0 beside an active variant in stock: none either', async () => {
    expect(await outOfStock('2024-03-05')).toBe(0);
    expect((await productsSection(wh.db, period('2024-03-05')))?.outOfStock).toEqual([]);
  });

  it('an active variant at 0, an unlisted one oversold and one of no known product count; the archived and the draft do not', async () => {
    // BASICS-1 (active, 0), HIDDEN-1 (unlisted, −1) and variant 99 (not in the products stream, 0): 3.
    expect(await outOfStock('2024-03-06')).toBe(3);
    expect((await productsSection(wh.db, period('2024-03-06')))?.outOfStock).toEqual(['99', 'BASICS-1', 'HIDDEN-1']);
    // The month's last snapshot is 6 March's.
    expect((await wh.pool.query(`select variants_out_of_stock as n from metrics.kpi_monthly where date = '2024-03-01'`)).rows[0].n).toBe(3);
  });

  it('inventory_daily keeps the rows of the archived and draft products, with their status, never out of stock', async () => {
    const rows = (
      await wh.pool.query(`select variant_id, product_status, available::int, is_out_of_stock, days_of_cover::text from metrics.inventory_daily where date = '2024-03-06' order by variant_id`)
    ).rows;
    expect(rows).toEqual([
      { variant_id: '11', product_status: 'active', available: 5, is_out_of_stock: false, days_of_cover: expect.any(String) },
      { variant_id: '21', product_status: 'archived', available: 0, is_out_of_stock: false, days_of_cover: '0' },
      { variant_id: '31', product_status: 'draft', available: 0, is_out_of_stock: false, days_of_cover: '0' },
      { variant_id: '41', product_status: 'active', available: 0, is_out_of_stock: true, days_of_cover: '0' },
      { variant_id: '51', product_status: 'unlisted', available: -1, is_out_of_stock: true, days_of_cover: '0' },
      { variant_id: '99', product_status: null, available: 0, is_out_of_stock: true, days_of_cover: '0' },
    ]);
  });
});

describe('days of cover', () => {
  it('5 in stock, 1 sold in the 28 days: exactly 140 days', async () => {
    // 5 / (1 / 28) = 5 × 28 / 1 = 140; compared as numeric, where 139.99999999999999998320 is not 140.
    const row = (await wh.pool.query(`select days_of_cover = 140 as exact, trim_scale(days_of_cover)::text as days from metrics.inventory_daily where date = '2024-03-04' and variant_id = '11'`)).rows[0];
    expect(row).toEqual({ exact: true, days: '140' });
  });
});

describe('a product archived later, incrementally', () => {
  it('takes its variant out of the stock counts of every snapshot, as a full refresh does', async () => {
    await landRecords(wh.pool, 'shopify', 'products', [product(4, 'Basics', 'ARCHIVED', '2024-03-07T00:00:00Z')], 'archived');
    const transformed = await runTransforms(wh, config, { now: NOW });
    expect(transformed.status, transformed.error).toBe('succeeded');
    expect(transformed.results.find((r) => r.model === 'core.inventory_levels')?.mode).toBe('incremental');
    const incremental = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(incremental.error).toBeUndefined();
    expect(incremental.fullRefreshReason).toBeUndefined();
    // HIDDEN-1 and variant 99 are left.
    expect(await outOfStock('2024-03-06')).toBe(2);
    const published = await tables();
    const full = await refreshMetrics(wh, config, undefined, { now: NOW, full: true });
    expect(full.error).toBeUndefined();
    expect(published).toEqual(await tables());
  });
});

/** The stock tables, every column, in a fixed order. */
async function tables(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ['kpi_daily', 'kpi_weekly', 'kpi_monthly', 'inventory_daily']) {
    const n = (await wh.pool.query(`select count(*)::int as n from information_schema.columns where table_schema = 'metrics' and table_name = $1`, [table])).rows[0].n as number;
    out[table] = (await wh.pool.query(`select * from metrics.${table} order by ${Array.from({ length: n }, (_, i) => i + 1).join(', ')}`)).rows;
  }
  return out;
}
