import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type MetaAdsConfig } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { readCampaignInsights } from '../../extractors/meta-ads/read.ts';
import { planAccounts, readWindow } from '../../extractors/report-window.ts';
import { pauseFor, readUsage } from '../../extractors/meta-ads/usage.ts';
import type { DateWindow, JsonValue, Page, ReadContext } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { startFakeGraph, TOO_MUCH_DATA, type FakeGraph, type InsightsRow } from './support/meta-graph-server.ts';

const TOKEN = 'EAAtest-system-user-token-0123456789';
const WINDOWS = ['7d_click', '1d_view'];

let fake: FakeGraph;
let waits: number[] = [];
let restoreSleep: () => void;

/** A campaign-day row as Meta sends it, with a purchase counted under two overlapping action types. */
function row(account: string, campaign: string, date: string, spend: string, purchases = '1'): InsightsRow {
  return {
    account_id: account, account_currency: 'USD', campaign_id: campaign, campaign_name: `Campaign ${campaign}`,
    date_start: date, date_stop: date, spend, impressions: '1000', reach: '800', clicks: '25',
    actions: [
      { action_type: 'purchase', value: purchases, '7d_click': purchases, '1d_view': '0' },
      { action_type: 'omni_purchase', value: purchases, '7d_click': purchases, '1d_view': '0' },
    ],
    action_values: [{ action_type: 'purchase', value: '49.90', '7d_click': '49.90', '1d_view': '0' }],
  };
}

/** Three campaigns a day for account 111, two for 222. */
const standardRows = (account: string, date: string): InsightsRow[] =>
  account === '111' ? ['c1', 'c2', 'c3'].map((c) => row('111', c, date, '10.00')) : ['c7', 'c8'].map((c) => row('222', c, date, '5.00'));

interface Options {
  source?: Record<string, unknown>;
  state?: JsonValue | null;
  window?: DateWindow | null;
  now?: string;
  reportingTimezone?: string;
  token?: string;
}

function context(options: Options = {}): { ctx: ReadContext<MetaAdsConfig>; warnings: string[] } {
  const global = configSchema.parse({
    reportingTimezone: options.reportingTimezone ?? 'UTC',
    sources: { meta_ads: { adAccountIds: ['act_111'], graphBaseUrl: fake.url, accessTokenEnv: 'META_TEST_TOKEN', startDate: '2024-03-07', ...options.source } },
  });
  const config = global.sources.meta_ads!;
  const warnings: string[] = [];
  const ctx: ReadContext<MetaAdsConfig> = {
    config, global, state: options.state ?? null, window: options.window ?? null, startDate: config.startDate!,
    lookbackDays: config.lookbackDays ?? 28, now: new Date(options.now ?? '2024-03-10T08:00:00Z'), log: logger(),
    signal: new AbortController().signal, secret: () => options.token ?? TOKEN, warnOnce: (m) => void (warnings.includes(m) || warnings.push(m)),
  };
  return { ctx, warnings };
}

async function collect(ctx: ReadContext<MetaAdsConfig>): Promise<Page[]> {
  const pages: Page[] = [];
  for await (const page of readCampaignInsights(ctx)) pages.push(page);
  return pages;
}

const starts = () => fake.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.params.time_range!) as { since: string; until: string });

beforeAll(async () => {
  restoreSleep = setSleep(async (ms) => void waits.push(ms));
  fake = await startFakeGraph(TOKEN);
});
afterAll(async () => {
  restoreSleep();
  await fake.close();
});
beforeEach(() => {
  waits = [];
  fake.requests.length = 0;
  fake.jobs.length = 0;
  fake.accounts.clear();
  fake.accounts.set('111', { timezone_name: 'UTC', currency: 'USD', name: 'Shop US' });
  fake.accounts.set('222', { timezone_name: 'UTC', currency: 'USD', name: 'Shop retargeting' });
  fake.rows = standardRows;
  fake.fate = () => 'complete';
  fake.pollsToComplete = 3;
  fake.pageSize = 2;
  fake.sunsetVersions.clear();
  fake.tooMuchData = () => false;
});
afterEach(() => {
  expect(fake.pendingScripts()).toBe(0);
});

