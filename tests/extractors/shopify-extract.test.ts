import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, shopifyConfig } from '../../config/schema.ts';
import { shopifySource } from '../../extractors/shopify/source.ts';
import type { DateWindow } from '../../extractors/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeCustomer, fakeOrder, startFakeShopify, type FakeShopify } from './support/shopify-server.ts';
import { installFakeTime, type FakeTime } from './support/time.ts';

const NOW = '2026-11-20T12:00:00Z';
const TOKEN_ENV = 'VERITE_TEST_SHOPIFY_TOKEN';
const at = (day: number, hour = 10, month = 11) => `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

let wh: Warehouse;
let fake: FakeShopify;
/** The extractors' clock moves only by the waits, so the cost throttle's refill is exact. */
let time: FakeTime;
let waits: number[];

beforeAll(async () => {
  time = installFakeTime(Date.parse(NOW));
  waits = time.waits;
  wh = await createTestDatabase('shopify_extract');
});
afterAll(async () => {
  time.restore();
  await wh?.close();
});
beforeEach(async () => {
  fake = await startFakeShopify();
  process.env[TOKEN_ENV] = fake.token;
  time.reset(Date.parse(NOW));
  await wh.pool.query(`truncate raw.shopify__orders, raw.shopify__customers`);
  await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
});
afterEach(async () => {
  await fake.close();
});

interface RunOptions {
  now?: string;
  shopify?: Record<string, unknown>;
  window?: DateWindow;
  stream?: 'orders' | 'customers';
  reportingTimezone?: string;
  signal?: AbortSignal;
}

async function run(options: RunOptions = {}) {
  const config = configSchema.parse({
    reportingCurrency: 'EUR',
    reportingTimezone: options.reportingTimezone ?? 'UTC',
    retries: { streamAttempts: 1, backoffSeconds: 0 },
    sources: {
      shopify: { shop: 'verite-test.myshopify.com', apiBaseUrl: fake.url, accessTokenEnv: TOKEN_ENV, startDate: '2026-11-05', maxAttempts: 3, ...options.shopify },
    },
  });
  return runPipeline({
    warehouse: wh,
    config,
    log: logger(),
    now: new Date(options.now ?? NOW),
    steps: [],
    window: options.window ?? null,
    signal: options.signal,
    stream: options.stream ?? 'orders',
    sources: [{ source: shopifySource, config: shopifyConfig.parse(config.sources.shopify) }],
  });
}

async function landedOrders(): Promise<Record<string, any>[]> {
  const res = await wh.pool.query(`select _record from raw.shopify__orders order by _key::bigint`);
  return res.rows.map((r) => r._record);
}

async function landedCustomers(): Promise<Record<string, any>[]> {
  const res = await wh.pool.query(`select _record from raw.shopify__customers order by _key::bigint`);
  return res.rows.map((r) => r._record);
}

/** What a read landed, then an empty warehouse again for the next read. */
async function takeLanded(read: () => Promise<Record<string, any>[]>): Promise<Record<string, any>[]> {
  const records = await read();
  await wh.pool.query(`truncate raw.shopify__orders, raw.shopify__customers`);
  await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
  return records;
}

async function state(stream = 'orders'): Promise<unknown> {
  const res = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = $1`, [stream]);
  return res.rows[0]?.state ?? null;
}

const ops = (name: string) => fake.requests.filter((r) => r.operation === name);

