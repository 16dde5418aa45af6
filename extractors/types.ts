import type { Logger } from '../lib/logger.ts';
import type { CatalogSource, StreamIdentity } from '../catalog/catalog.ts';
import type { JsonValue, Page } from '../catalog/stream-contract.ts';
import type { ConfigOf, VeriteConfig } from '../config/schema.ts';
import type { SheetContext } from './shipments/column-mapping.ts';
import type { WarningCode } from '../lib/warning-codes.ts';

export type { ColumnMarks, JsonValue, LandTransaction, Page, StreamKind } from '../catalog/stream-contract.ts';

/** An inclusive range of calendar dates, `YYYY-MM-DD`. */
export interface DateWindow {
  from: string;
  to: string;
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
  warnOnce(message: string, code?: WarningCode): void;
}

/**
 * A stream of one source. It knows the API (paging, rate limits, retries, report jobs,
 * lookback) and nothing of the warehouse. Its key, date and version functions are also what
 * `verite import` uses, so an imported record lands exactly as an extracted one.
 */
export interface Stream<C = unknown> extends StreamIdentity {
  /** Reads pages for the context's window or from its cursor. */
  read(ctx: ReadContext<C>): AsyncIterable<Page>;
  /**
   * Turns a row of an imported CSV file (column → text) into the stream's record shape, with
   * this source's config (e.g. a 3PL's column mapping). Throws with the reason when the row
   * cannot be used; the row is then quarantined. Without it, CSV rows land as they are.
   */
  mapCsvRow?(row: Record<string, string>, config: C | undefined, sheet?: SheetContext): Record<string, unknown>;
  /**
   * The same for an object of an imported `.json`/`.jsonl` file, for the file sources whose run
   * reads such files through the same mapping (shipments, costs, fx). Without it, JSON records
   * land as they are (an API's own record shape, as a re-extraction would land it).
   */
  mapJsonRecord?(row: Record<string, unknown>, config: C | undefined, sheet?: SheetContext): Record<string, unknown>;
  /**
   * A file row's amount cells, as text, for the file sources whose mapping reads amounts
   * (shipments, costs): `verite import` reads the file's decimal mark from them first, as the
   * file drop does, and passes it to the mapping as `sheet`.
   */
  amountsOf?(row: Record<string, unknown>, config: C | undefined): string[];
  /**
   * The columns the mapping reads the amount from (its own names, dotted into JSON objects):
   * `verite quarantine retry` reads a row's amounts with the mark its file showed in them.
   */
  amountColumns?(config: C | undefined): readonly string[];
  /**
   * What a workbook's sheet (a row of its header) lacks to be read as this stream's, for the file
   * sources (shipments, costs, fx): `verite import` refuses a workbook read on a sheet that lacks
   * it while another has it, naming that sheet, as the file drop leaves such a file unread.
   */
  sheetLacks?(row: Record<string, unknown>, config: C | undefined): string[];
  /**
   * A check of the mapped records of one file, made anew for each file (a record it refuses is
   * quarantined with its reason): a file drop and `verite import` read a file through it alike.
   */
  fileRowCheck?(): FileRowCheck;
}

/**
 * Looks at the records of one file in order, each with its location (`3pl.csv:7`): says why a
 * record is refused, or nothing.
 */
export type FileRowCheck = (record: Record<string, unknown>, location: string | undefined) => string | undefined;

/** A source: a named list of streams sharing one config entry. */
export interface Source<C = unknown> {
  readonly name: string;
  readonly streams: readonly Stream<C>[];
}

/**
 * The sources a run knows: one extractor for each source of the stream catalogue, under the
 * name of its config entry, each typed by that entry's config.
 */
export type KnownSources = { readonly [K in CatalogSource]: Source<ConfigOf<K>> };
