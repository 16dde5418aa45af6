import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { stripeLimiter } from '../../extractors/stripe/stripe-api.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger, type Logger } from '../../lib/logger.ts';
import { resolveSources, runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeStripe, stripeCharge, stripeRefund, type FakeStripe, type StripeItem } from './support/stripe-server.ts';

const SECRET = 'sk_test_local0123456789abcdef';
const HOUR = 3600;
const DAY = 86_400;
const D30 = 30 * DAY;
const at = (iso: string) => Date.parse(iso) / 1000;
const id = (prefix: string, i: number) => `${prefix}_${String(i).padStart(4, '0')}`;

/** startDate of the config, and the clock of the first run. */
const START = at('2024-04-01T00:00:00Z');
const T0 = at('2024-06-01T00:00:00Z');
/** Charge i is created at APR20 + 4i hours (i = 0…249: up to 2024-05-31T12:00Z). */
const APR20 = at('2024-04-20T00:00:00Z');
const chargeCreated = (i: number) => APR20 + i * 4 * HOUR;
/** Every tenth charge is half refunded a day after it was made. */
const refundCreated = (i: number) => chargeCreated(i) + DAY;

const CHARGE_TYPES = 'charge.succeeded,charge.failed,charge.pending,charge.captured,charge.expired,charge.refunded,charge.updated';
const REFUND_TYPES = 'refund.created,refund.updated,refund.failed,charge.refund.updated,charge.refunded';

function charge(i: number): StripeItem {
  return stripeCharge({
    id: id('ch', i),
    amount: 1000 + i,
    amount_captured: 1000 + i,
    amount_refunded: i % 10 === 0 ? 500 : 0,
    refunded: false,
    currency: 'eur',
    created: chargeCreated(i),
    status: 'succeeded',
    customer: `cus_${i % 7}`,
    payment_intent: id('pi', i),
    metadata: { order_id: String(5000 + i) },
    outcome: { type: 'authorized', network_status: 'approved_by_network' },
    failure_code: null,
  });
}

function refund(i: number): StripeItem {
  return stripeRefund({ id: id('re', i), amount: 500, charge: id('ch', i), currency: 'eur', created: refundCreated(i), status: 'succeeded', reason: 'requested_by_customer' });
}

/** 250 charges, 25 refunds, and their events in the order they happened; Stripe's clock at T0. */
function seed(server: FakeStripe): void {
  server.charges.length = 0;
  server.refunds.length = 0;
  server.events.length = 0;
  const happenings: { time: number; type: string; object: StripeItem }[] = [];
  for (let i = 0; i < 250; i++) {
    const c = charge(i);
    server.charges.push(c);
    happenings.push({ time: c.created, type: 'charge.succeeded', object: c });
    if (i % 10 === 0) {
      const r = refund(i);
      server.refunds.push(r);
      happenings.push({ time: r.created, type: 'refund.created', object: r }, { time: r.created, type: 'charge.refunded', object: c });
    }
  }
  for (const h of happenings.sort((a, b) => a.time - b.time)) {
    server.clock = h.time;
    server.emit(h.type, h.object);
  }
  server.clock = T0;
}

let wh: Warehouse;
let server: FakeStripe;
/** The stand-in's default account API version (the pinned one), put back before each test. */
let ACCOUNT_API_VERSION: string;
let restoreSleep: (() => void) | undefined;
const delays: number[] = [];

beforeAll(async () => {
  wh = await createTestDatabase('stripe');
  server = await startFakeStripe(SECRET);
  ACCOUNT_API_VERSION = server.accountApiVersion;
  process.env.STRIPE_SECRET_KEY = SECRET;
});
afterAll(async () => {
  await server?.close();
  await wh?.close();
});
beforeEach(async () => {
  server.accountApiVersion = ACCOUNT_API_VERSION;
  seed(server);
  server.requests.length = 0;
  server.heal();
  delays.length = 0;
  restoreSleep = setSleep(async (ms) => {
    delays.push(ms);
  });
  await wh.pool.query('truncate raw.stripe__charges, raw.stripe__refunds, ops.stream_state, ops.quarantine, ops.runs cascade');
});
afterEach(() => restoreSleep?.());

