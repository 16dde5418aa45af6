import type { Ga4Config } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { maxRetryAfterMs, withRetry } from '../../lib/http.ts';
import type { Page, ReadContext } from '../types.ts';
import { createGa4Client, type Ga4ReportClient, type RunReportRequest, type RunReportResponse } from './client.ts';
import { quotaStopMessage, translateFailure } from './failure.ts';
import { quotaShortfall, type PropertyQuota } from './quota.ts';
import { accountPasses, datesOf, lastCompleteDay, planAccounts, readIdsOf, reportZone, stateAfter, throughOf } from '../report-window.ts';

export const SOURCE = 'ga4';
export const STREAM = 'traffic_daily';

/** The dimensions of a `traffic_daily` row (docs/streams.md), with the API's names. */
export const DIMENSIONS = ['date', 'sessionDefaultChannelGroup', 'sessionSource', 'sessionMedium', 'sessionCampaignName', 'deviceCategory'] as const;
/** Its metrics. */
export const METRICS = ['sessions', 'totalUsers', 'newUsers', 'addToCarts', 'checkouts', 'ecommercePurchases', 'purchaseRevenue'] as const;

/** A property as the run knows it: its zone and currency (from the API) and its last reported quota. */
interface Property {
  id: string;
  timeZone: string;
  currencyCode: string | null;
  quota?: PropertyQuota | null;
}

/** How the stream builds its client; tests keep the default, reaching a local server through the config. */
export type Ga4ClientFactory = (config: Ga4Config) => Ga4ReportClient;

/**
 * Reads `traffic_daily`: for each date, oldest first, one runReport per property over that one
 * day (a single-day range is never sampled), paged with `limit`/`offset` until `rowCount`; then
 * one page holding every property's rows of that date, which replaces the date's rows and moves
 * the cursor to it. Each row is flattened to `{apiName: value}` with the API's string values,
 * plus `property_id` and the property's `property_time_zone` and `property_currency_code`. A
 * property the cursor has not read (added to `propertyIds` since) then has its dates from
 * `startDate` read the same way, for it alone, its pages replacing its own rows only
 * ({@link planAccounts}).
 *
 * Before every request the property's quota, as the previous answer reported it, is checked:
 * when a token quota is below `quotaReserve` (or another quota is exhausted) the read stops with
 * an {@link ExtractError} saying which quota and when to run again; the dates already landed
 * stay landed.
 */
