import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * product_daily names a variant missing from the products stream (deleted since) by its order
 * line's title, variant title and vendor, on the day of its refund too: a row with refunds and
 * no sales takes them from the refunded order line.
 */
const NOW = new Date('2024-03-08T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });
let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('product_daily_names');
  // No products stream at all: variant 41 was deleted. Sold on 5 March, refunded on 6 March.
  await landRecords(wh.pool, 'shopify', 'orders', [sale('Old thing')]);
  expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, undefined, { now: NOW })).status).toBe('succeeded');
}, 120_000);
afterAll(async () => wh?.close());

/** Order 3: one unit of variant 41 (titled `title`) sold on 5 March, refunded on 6 March. */
function sale(title: string, updatedAt = '2024-03-06T17:00:00Z') {
  return {
    id: 3, updated_at: updatedAt, test: false, cancelled_at: null, customer: { id: 2, email: 'b@example.com' }, created_at: '2024-03-05T17:00:00Z', currency: 'USD',
    taxes_included: false, total_price: '40.00', subtotal_price: '40.00', total_tax: '0.00', total_discounts: '0.00', payment_gateway_names: [],
    line_items: [{ id: 5, product_id: 4, variant_id: 41, sku: 'OLD-1', title, variant_title: 'Only', vendor: 'Acme', quantity: 1, current_quantity: 0,
      price: '40.00', total_discount: '0.00', discount_allocations: [], tax_lines: [] }],
    refunds: [{ id: 61, created_at: '2024-03-06T17:00:00Z', transactions: [{ id: 62, kind: 'refund', status: 'success', amount: '40.00', currency: 'USD', created_at: '2024-03-06T17:00:00Z' }],
      refund_line_items: [{ id: 63, line_item_id: 5, quantity: 1, subtotal: '40.00', total_tax: '0.00' }] }],
  };
}

const titles = async () => (await wh.pool.query(`select date::text, product_title from metrics.product_daily order by date`)).rows;

describe('product_daily of a variant missing from the products stream', () => {
  it('carries the line item\'s names on the day of the sale and on the day of the refund', async () => {
    const rows = (
      await wh.pool.query(`select date::text, variant_id, sku, product_title, variant_title, vendor, product_type, units_sold::int, units_refunded::int
                             from metrics.product_daily order by date`)
    ).rows;
    expect(rows).toEqual([
      { date: '2024-03-05', variant_id: '41', sku: 'OLD-1', product_title: 'Old thing', variant_title: 'Only', vendor: 'Acme', product_type: null, units_sold: 1, units_refunded: 0 },
      { date: '2024-03-06', variant_id: '41', sku: 'OLD-1', product_title: 'Old thing', variant_title: 'Only', vendor: 'Acme', product_type: null, units_sold: 0, units_refunded: 1 },
    ]);
  });

  it("a line's title changed later moves the refund's day too, incrementally, as a full refresh does", async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [sale('Old thing, renamed', '2024-03-07T09:00:00Z')], 'renamed');
    const transformed = await runTransforms(wh, config, { now: NOW });
    expect(transformed.status, transformed.error).toBe('succeeded');
    expect(transformed.results.find((r) => r.model === 'core.refund_lines')?.mode).toBe('incremental');
    const incremental = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(incremental.fullRefreshReason).toBeUndefined();
    expect(await titles()).toEqual([
      { date: '2024-03-05', product_title: 'Old thing, renamed' },
      { date: '2024-03-06', product_title: 'Old thing, renamed' },
    ]);
    const published = (await wh.pool.query(`select * from metrics.product_daily order by date`)).rows;
    expect((await refreshMetrics(wh, config, undefined, { now: NOW, full: true })).error).toBeUndefined();
    expect((await wh.pool.query(`select * from metrics.product_daily order by date`)).rows).toEqual(published);
  });
});