describe('Meta usage headers', () => {
  it('reads every usage header and turns the highest into a pause', () => {
    const headers = new Headers({
      'x-app-usage': JSON.stringify({ call_count: 12, total_cputime: 30, total_time: 20 }),
      'x-ad-account-usage': JSON.stringify({ acc_id_util_pct: 80, reset_time_duration: 0, ads_api_access_tier: 'standard_access' }),
      'x-business-use-case-usage': JSON.stringify({ '998877': [{ type: 'ads_insights', call_count: 40, total_cputime: 55, total_time: 41, estimated_time_to_regain_access: 0 }] }),
    });
    expect(readUsage(headers)).toEqual([
      { scope: 'x-app-usage', pct: 30, regainMs: 0 },
      { scope: 'x-ad-account-usage', pct: 80, regainMs: 0 },
      { scope: 'x-business-use-case-usage 998877:ads_insights', pct: 55, regainMs: 0 },
    ]);
    // 80 % is a quarter of the way from 75 % to 95 %: a quarter of the 60 s slow-down.
    expect(pauseFor(readUsage(headers)).ms).toBe(15_000);
  });

  it('waits out a block: the regain time at 95 % and above, 5 minutes when none is given, and a block announced below', () => {
    const buc = (pct: number, minutes: number) =>
      new Headers({ 'x-business-use-case-usage': JSON.stringify({ '1': [{ type: 'ads_management', call_count: pct, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: minutes }] }) });
    expect(pauseFor(readUsage(buc(96, 3))).ms).toBe(3 * 60_000);
    expect(pauseFor(readUsage(buc(100, 0))).ms).toBe(5 * 60_000);
    expect(pauseFor(readUsage(buc(60, 2))).ms).toBe(2 * 60_000);
    expect(pauseFor(readUsage(buc(50, 0))).ms).toBe(0);
    // reset_time_duration is in seconds.
    expect(pauseFor(readUsage(new Headers({ 'x-ad-account-usage': '{"acc_id_util_pct":97,"reset_time_duration":420}' }))).ms).toBe(420_000);
    expect(readUsage(new Headers({ 'x-app-usage': 'not json' }))).toEqual([]);
  });
});

describe('which dates a read covers', () => {
  const base = { window: null, startDate: '2024-01-01', lookbackDays: 28 };
  it('first run from startDate; then the lookback behind the last complete day; after missed runs, right after the cursor', () => {
    expect(readWindow(base, undefined, '2024-03-09')).toEqual({ from: '2024-01-01', to: '2024-03-09' });
    // 2024-03-09 minus 27 days.
    expect(readWindow(base, '2024-03-08', '2024-03-09')).toEqual({ from: '2024-02-11', to: '2024-03-09' });
    expect(readWindow(base, '2024-01-20', '2024-03-09')).toEqual({ from: '2024-01-21', to: '2024-03-09' });
    expect(readWindow({ ...base, startDate: '2024-03-01' }, '2024-03-08', '2024-03-09')).toEqual({ from: '2024-03-01', to: '2024-03-09' });
    expect(readWindow({ ...base, lookbackDays: 0 }, '2024-03-09', '2024-03-09')).toEqual({ from: '2024-03-10', to: '2024-03-09' });
    expect(readWindow({ ...base, window: { from: '2023-05-01', to: '2023-05-03' } }, '2024-03-08', '2024-03-09')).toEqual({ from: '2023-05-01', to: '2023-05-03' });
  });

  it('an account the cursor has not read gets its dates from startDate, the others their lookback; a cursor without a list has read every account', () => {
    const of = (plan: ReturnType<typeof planAccounts>) => ({ window: plan.window, added: plan.added, history: plan.history });
    // Added: both over the lookback, then 222 alone from startDate to the day before it; the list gains 222 on the history's last date.
    const added = planAccounts(base, '2024-03-08', '2024-03-09', ['111', '222'], ['111', '333']);
    expect(of(added)).toEqual({ window: { from: '2024-02-11', to: '2024-03-09' }, added: ['222'], history: { from: '2024-01-01', to: '2024-02-10' } });
    expect([added.idsAfter('2024-03-09'), added.idsAfter('2024-02-09'), added.idsAfter('2024-02-10')]).toEqual([['111'], ['111'], ['111', '222']]);
    // No list (an earlier release's cursor): nothing is added.
    expect(of(planAccounts(base, '2024-03-08', '2024-03-09', ['111', '222'], undefined))).toEqual({ window: { from: '2024-02-11', to: '2024-03-09' }, added: [], history: null });
    // A first run and a backfill read every account over their window.
    expect(of(planAccounts(base, undefined, '2024-03-09', ['111', '222'], ['111'])).added).toEqual([]);
    expect(of(planAccounts({ ...base, window: { from: '2023-05-01', to: '2023-05-03' } }, '2024-03-08', '2024-03-09', ['111', '222'], ['111'])).added).toEqual([]);
    // startDate inside the lookback: no earlier dates; the lookback's last date marks the account read.
    const recent = planAccounts({ ...base, startDate: '2024-03-01' }, '2024-03-08', '2024-03-09', ['111', '222'], ['111']);
    expect(of(recent)).toEqual({ window: { from: '2024-03-01', to: '2024-03-09' }, added: ['222'], history: null });
    expect(recent.idsAfter('2024-03-09')).toEqual(['111', '222']);
    // No lookback and nothing new since the cursor: the added account's dates up to it still are read.
    expect(of(planAccounts({ ...base, lookbackDays: 0 }, '2024-03-09', '2024-03-09', ['111', '222'], ['111'])).history).toEqual({ from: '2024-01-01', to: '2024-03-09' });
  });
});