describe('shopify orders, paged', () => {
  it('lands several pages, waits out a 429 (its Retry-After) and a 500, and gathers long orders and refunds', async () => {
    for (let n = 1; n <= 23; n++) fake.orders.push(fakeOrder(n, at(6 + (n % 13), n % 24), undefined, { lines: n === 3 ? 12 : 1, refund: n === 5 ? '4.00' : undefined }));
    fake.script({ operation: 'VeriteOrders', status: 429, headers: { 'retry-after': '3' } }, { operation: 'VeriteOrders', status: 500 });

    const result = await run();

    expect(result.status).toBe('succeeded');
    // 23 orders at 10 a page: 10, 10, 3.
    expect(result.streams[0]).toMatchObject({ stream: 'orders', pages: 3, written: 23 });
    expect(waits.some((w) => w >= 3000)).toBe(true); // Retry-After: 3
    const pages = ops('VeriteOrders');
    expect(pages).toHaveLength(5); // 429, 500, then three pages
    expect(pages.map((p) => p.variables.first)).toEqual([10, 10, 10, 10, 10]);
    // First run: from startDate to now.
    expect(pages[0]!.variables.query).toBe("updated_at:>='2026-11-05T00:00:00Z' AND updated_at:<='2026-11-20T12:00:00Z'");
    expect(fake.requests.every((r) => r.token === fake.token && r.version === '2026-10')).toBe(true);

    const orders = await landedOrders();
    expect(orders).toHaveLength(23);
    const long = orders.find((o) => o.id === 1003)!;
    expect(long.line_items).toHaveLength(12); // 8 with the page, 4 by a follow-up query
    expect(ops('VeriteOrderLineItems').map((r) => r.variables)).toEqual([{ id: 'gid://shopify/Order/1003', after: 'i:7' }]);
    const refunded = orders.find((o) => o.id === 1005)!;
    expect(refunded.refunds).toEqual([
      {
        id: 9005, admin_graphql_api_id: 'gid://shopify/Refund/9005', order_id: 1005, created_at: refunded.updated_at, note: null,
        transactions: [
          {
            id: 90005, admin_graphql_api_id: 'gid://shopify/OrderTransaction/90005', order_id: 1005, kind: 'refund', status: 'success',
            amount: '4.00', currency: 'EUR', gateway: 'shopify_payments', created_at: refunded.updated_at, processed_at: refunded.updated_at,
          },
        ],
        // Issue 13: the stand-in's refund names no refunded line, and no refunded shipping.
        refund_line_items: [],
        refund_shipping_lines: [],
      },
    ]);
    expect(orders.find((o) => o.id === 1001)).toMatchObject({
      name: '#1001', total_price: '10.00', currency: 'EUR', test: false, customer: { id: 501, email: 'buyer1@example.com' },
      landing_site: 'https://shop.example/?utm_source=news&utm_medium=email&n=1', payment_gateway_names: ['shopify_payments'],
    });
    // After the last page every order updated up to the end of the range is landed.
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });

  it('catches an order updated after the first run on the next one, re-reading two days behind the cursor', async () => {
    fake.orders.push(fakeOrder(1, at(10)), fakeOrder(2, at(12)), fakeOrder(3, at(19)));
    expect((await run()).status).toBe('succeeded');
    // A refund on order 2 after the first run, and a new order.
    const updated = fakeOrder(2, at(12), at(21, 8), { refund: '10.00' });
    fake.orders.splice(1, 1, updated);
    fake.orders.push(fakeOrder(4, at(21, 9)));
    fake.requests.length = 0;

    const second = await run({ now: '2026-11-21T12:00:00Z' });

    expect(second.status).toBe('succeeded');
    // The cursor was 2026-11-20T12:00Z: two days of lookback before it.
    expect(ops('VeriteOrders')[0]!.variables.query).toBe("updated_at:>='2026-11-18T12:00:00Z' AND updated_at:<='2026-11-21T12:00:00Z'");
    // Orders 3 (in the lookback), 2 and 4 were read; 3 was unchanged.
    expect(second.streams[0]).toMatchObject({ written: 2, unchanged: 1 });
    const orders = await landedOrders();
    expect(orders.map((o) => o.id)).toEqual([1001, 1002, 1003, 1004]);
    expect(orders[1]).toMatchObject({ updated_at: at(21, 8), financial_status: 'partially_refunded' });
    expect(orders[1]!.refunds[0].transactions[0]).toMatchObject({ kind: 'refund', status: 'success', amount: '10.00' });
    expect(await state()).toEqual({ updated_at: '2026-11-21T12:00:00.000Z' });
  });

  it('waits out a THROTTLED answer, and waits before a query the cost bucket cannot pay for yet', async () => {
    for (let n = 1; n <= 15; n++) fake.orders.push(fakeOrder(n, at(6 + (n % 10))));
    // 800 points asked, 200 left, 100 back a second: 6 s.
    fake.script({ operation: 'VeriteOrders', graphqlError: 'THROTTLED', cost: { requestedQueryCost: 800, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 200, restoreRate: 100 } } });
    // The first page leaves 300 points for a query that asked 900: the next page waits about 6 s first.
    fake.nextCosts.push({ requestedQueryCost: 900, actualQueryCost: 500, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 300, restoreRate: 100 } });

    const result = await run();

    expect(result.status).toBe('succeeded');
    expect(await landedOrders()).toHaveLength(15);
    // First the retry after THROTTLED (6 s), then the wait before the second page: 600 points
    // missing at 100 a second, and the clock has not moved since the first page's answer.
    expect(waits).toEqual([6000, 6000]);
    expect(ops('VeriteOrders')).toHaveLength(3); // THROTTLED, then two pages
  });

  it('asks for fewer orders a page when a query costs more than Shopify allows', async () => {
    for (let n = 1; n <= 12; n++) fake.orders.push(fakeOrder(n, at(6 + n)));
    fake.script({ operation: 'VeriteOrders', graphqlError: 'MAX_COST_EXCEEDED' });
    const result = await run();
    expect(result.status).toBe('succeeded');
    expect(ops('VeriteOrders').map((r) => r.variables.first)).toEqual([10, 5, 5, 5]);
    expect(await landedOrders()).toHaveLength(12);
  });
});

