import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { easyPostTracker, startFakeEasyPost, trackingDetail, type FakeEasyPost } from './support/easypost-server.ts';

const API_KEY = 'EZAKlocal0123456789';
const HOUR = 3_600_000;
const BASE = Date.parse('2024-05-01T00:00:00Z');
/** EasyPost writes timestamps without milliseconds. */
const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const id = (prefix: string, i: number) => `${prefix}_${String(i).padStart(4, '0')}`;

/**
 * 230 trackers created an hour apart from 2024-05-01T00:00Z (tracker i at BASE + i h), each
 * first scanned 3 h after its label and last updated 2 days after it. The even ones were bought
 * through EasyPost: their shipment (created 10 min earlier) names order #(5000 + i), $5.00.
 */
function seed(server: FakeEasyPost): void {
  server.trackers.length = 0;
  server.shipments.length = 0;
  for (let i = 0; i < 230; i++) {
    const created = BASE + i * HOUR;
    server.trackers.push(
      easyPostTracker({
        id: id('trk', i),
        tracking_code: `EZ${1000 + i}`,
        carrier: 'USPS',
        status: 'in_transit',
        shipment_id: i % 2 === 0 ? id('shp', i) : null,
        carrier_detail: { object: 'CarrierDetail', service: 'Priority', container_type: null, est_delivery_date_local: null, est_delivery_time_local: null },
        tracking_details: [trackingDetail('pre_transit', at(created)), trackingDetail('in_transit', at(created + 3 * HOUR))],
        created_at: at(created),
        updated_at: at(created + 48 * HOUR),
      }),
    );
    if (i % 2 === 0) {
      server.shipments.push({
        id: id('shp', i),
        object: 'Shipment',
        created_at: at(created - 10 * 60_000),
        reference: `#${5000 + i}`,
        options: {},
        selected_rate: { rate: '5.00', currency: 'USD', carrier: 'USPS', service: 'Priority' },
      });
    }
  }
}

let wh: Warehouse;
let server: FakeEasyPost;
let root: string;
let restoreSleep: (() => void) | undefined;
const delays: number[] = [];

