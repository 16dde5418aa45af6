import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { streamIdentity } from '../../catalog/catalog.ts';
import type { Page, Source } from '../../extractors/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { localDate } from '../../lib/dates.ts';
import { readStreamDataStatus } from '../../metrics/data-status.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { formatRunSummary, headlineSummary } from '../../metrics/summary.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop, orders } from './support/shop.ts';

/**
 * Issue 17: `metrics.data_status` says how fresh and how complete the data behind the metrics
 * is, and a stream whose last read failed makes the periods after the last complete day
 * `is_complete = false`, on the shop of support/shop.ts (its last day of data is Sunday
 * 10 March 2024).
 */

const config = configSchema.parse({ ...CONFIG, retries: { streamAttempts: 1, backoffSeconds: 0 } });
const silent = createLogger({ write: () => undefined }, 'silent');
let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_data_status');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
});
afterAll(async () => wh?.close());

async function rows(query: string): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(query)).rows;
}

/** The reads of the streams, placed by hand: what ops holds after the runs described in each test. */
async function placeReads(): Promise<void> {
  await wh.pool.query(`delete from ops.stream_runs; delete from ops.runs; delete from ops.stream_state`);
  await wh.pool.query(`insert into ops.stream_state (source, stream, data_through, updated_at) values
    ('shopify', 'orders', '2024-03-08T12:00:00Z', now()),            -- O12's updated_at
    ('ga4', 'traffic_daily', '2024-03-11T00:00:00Z', now()),         -- the day after the last report date, 10 March
    ('stripe', 'charges', '2024-03-11T02:00:00Z', now())`);
  await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, sources, started_at) values
    ('r1', 'run', 'cli', 'succeeded', '{shopify}', '2024-03-07T03:00:00Z'),
    ('r2', 'run', 'cli', 'failed', '{shopify,ga4,stripe}', '2024-03-11T03:00:00Z'),
    ('b1', 'backfill', 'backfill', 'failed', '{stripe}', '2024-03-11T04:00:00Z')`);
  await wh.pool.query(`insert into ops.stream_runs (run_id, source, stream, status, started_at, finished_at) values
    ('r1', 'shopify', 'orders', 'succeeded', '2024-03-07T03:00:00Z', '2024-03-07T03:10:00Z'),
    ('r2', 'shopify', 'orders', 'failed', '2024-03-11T03:00:00Z', '2024-03-11T03:05:00Z'),
    ('r2', 'ga4', 'traffic_daily', 'succeeded', '2024-03-11T03:06:00Z', '2024-03-11T03:20:00Z'),
    ('r2', 'stripe', 'charges', 'succeeded', '2024-03-11T03:07:00Z', '2024-03-11T03:15:00Z'),
    -- A backfill of old dates that failed later: it leaves the cursors alone and does not count.
    ('b1', 'stripe', 'charges', 'failed', '2024-03-11T04:00:00Z', '2024-03-11T04:01:00Z')`);
}

describe('metrics.data_status and is_complete after a stream failed (issue 17)', () => {
  it('records which stream failed and from which day its data is incomplete, and flags the periods after it', async () => {
    await placeReads();
    // Refreshed at 06:00 on Tuesday 12 March 2024 (UTC): yesterday is the 11th.
    const result = await refreshMetrics(wh, config, silent, { now: new Date('2024-03-12T06:00:00Z') });
    expect(result.error).toBeUndefined();

    // shopify.orders: its last successful read began on 7 March, so it is complete through the 6th; the read of the 11th
    // failed: incomplete from the 7th, though it is stale (O12's 12:00 on the 8th is 90 h old).
    // ga4.traffic_daily: read on the 11th, fresh (30 h): complete through its last report date, the 10th.
    // stripe.charges: read on the 11th, fresh (28 h): complete through the 10th; the later failed backfill is left out.
    // The last complete day: the earliest of the 11th (yesterday), the 10th (last day of kpi_daily), the 6th, the 10th, the 10th.
    const status = await rows(`select source, stream, last_success_at, newest_data_date::text as newest, freshness_limit_hours::float8 as hours,
                                      is_fresh, last_run_status, incomplete_from::text as incomplete_from, complete_through::text as complete_through
                                 from metrics.data_status order by source = 'metrics' desc, source, stream`);
    // is_fresh is worked out when read, years after these dates: false everywhere.
    expect(status).toEqual([
      {
        source: 'metrics', stream: 'refresh', last_success_at: new Date('2024-03-12T06:00:00Z'), newest: '2024-03-10', hours: 36, is_fresh: false,
        last_run_status: 'succeeded', incomplete_from: '2024-03-07', complete_through: '2024-03-06',
      },
      {
        source: 'ga4', stream: 'traffic_daily', last_success_at: new Date('2024-03-11T03:20:00Z'), newest: '2024-03-10', hours: 36, is_fresh: false,
        last_run_status: 'succeeded', incomplete_from: null, complete_through: '2024-03-10',
      },
      {
        source: 'shopify', stream: 'orders', last_success_at: new Date('2024-03-07T03:10:00Z'), newest: '2024-03-08', hours: 36, is_fresh: false,
        last_run_status: 'failed', incomplete_from: '2024-03-07', complete_through: '2024-03-06',
      },
      {
        source: 'stripe', stream: 'charges', last_success_at: new Date('2024-03-11T03:15:00Z'), newest: '2024-03-11', hours: 36, is_fresh: false,
        last_run_status: 'succeeded', incomplete_from: null, complete_through: '2024-03-10',
      },
    ]);

    // The week of 4 March ends on Sunday the 10th, after the 6th: not complete; the week of 26 February ends on 3 March.
    const weeks = await rows(`select date::text as date, days_in_period, days_with_data, is_complete from metrics.kpi_weekly where date >= '2024-02-19' order by date`);
    expect(weeks).toEqual([
      { date: '2024-02-19', days_in_period: 7, days_with_data: 7, is_complete: true },
      { date: '2024-02-26', days_in_period: 7, days_with_data: 7, is_complete: true },
      { date: '2024-03-04', days_in_period: 7, days_with_data: 7, is_complete: false },
    ]);
    const months = await rows(`select date::text as date, days_in_period, days_with_data, is_complete from metrics.kpi_monthly where date >= '2024-02-01' order by date`);
    expect(months).toEqual([
      { date: '2024-02-01', days_in_period: 29, days_with_data: 29, is_complete: true },
      { date: '2024-03-01', days_in_period: 31, days_with_data: 10, is_complete: false },
    ]);
    // Cohorts: every row measuring March 2024 is incomplete, February's are complete.
    const cohorts = await rows(`select date::text as date, bool_and(is_complete) as all_complete, bool_or(is_complete) as any_complete
                                  from metrics.cohort_monthly where date >= '2024-02-01' group by date order by date`);
    expect(cohorts).toEqual([
      { date: '2024-02-01', all_complete: true, any_complete: true },
      { date: '2024-03-01', all_complete: false, any_complete: false },
    ]);

    // The refresh says it too, and the metrics were published all the same.
    expect(result.status).toBe('succeeded');
    expect(result.warnings).toContain(
      'The last read of shopify.orders failed: its data is incomplete from 2024-03-07; the metrics hold what was landed, and periods after 2024-03-06 are flagged is_complete = false (metrics.data_status)',
    );
    expect(result.dataStatus?.completeThrough).toBe('2024-03-06');
  });

  it('makes the run summary compare periods that end by the last complete day, and name the incomplete stream', async () => {
    // The run of Tuesday 12 March: yesterday would be the 11th, but the data is complete through Wednesday the 6th only: the
    // day compared is the 6th, the week that of 26 February, the month February.
    const summary = await headlineSummary(wh.db, config, { now: new Date('2024-03-12T06:00:00Z') });
    expect(summary?.asOf).toBe('2024-03-06');
    expect(summary?.periods.map((p) => [p.kind, p.current.from, p.current.to])).toEqual([
      ['day', '2024-03-06', '2024-03-06'],
      ['week', '2024-02-26', '2024-03-03'],
      ['month', '2024-02-01', '2024-02-29'],
    ]);
    const lines = formatRunSummary(summary).split('\n');
    expect(lines).toContain(
      'Incomplete data: the last read of shopify.orders failed: its data is incomplete from 2024-03-07 (metrics.data_status); the periods above end by 2024-03-06.',
    );
    // The week of 4 March (all its days in kpi_daily, but past the 6th) and March: shown apart, partial, not compared.
    expect(lines).toContain('Partial, not compared: week 2024-03-04 (7 of 7 days with data, to 2024-03-10; it ends after 2024-03-06, the last complete day: is_complete = false in metrics.kpi_weekly).');
    expect(lines).toContain('Partial, not compared: month 2024-03 (10 of 31 days with data, to 2024-03-10; it ends after 2024-03-06, the last complete day: is_complete = false in metrics.kpi_monthly).');
  });

  it('gives newest and complete dates in the reporting time zone, and a date report its report date whatever the zone', async () => {
    // Tokyo is UTC+9: O12's 12:00 UTC on 8 March is 21:00 there (the 8th); the orders read of 03:00 UTC on 7 March began at noon
    // on the 7th (complete through the 6th); GA4's last report date stays 10 March; Stripe's 02:00 UTC on the 11th is 11:00 there.
    const tokyo = configSchema.parse({ ...CONFIG, reportingTimezone: 'Asia/Tokyo' });
    const streams = await readStreamDataStatus(wh.db, tokyo, new Date('2024-03-12T06:00:00Z'));
    expect(streams.map((s) => [`${s.source}.${s.stream}`, s.newestDataDate, s.completeThrough, s.incompleteFrom, s.fresh])).toEqual([
      ['ga4.traffic_daily', '2024-03-10', '2024-03-10', null, true],
      ['shopify.orders', '2024-03-08', '2024-03-06', '2024-03-07', false],
      ['stripe.charges', '2024-03-11', '2024-03-10', null, true],
    ]);
    // New York is UTC−4 from 10 March 2024 (daylight saving time): the Stripe read of 03:07 UTC on the 11th began at 23:07 on the
    // 10th (complete through the 9th), and its newest charge, 02:00 UTC, is of the 10th; GA4 was read at 23:06 on the 10th.
    const newYork = configSchema.parse({ ...CONFIG, reportingTimezone: 'America/New_York' });
    const ny = await readStreamDataStatus(wh.db, newYork, new Date('2024-03-12T06:00:00Z'));
    expect(ny.find((s) => s.stream === 'charges')).toMatchObject({ newestDataDate: '2024-03-10', completeThrough: '2024-03-09' });
    expect(ny.find((s) => s.stream === 'traffic_daily')).toMatchObject({ newestDataDate: '2024-03-10', completeThrough: '2024-03-09' });
  });

  it('works is_fresh out when the row is read, not when the refresh wrote it', async () => {
    // A refresh dated 50 hours ago (an injected clock), read now: the metrics row's refresh is 50 h old (over its 36 h);
    // the orders landed an hour ago are fresh; the charges, 40 h old now, were 10 h in the refresh's future when it ran.
    await wh.pool.query(`delete from ops.stream_runs; delete from ops.runs; delete from ops.stream_state`);
    await wh.pool.query(`insert into ops.stream_state (source, stream, data_through, updated_at) values
      ('shopify', 'orders', now() - interval '1 hour', now()), ('stripe', 'charges', now() - interval '40 hours', now())`);
    const [{ now }] = (await wh.pool.query<{ now: Date }>('select now()')).rows as [{ now: Date }];
    const refreshedAt = new Date(now.getTime() - 50 * 3_600_000);
    expect((await refreshMetrics(wh, config, silent, { now: refreshedAt })).status).toBe('succeeded');
    const fresh = await rows(`select source, stream, last_success_at, is_fresh from metrics.data_status order by source, stream`);
    expect(fresh).toEqual([
      { source: 'metrics', stream: 'refresh', last_success_at: refreshedAt, is_fresh: false },
      { source: 'shopify', stream: 'orders', last_success_at: null, is_fresh: true },
      { source: 'stripe', stream: 'charges', last_success_at: null, is_fresh: false },
    ]);
  });

  it('counts a sparse stream fresh while its reads succeed: an unedited catalogue, not orders that stopped coming', async () => {
    // Both last changed 20 days ago; both read by a run 2 hours ago. Products may go weeks without
    // an edit (the catalogue's `sparse`); orders are judged by their data alone.
    await wh.pool.query(`delete from ops.stream_runs; delete from ops.runs; delete from ops.stream_state`);
    await wh.pool.query(`insert into ops.stream_state (source, stream, data_through, updated_at) values
      ('shopify', 'products', now() - interval '20 days', now()), ('shopify', 'orders', now() - interval '20 days', now())`);
    await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, sources, started_at) values ('r1', 'run', 'cli', 'succeeded', '{shopify}', now() - interval '2 hours')`);
    await wh.pool.query(`insert into ops.stream_runs (run_id, source, stream, status, started_at, finished_at) values
      ('r1', 'shopify', 'products', 'succeeded', now() - interval '2 hours', now() - interval '119 minutes'),
      ('r1', 'shopify', 'orders', 'succeeded', now() - interval '2 hours', now() - interval '118 minutes')`);
    expect((await refreshMetrics(wh, config, silent)).status).toBe('succeeded');
    const fresh = await rows(`select source, stream, is_fresh from metrics.data_status where source = 'shopify' order by stream`);
    expect(fresh).toEqual([
      { source: 'shopify', stream: 'orders', is_fresh: false },
      { source: 'shopify', stream: 'products', is_fresh: true },
    ]);
  });
});