const config = (extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    sources: { stripe: { startDate: '2024-04-01', host: server.host, port: server.port, protocol: 'http', maxRequestsPerSecond: 1000, ...extra } },
    retries: { streamAttempts: 1, backoffSeconds: 0 },
  });

/**
 * A run of the charges and refunds streams: balance transactions, listed by creation time
 * without events, have their tests in stripe-balance-transactions.test.ts.
 */
const run = (now: number, options: { extra?: Record<string, unknown>; window?: { from: string; to: string }; log?: Logger } = {}) => {
  const cfg = config(options.extra);
  const sources = resolveSources(cfg, ['stripe']).map((s) => ({ ...s, source: { ...s.source, streams: s.source.streams.filter((st) => st.name !== 'balance_transactions') } }));
  return runPipeline({ warehouse: wh, config: cfg, log: options.log ?? logger(), sources, steps: [], now: new Date(now * 1000), window: options.window });
};

async function record(table: 'charges' | 'refunds', key: string): Promise<Record<string, unknown> | undefined> {
  return (await wh.pool.query(`select _record from raw.stripe__${table} where _key = $1`, [key])).rows[0]?._record;
}
const count = async (table: 'charges' | 'refunds') => Number((await wh.pool.query(`select count(*) as n from raw.stripe__${table}`)).rows[0].n);
const state = async (stream: string) => (await wh.pool.query(`select state from ops.stream_state where source = 'stripe' and stream = $1`, [stream])).rows[0]?.state;
const queries = (path: string) => server.requests.filter((r) => r.path === path).map((r) => r.query);
const paths = (prefix: string) => server.requests.filter((r) => r.path.startsWith(prefix)).map((r) => r.path);
const eventOf = (type: string, objectId: string) => server.events.find((e) => e.type === type && e.data.object.id === objectId)!;
/** The query of a list by creation time. */
const created = (gte: number, lte: number, startingAfter?: string) => ({
  'created[gte]': String(gte),
  'created[lte]': String(lte),
  limit: '100',
  ...(startingAfter ? { starting_after: startingAfter } : {}),
});

/** A logger whose lines the test reads. */
function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

