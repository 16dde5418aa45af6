import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type VeriteConfig } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms, type TransformResult } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { at, coreAndMetrics, day, landDemoDay, morningAfter, rawRecords } from '../support/demo-shop.ts';
import { landRecords } from '../support/land.ts';

/**
 * `verite transform --select` and the nightly build after it. A selected model is rebuilt from
 * the whole of its inputs and its watermark moves past every change, those its readers (not
 * selected) have not read too: the next build must still give every core and metrics table
 * exactly as a full rebuild of the same raw data does. Before, the readers found nothing new in
 * the selected model and were skipped until the next periodic full rebuild: an order corrected
 * stayed wrong in core, new orders never reached core.orders (and every nightly failed on the
 * order lines naming them), a new cost never reached the order lines.
 */

const log = createLogger(process.stderr, 'silent');
let wh: Warehouse;
let config: VeriteConfig;

/** A few hours into the day after day `i`'s nightly run: when an engineer runs a selection by hand. */
const byHand = (i: number) => new Date(morningAfter(i).getTime() + 4 * 3_600_000);

async function rows(text: string): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(text)).rows;
}

const modeOf = (result: TransformResult, model: string) => result.results.find((r) => r.model === model)?.mode;
const reasonOf = (result: TransformResult, model: string) => result.results.find((r) => r.model === model)?.reason;

/** The last day landed. */
let landed = -1;

/** Lands day `i` and runs that night's transform and metrics refresh, as `verite run` does. */
async function nightly(i: number): Promise<{ transform: TransformResult; fullRefreshReason?: string }> {
  await landDemoDay(wh, config, log, i);
  landed = i;
  const transform = await runTransforms(wh, config, { log, now: morningAfter(i) });
  expect(transform.status, transform.error).toBe('succeeded');
  const metrics = await refreshMetrics(wh, config, log, { now: morningAfter(i) });
  expect(metrics.status, metrics.error).toBe('succeeded');
  return { transform, fullRefreshReason: metrics.fullRefreshReason };
}

async function select(i: number, models: string[]): Promise<TransformResult> {
  const result = await runTransforms(wh, config, { log, now: byHand(i), select: models });
  expect(result.status, result.error).toBe('succeeded');
  return result;
}

/**
 * Every core and metrics table after night `i`'s incremental build, compared row for row with a
 * full rebuild (and the metrics refresh after it) at the same clock; nothing is left marked for a
 * full rebuild.
 */
async function expectAsAFullRebuild(i: number): Promise<void> {
  expect(await rows(`select model from ops.model_builds where rebuild_in_full`)).toEqual([]);
  const incremental = await coreAndMetrics(wh);
  await rebuildEverything(i);
  const rebuilt = await coreAndMetrics(wh);
  expect(Object.keys(incremental)).toEqual(Object.keys(rebuilt));
  for (const table of Object.keys(rebuilt)) expect(incremental[table], `${table} after night ${i}`).toEqual(rebuilt[table]);
}

/** `verite transform --full`, then the metrics refresh, at night `i`'s clock. */
async function rebuildEverything(i: number): Promise<void> {
  const full = await runTransforms(wh, config, { log, now: morningAfter(i), full: true });
  expect(full.status, full.error).toBe('succeeded');
  const metrics = await refreshMetrics(wh, config, log, { now: morningAfter(i) });
  expect(metrics.status, metrics.error).toBe('succeeded');
}

beforeAll(async () => {
  wh = await createTestDatabase('select_nightly');
  // Paris: local days are not UTC days. No periodic full rebuild in the days the test runs.
  config = configSchema.parse({ reportingTimezone: 'Europe/Paris', sources: { demo: {} }, transform: { fullRebuildEveryDays: 365 } });
  for (let i = 0; i < 3; i++) await nightly(i);
}, 600_000);
// Each case starts from a full build of what is landed, whatever the one before left.
beforeEach(async () => {
  await rebuildEverything(landed);
}, 600_000);
afterAll(async () => {
  await wh?.close();
});

