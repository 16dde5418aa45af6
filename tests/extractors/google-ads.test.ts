import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GoogleError } from 'google-gax';
import { errors } from 'google-ads-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type GoogleAdsConfig } from '../../config/schema.ts';
import type { GoogleAdsClientFactory, GoogleAdsRow, GoogleAdsSecrets } from '../../extractors/google-ads/client.ts';
import { createGoogleAdsSource } from '../../extractors/google-ads/index.ts';
import { ACCOUNT_QUERY, campaignQuery, readCampaignDaily } from '../../extractors/google-ads/read.ts';
import { setSleep } from '../../lib/http.ts';
import type { DateWindow, JsonValue, Page, ReadContext } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * google-ads-api sends its requests to Google's fixed address, so these tests fill the client
 * seam: a client that answers GAQL like the API, with rows in the package's own shape (nested
 * snake_case objects, int64 fields and enums as numbers) and the package's own error class
 * (`GoogleAdsFailure`, error codes as enum numbers, a quota error's `retry_delay` lost in its
 * parsing). google-ads-sdk.test.ts checks that the real package yields and throws these shapes.
 */

const { RequestError } = errors.RequestErrorEnum;
const { QuotaError } = errors.QuotaErrorEnum;
const { InternalError } = errors.InternalErrorEnum;
const { AuthorizationError } = errors.AuthorizationErrorEnum;

interface Campaign {
  id: number;
  name: string;
  cost: number;
  clicks: number;
  impressions: number;
  conversions: number;
  value: number;
}

interface Account {
  time_zone: string;
  currency_code: string;
  manager?: boolean;
}

/** A failure thrown by the next matching query, after yielding `after` of its rows. */
interface Failure {
  error: unknown;
  match?: (customerId: string, gaql: string) => boolean;
  after?: number;
  /** Instead of failing, the stream stops sending and never ends (a stalled connection). */
  stall?: boolean;
}

const accounts = new Map<string, Account>();
let campaigns: (customerId: string, date: string) => Campaign[] = () => [];
let queries: { customerId: string; gaql: string }[] = [];
let failures: Failure[] = [];
let made: { config: GoogleAdsConfig; secrets: GoogleAdsSecrets }[] = [];
let waits: number[] = [];
let restoreSleep: () => void;

/** A campaign-day row exactly as google-ads-api's queryStream yields it. */
function sdkRow(customerId: string, account: Account, date: string, c: Campaign): GoogleAdsRow {
  return {
    customer: { resource_name: `customers/${customerId}`, id: Number(customerId), currency_code: account.currency_code, time_zone: account.time_zone },
    campaign: { resource_name: `customers/${customerId}/campaigns/${c.id}`, id: c.id, name: c.name },
    segments: { date },
    metrics: { cost_micros: c.cost, clicks: c.clicks, impressions: c.impressions, conversions: c.conversions, conversions_value: c.value },
  };
}

function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const factory: GoogleAdsClientFactory = (config, secrets) => {
  made.push({ config, secrets });
  return {
    apiVersion: 'v24',
    library: 'google-ads-api 24.1.0',
    async *queryStream(customerId, gaql) {
      queries.push({ customerId, gaql });
      const account = accounts.get(customerId);
      if (!account) throw new errors.GoogleAdsFailure({ errors: [{ error_code: { request_error: RequestError.INVALID_CUSTOMER_ID }, message: 'Invalid customer ID.' }] });
      let rows: GoogleAdsRow[];
      if (/ FROM customer$/.test(gaql)) {
        rows = [{ customer: { resource_name: `customers/${customerId}`, id: Number(customerId), time_zone: account.time_zone, currency_code: account.currency_code, ...(account.manager ? { manager: true } : {}) } }];
      } else {
        const [, from, to] = /BETWEEN '(\d{4}-\d{2}-\d{2})' AND '(\d{4}-\d{2}-\d{2})'/.exec(gaql)!;
        rows = daysOf(from!, to!).flatMap((date) => campaigns(customerId, date).map((c) => sdkRow(customerId, account, date, c)));
      }
      const at = failures.findIndex((f) => !f.match || f.match(customerId, gaql));
      const failure = at >= 0 ? failures.splice(at, 1)[0] : undefined;
      for (const [i, row] of rows.entries()) {
        if (failure && i === (failure.after ?? 0)) {
          if (failure.stall) await new Promise(() => undefined);
          throw failure.error;
        }
        yield row;
      }
      if (failure) throw failure.error;
    },
  };
};

