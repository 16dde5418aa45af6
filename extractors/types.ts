import type { Logger } from '../lib/logger.ts';
import type { VeriteConfig } from '../config/schema.ts';

/** Any JSON value a stream can keep as its cursor in `ops.stream_state`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * `entity`: records are objects with an identity (an order, a charge) merged by key; the newest
 * version wins. `date-report`: rows of a report bucketed by date; every date a run re-extracts
 * has its rows replaced, so a restated day is corrected, not duplicated.
 */
export type StreamKind = 'entity' | 'date-report';

/** An inclusive range of calendar dates, `YYYY-MM-DD`. */
export interface DateWindow {
  from: string;
  to: string;
}

/**
 * One unit of work the loader commits atomically: the records, and the cursor that is safe to
 * store once they are landed. A page of a date-report stream also names every date it
 * re-extracts (even a date that now has no rows), so those dates' old rows are replaced.
 */
export interface Page {
  records: unknown[];
  /** The stream's position after this page; stored in the same transaction as the records. */
  state?: JsonValue;
  /** date-report only: the dates (YYYY-MM-DD) whose rows this extraction replaces. */
  dates?: string[];
  /**
   * Runs inside the page's transaction after its records and cursor are written, just before the
   * commit; if it throws, the whole page rolls back. A file-drop source records here that a file
   * is landed, so a crash never marks a file landed without its rows (or the rows without the mark),
   * and reads here, on a page without records, which files it landed before.
   */
  afterLand?: (tx: LandTransaction, target: { source: string; stream: string; runId: string }) => Promise<void>;
}

/** The open transaction of a page being landed, as {@link Page.afterLand} sees it. */
export interface LandTransaction {
  query(sql: string, parameters?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/** What a stream is given to read. */
export interface ReadContext<C> {
  /** This source's entry of the config, parsed. */
  config: C;
  /** The whole config (reporting time zone and currency, other sources). */
  global: VeriteConfig;
  /** The cursor committed by the last page of an earlier run, or null on a first run. */
  state: JsonValue | null;
  /**
   * Set for a backfill (`verite backfill --from --to`): read exactly these dates, ignoring the
   * cursor. Null for an incremental run, which starts from `state` (minus the lookback) or, on a
   * first run, from `startDate`.
   */
  window: DateWindow | null;
  /** Where a first run starts (the source's `startDate`, default two years back). */
  startDate: string;
  /** Days re-read behind the cursor on each incremental run, for restated data. */
  lookbackDays: number;
  /** The run's clock; tests pass a fixed one. */
  now: Date;
  log: Logger;
  signal: AbortSignal;
  /** Reads a secret from the environment variable a `...Env` key names (registered for redaction). */
  secret(envVar: string): string;
  /** Logs a warning once per run for the same text (e.g. a report time zone differing from the reporting one). */
  warnOnce(message: string): void;
}

/**
 * A stream of one source. It knows the API (paging, rate limits, retries, report jobs,
 * lookback) and nothing of the warehouse. Its key, date and version functions are also what
 * `verite import` uses, so an imported record lands exactly as an extracted one.
 */
export interface Stream<C = unknown> {
  readonly name: string;
  readonly kind: StreamKind;
  /** A description of the key, for docs and `verite status` (e.g. `id`, `customer + campaign + date`). */
  readonly keyDescription: string;
  /** A description of the cursor (e.g. `updated_at + lookback`). */
  readonly cursorDescription: string;
  readonly defaultLookbackDays: number;
  /** The record's key as text; undefined when the record has none (it is then quarantined). */
  keyOf(record: Record<string, unknown>): string | undefined;
  /** date-report only: the report date of a row, YYYY-MM-DD. */
  dateOf?(record: Record<string, unknown>): string | undefined;
  /**
   * The version of an entity record (e.g. its `updated_at`) as an ISO timestamp: an older
   * version never overwrites a newer one already landed. Undefined: the last landed wins.
   */
  versionOf?(record: Record<string, unknown>): string | undefined;
  /** Reads pages for the context's window or from its cursor. */
  read(ctx: ReadContext<C>): AsyncIterable<Page>;
  /**
   * Turns a row of an imported CSV file (column → text) into the stream's record shape, with
   * this source's config (e.g. a 3PL's column mapping). Throws with the reason when the row
   * cannot be used; the row is then quarantined. Without it, CSV rows land as they are.
   */
  mapCsvRow?(row: Record<string, string>, config: C | undefined): Record<string, unknown>;
}

/** A source: a named list of streams sharing one config entry. */
export interface Source<C = unknown> {
  readonly name: string;
  readonly streams: readonly Stream<C>[];
}
