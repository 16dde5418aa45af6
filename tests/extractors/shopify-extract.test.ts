import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, shopifyConfig } from '../../config/schema.ts';
import { shopifySource } from '../../extractors/shopify/index.ts';
import type { DateWindow } from '../../extractors/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/index.ts';
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
    stream: options.stream ?? 'orders',
    sources: [{ source: shopifySource, config: shopifyConfig.parse(config.sources.shopify) }],
  });
}

async function landedOrders(): Promise<Record<string, any>[]> {
  const res = await wh.pool.query(`select _record from raw.shopify__orders order by _key::bigint`);
  return res.rows.map((r) => r._record);
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
    const result = await run({ shopify: { startDate: '2026-08-01' } });

    expect(result.status).toBe('succeeded');
    // 111 days from startDate is over the 30-day threshold: one bulk operation.
    const started = ops('VeriteBulkRun');
    expect(started).toHaveLength(1);
    expect(started[0]!.variables.query).toContain(`orders(query: "updated_at:>='2026-08-01T00:00:00Z' AND updated_at:<='2026-11-20T12:00:00Z'", sortKey: UPDATED_AT)`);
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

  it('goes on waiting for the same operation after a poll time-out, instead of starting another', async () => {
    fake.orders.push(fakeOrder(1, at(2, 10, 8)), fakeOrder(2, at(19)));
    fake.bulkPolls = 6;
    const first = await run({ shopify: { startDate: '2026-08-01', bulkTimeoutMinutes: 0.25 } });

    expect(first.status).toBe('failed');
    expect(errorMessage(first.streams[0]!.error)).toMatch(
      /\[shopify\.orders, GraphQL bulk operation status\] bulk operation gid:\/\/shopify\/BulkOperation\/1 is still RUNNING after 0\.3 minute\(s\) \(bulkTimeoutMinutes\)/,
    );
    // 15 s: pauses of 2, 4, 8, then the last second.
    expect(waits).toEqual([2000, 4000, 8000, 1000]);
    expect(await state()).toEqual({
      updated_at: null,
      bulk: { id: 'gid://shopify/BulkOperation/1', from: '2026-08-01T00:00:00Z', to: '2026-11-20T12:00:00Z', done: 0 },
    });
    expect(await landedOrders()).toHaveLength(0);

    const second = await run({ now: '2026-11-20T13:00:00Z', shopify: { startDate: '2026-08-01' } });

    expect(second.status).toBe('succeeded');
    expect(ops('VeriteBulkRun')).toHaveLength(1);
    expect(new Set(ops('VeriteBulkStatus').map((r) => r.variables.id))).toEqual(new Set(['gid://shopify/BulkOperation/1']));
    expect(await landedOrders()).toHaveLength(2);
    // The cursor is the end of the operation's own range, not the second run's clock.
    expect(await state()).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });

  it('resumes a read that failed part way through landing an export, without landing anything twice', async () => {
    // 300 orders: the export is read from its end, 250 a page; order 1 (in the second page) has a refund.
    for (let n = 1; n <= 300; n++) fake.orders.push(fakeOrder(n, new Date(Date.parse('2026-08-02T00:00:00Z') + n * 3_600_000).toISOString(), undefined, { refund: n === 1 ? '1.00' : undefined }));
    fake.goDownAfter('VeriteRefundTransactions', 0);

    const first = await run({ shopify: { startDate: '2026-08-01', maxAttempts: 2 } });

    expect(first.status).toBe('failed');
    expect(errorMessage(first.streams[0]!.error)).toMatch(/\[shopify\.orders, GraphQL refund transactions, HTTP 500\] gave up after 2 attempts/);
    expect(await landedOrders()).toHaveLength(250);
    expect(await state()).toMatchObject({ updated_at: null, bulk: { id: 'gid://shopify/BulkOperation/1', done: 250 } });
    const firstRun = first.runId;

    fake.heal();
    const second = await run({ shopify: { startDate: '2026-08-01' } });

    expect(second.status).toBe('succeeded');
    expect(ops('VeriteBulkRun')).toHaveLength(1);
    expect(ops('download')).toHaveLength(2);
    // Only the 50 orders not landed before were landed; none of the 250 was read again.
    expect(second.streams[0]).toMatchObject({ written: 50, unchanged: 0 });
    const rows = await wh.pool.query(`select _run_id, count(*)::int as n from raw.shopify__orders group by _run_id order by n desc`);
    expect(rows.rows).toEqual([{ _run_id: firstRun, n: 250 }, { _run_id: second.runId, n: 50 }]);
    const one = (await landedOrders()).find((o) => o.id === 1001)!;
    expect(one.refunds[0].transactions[0]).toMatchObject({ amount: '1.00', kind: 'refund' });
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

  it('starts a failed operation again on the next run and says how the failed one ended', async () => {
    fake.orders.push(fakeOrder(1, at(2, 10, 8)));
    fake.bulkOutcome = 'FAILED';
    const first = await run({ shopify: { startDate: '2026-08-01' } });
    expect(first.status).toBe('failed');
    expect(errorMessage(first.streams[0]!.error)).toMatch(/bulk operation gid:\/\/shopify\/BulkOperation\/1 ended FAILED \(INTERNAL_SERVER_ERROR\); the next run starts it again/);

    fake.bulkOutcome = 'COMPLETED';
    const second = await run({ shopify: { startDate: '2026-08-01' } });
    expect(second.status).toBe('succeeded');
    expect(ops('VeriteBulkRun')).toHaveLength(2);
    expect(await landedOrders()).toHaveLength(1);
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