describe('a run whose stream fails mid-read (issue 17)', () => {
  const identity = streamIdentity('shopify', 'orders')!;
  const o11 = orders.find((o) => o.id === 11)!;
  // A new order of 15.00 on Saturday 9 March 2024, landed on the first page of the read that then fails.
  const o30 = {
    ...o11, id: 30, name: '#1030', created_at: '2024-03-09T10:00:00Z', updated_at: '2024-03-09T10:00:00Z', total_price: '15.00', subtotal_price: '15.00',
    line_items: [{ id: 300, product_id: 1, variant_id: 11, sku: 'MUG', title: 'Mug', quantity: 1, price: '15.00', total_discount: '0.00' }],
  };
  const shopify = (read: () => AsyncIterable<Page>): Source => ({ name: 'shopify', streams: [{ ...identity, read }] });

  it('still publishes the metrics from what was landed, and data_status and the summary say from when the data is incomplete', async () => {
    await wh.pool.query(`delete from ops.stream_runs; delete from ops.runs; delete from ops.stream_state`);
    // A first run reads the orders through: nothing new.
    const first = await runPipeline({
      warehouse: wh, config, log: silent, steps: [],
      sources: [{ source: shopify(async function* () { yield { records: [], state: { updated_at: '2024-03-08T12:00:00Z' } }; }), config: {} }],
    });
    expect(first.status).toBe('succeeded');
    // The next one lands a page, then the connection drops; the transforms and the metrics run all the same.
    const second = await runPipeline({
      warehouse: wh, config, log: silent,
      sources: [{ source: shopify(async function* () {
        yield { records: [o30], state: { updated_at: o30.updated_at } };
        throw new Error('read ECONNRESET');
      }), config: {} }],
    });
    expect(second.status).toBe('failed');
    expect(second.streams[0]).toMatchObject({ status: 'failed', written: 1 });
    const metricsStep = second.steps.find((s) => s.name === 'metrics');
    expect(metricsStep?.status).toBe('succeeded');

    // The first run's read of the orders began today: the orders are complete through yesterday, incomplete from today.
    const started = (await rows(`select started_at from ops.stream_runs where status = 'succeeded' and source = 'shopify'`))[0]!.started_at as Date;
    const incompleteFrom = localDate(started, 'UTC');
    const [orders] = await rows(`select last_run_status, incomplete_from::text as incomplete_from from metrics.data_status where source = 'shopify' and stream = 'orders'`);
    expect(orders).toEqual({ last_run_status: 'failed', incomplete_from: incompleteFrom });
    expect(metricsStep?.summary).toContain(`The last read of shopify.orders failed: its data is incomplete from ${incompleteFrom}`);
    // What was landed is in the metrics: O30 on 9 March.
    const [day] = await rows(`select orders::int as orders, revenue::float8 as revenue from metrics.kpi_daily where date = '2024-03-09'`);
    expect(day).toEqual({ orders: 1, revenue: 15 });
    const text = formatRunSummary(await headlineSummary(wh.db, config));
    expect(text).toContain(`Incomplete data: the last read of shopify.orders failed: its data is incomplete from ${incompleteFrom} (metrics.data_status)`);
  });
});