describe('first run: listing by creation time', () => {
  it('lists 30-day windows page by page, lands every charge and refund untouched, and stores the events position', async () => {
    const result = await run(T0);
    expect(result.status, result.error).toBe('succeeded');

    // Windows from startDate: April (charges 0–65), May 1–30 (66–245: a page of 100 newest
    // first, 245 down to 146, then 145–66), May 31 to now (246–249).
    expect(queries('/v1/charges')).toEqual([
      created(START, START + D30 - 1),
      created(START + D30, START + 2 * D30 - 1),
      created(START + D30, START + 2 * D30 - 1, 'ch_0146'),
      created(START + 2 * D30, T0),
    ]);
    // Refunds (a day after charges 0, 10, …, 240): 6 in April, 18 in May 1–30, 1 on May 31.
    expect(queries('/v1/refunds')).toEqual([created(START, START + D30 - 1), created(START + D30, START + 2 * D30 - 1), created(START + 2 * D30, T0)]);
    // Before listing, each stream asks for its newest event.
    expect(queries('/v1/events')).toEqual([
      { types: CHARGE_TYPES, limit: '1' },
      { types: REFUND_TYPES, limit: '1' },
    ]);
    expect(server.requests.every((r) => r.authorization === `Bearer ${SECRET}` && r.method === 'GET')).toBe(true);
    // The client pins the API version, so records keep one shape whatever the account's default.
    expect(server.requests.every((r) => /^\d{4}-\d{2}-\d{2}/.test(r.stripeVersion ?? ''))).toBe(true);

    // Four list pages and the page that stores the position.
    expect(result.streams.map((s) => [s.stream, s.pages, s.written, s.quarantined])).toEqual([
      ['charges', 5, 250, 0],
      ['refunds', 4, 25, 0],
    ]);
    expect(await count('charges')).toBe(250);
    expect(await count('refunds')).toBe(25);
    // Charge 66, created exactly at the edge of two windows, is listed by the second only; the
    // record is the API's object, amounts in minor units.
    expect(await record('charges', 'ch_0066')).toEqual(charge(66));
    expect(await record('refunds', 're_0240')).toEqual(refund(240));

    // The newest charge event is charge 249's (May 31 12:00); the newest event of the refunds'
    // types is the charge.refunded of charge 240, made just after refund 240's refund.created.
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: chargeCreated(249), handled_event_ids: [eventOf('charge.succeeded', 'ch_0249').id] });
    expect(await state('refunds')).toEqual({ mode: 'events', last_event_created: refundCreated(240), handled_event_ids: [eventOf('charge.refunded', 'ch_0240').id] });
  });

  it('waits at least Retry-After after a 429, retries a 500 and a proxy error page, and lands everything', async () => {
    server.script(
      { path: '/v1/charges', status: 429, headers: { 'retry-after': '7' }, body: { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests' } } },
      { path: '/v1/charges', status: 500 },
      { path: '/v1/charges', status: 502, body: '<html><body>502 Bad Gateway</body></html>' },
    );
    const result = await run(T0);
    expect(result.status, result.error).toBe('succeeded');
    expect(delays).toHaveLength(3);
    expect(delays[0]).toBeGreaterThanOrEqual(7000);
    // The first window was asked four times: 429, 500, 502, then its answer.
    expect(queries('/v1/charges').filter((q) => q['created[gte]'] === String(START))).toHaveLength(4);
    expect(await count('charges')).toBe(250);
  });

  it('re-lists the dates of a backfill (a day of any time zone) and leaves the cursor alone', async () => {
    await run(T0);
    const before = await state('charges');
    server.requests.length = 0;
    const result = await run(T0 + DAY, { window: { from: '2024-05-10', to: '2024-05-10' } });
    expect(result.status, result.error).toBe('succeeded');
    // 2024-05-10 from UTC+14 to UTC-14: 2024-05-09T10:00Z to 2024-05-11T13:59:59Z.
    expect(queries('/v1/charges')).toEqual([created(at('2024-05-09T10:00:00Z'), at('2024-05-11T13:59:59Z'))]);
    expect(queries('/v1/events')).toEqual([]);
    // Charges 117 (May 9 12:00) to 129 (May 11 12:00), refund 120 (May 10 08:00): landed already.
    expect(result.streams.map((s) => [s.stream, s.pages, s.written, s.unchanged])).toEqual([
      ['charges', 1, 0, 13],
      ['refunds', 1, 0, 1],
    ]);
    expect(await state('charges')).toEqual(before);
  });
});

