import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { EasyPostTracker } from '../../extractors/shipments/easypost-client.ts';
import { trackerToShipment } from '../../extractors/shipments/easypost-map.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from '../transforms/fixtures.ts';
import { easyPostTracker, startFakeEasyPost, trackingDetail, type FakeEasyPost } from './support/easypost-server.ts';

/**
 * EasyPost trackers through the whole pipeline: extracted from the EasyPost stand-in, then
 * core.shipments and metrics.kpi_daily as the transforms and the metrics refresh build them.
 * Every parcel belongs to order #1001 (id 1), created 2024-05-01T14:00Z.
 */
const API_KEY = 'EZAKkpis0123456789';
const NOW = new Date('2024-05-20T12:00:00Z');
const ORDER_CREATED = '2024-05-01T14:00:00Z';

let server: FakeEasyPost;
let restoreSleep: (() => void) | undefined;
const open: Warehouse[] = [];

beforeAll(async () => {
  server = await startFakeEasyPost(API_KEY);
  process.env.EASYPOST_API_KEY = API_KEY;
  restoreSleep = setSleep(async () => {});
});
afterAll(async () => {
  restoreSleep?.();
  await server?.close();
  for (const wh of open) await wh.close();
});
beforeEach(() => {
  server.trackers.length = 0;
  server.shipments.length = 0;
});

const carrierDetail = (estLocal: string | null) => ({ object: 'CarrierDetail', service: 'Priority', container_type: null, est_delivery_date_local: estLocal, est_delivery_time_local: null });

/** A label for order #1001 bought through EasyPost, and its tracker: scanned in transit at `shipped`, delivered at `delivered`. */
function parcel(p: { n: number; shipped: string; delivered: string; isReturn?: boolean; rate?: string; estDeliveryDate?: string | null; estLocal?: string | null }): void {
  const created = new Date(Date.parse(p.shipped) - 3_600_000).toISOString().replace('.000Z', 'Z');
  server.shipments.push({
    id: `shp_${p.n}`, object: 'Shipment', created_at: created, reference: '#1001', options: {},
    ...(p.isReturn === undefined ? {} : { is_return: p.isReturn }),
    selected_rate: { rate: p.rate ?? '5.00', currency: 'USD', carrier: 'USPS', service: 'Priority' },
  });
  server.trackers.push(
    easyPostTracker({
      id: `trk_${p.n}`, tracking_code: `EZ${p.n}`, status: 'delivered', shipment_id: `shp_${p.n}`, created_at: created, updated_at: p.delivered,
      est_delivery_date: p.estDeliveryDate ?? null, carrier_detail: carrierDetail(p.estLocal ?? null),
      tracking_details: [trackingDetail('pre_transit', created), trackingDetail('in_transit', p.shipped), trackingDetail('delivered', p.delivered)],
    }),
  );
}

const configIn = (reportingTimezone: string) =>
  configSchema.parse({
    reportingTimezone, reportingCurrency: 'USD',
    sources: { shipments: { startDate: '2024-04-25', carrierApi: { baseUrl: server.url, maxRequestsPerSecond: 1000 } } },
    retries: { streamAttempts: 1, backoffSeconds: 0 },
  });

/** A database of its own, with the order landed. */
async function warehouse(): Promise<Warehouse> {
  const wh = await createTestDatabase('easypost_kpis');
  open.push(wh);
  await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: ORDER_CREATED, total: '50.00' })]);
  return wh;
}

/** The trackers read from the stand-in (the dates of `window` alone, for a backfill), then transforms and metrics. */
async function runAll(wh: Warehouse, reportingTimezone: string, window?: { from: string; to: string }): Promise<void> {
  const config = configIn(reportingTimezone);
  const run = await runPipeline({ warehouse: wh, config, log: logger(), only: ['shipments'], steps: [], now: NOW, window });
  expect(run.status, run.error).toBe('succeeded');
  await transformAndRefresh(wh, reportingTimezone);
}

async function transformAndRefresh(wh: Warehouse, reportingTimezone: string): Promise<void> {
  const config = configIn(reportingTimezone);
  const transforms = await runTransforms(wh, config, { now: NOW });
  expect(transforms.error).toBeUndefined();
  const metrics = await refreshMetrics(wh, config, undefined, { now: NOW });
  expect(metrics.error).toBeUndefined();
}