export async function* readTrafficDaily(ctx: ReadContext<Ga4Config>, createClient: Ga4ClientFactory = createGa4Client): AsyncGenerator<Page> {
  const config = ctx.config;
  const previous = throughOf(ctx.state);
  // For a quota stop's message: what an earlier run or this one has landed.
  let landedThrough = previous;
  const client = createClient(config);

  /** One runReport with the quota check before it and the retry policy around it. */
  const call = async (property: Property, request: RunReportRequest, describe: string): Promise<RunReportResponse> => {
    const shortfall = quotaShortfall(property.quota, config.quotaReserve);
    if (shortfall) {
      // Only time refills a quota: trying the stream again in this run would stop the same way.
      throw new ExtractError(quotaStopMessage(property.id, shortfall, config.quotaReserve, landedThrough), { source: SOURCE, stream: STREAM, request: describe }, { permanent: true });
    }
    const where = { source: SOURCE, stream: STREAM, request: describe };
    const response = await withRetry(
      { ...where, log: ctx.log, signal: ctx.signal, retry: { attempts: config.maxAttempts, maxRetryAfterMs: maxRetryAfterMs(ctx.global) } },
      async () => {
        try {
          return await client.runReport(request);
        } catch (error) {
          throw translateFailure(error, { ...where, propertyId: property.id, reserve: config.quotaReserve, landedThrough });
        }
      },
    );
    property.quota = response.propertyQuota ?? property.quota;
    return response;
  };

  try {
    const properties: Property[] = [];
    for (const id of config.propertyIds) {
      const property: Property = { id, timeZone: 'UTC', currencyCode: null };
      const probe = await call(property, zoneProbe(id), `runReport properties/${id} (time zone)`);
      const timeZone = reportZone(ctx, SOURCE, `property ${id}`, probe.metadata?.timeZone);
      properties.push({ ...property, timeZone, currencyCode: probe.metadata?.currencyCode || null });
    }

    // A date is complete once it is over in every property's zone.
    const lastComplete = lastCompleteDay(ctx.now, properties.map((p) => ({ label: `GA4 property ${p.id}`, timeZone: p.timeZone })), { source: SOURCE, stream: STREAM });
    if (lastComplete === undefined) return;

    const plan = planAccounts(ctx, previous, lastComplete, properties.map((p) => p.id), readIdsOf(ctx.state, 'propertyIds'));
    const range = plan.window;
    const passes = accountPasses(plan, properties, (p) => p.id, { idPath: ['property_id'], log: ctx.log, noun: (id) => `GA4 property ${id}`, key: 'propertyIds' });
    if (passes.length === 0) {
      ctx.log.info({ from: range.from, to: range.to }, 'no complete day to read yet');
      return;
    }
    ctx.log.info({ from: range.from, to: range.to, properties: properties.length }, 'reading GA4 traffic');
    for (const pass of passes) {
      for (const date of datesOf(pass.dates)) {
        const records: Record<string, unknown>[] = [];
        for (const property of pass.accounts) for (const row of await readDay(property, date)) records.push(row);
        // A backfill never moves the cursor backwards, nor does an added property's history.
        const through = stateAfter(landedThrough, date).through;
        yield { records, dates: [date], ...(pass.replaceOnly ? { replaceOnly: pass.replaceOnly } : {}), state: { through, propertyIds: plan.idsAfter(date) } };
        landedThrough = through;
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }

  /** Every row of one property and date, page after page until `rowCount`. */
  async function readDay(property: Property, date: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (let offset = 0; ; ) {
      const response = await call(property, dayRequest(property.id, date, offset, config.pageSize), `runReport properties/${property.id} ${date} offset ${offset}`);
      noteMetadata(property, response);
      const page = flatten(property, response);
      // Not push(...page): a page may hold 250,000 rows, more arguments than a call takes.
      for (const row of page) rows.push(row);
      offset += page.length;
      const total = Number(response.rowCount ?? 0);
      if (offset >= total) return rows;
      if (page.length === 0) {
        throw new ExtractError(`GA4 property ${property.id} reported ${total} rows for ${date} but sent none from offset ${offset}`, {
          source: SOURCE, stream: STREAM, request: `runReport properties/${property.id} ${date} offset ${offset}`,
        });
      }
    }
  }

  /** Warns (once per property and run: the text is the key) about what makes a day's numbers approximate. */
  function noteMetadata(property: Property, response: RunReportResponse): void {
    const metadata = response.metadata;
    if (!metadata) return;
    if (metadata.dataLossFromOtherRow) {
      ctx.warnOnce(`ga4: property ${property.id} grouped some rows of a day into "(other)" (too many distinct values); those rows' dimensions are lost`, 'ga4-other-row');
    }
    if (metadata.samplingMetadatas?.length) ctx.warnOnce(`ga4: property ${property.id} answered with sampled data for some days`, 'ga4-sampled');
    if (metadata.subjectToThresholding) ctx.warnOnce(`ga4: property ${property.id} applies thresholds to its reports; small counts may be left out`, 'ga4-thresholds');
  }
}

/**
 * The cheapest report there is (today's sessions, one row): its answer's metadata carries the
 * property's time zone and currency, and its quota what is left.
 */
export function zoneProbe(propertyId: string): RunReportRequest {
  return { property: `properties/${propertyId}`, dateRanges: [{ startDate: 'today', endDate: 'today' }], metrics: [{ name: 'sessions' }], limit: 1, returnPropertyQuota: true };
}

/** The report of one property and day, rows in a stable order so that offsets page consistently. */
export function dayRequest(propertyId: string, date: string, offset: number, limit: number): RunReportRequest {
  return {
    property: `properties/${propertyId}`,
    dateRanges: [{ startDate: date, endDate: date }],
    dimensions: DIMENSIONS.map((name) => ({ name })),
    metrics: METRICS.map((name) => ({ name })),
    orderBys: DIMENSIONS.filter((name) => name !== 'date').map((dimensionName) => ({ dimension: { dimensionName } })),
    limit,
    offset,
    keepEmptyRows: false,
    returnPropertyQuota: true,
  };
}

/** The rows of an answer as `{property_id, <dimension>: value, <metric>: value, property_time_zone, property_currency_code}`. */
function flatten(property: Property, response: RunReportResponse): Record<string, unknown>[] {
  const dimensions = (response.dimensionHeaders ?? []).map((h) => h.name ?? '');
  const metrics = (response.metricHeaders ?? []).map((h) => h.name ?? '');
  return (response.rows ?? []).map((row) => {
    const record: Record<string, unknown> = { property_id: property.id };
    dimensions.forEach((name, i) => (record[name] = row.dimensionValues?.[i]?.value ?? null));
    metrics.forEach((name, i) => (record[name] = row.metricValues?.[i]?.value ?? null));
    record.property_time_zone = property.timeZone;
    record.property_currency_code = property.currencyCode;
    return record;
  });
}
