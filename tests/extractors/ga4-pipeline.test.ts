import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { ga4Source } from '../../extractors/ga4/index.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeGa4, type FakeGa4, type Ga4Row } from './support/ga4-server.ts';
import { daysFrom, shiftDate, utcToday } from './support/time.ts';

let fake: FakeGa4;
let wh: Warehouse;
let dir: string;
let restoreSleep: () => void;

const row = (source: string, medium: string, device: string, sessions: string): Ga4Row => ({
  sessionDefaultChannelGroup: 'Organic Search', sessionSource: source, sessionMedium: medium, sessionCampaignName: '(not set)', deviceCategory: device,
  sessions, totalUsers: sessions, newUsers: '1', addToCarts: '2', checkouts: '1', ecommercePurchases: '1', purchaseRevenue: '20',
});

/** Three rows a day for property 111, one for 222. */
function firstVersion(property: string): Ga4Row[] {
  if (property === '222') return [row('(direct)', '(none)', 'desktop', '7')];
  return [row('google', 'organic', 'mobile', '30'), row('google', 'organic', 'desktop', '20'), row('bing', 'organic', 'mobile', '4')];
}

/** GA4 restates the 8th: the bing row is gone, google/mobile has more sessions. */
function restated(property: string, date: string): Ga4Row[] {
  if (property === '111' && date === '2024-03-08') return [row('google', 'organic', 'mobile', '33'), row('google', 'organic', 'desktop', '20')];
  return firstVersion(property);
}

function config(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    sources: {
      ga4: { propertyIds: ['111', '222'], credentialsFile: fake.keyFile, apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http', startDate: '2024-03-05', ...extra },
    },
  });
}

async function run(now: string, extra: Record<string, unknown> = {}) {
  const c = config(extra);
  return runPipeline({ warehouse: wh, config: c, log: logger(), now: new Date(now), steps: [], sources: [{ source: ga4Source, config: c.sources.ga4 }] });
}

async function rowsPerDate(db: Warehouse = wh): Promise<Record<string, number>> {
  const res = await db.pool.query(`select _report_date::text as date, count(*)::int as n from raw.ga4__traffic_daily group by 1 order by 1`);
  return Object.fromEntries(res.rows.map((r) => [r.date as string, r.n as number]));
}

