import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type VeriteConfig } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms, type TransformResult } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { coreAndMetrics } from '../support/demo-shop.ts';
import { landRecords } from '../support/land.ts';
import { order } from '../transforms/fixtures.ts';
import { easyPostTracker, startFakeEasyPost, trackingDetail, type FakeEasyPost } from './support/easypost-server.ts';

/**
 * A parcel a 3PL's export lists first without a tracking number (keyed by its order and carrier,
 * `#1001|DHL`) and in a later export with one (keyed by it, `JD0001`): two raw rows of one parcel.
 * Before, core.shipments kept both and the metrics counted the parcel twice.
 *
 * Orders #1001, #1002 and #1003 (ids 1 to 3), created 2024-05-01; reporting in UTC and USD.
 *   #1001 DHL  shipped 2 May, promised 4 May, delivered 4 May (on time)  7.00, then 7.50 once tracked
 *   #1002 UPS  shipped 2 May, promised 3 May, delivered 4 May (late)     5.00, never tracked
 */
const log = createLogger(process.stderr, 'silent');
const HEADER = 'order_id,tracking_number,carrier,shipped_at,estimated_delivery_at,delivered_at,shipping_cost,currency,status';
const UNTRACKED_1001 = '#1001,,DHL,2024-05-02,2024-05-04,2024-05-04,7.00,USD,delivered';
const UNTRACKED_1002 = '#1002,,UPS,2024-05-02,2024-05-03,2024-05-04,5.00,USD,delivered';
const TRACKED_1001 = '#1001,JD 0001,DHL,2024-05-02,2024-05-04,2024-05-04,7.50,USD,delivered';

const API_KEY = 'EZAKtrackedlater0123';

let root: string;
let easyPost: FakeEasyPost;
let restoreSleep: (() => void) | undefined;
const open: Warehouse[] = [];
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'verite-tracked-later-'));
  easyPost = await startFakeEasyPost(API_KEY);
  process.env.EASYPOST_API_KEY = API_KEY;
  restoreSleep = setSleep(async () => {});
});
afterAll(async () => {
  restoreSleep?.();
  await easyPost?.close();
  for (const wh of open) await wh.close();
  rmSync(root, { recursive: true, force: true });
});

interface Shop {
  wh: Warehouse;
  config: VeriteConfig;
  drop: string;
}

async function shop(label: string, carrierApi = false): Promise<Shop> {
  const wh = await createTestDatabase(label);
  open.push(wh);
  await landRecords(wh.pool, 'shopify', 'orders', [1, 2, 3].map((id) => order({ id, created_at: `2024-05-01T1${id}:00:00Z`, total: '40.00', customer: id })));
  const drop = join(root, label);
  mkdirSync(drop);
  const config = configSchema.parse({
    reportingTimezone: 'UTC',
    reportingCurrency: 'USD',
    sources: { shipments: { path: drop, ...(carrierApi ? { startDate: '2024-04-25', carrierApi: { baseUrl: easyPost.url, maxRequestsPerSecond: 1000 } } : {}) } },
    retries: { streamAttempts: 1, backoffSeconds: 0 },
    transform: { fullRebuildEveryDays: 365 },
  });
  return { wh, config, drop };
}

/** The morning after 3 + `night` May. */
const morning = (night: number) => new Date(Date.UTC(2024, 4, 4 + night, 6));

/** The night's export dropped, landed by the shipments source, then the transform and the metrics refresh, as `verite run` does. */
async function night(s: Shop, n: number, rows: string[]): Promise<TransformResult> {
  writeFileSync(join(s.drop, `3pl-night-${n}.csv`), [HEADER, ...rows].join('\n') + '\n');
  const run = await runPipeline({ warehouse: s.wh, config: s.config, log, only: ['shipments'], steps: [], now: morning(n) });
  expect(run.status, run.error).toBe('succeeded');
  expect(run.quarantined).toBe(0);
  const transform = await runTransforms(s.wh, s.config, { log, now: morning(n) });
  expect(transform.status, transform.error).toBe('succeeded');
  const metrics = await refreshMetrics(s.wh, s.config, log, { now: morning(n) });
  expect(metrics.status, metrics.error).toBe('succeeded');
  return transform;
}

async function shipmentKeys(s: Shop): Promise<string[]> {
  return (await s.wh.pool.query(`select shipment_key from core.shipments order by 1`)).rows.map((r) => r.shipment_key as string);
}