describe('shopify orders, bulk operations', () => {
  it('exports a long first run: starts the operation, polls it with backoff, downloads its JSONL and lands it', async () => {
    fake.orders.push(
      fakeOrder(1, at(2, 10, 8), undefined, { lines: 3 }),
      fakeOrder(2, at(15, 10, 9), undefined, { lines: 2, refund: '5.00' }),
      fakeOrder(3, at(1, 10, 10)),
      fakeOrder(4, at(19)),
      fakeOrder(5, at(20, 11), undefined, { lines: 4 }),
    );
    // One window of 120 days holds the whole range.
    const result = await run({ shopify: { startDate: '2026-08-01', bulkWindowDays: 120 } });

    expect(result.status).toBe('succeeded');
    // 111 days from startDate is over the 30-day threshold: a bulk operation.
    const started = ops('VeriteBulkRun');
    expect(started).toHaveLength(1);
    expect(started[0]!.variables.query).toContain(`orders(query: "updated_at:>='2026-08-01T00:00:00Z' AND updated_at:<='2026-11-20T12:00:00Z'", sortKey: UPDATED_AT)`);
    // Ungrouped, said out loud (the default since 2026-01).
    expect(started[0]!.query).toContain('bulkOperationRunQuery(query: $query, groupObjects: false)');
    expect(fake.bulkOperations.get('gid://shopify/BulkOperation/1')!.groupObjects).toBe(false);
    // CREATED, RUNNING, then COMPLETED: two pauses, the second twice the first.
    expect(ops('VeriteBulkStatus')).toHaveLength(3);
    expect(waits).toEqual([2000, 4000]);
    const download = ops('download');
    expect(download).toHaveLength(1);
    expect(download[0]!.token).toBeUndefined(); // the export URL is signed; the token is not sent there
    const orders = await landedOrders();
    expect(orders.map((o) => [o.id, o.line_items.length])).toEqual([[1001, 3], [1002, 2], [1003, 1], [1004, 1], [1005, 4]]);
    expect(orders[4]!.line_items.map((l: { id: number }) => l.id)).toEqual([100500, 100501, 100502, 100503]);
    expect(orders[1]!.refunds[0].transactions).toEqual([expect.objectContaining({ kind: 'refund', status: 'success', amount: '5.00' })]);
    expect(ops('VeriteRefundTransactions').map((r) => r.variables.ids)).toEqual([['gid://shopify/Refund/9002']]);
    // The operation id, then the records, then the cursor at the range's end (no operation left in it).
    expect(result.streams[0]).toMatchObject({ pages: 3, written: 5 });
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });

  it('cancels an operation that runs past bulkTimeoutMinutes and reads its window again in two halves', async () => {
    // Windows of 64 days from 1 August: the first (to 3 October) holds 4 orders, the next ones fewer.
    fake.orders.push(fakeOrder(1, at(2, 10, 8)), fakeOrder(2, at(20, 10, 8)), fakeOrder(3, at(15, 10, 9)), fakeOrder(4, at(1, 10, 10)), fakeOrder(5, at(19)));
    // An export of more than 3 orders runs on and on.
    fake.bulkStallObjects = 3;

    const result = await run({ shopify: { startDate: '2026-08-01', bulkWindowDays: 64, bulkTimeoutMinutes: 0.25 } });

    expect(result.status).toBe('succeeded');
    const search = (from: string, to: string) => `orders(query: "updated_at:>='${from}' AND updated_at:<='${to}'", sortKey: UPDATED_AT)`;
    const started = ops('VeriteBulkRun').map((r) => r.variables.query as string);
    expect(started).toHaveLength(4);
    // 64 days, timed out; its first 32 days; then 64 days again from 2 September; then the rest, to now.
    expect(started[0]).toContain(search('2026-08-01T00:00:00Z', '2026-10-03T23:59:59Z'));
    expect(started[1]).toContain(search('2026-08-01T00:00:00Z', '2026-09-01T23:59:59Z'));
    expect(started[2]).toContain(search('2026-09-02T00:00:00Z', '2026-11-04T23:59:59Z'));
    expect(started[3]).toContain(search('2026-11-05T00:00:00Z', '2026-11-20T12:00:00Z'));
    // 15 s of polling the first (2, 4 and 8 s, then the last second), then cancelled; 2 and 4 s for each of the others.
    expect(waits).toEqual([2000, 4000, 8000, 1000, 2000, 4000, 2000, 4000, 2000, 4000]);
    expect(ops('VeriteBulkCancel').map((r) => r.variables.id)).toEqual(['gid://shopify/BulkOperation/1']);
    expect(fake.bulkOperations.get('gid://shopify/BulkOperation/1')!.cancelled).toBe(true);
    expect((await landedOrders()).map((o) => o.id)).toEqual([1001, 1002, 1003, 1004, 1005]);
    // Back at the configured length when it ended: nothing to remember but the cursor.
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });

  it('resumes a read that failed part way through landing an export, without landing anything twice', async () => {
    // 300 orders, landed 250 a page; order 300 (the last met in the export, in the second page) has a refund.
    for (let n = 1; n <= 300; n++) fake.orders.push(fakeOrder(n, new Date(Date.parse('2026-08-02T00:00:00Z') + n * 3_600_000).toISOString(), undefined, { refund: n === 300 ? '1.00' : undefined }));
    fake.goDownAfter('VeriteRefundTransactions', 0);

    const first = await run({ shopify: { startDate: '2026-08-01', maxAttempts: 2, bulkWindowDays: 120 } });

    expect(first.status).toBe('failed');
    expect(errorMessage(first.streams[0]!.error)).toMatch(/\[shopify\.orders, GraphQL refund transactions, HTTP 500\] gave up after 2 attempts/);
    expect(await landedOrders()).toHaveLength(250);
    expect(await state()).toMatchObject({ updated_at: null, bulk: { id: 'gid://shopify/BulkOperation/1', landed: 250 } });
    const firstRun = first.runId;

    fake.heal();
    const second = await run({ shopify: { startDate: '2026-08-01', bulkWindowDays: 120 } });

    expect(second.status).toBe('succeeded');
    expect(ops('VeriteBulkRun')).toHaveLength(1);
    expect(ops('download')).toHaveLength(2);
    // Only the 50 orders not landed before were landed; none of the 250 was read again.
    expect(second.streams[0]).toMatchObject({ written: 50, unchanged: 0 });
    const rows = await wh.pool.query(`select _run_id, count(*)::int as n from raw.shopify__orders group by _run_id order by n desc`);
    expect(rows.rows).toEqual([{ _run_id: firstRun, n: 250 }, { _run_id: second.runId, n: 50 }]);
    const refunded = (await landedOrders()).find((o) => o.id === 1300)!;
    expect(refunded.refunds[0].transactions[0]).toMatchObject({ amount: '1.00', kind: 'refund' });
  });

  it('backfills the orders created on a window of dates in the reporting time zone, leaving the cursor alone', async () => {
    fake.orders.push(
      fakeOrder(1, '2026-09-30T21:30:00Z'), // 23:30 on 30 September in Paris: outside
      fakeOrder(2, '2026-09-30T22:30:00Z', at(19)), // 00:30 on 1 October in Paris, updated since
      fakeOrder(3, '2026-10-02T21:30:00Z'), // 23:30 on 2 October in Paris
      fakeOrder(4, '2026-10-02T22:00:00Z'), // midnight on 3 October in Paris: outside
    );
    await wh.pool.query(`insert into ops.stream_state (source, stream, state, last_run_id, updated_at) values ('shopify', 'orders', '{"updated_at":"2026-11-19T00:00:00.000Z"}', 'earlier', now())`);

    const result = await run({ window: { from: '2026-10-01', to: '2026-10-02' }, reportingTimezone: 'Europe/Paris' });

    expect(result.status).toBe('succeeded');
    expect(ops('VeriteBulkRun')[0]!.variables.query).toContain(`orders(query: "created_at:>='2026-09-30T22:00:00Z' AND created_at:<='2026-10-02T21:59:59Z'"`);
    expect((await landedOrders()).map((o) => o.id)).toEqual([1002, 1003]);
    expect(await state()).toEqual({ updated_at: '2026-11-19T00:00:00.000Z' });
  });

  it('backfills a long range in windows by creation date, halving a window that fails, and leaves the cursor alone', async () => {
    // Created on 2, 10 and 20 August and 5 September (updated later), and 1 October (outside).
    fake.orders.push(
      fakeOrder(1, at(2, 10, 8), at(19)), fakeOrder(2, at(10, 10, 8), at(19)), fakeOrder(3, at(20, 10, 8)), fakeOrder(4, at(5, 10, 9)), fakeOrder(5, at(1, 10, 10)),
    );
    fake.bulkMaxObjects = 2;
    await wh.pool.query(`insert into ops.stream_state (source, stream, state, last_run_id, updated_at) values ('shopify', 'orders', '{"updated_at":"2026-11-19T00:00:00.000Z"}', 'earlier', now())`);

    const result = await run({ window: { from: '2026-08-01', to: '2026-09-29' } });

    expect(result.status).toBe('succeeded');
    expect(ops('VeriteBulkRun').map((r) => /created_at:>='([^']+)' AND created_at:<='([^']+)'/.exec(r.variables.query as string)!.slice(1).join('..'))).toEqual([
      '2026-08-01T00:00:00Z..2026-08-30T23:59:59Z', // 3 orders: failed
      '2026-08-01T00:00:00Z..2026-08-15T23:59:59Z', // 2
      '2026-08-16T00:00:00Z..2026-09-14T23:59:59Z', // 2, back to 30 days
      '2026-09-15T00:00:00Z..2026-09-29T23:59:59Z', // none, to the end of the window
    ]);
    expect((await landedOrders()).map((o) => o.id)).toEqual([1001, 1002, 1003, 1004]);
    expect(await state()).toEqual({ updated_at: '2026-11-19T00:00:00.000Z' });
  });

  it('fails the stream when a window fails at bulkMinWindowHours, naming it, and the next run reads it again', async () => {
    fake.orders.push(fakeOrder(1, at(1, 3, 8)), fakeOrder(2, at(1, 20, 8)), fakeOrder(3, at(19)));
    fake.bulkOutcome = 'FAILED';
    const config = { startDate: '2026-08-01', bulkWindowDays: 1, bulkMinWindowHours: 6 };

    const first = await run({ shopify: config });

    expect(first.status).toBe('failed');
    // A day, half a day, a quarter of a day: all failed.
    expect(ops('VeriteBulkRun').map((r) => /updated_at:<='([^']+)'/.exec(r.variables.query as string)![1])).toEqual([
      '2026-08-01T23:59:59Z', '2026-08-01T11:59:59Z', '2026-08-01T05:59:59Z',
    ]);
    expect(errorMessage(first.streams[0]!.error)).toBe(
      '[shopify.orders, window 2026-08-01T00:00:00Z..2026-08-01T05:59:59Z, GraphQL bulk operation] bulk operation gid://shopify/BulkOperation/3 ended FAILED (INTERNAL_SERVER_ERROR), ' +
        'on a window of 6 hours (bulkMinWindowHours is 6): the windows before it are landed (cursor not set); the next run goes on from there',
    );
    expect(await state()).toEqual({
      updated_at: null,
      bulk_window_hours: 6,
      bulk: { id: 'gid://shopify/BulkOperation/3', from: '2026-08-01T00:00:00Z', to: '2026-08-01T05:59:59Z', landed: 0 },
    });
    expect(await landedOrders()).toHaveLength(0);

    fake.bulkOutcome = 'COMPLETED';
    fake.requests.length = 0;
    const second = await run({ shopify: { ...config, bulkWindowDays: 120 } });

    expect(second.status).toBe('succeeded');
    // The failed operation is polled once, then its window read anew at 6 hours, then 12, 24 … up to 120 days.
    expect(ops('VeriteBulkStatus')[0]!.variables.id).toBe('gid://shopify/BulkOperation/3');
    expect(ops('VeriteBulkRun').map((r) => /updated_at:>='([^']+)' AND updated_at:<='([^']+)'/.exec(r.variables.query as string)!.slice(1).join('..'))).toEqual([
      '2026-08-01T00:00:00Z..2026-08-01T05:59:59Z',
      '2026-08-01T06:00:00Z..2026-08-01T17:59:59Z',
      '2026-08-01T18:00:00Z..2026-08-02T17:59:59Z',
      '2026-08-02T18:00:00Z..2026-08-04T17:59:59Z',
      '2026-08-04T18:00:00Z..2026-08-08T17:59:59Z',
      '2026-08-08T18:00:00Z..2026-08-16T17:59:59Z',
      '2026-08-16T18:00:00Z..2026-09-01T17:59:59Z',
      '2026-09-01T18:00:00Z..2026-10-03T17:59:59Z',
      '2026-10-03T18:00:00Z..2026-11-20T12:00:00Z',
    ]);
    expect((await landedOrders()).map((o) => o.id)).toEqual([1001, 1002, 1003]);
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });
});