describe('later runs: events since the position', () => {
  it('re-fetches the charges and refunds changed since the first run, and skips an object that is gone', async () => {
    await run(T0);
    const c5 = server.charges.find((c) => c.id === 'ch_0005')!;
    const r10 = server.refunds.find((r) => r.id === 're_0010')!;
    // A new charge an hour later; charge 5 fully refunded the next day; refund 10 failing a
    // minute after that; and an event about a charge Stripe no longer has.
    server.clock = T0 + HOUR;
    const fresh: StripeItem = { ...charge(300), id: 'ch_new', created: T0 + HOUR };
    server.charges.push(fresh);
    server.emit('charge.succeeded', fresh);
    server.clock = T0 + DAY;
    const newRefund = stripeRefund({ id: 're_new', amount: 1005, charge: 'ch_0005', currency: 'eur', created: T0 + DAY });
    server.refunds.push(newRefund);
    Object.assign(c5, { amount_refunded: 1005, refunded: true });
    server.emit('refund.created', newRefund);
    server.emit('charge.refunded', c5);
    server.clock = T0 + DAY + 60;
    Object.assign(r10, { status: 'failed', failure_reason: 'expired_or_canceled_card' });
    server.emit('charge.refund.updated', r10);
    server.clock = T0 + DAY + 120;
    server.emit('charge.updated', { ...charge(301), id: 'ch_gone' });
    server.requests.length = 0;

    const now = T0 + 2 * DAY;
    server.clock = now;
    const result = await run(now);
    expect(result.status, result.error).toBe('succeeded');

    // Events since the position's second (charge 249's, May 31 12:00), then each changed object, oldest change first.
    expect(queries('/v1/events')).toEqual([
      { types: CHARGE_TYPES, 'created[gte]': String(chargeCreated(249)), limit: '100' },
      { types: REFUND_TYPES, 'created[gte]': String(refundCreated(240)), limit: '100' },
    ]);
    expect(paths('/v1/charges')).toEqual(['/v1/charges/ch_new', '/v1/charges/ch_0005', '/v1/charges/ch_gone']);
    // Refund 240's refund.created shares its second with the position's event (charge 240's
    // charge.refunded), so it is replayed once more; re_new's charge.refunded needs no fetch on
    // an account of this API version: its refund.created announced re_new.
    expect(paths('/v1/refunds')).toEqual(['/v1/refunds/re_0240', '/v1/refunds/re_new', '/v1/refunds/re_0010']);

    expect(await record('charges', 'ch_0005')).toMatchObject({ amount: 1005, amount_refunded: 1005, refunded: true });
    expect(await record('charges', 'ch_new')).toEqual(fresh);
    expect(await record('charges', 'ch_gone')).toBeUndefined();
    expect(await record('refunds', 're_0010')).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    expect(await record('refunds', 're_new')).toEqual(newRefund);
    expect(await count('charges')).toBe(251);
    expect(await count('refunds')).toBe(26);
    // A page of events, then the position moves up to five minutes before now (no event since).
    expect(result.streams.map((s) => [s.stream, s.pages, s.written])).toEqual([
      ['charges', 2, 2],
      ['refunds', 2, 2],
    ]);
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: now - 300, handled_event_ids: [] });
    expect(await state('refunds')).toEqual({ mode: 'events', last_event_created: now - 300, handled_event_ids: [] });
  });

  it('pages through many events and commits the position after each page of them', async () => {
    await run(T0);
    // 150 charges updated one second apart: two pages of events.
    for (let i = 0; i < 150; i++) {
      server.clock = T0 + 600 + i;
      const c = server.charges[i]!;
      c.metadata = { order_id: String(5000 + i), note: 'reviewed' };
      server.emit('charge.updated', c);
    }
    server.requests.length = 0;
    // Stripe fails for good after the events are listed and the first 100 charges fetched.
    server.goDownAfter('/v1/charges/', 100);
    const now = T0 + 1000;
    const failed = await run(now, { extra: { maxAttempts: 2 } });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/stripe\.charges: \[stripe\.charges, GET \/v1\/charges\/ch_0100, HTTP 500\]/);
    expect(queries('/v1/events')[0]).toEqual({ types: CHARGE_TYPES, 'created[gte]': String(chargeCreated(249)), limit: '100' });
    expect(queries('/v1/events')[1]).toMatchObject({ starting_after: eventOf('charge.updated', 'ch_0050').id });
    // The first hundred changes are landed, the position is the hundredth event.
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: T0 + 600 + 99, handled_event_ids: [eventOf('charge.updated', 'ch_0099').id] });
    expect((await record('charges', 'ch_0099'))?.metadata).toEqual({ order_id: '5099', note: 'reviewed' });
    expect((await record('charges', 'ch_0100'))?.metadata).toEqual({ order_id: '5100' });

    server.heal();
    server.requests.length = 0;
    const resumed = await run(now + 60);
    expect(resumed.status, resumed.error).toBe('succeeded');
    // The next run starts at the hundredth event and fetches only the last 50 charges.
    expect(queries('/v1/events')[0]).toEqual({ types: CHARGE_TYPES, 'created[gte]': String(T0 + 699), limit: '100' });
    expect(paths('/v1/charges')).toEqual(Array.from({ length: 50 }, (_, k) => `/v1/charges/${id('ch', 100 + k)}`));
    expect((await record('charges', 'ch_0149'))?.metadata).toEqual({ order_id: '5149', note: 'reviewed' });
    expect(await count('charges')).toBe(250);
  });

  it('lists by creation time again when the position is older than the 30 days Stripe keeps events', async () => {
    await run(T0);
    // Charge 240 (created May 30) is fully refunded on June 6: its event is gone by July 11.
    server.clock = T0 + 5 * DAY;
    const c240 = server.charges.find((c) => c.id === 'ch_0240')!;
    Object.assign(c240, { amount_refunded: 1240, refunded: true });
    server.emit('charge.refunded', c240);
    server.clock = T0 + 35 * DAY;
    const late: StripeItem = { ...charge(400), id: 'ch_late', created: T0 + 35 * DAY };
    server.charges.push(late);
    server.emit('charge.succeeded', late);
    const now = T0 + 40 * DAY;
    server.clock = now;
    server.requests.length = 0;

    const { log, lines } = capturingLogger();
    const result = await run(now, { log });
    expect(result.status, result.error).toBe('succeeded');

    // The position (May 31 12:00) is 40 days old: charges are listed from two days before it.
    const from = at('2024-05-29T12:00:00Z');
    expect(queries('/v1/charges')).toEqual([created(from, from + D30 - 1), created(from + D30, now)]);
    // Refunds: position May 31 00:00, listed from May 29 00:00.
    const refundsFrom = at('2024-05-29T00:00:00Z');
    expect(queries('/v1/refunds')).toEqual([created(refundsFrom, refundsFrom + D30 - 1), created(refundsFrom + D30, now)]);
    // No replay of events: only each stream's newest event, for the new position.
    expect(queries('/v1/events')).toEqual([
      { types: CHARGE_TYPES, limit: '1' },
      { types: REFUND_TYPES, limit: '1' },
    ]);
    // Charges 237–249 and the late one are listed: the refund of charge 240 is caught by the lookback.
    expect(result.streams.map((s) => [s.stream, s.written, s.unchanged])).toEqual([
      ['charges', 2, 12],
      ['refunds', 0, 2],
    ]);
    expect(await record('charges', 'ch_0240')).toMatchObject({ amount_refunded: 1240, refunded: true });
    expect(await record('charges', 'ch_late')).toEqual(late);
    expect(lines.filter((l) => l.level === 40 && /older than the 30 days Stripe keeps events/.test(String(l.msg)))).toHaveLength(2);
    // Back to events: the newest charge event kept; no refund event kept, so now less five minutes.
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: T0 + 35 * DAY, handled_event_ids: [eventOf('charge.succeeded', 'ch_late').id] });
    expect(await state('refunds')).toEqual({ mode: 'events', last_event_created: now - 300, handled_event_ids: [] });
  });

  it('honours lookbackDays for that fallback listing', async () => {
    await run(T0);
    const now = T0 + 40 * DAY;
    server.clock = now;
    server.requests.length = 0;
    const result = await run(now, { extra: { lookbackDays: 10 } });
    expect(result.status, result.error).toBe('succeeded');
    // Ten days before May 31 12:00.
    expect(queries('/v1/charges')[0]).toMatchObject({ 'created[gte]': String(at('2024-05-21T12:00:00Z')) });
  });
});

