import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkApiVersion, checkServedVersion, latestVersionAt } from '../../extractors/shopify/api-version.ts';
import { readBulkObjects } from '../../extractors/shopify/bulk-file.ts';
import { CostThrottle, throttledDelay } from '../../extractors/shopify/cost-throttle.ts';
import { planRead } from '../../extractors/shopify/stream-read.ts';
import { configSchema, shopifyConfig, type ShopifyConfig } from '../../config/schema.ts';
import type { ReadContext } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'verite-shopify-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the pinned API version', () => {
  const warnings: string[] = [];
  const warn = (m: string) => void warnings.push(m);

  it('names the quarterly version current at a date', () => {
    expect(latestVersionAt(new Date('2026-11-22T14:00:00Z'))).toBe('2026-10');
    expect(latestVersionAt(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01');
    expect(latestVersionAt(new Date('2026-03-31T23:59:59Z'))).toBe('2026-01');
  });

  it('refuses a version twelve months old or more, naming it and a current one', () => {
    // 2025-10 was released on 2025-10-01: its twelve months end on 2026-10-01.
    expect(() => checkApiVersion('2025-10', new Date('2026-10-01T00:00:00Z'), warn)).toThrow(
      /API version 2025-10 is past its support window .*ended 2026-10-01.*such as 2026-10/,
    );
    expect(() => checkApiVersion('2025-10', new Date('2026-09-30T23:59:59Z'), warn)).not.toThrow();
  });

  it('warns in the last three months and refuses a version not yet released', () => {
    warnings.length = 0;
    checkApiVersion('2026-01', new Date('2026-10-02T00:00:00Z'), warn); // ends 2027-01-01
    checkApiVersion('2026-10', new Date('2026-10-02T00:00:00Z'), warn);
    expect(warnings).toEqual([expect.stringMatching(/2026-01 leaves Shopify's support window around 2027-01-01/)]);
    expect(() => checkApiVersion('2027-01', new Date('2026-11-22T00:00:00Z'), warn)).toThrow(/2027-01 is not released yet/);
  });

  it('refuses an answer served by another version than the pinned one', () => {
    expect(() => checkServedVersion('2025-07', '2025-10', { source: 'shopify', stream: 'orders' })).toThrow(
      /\[shopify\.orders\] API version 2025-07 is no longer supported: Shopify answered with version 2025-10/,
    );
    expect(() => checkServedVersion('2026-10', '2026-10', { source: 'shopify' })).not.toThrow();
    expect(() => checkServedVersion('2026-10', null, { source: 'shopify' })).not.toThrow();
  });
});

describe('the cost throttle', () => {
  it('waits for the points a query of the same kind last asked for to refill', () => {
    let now = 10_000;
    const throttle = new CostThrottle(() => now);
    expect(throttle.delayFor('orders page')).toBe(0);
    throttle.observe('orders page', { requestedQueryCost: 400, throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 50, restoreRate: 100 } });
    // 350 points missing at 100 a second: 3.5 s; after 1.5 s, 150 points are back: 2 s left.
    expect(throttle.delayFor('orders page')).toBe(3500);
    now += 1500;
    expect(throttle.delayFor('orders page')).toBe(2000);
    // A kind never seen costs nothing to wait for.
    expect(throttle.delayFor('customers page')).toBe(0);
  });

  it('reads a THROTTLED answer as the time its missing points take to refill', () => {
    expect(throttledDelay({ requestedQueryCost: 752, actualQueryCost: null, throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 666, restoreRate: 50 } })).toBe(1720);
    expect(throttledDelay(undefined)).toBe(1000);
  });
});

describe('reading a bulk export', () => {
  const where = { source: 'shopify', stream: 'orders' };
  const read = async (file: string, partBytes?: number) => {
    const seen: { id: unknown; children: unknown[] }[] = [];
    for await (const o of readBulkObjects(file, where, { partBytes })) seen.push({ id: o.node.id, children: o.children.map((c) => c.id) });
    return seen;
  };

  it('gives each object with its children wherever they are (before, between or after their parent), in file order', async () => {
    const file = join(dir, 'export.jsonl');
    // A title long enough for lines of several hundred kB, with characters of several bytes.
    const long = 'é€😀'.repeat(60_000);
    const lines = [
      { id: 'gid://shopify/LineItem/11', title: long, __parentId: 'gid://shopify/Order/1' },
      { id: 'gid://shopify/Order/1', name: '#1' },
      { id: 'gid://shopify/Order/2', name: '#2' },
      { id: 'gid://shopify/LineItem/12', title: 'b', __parentId: 'gid://shopify/Order/1' },
      { id: 'gid://shopify/Order/3', name: '#3' },
      { id: 'gid://shopify/LineItem/21', title: 'c', __parentId: 'gid://shopify/Order/2' },
      { id: 'gid://shopify/LineItem/13', title: long, __parentId: 'gid://shopify/Order/1' },
    ];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const titles: number[] = [];
    for await (const o of readBulkObjects(file, where)) for (const c of o.children) titles.push((c.title as string).length);
    // In one part (a small file): the objects in the order each was first met, a child counting.
    expect(await read(file)).toEqual([
      { id: 'gid://shopify/Order/1', children: ['gid://shopify/LineItem/11', 'gid://shopify/LineItem/12', 'gid://shopify/LineItem/13'] },
      { id: 'gid://shopify/Order/2', children: ['gid://shopify/LineItem/21'] },
      { id: 'gid://shopify/Order/3', children: [] },
    ]);
    expect(titles).toEqual([long.length, 1, long.length, 1]);
  });

  it('splits a large export into parts by parent, giving every object once with all its children, the same way each time', async () => {
    const file = join(dir, 'large.jsonl');
    // 300 orders of 1 to 5 line items; each order's items before it, after it, or at the end.
    const orders = Array.from({ length: 300 }, (_, i) => ({ id: `gid://shopify/Order/${i + 1}`, items: Array.from({ length: 1 + (i % 5) }, (_, j) => `gid://shopify/LineItem/${(i + 1) * 10 + j}`) }));
    const head: string[] = [];
    const body: string[] = [];
    const tail: string[] = [];
    for (const [i, o] of orders.entries()) {
      const child = (id: string) => JSON.stringify({ id, __parentId: o.id });
      (i % 3 === 0 ? head : i % 3 === 1 ? body : tail).push(...o.items.map(child));
      body.push(JSON.stringify({ id: o.id }));
    }
    writeFileSync(file, [...head, ...body, ...tail].join('\n') + '\n');

    // Parts of about 2 kB: the file (about 40 kB) is split into some twenty parts.
    const first = await read(file, 2048);
    expect(first).toHaveLength(300);
    expect([...first].sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual(
      orders.map((o) => ({ id: o.id, children: o.items })).sort((a, b) => a.id.localeCompare(b.id)),
    );
    // Not the file's order (parts), but the same order on every reading: what a resumed read counts on.
    expect(first.map((o) => o.id)).not.toEqual(orders.map((o) => o.id));
    expect(await read(file, 2048)).toEqual(first);
    // The part files are gone once read.
    expect(existsSync(`${file}.parts`)).toBe(false);
  });

  it('fails on a line that is not JSON, and on children whose parent is not in the file', async () => {
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"id":"gid://shopify/Order/1"}\n{"id":\n');
    await expect(read(broken)).rejects.toThrow(/\[shopify\.orders\] line 2 of the bulk export is not JSON/);
    const orphan = join(dir, 'orphan.jsonl');
    writeFileSync(orphan, '{"id":"gid://shopify/Order/1"}\n{"id":"gid://shopify/LineItem/1","__parentId":"gid://shopify/Order/9"}\n');
    await expect(read(orphan)).rejects.toThrow(/lines for 1 parent\(s\) it does not contain \(e\.g\. gid:\/\/shopify\/Order\/9\)/);
  });
});

describe('planning a read', () => {
  const config = (extra: Record<string, unknown> = {}) => shopifyConfig.parse({ shop: 'verite-test.myshopify.com', ...extra });
  const ctx = (over: Partial<ReadContext<ShopifyConfig>>): ReadContext<ShopifyConfig> => ({
    config: config(),
    global: configSchema.parse({ reportingTimezone: 'Europe/Paris' }),
    state: null,
    window: null,
    startDate: '2026-11-01',
    lookbackDays: 2,
    now: new Date('2026-11-20T12:00:00.500Z'),
    log: logger(),
    signal: new AbortController().signal,
    secret: () => 'x',
    warnOnce: () => undefined,
    ...over,
  });

  it('pages from the cursor minus the lookback to now, and bulk-exports a range over the threshold', () => {
    expect(planRead(ctx({ state: { updated_at: '2026-11-18T06:00:00Z' } }))).toEqual({
      mode: 'paged',
      range: { field: 'updated_at', from: '2026-11-16T06:00:00Z', to: '2026-11-20T12:00:00Z' },
      cursor: '2026-11-18T06:00:00.000Z',
      backfill: false,
    });
    // 19.5 days from startDate is under the 30-day threshold; 31 days from an older cursor is over it.
    expect(planRead(ctx({})).mode).toBe('paged');
    expect(planRead(ctx({ state: { updated_at: '2026-10-22T12:00:00Z' } })).mode).toBe('bulk');
  });

  it('reads a backfill by creation date in the reporting time zone, as a bulk operation', () => {
    // Paris is UTC+1 in March until the 29th, UTC+2 after: its days start at 23:00 and 22:00 UTC.
    expect(planRead(ctx({ window: { from: '2026-03-01', to: '2026-03-29' } }))).toEqual({
      mode: 'bulk',
      range: { field: 'created_at', from: '2026-02-28T23:00:00Z', to: '2026-03-29T21:59:59Z' },
      cursor: null,
      backfill: true,
    });
  });

  it('goes on with the bulk operation an interrupted read left in the state, then reads on to now', () => {
    const bulk = { id: 'gid://shopify/BulkOperation/7', from: '2026-10-01T00:00:00Z', to: '2026-10-30T23:59:59Z', landed: 250 };
    expect(planRead(ctx({ state: { updated_at: '2026-09-30T23:59:59Z', bulk } }))).toEqual({
      mode: 'bulk', range: { field: 'updated_at', from: bulk.from, to: '2026-11-20T12:00:00Z' }, cursor: '2026-09-30T23:59:59.000Z', backfill: false, resume: bulk,
    });
    // A state of an older verite counted its landed objects in another order: that export is landed again from its start.
    expect(planRead(ctx({ state: { updated_at: null, bulk: { ...bulk, landed: undefined, done: 250 } } as never })).resume).toEqual({ ...bulk, landed: 0 });
  });
});
