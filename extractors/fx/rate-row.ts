import { isCalendarDate } from '../../lib/dates.ts';
import { parseAmount } from '../shipments/column-mapping.ts';

/** The fields of a rate record (docs/sources/fx.md): 1 `base` is worth `rate` `quote` on `date`. */
const FIELDS = ['date', 'base', 'quote', 'rate'] as const;

/**
 * A row of a rates file (a CSV row, or an object of a JSON file) as the record verite lands:
 * `{date, base, quote, rate}`, found under those names whatever their capitals or surrounding
 * blanks (`Date`, ` Rate `); the date a calendar date written YYYY-MM-DD (a timestamp taken
 * for its date), the codes upper-case ISO 4217, the rate a positive number (a spreadsheet's
 * `1,0845` read as such). Other columns are kept under `extra`. A row that cannot be used throws
 * with the reason and is quarantined: staging reads only positive rates with a date, so it
 * would otherwise have been dropped without a word, and the run failed later on "no exchange
 * rate" for its currency.
 */
export function mapRateRow(row: Record<string, unknown>): Record<string, unknown> {
  const byName = new Map<string, string>();
  for (const column of Object.keys(row)) byName.set(column.trim().toLowerCase(), column);
  const used = new Set<string>();
  const value = (field: (typeof FIELDS)[number]): unknown => {
    const column = byName.get(field);
    if (column === undefined) return undefined;
    used.add(column);
    return row[column];
  };
  const present = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
  const noColumn = missingRateFields(Object.keys(row));
  if (noColumn.length) {
    const columns = Object.keys(row).map((c) => JSON.stringify(c)).join(', ');
    throw new Error(`no column ${noColumn.join(', ')}: a rate needs its date, base, quote and rate (the row has ${columns || 'no column'})`);
  }
  const empty = FIELDS.filter((f) => !present(value(f)));
  if (empty.length) throw new Error(`no ${empty.join(', ')}: a rate needs its date, base, quote and rate`);
  const date = String(value('date')).trim();
  const day = /^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$/.exec(date)?.[1];
  if (!day || !isCalendarDate(day)) {
    throw new Error(`unparseable date ${JSON.stringify(date)}: expected a date such as 2024-03-01`);
  }
  const code = (field: 'base' | 'quote') => {
    const text = String(value(field)).trim().toUpperCase();
    if (!/^[A-Z]{3}$/.test(text)) throw new Error(`unparseable ${field} ${JSON.stringify(value(field))}: expected an ISO 4217 code such as EUR`);
    return text;
  };
  const base = code('base');
  const quote = code('quote');
  const given = value('rate');
  const rate = typeof given === 'number' ? given : parseRate(String(given));
  if (rate === undefined || !Number.isFinite(rate)) throw new Error(`unparseable rate ${JSON.stringify(given)}: expected a number such as 1.0845`);
  if (rate <= 0) throw new Error(`rate ${JSON.stringify(given)} is not positive: 1 ${base} is worth rate ${quote}`);
  const record: Record<string, unknown> = { date: day, base, quote, rate };
  const extra = Object.fromEntries(Object.entries(row).filter(([column]) => !used.has(column)));
  if (Object.keys(extra).length) record.extra = extra;
  return record;
}

/**
 * A rate as a spreadsheet writes it. A rate has more decimals than an amount (`1,0845`), so a
 * comma followed by digits is a decimal comma, except with exactly three digits after it and
 * nothing else: `1,450` is 1450 (won to the euro) as often as 1.45, and is refused rather than
 * guessed. Groupings that say which mark is the decimal one (`1.450,25`, `1,450.25`) are read as
 * amounts are.
 */
export function parseRate(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const comma = /^(\d+),(\d+)$/.exec(t);
  if (comma) {
    if (comma[2]!.length === 3) throw new Error(`ambiguous rate ${JSON.stringify(text)}: a thousands separator or a decimal comma? Write it without one (1450) or with a point (1.45)`);
    return Number(`${comma[1]}.${comma[2]}`);
  }
  return parseAmount(t);
}

/** The fields of a rate that none of `columns` names, whatever their capitals and blanks. */
export function missingRateFields(columns: readonly string[]): string[] {
  const names = new Set(columns.map((c) => c.trim().toLowerCase()));
  return FIELDS.filter((field) => !names.has(field));
}