beforeAll(async () => {
  wh = await createTestDatabase('shipments_easypost');
  server = await startFakeEasyPost(API_KEY);
  root = mkdtempSync(join(tmpdir(), 'verite-easypost-'));
  process.env.EASYPOST_API_KEY = API_KEY;
});
afterAll(async () => {
  await server?.close();
  await wh?.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(async () => {
  seed(server);
  server.requests.length = 0;
  server.heal();
  delays.length = 0;
  restoreSleep = setSleep(async (ms) => {
    delays.push(ms);
  });
  await wh.pool.query('truncate raw.shipments__shipments, ops.stream_state, ops.quarantine, ops.landed_files, ops.runs cascade');
});
afterEach(() => restoreSleep?.());

const config = (carrierApi: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  configSchema.parse({
    sources: { shipments: { startDate: '2024-04-01', carrierApi: { baseUrl: server.url, maxRequestsPerSecond: 1000, ...carrierApi }, ...extra } },
    retries: { streamAttempts: 1, backoffSeconds: 0 },
  });

const run = (now: string, options: { carrierApi?: Record<string, unknown>; window?: { from: string; to: string } } = {}) =>
  runPipeline({ warehouse: wh, config: config(options.carrierApi), log: logger(), only: ['shipments'], steps: [], now: new Date(now), window: options.window });

async function record(key: string): Promise<Record<string, unknown> | undefined> {
  return (await wh.pool.query('select _record from raw.shipments__shipments where _key = $1', [key])).rows[0]?._record;
}
const count = async () => Number((await wh.pool.query('select count(*) as n from raw.shipments__shipments')).rows[0].n);
const state = async () => (await wh.pool.query(`select state from ops.stream_state where source = 'shipments'`)).rows[0]?.state;
const trackerRequests = () => server.requests.filter((r) => r.path === '/v2/trackers').map((r) => r.query);

describe('EasyPost trackers, through a local server answering like EasyPost', () => {
  it('lists every created-at window page by page, adds order and cost from the shipments, and commits the cursor at the end', async () => {
    const result = await run('2024-05-20T00:00:00Z');
    expect(result.status, result.error).toBe('succeeded');
    // From startDate to now in windows of 30 days, each a second wider on both sides.
    const windows = [
      { start_datetime: '2024-03-31T23:59:59.000Z', end_datetime: '2024-05-01T00:00:01.000Z' },
      { start_datetime: '2024-04-30T23:59:59.000Z', end_datetime: '2024-05-20T00:00:01.000Z' },
    ];
    // Newest first, 100 a page: trackers 229–130, then 129–30, then 29–0.
    expect(trackerRequests()).toEqual([
      { ...windows[0], page_size: '100' },
      { ...windows[1], page_size: '100' },
      { ...windows[1], page_size: '100', before_id: 'trk_0130' },
      { ...windows[1], page_size: '100', before_id: 'trk_0030' },
    ]);
    expect(server.requests.every((r) => r.authorization === `Basic ${Buffer.from(`${API_KEY}:`).toString('base64')}`)).toBe(true);
    // Tracker 0, created exactly at the windows' shared edge, is listed by both and landed once.
    expect(result.streams[0]).toMatchObject({ pages: 4, written: 230, unchanged: 1 });
    expect(await count()).toBe(230);
    // Tracker 0: label at 00:00, first carrier scan at 03:00, order #5000 at $5.00.
    expect(await record('EZ1000')).toMatchObject({
      order_id: '#5000',
      tracking_number: 'EZ1000',
      carrier: 'USPS',
      service: 'Priority',
      shipped_at: '2024-05-01T03:00:00.000Z',
      delivered_at: null,
      returned_at: null,
      status: 'in_transit',
      shipping_cost: 5,
      currency: 'USD',
      updated_at: '2024-05-03T00:00:00.000Z',
      easypost_tracker: { id: 'trk_0000' },
    });
    // Tracker 1 was created for a label bought elsewhere: no shipment, so no order or cost.
    expect(await record('EZ1001')).toMatchObject({ order_id: null, shipping_cost: null, currency: null, easypost_shipment: null });
    // The first window's page has one tracker: its shipment is fetched by id. The other pages need
    // 50, 50 and 15 shipments: each is listed once over its trackers' creation span.
    expect(server.requests.filter((r) => r.path.startsWith('/v2/shipments')).map((r) => r.path)).toEqual([
      '/v2/shipments/shp_0000',
      '/v2/shipments',
      '/v2/shipments',
      '/v2/shipments',
    ]);
    // The cursor: an hour before the read began.
    expect(await state()).toEqual({ updated_at: '2024-05-19T23:00:00.000Z' });
  });

  it('waits at least Retry-After after a 429, retries a 500, and lands everything', async () => {
    server.script(
      { path: '/v2/trackers', status: 429, headers: { 'retry-after': '7' } },
      { path: '/v2/trackers', status: 500 },
    );
    const result = await run('2024-05-20T00:00:00Z');
    expect(result.status, result.error).toBe('succeeded');
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(7000);
    // The first window was asked three times: 429, 500, then its answer.
    expect(trackerRequests().filter((q) => q.start_datetime === '2024-03-31T23:59:59.000Z')).toHaveLength(3);
    expect(await count()).toBe(230);
  });

  it('catches on the next run a tracker updated since, and lands only what changed since the cursor', async () => {
    await run('2024-05-20T00:00:00Z');
    // Tracker 5 is delivered on 2024-05-20; a new parcel's label, bought on 2024-05-01 but tracked
    // from 2024-05-20, names its order on the label only (print_custom_1).
    const five = server.trackers.find((t) => t.id === 'trk_0005')!;
    five.status = 'delivered';
    (five.tracking_details as unknown[]).push(trackingDetail('delivered', '2024-05-20T10:00:00Z'));
    five.updated_at = '2024-05-20T10:05:00Z';
    server.shipments.push({ id: 'shp_new', object: 'Shipment', created_at: '2024-05-01T12:00:00Z', reference: null, options: { print_custom_1: '7001' }, selected_rate: { rate: '9.10', currency: 'USD' } });
    server.trackers.push(
      easyPostTracker({ id: 'trk_new', tracking_code: 'EZNEW', carrier: 'UPS', status: 'pre_transit', shipment_id: 'shp_new', created_at: '2024-05-20T08:00:00Z', updated_at: '2024-05-20T09:00:00Z' }),
    );
    server.requests.length = 0;

    const result = await run('2024-05-21T00:00:00Z');
    expect(result.status, result.error).toBe('succeeded');
    // Trackers created from 30 days before the cursor (2024-05-19T23:00Z) are listed again …
    expect(trackerRequests()[0]).toEqual({ start_datetime: '2024-04-19T22:59:59.000Z', end_datetime: '2024-05-19T23:00:01.000Z', page_size: '100' });
    // … but only the two updated since the cursor land.
    expect(result.streams[0]).toMatchObject({ written: 2, unchanged: 0 });
    expect(await record('EZ1005')).toMatchObject({ status: 'delivered', delivered_at: '2024-05-20T10:00:00.000Z', updated_at: '2024-05-20T10:05:00.000Z' });
    expect(await record('EZNEW')).toMatchObject({ order_id: '7001', shipping_cost: 9.1, carrier: 'UPS', shipped_at: null });
    // One shipment to find: fetched by id.
    expect(server.requests.filter((r) => r.path.startsWith('/v2/shipments')).map((r) => r.path)).toEqual(['/v2/shipments/shp_new']);
    expect(await state()).toEqual({ updated_at: '2024-05-20T23:00:00.000Z' });
  });

  it('re-reads the trackers created in a backfill range and leaves the cursor alone', async () => {
    await run('2024-05-20T00:00:00Z');
    server.requests.length = 0;
    const result = await run('2024-05-21T00:00:00Z', { window: { from: '2024-05-02', to: '2024-05-02' } });
    expect(result.status, result.error).toBe('succeeded');
    expect(trackerRequests()).toEqual([{ start_datetime: '2024-05-01T23:59:59.000Z', end_datetime: '2024-05-03T00:00:01.000Z', page_size: '100' }]);
    // Trackers 24 to 47 were created on 2024-05-02 (and 48, at midnight, is on the edge).
    expect(result.streams[0]).toMatchObject({ pages: 1, unchanged: 25 });
    expect(await state()).toEqual({ updated_at: '2024-05-19T23:00:00.000Z' });
  });

  it('names the environment variable when the API key is missing', async () => {
    const result = await run('2024-05-20T00:00:00Z', { carrierApi: { apiKeyEnv: 'NO_SUCH_EASYPOST_KEY' } });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('NO_SUCH_EASYPOST_KEY is not set');
  });
});

describe('trackers updated long after the listing stops reaching them (issue 11)', () => {
  const tracker = (i: number) => server.trackers.find((t) => t.id === id('trk', i))!;
  const byId = () => server.requests.filter((r) => r.path.startsWith('/v2/trackers/')).map((r) => r.path);
  /** A scan added to tracker i, which EasyPost then stamps updated. */
  function scan(i: number, status: string, at: string): void {
    const t = tracker(i);
    t.status = status;
    (t.tracking_details as unknown[]).push(trackingDetail(status, at));
    t.updated_at = at;
  }

  it('re-reads a tracker not yet final by id on every run, lands it when it changes, until it is final', async () => {
    await run('2024-05-20T00:00:00Z');
    // By late June every parcel is delivered but two: tracker 3, a slow international parcel
    // still in transit, and tracker 4, a label not yet scanned.
    for (const t of server.trackers) if (t.id !== 'trk_0003' && t.id !== 'trk_0004') t.status = 'delivered';
    tracker(4).status = 'pre_transit';
    server.requests.length = 0;
    await run('2024-06-25T00:00:00Z');
    // The listing (trackers created from 2024-04-19T23:00Z) still reached them; the next one
    // starts 30 days before the new cursor (2024-06-24T23:00Z), on 2024-05-25T23:00Z: too late.
    expect(byId()).toEqual([]);
    expect(await state()).toEqual({
      updated_at: '2024-06-24T23:00:00.000Z',
      open: [
        { id: 'trk_0004', created_at: '2024-05-01T04:00:00Z' },
        { id: 'trk_0003', created_at: '2024-05-01T03:00:00Z' },
      ],
    });

    // Tracker 3 is delivered on 10 July, 70 days after its label.
    scan(3, 'delivered', '2024-07-10T09:00:00Z');
    server.requests.length = 0;
    const result = await run('2024-07-15T00:00:00Z');
    expect(result.status, result.error).toBe('succeeded');
    // The listing no longer reaches May: both open trackers are read by id, and only the one
    // that changed since the cursor lands.
    expect(trackerRequests()[0]).toMatchObject({ start_datetime: '2024-05-25T22:59:59.000Z' });
    expect(byId()).toEqual(['/v2/trackers/trk_0004', '/v2/trackers/trk_0003']);
    expect(result.streams[0]).toMatchObject({ written: 1 });
    expect(await record('EZ1003')).toMatchObject({ status: 'delivered', delivered_at: '2024-07-10T09:00:00.000Z', order_id: null });
    // Delivered: no longer open. Tracker 4 stays open.
    expect(await state()).toEqual({ updated_at: '2024-07-14T23:00:00.000Z', open: [{ id: 'trk_0004', created_at: '2024-05-01T04:00:00Z' }] });

    // Tracker 4 is sent back to the sender; its shipment names order #5004.
    scan(4, 'return_to_sender', '2024-08-02T12:00:00Z');
    server.requests.length = 0;
    await run('2024-08-05T00:00:00Z');
    expect(byId()).toEqual(['/v2/trackers/trk_0004']);
    expect(await record('EZ1004')).toMatchObject({ status: 'return_to_sender', returned_at: '2024-08-02T12:00:00.000Z', order_id: '#5004' });
    expect(await state()).toEqual({ updated_at: '2024-08-04T23:00:00.000Z' });

    // Nothing is open any more: no tracker is read by id.
    server.requests.length = 0;
    await run('2024-08-06T00:00:00Z');
    expect(byId()).toEqual([]);
  });

  it('stops re-reading a tracker EasyPost deleted, or one still open 180 days after its creation', async () => {
    await run('2024-05-20T00:00:00Z');
    for (const t of server.trackers) if (t.id !== 'trk_0003' && t.id !== 'trk_0004') t.status = 'delivered';
    await run('2024-06-25T00:00:00Z');
    expect(((await state()) as { open: unknown[] }).open).toHaveLength(2);

    // Tracker 4 is deleted (404 from then on); tracker 3 stays in transit.
    server.trackers.splice(server.trackers.indexOf(tracker(4)), 1);
    server.requests.length = 0;
    const result = await run('2024-07-15T00:00:00Z');
    expect(result.status, result.error).toBe('succeeded');
    expect(byId()).toEqual(['/v2/trackers/trk_0004', '/v2/trackers/trk_0003']);
    expect(await state()).toEqual({ updated_at: '2024-07-14T23:00:00.000Z', open: [{ id: 'trk_0003', created_at: '2024-05-01T03:00:00Z' }] });

    // Created 2024-05-01T03:00Z: 180 days later is 2024-10-28T03:00Z. Read on the 27th, not on the 29th.
    server.requests.length = 0;
    await run('2024-10-27T00:00:00Z');
    expect(byId()).toEqual(['/v2/trackers/trk_0003']);
    server.requests.length = 0;
    await run('2024-10-29T00:00:00Z');
    expect(byId()).toEqual([]);
    expect(await state()).toEqual({ updated_at: '2024-10-28T23:00:00.000Z' });
  });
});

describe('a `verite run` that fails part way through the trackers', () => {
  it('exits 1 naming the stream, keeps the committed pages, and the next run goes on from there without duplicates', async () => {
    const configFile = join(root, 'resume.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        sources: { shipments: { startDate: '2024-04-01', carrierApi: { baseUrl: server.url, maxRequestsPerSecond: 1000, maxAttempts: 2 } } },
        retries: { streamAttempts: 1, backoffSeconds: 0 },
      }),
    );
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile, EASYPOST_API_KEY: API_KEY };
    // Three tracker pages answer (the first window's, then 229–130 and 129–30); then only 500s.
    server.goDownAfter('/v2/trackers', 3);
    const failed = await runCli(['run', '--sources', 'shipments'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/shipments\.shipments: .*HTTP 500/);
    // Tracker 0 (first window) and trackers 30–229 stay landed.
    expect(await count()).toBe(201);
    expect(await record('EZ1029')).toBeUndefined();
    const pending = (await state()) as { updated_at: null; pending: Record<string, unknown> };
    expect(pending.updated_at).toBeNull();
    expect(pending.pending).toMatchObject({ window: '2024-04-30T23:59:59.000Z', before_id: 'trk_0030' });

    server.heal();
    server.requests.length = 0;
    const resumed = await runCli(['run', '--sources', 'shipments'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const requests = trackerRequests();
    // It goes on with the page after tracker 30, and never asks again for the pages it landed.
    expect(requests[0]).toMatchObject({ start_datetime: '2024-04-30T23:59:59.000Z', before_id: 'trk_0030' });
    expect(requests.filter((q) => q.start_datetime === '2024-04-30T23:59:59.000Z')).toHaveLength(1);
    expect(requests.some((q) => q.start_datetime === '2024-03-31T23:59:59.000Z')).toBe(false);
    expect(await count()).toBe(230);
    const runs = (await wh.pool.query(`select status, records_landed::int as landed from ops.stream_runs where source = 'shipments' order by id`)).rows;
    expect(runs).toEqual([
      { status: 'failed', landed: 201 },
      { status: 'succeeded', landed: 29 },
    ]);
    const done = (await state()) as Record<string, unknown>;
    expect(done.pending).toBeUndefined();
    expect(typeof done.updated_at).toBe('string');
  });
});
