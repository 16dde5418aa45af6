import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type Ga4Config } from '../../config/schema.ts';
import { readTrafficDaily } from '../../extractors/ga4/read.ts';
import { setSleep } from '../../lib/http.ts';
import type { DateWindow, JsonValue, Page, ReadContext } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { startFakeGa4, type FakeGa4, type Ga4Row } from './support/ga4-server.ts';

let fake: FakeGa4;
let dir: string;
let waits: number[] = [];
let restoreSleep: () => void;

/** A report row with the source's dimensions and metrics (the `date` dimension is the server's). */
function row(channel: string, source: string, medium: string, campaign: string, device: string, sessions: number): Ga4Row {
  return {
    sessionDefaultChannelGroup: channel, sessionSource: source, sessionMedium: medium, sessionCampaignName: campaign, deviceCategory: device,
    sessions: String(sessions), totalUsers: String(sessions - 10), newUsers: String(sessions - 30), addToCarts: '12', checkouts: '6',
    ecommercePurchases: '3', purchaseRevenue: '149.7',
  };
}

const organic = row('Organic Search', 'google', 'organic', '(organic)', 'mobile', 120);
const paid = row('Paid Search', 'google', 'cpc', 'brand', 'desktop', 45);

interface Options {
  source?: Record<string, unknown>;
  state?: JsonValue | null;
  window?: DateWindow | null;
  now?: string;
}

