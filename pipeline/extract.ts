import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { VeriteConfig } from '../config/schema.ts';
import { readSecret } from '../config/load.ts';
import { sourceSettings } from '../config/source-settings.ts';
import type { DateWindow, ReadContext, Source, Stream } from '../extractors/types.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { landPages, readStreamState } from '../loaders/raw-loader.ts';
import type { WarningCode } from '../lib/warning-codes.ts';

/** What one stream did in a run. */
export interface StreamOutcome {
  source: string;
  stream: string;
  /** `interrupted`: stopped by the run's signal after its last committed page. */
  status: 'succeeded' | 'failed' | 'interrupted';
  attempts: number;
  pages: number;
  written: number;
  unchanged: number;
  quarantined: number;
  error?: unknown;
}

export interface ExtractStreamOptions {
  pool: pg.Pool;
  config: VeriteConfig;
  /** This source's config entry (or the demo options). */
  sourceConfig: unknown;
  source: Source;
  stream: Stream;
  runId: string;
  /** The read's row in `ops.stream_runs`: its pages and counts grow page by page. */
  streamRunId?: number;
  log: Logger;
  now: Date;
  signal?: AbortSignal;
  window?: DateWindow | null;
  warnOnce: (message: string, code?: WarningCode) => void;
  /** Called after each committed page with the stream's totals so far. */
  onPage?: (landed: StreamProgress) => void;
}

/** A stream's totals after each committed page, and the dates of the data read so far. */
export interface StreamProgress {
  pages: number;
  /** Records read (written, unchanged or quarantined). */
  received: number;
  written: number;
  quarantined: number;
  /** The oldest and newest dates of the records read (their version or report date), when they have one. */
  from: string | null;
  to: string | null;
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Where a first run starts: the source's `startDate`, else two years before `now`. */
export function defaultStartDate(sourceConfig: unknown, now: Date): string {
  const configured = sourceSettings(sourceConfig).startDate;
  if (configured) return configured;
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - 2);
  return isoDay(d);
}

/**
 * Reads one stream from its committed cursor (or a backfill window) and lands it page by page.
 * Each page commits with its cursor, so a failure keeps what was landed and the next attempt
 * resumes after it. Stops between pages when `signal` aborts.
 */
export async function extractStream(options: ExtractStreamOptions): Promise<Omit<StreamOutcome, 'attempts' | 'status'>> {
  const { pool, source, stream, runId, streamRunId, signal } = options;
  const log = options.log.child({ source: source.name, stream: stream.name });
  const state = options.window ? null : await readStreamState(pool, source.name, stream.name);
  const sourceConfig = sourceSettings(options.sourceConfig);
  const ctx: ReadContext<unknown> = {
    config: options.sourceConfig,
    global: options.config,
    state,
    window: options.window ?? null,
    startDate: defaultStartDate(options.sourceConfig, options.now),
    lookbackDays: sourceConfig.lookbackDays ?? stream.defaultLookbackDays,
    now: options.now,
    log,
    signal: signal ?? new AbortController().signal,
    secret: (envVar) => readSecret(envVar, `${source.name}: ${envVar}`),
    warnOnce: options.warnOnce,
  };
  const batchId = randomUUID();
  // The window reached, for progress: a first load of two years says how far it got. Each page
  // read notes its dates; they count once the page is committed (pages are read ahead of it).
  const dates = { from: null as string | null, to: null as string | null };
  const pageDates: { from: string | null; to: string | null }[] = [];
  const dateOf = (record: Record<string, unknown>) => (stream.kind === 'date-report' ? stream.dateOf?.(record) : stream.versionOf?.(record)?.slice(0, 10));
  const noteDates = (records: readonly unknown[]) => {
    const page = { from: null as string | null, to: null as string | null };
    pageDates.push(page);
    for (const record of records) {
      if (!record || typeof record !== 'object') continue;
      let date: string | undefined;
      try {
        date = dateOf(record as Record<string, unknown>);
      } catch {
        continue; // a record the loader will quarantine
      }
      if (!date || !/^\d{4}-\d{2}-\d{2}/.test(date)) continue;
      if (!page.from || date < page.from) page.from = date;
      if (!page.to || date > page.to) page.to = date;
    }
  };
  const committed = (n: number) => {
    for (const page of pageDates.splice(0, n - progress.pages)) {
      if (page.from && (!dates.from || page.from < dates.from)) dates.from = page.from;
      if (page.to && (!dates.to || page.to > dates.to)) dates.to = page.to;
    }
  };
  const stop = () => signal?.reason ?? new Error('interrupted');
  const pages = (async function* () {
    const reader = stream.read(ctx)[Symbol.asyncIterator]();
    try {
      for (;;) {
        // The loader asks for the next page while it writes this one: once the signal came, no
        // further page is read, and one read meanwhile is not landed (nor its cursor): the next
        // run reads it again.
        if (signal?.aborted) throw stop();
        const next = await reader.next();
        if (next.done) return;
        if (signal?.aborted) throw stop();
        noteDates(next.value.records);
        // A backfill's progress is kept in ops.backfills; its pages must not move the incremental cursor.
        yield options.window ? { ...next.value, state: undefined } : next.value;
      }
    } finally {
      await reader.return?.();
    }
  })();
  const progress: StreamProgress = { pages: 0, received: 0, written: 0, quarantined: 0, from: null, to: null };
  const result = await landPages(pool, { source: source.name, stream, runId, batchId, streamRunId }, pages, (page, n) => {
    committed(n);
    progress.pages = n;
    progress.received += page.received;
    progress.written += page.written;
    progress.quarantined += page.quarantined;
    progress.from = dates.from;
    progress.to = dates.to;
    log.debug({ page: n, written: page.written, quarantined: page.quarantined }, 'page committed');
    options.onPage?.(progress);
  });
  log.info({ pages: result.pages, written: result.written, unchanged: result.unchanged, quarantined: result.quarantined }, 'stream landed');
  return { source: source.name, stream: stream.name, pages: result.pages, written: result.written, unchanged: result.unchanged, quarantined: result.quarantined };
}

export { errorMessage };
