import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { productsSection } from '../../reports/products.ts';
import { runTransforms, type TransformResult } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * A product archived today does not rewrite the past days' stock-outs: each stock snapshot
 * carries the status its product had when it was read (`product_status`, read with the levels),
 * and the stock metrics judge the snapshot by it. A snapshot landed without one (before the
 * stream read it) follows the product's current status, as before.
 */
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });
let wh: Warehouse;

const product = (id: number, title: string, status: string, updatedAt: string) => ({
  id, title, product_type: 'T', vendor: 'V', status, created_at: '2024-01-01T00:00:00Z', updated_at: updatedAt,
  variants: [{ id: id * 10 + 1, product_id: id, sku: `${title.toUpperCase()}-1`, title: 'Default', price: '100.00', inventory_item_id: id * 100 + 11, tracked: true, unit_cost: null }],
});
/** A level as the stream lands it; `status` undefined: a record landed before the stream read the product's status. */
const level = (date: string, variant: number, available: number, status?: string) => ({
  snapshot_date: date, inventory_item_id: variant * 10 + 1, variant_id: variant, location_id: 1, available, tracked: true,
  ...(status === undefined ? {} : { product_status: status }),
});

let archiveBuild: TransformResult;

beforeAll(async () => {
  wh = await createTestDatabase('stock_status_at_snapshot');
  // 1 and 2 March: TEE-1 (product 1) at 0, its product active when each snapshot was read.
  // MUG-1 (product 2) at 0 on 1 March, in a record landed without a status.
  await landRecords(wh.pool, 'shopify', 'products', [product(1, 'Tee', 'ACTIVE', '2024-02-01T00:00:00Z'), product(2, 'Mug', 'ACTIVE', '2024-02-01T00:00:00Z')], 'day-1');
  await landRecords(wh.pool, 'shopify', 'inventory_levels', [level('2024-03-01', 11, 0, 'active'), level('2024-03-01', 21, 0)], 'day-1');
  await landRecords(wh.pool, 'shopify', 'inventory_levels', [level('2024-03-02', 11, 0, 'ACTIVE')], 'day-2');
  const now = new Date('2024-03-02T12:00:00Z');
  expect((await runTransforms(wh, config, { now })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, undefined, { now })).status).toBe('succeeded');
}, 120_000);
afterAll(async () => wh?.close());

const outOfStock = async (date: string) =>
  (await wh.pool.query(`select variants_out_of_stock as n from metrics.kpi_daily where date = $1`, [date])).rows[0]?.n as number | null | undefined;
const inventory = async () =>
  (await wh.pool.query(`select date::text, sku, product_status, is_out_of_stock from metrics.inventory_daily order by date, sku`)).rows;

describe('before the archive', () => {
  it('both variants at 0 on 1 March are out of stock, TEE-1 alone on 2 March', async () => {
    expect(await outOfStock('2024-03-01')).toBe(2);
    expect(await outOfStock('2024-03-02')).toBe(1);
  });
});

