import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { metaAdsSource } from '../../extractors/meta-ads/index.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeGraph, type FakeGraph, type InsightsRow } from './support/meta-graph-server.ts';
import { daysFrom, shiftDate, utcToday } from './support/time.ts';

const TOKEN = 'EAApipeline-token-0123456789';
const ENV = 'META_PIPELINE_TEST_TOKEN';

let fake: FakeGraph;
let wh: Warehouse;
let dir: string;
let restoreSleep: () => void;

const row = (account: string, campaign: string, date: string, spend: string): InsightsRow => ({
  account_id: account, account_currency: 'USD', campaign_id: campaign, campaign_name: `Campaign ${campaign}`,
  date_start: date, date_stop: date, spend, impressions: '900', reach: '700', clicks: '20',
  actions: [{ action_type: 'purchase', value: '1', '7d_click': '1', '1d_view': '0' }],
  action_values: [{ action_type: 'purchase', value: '30.00', '7d_click': '30.00', '1d_view': '0' }],
});

/** Before the restatement: 111 runs c1 and c2 every day (and c3 on the 5th), 222 runs c7. */
function firstVersion(account: string, date: string): InsightsRow[] {
  if (account === '111') return [row('111', 'c1', date, '10.00'), row('111', 'c2', date, '11.00'), ...(date === '2024-03-05' ? [row('111', 'c3', date, '3.00')] : [])];
  return [row('222', 'c7', date, '5.00')];
}

/** Meta restates two days: on the 5th c3 is gone and c1 cost more; on the 6th 222 gets a second campaign. */
function restated(account: string, date: string): InsightsRow[] {
  if (account === '111' && date === '2024-03-05') return [row('111', 'c1', date, '12.50'), row('111', 'c2', date, '11.00')];
  if (account === '222' && date === '2024-03-06') return [row('222', 'c7', date, '5.00'), row('222', 'c9', date, '2.00')];
  return firstVersion(account, date);
}

const twoAccounts = () =>
  configSchema.parse({ sources: { meta_ads: { adAccountIds: ['111', '222'], graphBaseUrl: fake.url, accessTokenEnv: ENV, startDate: '2024-03-01' } } });

async function run(now: string, warehouse: Warehouse = wh) {
  const config = twoAccounts();
  return runPipeline({ warehouse, config, log: logger(), now: new Date(now), steps: [], sources: [{ source: metaAdsSource, config: config.sources.meta_ads }] });
}

async function rowsPerDate(): Promise<Record<string, number>> {
  const res = await wh.pool.query(`select _report_date::text as date, count(*)::int as n from raw.meta_ads__campaign_insights_daily group by 1 order by 1`);
  return Object.fromEntries(res.rows.map((r) => [r.date as string, r.n as number]));
}

