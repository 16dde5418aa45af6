import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FxConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { formatOf, readRecordsFile, workbookFit } from '../../loaders/file-reader.ts';
import { catalog } from '../../catalog/catalog.ts';
import { httpRequest, maxRetryAfterMs } from '../../lib/http.ts';
import { addDays } from '../../lib/dates.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import { leftOutByName, setSheetIn, wrongSheet } from '../shipments/drop-files.ts';
import { mapJsonItem } from '../shipments/file-drop.ts';
import { ECB_BASE_URL, ecbUrl, parseEcbXml, type EcbRange, type EcbRate } from './ecb.ts';
import { mapRateRow, missingRateFields } from './rate-row.ts';

/**
 * The files a `path` names: one rates file, or every .csv/.json/.jsonl/.xlsx file of a folder,
 * but those a drop leaves out by their name (hidden files, Office's `~$` owner files: {@link leftOutByName}).
 */
export function rateFiles(path: string): string[] {
  if (!existsSync(path)) throw new ExtractError(`no such file or folder: ${path}`, { source: 'fx', stream: 'rates' });
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .filter((f) => formatOf(f) && !leftOutByName(f))
      .sort()
      .map((f) => join(path, f));
  }
  return [path];
}

/**
 * Rates from a file (every run: a rate corrected in the file replaces the landed one, an
 * unchanged one is not rewritten), then the ECB's daily reference rates when `ecb` is on,
 * from the cursor minus the lookback (the last 90 days' document when that reaches far
 * enough, else the full history).
 */
async function* readRates(ctx: ReadContext<FxConfig>): AsyncGenerator<Page> {
  const config = ctx.config;
  if (config.path) {
    for (const file of rateFiles(config.path)) {
      // A workbook read on a sheet without the rate's columns while another has them is left
      // unread, as a drop leaves it, until `sheet` names the one.
      const fit = await workbookFit(file, config.sheet, (row) => missingRateFields(Object.keys(row)));
      if (fit && fit.lacking.length && fit.others.length) {
        ctx.warnOnce(`fx: ${basename(file)} was not read: ${wrongSheet(fit, setSheetIn('fx'))}`);
        continue;
      }
      // Each row through the rate's shape (rate-row.ts): one that cannot be used is quarantined with why.
      for await (const records of readRecordsFile(file, { mapCsvRow: mapRateRow, sheet: config.sheet })) yield { records: records.map((item) => mapJsonItem(item, mapRateRow)) };
    }
  }
  if (!config.ecb) return;
  const through = (ctx.state as { through?: string } | null)?.through;
  const from = ctx.window?.from ?? (through ? addDays(through, -ctx.lookbackDays) : ctx.startDate);
  const to = ctx.window?.to ?? ctx.now.toISOString().slice(0, 10);
  const today = ctx.now.toISOString().slice(0, 10);
  const range: EcbRange = from >= addDays(today, -85) ? 'hist-90d' : 'hist';
  const rates = (await readEcbRates(ctx, range)).filter((r) => r.date >= from && r.date <= to);
  if (rates.length === 0) {
    ctx.log.info({ from, to }, 'the ECB has published no new rates for this range');
    return;
  }
  // One page per month keeps pages small; the cursor moves with each.
  let page: typeof rates = [];
  for (const rate of rates) {
    if (page.length && page[0]!.date.slice(0, 7) !== rate.date.slice(0, 7)) {
      yield { records: page, state: { through: maxThrough(through, page.at(-1)!.date, ctx) } };
      page = [];
    }
    page.push(rate);
  }
  yield { records: page, state: { through: maxThrough(through, page.at(-1)!.date, ctx) } };
}

/**
 * One of the ECB's reference-rate documents, read and parsed (the run reads the last 90 days or
 * the whole history, `verite check` the latest day); `stream` names the request in errors.
 */
export async function readEcbRates(
  ctx: Pick<ReadContext<FxConfig>, 'config' | 'global' | 'log' | 'signal'>,
  range: EcbRange,
  options: { stream?: string; attempts?: number } = {},
): Promise<EcbRate[]> {
  const response = await httpRequest<string>(
    { source: 'fx', stream: options.stream ?? 'rates', log: ctx.log, signal: ctx.signal, retry: { maxRetryAfterMs: maxRetryAfterMs(ctx.global), ...(options.attempts ? { attempts: options.attempts } : {}) } },
    { url: ecbUrl(ctx.config.ecbUrl ?? ECB_BASE_URL, range), describe: `GET ECB ${range} reference rates` },
  );
  return parseEcbXml(String(response.body));
}

/** A backfill never moves the cursor backwards. */
function maxThrough(previous: string | undefined, reached: string, ctx: ReadContext<FxConfig>): string {
  return ctx.window && previous && previous > reached ? previous : reached;
}

export const fxRatesStream: Stream<FxConfig> = {
  ...catalog.fx.rates,
  read: readRates,
  mapCsvRow: (row) => mapRateRow(row),
  mapJsonRecord: (row) => mapRateRow(row),
  sheetLacks: (row) => missingRateFields(Object.keys(row)),
};

export const fxSource: Source<FxConfig> = { name: 'fx', streams: [fxRatesStream] };