function context(options: Options = {}): { ctx: ReadContext<Ga4Config>; warnings: string[] } {
  const global = configSchema.parse({
    sources: {
      ga4: { propertyIds: ['111'], credentialsFile: fake.keyFile, apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http', startDate: '2024-03-08', ...options.source },
    },
  });
  const config = global.sources.ga4!;
  const warnings: string[] = [];
  const ctx: ReadContext<Ga4Config> = {
    config, global, state: options.state ?? null, window: options.window ?? null, startDate: config.startDate!,
    lookbackDays: config.lookbackDays ?? 3, now: new Date(options.now ?? '2024-03-10T08:00:00Z'), log: logger(),
    signal: new AbortController().signal, secret: () => 'unused', warnOnce: (m) => void (warnings.includes(m) || warnings.push(m)),
  };
  return { ctx, warnings };
}

async function collect(ctx: ReadContext<Ga4Config>, into: Page[] = []): Promise<Page[]> {
  for await (const page of readTrafficDaily(ctx)) into.push(page);
  return into;
}

/** The day reports the server answered, as `property date offset`. */
const dayReports = () =>
  fake.reports.filter((r) => r.body.dimensions?.length).map((r) => `${r.propertyId} ${r.body.dateRanges![0]!.startDate} ${Number(r.body.offset ?? 0)}`);

beforeAll(async () => {
  restoreSleep = setSleep(async (ms) => void waits.push(ms));
  dir = mkdtempSync(join(tmpdir(), 'verite-ga4-'));
  fake = await startFakeGa4(dir);
});
afterAll(async () => {
  restoreSleep();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  waits = [];
  fake.reports.length = 0;
  fake.strays.length = 0;
  fake.quota.clear();
  fake.tokensPerRequest = 10;
  fake.properties.clear();
  fake.properties.set('111', { timeZone: 'UTC', currencyCode: 'EUR' });
  fake.rows = () => [organic, paid];
  fake.otherRow = false;
});
afterEach(() => {
  expect(fake.pendingScripts()).toBe(0);
  expect(fake.strays).toEqual([]);
});

describe('GA4 traffic_daily against a local Data API', () => {
  it('sends one single-day report per date, signed with the service account key, and flattens each row with its string values', async () => {
    const { ctx } = context();
    const pages = await collect(ctx);

    // The time-zone probe, then the 8th and the 9th (yesterday, in UTC, at 08:00 on the 10th).
    expect(fake.reports).toHaveLength(3);
    for (const report of fake.reports) {
      expect(report.claims.iss).toBe(fake.clientEmail);
      expect(report.query).toContain('$alt=json');
    }
    const day = fake.reports[1]!.body;
    expect(day.dateRanges).toEqual([{ startDate: '2024-03-08', endDate: '2024-03-08' }]);
    expect(day.dimensions).toEqual(['date', 'sessionDefaultChannelGroup', 'sessionSource', 'sessionMedium', 'sessionCampaignName', 'deviceCategory'].map((name) => ({ name })));
    expect(day.metrics).toEqual(['sessions', 'totalUsers', 'newUsers', 'addToCarts', 'checkouts', 'ecommercePurchases', 'purchaseRevenue'].map((name) => ({ name })));
    expect(day.limit).toBe('10000');
    expect(Number(day.offset ?? 0)).toBe(0);
    expect(day.keepEmptyRows ?? false).toBe(false);
    expect(day.returnPropertyQuota).toBe(true);
    expect(dayReports()).toEqual(['111 2024-03-08 0', '111 2024-03-09 0']);

    expect(pages.map((p) => ({ dates: p.dates, state: p.state, n: p.records.length }))).toEqual([
      { dates: ['2024-03-08'], state: { through: '2024-03-08', propertyIds: ['111'] }, n: 2 },
      { dates: ['2024-03-09'], state: { through: '2024-03-09', propertyIds: ['111'] }, n: 2 },
    ]);
    expect(pages[0]!.records[0]).toEqual({
      property_id: '111', date: '20240308', sessionDefaultChannelGroup: 'Organic Search', sessionSource: 'google', sessionMedium: 'organic',
      sessionCampaignName: '(organic)', deviceCategory: 'mobile', sessions: '120', totalUsers: '110', newUsers: '90', addToCarts: '12',
      checkouts: '6', ecommercePurchases: '3', purchaseRevenue: '149.7', property_time_zone: 'UTC', property_currency_code: 'EUR',
    });
  });

  it('pages with limit and offset until rowCount, and lands a day only once all its pages are in', async () => {
    fake.rows = (_p, date) => (date === '2024-03-09' ? ['a', 'b', 'c', 'd', 'e'].map((c, i) => row('Paid Search', 'google', 'cpc', c, 'mobile', 50 + i)) : [organic]);
    const { ctx } = context({ source: { pageSize: 2 } });
    const pages = await collect(ctx);
    // 1 row on the 8th: one request; 5 on the 9th: offsets 0, 2, 4.
    expect(dayReports()).toEqual(['111 2024-03-08 0', '111 2024-03-09 0', '111 2024-03-09 2', '111 2024-03-09 4']);
    expect(fake.reports.filter((r) => r.body.dimensions?.length).every((r) => r.body.limit === '2')).toBe(true);
    expect(pages).toHaveLength(2);
    expect(pages[1]!.dates).toEqual(['2024-03-09']);
    expect(pages[1]!.records.map((r) => (r as Record<string, unknown>).sessionCampaignName)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(pages[1]!.records.map((r) => (r as Record<string, unknown>).sessions)).toEqual(['50', '51', '52', '53', '54']);
  });

  it("reads up to yesterday in every property's own time zone, keeps the zone on each row, and warns once", async () => {
    fake.properties.set('222', { timeZone: 'America/Los_Angeles', currencyCode: 'USD' });
    const { ctx, warnings } = context({ source: { propertyIds: ['111', 'properties/222'], startDate: '2024-03-07' }, now: '2024-03-10T05:00:00Z' });
    const pages = await collect(ctx);
    // 05:00 UTC on the 10th is 21:00 on the 9th in Los Angeles: the 8th is its last complete day.
    expect(pages.map((p) => p.dates)).toEqual([['2024-03-07'], ['2024-03-08']]);
    expect(dayReports()).toEqual(['111 2024-03-07 0', '222 2024-03-07 0', '111 2024-03-08 0', '222 2024-03-08 0']);
    expect(pages[0]!.records.map((r) => (r as Record<string, unknown>).property_time_zone)).toEqual(['UTC', 'UTC', 'America/Los_Angeles', 'America/Los_Angeles']);
    expect(warnings).toEqual(['ga4: property 222 reports days in America/Los_Angeles, not in the reporting time zone UTC; its dates are taken as they are']);
  });

  it('warns once per run when GA4 grouped rows into "(other)", however many days it did', async () => {
    fake.otherRow = true;
    const { ctx, warnings } = context({ source: { startDate: '2024-03-05' } });
    expect(await collect(ctx)).toHaveLength(5);
    expect(warnings).toEqual(['ga4: property 111 grouped some rows of a day into "(other)" (too many distinct values); those rows\' dimensions are lost']);
  });

  it('re-reads the lookback behind the cursor, and a backfill reads its window without moving the cursor back', async () => {
    const incremental = await collect(context({ state: { through: '2024-03-11', propertyIds: ['111'] }, now: '2024-03-12T08:00:00Z' }).ctx);
    // Lookback 3: the 9th, 10th and 11th again.
    expect(incremental.map((p) => [p.dates, p.state])).toEqual([
      [['2024-03-09'], { through: '2024-03-11', propertyIds: ['111'] }],
      [['2024-03-10'], { through: '2024-03-11', propertyIds: ['111'] }],
      [['2024-03-11'], { through: '2024-03-11', propertyIds: ['111'] }],
    ]);

    const missed = await collect(context({ state: { through: '2024-03-05', propertyIds: ['111'] }, now: '2024-03-12T08:00:00Z', source: { startDate: '2024-03-01', lookbackDays: 2 } }).ctx);
    // Runs were missed: from the day after the cursor, not only the last 2 days.
    expect(missed.map((p) => p.dates![0])).toEqual(['2024-03-06', '2024-03-07', '2024-03-08', '2024-03-09', '2024-03-10', '2024-03-11']);

    const backfill = await collect(context({ state: { through: '2024-03-11', propertyIds: ['111'] }, window: { from: '2024-02-01', to: '2024-02-02' } }).ctx);
    expect(backfill.map((p) => [p.dates, p.state])).toEqual([
      [['2024-02-01'], { through: '2024-03-11', propertyIds: ['111'] }],
      [['2024-02-02'], { through: '2024-03-11', propertyIds: ['111'] }],
    ]);
  });

  it('stops before the hourly token quota runs out, naming the quota, what is left and when to run again', async () => {
    // 10 tokens a request, 85 to start with: 75 after the probe, then 65, 55, 45 after the 6th, 7th, 8th.
    fake.setQuota('111', 85);
    const { ctx } = context({ source: { startDate: '2024-03-06' } });
    const pages: Page[] = [];
    const error = await collect(ctx, pages).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractError);
    expect((error as Error).message).toBe(
      '[ga4.traffic_daily, runReport properties/111 2024-03-09 offset 0] GA4 property 111 has 45 tokens per hour left (quotaReserve is 50): ' +
        'stopping before the quota runs out; dates through 2024-03-08 are landed. Run again in an hour, once the hourly quota has refilled.',
    );
    expect((error as ExtractError).permanent).toBe(true);
    expect(pages.map((p) => p.dates![0])).toEqual(['2024-03-06', '2024-03-07', '2024-03-08']);
    // Nothing was asked for the 9th.
    expect(dayReports()).toEqual(['111 2024-03-06 0', '111 2024-03-07 0', '111 2024-03-08 0']);
  });

  it('never lands half a day: a daily quota that runs low between two pages of a date stops before the date is landed', async () => {
    fake.rows = () => [organic, paid, organic, paid, organic].map((r, i) => ({ ...r, sessionCampaignName: `c${i}` }));
    // The day budget: 70, then 60 after the probe, 50 after the 8th's first page, 40 after its second.
    fake.setQuota('111', 40_000, 70);
    const { ctx } = context({ source: { pageSize: 2 } });
    const pages: Page[] = [];
    const error = await collect(ctx, pages).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      'GA4 property 111 has 40 tokens per day left (quotaReserve is 50): stopping before the quota runs out. Run again after midnight Pacific time, when the daily quota refills.',
    );
    expect(pages).toEqual([]);
    expect(dayReports()).toEqual(['111 2024-03-08 0', '111 2024-03-08 2']);
  });

  it('takes an exhausted-quota refusal as a stop, not as something to retry', async () => {
    fake.script({ code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Exhausted property tokens per hour. Wait for the hourly tokens to refresh.', match: (r) => Boolean(r.body.dimensions?.length) });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      '[ga4.traffic_daily, runReport properties/111 2024-03-08 offset 0, HTTP 429] GA4 property 111 has exhausted its tokens per hour: ' +
        'stopping before the quota runs out. Run again in an hour, once the hourly quota has refilled.',
    );
    // Nor is the stream tried again by the pipeline.
    expect((error as ExtractError).permanent).toBe(true);
    expect(dayReports()).toEqual(['111 2024-03-08 0']);
    expect(waits).toEqual([]);
  });

  it('retries UNAVAILABLE and too many concurrent requests with backoff, then goes on', async () => {
    const first = (r: { body: { dimensions?: unknown[]; dateRanges?: { startDate: string }[] } }) => Boolean(r.body.dimensions?.length) && r.body.dateRanges![0]!.startDate === '2024-03-08';
    fake.script(
      { code: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.', match: first },
      { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'Exhausted concurrent requests quota.', match: first },
    );
    const pages = await collect(context().ctx);
    expect(pages.map((p) => p.dates![0])).toEqual(['2024-03-08', '2024-03-09']);
    expect(dayReports()).toEqual(['111 2024-03-08 0', '111 2024-03-08 0', '111 2024-03-08 0', '111 2024-03-09 0']);
    expect(waits).toHaveLength(2);
  });

  it('gives up on an answer that does not come within timeoutSeconds, and asks again', async () => {
    fake.script({ delayMs: 2_000, match: (r) => Boolean(r.body.dimensions?.length) && r.body.dateRanges![0]!.startDate === '2024-03-09' });
    const pages = await collect(context({ source: { timeoutSeconds: 0.2 } }).ctx);
    expect(dayReports()).toEqual(['111 2024-03-08 0', '111 2024-03-09 0', '111 2024-03-09 0']);
    expect(waits).toHaveLength(1);
    expect(pages.map((p) => [p.dates![0], p.records.length])).toEqual([['2024-03-08', 2], ['2024-03-09', 2]]);
  });

  it('fails at once, saying what to do, when the credential may not read the property', async () => {
    const error = await collect(context({ source: { propertyIds: ['333'] } }).ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractError);
    expect((error as Error).message).toMatch(/^\[ga4\.traffic_daily, runReport properties\/333 \(time zone\), HTTP 403\] the credential may not read GA4 property 333 \(PERMISSION_DENIED: User does not have sufficient permissions for this property\.\)/);
    expect((error as Error).message).toContain('Property access management');
    expect(fake.reports).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('names what is wrong with a credentials file that is no service account\'s key, before any request', async () => {
    const failure = async (name: string, content: string | Buffer) => {
      writeFileSync(join(dir, name), content);
      const error = await collect(context({ source: { credentialsFile: join(dir, name) } }).ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExtractError);
      return (error as Error).message.replace(`${join(dir, name)} `, '');
    };
    // The OAuth client's file the console offers beside the service account's key.
    expect(await failure('client_secret_123.json', JSON.stringify({ installed: { client_id: '123.apps.googleusercontent.com', client_secret: 'x' } }))).toMatch(
      /^\[ga4\.traffic_daily\] credentialsFile is an OAuth client's file \(a client ID and secret\), which signs nobody in by itself: verite reads GA4 as a service account; create a key of a service account/,
    );
    expect(await failure('cut.json', '{"type": "service_account", "client_email": "verite@p.iam.gserviceaccount.com"')).toMatch(/credentialsFile is not JSON \(.*\): expected the JSON key of a service account/);
    expect(await failure('nokey.json', JSON.stringify({ type: 'service_account', client_email: 'verite@p.iam.gserviceaccount.com' }))).toMatch(/credentialsFile is a service account's key without its private_key: download the key again$/);
    expect(await failure('other.json', JSON.stringify({ apiKey: 'x' }))).toMatch(/credentialsFile is not a Google credential \(it has no "type"\)/);
    const key = readFileSync(fake.keyFile);
    expect(await failure('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), key]))).toMatch(/credentialsFile starts with a byte-order mark/);
    expect(fake.reports).toHaveLength(0);
  });

  it('names a credentials file that does not exist', async () => {
    const error = await collect(context({ source: { credentialsFile: join(dir, 'missing.json') } }).ctx).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/credentialsFile .*missing\.json does not exist/);
    expect(fake.reports).toHaveLength(0);
  });
});
