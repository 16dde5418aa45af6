/**
 * The contract between a stream and the loader: what a page of records is, and the JSON a cursor
 * may be. Extractors produce pages; the loader lands them; neither knows the other.
 */
/** Any JSON value a stream can keep as its cursor in `ops.stream_state`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * `entity`: records are objects with an identity (an order, a charge) merged by key; the newest
 * version wins. `date-report`: rows of a report bucketed by date; every date a run re-extracts
 * has its rows replaced, so a restated day is corrected, not duplicated.
 */
export type StreamKind = 'entity' | 'date-report';

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
   * date-report only: limits what `dates` replaces to the rows whose record holds one of
   * `values` at `path` (a JSON path, e.g. `['customer', 'id']`). A page read for some accounts
   * only (one added to the config after the stream's first run) leaves the other accounts' rows
   * of its dates alone.
   */
  replaceOnly?: { path: string[]; values: string[] };
  /**
   * Runs inside the page's transaction after its records and cursor are written, just before the
   * commit; if it throws, the whole page rolls back. A file-drop source records here that a file
   * is landed, so a crash never marks a file landed without its rows (or the rows without the mark),
   * and reads here, on a page without records, which files it landed before.
   */
  afterLand?: (tx: LandTransaction, target: { source: string; stream: string; runId: string }) => Promise<void>;
  /**
   * A page of a file (the costs and shipments files): the decimal mark each column of the file
   * showed, kept with every record the page quarantines, so that a row retried later is read
   * with its file's mark whatever column mapping is set by then.
   */
  decimalMarks?: ColumnMarks;
}

/**
 * The decimal mark each column of a file showed in its values (`{"Preis": ","}`), of the columns
 * where some value showed one; null for a column that showed both.
 */
export type ColumnMarks = Readonly<Record<string, '.' | ',' | null>>;

/** The open transaction of a page being landed, as {@link Page.afterLand} sees it. */
export interface LandTransaction {
  query(sql: string, parameters?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}