describe('campaign_insights_daily against a local Graph API', () => {
  it('starts an async report run, polls it until it completes, follows paging.next, and emits one page per date', async () => {
    fake.pollsToComplete = 4;
    const { ctx } = context();
    const hooks = process.listenerCount('uncaughtException');
    const pages = await collect(ctx);
    // The SDK's crash reporter (an uncaught-exception hook posting to Meta) stays off.
    expect(process.listenerCount('uncaughtException')).toBe(hooks);

    const post = fake.requests.filter((r) => r.method === 'POST');
    expect(post).toHaveLength(1);
    expect(post[0]!.path).toBe('act_111/insights');
    expect(post[0]!.version).toBe('v27.0');
    expect(post[0]!.params).toMatchObject({
      level: 'campaign',
      time_increment: '1',
      time_range: '{"since":"2024-03-07","until":"2024-03-09"}',
      fields: 'account_id,account_currency,campaign_id,campaign_name,date_start,date_stop,spend,impressions,reach,clicks,actions,action_values',
      action_attribution_windows: '["7d_click","1d_view"]',
      action_breakdowns: '["action_type"]',
    });
    const runId = fake.jobs[0]!.id;
    const polls = fake.requests.filter((r) => r.path === runId);
    // Not started, started, running, completed.
    expect(polls).toHaveLength(4);
    expect(polls[0]!.params.fields).toContain('async_status');
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000]);

    // 3 dates × 3 campaigns = 9 rows, 2 a page: 5 pages, the last 4 through paging.next.
    const results = fake.requests.filter((r) => r.path === `${runId}/insights`);
    expect(results).toHaveLength(5);
    expect(results.map((r) => r.params.after !== undefined)).toEqual([false, true, true, true, true]);

    expect(pages.map((p) => p.dates)).toEqual([['2024-03-07'], ['2024-03-08'], ['2024-03-09']]);
    expect(pages.map((p) => p.state)).toEqual(['2024-03-07', '2024-03-08', '2024-03-09'].map((through) => ({ through, adAccountIds: ['111'], attributionWindows: WINDOWS })));
    expect(pages[1]!.records).toEqual(['c1', 'c2', 'c3'].map((c) => ({ ...row('111', c, '2024-03-08', '10.00'), account_timezone_name: 'UTC' })));
  });

  it('splits a failed report run in two halves and lands every date', async () => {
    fake.fate = () => (fake.jobs.length === 0 ? 'fail' : 'complete');
    const { ctx } = context({ source: { startDate: '2024-03-06' } });
    const pages = await collect(ctx);
    expect(starts()).toEqual([
      { since: '2024-03-06', until: '2024-03-09' },
      { since: '2024-03-06', until: '2024-03-07' },
      { since: '2024-03-08', until: '2024-03-09' },
    ]);
    expect(pages.map((p) => [p.dates![0], p.records.length])).toEqual([
      ['2024-03-06', 3],
      ['2024-03-07', 3],
      ['2024-03-08', 3],
      ['2024-03-09', 3],
    ]);
  });

  it('gives a run that never finishes up after jobTimeoutMinutes, then splits its window', async () => {
    fake.fate = (job) => (job.since === job.until ? 'complete' : 'hang');
    const { ctx } = context({ source: { startDate: '2024-03-08', jobTimeoutMinutes: 1 } });
    const pages = await collect(ctx);
    expect(starts()).toEqual([
      { since: '2024-03-08', until: '2024-03-09' },
      { since: '2024-03-08', until: '2024-03-08' },
      { since: '2024-03-09', until: '2024-03-09' },
    ]);
    // 2 + 4 + 8 + 16 + 30 s of polling reach the minute.
    expect(waits.slice(0, 5)).toEqual([2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(fake.jobs[0]!.polls).toBe(5);
    expect(pages.map((p) => p.records.length)).toEqual([3, 3]);
  });

  it('fails the stream, naming the account and the day, when a single day still fails', async () => {
    fake.fate = () => 'fail';
    const { ctx } = context({ window: { from: '2024-02-02', to: '2024-02-02' } });
    const error = await collect(ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractError);
    expect((error as ExtractError).message).toContain('[meta_ads.campaign_insights_daily, window 2024-02-02..2024-02-02');
    expect((error as ExtractError).message).toContain('act_111');
    expect((error as ExtractError).message).toContain('Job Failed');
    expect(starts()).toEqual([{ since: '2024-02-02', until: '2024-02-02' }]);
  });

  describe('Meta asking for less data (code 1, "Please reduce the amount of data")', () => {
    const decode = (after: string | undefined) => (after === undefined ? undefined : Number(Buffer.from(after, 'base64').toString()));
    const resultReads = (runId: string) => fake.requests.filter((r) => r.path === `${runId}/insights`).map((r) => [r.params.limit, decode(r.params.after)]);

    it('reads on from the last page read with smaller pages, never reading a row twice nor retrying the same page', async () => {
      // Pages of 500 are refused from the fifth row on; pages of 100 are served. Meta's pages hold 2 rows here.
      fake.tooMuchData = ({ limit, offset }) => limit > 100 && offset >= 4;
      const { ctx } = context({ source: { startDate: '2024-03-07' } });
      const pages = await collect(ctx);

      const runId = fake.jobs[0]!.id;
      // Rows 0–1 and 2–3 at 500 a page; the page from row 4 refused at 500, asked again at 100 from row 4, then on.
      expect(resultReads(runId)).toEqual([['500', undefined], ['500', 2], ['500', 4], ['100', 4], ['100', 6], ['100', 8]]);
      // The refusal is not waited on nor retried as it was: only the three status polls waited.
      expect(waits).toEqual([2_000, 4_000, 8_000]);
      expect(fake.jobs).toHaveLength(1);
      // 3 dates × 3 campaigns, each row once.
      expect(pages.map((p) => p.dates)).toEqual([['2024-03-07'], ['2024-03-08'], ['2024-03-09']]);
      for (const page of pages) {
        expect(page.records).toEqual(['c1', 'c2', 'c3'].map((c) => ({ ...row('111', c, page.dates![0]!, '10.00'), account_timezone_name: 'UTC' })));
      }
    });

    it('splits the window when even the smallest page is refused, and lands every date', async () => {
      // Any report over more than one day is too much, whatever the page size.
      fake.tooMuchData = ({ job }) => job.since !== job.until;
      const { ctx } = context({ source: { startDate: '2024-03-08' } });
      const pages = await collect(ctx);

      expect(starts()).toEqual([
        { since: '2024-03-08', until: '2024-03-09' },
        { since: '2024-03-08', until: '2024-03-08' },
        { since: '2024-03-09', until: '2024-03-09' },
      ]);
      // 500, then 100, then 25 rows a page, then the window is split.
      expect(resultReads(fake.jobs[0]!.id)).toEqual([['500', undefined], ['100', undefined], ['25', undefined]]);
      expect(pages.map((p) => [p.dates![0], p.records.length])).toEqual([['2024-03-08', 3], ['2024-03-09', 3]]);
    });

    it('splits the window when Meta refuses to start the report', async () => {
      fake.script({ match: (r) => r.method === 'POST' && r.params.time_range === '{"since":"2024-03-08","until":"2024-03-09"}', ...TOO_MUCH_DATA });
      const { ctx } = context({ source: { startDate: '2024-03-08' } });
      const pages = await collect(ctx);

      expect(starts()).toEqual([
        { since: '2024-03-08', until: '2024-03-09' },
        { since: '2024-03-08', until: '2024-03-08' },
        { since: '2024-03-09', until: '2024-03-09' },
      ]);
      expect(pages.map((p) => [p.dates![0], p.records.length])).toEqual([['2024-03-08', 3], ['2024-03-09', 3]]);
    });

    it('fails the stream, naming the account, the day and the call, when a single day is still too much', async () => {
      fake.tooMuchData = () => true;
      const { ctx } = context({ window: { from: '2024-02-02', to: '2024-02-02' } });
      const error = (await collect(ctx).catch((e: unknown) => e)) as ExtractError;
      expect(error).toBeInstanceOf(ExtractError);
      const runId = fake.jobs[0]!.id;
      expect(error.context).toMatchObject({ source: 'meta_ads', stream: 'campaign_insights_daily', window: { from: '2024-02-02', to: '2024-02-02' }, request: `GET ${runId}/insights` });
      expect(error.message).toContain('act_111');
      expect(error.message).toContain('Meta asks for less data even at 25 rows a page');
      expect(error.message).toContain("(code 1): Please reduce the amount of data you're asking for");
      expect(resultReads(runId)).toEqual([['500', undefined], ['100', undefined], ['25', undefined]]);
    });
  });

  it('pauses before the next call when a usage header nears its limit', async () => {
    fake.script(
      {
        match: (r) => r.path === 'act_111' && r.method === 'GET',
        headers: { 'x-business-use-case-usage': JSON.stringify({ '998877': [{ type: 'ads_insights', call_count: 96, total_cputime: 20, total_time: 25, estimated_time_to_regain_access: 3 }] }) },
      },
      { match: (r) => r.method === 'POST', headers: { 'x-ad-account-usage': JSON.stringify({ acc_id_util_pct: 80, reset_time_duration: 0, ads_api_access_tier: 'standard_access' }) } },
    );
    const { ctx } = context({ source: { startDate: '2024-03-09' } });
    const pages = await collect(ctx);
    // 3 minutes to regain access before starting the report; then the first poll's 2 s, then
    // 15 s of slow-down (80 % is a quarter of the way from 75 % to 95 %), then the polls.
    expect(waits.slice(0, 4)).toEqual([180_000, 2_000, 15_000, 4_000]);
    expect(pages.map((p) => p.records.length)).toEqual([3]);
  });

  it('waits and retries on the throttling error codes 17 and 80004', async () => {
    fake.script(
      { match: (r) => r.method === 'POST', status: 400, body: { error: { message: '(#17) User request limit reached', type: 'OAuthException', code: 17, error_subcode: 2446079, fbtrace_id: 'X1' } } },
      {
        match: (r) => r.method === 'POST',
        status: 400,
        body: { error: { message: 'There have been too many calls to this ad-account.', type: 'OAuthException', code: 80004, error_subcode: 2446079, fbtrace_id: 'X2' } },
        headers: { 'x-business-use-case-usage': JSON.stringify({ '998877': [{ type: 'ads_management', call_count: 100, total_cputime: 30, total_time: 30, estimated_time_to_regain_access: 10 }] }) },
      },
    );
    const { ctx } = context({ source: { startDate: '2024-03-09' } });
    const pages = await collect(ctx);
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
    // Code 17 without a usage header: at least a minute; code 80004 with a 10-minute block: those 10 minutes.
    expect(waits[0]).toBeGreaterThanOrEqual(60_000);
    expect(waits[1]).toBeGreaterThanOrEqual(600_000);
    expect(pages.map((p) => p.records.length)).toEqual([3]);
  });

  it('waits a minute and retries on code 613, the custom rate limit of the Insights calls', async () => {
    fake.script({
      match: (r) => r.method === 'POST',
      status: 400,
      body: { error: { message: '(#613) Calls to this api have exceeded the rate limit.', type: 'OAuthException', code: 613, error_subcode: 1487742, fbtrace_id: 'X3' } },
    });
    const { ctx } = context({ source: { startDate: '2024-03-09' } });
    const pages = await collect(ctx);
    // Refused once, then started.
    expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    // No usage header says how long: the least wait, 60 s, then the report's polls (3 to complete).
    expect(waits).toEqual([60_000, 2_000, 4_000, 8_000]);
    expect(pages.map((p) => p.records.length)).toEqual([3]);
  });

  it("reads up to yesterday in each account's own time zone, keeps the zone on each row, and warns once", async () => {
    fake.accounts.set('222', { timezone_name: 'America/Los_Angeles', currency: 'USD', name: 'Shop West' });
    // 05:00 UTC on the 10th is 21:00 on the 9th in Los Angeles: its last complete day is the 8th.
    const { ctx, warnings } = context({ source: { adAccountIds: ['111', 'act_222'], startDate: '2024-03-07' }, now: '2024-03-10T05:00:00Z' });
    const pages = await collect(ctx);
    expect(pages.map((p) => p.dates)).toEqual([['2024-03-07'], ['2024-03-08']]);
    expect(pages[0]!.records.map((r) => [(r as InsightsRow).campaign_id, (r as { account_timezone_name: string }).account_timezone_name])).toEqual([
      ['c1', 'UTC'], ['c2', 'UTC'], ['c3', 'UTC'], ['c7', 'America/Los_Angeles'], ['c8', 'America/Los_Angeles'],
    ]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('act_222 reports days in America/Los_Angeles, not in the reporting time zone UTC');
  });

  it('re-reads the lookback behind the cursor and warns when the attribution windows changed', async () => {
    const { ctx, warnings } = context({
      source: { startDate: '2024-01-01', lookbackDays: 3 },
      state: { through: '2024-03-09', attributionWindows: ['28d_click'] },
      now: '2024-03-12T08:00:00Z',
    });
    const pages = await collect(ctx);
    expect(starts()).toEqual([{ since: '2024-03-09', until: '2024-03-11' }]);
    expect(pages.at(-1)!.state).toEqual({ through: '2024-03-11', adAccountIds: ['111'], attributionWindows: WINDOWS });
    expect(warnings).toEqual(['meta_ads: actionAttributionWindows changed from 28d_click to 7d_click,1d_view; dates before 2024-03-09 keep the old windows\' numbers until a backfill re-reads them']);
  });

  it('says that Meta no longer serves a sunset API version, and what to set', async () => {
    fake.sunsetVersions.add('v19.0');
    const { ctx } = context({ source: { apiVersion: 'v19.0' } });
    const error = (await collect(ctx).catch((e: unknown) => e)) as ExtractError;
    expect(error).toBeInstanceOf(ExtractError);
    expect(error.context).toMatchObject({ source: 'meta_ads', stream: 'campaign_insights_daily', request: 'GET act_111', status: 400 });
    expect(error.message).toContain('Meta no longer serves Marketing API v19.0 (code 2635)');
    expect(error.message).toContain('sources.meta_ads.apiVersion');
    expect(fake.requests).toHaveLength(1); // not retried
    expect(error.permanent).toBe(true); // nor the stream, by the pipeline
  });

  it('says which ad account id the token cannot see', async () => {
    const { ctx } = context({ source: { adAccountIds: ['111', '333'] } });
    const error = (await collect(ctx).catch((e: unknown) => e)) as ExtractError;
    expect(error).toBeInstanceOf(ExtractError);
    expect(error.context.request).toBe('GET act_333');
    expect(error.message).toContain('code 100/33');
    expect(error.message).toContain('adAccountIds');
  });

  it('refuses an app secret or an app access token before any request, saying which token to put there', async () => {
    for (const [token, said] of [
      ['0123456789abcdef0123456789abcdef', 'META_TEST_TOKEN holds what looks like an app secret (32 hexadecimal digits), not an access token'],
      ['1234567890123456|0123456789abcdef0123456789abcdef', 'META_TEST_TOKEN holds an app access token (app id|secret), which reads no ad account'],
    ] as const) {
      const { ctx } = context({ token });
      const error = (await collect(ctx).catch((e: unknown) => e)) as ExtractError;
      expect(error).toBeInstanceOf(ExtractError);
      expect(error.message).toMatch(new RegExp(`^\\[meta_ads\\.campaign_insights_daily\\] ${said.replace(/[()|]/g, '\\$&')}: put the access token of a system user with ads_read there`));
      expect(error.message).not.toContain('0123456789abcdef');
      expect(error.permanent).toBe(true);
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('names the environment variable of a refused token, never the token', async () => {
    const { ctx } = context({ token: 'EAAwrong-token-value-987654' });
    const error = (await collect(ctx).catch((e: unknown) => e)) as ExtractError;
    expect(error).toBeInstanceOf(ExtractError);
    expect(error.message).toContain('Meta refused the access token (code 190)');
    expect(error.message).toContain('META_TEST_TOKEN');
    expect(error.message).not.toContain('EAAwrong');
    expect(error.permanent).toBe(true);
  });
});