/** The fulfilment figures of the days that have any. */
async function fulfilment(s: Shop): Promise<Record<string, unknown>[]> {
  const rows = await s.wh.pool.query(`select date::text, shipping_cost::float8 as shipping_cost, orders_shipped::int as orders_shipped,
      shipments_delivered::int as delivered, shipments_on_time::int as on_time, shipments_delivered_with_promise::int as with_promise,
      on_time_delivery_rate::float8 as on_time_rate
    from metrics.kpi_daily where shipping_cost <> 0 or shipments_delivered <> 0 order by date`);
  return rows.rows;
}

describe('a parcel landed without a tracking number, then with one', () => {
  it('is one shipment: counted once in the on-time rate and the shipping cost', async () => {
    const s = await shop('tracked_later');
    await night(s, 1, [UNTRACKED_1001, UNTRACKED_1002]);
    expect(await shipmentKeys(s)).toEqual(['#1001|DHL', '#1002|UPS']);
    // 7.00 + 5.00 shipped on 2 May; on 4 May two delivered with a promise, #1001's on time.
    expect(await fulfilment(s)).toEqual([
      { date: '2024-05-02', shipping_cost: 12, orders_shipped: 2, delivered: 0, on_time: 0, with_promise: 0, on_time_rate: null },
      { date: '2024-05-04', shipping_cost: 0, orders_shipped: 0, delivered: 2, on_time: 1, with_promise: 2, on_time_rate: 0.5 },
    ]);

    await night(s, 2, [TRACKED_1001]);
    // #1001's parcel is JD0001 now; its sighting without a number stays in staging, not in core.
    expect(await shipmentKeys(s)).toEqual(['#1002|UPS', 'JD0001']);
    const staged = await s.wh.pool.query(`select shipment_key from staging.shipments order by 1`);
    expect(staged.rows.map((r) => r.shipment_key)).toEqual(['#1001|DHL', '#1002|UPS', 'JD0001']);
    // Counted twice, it was 7.00 + 7.50 + 5.00 = 19.50, and 3 delivered, 2 on time (2/3).
    // Once: 7.50 (the tracked row's cost) + 5.00 = 12.50; 2 delivered, 1 on time (1/2).
    expect(await fulfilment(s)).toEqual([
      { date: '2024-05-02', shipping_cost: 12.5, orders_shipped: 2, delivered: 0, on_time: 0, with_promise: 0, on_time_rate: null },
      { date: '2024-05-04', shipping_cost: 0, orders_shipped: 0, delivered: 2, on_time: 1, with_promise: 2, on_time_rate: 0.5 },
    ]);
  }, 120_000);

  it('built night by night, gives every core and metrics table as a full rebuild does', async () => {
    const s = await shop('tracked_later_incremental');
    /** Night `n`'s incremental build against `verite transform --full` and the refresh after it, at the same clock. */
    const asAFullRebuild = async (n: number) => {
      const incremental = await coreAndMetrics(s.wh);
      const full = await runTransforms(s.wh, s.config, { log, now: morning(n), full: true });
      expect(full.status, full.error).toBe('succeeded');
      const metrics = await refreshMetrics(s.wh, s.config, log, { now: morning(n) });
      expect(metrics.status, metrics.error).toBe('succeeded');
      const rebuilt = await coreAndMetrics(s.wh);
      for (const table of Object.keys(rebuilt)) expect(incremental[table], `${table} after night ${n}`).toEqual(rebuilt[table]);
    };
    const shipmentsMode = (t: TransformResult) => t.results.find((r) => r.model === 'core.shipments')?.mode;

    await night(s, 1, [UNTRACKED_1001, UNTRACKED_1002]);
    await asAFullRebuild(1);

    // The tracked row lands; the untracked one is not written this night, yet leaves core.
    expect(shipmentsMode(await night(s, 2, [TRACKED_1001]))).toBe('incremental');
    expect(await shipmentKeys(s)).toEqual(['#1002|UPS', 'JD0001']);
    await asAFullRebuild(2);

    // The 3PL's next export lists both parcels without a number again (its rows of the last days),
    // with another status: the untracked row of #1001 is rebuilt, and stays out while JD0001 is there.
    const signed = (row: string) => row.replace(',delivered', ',delivered: signed');
    expect(shipmentsMode(await night(s, 3, [signed(UNTRACKED_1001), signed(UNTRACKED_1002)]))).toBe('incremental');
    const status = await s.wh.pool.query(`select status from staging.shipments where shipment_key = '#1001|DHL'`);
    expect(status.rows).toEqual([{ status: 'delivered: signed' }]);
    expect(await shipmentKeys(s)).toEqual(['#1002|UPS', 'JD0001']);
    await asAFullRebuild(3);

    // JD0001 was #1003's parcel, the 3PL says: #1001's parcel has no tracked row any more, and comes back.
    expect(shipmentsMode(await night(s, 4, [TRACKED_1001.replace('#1001', '#1003')]))).toBe('incremental');
    expect(await shipmentKeys(s)).toEqual(['#1001|DHL', '#1002|UPS', 'JD0001']);
    // 7.00 (#1001, its last untracked row) + 5.00 + 7.50 (#1003); 3 delivered with a promise, #1001's and #1003's on time.
    expect(await fulfilment(s)).toEqual([
      { date: '2024-05-02', shipping_cost: 19.5, orders_shipped: 3, delivered: 0, on_time: 0, with_promise: 0, on_time_rate: null },
      { date: '2024-05-04', shipping_cost: 0, orders_shipped: 0, delivered: 3, on_time: 2, with_promise: 3, on_time_rate: 2 / 3 },
    ]);
    await asAFullRebuild(4);
  }, 240_000);
});

