import type { AdAccount } from 'facebook-nodejs-business-sdk';
import { ExtractError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { pollUntil } from '../poll.ts';
import type { DateWindow } from '../types.ts';
import { halves } from '../report-window.ts';
import type { GraphApi } from './graph-api.ts';

/** The Insights fields of a `campaign_insights_daily` record (DESIGN.md). */
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

/** The states of an async report run, as `async_status` names them. */
export type AsyncStatus = 'Job Not Started' | 'Job Started' | 'Job Running' | 'Job Completed' | 'Job Failed' | 'Job Skipped';

/** The first wait between two status polls, doubled each poll up to {@link MAX_POLL_MS}. */
export const FIRST_POLL_MS = 2_000;
export const MAX_POLL_MS = 30_000;

/** Rows asked for per page of a finished run's results (Meta's default is 25). */
export const RESULT_PAGE_SIZE = 500;

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

/** An async run that failed, was skipped or did not finish in time: its window is worth splitting. */
export class JobFailure extends Error {
  override name = 'JobFailure';
  constructor(
    readonly reason: string,
    readonly runId: string,
  ) {
    super(reason);
  }
}

/**
 * One async Insights report: `POST act_{id}/insights` at campaign level, one row per campaign
 * and day, then status polls (with a growing wait) until Meta says `Job Completed` at 100 %,
 * then every page of `GET {run}/insights`, following `paging.next`. Throws {@link JobFailure}
 * when the run fails, is skipped or outlives `timeoutMs`.
 */
export async function runInsightsJob(job: InsightsJob, window: DateWindow): Promise<Record<string, unknown>[]> {
  const run = await job.account.getInsightsAsync([...INSIGHTS_FIELDS], {
    level: 'campaign',
    time_increment: 1,
    time_range: { since: window.from, until: window.to },
    action_attribution_windows: [...job.attributionWindows],
    action_breakdowns: ['action_type'],
  });
  const runId = run.id;
  if (!runId) {
    throw new ExtractError('Meta started no report run: the answer has no report_run_id', {
      source: job.source, stream: job.stream, window, request: `POST ${job.account.id}/insights`,
    });
  }
  await pollUntil<{ status: AsyncStatus; percent: number }>({
    poll: async (poll) => {
      const data = (await run.get(['id', 'async_status', 'async_percent_completion'])).exportAllData();
      const status = String(data.async_status ?? '') as AsyncStatus;
      const percent = Number(data.async_percent_completion ?? 0);
      job.log.debug({ account: job.account.id, window, runId, status, percent, poll }, 'insights report run polled');
      if (status === 'Job Failed' || status === 'Job Skipped') throw new JobFailure(`report run ${runId}: ${status}`, runId);
      return { status, percent };
    },
    // Meta has answered "Job Completed" before the last rows were written: wait for 100 % as well.
    finished: ({ status, percent }) => status === 'Job Completed' && percent >= 100,
    timeoutMs: job.timeoutMs,
    timedOut: ({ status, percent }, elapsed) => new JobFailure(`report run ${runId}: still "${status}" at ${percent}% after ${Math.round(elapsed / 60_000)} min`, runId),
    firstDelayMs: FIRST_POLL_MS,
    maxDelayMs: MAX_POLL_MS,
    // A run just started is never done: the first status poll waits too.
    pauseFirst: true,
    signal: job.signal,
  });
  const rows: Record<string, unknown>[] = [];
  const cursor = await run.getInsights([], { limit: RESULT_PAGE_SIZE });
  // A Cursor is an Array subclass whose constructor cannot be called by map(): iterate it.
  for (const item of cursor) rows.push({ ...item.exportAllData() });
  while (cursor.hasNext()) {
    await cursor.next();
    for (const item of cursor) rows.push({ ...item.exportAllData() });
  }
  return rows;
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
        source: job.source, stream: job.stream, window, request: `GET ${error.runId}`,
      });
    }
    const [first, second] = halves(window);
    job.log.warn({ account: job.account.id, window, reason: error.reason, split: [first, second] }, 'async Insights report failed; splitting its window in two');
    return [...(await insightsForWindow(job, first)), ...(await insightsForWindow(job, second))];
  }
}