async function pipeline(reportingTimezone: string): Promise<Warehouse> {
  const wh = await warehouse();
  await runAll(wh, reportingTimezone);
  return wh;
}

const shipments = async (wh: Warehouse) =>
  (await wh.pool.query(`select tracking_number, promised_date, delivered_date, returned_date, is_on_time from core.shipments order by tracking_number`)).rows;

const KPI = ['shipments_delivered', 'shipments_on_time', 'shipments_delivered_with_promise', 'returns', 'shipping_cost', 'delivery_days_total'] as const;
async function kpiDaily(wh: Warehouse): Promise<Record<string, unknown>[]> {
  const rows = (
    await wh.pool.query(`select date, ${KPI.join(', ')} from metrics.kpi_daily where shipments_delivered > 0 or returns > 0 or shipping_cost > 0 order by date`)
  ).rows;
  return rows.map((r) => ({ date: r.date, ...Object.fromEntries(KPI.map((k) => [k, Number(r[k])])) }));
}

describe('a return label bought through EasyPost (is_return on the Shipment)', () => {
  it('lands as a return on the day it reaches the shop, not as a delivery', async () => {
    // The parcel to the customer: in transit 2024-05-01 16:00 New York, delivered 2024-05-03 11:00, promised 2024-05-03.
    parcel({ n: 1, shipped: '2024-05-01T20:00:00Z', delivered: '2024-05-03T15:00:00Z', isReturn: false, rate: '7.00', estLocal: '2024-05-03' });
    // The return label for the same order: in transit 2024-05-09 16:00 New York, at the shop 2024-05-10 11:00.
    parcel({ n: 2, shipped: '2024-05-09T20:00:00Z', delivered: '2024-05-10T15:00:00Z', isReturn: true, rate: '6.00' });
    const wh = await pipeline('America/New_York');

    expect(await shipments(wh)).toEqual([
      { tracking_number: 'EZ1', promised_date: '2024-05-03', delivered_date: '2024-05-03', returned_date: null, is_on_time: true },
      { tracking_number: 'EZ2', promised_date: null, delivered_date: null, returned_date: '2024-05-10', is_on_time: null },
    ]);
    expect(await kpiDaily(wh)).toEqual([
      // Each label's cost on its shipped day.
      { date: '2024-05-01', shipments_delivered: 0, shipments_on_time: 0, shipments_delivered_with_promise: 0, returns: 0, shipping_cost: 7, delivery_days_total: 0 },
      // 2024-05-01T14:00Z to 2024-05-03T15:00Z: 49 hours, 49/24 days.
      { date: '2024-05-03', shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, returns: 0, shipping_cost: 0, delivery_days_total: 49 / 24 },
      { date: '2024-05-09', shipments_delivered: 0, shipments_on_time: 0, shipments_delivered_with_promise: 0, returns: 0, shipping_cost: 6, delivery_days_total: 0 },
      { date: '2024-05-10', shipments_delivered: 0, shipments_on_time: 0, shipments_delivered_with_promise: 0, returns: 1, shipping_cost: 0, delivery_days_total: 0 },
    ]);
    // Over May: one delivery, one return.
    const may = (await wh.pool.query(`select shipments_delivered, returns, return_rate from metrics.kpi_monthly where date = '2024-05-01'`)).rows;
    expect(may.map((r) => ({ delivered: Number(r.shipments_delivered), returns: Number(r.returns), rate: Number(r.return_rate) }))).toEqual([{ delivered: 1, returns: 1, rate: 1 }]);
    // What the API sent is kept: the Shipment says it is a return.
    const raw = (await wh.pool.query(`select _record->'easypost_shipment'->'is_return' as is_return from raw.shipments__shipments order by _key`)).rows;
    expect(raw.map((r) => r.is_return)).toEqual([false, true]);
  }, 120_000);

  it('landed as a delivery by an earlier release (the Shipment\'s is_return not kept), is landed again as a return by a backfill', async () => {
    parcel({ n: 2, shipped: '2024-05-09T20:00:00Z', delivered: '2024-05-10T15:00:00Z', isReturn: true, rate: '6.00' });
    const wh = await warehouse();
    // The record as it was landed before: the shipment's summary without is_return, so a delivery.
    const before = { id: 'shp_2', created_at: '2024-05-09T19:00:00Z', reference: '#1001', print_custom_1: null, rate: '6.00', currency: 'USD', carrier: 'USPS', service: 'Priority' };
    await landRecords(wh.pool, 'shipments', 'shipments', [trackerToShipment(server.trackers[0] as unknown as EasyPostTracker, before)]);
    await transformAndRefresh(wh, 'America/New_York');
    expect(await shipments(wh)).toEqual([{ tracking_number: 'EZ2', promised_date: null, delivered_date: '2024-05-10', returned_date: null, is_on_time: null }]);

    // The tracker was created 2024-05-09T19:00Z: a backfill of that date reads it again.
    await runAll(wh, 'America/New_York', { from: '2024-05-09', to: '2024-05-09' });
    expect(await shipments(wh)).toEqual([{ tracking_number: 'EZ2', promised_date: null, delivered_date: null, returned_date: '2024-05-10', is_on_time: null }]);
    expect((await kpiDaily(wh)).filter((r) => r.date === '2024-05-10')).toEqual([
      { date: '2024-05-10', shipments_delivered: 0, shipments_on_time: 0, shipments_delivered_with_promise: 0, returns: 1, shipping_cost: 0, delivery_days_total: 0 },
    ]);
  }, 120_000);
});