const campaign = (id: number, cost: number, clicks = 10): Campaign => ({ id, name: `Campaign ${id}`, cost, clicks, impressions: clicks * 40, conversions: 1.5, value: 42.25 });

const ENV = {
  GADS_TEST_DEVELOPER_TOKEN: 'dev-token-0123456789',
  GADS_TEST_CLIENT_ID: 'client-id.apps.googleusercontent.com',
  GADS_TEST_CLIENT_SECRET: 'client-secret-0123456789',
  GADS_TEST_REFRESH_TOKEN: '1//refresh-token-0123456789',
};

function sourceConfig(extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    sources: {
      google_ads: {
        customerIds: ['123-456-7890'], loginCustomerId: '111-222-3333', startDate: '2024-03-01',
        developerTokenEnv: 'GADS_TEST_DEVELOPER_TOKEN', clientIdEnv: 'GADS_TEST_CLIENT_ID', clientSecretEnv: 'GADS_TEST_CLIENT_SECRET', refreshTokenEnv: 'GADS_TEST_REFRESH_TOKEN',
        ...extra,
      },
    },
  });
}

function context(options: { source?: Record<string, unknown>; state?: JsonValue | null; window?: DateWindow | null; now?: string; secrets?: Partial<typeof ENV> } = {}) {
  const global = sourceConfig(options.source);
  const config = global.sources.google_ads!;
  const warnings: string[] = [];
  const ctx: ReadContext<GoogleAdsConfig> = {
    config, global, state: options.state ?? null, window: options.window ?? null, startDate: config.startDate!,
    lookbackDays: config.lookbackDays ?? 30, now: new Date(options.now ?? '2024-03-10T08:00:00Z'), log: logger(),
    signal: new AbortController().signal, secret: (name) => ({ ...ENV, ...options.secrets } as Record<string, string>)[name]!, warnOnce: (m) => void (warnings.includes(m) || warnings.push(m)),
  };
  return { ctx, warnings };
}

async function collect(ctx: ReadContext<GoogleAdsConfig>, into: Page[] = []): Promise<Page[]> {
  for await (const page of readCampaignDaily(ctx, factory)) into.push(page);
  return into;
}

const campaignWindows = () => queries.filter((q) => / FROM campaign /.test(q.gaql)).map((q) => `${q.customerId} ${/BETWEEN '(.+)' AND '(.+)'/.exec(q.gaql)!.slice(1).join('..')}`);

beforeAll(() => {
  restoreSleep = setSleep(async (ms) => void waits.push(ms));
});
afterAll(() => restoreSleep());
beforeEach(() => {
  accounts.clear();
  accounts.set('1234567890', { time_zone: 'UTC', currency_code: 'EUR' });
  campaigns = () => [campaign(11, 1_500_000), campaign(12, 250_000, 3)];
  queries = [];
  failures = [];
  made = [];
  waits = [];
});

