import type { AdAccount, AdReportRun } from 'facebook-nodejs-business-sdk';
import { ExtractError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { pollUntil } from '../poll.ts';
import type { DateWindow } from '../types.ts';
import { halves } from '../report-window.ts';
import { TooMuchData, type GraphApi } from './graph-api.ts';

/** The Insights fields of a `campaign_insights_daily` record (docs/streams.md). */
export const INSIGHTS_FIELDS = [
  'account_id',
  'account_currency',
  'campaign_id',
  'campaign_name',
  'date_start',
  'date_stop',
  'spend',
  'impressions',
  'reach',
  'clicks',
  'actions',
  'action_values',
] as const;

/**
 * Every `effective_status` a campaign can have (Marketing API reference, Campaign; the SDK's
 * `Campaign.EffectiveStatus`), sent as the report's `filtering`. Without it, an ad account's
 * Insights leave out DELETED and ARCHIVED campaigns ("Manage Your Ad Object's Status"), so a
 * campaign deleted today would lose its spend on every date the lookback re-reads. Only the
 * campaign's own statuses: an ad's (`CAMPAIGN_PAUSED`, `DISAPPROVED` …) is not a campaign's.
 */
export const CAMPAIGN_EFFECTIVE_STATUSES = ['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED', 'IN_PROCESS', 'WITH_ISSUES'] as const;

/** The states of an async report run, as `async_status` names them. */
export type AsyncStatus = 'Job Not Started' | 'Job Started' | 'Job Running' | 'Job Completed' | 'Job Failed' | 'Job Skipped';

/** The first wait between two status polls, doubled each poll up to {@link MAX_POLL_MS}. */
export const FIRST_POLL_MS = 2_000;
export const MAX_POLL_MS = 30_000;

/**
 * Rows asked for per page of a finished run's results, largest first (Meta's default is 25).
 * When Meta answers a page with "Please reduce the amount of data" (code 1), the reading goes on
 * from the last page read with the next, smaller size; past the last one, the window is split.
 */
export const RESULT_PAGE_SIZES = [500, 100, 25] as const;

export interface InsightsJob {
  api: GraphApi;
  /** The ad account, already read (its id is `act_<id>`). */
  account: AdAccount;
  /** `action_attribution_windows`, sent explicitly so the numbers do not follow a setting changed in Ads Manager. */
  attributionWindows: readonly string[];
  /** A run not finished after this long is given up (and its window split). */
  timeoutMs: number;
  log: Logger;
  signal: AbortSignal;
  source: string;
  stream: string;
}

/**
 * An async run that failed, was skipped, did not finish in time, or holds more than Meta will
 * serve even in small pages: its window is worth splitting. `request` is the call that said so.
 */
export class JobFailure extends Error {
  override name = 'JobFailure';
  readonly reason: string;
  readonly request: string;
  constructor(
    reason: string,
    request: string,
  ) {
    super(reason);
    this.reason = reason;
    this.request = request;
  }
}

/** Runs `call`, turning Meta's "reduce the amount of data" into a {@link JobFailure} that splits the window. */
async function orSplit<T>(request: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof TooMuchData) throw new JobFailure(error.message, request);
    throw error;
  }
}

/**
 * One async Insights report: `POST act_{id}/insights` at campaign level, one row per campaign
 * and day, campaigns of every status (see {@link CAMPAIGN_EFFECTIVE_STATUSES}), then status polls (with a growing wait) until Meta says `Job Completed` at 100 %,
 * then every page of `GET {run}/insights`, following `paging.next`. Throws {@link JobFailure}
 * when the run fails, is skipped or outlives `timeoutMs`, or when Meta asks for less data than
 * the smallest page (see {@link RESULT_PAGE_SIZES}) or than the run itself.
 */
