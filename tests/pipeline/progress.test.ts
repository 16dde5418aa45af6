import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { createProgress, type Progress } from '../../lib/progress.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * Issue 17: a first load of two years showed nothing for minutes. Every long step says how far it
 * got: each stream its pages, records and the dates of the data read so far, the transform its
 * models, the refresh its tables; on a terminal (a line redrawn in place) and in the logs at info.
 */

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'info');
  return { log, lines };
}

describe('progress', () => {
  it('logs a step at info once every 10 s of the given clock (a short step logs none), and redraws one line on a terminal', () => {
    const { log, lines } = capture();
    let clock = 1_000_000;
    const drawn: string[] = [];
    const progress = createProgress({ log, out: { isTTY: true, write: (s: string) => (drawn.push(s), true) }, now: () => clock });
    progress.update('shopify.orders', 'shopify.orders: 1 page', { pages: 1 });
    clock += 9_999;
    progress.update('shopify.orders', 'shopify.orders: 2 pages', { pages: 2 });
    expect(lines).toEqual([]);
    clock += 1;
    progress.update('shopify.orders', 'shopify.orders: 3 pages', { pages: 3 });
    clock += 4_000;
    progress.update('shopify.orders', 'shopify.orders: 4 pages', { pages: 4 });
    progress.done('shopify.orders');
    expect(lines).toEqual([{ level: 30, time: expect.any(Number), step: 'shopify.orders', pages: 3, msg: 'in progress: shopify.orders: 3 pages' }]);
    // Each update redraws the line; the log line and the end clear it first.
    expect(drawn).toEqual([
      '\r\x1b[2Kshopify.orders: 1 page',
      '\r\x1b[2Kshopify.orders: 2 pages',
      '\r\x1b[2K',
      '\r\x1b[2Kshopify.orders: 3 pages',
      '\r\x1b[2Kshopify.orders: 4 pages',
      '\r\x1b[2K',
    ]);
  });

  it('draws nothing where the output is not a terminal', () => {
    const { log } = capture();
    const drawn: string[] = [];
    const progress = createProgress({ log, out: { isTTY: false, write: (s: string) => (drawn.push(s), true) } });
    progress.update('x', 'x: 1 page', {});
    progress.done('x');
    expect(drawn).toEqual([]);
  });
});

describe('a run reports each stream as its pages commit', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await createTestDatabase('progress');
    await createFakeTables(wh.db);
  });
  afterAll(async () => wh?.close());

  it('pages, records and the window of dates reached, for every page', async () => {
    const updates: [string, string, Record<string, unknown>][] = [];
    const done: string[] = [];
    const progress: Progress = { update: (key, text, fields) => void updates.push([key, text, fields]), done: (key) => void done.push(key) };
    const { log } = capture();
    const result = await runPipeline({
      warehouse: wh,
      config: configSchema.parse({}),
      log,
      sources: [{ source: fakeSource({ streams: ['daily'] }), config: {} }],
      window: { from: '2024-01-30', to: '2024-02-01' },
      steps: [],
      progress,
    });
    expect(result.status).toBe('succeeded');
    // One page per date, three rows each.
    expect(updates).toEqual([
      ['fake.daily', 'fake.daily: 1 page, 3 records, data 2024-01-30', { pages: 1, records: 3, from: '2024-01-30', to: '2024-01-30' }],
      ['fake.daily', 'fake.daily: 2 pages, 6 records, data 2024-01-30 to 2024-01-31', { pages: 2, records: 6, from: '2024-01-30', to: '2024-01-31' }],
      ['fake.daily', 'fake.daily: 3 pages, 9 records, data 2024-01-30 to 2024-02-01', { pages: 3, records: 9, from: '2024-01-30', to: '2024-02-01' }],
    ]);
    expect(done).toEqual(['fake.daily']);
  });
});