describe('Google Ads campaign_daily through the client seam', () => {
  it("asks each customer's zone, then one GAQL query per customer and window, and lands one page per date with every customer's rows", async () => {
    accounts.set('9876543210', { time_zone: 'UTC', currency_code: 'USD' });
    campaigns = (customer) => (customer === '1234567890' ? [campaign(11, 1_500_000), campaign(12, 250_000, 3)] : [campaign(77, 9_990_000)]);
    const { ctx } = context({ source: { customerIds: ['123-456-7890', 9876543210] } });
    const pages = await collect(ctx);

    expect(made).toHaveLength(1);
    expect(made[0]!.config.loginCustomerId).toBe('1112223333');
    expect(made[0]!.secrets).toEqual({
      developerToken: ENV.GADS_TEST_DEVELOPER_TOKEN, clientId: ENV.GADS_TEST_CLIENT_ID, clientSecret: ENV.GADS_TEST_CLIENT_SECRET, refreshToken: ENV.GADS_TEST_REFRESH_TOKEN,
    });
    expect(queries.slice(0, 2)).toEqual([
      { customerId: '1234567890', gaql: 'SELECT customer.id, customer.time_zone, customer.currency_code, customer.manager FROM customer' },
      { customerId: '9876543210', gaql: ACCOUNT_QUERY },
    ]);
    expect(queries[2]!.gaql).toBe(
      'SELECT customer.id, customer.currency_code, customer.time_zone, campaign.id, campaign.name, segments.date, metrics.cost_micros, ' +
        "metrics.clicks, metrics.impressions, metrics.conversions, metrics.conversions_value FROM campaign WHERE segments.date BETWEEN '2024-03-01' AND '2024-03-07'",
    );
    // The 1st to the 9th (yesterday at 08:00 UTC on the 10th), in windows of 7 days, customers inside each window.
    expect(campaignWindows()).toEqual(['1234567890 2024-03-01..2024-03-07', '9876543210 2024-03-01..2024-03-07', '1234567890 2024-03-08..2024-03-09', '9876543210 2024-03-08..2024-03-09']);

    expect(pages.map((p) => p.dates![0])).toEqual(daysOf('2024-03-01', '2024-03-09'));
    expect(pages.map((p) => p.state)).toEqual(daysOf('2024-03-01', '2024-03-09').map((through) => ({ through, customerIds: ['1234567890', '9876543210'] })));
    expect(pages.every((p) => p.records.length === 3)).toBe(true);
    expect(pages[0]!.records).toEqual([
      {
        customer: { resource_name: 'customers/1234567890', id: 1234567890, currency_code: 'EUR', time_zone: 'UTC' },
        campaign: { resource_name: 'customers/1234567890/campaigns/11', id: 11, name: 'Campaign 11' },
        segments: { date: '2024-03-01' },
        metrics: { cost_micros: 1_500_000, clicks: 10, impressions: 400, conversions: 1.5, conversions_value: 42.25 },
      },
      expect.objectContaining({ campaign: expect.objectContaining({ id: 12 }) }),
      expect.objectContaining({ customer: expect.objectContaining({ id: 9876543210, currency_code: 'USD' }), campaign: expect.objectContaining({ id: 77 }) }),
    ]);
  });

  it("reads up to yesterday in the account's own time zone, and warns once that it differs from the reporting zone", async () => {
    accounts.set('1234567890', { time_zone: 'America/Los_Angeles', currency_code: 'USD' });
    const { ctx, warnings } = context({ now: '2024-03-10T05:00:00Z', source: { startDate: '2024-03-07' } });
    const pages = await collect(ctx);
    // 05:00 UTC on the 10th is 21:00 on the 9th in Los Angeles: the 8th is the last complete day.
    expect(pages.map((p) => p.dates![0])).toEqual(['2024-03-07', '2024-03-08']);
    expect(warnings).toEqual(['google_ads: customer 1234567890 reports days in America/Los_Angeles, not in the reporting time zone UTC; its dates are taken as they are']);
  });

  it('re-reads 30 days behind the last complete day, and never moves the cursor back', async () => {
    const { ctx } = context({ state: { through: '2024-03-20' }, now: '2024-03-25T08:00:00Z', source: { startDate: '2024-01-01' } });
    const pages = await collect(ctx);
    // The 24th is the last complete day; 30 days back from it is 2024-02-24.
    expect(campaignWindows()).toEqual([
      '1234567890 2024-02-24..2024-03-01', '1234567890 2024-03-02..2024-03-08', '1234567890 2024-03-09..2024-03-15',
      '1234567890 2024-03-16..2024-03-22', '1234567890 2024-03-23..2024-03-24',
    ]);
    expect(pages).toHaveLength(30);
    expect(pages[0]!.state).toEqual({ through: '2024-03-20', customerIds: ['1234567890'] });
    expect(pages[26]!).toMatchObject({ dates: ['2024-03-21'], state: { through: '2024-03-21' } });
    expect(pages[29]!.state).toEqual({ through: '2024-03-24', customerIds: ['1234567890'] });
  });

  it('tells the user to upgrade verite when Google answers that the API version is sunset', async () => {
    failures.push({
      error: new errors.GoogleAdsFailure({
        errors: [{ error_code: { request_error: RequestError.UNSUPPORTED_VERSION }, message: 'Version v24 is deprecated. Requests to this version will be blocked.' }],
        request_id: 'Xy12AbC',
      }),
    });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractError);
    expect((error as Error).message).toBe(
      '[google_ads.campaign_daily, customer 1234567890 time zone (v24)] Google Ads no longer serves v24 (request_error.UNSUPPORTED_VERSION: ' +
        'Version v24 is deprecated. Requests to this version will be blocked. (request id Xy12AbC)). This verite speaks Google Ads API v24 ' +
        'through google-ads-api 24.1.0, and Google shuts each Google Ads API version off about a year after its release ' +
        '(https://developers.google.com/google-ads/api/docs/sunset-dates). Upgrade verite to a release that pins a newer google-ads-api',
    );
    expect(queries).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('reads a gRPC UNIMPLEMENTED answer (a method of a shut-off version) the same way', async () => {
    const grpc = Object.assign(new GoogleError("12 UNIMPLEMENTED: GRPC target method can't be resolved."), { code: 12, details: "GRPC target method can't be resolved." });
    failures.push({ error: grpc, match: (_c, gaql) => / FROM campaign /.test(gaql) });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^\[google_ads\.campaign_daily, window 2024-03-01\.\.2024-03-07, searchStream customer 1234567890 2024-03-01\.\.2024-03-07 \(v24\)\] Google Ads no longer serves v24 \(UNIMPLEMENTED: GRPC target method can't be resolved\.\)\./);
    expect((error as Error).message).toContain('Upgrade verite');
    expect(waits).toEqual([]);
  });

  it('waits the delay a rate-limit refusal asks for, then asks for the whole window again', async () => {
    failures.push({
      error: new errors.GoogleAdsFailure({
        errors: [{ error_code: { quota_error: QuotaError.RESOURCE_TEMPORARILY_EXHAUSTED }, message: 'Too many requests. Retry in 30 seconds.', details: { quota_error_details: { rate_name: 'Requests per account' } } }],
      }),
      match: (_c, gaql) => / FROM campaign /.test(gaql),
      after: 5,
    });
    const pages = await collect(context().ctx);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(30_000);
    expect(campaignWindows()).toEqual(['1234567890 2024-03-01..2024-03-07', '1234567890 2024-03-01..2024-03-07', '1234567890 2024-03-08..2024-03-09']);
    // The 5 rows yielded before the refusal are not kept twice: 2 campaigns a day.
    expect(pages.map((p) => p.records.length)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it("stops at once, naming the developer token's limit, when Google asks to wait for hours", async () => {
    failures.push({
      error: new errors.GoogleAdsFailure({
        errors: [{ error_code: { quota_error: QuotaError.RESOURCE_EXHAUSTED }, message: 'Too many requests. Retry in 5603 seconds.', details: { quota_error_details: { rate_name: 'Number of operations for basic access' } } }],
      }),
    });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toContain('Google Ads refuses more requests for 93 minutes');
    expect((error as Error).message).toContain("the developer token's daily operations limit (Explorer and Basic access have one, 15,000 operations a day for Basic");
    expect((error as ExtractError).permanent).toBe(true);
    expect(waits).toEqual([]);
  });

  it('retries transient internal errors and broken-off streams', async () => {
    failures.push(
      { error: new errors.GoogleAdsFailure({ errors: [{ error_code: { internal_error: InternalError.TRANSIENT_ERROR }, message: 'The request failed because of a transient error.' }] }), match: (_c, g) => / FROM customer$/.test(g) },
      { error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), match: (_c, g) => / FROM campaign /.test(g), after: 3 },
    );
    const pages = await collect(context().ctx);
    expect(waits).toHaveLength(2);
    expect(pages.map((p) => p.records.length)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('gives up a stream that stalls after idleTimeoutSeconds and asks for the window again', async () => {
    // The third row of the first campaign window never comes: the client has no time-out of its own.
    failures.push({ error: undefined, stall: true, match: (_c, g) => / FROM campaign /.test(g), after: 2 });
    const pages = await collect(context({ source: { idleTimeoutSeconds: 0.05 } }).ctx);
    // One pause before the second attempt, then every date of the window, each row once.
    expect(waits).toHaveLength(1);
    expect(campaignWindows()).toEqual(['1234567890 2024-03-01..2024-03-07', '1234567890 2024-03-01..2024-03-07', '1234567890 2024-03-08..2024-03-09']);
    expect(pages.map((p) => p.records.length)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it('refuses a manager account in customerIds, saying where it belongs', async () => {
    accounts.set('1234567890', { time_zone: 'UTC', currency_code: 'EUR', manager: true });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      '[google_ads.campaign_daily, customer 1234567890 time zone] customer 1234567890 is a manager account, which has no campaigns of its own: ' +
        'list its client accounts in customerIds and put 1234567890 in loginCustomerId',
    );
  });

  it('refuses an access token where the refresh token goes, and a client ID and secret swapped, before any request', async () => {
    const failure = async (secrets: Partial<typeof ENV>) => {
      const error = await collect(context({ secrets }).ctx).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExtractError);
      expect((error as ExtractError).permanent).toBe(true);
      return (error as Error).message;
    };
    // What the OAuth Playground shows first is the access token, valid an hour.
    expect(await failure({ GADS_TEST_REFRESH_TOKEN: 'ya29.a0AfB_byC-access-token' })).toBe(
      '[google_ads.campaign_daily] GADS_TEST_REFRESH_TOKEN holds an access token (ya29.…), which expires within the hour: put the refresh token (1//…) there, given with it when the access was granted',
    );
    expect(await failure({ GADS_TEST_CLIENT_ID: 'GOCSPX-secret0123456789', GADS_TEST_CLIENT_SECRET: 'client-id.apps.googleusercontent.com' })).toBe(
      '[google_ads.campaign_daily] GADS_TEST_CLIENT_ID and GADS_TEST_CLIENT_SECRET look swapped: the client ID ends in .apps.googleusercontent.com, the client secret starts with GOCSPX-',
    );
    expect(made).toEqual([]);
    expect(queries).toEqual([]);
  });

  it('names the remedy of a refusal it knows', async () => {
    failures.push({
      error: new errors.GoogleAdsFailure({ errors: [{ error_code: { authorization_error: AuthorizationError.USER_PERMISSION_DENIED }, message: "User doesn't have permission to access customer." }], request_id: 'r-9' }),
    });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toContain("Google Ads refused the query for customer 1234567890: authorization_error.USER_PERMISSION_DENIED: User doesn't have permission to access customer. (request id r-9).");
    expect((error as Error).message).toContain('set loginCustomerId to the manager account through which it has');
    expect((error as ExtractError).permanent).toBe(true);
    expect(waits).toEqual([]);
  });

  it('leaves an access token that expired mid-run retryable by the pipeline: a new attempt gets a new one', async () => {
    failures.push({
      error: new errors.GoogleAdsFailure({ errors: [{ error_code: { authentication_error: errors.AuthenticationErrorEnum.AuthenticationError.OAUTH_TOKEN_EXPIRED }, message: 'Authentication failed.' }] }),
    });
    const error = await collect(context().ctx).catch((e: unknown) => e);
    expect((error as Error).message).toContain('The access token expired mid-run; run again');
    expect((error as ExtractError).permanent).toBe(false);
  });
});

describe('Google Ads through the loader', () => {
  let wh: Warehouse;
  const source = createGoogleAdsSource(factory);

  beforeAll(async () => {
    wh = await createTestDatabase('google_ads');
    Object.assign(process.env, ENV);
  });
  afterAll(async () => {
    for (const name of Object.keys(ENV)) delete process.env[name];
    await wh?.close();
  });

  async function run(now: string) {
    const config = sourceConfig({ customerIds: ['1234567890', '9876543210'] });
    return runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], sources: [{ source, config: config.sources.google_ads }] });
  }

  async function rowsPerDate(): Promise<Record<string, number>> {
    const res = await wh.pool.query(`select _report_date::text as date, count(*)::int as n from raw.google_ads__campaign_daily group by 1 order by 1`);
    return Object.fromEntries(res.rows.map((r) => [r.date as string, r.n as number]));
  }

  /** Rows the API returned per date, for every customer: what each date must hold. */
  const apiRows = (from: string, to: string) => Object.fromEntries(daysOf(from, to).map((d) => [d, ['1234567890', '9876543210'].reduce((n, c) => n + campaigns(c, d).length, 0)] as const).filter(([, n]) => n > 0));

  it('keeps, for every date, exactly the rows the API returned, a day restated inside the lookback included', async () => {
    accounts.set('9876543210', { time_zone: 'UTC', currency_code: 'USD' });
    campaigns = (customer) => (customer === '1234567890' ? [campaign(11, 1_500_000), campaign(12, 250_000)] : [campaign(77, 9_990_000)]);
    expect((await run('2024-03-10T08:00:00Z')).status).toBe('succeeded');
    expect(await rowsPerDate()).toEqual(apiRows('2024-03-01', '2024-03-09'));
    expect(Object.values(await rowsPerDate())).toEqual([3, 3, 3, 3, 3, 3, 3, 3, 3]);

    // Google restates the 4th (campaign 12 gone, 11 cost more) and the 6th (no spend at all any more).
    campaigns = (customer, date) => {
      if (date === '2024-03-06') return [];
      if (customer === '1234567890') return date === '2024-03-04' ? [campaign(11, 1_750_000)] : [campaign(11, 1_500_000), campaign(12, 250_000)];
      return [campaign(77, 9_990_000)];
    };
    for (let i = 0; i < 2; i++) {
      expect((await run('2024-03-11T08:00:00Z')).status).toBe('succeeded');
      expect(await rowsPerDate()).toEqual(apiRows('2024-03-01', '2024-03-10'));
    }
    expect(await rowsPerDate()).toMatchObject({ '2024-03-04': 2, '2024-03-05': 3, '2024-03-10': 3 });
    expect((await rowsPerDate())['2024-03-06']).toBeUndefined();
    const fourth = await wh.pool.query(
      `select _record #>> '{campaign,id}' as campaign, _record #>> '{metrics,cost_micros}' as cost from raw.google_ads__campaign_daily where _report_date = '2024-03-04' order by 1`,
    );
    expect(fourth.rows).toEqual([{ campaign: '11', cost: '1750000' }, { campaign: '77', cost: '9990000' }]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'google_ads' and stream = 'campaign_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-10', customerIds: ['1234567890', '9876543210'] });
  });

  it('re-reads the default lookback of 30 days: after missed runs from right after the cursor, then the 30 dates up to yesterday', async () => {
    // No lookbackDays in the config: the stream's default (30) applies.
    const config = sourceConfig({ customerIds: ['1234567890'], startDate: '2024-01-01' });
    expect(config.sources.google_ads!.lookbackDays).toBeUndefined();
    const runAt = (now: string) => runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], sources: [{ source, config: config.sources.google_ads }] });
    await wh.pool.query(`delete from ops.stream_state where source = 'google_ads'`);
    await wh.pool.query(
      `insert into ops.stream_state (source, stream, state, last_run_id, updated_at) values ('google_ads', 'campaign_daily', '{"through":"2024-02-01"}', 'earlier', now())`,
    );

    // Forty days on: yesterday is 2024-03-11, and 30 dates back from it is 2024-02-11, but the
    // cursor is older (2024-02-01): the read goes on right after it, from 2024-02-02.
    queries = [];
    expect((await runAt('2024-03-12T08:00:00Z')).status).toBe('succeeded');
    expect(campaignWindows()).toEqual([
      '1234567890 2024-02-02..2024-02-08', '1234567890 2024-02-09..2024-02-15', '1234567890 2024-02-16..2024-02-22',
      '1234567890 2024-02-23..2024-02-29', '1234567890 2024-03-01..2024-03-07', '1234567890 2024-03-08..2024-03-11',
    ]);

    // The next day: yesterday is 2024-03-12; the 30 dates ending on it start on 2024-02-12
    // (12 days back to 2024-02-29, 17 more within February of a leap year).
    queries = [];
    expect((await runAt('2024-03-13T08:00:00Z')).status).toBe('succeeded');
    expect(campaignWindows()).toEqual([
      '1234567890 2024-02-12..2024-02-18', '1234567890 2024-02-19..2024-02-25', '1234567890 2024-02-26..2024-03-03',
      '1234567890 2024-03-04..2024-03-10', '1234567890 2024-03-11..2024-03-12',
    ]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'google_ads' and stream = 'campaign_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-12', customerIds: ['1234567890'] });
  });

  describe('a customer added to customerIds after the stream has a cursor', () => {
    const runWith = (customerIds: string[], now: string) => {
      const config = sourceConfig({ customerIds, startDate: '2024-01-01', queryWindowDays: 14 });
      return runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], sources: [{ source, config: config.sources.google_ads }] });
    };
    /** Each customer's first and last date landed and how many dates it has. */
    const perCustomer = async () =>
      (await wh.pool.query(
        `select _record #>> '{customer,id}' as customer, min(_report_date)::text as first, max(_report_date)::text as last, count(distinct _report_date)::int as dates
           from raw.google_ads__campaign_daily group by 1 order by 1`,
      )).rows;
    const cursor = async () => (await wh.pool.query(`select state from ops.stream_state where source = 'google_ads' and stream = 'campaign_daily'`)).rows[0]?.state;

    beforeEach(async () => {
      await wh.pool.query(`delete from ops.stream_state where source = 'google_ads'`);
      await wh.pool.query(`delete from raw.google_ads__campaign_daily`);
      accounts.set('9876543210', { time_zone: 'UTC', currency_code: 'USD' });
      campaigns = (customer) => (customer === '1234567890' ? [campaign(11, 1_500_000)] : [campaign(77, 9_990_000)]);
    });

    it('reads the added customer from startDate in windows and the other from its lookback only, keeping the other\'s rows of the earlier dates', async () => {
      expect((await runWith(['1234567890'], '2024-03-10T08:00:00Z')).status).toBe('succeeded');
      expect(await perCustomer()).toEqual([{ customer: '1234567890', first: '2024-01-01', last: '2024-03-09', dates: 69 }]);
      expect(await cursor()).toEqual({ through: '2024-03-09', customerIds: ['1234567890'] });

      queries = [];
      expect((await runWith(['1234567890', '9876543210'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      // Both over the 30 dates up to yesterday (2024-02-10 to 2024-03-10), then 9876543210 alone
      // from startDate to the day before them, in windows of queryWindowDays (14).
      expect(campaignWindows()).toEqual([
        '1234567890 2024-02-10..2024-02-23', '9876543210 2024-02-10..2024-02-23',
        '1234567890 2024-02-24..2024-03-08', '9876543210 2024-02-24..2024-03-08',
        '1234567890 2024-03-09..2024-03-10', '9876543210 2024-03-09..2024-03-10',
        '9876543210 2024-01-01..2024-01-14', '9876543210 2024-01-15..2024-01-28', '9876543210 2024-01-29..2024-02-09',
      ]);
      expect(await perCustomer()).toEqual([
        { customer: '1234567890', first: '2024-01-01', last: '2024-03-10', dates: 70 },
        { customer: '9876543210', first: '2024-01-01', last: '2024-03-10', dates: 70 },
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', customerIds: ['1234567890', '9876543210'] });

      // The next day both are read from their lookback only.
      queries = [];
      expect((await runWith(['1234567890', '9876543210'], '2024-03-12T08:00:00Z')).status).toBe('succeeded');
      expect(campaignWindows()).toEqual([
        '1234567890 2024-02-11..2024-02-24', '9876543210 2024-02-11..2024-02-24',
        '1234567890 2024-02-25..2024-03-09', '9876543210 2024-02-25..2024-03-09',
        '1234567890 2024-03-10..2024-03-11', '9876543210 2024-03-10..2024-03-11',
      ]);
    });

    it('takes a cursor without the list, as earlier releases wrote it, as having read every configured customer: nothing is read again', async () => {
      await wh.pool.query(
        `insert into ops.stream_state (source, stream, state, last_run_id, updated_at) values ('google_ads', 'campaign_daily', '{"through":"2024-03-10"}', 'earlier', now())`,
      );
      queries = [];
      expect((await runWith(['1234567890', '9876543210'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      expect(campaignWindows()).toEqual([
        '1234567890 2024-02-10..2024-02-23', '9876543210 2024-02-10..2024-02-23',
        '1234567890 2024-02-24..2024-03-08', '9876543210 2024-02-24..2024-03-08',
        '1234567890 2024-03-09..2024-03-10', '9876543210 2024-03-09..2024-03-10',
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', customerIds: ['1234567890', '9876543210'] });
    });
  });

  it('fails the run after one attempt of the stream, naming it, when the API version is sunset, keeping what was landed', async () => {
    // Once only: were the stream tried again (retries.streamAttempts is 2), the second attempt would succeed.
    failures.push({
      error: new errors.GoogleAdsFailure({ errors: [{ error_code: { request_error: RequestError.UNSUPPORTED_VERSION }, message: 'Version v24 is deprecated. Requests to this version will be blocked.' }] }),
    });
    const before = await rowsPerDate();
    queries = [];
    const result = await run('2024-03-12T08:00:00Z');
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^google_ads\.campaign_daily: \[google_ads\.campaign_daily, customer 1234567890 time zone \(v24\)\] Google Ads no longer serves v24/);
    expect(result.streams[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(queries).toHaveLength(1);
    const attempts = await wh.pool.query(`select attempt, status from ops.stream_runs where run_id = $1`, [result.runId]);
    expect(attempts.rows).toEqual([{ attempt: 1, status: 'failed' }]);
    expect(await rowsPerDate()).toEqual(before);
    expect(failures).toEqual([]);
  });

  it('imports a CSV written with GAQL field names as the nested records the API returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verite-google-ads-'));
    const cli = await createTestDatabase('google_ads_import');
    try {
      const file = join(dir, 'campaigns.csv');
      writeFileSync(
        file,
        'customer.id,customer.currency_code,customer.time_zone,campaign.id,campaign.name,segments.date,metrics.cost_micros,metrics.clicks,metrics.impressions,metrics.conversions,metrics.conversions_value\n' +
          '1234567890,EUR,Europe/Paris,11,Brand,2024-03-01,1500000,10,400,1.5,42.25\n' +
          '1234567890,EUR,Europe/Paris,12,Generic,2024-03-01,250000,3,120,0,\n',
      );
      const res = await runCli(['import', 'google_ads', 'campaign_daily', file], { env: { DATABASE_URL: cli.url } });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('google_ads.campaign_daily: 2 record(s) read, 2 written, 0 unchanged, 0 quarantined');
      const rows = await cli.pool.query(`select _key, _report_date::text as date, _record from raw.google_ads__campaign_daily order by _key`);
      expect(rows.rows.map((r) => [r._key, r.date])).toEqual([['1234567890|11|2024-03-01', '2024-03-01'], ['1234567890|12|2024-03-01', '2024-03-01']]);
      expect(rows.rows[1]._record).toEqual({
        customer: { id: '1234567890', currency_code: 'EUR', time_zone: 'Europe/Paris' },
        campaign: { id: '12', name: 'Generic' },
        segments: { date: '2024-03-01' },
        // The empty conversions_value cell is left out.
        metrics: { cost_micros: '250000', clicks: '3', impressions: '120', conversions: '0' },
      });
    } finally {
      await cli.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