export async function runInsightsJob(job: InsightsJob, window: DateWindow): Promise<Record<string, unknown>[]> {
  const run = await orSplit(`POST ${job.account.id}/insights`, () =>
    job.account.getInsightsAsync([...INSIGHTS_FIELDS], {
      level: 'campaign',
      time_increment: 1,
      time_range: { since: window.from, until: window.to },
      action_attribution_windows: [...job.attributionWindows],
      action_breakdowns: ['action_type'],
      filtering: [{ field: 'campaign.effective_status', operator: 'IN', value: [...CAMPAIGN_EFFECTIVE_STATUSES] }],
    }),
  );
  const runId = run.id;
  if (!runId) {
    throw new ExtractError('Meta started no report run: the answer has no report_run_id', {
      source: job.source, stream: job.stream, window, request: `POST ${job.account.id}/insights`,
    });
  }
  await pollUntil<{ status: AsyncStatus; percent: number }>({
    poll: async (poll) => {
      const data = (await orSplit(`GET ${runId}`, () => run.get(['id', 'async_status', 'async_percent_completion']))).exportAllData();
      const status = String(data.async_status ?? '') as AsyncStatus;
      const percent = Number(data.async_percent_completion ?? 0);
      job.log.debug({ account: job.account.id, window, runId, status, percent, poll }, 'insights report run polled');
      if (status === 'Job Failed' || status === 'Job Skipped') throw new JobFailure(`report run ${runId}: ${status}`, `GET ${runId}`);
      return { status, percent };
    },
    // Meta has answered "Job Completed" before the last rows were written: wait for 100 % as well.
    finished: ({ status, percent }) => status === 'Job Completed' && percent >= 100,
    timeoutMs: job.timeoutMs,
    timedOut: ({ status, percent }, elapsed) => new JobFailure(`report run ${runId}: still "${status}" at ${percent}% after ${Math.round(elapsed / 60_000)} min`, `GET ${runId}`),
    firstDelayMs: FIRST_POLL_MS,
    maxDelayMs: MAX_POLL_MS,
    // A run just started is never done: the first status poll waits too.
    pauseFirst: true,
    signal: job.signal,
  });
  return readResults(job, run, runId, window);
}

/**
 * Every page of a finished run's results. A page Meta refuses as too much data is asked again,
 * from the last page read (its `after` cursor), with the next smaller page size, so no row is
 * read twice; a refusal at the smallest size is a {@link JobFailure}.
 */
async function readResults(job: InsightsJob, run: AdReportRun, runId: string, window: DateWindow): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let after: string | undefined;
  for (let size = 0; ; size++) {
    const limit = RESULT_PAGE_SIZES[size]!;
    try {
      const cursor = await run.getInsights([], { limit, ...(after !== undefined ? { after } : {}) });
      for (;;) {
        // A Cursor is an Array subclass whose constructor cannot be called by map(): iterate it.
        for (const item of cursor) rows.push({ ...item.exportAllData() });
        after = cursor.paging?.cursors?.after ?? after;
        if (!cursor.hasNext()) return rows;
        await cursor.next();
      }
    } catch (error) {
      if (!(error instanceof TooMuchData)) throw error;
      const smaller = RESULT_PAGE_SIZES[size + 1];
      if (smaller === undefined) {
        throw new JobFailure(`report run ${runId}: Meta asks for less data even at ${limit} rows a page (${error.message})`, `GET ${runId}/insights`);
      }
      job.log.warn({ account: job.account.id, window, runId, limit, smaller, rowsRead: rows.length }, 'Meta asks for less data; reading on with smaller pages');
    }
  }
}

/**
 * The rows of `window` for one ad account. A run that fails or times out is tried again as two
 * runs over the halves of its window, down to a single day; a day that still fails fails the
 * stream, naming the account and the day.
 */
export async function insightsForWindow(job: InsightsJob, window: DateWindow): Promise<Record<string, unknown>[]> {
  try {
    return await job.api.within(window, () => runInsightsJob(job, window));
  } catch (error) {
    if (!(error instanceof JobFailure)) throw error;
    if (window.from === window.to) {
      throw new ExtractError(`the async Insights report of ${job.account.id} failed for a single day, which cannot be split further: ${error.reason}`, {
        source: job.source, stream: job.stream, window, request: error.request,
      });
    }
    const [first, second] = halves(window);
    job.log.warn({ account: job.account.id, window, reason: error.reason, split: [first, second] }, 'async Insights report failed; splitting its window in two');
    return [...(await insightsForWindow(job, first)), ...(await insightsForWindow(job, second))];
  }
}
