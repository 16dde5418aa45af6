import { AdAccount, FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import type { MetaAdsConfig } from '../../config/schema.ts';
import { reportDate } from '../../catalog/catalog.ts';
import { ExtractError } from '../../lib/errors.ts';
import { maxRetryAfterMs } from '../../lib/http.ts';
import { accountPasses, chunkWindow, lastCompleteDay, planAccounts, readIdsOf, reportZone, rowsByDate, stateAfter } from '../report-window.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import { GraphApi, metaTokenProblem } from './graph-api.ts';
import { insightsForWindow, type InsightsJob } from './insights-job.ts';

export const SOURCE = 'meta_ads';
export const STREAM = 'campaign_insights_daily';

/**
 * The stream's cursor: the last date landed, the ad accounts read through it (an account added
 * to `adAccountIds` later is read from `startDate`), and the attribution windows its numbers were
 * counted with (they change what `actions` hold, so a change is worth a warning).
 */
export interface MetaInsightsState {
  through: string;
  adAccountIds: string[];
  attributionWindows: string[];
}

/** An ad account as read once per run: its id, and the zone and currency its report is in. */
interface Account {
  sdk: AdAccount;
  id: string;
  timeZone: string;
}

function stateOf(value: JsonValue | null): Partial<MetaInsightsState> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const through = typeof value.through === 'string' ? reportDate(value.through) : undefined;
  const windows = Array.isArray(value.attributionWindows) ? value.attributionWindows.filter((w): w is string => typeof w === 'string') : undefined;
  return { through, adAccountIds: readIdsOf(value, 'adAccountIds'), attributionWindows: windows };
}

/**
 * Reads `campaign_insights_daily`: for each window of `jobWindowDays` dates, oldest first, one
 * async Insights report per ad account (split on failure), then one page per date holding that
 * date's rows of every account, so each page replaces whole dates and moves the cursor to its
 * date. Each row is Meta's Insights object plus `account_timezone_name`, the zone its date is in.
 * An ad account the cursor has not read (added to `adAccountIds` since) then has its dates from
 * `startDate` read the same way, for it alone, its pages replacing its own rows only
 * ({@link planAccounts}).
 */
export async function* readCampaignInsights(ctx: ReadContext<MetaAdsConfig>): AsyncGenerator<Page> {
  const config = ctx.config;
  const token = ctx.secret(config.accessTokenEnv);
  const wrongToken = metaTokenProblem(token, config.accessTokenEnv);
  if (wrongToken) throw new ExtractError(wrongToken, { source: SOURCE, stream: STREAM }, { permanent: true });
  const api = new GraphApi({
    accessToken: token,
    accessTokenEnv: config.accessTokenEnv,
    baseUrl: config.graphBaseUrl,
    version: config.apiVersion,
    http: { source: SOURCE, stream: STREAM, log: ctx.log, signal: ctx.signal, retry: { maxRetryAfterMs: maxRetryAfterMs(ctx.global) } },
    warnOnce: ctx.warnOnce,
  });
  // The SDK builds every report run with the default session (its AdReportRun drops the one it is given).
  FacebookAdsApi.setDefaultApi(api);

  const accounts: Account[] = [];
  for (const id of config.adAccountIds) {
    const sdk = new AdAccount(`act_${id}`, {}, undefined, api);
    const data = (await sdk.read(['account_id', 'name', 'timezone_name', 'currency'])).exportAllData();
    accounts.push({ sdk, id, timeZone: reportZone(ctx, SOURCE, `ad account act_${id}`, data.timezone_name) });
  }

  // A date is complete once it is over in every account's zone.
  const lastComplete = lastCompleteDay(ctx.now, accounts.map((a) => ({ label: `ad account act_${a.id}`, timeZone: a.timeZone })), { source: SOURCE, stream: STREAM });
  if (lastComplete === undefined) return;

  const previous = stateOf(ctx.state);
  const windows = [...config.actionAttributionWindows];
  const plan = planAccounts(ctx, previous.through, lastComplete, accounts.map((a) => a.id), previous.adAccountIds);
  const range = plan.window;
  if (previous.attributionWindows && previous.attributionWindows.join(',') !== windows.join(',')) {
    ctx.warnOnce(
      `meta_ads: actionAttributionWindows changed from ${previous.attributionWindows.join(',')} to ${windows.join(',')}; ` +
        `dates before ${range.from} keep the old windows' numbers until a backfill re-reads them`,
    );
  }
  // Meta stopped returning these two on 2026-01-12; asking for them yields no value.
  const retired = windows.filter((w) => w === '7d_view' || w === '28d_view');
  if (retired.length) ctx.warnOnce(`meta_ads: Meta no longer returns the ${retired.join(' and ')} attribution window; actions counted in it come back empty`, 'meta-retired-attribution');
  const passes = accountPasses(plan, accounts, (a) => a.id, { idPath: ['account_id'], log: ctx.log, noun: (id) => `ad account act_${id}`, key: 'adAccountIds' });
  if (passes.length === 0) {
    ctx.log.info({ from: range.from, to: range.to }, 'no complete day to read yet');
    return;
  }
  ctx.log.info({ from: range.from, to: range.to, accounts: accounts.length, attributionWindows: windows }, 'reading Meta Insights with these attribution windows');

  const jobOf = (account: Account): InsightsJob => ({
    api, account: account.sdk, attributionWindows: windows, timeoutMs: config.jobTimeoutMinutes * 60_000,
    log: ctx.log, signal: ctx.signal, source: SOURCE, stream: STREAM,
  });
  let through = previous.through;
  for (const pass of passes) {
    const jobs = pass.accounts.map(jobOf);
    for (const chunk of chunkWindow(pass.dates, config.jobWindowDays)) {
      const rows: Record<string, unknown>[] = [];
      for (let i = 0; i < pass.accounts.length; i++) {
        for (const row of await insightsForWindow(jobs[i]!, chunk)) rows.push({ ...row, account_timezone_name: pass.accounts[i]!.timeZone });
      }
      for (const { date, records } of rowsByDate(chunk, rows, (row) => reportDate(row.date_start))) {
        // A backfill never moves the cursor backwards, nor does an added account's history.
        through = stateAfter(through, date).through;
        yield { records, dates: [date], ...(pass.replaceOnly ? { replaceOnly: pass.replaceOnly } : {}), state: { through, adAccountIds: plan.idsAfter(date), attributionWindows: windows } };
      }
    }
  }
}
