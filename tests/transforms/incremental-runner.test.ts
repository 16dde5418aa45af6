import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels, type TransformResult } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { fxRates, order } from './fixtures.ts';

/** Issue 16: how the runner chooses to bring each model up to date, and what it keeps of it. */
let wh: Warehouse;
const config = configSchema.parse({ transform: { fullRebuildEveryDays: 3 } });
const DAY1 = new Date('2024-03-06T12:00:00Z');
const modeOf = (result: TransformResult, model: string) => result.results.find((r) => r.model === model)?.mode;
const rows = async (text: string) => (await wh.pool.query(text)).rows;

beforeAll(async () => {
  wh = await createTestDatabase('incremental_runner');
  await landRecords(wh.pool, 'fx', 'rates', fxRates);
  await landRecords(wh.pool, 'shopify', 'orders', [
    order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1 }),
    order({ id: 2, created_at: '2024-03-02T10:00:00Z', total: '20.00', customer: 2 }),
  ]);
});
afterAll(async () => wh?.close());

describe('the incremental transform runner', () => {
  it('builds in full first, records each watermark, and empties the change log it consumed', async () => {
    expect((await rows(`select count(*)::int as n from ops.raw_changes`))[0].n).toBe(8); // 6 rates, 2 orders
    const first = await runModels(wh.db, config, { models, now: DAY1 });
    expect(first.status, first.error).toBe('succeeded');
    expect(first.results.every((r) => r.mode === 'full')).toBe(true);
    expect((await rows(`select count(*)::int as n from ops.raw_changes`))[0].n).toBe(0);
    const builds = await rows(`select model, through_change_id::int as through from ops.model_builds order by model`);
    expect(builds.map((b) => b.model)).toEqual(models.map((m) => m.name).sort());
    expect(new Set(builds.map((b) => b.through))).toEqual(new Set([8]));
    // Every core table was rebuilt in full: the metrics are told to recompute everything.
    const told = await rows(`select model from ops.metric_inputs_changed where everything order by model`);
    expect(told.map((t) => t.model)).toEqual(models.map((m) => m.name).filter((n) => n.startsWith('core.')).sort());
  });

  it('leaves every model as it is when nothing changed, but the one reading the clock', async () => {
    const again = await runModels(wh.db, config, { models, now: DAY1 });
    expect(again.status, again.error).toBe('succeeded');
    const modes = new Map(again.results.map((r) => [r.model, r.mode]));
    expect(modes.get('core.fx_rates')).toBe('diff');
    for (const [model, mode] of modes) if (model !== 'core.fx_rates') expect(mode, model).toBe('skip');
    // Same day, same rates: nothing replaced, so nothing to tell the metrics either.
    expect(again.results.find((r) => r.model === 'core.fx_rates')?.replaced).toBe(0);
  });

  it('rebuilds from a changed order only its rows, and tells the metrics the dates it had and has', async () => {
    await wh.pool.query(`delete from ops.metric_inputs_changed`);
    // Order 2 moves from March 2 to March 4, its total from 20 to 25.
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...order({ id: 2, created_at: '2024-03-04T10:00:00Z', total: '25.00', customer: 2 }), updated_at: '2024-03-05T00:00:00Z' }]);
    const result = await runModels(wh.db, config, { models, now: DAY1 });
    expect(result.status, result.error).toBe('succeeded');
    expect(modeOf(result, 'staging.shopify_orders')).toBe('incremental');
    expect(modeOf(result, 'core.orders')).toBe('incremental');
    expect(modeOf(result, 'staging.stripe_charges')).toBe('skip');
    // One order out, one in: the old row and the new.
    expect(result.results.find((r) => r.model === 'core.orders')?.replaced).toBe(2);
    expect(await rows(`select order_id, order_date::text, total_price::text from core.orders order by order_id`)).toEqual([
      { order_id: '1', order_date: '2024-03-01', total_price: '10.00' },
      { order_id: '2', order_date: '2024-03-04', total_price: '25.00' },
    ]);
    const dates = await rows(`select distinct date::text from ops.metric_inputs_changed where model = 'core.orders' order by 1`);
    expect(dates.map((d) => d.date)).toEqual(['2024-03-02', '2024-03-04']);
    const customers = await rows(`select distinct customer_key from ops.metric_inputs_changed where model = 'core.customers' and customer_key is not null`);
    expect(customers).toEqual([{ customer_key: '2' }]);
  });

  it('tells the metrics that everything may have moved when a table without dates changed (a product renamed)', async () => {
    const product = { id: 1, title: 'Tee', product_type: 'Apparel', vendor: 'Atelier', status: 'ACTIVE', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z', variants: [] };
    await landRecords(wh.pool, 'shopify', 'products', [product]);
    await runModels(wh.db, config, { models, now: DAY1 });
    await wh.pool.query(`delete from ops.metric_inputs_changed`);
    await landRecords(wh.pool, 'shopify', 'products', [{ ...product, title: 'Tee, organic', updated_at: '2024-03-05T09:00:00Z' }]);
    const renamed = await runModels(wh.db, config, { models, now: DAY1 });
    expect(renamed.status, renamed.error).toBe('succeeded');
    expect(modeOf(renamed, 'core.products')).toBe('diff');
    expect(await rows(`select model, everything from ops.metric_inputs_changed order by model`)).toEqual([{ model: 'core.products', everything: true }]);
  });

  it('rebuilds a removed record out of every table, and rebuilds in full on --full and once the last full build is old', async () => {
    await wh.pool.query(`delete from raw.shopify__orders where _key = '1'`);
    const removed = await runModels(wh.db, config, { models, now: DAY1 });
    expect(removed.status, removed.error).toBe('succeeded');
    expect(modeOf(removed, 'core.orders')).toBe('incremental');
    expect(await rows(`select order_id from core.orders`)).toEqual([{ order_id: '2' }]);
    expect(await rows(`select customer_key from core.customers`)).toEqual([{ customer_key: '2' }]);

    const full = await runModels(wh.db, config, { models, now: DAY1, full: true });
    expect(full.results.every((r) => r.mode === 'full')).toBe(true);
    // fullRebuildEveryDays is 3: two days on, nothing is due; three days on, everything is.
    // (The rates run to the new day, so the orders are looked at again: none is on those days.)
    const twoDays = await runModels(wh.db, config, { models, now: new Date('2024-03-08T12:00:00Z') });
    expect(modeOf(twoDays, 'core.orders')).toBe('incremental');
    expect(twoDays.results.find((r) => r.model === 'core.orders')?.replaced).toBe(0);
    expect(modeOf(twoDays, 'staging.shopify_orders')).toBe('skip');
    const threeDays = await runModels(wh.db, config, { models, now: new Date('2024-03-09T12:00:00Z') });
    expect(threeDays.status, threeDays.error).toBe('succeeded');
    expect(threeDays.results.every((r) => r.mode === 'full')).toBe(true);
  });

  it('tells the metrics and the models downstream only the rows that changed, not the orders it widened to and left as they were', async () => {
    await wh.pool.query(`delete from ops.metric_inputs_changed`);
    // Customer 2's second order: core.orders rebuilds both of their orders; order 2 (March 4) comes out the same.
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 3, created_at: '2024-03-06T10:00:00Z', total: '30.00', customer: 2 })]);
    const result = await runModels(wh.db, config, { models, now: new Date('2024-03-10T12:00:00Z') });
    expect(result.status, result.error).toBe('succeeded');
    expect(modeOf(result, 'core.orders')).toBe('incremental');
    // Order 2 out and in again, order 3 in.
    expect(result.results.find((r) => r.model === 'core.orders')?.replaced).toBe(3);
    // The models reading core.orders are asked only about order 3: its one line goes in, order 2's stays.
    expect(result.results.find((r) => r.model === 'core.order_lines')?.replaced).toBe(1);
    const dates = await rows(`select distinct date::text from ops.metric_inputs_changed where model = 'core.orders' order by 1`);
    expect(dates.map((d) => d.date)).toEqual(['2024-03-06']);
    const customers = await rows(`select distinct customer_key from ops.metric_inputs_changed where model = 'core.customers' and customer_key is not null`);
    expect(customers).toEqual([{ customer_key: '2' }]);
  });

  it('rebuilds for a new unit cost only the lines of that SKU dated on or after it takes effect, as a full build gives them', async () => {
    // Customer 2 has order 2 (March 4) and order 3 (March 6), one line of SKU-7 each, no cost yet.
    await landRecords(wh.pool, 'costs', 'unit_costs', [{ sku: 'SKU-7', unit_cost: '4.00', currency: 'USD', valid_from: '2024-03-05' }]);
    const result = await runModels(wh.db, config, { models, now: new Date('2024-03-10T12:00:00Z') });
    expect(result.status, result.error).toBe('succeeded');
    expect(modeOf(result, 'core.order_lines')).toBe('incremental');
    // Order 3's line out and in again; order 2's, dated before the cost, not touched.
    expect(result.results.find((r) => r.model === 'core.order_lines')?.replaced).toBe(2);
    const lines = async () => rows(`select order_id, order_date::text, unit_cost::text from core.order_lines order by order_id`);
    expect(await lines()).toEqual([
      { order_id: '2', order_date: '2024-03-04', unit_cost: null },
      { order_id: '3', order_date: '2024-03-06', unit_cost: '4.00' },
    ]);
    const full = await runModels(wh.db, config, { models, now: new Date('2024-03-10T12:00:00Z'), full: true });
    expect(full.status, full.error).toBe('succeeded');
    expect(await lines()).toEqual([
      { order_id: '2', order_date: '2024-03-04', unit_cost: null },
      { order_id: '3', order_date: '2024-03-06', unit_cost: '4.00' },
    ]);
  });
});