describe('a promised date EasyPost writes at midnight UTC, with no local date', () => {
  /**
   * Four parcels, each delivered at 12:00 UTC (08:00 in New York, 21:00 in Tokyo: the same day in
   * both), promised on 2024-05-03 as EasyPost writes a day without a time, in three spellings,
   * and one promised at a real time, 2024-05-03T18:00Z (14:00 on 2024-05-03 in New York, 03:00
   * on 2024-05-04 in Tokyo).
   */
  function parcels(): void {
    parcel({ n: 1, shipped: '2024-05-01T20:00:00Z', delivered: '2024-05-03T12:00:00Z', estDeliveryDate: '2024-05-03T00:00:00Z' });
    parcel({ n: 2, shipped: '2024-05-01T20:00:00Z', delivered: '2024-05-04T12:00:00Z', estDeliveryDate: '2024-05-03T00:00:00.000Z' });
    parcel({ n: 3, shipped: '2024-05-01T20:00:00Z', delivered: '2024-05-03T12:00:00Z', estDeliveryDate: '2024-05-03T00:00:00' });
    parcel({ n: 4, shipped: '2024-05-01T20:00:00Z', delivered: '2024-05-03T12:00:00Z', estDeliveryDate: '2024-05-03T18:00:00Z' });
  }

  for (const [zone, promisedAtTime] of [['America/New_York', '2024-05-03'], ['Asia/Tokyo', '2024-05-04']] as const) {
    it(`keeps it the calendar date 2024-05-03 in ${zone}: delivered that day is on time, the day after is late`, async () => {
      parcels();
      const wh = await pipeline(zone);
      const raw = (await wh.pool.query(`select _record->>'estimated_delivery_at' as est from raw.shipments__shipments order by _key`)).rows;
      expect(raw.map((r) => r.est)).toEqual(['2024-05-03', '2024-05-03', '2024-05-03', '2024-05-03T18:00:00.000Z']);
      expect(await shipments(wh)).toEqual([
        { tracking_number: 'EZ1', promised_date: '2024-05-03', delivered_date: '2024-05-03', returned_date: null, is_on_time: true },
        { tracking_number: 'EZ2', promised_date: '2024-05-03', delivered_date: '2024-05-04', returned_date: null, is_on_time: false },
        { tracking_number: 'EZ3', promised_date: '2024-05-03', delivered_date: '2024-05-03', returned_date: null, is_on_time: true },
        // A time of day is an instant: its local date is the zone's.
        { tracking_number: 'EZ4', promised_date: promisedAtTime, delivered_date: '2024-05-03', returned_date: null, is_on_time: true },
      ]);
      const days = (await kpiDaily(wh)).filter((r) => (r.shipments_delivered as number) > 0);
      expect(days.map(({ date, shipments_delivered, shipments_on_time, shipments_delivered_with_promise }) => ({ date, shipments_delivered, shipments_on_time, shipments_delivered_with_promise }))).toEqual([
        { date: '2024-05-03', shipments_delivered: 3, shipments_on_time: 3, shipments_delivered_with_promise: 3 },
        { date: '2024-05-04', shipments_delivered: 1, shipments_on_time: 0, shipments_delivered_with_promise: 1 },
      ]);
    }, 120_000);
  }
});