describe('a parcel of the file drop without a tracking number, tracked through EasyPost', () => {
  /** A label bought through EasyPost for `reference`, and its tracker: taken by the carrier at `shipped`, at its destination at `arrived`. */
  function label(p: { n: number; reference: string; created: string; shipped: string; arrived: string; updated: string; rate: string; isReturn: boolean }): void {
    easyPost.shipments.push({
      id: `shp_${p.n}`, object: 'Shipment', created_at: p.created, reference: p.reference, options: {}, is_return: p.isReturn,
      selected_rate: { rate: p.rate, currency: 'USD', carrier: 'USPS', service: 'Priority' },
    });
    easyPost.trackers.push(
      easyPostTracker({
        id: `trk_${p.n}`, tracking_code: `EZ${p.n}`, status: 'delivered', shipment_id: `shp_${p.n}`, created_at: p.created, updated_at: p.updated,
        tracking_details: [trackingDetail('pre_transit', p.created), trackingDetail('in_transit', p.shipped), trackingDetail('delivered', p.arrived)],
      }),
    );
  }

  it("is that tracker's parcel (order named with or without '#', carrier in any capitals); a return label is another parcel", async () => {
    const s = await shop('tracked_later_easypost', true);
    // The 3PL's export: #1001's and #1002's parcels, sent by USPS on 2 May and delivered on 4 May, without numbers.
    await night(s, 1, ['#1001,,usps,2024-05-02,,2024-05-04,6.00,USD,delivered', '#1002,,USPS,2024-05-02,,2024-05-04,5.00,USD,delivered']);
    expect(await shipmentKeys(s)).toEqual(['#1001|usps', '#1002|USPS']);

    // EasyPost's trackers, read the next night: #1001's label (its reference without the '#'), and a
    // return label #1002's customer sends back by USPS.
    label({ n: 1, reference: '1001', created: '2024-05-02T09:00:00Z', shipped: '2024-05-02T12:00:00Z', arrived: '2024-05-04T12:00:00Z', updated: '2024-05-05T08:00:00Z', rate: '6.50', isReturn: false });
    label({ n: 2, reference: '#1002', created: '2024-05-05T09:00:00Z', shipped: '2024-05-05T12:00:00Z', arrived: '2024-05-06T12:00:00Z', updated: '2024-05-06T12:00:00Z', rate: '4.00', isReturn: true });
    await night(s, 3, []);
    // #1001's parcel is EZ1; #1002's outbound parcel has no tracked row, and the return label does not stand for it.
    expect(await shipmentKeys(s)).toEqual(['#1002|USPS', 'EZ1', 'EZ2']);
    const days = await s.wh.pool.query(`select date::text, shipping_cost::float8 as shipping_cost, orders_shipped::int as orders_shipped,
        shipments_delivered::int as delivered, returns::int as returns
      from metrics.kpi_daily where shipping_cost <> 0 or shipments_delivered <> 0 or returns <> 0 order by date`);
    expect(days.rows).toEqual([
      // EZ1's 6.50 (not the export's 6.00 as well) + #1002's 5.00.
      { date: '2024-05-02', shipping_cost: 11.5, orders_shipped: 2, delivered: 0, returns: 0 },
      { date: '2024-05-04', shipping_cost: 0, orders_shipped: 0, delivered: 2, returns: 0 },
      { date: '2024-05-05', shipping_cost: 4, orders_shipped: 1, delivered: 0, returns: 0 },
      { date: '2024-05-06', shipping_cost: 0, orders_shipped: 0, delivered: 0, returns: 1 },
    ]);
  }, 120_000);
});