describe('refunds of charges on accounts older than 2024-10-28.acacia (issue 11)', () => {
  /**
   * The refunds fetched by id, less refund 240: its refund.created shares its second with the
   * first run's position (charge 240's charge.refunded), so every later run fetches it once more.
   */
  const refundFetches = () => paths('/v1/refunds/').filter((p) => p !== '/v1/refunds/re_0240');

  /** After a first run: charge 7 refunded a day later with a new refund, announced as an account of `apiVersion` announces it. */
  function refundCharge7(apiVersion: string, carried: 'none' | 'whole' | 'part'): StripeItem {
    server.accountApiVersion = apiVersion;
    server.clock = T0 + DAY;
    const refunded = stripeRefund({ id: 're_late', amount: 1007, charge: 'ch_0007', currency: 'eur', created: T0 + DAY });
    server.refunds.push(refunded);
    const c7 = server.charges.find((c) => c.id === 'ch_0007')!;
    Object.assign(c7, { amount_refunded: 1007, refunded: true });
    // Before 2022-11-15 a charge carried its refunds (a list of at most 10, has_more beyond them).
    const snapshot: StripeItem =
      carried === 'none'
        ? c7
        : { ...c7, refunds: { object: 'list', data: [refunded], has_more: carried === 'part', total_count: carried === 'part' ? 11 : 1, url: '/v1/charges/ch_0007/refunds' } };
    // No refund.created: before acacia, Stripe sends refund.* events only for refunds without a charge.
    server.emit('charge.refunded', snapshot);
    return refunded;
  }

  it('lands a refund announced only by charge.refunded, listing the refunds of the charge', async () => {
    await run(T0);
    const refunded = refundCharge7('2024-06-20', 'none');
    server.requests.length = 0;
    const now = T0 + 2 * DAY;
    server.clock = now;
    const result = await run(now);
    expect(result.status, result.error).toBe('succeeded');

    // The charge in the event does not carry its refunds (they are not included since 2022-11-15): they are listed.
    expect(queries('/v1/refunds')).toEqual([{ charge: 'ch_0007', limit: '100' }]);
    expect(await record('refunds', 're_late')).toEqual(refunded);
    expect(await count('refunds')).toBe(26);
    // The charges stream re-fetches the refunded charge, as before.
    expect(paths('/v1/charges')).toEqual(['/v1/charges/ch_0007']);
  });

  it('takes the refunds a charge carries whole in the event (API versions before 2022-11-15)', async () => {
    await run(T0);
    refundCharge7('2020-08-27', 'whole');
    server.requests.length = 0;
    server.clock = T0 + 2 * DAY;
    await run(T0 + 2 * DAY);
    expect(refundFetches()).toEqual(['/v1/refunds/re_late']);
    expect(queries('/v1/refunds')).toEqual([]);
    expect(await record('refunds', 're_late')).toMatchObject({ charge: 'ch_0007', amount: 1007 });
  });

  it('lists the refunds of the charge when the event carries only some of them', async () => {
    await run(T0);
    refundCharge7('2020-08-27', 'part');
    server.requests.length = 0;
    server.clock = T0 + 2 * DAY;
    await run(T0 + 2 * DAY);
    expect(queries('/v1/refunds')).toEqual([{ charge: 'ch_0007', limit: '100' }]);
    expect(refundFetches()).toEqual([]);
    expect(await record('refunds', 're_late')).toMatchObject({ charge: 'ch_0007', amount: 1007 });
  });

  it('leaves charge.refunded to the refund.created of accounts on 2024-10-28.acacia or later', async () => {
    await run(T0);
    const refunded = refundCharge7('2024-10-28.acacia', 'none');
    server.emit('refund.created', refunded);
    server.requests.length = 0;
    server.clock = T0 + 2 * DAY;
    await run(T0 + 2 * DAY);
    // One fetch of the refund, by id, and no listing of the charge's refunds.
    expect(refundFetches()).toEqual(['/v1/refunds/re_late']);
    expect(queries('/v1/refunds')).toEqual([]);
    expect(await record('refunds', 're_late')).toEqual(refunded);
  });
});