const served = () => Object.fromEntries([...fake.served.entries()].sort(([a], [b]) => a.localeCompare(b)));
/** Runs `fn` and says which dates were "yesterday" (UTC) while it ran: one, or two across midnight. */
async function during<T>(fn: () => Promise<T>): Promise<{ result: T; yesterdays: string[] }> {
  const before = shiftDate(utcToday(), -1);
  const result = await fn();
  return { result, yesterdays: [...new Set([before, shiftDate(utcToday(), -1)])] };
}

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  dir = mkdtempSync(join(tmpdir(), 'verite-ga4-pipeline-'));
  fake = await startFakeGa4(dir);
  fake.properties.set('111', { timeZone: 'UTC', currencyCode: 'EUR' });
  fake.properties.set('222', { timeZone: 'UTC', currencyCode: 'EUR' });
  wh = await createTestDatabase('ga4');
});
afterAll(async () => {
  restoreSleep();
  await fake?.close();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GA4 through the loader', () => {
  it('keeps, for every date, exactly the rows the API returned, however many times it runs, a restated day included', async () => {
    fake.rows = (property) => firstVersion(property);
    fake.resetServed();
    expect((await run('2024-03-10T08:00:00Z')).status).toBe('succeeded');
    // The 5th to the 9th: 3 rows of 111 and 1 of 222 a day.
    const before = { '2024-03-05': 4, '2024-03-06': 4, '2024-03-07': 4, '2024-03-08': 4, '2024-03-09': 4 };
    expect(await rowsPerDate()).toEqual(before);
    expect(served()).toEqual(before);

    fake.rows = restated;
    // The 8th loses its bing row; the lookback (3 days: the 7th to the 9th) re-reads it.
    const after = { ...before, '2024-03-08': 3 };
    for (let i = 0; i < 2; i++) {
      fake.resetServed();
      expect((await run('2024-03-10T09:00:00Z')).status).toBe('succeeded');
      expect(await rowsPerDate()).toEqual(after);
      expect(served()).toEqual({ '2024-03-07': 4, '2024-03-08': 3, '2024-03-09': 4 });
    }
    const eighth = await wh.pool.query(
      `select _record->>'property_id' as property, _record->>'sessionSource' as source, _record->>'deviceCategory' as device, _record->>'sessions' as sessions
         from raw.ga4__traffic_daily where _report_date = '2024-03-08' order by 1, 2, 3`,
    );
    expect(eighth.rows).toEqual([
      { property: '111', source: 'google', device: 'desktop', sessions: '20' },
      { property: '111', source: 'google', device: 'mobile', sessions: '33' },
      { property: '222', source: '(direct)', device: 'desktop', sessions: '7' },
    ]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'ga4' and stream = 'traffic_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-09', propertyIds: ['111', '222'] });
  });

  it('keeps what was landed when the quota stops a run, and the run fails naming the stream and the quota', async () => {
    fake.rows = (property) => firstVersion(property);
    // The cursor is at the 9th; on the 12th the lookback re-reads the 9th, 10th and 11th. Property
    // 111 has 45 tokens, 10 a request: 35 after its probe, 25 after the 9th, 15 after the 10th,
    // below the reserve of 20, so the 11th is not asked for. A quota stop is permanent: the
    // pipeline does not try the stream again in this run (retries.streamAttempts is 2).
    fake.setQuota('111', 45);
    const result = await run('2024-03-12T08:00:00Z', { quotaReserve: 20 });
    expect(result.status).toBe('failed');
    expect(result.streams[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(result.error).toMatch(/^ga4\.traffic_daily: .*GA4 property 111 has 15 tokens per hour left \(quotaReserve is 20\): stopping before the quota runs out; dates through 2024-03-10 are landed\./);
    expect(await rowsPerDate()).toMatchObject({ '2024-03-10': 4 });
    expect((await rowsPerDate())['2024-03-11']).toBeUndefined();
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'ga4' and stream = 'traffic_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-10', propertyIds: ['111', '222'] });
    fake.quota.clear();
  });

  it('records a thresholded property as a warning of the run, with its code, unless the config silences that code', async () => {
    fake.rows = (property) => firstVersion(property);
    fake.thresholded = true;
    try {
      const warned = await run('2024-03-13T08:00:00Z');
      expect(warned.status).toBe('succeeded with warnings');
      expect(warned.warnings).toEqual([
        'ga4: property 111 applies thresholds to its reports; small counts may be left out [ga4-thresholds]',
        'ga4: property 222 applies thresholds to its reports; small counts may be left out [ga4-thresholds]',
      ]);
      const row = await wh.pool.query(`select status, warnings from ops.runs where id = $1`, [warned.runId]);
      expect(row.rows[0].status).toBe('succeeded with warnings');
      // Known and accepted (Google signals stay on): the next nightly run says nothing of it, and succeeds.
      const c = configSchema.parse({ ...config(), silenceWarnings: ['ga4-thresholds'] });
      const quiet = await runPipeline({ warehouse: wh, config: c, log: logger(), now: new Date('2024-03-13T09:00:00Z'), steps: [], sources: [{ source: ga4Source, config: c.sources.ga4 }] });
      expect(quiet.status).toBe('succeeded');
      expect(quiet.warnings).toEqual([]);
      expect(quiet.silenced).toEqual(['ga4-thresholds']);
      expect((await wh.pool.query(`select status, warnings from ops.runs where id = $1`, [quiet.runId])).rows[0]).toEqual({ status: 'succeeded', warnings: null });
    } finally {
      fake.thresholded = false;
    }
  });

  describe('a property added to propertyIds after the stream has a cursor', () => {
    const runWith = (propertyIds: string[], now: string, extra: Record<string, unknown> = {}) => run(now, { propertyIds, startDate: '2024-02-20', ...extra });
    /** The property and date of each day report asked for, in order. */
    const days = () => fake.reports.filter((r) => r.body.dimensions?.length).map((r) => `${r.propertyId} ${r.body.dateRanges![0]!.startDate}`);
    /** Each property's first and last date landed and how many dates it has. */
    const perProperty = async () =>
      (await wh.pool.query(
        `select _record->>'property_id' as property, min(_report_date)::text as first, max(_report_date)::text as last, count(distinct _report_date)::int as dates
           from raw.ga4__traffic_daily group by 1 order by 1`,
      )).rows;
    const cursor = async () => (await wh.pool.query(`select state from ops.stream_state where source = 'ga4' and stream = 'traffic_daily'`)).rows[0]?.state;

    beforeEach(async () => {
      await wh.pool.query(`delete from ops.stream_state where source = 'ga4'`);
      await wh.pool.query(`delete from raw.ga4__traffic_daily`);
      fake.rows = (property) => firstVersion(property);
      fake.quota.clear();
      fake.reports.length = 0;
    });
    afterEach(() => fake.quota.clear());

    it("reads the added property's every date from startDate and the other's lookback only, keeping the other's rows of the earlier dates", async () => {
      expect((await runWith(['111'], '2024-03-10T08:00:00Z')).status).toBe('succeeded');
      expect(await perProperty()).toEqual([{ property: '111', first: '2024-02-20', last: '2024-03-09', dates: 19 }]);

      fake.reports.length = 0;
      expect((await runWith(['111', '222'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      // Both over the 3 dates up to yesterday, then 222 alone from startDate to the day before them.
      const lookback = ['2024-03-08', '2024-03-09', '2024-03-10'];
      expect(days()).toEqual([
        ...lookback.flatMap((d) => [`111 ${d}`, `222 ${d}`]),
        ...daysFrom('2024-02-20', '2024-03-07').map((d) => `222 ${d}`),
      ]);
      expect(await perProperty()).toEqual([
        { property: '111', first: '2024-02-20', last: '2024-03-10', dates: 20 },
        { property: '222', first: '2024-02-20', last: '2024-03-10', dates: 20 },
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', propertyIds: ['111', '222'] });
    });

    it('keeps the other property\'s progress and leaves the added one unread when a quota stops its history half-way; the next run reads it again', async () => {
      expect((await runWith(['111'], '2024-03-10T08:00:00Z')).status).toBe('succeeded');
      // 222 has 100 tokens, 10 a request, and a reserve of 20 is kept: its probe and the 3 dates
      // of the lookback leave 60, and the history stops after 5 of its 17 dates.
      fake.setQuota('222', 100);
      const stopped = await runWith(['111', '222'], '2024-03-11T08:00:00Z', { quotaReserve: 20 });
      expect(stopped.status).toBe('failed');
      expect(stopped.error).toContain('GA4 property 222 has 10 tokens per hour left');
      expect(await cursor()).toEqual({ through: '2024-03-10', propertyIds: ['111'] });
      expect(await perProperty()).toEqual([
        { property: '111', first: '2024-02-20', last: '2024-03-10', dates: 20 },
        { property: '222', first: '2024-02-20', last: '2024-03-10', dates: 8 },
      ]);

      fake.quota.clear();
      fake.reports.length = 0;
      expect((await runWith(['111', '222'], '2024-03-11T09:00:00Z')).status).toBe('succeeded');
      expect(days().filter((d) => d.startsWith('111 '))).toEqual(['111 2024-03-08', '111 2024-03-09', '111 2024-03-10']);
      expect(await perProperty()).toEqual([
        { property: '111', first: '2024-02-20', last: '2024-03-10', dates: 20 },
        { property: '222', first: '2024-02-20', last: '2024-03-10', dates: 20 },
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', propertyIds: ['111', '222'] });
    });

    it('takes a cursor without the list, as earlier releases wrote it, as having read every configured property: nothing is read again', async () => {
      await wh.pool.query(`insert into ops.stream_state (source, stream, state, last_run_id, updated_at) values ('ga4', 'traffic_daily', '{"through":"2024-03-10"}', 'earlier', now())`);
      expect((await runWith(['111', '222'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      expect(days()).toEqual(['2024-03-08', '2024-03-09', '2024-03-10'].flatMap((d) => [`111 ${d}`, `222 ${d}`]));
      expect(await cursor()).toEqual({ through: '2024-03-10', propertyIds: ['111', '222'] });
    });
  });

  it('runs from the command line: a run lands every date the API served, and a second run changes no count', async () => {
    fake.rows = (property) => firstVersion(property);
    // The child process reads its own clock: "yesterday" is taken before and after each run, and
    // the run's last date must be one of the two (they differ only if UTC midnight passed).
    const startDate = shiftDate(utcToday(), -4);
    const configFile = join(dir, 'verite.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        // The properties report in EUR: a run that transforms needs no exchange rate then.
        reportingCurrency: 'EUR',
        sources: { ga4: { propertyIds: ['111', '222'], credentialsFile: fake.keyFile, apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http', startDate } },
      }),
    );
    const cli = await createTestDatabase('ga4_cli');
    try {
      const env = { DATABASE_URL: cli.url, VERITE_CONFIG: configFile };
      fake.resetServed();
      const first = await during(() => runCli(['run', '--sources', 'ga4'], { env }));
      expect(first.result.code, first.result.stderr).toBe(0);
      // Every date from startDate to yesterday (in UTC), 4 rows each (2 properties: 3 + 1).
      const landed = served();
      const last = Object.keys(landed).at(-1)!;
      expect(first.yesterdays).toContain(last);
      expect(landed).toEqual(Object.fromEntries(daysFrom(startDate, last).map((d) => [d, 4])));
      expect(await rowsPerDate(cli)).toEqual(landed);

      fake.resetServed();
      const second = await during(() => runCli(['run', '--sources', 'ga4'], { env }));
      expect(second.result.code, second.result.stderr).toBe(0);
      // The lookback re-read the last 3 dates up to the second run's yesterday; no date gained a row.
      const again = served();
      const secondLast = Object.keys(again).at(-1)!;
      expect(second.yesterdays).toContain(secondLast);
      expect(again).toEqual(Object.fromEntries(daysFrom(shiftDate(secondLast, -2), secondLast).map((d) => [d, 4])));
      expect(await rowsPerDate(cli)).toEqual({ ...landed, ...again });
      expect(fake.strays).toEqual([]);
    } finally {
      await cli.close();
    }
  });
});
