import type { GoogleAdsConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { reportDate } from '../../catalog/catalog.ts';
import { maxRetryAfterMs, RetryableError, withRetry } from '../../lib/http.ts';
import { withIdleTimeout } from '../../lib/idle-timeout.ts';
import type { DateWindow, Page, ReadContext } from '../types.ts';
import { readSecrets, secretsProblem, type GoogleAdsClient, type GoogleAdsClientFactory, type GoogleAdsRow } from './client.ts';
import { translateAdsFailure } from './failure.ts';
import { accountPasses, chunkWindow, lastCompleteDay, planAccounts, readIdsOf, reportZone, rowsByDate, stateAfter, throughOf } from '../report-window.ts';

export const SOURCE = 'google_ads';
export const STREAM = 'campaign_daily';

/** Each customer's zone and currency, and whether it is a manager account (which has no campaigns of its own). */
export const ACCOUNT_QUERY = 'SELECT customer.id, customer.time_zone, customer.currency_code, customer.manager FROM customer';

/** The campaign-day report of docs/streams.md over a window of dates. */
export function campaignQuery(window: DateWindow): string {
  return (
    'SELECT customer.id, customer.currency_code, customer.time_zone, campaign.id, campaign.name, segments.date, ' +
    'metrics.cost_micros, metrics.clicks, metrics.impressions, metrics.conversions, metrics.conversions_value ' +
    `FROM campaign WHERE segments.date BETWEEN '${window.from}' AND '${window.to}'`
  );
}

interface Account {
  id: string;
  timeZone: string;
}

/**
 * Reads `campaign_daily`: the account's zone first (`customer.time_zone`, so "up to yesterday"
 * is the account's yesterday), then for each window of `queryWindowDays` dates, oldest first,
 * one streamed GAQL query per customer, and one page per date holding that date's rows of every
 * customer, which replaces the date's rows and moves the cursor to it. Rows land as
 * google-ads-api returns them. A customer the cursor has not read (added to `customerIds` since)
 * then has its dates from `startDate` read the same way, for it alone, its pages replacing its
 * own rows only ({@link planAccounts}).
 */
export async function* readCampaignDaily(ctx: ReadContext<GoogleAdsConfig>, createClient: GoogleAdsClientFactory): AsyncGenerator<Page> {
  const config = ctx.config;
  const secrets = readSecrets(ctx.secret, config);
  const wrong = secretsProblem(secrets, config);
  if (wrong) throw new ExtractError(wrong, { source: SOURCE, stream: STREAM }, { permanent: true });
  const client = await createClient(config, secrets);
  const query = (customerId: string, gaql: string, describe: string, window?: DateWindow) =>
    queryAll(client, customerId, gaql, { ctx, describe, window, attempts: config.maxAttempts });

  const accounts: Account[] = [];
  for (const id of config.customerIds) {
    const rows = await query(id, ACCOUNT_QUERY, `customer ${id} time zone`);
    const customer = rows[0]?.customer;
    const where = { source: SOURCE, stream: STREAM, request: `customer ${id} time zone` };
    if (!customer) throw new ExtractError(`customer ${id} answered no customer row`, where);
    if (customer.manager === true) {
      throw new ExtractError(`customer ${id} is a manager account, which has no campaigns of its own: list its client accounts in customerIds and put ${id} in loginCustomerId`, where, { permanent: true });
    }
    accounts.push({ id, timeZone: reportZone(ctx, SOURCE, `customer ${id}`, customer.time_zone) });
  }

  // A date is complete once it is over in every account's zone.
  const lastComplete = lastCompleteDay(ctx.now, accounts.map((a) => ({ label: `customer ${a.id}`, timeZone: a.timeZone })), { source: SOURCE, stream: STREAM });
  if (lastComplete === undefined) return;

  const previous = throughOf(ctx.state);
  const plan = planAccounts(ctx, previous, lastComplete, accounts.map((a) => a.id), readIdsOf(ctx.state, 'customerIds'));
  const range = plan.window;
  const passes = accountPasses(plan, accounts, (a) => a.id, { idPath: ['customer', 'id'], log: ctx.log, noun: (id) => `customer ${id}`, key: 'customerIds' });
  if (passes.length === 0) {
    ctx.log.info({ from: range.from, to: range.to }, 'no complete day to read yet');
    return;
  }
  ctx.log.info({ from: range.from, to: range.to, customers: accounts.length, apiVersion: client.apiVersion }, 'reading Google Ads campaigns');
  let through = previous;
  for (const pass of passes) {
    for (const window of chunkWindow(pass.dates, config.queryWindowDays)) {
      const rows: GoogleAdsRow[] = [];
      for (const account of pass.accounts) {
        for (const row of await query(account.id, campaignQuery(window), `searchStream customer ${account.id} ${window.from}..${window.to}`, window)) rows.push(row);
      }
      for (const { date, records } of rowsByDate(window, rows, (row) => reportDate(row.segments?.date))) {
        // A backfill never moves the cursor backwards, nor does an added customer's history.
        through = stateAfter(through, date).through;
        yield { records, dates: [date], ...(pass.replaceOnly ? { replaceOnly: pass.replaceOnly } : {}), state: { through, customerIds: plan.idsAfter(date) } };
      }
    }
  }
}

/**
 * Every row of one streamed query, with the retry policy: a stream that breaks off is asked
 * again from the start (its rows are kept only once it ends), so a retry never lands half a window.
 */
export async function queryAll(
  client: GoogleAdsClient,
  customerId: string,
  gaql: string,
  options: { ctx: ReadContext<GoogleAdsConfig>; describe: string; window?: DateWindow; attempts: number },
): Promise<GoogleAdsRow[]> {
  const request = client.apiVersion ? `${options.describe} (${client.apiVersion})` : options.describe;
  const where = { source: SOURCE, stream: STREAM, request, ...(options.window ? { window: options.window } : {}) };
  const retry = { attempts: options.attempts, maxRetryAfterMs: maxRetryAfterMs(options.ctx.global) };
  return withRetry({ ...where, log: options.ctx.log, signal: options.ctx.signal, retry }, async () => {
    const rows: GoogleAdsRow[] = [];
    try {
      // google-ads-api streams the answer through axios with no time-out: a stalled connection is given up here.
      const idle = options.ctx.config.idleTimeoutSeconds;
      const stalled = () => new RetryableError(`Google Ads sent nothing for ${idle} s (sources.google_ads.idleTimeoutSeconds): the connection stalled; the query is asked again`);
      for await (const row of withIdleTimeout(client.queryStream(customerId, gaql), idle * 1000, stalled)) rows.push(row);
    } catch (error) {
      throw translateAdsFailure(error, { ...where, customerId, apiVersion: client.apiVersion, library: client.library });
    }
    return rows;
  });
}