describe('shopify bulk exports since 2026-01: ungrouped lines, windows (issue 11)', () => {
  /**
   * Where the child lines of an export are against their parent's line: before it, right after
   * it (no other parent between), or far after it (other parents between).
   */
  function placements(lines: string[]): Set<string> {
    const parsed = lines.map((l) => JSON.parse(l) as { id: string; __parentId?: string });
    const lineOf = new Map(parsed.map((p, i) => [p.id, i]));
    const out = new Set<string>();
    parsed.forEach((p, i) => {
      if (!p.__parentId) return;
      const parent = lineOf.get(p.__parentId)!;
      const between = parsed.slice(parent + 1, i).some((q) => !q.__parentId);
      out.add(i < parent ? 'before' : between ? 'far after' : 'right after');
    });
    return out;
  }

  it('lands an ungrouped orders export (line items before, between and after their orders; one order with 260) as a grouped one and as pages', async () => {
    // 12 orders from 2 to 13 September, 1 to 3 line items each; order 7 has 260 (more than a
    // connection page of 250); order 3 has a refund.
    for (let n = 1; n <= 12; n++) fake.orders.push(fakeOrder(n, at(1 + n, 10, 9), undefined, { lines: n === 7 ? 260 : 1 + (n % 3), refund: n === 3 ? '4.00' : undefined }));
    const bulk = { startDate: '2026-08-01', bulkWindowDays: 120 };

    fake.bulkGrouping = true;
    expect((await run({ shopify: bulk })).status).toBe('succeeded');
    const grouped = await takeLanded(landedOrders);
    fake.bulkGrouping = undefined;
    expect((await run({ shopify: bulk })).status).toBe('succeeded');
    const ungrouped = await takeLanded(landedOrders);
    // 30 days from 1 September: paged (the 2026-10 version is out on 1 October).
    expect((await run({ shopify: { startDate: '2026-09-01' }, now: '2026-10-01T00:00:00Z' })).status).toBe('succeeded');
    const paged = await landedOrders();

    const [groupedExport, ungroupedExport] = [fake.bulkOperations.get('gid://shopify/BulkOperation/1')!, fake.bulkOperations.get('gid://shopify/BulkOperation/2')!];
    expect(placements(groupedExport.lines)).toEqual(new Set(['right after']));
    expect(placements(ungroupedExport.lines)).toEqual(new Set(['before', 'right after', 'far after']));
    // The first line of the ungrouped export is a line item, not an order.
    expect(JSON.parse(ungroupedExport.lines[0]!).__parentId).toBeDefined();

    expect(ungrouped).toEqual(grouped);
    expect(ungrouped).toEqual(paged);
    expect(ungrouped.map((o) => [o.id, o.line_items.length])).toEqual([
      [1001, 2], [1002, 3], [1003, 1], [1004, 2], [1005, 3], [1006, 1], [1007, 260], [1008, 3], [1009, 1], [1010, 2], [1011, 3], [1012, 1],
    ]);
    expect(ungrouped[6]!.line_items.map((l: { id: number }) => l.id)).toEqual(Array.from({ length: 260 }, (_, i) => 100700 + i));
    expect(ungrouped[2]!.refunds[0].transactions).toEqual([expect.objectContaining({ kind: 'refund', status: 'success', amount: '4.00' })]);
  });

  it('lands an ungrouped customers export (addresses scattered; one customer with 120) as a grouped one and as pages', async () => {
    // 8 customers, 0 to 2 addresses each; customer 4 has 120 (more than a follow-up page of 100).
    for (let n = 1; n <= 8; n++) fake.customers.push(fakeCustomer(n, at(1 + n, 10, 9), undefined, { addresses: n === 4 ? 120 : n % 3 }));
    const bulk = { startDate: '2026-08-01', bulkWindowDays: 120 };

    fake.bulkGrouping = true;
    expect((await run({ stream: 'customers', shopify: bulk })).status).toBe('succeeded');
    const grouped = await takeLanded(landedCustomers);
    fake.bulkGrouping = undefined;
    expect((await run({ stream: 'customers', shopify: bulk })).status).toBe('succeeded');
    const ungrouped = await takeLanded(landedCustomers);
    expect((await run({ stream: 'customers', shopify: { startDate: '2026-09-01' }, now: '2026-10-01T00:00:00Z' })).status).toBe('succeeded');
    const paged = await landedCustomers();

    expect(placements(fake.bulkOperations.get('gid://shopify/BulkOperation/2')!.lines)).toEqual(new Set(['before', 'right after', 'far after']));
    expect(ungrouped).toEqual(grouped);
    expect(ungrouped).toEqual(paged);
    expect(ungrouped.map((c) => [c.id, c.addresses.length])).toEqual([[501, 1], [502, 2], [503, 0], [504, 120], [505, 2], [506, 0], [507, 1], [508, 2]]);
    expect(ungrouped[3]!.addresses.map((a: { id: number }) => a.id)).toEqual(Array.from({ length: 120 }, (_, i) => 50400 + i));
    expect(ungrouped[3]!.addresses[119]).toEqual({
      id: 50519, first_name: 'First4', last_name: 'Last4', name: 'First4 Last4', company: null, address1: '120 Rue de la Paix', address2: null,
      city: 'Paris', province: null, province_code: null, country: 'France', country_code: 'FR', zip: '75002', phone: null,
    });
    // Paged: 3 addresses with each customer, then 100 and 17 for customer 4.
    expect(ops('VeriteCustomerAddresses').map((r) => r.variables)).toEqual([
      { id: 'gid://shopify/Customer/504', after: 'i:2' },
      { id: 'gid://shopify/Customer/504', after: 'i:102' },
    ]);
  });

  it('reads a first load in windows: a window that fails is read again in halves, committed windows survive an interruption, every order lands once', async () => {
    // One order a day at 10:00 from 1 August to 19 November: 111 orders. An export of more than
    // 10 orders fails (with partial data).
    for (let n = 1; n <= 111; n++) fake.orders.push(fakeOrder(n, new Date(Date.parse('2026-08-01T10:00:00Z') + (n - 1) * 86_400_000).toISOString()));
    fake.bulkMaxObjects = 10;
    const controller = new AbortController();
    // Stop the run as the fifth operation is asked for.
    fake.onRequest = (r) => {
      if (r.operation === 'VeriteBulkRun' && ops('VeriteBulkRun').length === 5) controller.abort(new Error('stopped by the test'));
    };
    const windows = () => ops('VeriteBulkRun').map((r) => /updated_at:>='([^']+)' AND updated_at:<='([^']+)'/.exec(r.variables.query as string)!.slice(1).join('..'));

    const first = await run({ shopify: { startDate: '2026-08-01' }, signal: controller.signal });

    expect(first.status).toBe('interrupted');
    expect(windows()).toEqual([
      '2026-08-01T00:00:00Z..2026-08-30T23:59:59Z', // 30 days, 30 orders: failed
      '2026-08-01T00:00:00Z..2026-08-15T23:59:59Z', // 15 days, 15 orders: failed
      '2026-08-01T00:00:00Z..2026-08-08T11:59:59Z', // 7.5 days, 8 orders: landed
      '2026-08-08T12:00:00Z..2026-08-23T11:59:59Z', // back to 15 days, 15 orders: failed
      '2026-08-08T12:00:00Z..2026-08-15T23:59:59Z', // 7.5 days: interrupted as it was asked for
    ]);
    expect(fake.bulkOperations.get('gid://shopify/BulkOperation/1')!.outcome).toBe('FAILED');
    // The window landed is kept, with its cursor; the failed operation after it is in the state.
    expect((await landedOrders()).map((o) => o.id)).toEqual([1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008]);
    expect(await state()).toEqual({
      updated_at: '2026-08-08T11:59:59.000Z',
      bulk_window_hours: 360,
      bulk: { id: 'gid://shopify/BulkOperation/4', from: '2026-08-08T12:00:00Z', to: '2026-08-23T11:59:59Z', landed: 0 },
    });

    fake.onRequest = undefined;
    fake.requests.length = 0;
    const second = await run({ shopify: { startDate: '2026-08-01' } });

    expect(second.status).toBe('succeeded');
    // It polls the failed operation it was left with, then reads on from the cursor (no day twice).
    expect(ops('VeriteBulkStatus')[0]!.variables.id).toBe('gid://shopify/BulkOperation/4');
    expect(windows().slice(0, 2)).toEqual(['2026-08-08T12:00:00Z..2026-08-23T11:59:59Z', '2026-08-08T12:00:00Z..2026-08-15T23:59:59Z']);
    // Every landed window held at most 10 orders, and the windows met end to end up to now.
    const completed = [...fake.bulkOperations.values()].filter((op) => op.outcome === 'COMPLETED' && !op.cancelled && ops('VeriteBulkRun').some((r) => r.variables.query === op.query));
    expect(completed.every((op) => op.roots <= 10)).toBe(true);
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
    // Every order once: 8 by the first run, the 103 others by the second, none written twice.
    const orders = await landedOrders();
    expect(orders.map((o) => o.id)).toEqual(Array.from({ length: 111 }, (_, i) => 1001 + i));
    expect([first.streams[0]!.written, second.streams[0]!.written, second.streams[0]!.unchanged]).toEqual([8, 103, 0]);
    const byRun = await wh.pool.query(`select _run_id, count(*)::int as n from raw.shopify__orders group by _run_id`);
    expect(Object.fromEntries(byRun.rows.map((r) => [r._run_id, r.n]))).toEqual({ [first.runId]: 8, [second.runId]: 103 });
  });
});