describe('product 1 archived on 3 March, and product 2 with it', () => {
  beforeAll(async () => {
    // The products stream reads both archived; 3 March's snapshot reads TEE-1 at 0, its product archived.
    await landRecords(wh.pool, 'shopify', 'products', [product(1, 'Tee', 'ARCHIVED', '2024-03-03T09:00:00Z'), product(2, 'Mug', 'ARCHIVED', '2024-03-03T09:00:00Z')], 'day-3');
    await landRecords(wh.pool, 'shopify', 'inventory_levels', [level('2024-03-03', 11, 0, 'archived')], 'day-3');
    const now = new Date('2024-03-03T12:00:00Z');
    archiveBuild = await runTransforms(wh, config, { now });
    expect(archiveBuild.status, archiveBuild.error).toBe('succeeded');
    const refreshed = await refreshMetrics(wh, config, undefined, { now });
    expect(refreshed.error).toBeUndefined();
    expect(refreshed.fullRefreshReason).toBeUndefined();
  }, 120_000);

  it('TEE-1 stays out of stock on 1 and 2 March (active then), and is not on 3 March (archived)', async () => {
    // 1 March: TEE-1 (active at the snapshot) counts, MUG-1 (no status of its own: archived now) does not: 1.
    expect(await outOfStock('2024-03-01')).toBe(1);
    expect(await outOfStock('2024-03-02')).toBe(1);
    expect(await outOfStock('2024-03-03')).toBe(0);
    expect((await wh.pool.query(`select variants_out_of_stock as n from metrics.kpi_monthly where date = '2024-03-01'`)).rows[0].n).toBe(0);
  });

  it('inventory_daily gives each snapshot its own status; the record without one follows the product as it is now', async () => {
    expect(await inventory()).toEqual([
      { date: '2024-03-01', sku: 'MUG-1', product_status: 'archived', is_out_of_stock: false },
      { date: '2024-03-01', sku: 'TEE-1', product_status: 'active', is_out_of_stock: true },
      { date: '2024-03-02', sku: 'TEE-1', product_status: 'active', is_out_of_stock: true },
      { date: '2024-03-03', sku: 'TEE-1', product_status: 'archived', is_out_of_stock: false },
    ]);
    expect((await productsSection(wh.db, { start: '2024-03-01', end: '2024-03-02' } as Parameters<typeof productsSection>[1]))?.outOfStock).toEqual(['TEE-1']);
  });

  it('rebuilds incrementally only the new snapshot and the level without a status of its own', async () => {
    const levels = archiveBuild.results.find((r) => r.model === 'core.inventory_levels');
    expect(levels?.mode).toBe('incremental');
    // 3 March's TEE-1 (new) and 1 March's MUG-1 (its product's status now archived); TEE-1's
    // levels of 1 and 2 March carry their own status and are left as they were.
    expect(levels?.rows).toBe(2);
  });

  it('the incremental build and refresh give what a full rebuild gives', async () => {
    const incremental = await tables();
    const now = new Date('2024-03-03T12:00:00Z');
    const full = await runTransforms(wh, config, { now, full: true });
    expect(full.status, full.error).toBe('succeeded');
    expect((await refreshMetrics(wh, config, undefined, { now, full: true })).error).toBeUndefined();
    expect(await tables()).toEqual(incremental);
  });
});

describe('a variant renamed later (another SKU)', () => {
  it('rebuilds every level of it, those with a status of their own too, as a full rebuild does', async () => {
    await landRecords(wh.pool, 'shopify', 'products', [product(1, 'Shirt', 'ARCHIVED', '2024-03-03T15:00:00Z')], 'renamed');
    const now = new Date('2024-03-03T16:00:00Z');
    const built = await runTransforms(wh, config, { now });
    expect(built.status, built.error).toBe('succeeded');
    const levels = built.results.find((r) => r.model === 'core.inventory_levels');
    expect(levels?.mode).toBe('incremental');
    // Its levels of 1, 2 and 3 March.
    expect(levels?.rows).toBe(3);
    expect((await refreshMetrics(wh, config, undefined, { now })).error).toBeUndefined();
    expect(await inventory()).toEqual([
      { date: '2024-03-01', sku: 'MUG-1', product_status: 'archived', is_out_of_stock: false },
      { date: '2024-03-01', sku: 'SHIRT-1', product_status: 'active', is_out_of_stock: true },
      { date: '2024-03-02', sku: 'SHIRT-1', product_status: 'active', is_out_of_stock: true },
      { date: '2024-03-03', sku: 'SHIRT-1', product_status: 'archived', is_out_of_stock: false },
    ]);
    const incremental = await tables();
    expect((await runTransforms(wh, config, { now, full: true })).status).toBe('succeeded');
    expect((await refreshMetrics(wh, config, undefined, { now, full: true })).error).toBeUndefined();
    expect(await tables()).toEqual(incremental);
  });
});

/** core.inventory_levels and the stock tables, every column, in a fixed order. */
async function tables(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [schema, table] of [['core', 'inventory_levels'], ['metrics', 'kpi_daily'], ['metrics', 'kpi_weekly'], ['metrics', 'kpi_monthly'], ['metrics', 'inventory_daily']] as const) {
    const n = (await wh.pool.query(`select count(*)::int as n from information_schema.columns where table_schema = $1 and table_name = $2`, [schema, table])).rows[0].n as number;
    out[`${schema}.${table}`] = (await wh.pool.query(`select * from ${schema}.${table} order by ${Array.from({ length: n }, (_, i) => i + 1).join(', ')}`)).rows;
  }
  return out;
}