describe('events that become visible late (issue 11)', () => {
  it('keeps the position a margin behind the clock on every run, so an event listed late is still replayed', async () => {
    await run(T0);
    const R = T0 + DAY;
    // Charge 2 is updated at R − 10 s and listed at once; charge 1 was updated earlier, at
    // R − 20 s, but Stripe lists that event only a minute after R.
    const c1 = server.charges.find((c) => c.id === 'ch_0001')!;
    const c2 = server.charges.find((c) => c.id === 'ch_0002')!;
    c1.metadata = { order_id: '5001', note: 'late' };
    c2.metadata = { order_id: '5002', note: 'on time' };
    server.clock = R;
    const late = server.emit('charge.updated', c1, { created: R - 20, visibleAt: R + 60 });
    const onTime = server.emit('charge.updated', c2, { created: R - 10 });
    server.requests.length = 0;

    await run(R);
    expect(paths('/v1/charges')).toEqual(['/v1/charges/ch_0002']);
    // The position stays five minutes behind the run's clock although an event of R − 10 s was
    // handled, and names that event so it is not fetched again.
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: R - 300, handled_event_ids: [onTime.id] });

    server.clock = R + 3600;
    server.requests.length = 0;
    await run(R + 3600);
    // The late event is listed now, at or after the position: charge 1 is fetched; charge 2 is not fetched twice.
    expect(queries('/v1/events')[0]).toEqual({ types: CHARGE_TYPES, 'created[gte]': String(R - 300), limit: '100' });
    expect(paths('/v1/charges')).toEqual(['/v1/charges/ch_0001']);
    expect((await record('charges', 'ch_0001'))?.metadata).toEqual({ order_id: '5001', note: 'late' });
    expect(late.created).toBeLessThan(onTime.created);
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: R + 3600 - 300, handled_event_ids: [] });
  });

  it('reads a position stored before handled_event_ids as its one event handled', async () => {
    await run(T0);
    const newest = eventOf('charge.succeeded', 'ch_0249');
    await wh.pool.query(`update ops.stream_state set state = $1 where source = 'stripe' and stream = 'charges'`, [
      JSON.stringify({ mode: 'events', last_event_id: newest.id, last_event_created: newest.created }),
    ]);
    server.requests.length = 0;
    const result = await run(T0 + HOUR);
    expect(result.status, result.error).toBe('succeeded');
    // Its event is listed again but not fetched again; the new position has the new shape.
    expect(paths('/v1/charges')).toEqual([]);
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: T0 + HOUR - 300, handled_event_ids: [] });
  });
});