describe('the nightly build after verite transform --select', () => {
  it('brings an order corrected before a selection of its staging model into core, as a full rebuild does', async () => {
    // A correction imported (or landed by a run whose transform failed), then a selection by hand.
    const [order] = await rawRecords(wh, 'shopify__orders', `(_record->>'created_at')::date = '${day(1)}' and _record->>'cancelled_at' is null`);
    const total = Number(order!.total_price);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...order!, total_price: (total + 50).toFixed(2), updated_at: at(2, 20) }], 'import');
    const selection = await select(2, ['staging.shopify_orders']);
    expect(modeOf(selection, 'staging.shopify_orders')).toBe('full');
    // The models reading it are not run, and say the next build rebuilds them in full; a model not reading it says only that it was not selected.
    expect(selection.results.find((r) => r.model === 'core.orders')).toMatchObject({ status: 'not-run', reason: 'not selected; the next build rebuilds it in full' });
    expect(reasonOf(selection, 'core.customers')).toBe('not selected; the next build rebuilds it in full');
    expect(reasonOf(selection, 'staging.stripe_charges')).toBe('not selected');
    expect(await rows(`select order_id, total_price::text from core.orders where order_id = '${order!.id}'`)).toEqual([{ order_id: String(order!.id), total_price: total.toFixed(2) }]);

    const { transform, fullRefreshReason } = await nightly(3);
    // The corrected total, 50 more than the record landed first.
    expect(await rows(`select total_price::text from core.orders where order_id = '${order!.id}'`)).toEqual([{ total_price: (total + 50).toFixed(2) }]);
    // core.orders and everything reading it rebuilt in full, and the metrics learn it from them.
    expect(modeOf(transform, 'core.orders')).toBe('full');
    expect(modeOf(transform, 'core.customers')).toBe('full');
    expect(fullRefreshReason).toMatch(/core\.orders.* rebuilt in full/);
    await expectAsAFullRebuild(3);
  }, 600_000);

  it("brings orders landed before a selection of their staging model into core.orders, and the nightly build's checks pass", async () => {
    // Day 4's orders landed, and a selection ran before the transform did.
    await landDemoDay(wh, config, log, 4);
    await select(4, ['staging.shopify_orders']);
    const landed = (await rawRecords(wh, 'shopify__orders', `(_record->>'created_at')::date = '${day(4)}'`)).map((o) => String(o.id)).sort();
    expect(landed.length).toBeGreaterThan(0);
    expect(await rows(`select order_id from core.orders where order_id = any('{${landed.join(',')}}') order by order_id`)).toEqual([]);

    // Before, this build failed: its order lines named day 4's orders, which core.orders never got.
    const { transform } = await nightly(5);
    expect(transform.checks.filter((c) => !c.passed && !c.warning)).toEqual([]);
    const inCore = await rows(`select order_id from core.orders where order_id = any('{${landed.join(',')}}') order by order_id`);
    expect(inCore.map((r) => r.order_id)).toEqual(landed);
    await expectAsAFullRebuild(5);
  }, 600_000);

  it('gives the order lines a cost imported before a selection of the costs model', async () => {
    // A line of a product the costs file does not name: its cost is Shopify's, until the file names it.
    const [line] = await rows(`select line_id, sku, unit_cost_source from core.order_lines
      where sku is not null and order_date = '${day(5)}' and sku not in (select _record->>'sku' from raw.costs__unit_costs) order by line_id limit 1`);
    expect(line).toMatchObject({ unit_cost_source: 'shopify' });
    await landRecords(wh.pool, 'costs', 'unit_costs', [{ sku: line!.sku, unit_cost: '1.23', currency: 'USD', valid_from: day(0) }], 'import');
    const selection = await select(5, ['staging.costs_unit_costs']);
    expect(reasonOf(selection, 'core.order_lines')).toBe('not selected; the next build rebuilds it in full');

    await nightly(6);
    // The file's cost, in its currency, from day 0 on: the line is of day 5.
    expect(await rows(`select unit_cost::text, unit_cost_currency, unit_cost_source from core.order_lines where line_id = '${line!.line_id}'`)).toEqual([
      { unit_cost: '1.23', unit_cost_currency: 'USD', unit_cost_source: 'costs' },
    ]);
    await expectAsAFullRebuild(6);
  }, 600_000);

  it('a selection of a core model reads staging as it is; the next nightly build brings both up to date', async () => {
    const [order] = await rawRecords(wh, 'shopify__orders', `(_record->>'created_at')::date = '${day(3)}' and _record->>'cancelled_at' is null`);
    const total = Number(order!.total_price);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...order!, total_price: (total + 25).toFixed(2), updated_at: at(6, 20) }], 'import');
    // staging.shopify_orders is not selected: core.orders is rebuilt from it as it is, without the correction.
    await select(6, ['core.orders']);
    expect(await rows(`select total_price::text from core.orders where order_id = '${order!.id}'`)).toEqual([{ total_price: total.toFixed(2) }]);

    await nightly(7);
    // 25 more than the record landed first.
    expect(await rows(`select total_price::text from core.orders where order_id = '${order!.id}'`)).toEqual([{ total_price: (total + 25).toFixed(2) }]);
    await expectAsAFullRebuild(7);
  }, 600_000);

  it('a selection made by a release before the mark (an upgraded warehouse): the nightly build still brings the readers up to date', async () => {
    const [order] = await rawRecords(wh, 'shopify__orders', `(_record->>'created_at')::date = '${day(2)}' and _record->>'cancelled_at' is null`);
    const total = Number(order!.total_price);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...order!, total_price: (total + 40).toFixed(2), updated_at: at(8, 20) }], 'import');
    await select(8, ['staging.shopify_orders']);
    // As an older release left it: the selected model's watermark moved on, its readers' did not, and nothing marked them.
    await wh.pool.query('update ops.model_builds set rebuild_in_full = false');
    const [staging, core] = await rows(`select model, through_change_id > (select through_change_id from ops.model_builds where model = 'core.orders') as ahead
      from ops.model_builds where model in ('staging.shopify_orders', 'core.orders') order by model desc`);
    expect([staging, core]).toEqual([{ model: 'staging.shopify_orders', ahead: true }, { model: 'core.orders', ahead: false }]);

    const { transform } = await nightly(9);
    // 40 more than the record landed first; before, core.orders was skipped (nothing new in staging since its watermark).
    expect(await rows(`select total_price::text from core.orders where order_id = '${order!.id}'`)).toEqual([{ total_price: (total + 40).toFixed(2) }]);
    expect(modeOf(transform, 'core.orders')).toBe('full');
    await expectAsAFullRebuild(9);
  }, 600_000);
});