const served = () => Object.fromEntries([...fake.served.entries()].sort(([a], [b]) => a.localeCompare(b)));

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  process.env[ENV] = TOKEN;
  fake = await startFakeGraph(TOKEN);
  fake.accounts.set('111', { timezone_name: 'UTC', currency: 'USD', name: 'Shop US' });
  fake.accounts.set('222', { timezone_name: 'UTC', currency: 'USD', name: 'Shop retargeting' });
  wh = await createTestDatabase('meta_ads');
  dir = mkdtempSync(join(tmpdir(), 'verite-meta-'));
});
afterAll(async () => {
  restoreSleep();
  delete process.env[ENV];
  await fake?.close();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Meta Ads through the loader', () => {
  it('keeps, for every date, exactly the rows the API returned, however many times it runs, a restated day included', async () => {
    fake.rows = firstVersion;
    fake.resetServed();
    const first = await run('2024-03-10T08:00:00Z');
    expect(first.status).toBe('succeeded');
    // 1st to 9th: 3 rows a day (c1, c2, c7), 4 on the 5th (c3 as well).
    const before = { '2024-03-01': 3, '2024-03-02': 3, '2024-03-03': 3, '2024-03-04': 3, '2024-03-05': 4, '2024-03-06': 3, '2024-03-07': 3, '2024-03-08': 3, '2024-03-09': 3 };
    expect(await rowsPerDate()).toEqual(before);
    expect(served()).toEqual(before);
    // Two report runs per account: the 1st–7th and the 8th–9th.
    expect(fake.jobs.map((j) => `${j.accountId} ${j.since}..${j.until}`)).toEqual([
      '111 2024-03-01..2024-03-07', '222 2024-03-01..2024-03-07', '111 2024-03-08..2024-03-09', '222 2024-03-08..2024-03-09',
    ]);

    fake.rows = restated;
    // The 5th loses c3 (c1, c2, c7 left); the 6th gains c9 (c1, c2, c7, c9).
    const after = { ...before, '2024-03-05': 3, '2024-03-06': 4 };
    for (let i = 0; i < 2; i++) {
      fake.resetServed();
      const again = await run('2024-03-10T09:00:00Z');
      expect(again.status).toBe('succeeded');
      expect(await rowsPerDate()).toEqual(after);
      expect(served()).toEqual(after);
    }
    const fifth = await wh.pool.query(
      `select _record->>'campaign_id' as campaign, _record->>'spend' as spend from raw.meta_ads__campaign_insights_daily where _report_date = '2024-03-05' order by 1`,
    );
    expect(fifth.rows).toEqual([{ campaign: 'c1', spend: '12.50' }, { campaign: 'c2', spend: '11.00' }, { campaign: 'c7', spend: '5.00' }]);

    // The next day adds the 10th; the lookback (28 days) re-reads everything from startDate.
    fake.resetServed();
    expect((await run('2024-03-11T08:00:00Z')).status).toBe('succeeded');
    expect(await rowsPerDate()).toEqual({ ...after, '2024-03-10': 3 });
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'meta_ads' and stream = 'campaign_insights_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-10', adAccountIds: ['111', '222'], attributionWindows: ['7d_click', '1d_view'] });
  });

  it('keeps the spend of a campaign deleted or archived in Ads Manager on every date read again (the report asks for every campaign status)', async () => {
    const db = await createTestDatabase('meta_ads_statuses');
    try {
      fake.rows = firstVersion;
      fake.campaignStatus.clear();
      fake.requests.length = 0;
      expect((await run('2024-03-10T08:00:00Z', db)).status).toBe('succeeded');
      // The shop deletes c2 (account 111) and archives c7 (account 222) on the 10th; the next run
      // reads the 1st to the 10th again (its 28-day lookback reaches startDate).
      fake.campaignStatus.set('c2', 'DELETED');
      fake.campaignStatus.set('c7', 'ARCHIVED');
      expect((await run('2024-03-11T08:00:00Z', db)).status).toBe('succeeded');

      const config = twoAccounts();
      const select = ['staging.fx_rates', 'core.fx_rates', 'staging.google_ads_campaigns', 'staging.meta_ads_campaigns', 'core.spend'];
      const built = await runModels(db.db, config, { models, select, now: new Date('2024-03-11T08:00:00Z') });
      expect(built.error).toBeUndefined();
      const fifth = await db.pool.query(`select campaign_id, spend::text from core.spend where date = '2024-03-05' order by 1`);
      expect(fifth.rows).toEqual([
        { campaign_id: 'c1', spend: '10.00' }, { campaign_id: 'c2', spend: '11.00' }, { campaign_id: 'c3', spend: '3.00' }, { campaign_id: 'c7', spend: '5.00' },
      ]);
      // Ten days of c1 (10.00), c2 (11.00) and c7 (5.00), plus c3's 3.00 on the 5th: 10 × 26.00 + 3.00.
      const total = await db.pool.query(`select sum(spend)::text as total, count(distinct date)::int as days from core.spend`);
      expect(total.rows).toEqual([{ total: '263.00', days: 10 }]);

      const starts = fake.requests.filter((r) => r.method === 'POST' && /^act_\d+\/insights$/.test(r.path));
      // Two accounts, two windows a run (1st–7th and 8th–9th, then 1st–7th and 8th–10th).
      expect(starts).toHaveLength(8);
      for (const start of starts) {
        expect(JSON.parse(start.params.filtering!)).toEqual([
          { field: 'campaign.effective_status', operator: 'IN', value: ['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED', 'IN_PROCESS', 'WITH_ISSUES'] },
        ]);
      }
    } finally {
      fake.campaignStatus.clear();
      await db.close();
    }
  });

  it('re-reads the default lookback of 28 days: after missed runs from right after the cursor, then the 28 dates up to yesterday', async () => {
    fake.rows = firstVersion;
    // No lookbackDays in the config: the stream's default (28) applies.
    const config = configSchema.parse({ sources: { meta_ads: { adAccountIds: ['111'], graphBaseUrl: fake.url, accessTokenEnv: ENV, startDate: '2024-01-01' } } });
    expect(config.sources.meta_ads!.lookbackDays).toBeUndefined();
    const runAt = (now: string) =>
      runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], sources: [{ source: metaAdsSource, config: config.sources.meta_ads }] });
    await wh.pool.query(`delete from ops.stream_state where source = 'meta_ads'`);
    await wh.pool.query(
      `insert into ops.stream_state (source, stream, state, last_run_id, updated_at)
       values ('meta_ads', 'campaign_insights_daily', '{"through":"2024-02-01","attributionWindows":["7d_click","1d_view"]}', 'earlier', now())`,
    );
    const jobs = () => fake.jobs.map((j) => `${j.accountId} ${j.since}..${j.until}`);

    // Forty days on: yesterday is 2024-03-11, and 28 dates back from it is 2024-02-13, but the
    // cursor is older (2024-02-01): the read goes on right after it, from 2024-02-02.
    fake.jobs.length = 0;
    expect((await runAt('2024-03-12T08:00:00Z')).status).toBe('succeeded');
    expect(jobs()).toEqual([
      '111 2024-02-02..2024-02-08', '111 2024-02-09..2024-02-15', '111 2024-02-16..2024-02-22',
      '111 2024-02-23..2024-02-29', '111 2024-03-01..2024-03-07', '111 2024-03-08..2024-03-11',
    ]);

    // The next day: yesterday is 2024-03-12; the 28 dates ending on it start on 2024-02-14
    // (12 days back to 2024-02-29, 15 more within February of a leap year).
    fake.jobs.length = 0;
    expect((await runAt('2024-03-13T08:00:00Z')).status).toBe('succeeded');
    expect(jobs()).toEqual([
      '111 2024-02-14..2024-02-20', '111 2024-02-21..2024-02-27', '111 2024-02-28..2024-03-05', '111 2024-03-06..2024-03-12',
    ]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'meta_ads' and stream = 'campaign_insights_daily'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-12', adAccountIds: ['111'], attributionWindows: ['7d_click', '1d_view'] });
  });

  describe('an ad account added to adAccountIds after the stream has a cursor', () => {
    const WINDOWS = ['7d_click', '1d_view'];
    const runWith = (adAccountIds: string[], now: string) => {
      const config = configSchema.parse({ sources: { meta_ads: { adAccountIds, graphBaseUrl: fake.url, accessTokenEnv: ENV, startDate: '2024-01-01', jobWindowDays: 14 } } });
      return runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], sources: [{ source: metaAdsSource, config: config.sources.meta_ads }] });
    };
    const jobs = () => fake.jobs.map((j) => `${j.accountId} ${j.since}..${j.until}`);
    /** Each account's first and last date landed and how many dates it has. */
    const perAccount = async () =>
      (await wh.pool.query(
        `select _record->>'account_id' as account, min(_report_date)::text as first, max(_report_date)::text as last, count(distinct _report_date)::int as dates
           from raw.meta_ads__campaign_insights_daily group by 1 order by 1`,
      )).rows;
    const cursor = async () =>
      (await wh.pool.query(`select state from ops.stream_state where source = 'meta_ads' and stream = 'campaign_insights_daily'`)).rows[0]?.state;

    beforeEach(async () => {
      await wh.pool.query(`delete from ops.stream_state where source = 'meta_ads'`);
      await wh.pool.query(`delete from raw.meta_ads__campaign_insights_daily`);
      // One campaign a day in each account: c1 in 111, c7 in 222.
      fake.rows = (account, date) => [row(account, account === '222' ? 'c7' : 'c1', date, '10.00')];
      fake.fate = () => 'complete';
      fake.jobs.length = 0;
    });
    afterEach(() => {
      fake.fate = () => 'complete';
    });

    it('reads the added account from startDate in windows and the other from its lookback only, keeping the other\'s rows of the earlier dates', async () => {
      expect((await runWith(['111'], '2024-03-10T08:00:00Z')).status).toBe('succeeded');
      expect(await perAccount()).toEqual([{ account: '111', first: '2024-01-01', last: '2024-03-09', dates: 69 }]);
      expect(await cursor()).toEqual({ through: '2024-03-09', adAccountIds: ['111'], attributionWindows: WINDOWS });

      fake.jobs.length = 0;
      expect((await runWith(['111', '222'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      // Both over the 28 dates up to yesterday (2024-02-12 to 2024-03-10), then 222 alone from
      // startDate to the day before them, in windows of jobWindowDays (14).
      expect(jobs()).toEqual([
        '111 2024-02-12..2024-02-25', '222 2024-02-12..2024-02-25', '111 2024-02-26..2024-03-10', '222 2024-02-26..2024-03-10',
        '222 2024-01-01..2024-01-14', '222 2024-01-15..2024-01-28', '222 2024-01-29..2024-02-11',
      ]);
      expect(await perAccount()).toEqual([
        { account: '111', first: '2024-01-01', last: '2024-03-10', dates: 70 },
        { account: '222', first: '2024-01-01', last: '2024-03-10', dates: 70 },
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', adAccountIds: ['111', '222'], attributionWindows: WINDOWS });

      // The next day both are read from their lookback only.
      fake.jobs.length = 0;
      expect((await runWith(['111', '222'], '2024-03-12T08:00:00Z')).status).toBe('succeeded');
      expect(jobs()).toEqual(['111 2024-02-13..2024-02-26', '222 2024-02-13..2024-02-26', '111 2024-02-27..2024-03-11', '222 2024-02-27..2024-03-11']);

      // Taken out of the config, 222 leaves the list; added again, its history is read again.
      expect((await runWith(['111'], '2024-03-12T09:00:00Z')).status).toBe('succeeded');
      expect(await cursor()).toEqual({ through: '2024-03-11', adAccountIds: ['111'], attributionWindows: WINDOWS });
      fake.jobs.length = 0;
      expect((await runWith(['111', '222'], '2024-03-12T10:00:00Z')).status).toBe('succeeded');
      expect(jobs().filter((j) => j.startsWith('222 '))).toEqual([
        '222 2024-02-13..2024-02-26', '222 2024-02-27..2024-03-11',
        '222 2024-01-01..2024-01-14', '222 2024-01-15..2024-01-28', '222 2024-01-29..2024-02-11', '222 2024-02-12..2024-02-12',
      ]);
      expect(jobs().filter((j) => j.startsWith('111 '))).toEqual(['111 2024-02-13..2024-02-26', '111 2024-02-27..2024-03-11']);
      expect(await cursor()).toEqual({ through: '2024-03-11', adAccountIds: ['111', '222'], attributionWindows: WINDOWS });
      expect(await perAccount()).toEqual([
        { account: '111', first: '2024-01-01', last: '2024-03-11', dates: 71 },
        { account: '222', first: '2024-01-01', last: '2024-03-11', dates: 71 },
      ]);
    });

    it("keeps the other account's progress and leaves the added one unread when its history fails half-way; the next run reads it again", async () => {
      expect((await runWith(['111'], '2024-03-10T08:00:00Z')).status).toBe('succeeded');
      // Every report of 222 holding 2024-01-20 fails, down to that single day.
      fake.fate = (job) => (job.accountId === '222' && job.since <= '2024-01-20' && job.until >= '2024-01-20' ? 'fail' : 'complete');
      const failed = await runWith(['111', '222'], '2024-03-11T08:00:00Z');
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain('act_222');
      // 111's lookback up to yesterday is landed and the cursor moved on, without 222 in its list.
      expect(await cursor()).toEqual({ through: '2024-03-10', adAccountIds: ['111'], attributionWindows: WINDOWS });
      const partial = await perAccount();
      expect(partial[0]).toEqual({ account: '111', first: '2024-01-01', last: '2024-03-10', dates: 70 });
      expect(partial[1]).toMatchObject({ account: '222', last: '2024-03-10' });
      expect(partial[1].dates).toBeLessThan(70);

      fake.fate = () => 'complete';
      fake.jobs.length = 0;
      expect((await runWith(['111', '222'], '2024-03-11T09:00:00Z')).status).toBe('succeeded');
      expect(jobs().filter((j) => j.startsWith('222 ')).slice(-3)).toEqual(['222 2024-01-01..2024-01-14', '222 2024-01-15..2024-01-28', '222 2024-01-29..2024-02-11']);
      expect(await perAccount()).toEqual([
        { account: '111', first: '2024-01-01', last: '2024-03-10', dates: 70 },
        { account: '222', first: '2024-01-01', last: '2024-03-10', dates: 70 },
      ]);
      expect(await cursor()).toEqual({ through: '2024-03-10', adAccountIds: ['111', '222'], attributionWindows: WINDOWS });
    });

    it('takes a cursor without the list, as earlier releases wrote it, as having read every configured account: nothing is read again', async () => {
      await wh.pool.query(
        `insert into ops.stream_state (source, stream, state, last_run_id, updated_at)
         values ('meta_ads', 'campaign_insights_daily', '{"through":"2024-03-10","attributionWindows":["7d_click","1d_view"]}', 'earlier', now())`,
      );
      expect((await runWith(['111', '222'], '2024-03-11T08:00:00Z')).status).toBe('succeeded');
      expect(jobs()).toEqual(['111 2024-02-12..2024-02-25', '222 2024-02-12..2024-02-25', '111 2024-02-26..2024-03-10', '222 2024-02-26..2024-03-10']);
      expect(await cursor()).toEqual({ through: '2024-03-10', adAccountIds: ['111', '222'], attributionWindows: WINDOWS });
    });
  });

  it('runs from the command line: a run lands every date the API served, and a second run changes no count', async () => {
    fake.rows = firstVersion;
    // The child process really sleeps between polls: the report is done at the first one (after 2 s).
    fake.pollsToComplete = 1;
    // The child process reads its own clock: "yesterday" is taken before and after each run, and
    // the run's last date must be one of the two (they differ only if UTC midnight passed).
    const startDate = shiftDate(utcToday(), -4);
    const configFile = join(dir, 'verite.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { meta_ads: { adAccountIds: ['act_111'], graphBaseUrl: fake.url, accessTokenEnv: ENV, startDate } } }));
    const cli = await createTestDatabase('meta_ads_cli');
    try {
      const env = { DATABASE_URL: cli.url, VERITE_CONFIG: configFile, [ENV]: TOKEN };
      const counts = async () =>
        Object.fromEntries(
          (await cli.pool.query(`select _report_date::text as date, count(*)::int as n from raw.meta_ads__campaign_insights_daily group by 1 order by 1`)).rows.map((r) => [r.date, r.n]),
        );
      for (let i = 0; i < 2; i++) {
        fake.resetServed();
        const before = shiftDate(utcToday(), -1);
        const res = await runCli(['run', '--sources', 'meta_ads'], { env });
        const yesterdays = [before, shiftDate(utcToday(), -1)];
        expect(res.stderr).not.toContain(TOKEN);
        expect(res.code, res.stderr).toBe(0);
        // Every date from startDate to yesterday, each run (the 28-day lookback reaches startDate):
        // account 111 runs two campaigns a day (three on 2024-03-05, far in the past here).
        const last = Object.keys(served()).at(-1)!;
        expect(yesterdays).toContain(last);
        expect(served()).toEqual(Object.fromEntries(daysFrom(startDate, last).map((d) => [d, 2])));
        expect(await counts()).toEqual(served());
      }
    } finally {
      await cli.close();
    }
  });
});