describe('errors and limits', () => {
  it('fails at once on a wrong key, naming the stream and status, without printing the key', async () => {
    process.env.STRIPE_WRONG_KEY = 'sk_test_wrong0123456789wxyz';
    const result = await run(T0, { extra: { secretKeyEnv: 'STRIPE_WRONG_KEY' } });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/\[stripe\.charges, GET \/v1\/events\?.*HTTP 401\] Invalid API Key provided/);
    expect(result.error).not.toContain('sk_test_wrong0123456789wxyz');
    // One request per stream: a 401 is not retried.
    expect(server.requests).toHaveLength(2);
    expect(delays).toEqual([]);
  });

  it('issue 17: a connection failure names its root cause and the host, not only "An error occurred with our connection to Stripe"', async () => {
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await run(T0, { extra: { port, maxAttempts: 2 } });
    expect(result.status).toBe('failed');
    expect(result.streams[0]!.error).toBeDefined();
    expect(errorMessage(result.streams[0]!.error)).toMatch(
      new RegExp(
        `^\\[stripe\\.charges, GET /v1/events\\?[^\\]]*\\] gave up after 2 attempts: could not reach 127\\.0\\.0\\.1:${port}: the connection was refused \\(nothing listens there, or a firewall refuses it\\) ` +
          `\\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\) \\(An error occurred with our connection to Stripe\\.\\)`,
      ),
    );
  });

  it('refuses a publishable key or a webhook secret before any request, saying which key to put there', async () => {
    // Built by parts: the repository refuses anything shaped like a live key.
    process.env.STRIPE_PUBLISHABLE = 'pk_' + 'live_51Habcdefghijklmnop';
    const publishable = await run(T0, { extra: { secretKeyEnv: 'STRIPE_PUBLISHABLE' } });
    expect(publishable.status).toBe('failed');
    expect(publishable.error).toMatch(
      /^stripe\.charges: \[stripe\.charges\] the key in STRIPE_PUBLISHABLE is a publishable key, which may read nothing of the account: put the secret key \(sk_live_…\) or a restricted key \(rk_live_…\) there/,
    );
    process.env.STRIPE_WEBHOOK = 'whsec_' + 'abcdefghijklmnop0123';
    const webhook = await run(T0, { extra: { secretKeyEnv: 'STRIPE_WEBHOOK' } });
    expect(webhook.error).toMatch(/STRIPE_WEBHOOK holds a webhook's signing secret, not an API key/);
    expect(server.requests).toEqual([]);
  });

  it('names the environment variable when the key is missing', async () => {
    const result = await run(T0, { extra: { secretKeyEnv: 'NO_SUCH_STRIPE_KEY' } });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('NO_SUCH_STRIPE_KEY is not set');
    expect(server.requests).toEqual([]);
  });

  it('stops on a stored cursor it does not understand instead of starting over', async () => {
    await wh.pool.query(`insert into ops.stream_state (source, stream, state, updated_at) values ('stripe', 'charges', '{"created": "2024-05-01"}', now())`);
    const result = await run(T0);
    expect(result.streams[0]).toMatchObject({ stream: 'charges', status: 'failed' });
    expect(result.error).toContain('stored cursor is not one this version understands');
    expect(queries('/v1/charges')).toEqual([]);
  });

  it('bounds the request rate per secret key, shared by both streams', () => {
    expect(stripeLimiter(SECRET, 20)).toBe(stripeLimiter(SECRET, 20));
    expect(stripeLimiter(SECRET, 20)).not.toBe(stripeLimiter('sk_test_another', 20));
  });
});
