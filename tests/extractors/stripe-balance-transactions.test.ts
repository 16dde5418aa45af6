import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { resolveSources, runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { balanceTransactionShape, listShape } from './support/stripe-shapes.ts';
import { startFakeStripe, stripeBalanceTransaction, type FakeStripe, type StripeItem } from './support/stripe-server.ts';

/**
 * `stripe.balance_transactions` (issue 13) against the Stripe stand-in: listed by creation time
 * in 30-day windows of 100-object pages, throttled and failing answers retried, a pending
 * transaction restated once available (the lookback), a read stopped part way gone on with.
 */
const SECRET = 'sk_test_balance0123456789abcd';
const HOUR = 3600;
const DAY = 86_400;
const D30 = 30 * DAY;
const at = (iso: string) => Date.parse(iso) / 1000;
const txnId = (i: number) => `txn_${String(i).padStart(4, '0')}`;

const START = at('2024-04-01T00:00:00Z');
const T0 = at('2024-06-01T00:00:00Z');
/** Transaction i is created at APR20 + 4i hours (i = 0…249: up to 2024-05-31T12:00Z). */
const APR20 = at('2024-04-20T00:00:00Z');

/**
 * Every tenth a refund of 5.00 (no fee), every fiftieth (49, 99, …) a payout of 200.00 to the
 * bank, the others card charges of 10.00 + i cents with Stripe's fee of 2.9 % + 30 cents.
 */
function txn(i: number, fields: Record<string, unknown> = {}): StripeItem {
  const created = APR20 + i * 4 * HOUR;
  if (i % 10 === 0) return stripeBalanceTransaction({ id: txnId(i), created, amount: -500, currency: 'eur', type: 'refund', source: `re_${i}`, ...fields });
  if (i % 50 === 49) return stripeBalanceTransaction({ id: txnId(i), created, amount: -20_000, currency: 'eur', type: 'payout', source: `po_${i}`, ...fields });
  const amount = 1000 + i;
  return stripeBalanceTransaction({ id: txnId(i), created, amount, fee: Math.round(amount * 0.029) + 30, currency: 'eur', type: 'charge', source: `ch_${i}`, ...fields });
}

let wh: Warehouse;
let server: FakeStripe;
let restoreSleep: (() => void) | undefined;
const delays: number[] = [];

beforeAll(async () => {
  wh = await createTestDatabase('stripe_balance');
  server = await startFakeStripe(SECRET);
  process.env.STRIPE_SECRET_KEY = SECRET;
});
afterAll(async () => {
  await server?.close();
  await wh?.close();
});
beforeEach(async () => {
  server.balanceTransactions.length = 0;
  for (let i = 0; i < 250; i++) server.balanceTransactions.push(txn(i));
  server.clock = T0;
  server.requests.length = 0;
  server.heal();
  delays.length = 0;
  restoreSleep = setSleep(async (ms) => {
    delays.push(ms);
  });
  await wh.pool.query('truncate raw.stripe__balance_transactions, ops.stream_state, ops.quarantine, ops.runs cascade');
});
afterEach(() => restoreSleep?.());

const run = (now: number, options: { extra?: Record<string, unknown>; window?: { from: string; to: string } } = {}) => {
  const config = configSchema.parse({
    sources: { stripe: { startDate: '2024-04-01', host: server.host, port: server.port, protocol: 'http', maxRequestsPerSecond: 1000, ...options.extra } },
    retries: { streamAttempts: 1, backoffSeconds: 0 },
  });
  const sources = resolveSources(config, ['stripe']).map((s) => ({ ...s, source: { ...s.source, streams: s.source.streams.filter((st) => st.name === 'balance_transactions') } }));
  return runPipeline({ warehouse: wh, config, log: logger(), sources, steps: [], now: new Date(now * 1000), window: options.window });
};

const queries = () => server.requests.filter((r) => r.path === '/v1/balance_transactions').map((r) => r.query);
const created = (gte: number, lte: number, startingAfter?: string) => ({
  'created[gte]': String(gte),
  'created[lte]': String(lte),
  limit: '100',
  ...(startingAfter ? { starting_after: startingAfter } : {}),
});
const count = async () => Number((await wh.pool.query('select count(*) as n from raw.stripe__balance_transactions')).rows[0].n);
const record = async (key: string) => (await wh.pool.query('select _record from raw.stripe__balance_transactions where _key = $1', [key])).rows[0]?._record;
const state = async () => (await wh.pool.query(`select state from ops.stream_state where source = 'stripe' and stream = 'balance_transactions'`)).rows[0]?.state;

describe('stripe.balance_transactions', () => {
  it('the stand-in answers balance transactions in the shape Stripe publishes', async () => {
    const res = await fetch(`http://${server.host}:${server.port}/v1/balance_transactions?limit=3`, { headers: { authorization: `Bearer ${SECRET}` } });
    const body = await res.json();
    const result = (listShape(balanceTransactionShape) as z.ZodType).safeParse(body);
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });

  it('lists 30-day windows page by page and lands every transaction untouched, fee_details included', async () => {
    const result = await run(T0);
    expect(result.status, result.error).toBe('succeeded');
    // April: transactions 0–65; May 1–30: 66–245 (a page of 100, 245 down to 146, then 145–66); May 31 to now: 246–249.
    expect(queries()).toEqual([
      created(START, START + D30 - 1),
      created(START + D30, START + 2 * D30 - 1),
      created(START + D30, START + 2 * D30 - 1, 'txn_0146'),
      created(START + 2 * D30, T0),
    ]);
    expect(result.streams.map((s) => [s.stream, s.pages, s.written, s.quarantined])).toEqual([['balance_transactions', 4, 250, 0]]);
    expect(await count()).toBe(250);
    // Charge 1: 10.01 EUR, fee round(1001 × 0.029) + 30 = 29 + 30 = 59 cents, net 942.
    const one = await record('txn_0001');
    expect(one).toEqual(txn(1));
    expect(one).toMatchObject({ amount: 1001, fee: 59, net: 942, fee_details: [{ amount: 59, currency: 'eur', type: 'stripe_fee' }] });
    expect(await state()).toEqual({ created_through: T0 });
  });

  it('waits at least Retry-After after a 429, retries a 500, and lands everything', async () => {
    server.script(
      { path: '/v1/balance_transactions', status: 429, headers: { 'retry-after': '9' }, body: { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } } },
      { path: '/v1/balance_transactions', status: 500 },
    );
    const result = await run(T0);
    expect(result.status, result.error).toBe('succeeded');
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(9000);
    expect(queries().filter((q) => q['created[gte]'] === String(START))).toHaveLength(3);
    expect(await count()).toBe(250);
  });

  it('lands a pending transaction again once it is available: the next run lists the lookback days again', async () => {
    server.balanceTransactions[245] = txn(245, { status: 'pending' });
    expect((await run(T0)).status).toBe('succeeded');
    expect(await record('txn_0245')).toMatchObject({ status: 'pending' });
    server.balanceTransactions[245] = txn(245, { status: 'available' });
    server.balanceTransactions.push(txn(250));
    server.requests.length = 0;
    const result = await run(T0 + DAY);
    expect(result.status, result.error).toBe('succeeded');
    // From the cursor less 7 days: 2024-05-25T00:00:01Z, after transaction 210 (May 25 00:00).
    const from = T0 + 1 - 7 * DAY;
    expect(from).toBe(at('2024-05-25T00:00:01Z'));
    expect(queries()).toEqual([created(from, T0 + DAY)]);
    // 211–250 listed: 245 restated and 250 new are written, the 38 others unchanged.
    expect(result.streams.map((s) => [s.stream, s.pages, s.written, s.unchanged])).toEqual([['balance_transactions', 1, 2, 38]]);
    expect(await record('txn_0245')).toMatchObject({ status: 'available' });
    expect(await count()).toBe(251);
    expect(await state()).toEqual({ created_through: T0 + DAY });
  });

  it('after a run stopped part way through a window, goes on after the last id landed, landing nothing twice', async () => {
    // The third list call (May's second page) and every one after it fail.
    server.goDownAfter('/v1/balance_transactions', 2);
    const failed = await run(T0, { extra: { maxAttempts: 2 } });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/balance_transactions/);
    expect(await count()).toBe(166);
    expect(await state()).toEqual({ created_through: START + D30 - 1, resume: { gte: START + D30, lte: START + 2 * D30 - 1, starting_after: 'txn_0146' } });
    server.heal();
    server.requests.length = 0;
    const resumed = await run(T0);
    expect(resumed.status, resumed.error).toBe('succeeded');
    expect(queries()).toEqual([created(START + D30, START + 2 * D30 - 1, 'txn_0146'), created(START + 2 * D30, T0)]);
    // 145–66 and 246–249: 84 written, none landed again.
    expect(resumed.streams.map((s) => [s.written, s.unchanged])).toEqual([[84, 0]]);
    expect(await count()).toBe(250);
    expect(await state()).toEqual({ created_through: T0 });
  });

  it('a backfill lists its dates (a day of any time zone) and leaves the cursor alone', async () => {
    await run(T0);
    server.requests.length = 0;
    const result = await run(T0 + DAY, { window: { from: '2024-05-10', to: '2024-05-10' } });
    expect(result.status, result.error).toBe('succeeded');
    expect(queries()).toEqual([created(at('2024-05-09T10:00:00Z'), at('2024-05-11T13:59:59Z'))]);
    // Transactions 117 (May 9 12:00) to 129 (May 11 12:00), landed already.
    expect(result.streams.map((s) => [s.pages, s.written, s.unchanged])).toEqual([[1, 0, 13]]);
    expect(await state()).toEqual({ created_through: T0 });
  });

  it('stops on a stored cursor it does not understand instead of starting over', async () => {
    await wh.pool.query(`insert into ops.stream_state (source, stream, state, updated_at) values ('stripe', 'balance_transactions', '{"through": "2024-05-01"}', now())`);
    const result = await run(T0);
    expect(result.status).toBe('failed');
    expect(result.error).toContain('the stored cursor is not one this version understands');
    expect(queries()).toEqual([]);
  });
});