describe('shopify versions, tokens and customers', () => {
  it('refuses a sunset API version before any request, naming it', async () => {
    const result = await run({ shopify: { apiVersion: '2025-07' } });
    expect(result.status).toBe('failed');
    expect(errorMessage(result.streams[0]!.error)).toMatch(/\[shopify\.orders\] API version 2025-07 is past its support window .* such as 2026-10/);
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses an answer Shopify served with another version than the pinned one', async () => {
    fake.orders.push(fakeOrder(1, at(10)));
    fake.versions.oldest = '2026-04';
    const result = await run({ shopify: { apiVersion: '2026-01' } });
    expect(result.status).toBe('failed');
    expect(errorMessage(result.streams[0]!.error)).toMatch(/API version 2026-01 is no longer supported: Shopify answered with version 2026-04/);
    expect(await landedOrders()).toHaveLength(0);
  });

  it('names the version and the shop when no Admin API answers, and the variable when the token is refused', async () => {
    fake.versions.newest = '2026-07';
    const missing = await run();
    expect(errorMessage(missing.streams[0]!.error)).toMatch(/\[shopify\.orders, GraphQL orders page, HTTP 404\] no Admin API answers at .*\/admin\/api\/2026-10\/graphql\.json: check sources\.shopify\.shop \(or apiBaseUrl\) and apiVersion 2026-10/);

    fake.versions.newest = '2026-10';
    process.env[TOKEN_ENV] = 'shpat_wrong';
    const refused = await run();
    const message = errorMessage(refused.streams[0]!.error);
    expect(message).toMatch(/HTTP 401\] Shopify refused the access token in VERITE_TEST_SHOPIFY_TOKEN/);
    expect(message).not.toContain('shpat_wrong');
  });

  it('refuses a client secret where the access token goes, and an access token where the client secret goes, before any request', async () => {
    process.env[TOKEN_ENV] = 'shpss_' + '0123456789abcdef0123456789abcdef';
    const secretAsToken = await run();
    expect(secretAsToken.status).toBe('failed');
    expect(errorMessage(secretAsToken.streams[0]!.error)).toMatch(
      /^\[shopify\.orders\] VERITE_TEST_SHOPIFY_TOKEN holds an app's client secret \(shpss_…\), not an access token: name its variable in clientSecretEnv and the app's client ID in clientIdEnv/,
    );
    process.env.VERITE_TEST_SHOPIFY_ID = 'client-id-1';
    process.env.VERITE_TEST_SHOPIFY_SECRET = 'shpat_' + '0123456789abcdef0123456789abcdef';
    const tokenAsSecret = await run({ shopify: { clientIdEnv: 'VERITE_TEST_SHOPIFY_ID', clientSecretEnv: 'VERITE_TEST_SHOPIFY_SECRET' } });
    expect(errorMessage(tokenAsSecret.streams[0]!.error)).toMatch(/VERITE_TEST_SHOPIFY_SECRET holds an Admin API access token, not a client secret: put it in the variable accessTokenEnv names/);
    expect(fake.requests).toHaveLength(0);
  });

  it('exchanges client credentials for a token and lands customers', async () => {
    process.env.VERITE_TEST_SHOPIFY_ID = 'client-id-1';
    process.env.VERITE_TEST_SHOPIFY_SECRET = 'client-secret-1';
    fake.clientCredentials = { id: 'client-id-1', secret: 'client-secret-1' };
    fake.customers.push(fakeCustomer(1, at(6), at(18)), fakeCustomer(2, at(7)));
    delete process.env[TOKEN_ENV];

    const result = await run({ stream: 'customers', shopify: { clientIdEnv: 'VERITE_TEST_SHOPIFY_ID', clientSecretEnv: 'VERITE_TEST_SHOPIFY_SECRET' } });

    expect(result.status).toBe('succeeded');
    expect(fake.requests.map((r) => r.operation)).toEqual(['token', 'VeriteCustomers']);
    expect(fake.requests[1]!.token).toBe(fake.token);
    const rows = await wh.pool.query(`select _record from raw.shopify__customers order by _key`);
    expect(rows.rows.map((r) => r._record)).toEqual([
      expect.objectContaining({ id: 501, email: 'buyer1@example.com', first_name: 'First1', state: 'enabled', orders_count: 1, total_spent: '10.0', tags: 'vip', updated_at: at(18) }),
      expect.objectContaining({ id: 502, email: 'buyer2@example.com', orders_count: 2, total_spent: '20.0' }),
    ]);
    expect(await state('customers')).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });
});
