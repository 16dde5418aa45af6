import { shipmentFields, type ShipmentField, type ShipmentsConfig } from '../../config/schema.ts';
import type { ColumnMarks } from '../../catalog/stream-contract.ts';
import { ISO_4217_CURRENCIES } from '../../warehouse/migrations/0009-set-aside.ts';
import { compileSheetDateParser, type DateParser } from './date-parse.ts';

/** What the mapping needs of the source's config. */
export type MappingConfig = Pick<ShipmentsConfig, 'columns' | 'dateFormat' | 'timeZone'> & Partial<Pick<ShipmentsConfig, 'decimalMark'>>;

/** What a row's mapping knows of the whole file the row comes from. */
export interface SheetContext {
  /**
   * The file's decimal mark, as its amounts show it ({@link sheetDecimalMark}); the config's
   * `decimalMark`, when set, is read instead.
   */
  decimalMark?: DecimalMark;
  /**
   * The row is read away from its file (a quarantined row retried): when no decimal mark is
   * known, an amount such as `1.234` is refused rather than read as 1.234, as there is no file
   * to warn of.
   */
  withoutFile?: boolean;
  /**
   * The file's cells are typed (an `.xlsx` workbook): a date cell reaches the mapping as ISO 8601
   * (`2024-03-01`, `2024-03-01T14:30:00`), read as such whatever `dateFormat` says; a text cell
   * is read with `dateFormat` as in a CSV.
   */
  typedDates?: boolean;
}

/**
 * Turns one row of a file (CSV text, or a JSON object) into a record; throws with the reason.
 * `amountsOf` gives the row's amount cells as text, which the file's decimal mark is read from.
 */
export interface RowMapper {
  (row: Record<string, unknown>, sheet?: SheetContext): Record<string, unknown>;
  amountsOf(row: Record<string, unknown>): string[];
  /** The columns the amount may be read from, as {@link ColumnMarks} name them. */
  amountColumns: readonly string[];
}

/** Turns one row of an export (CSV text, or a JSON object) into a shipment record; throws with the reason. */
export type ShipmentMapper = RowMapper;

const DATE_FIELDS: ReadonlySet<ShipmentField> = new Set(['shipped_at', 'estimated_delivery_at', 'delivered_at', 'returned_at', 'updated_at']);

const compiled = new WeakMap<object, ShipmentMapper>();
let unconfigured: ShipmentMapper | undefined;

/**
 * The mapper of a config, built once per config object (a file of a million rows calls it a
 * million times). Without a config, columns named like the shipment fields are taken as they are.
 */
export function shipmentMapper(config: MappingConfig | undefined): ShipmentMapper {
  if (!config) return (unconfigured ??= buildMapper({ columns: {}, dateFormat: undefined, timeZone: 'UTC' }));
  let mapper = compiled.get(config);
  if (!mapper) {
    mapper = buildMapper(config);
    compiled.set(config, mapper);
  }
  return mapper;
}

/**
 * Maps a row with the config's column mapping and normalises it to the shipment shape of
 * docs/streams.md: text trimmed (tracking numbers without spaces), dates strictly parsed to ISO (a
 * date without a time stays a calendar date, `YYYY-MM-DD`), amounts to numbers, currencies upper
 * case. A column the mapping does not name, and that is not itself a shipment field, is kept
 * under `extra`, so nothing the export held is lost. An empty cell becomes null.
 *
 * @example
 * mapShipmentRow({ 'Order Ref': '#1001', 'Ship Date': '01/05/2024' }, { columns: { 'Order Ref': 'order_id', 'Ship Date': 'shipped_at' }, dateFormat: 'DD/MM/YYYY', timeZone: 'UTC' })
 * // { order_id: '#1001', shipped_at: '2024-05-01' }
 */
export function mapShipmentRow(row: Record<string, unknown>, config: MappingConfig | undefined, sheet?: SheetContext): Record<string, unknown> {
  return shipmentMapper(config)(row, sheet);
}

/** The columns a mapping names that a file's first row lacks (a renamed column in the 3PL's export). */
export function missingColumns(row: Record<string, unknown>, config: MappingConfig | undefined): string[] {
  return Object.keys(config?.columns ?? {}).filter((column) => lookup(row, column) === undefined);
}

/**
 * What a sheet lacks to be read as shipments, for choosing a workbook's sheet: the columns the
 * mapping names that it does not have, else `tracking_number` when it has no column for it nor
 * for both `order_id` and `carrier` (a shipment's key: every row would be refused). A field's
 * column is one the mapping maps to it, or one of the field's own name the mapping does not take.
 */
export function shipmentSheetLacks(row: Record<string, unknown>, config: MappingConfig | undefined): string[] {
  const columns = config?.columns ?? {};
  const has = (field: ShipmentField) =>
    Object.entries(columns).some(([column, target]) => target === field && lookup(row, column) !== undefined) ||
    (!Object.hasOwn(columns, field) && lookup(row, field) !== undefined);
  const missing = missingColumns(row, config);
  // The key, said by its field when no mapped column is missing already (which says enough).
  const keyed = has('tracking_number') || (has('order_id') && has('carrier'));
  return keyed || missing.length ? missing : ['tracking_number'];
}

function buildMapper(config: MappingConfig): ShipmentMapper {
  const parseDate = compileSheetDateParser(config.dateFormat, config.timeZone);
  const expected = config.dateFormat ? `expected ${config.dateFormat}` : 'expected ISO 8601 such as 2024-05-01 or 2024-05-01T14:30:00Z, or set dateFormat';
  const mapped = new Set(Object.keys(config.columns));
  // For each field, the columns that may hold it, in the order the config lists them, then a
  // column named like the field itself when the mapping does not take that column elsewhere.
  const sources = new Map<ShipmentField, string[]>();
  for (const field of shipmentFields) {
    const columns = Object.entries(config.columns)
      .filter(([, target]) => target === field)
      .map(([column]) => column);
    if (!mapped.has(field)) columns.push(field);
    sources.set(field, columns);
  }
  const mapper = (row: Record<string, unknown>, sheet?: SheetContext) => {
    const record: Record<string, unknown> = {};
    const used = new Set<string>(mapped);
    const cells = new Map<ShipmentField, { value: unknown; column: string }>();
    for (const field of shipmentFields) {
      let found = false;
      let value: unknown;
      let column = '';
      for (const candidate of sources.get(field)!) {
        const v = lookup(row, candidate);
        if (v === undefined) continue;
        used.add(candidate);
        if (!found || isEmpty(value)) {
          found = true;
          value = v;
          column = candidate;
        }
      }
      if (found) {
        cells.set(field, { value, column });
        record[field] = normalise(field, value, column, parseDate(sheet?.typedDates), expected, config.decimalMark ?? sheet?.decimalMark, sheet?.withoutFile);
      }
    }
    // A cost written with its currency's sign or code (`€ 7,50`, `7.50 CHF`) is in that currency:
    // the record's, when it has none (else the reporting currency would be assumed).
    const cost = cells.get('shipping_cost');
    const named = typeof cost?.value === 'string' ? amountCurrency(cost.value) : undefined;
    if (cost && named) {
      if (record.currency === undefined || record.currency === null) record.currency = named.code;
      else if (record.currency !== named.code) {
        const where = (field: ShipmentField, column: string) => (column === field ? '' : ` in column "${column}"`);
        const currency = cells.get('currency')!;
        throw new Error(currencyDisagreement(`shipping_cost ${quote(cost.value)}${where('shipping_cost', cost.column)}`, named, `currency${where('currency', currency.column)}`, String(record.currency)));
      }
    }
    const extra: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row)) if (!used.has(column)) extra[column] = value;
    if (Object.keys(extra).length) record.extra = extra;
    return record;
  };
  const amountsOf = (row: Record<string, unknown>) =>
    sources
      .get('shipping_cost')!
      .map((column) => lookup(row, column))
      .filter((v): v is string => typeof v === 'string');
  return Object.assign(mapper, { amountsOf, amountColumns: sources.get('shipping_cost')! });
}

/** A column's value; a dotted name reaches into a nested JSON object (`tracking.number`). */
function lookup(row: Record<string, unknown>, column: string): unknown {
  if (Object.hasOwn(row, column)) return row[column];
  if (!column.includes('.')) return undefined;
  let current: unknown = row;
  for (const part of column.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

function quote(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value) ?? String(value);
}

function normalise(field: ShipmentField, value: unknown, column: string, parseDate: DateParser, expected: string, mark?: DecimalMark, withoutFile?: boolean): unknown {
  if (isEmpty(value)) return null;
  const where = column === field ? '' : ` in column "${column}"`;
  const refuse = (why = ''): never => {
    throw new Error(`unparseable ${field} ${quote(value)}${where}${why}`);
  };
  if (DATE_FIELDS.has(field)) {
    if (typeof value === 'number' && Number.isFinite(value)) return new Date(value * 1000).toISOString();
    if (typeof value !== 'string') return refuse();
    return parseDate(value) ?? refuse(` (${expected})`);
  }
  if (field === 'shipping_cost') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value !== 'string') return refuse();
    if (mark === undefined && withoutFile && doubtfulAmount(value)) return refuse(` (${unknownMarkHint(value)})`);
    return parseAmount(value, mark) ?? refuse(` (expected a number such as 7.50${ambiguousAmountHint(value)})`);
  }
  if (field === 'currency') {
    const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
    return /^[A-Z]{3}$/.test(code) ? code : refuse(` (expected an ISO 4217 code such as USD${currencySignHint(typeof value === 'string' ? value : '')})`);
  }
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
    return refuse(' (a number past 2^53, which JSON readers keep only rounded: send it as text)');
  }
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string') return refuse(' (expected text)');
  const rounded = roundedBySpreadsheet(value);
  if (rounded) return refuse(` (${rounded})`);
  // Exports print long tracking numbers in groups ("1Z 999 AA1 …"); carriers' APIs do not.
  return field === 'tracking_number' ? value.replace(/\s+/g, '') : value.trim();
}

/**
 * Why an identifier looks like a long number a spreadsheet rounded, or undefined: Excel shows a
 * number of 12 digits or more in scientific notation (`5.12346E+12`, `1,23457E+17` where the
 * comma is the decimal mark), and saves it so, keeping six digits: an order id or a tracking
 * number so written has lost the rest, and no guess brings them back.
 */
export function roundedBySpreadsheet(text: string): string | undefined {
  if (!/^\s*\d([.,]\d+)?E\+(1[1-9]|[2-9]\d)\s*$/i.test(text)) return undefined;
  return 'a long number a spreadsheet rounded and wrote in scientific notation, its other digits lost: format the column as text in the sheet, or export from the source again';
}

/**
 * Signs that stand for one currency only, and their code: an amount written with one is in that
 * currency (`€ 7,50` is EUR), and a currency written as one is refused naming the code to write.
 * `$`, `¥` and `kr` stand for several (dollars, yen and yuan, the Nordic crowns) and are not here.
 */
const CURRENCY_SIGNS: Readonly<Record<string, string>> = { '€': 'EUR', '£': 'GBP', '₹': 'INR', '₩': 'KRW', '₺': 'TRY', '₽': 'RUB', '₪': 'ILS', 'ZŁ': 'PLN', 'R$': 'BRL' };

const ISO_CODES: ReadonlySet<string> = new Set(ISO_4217_CURRENCIES);

// A sign (the one-currency signs, and `$` and `¥`, read and left without a currency as before) or
// a code of three capitals, before the number or after it, with or without a blank between.
const SIGN = String.raw`R\$|zł|ZŁ|[€£₹₩₺₽₪$¥]|[A-Z]{3}`;
const SIGN_BEFORE = new RegExp(String.raw`^(${SIGN})\s*(?=[-\d])`, 'u');
const SIGN_AFTER = new RegExp(String.raw`(?<=\d)\s*(${SIGN})$`, 'u');

/**
 * An amount's text split from the currency sign or ISO 4217 code written before or after it
 * (`€ 7,50`, `7.50 CHF`, `$7.5`): the number's text, and the sign or code as written. Three
 * capitals that are no ISO 4217 code (`7.50 XYZ`), or a code in small letters, stay with the
 * number, which then reads as no amount.
 */
function splitAmount(text: string): { number: string; sign?: string } {
  const t = text.trim();
  const m = SIGN_BEFORE.exec(t) ?? SIGN_AFTER.exec(t);
  const sign = m?.[1];
  if (!m || !sign || (/^[A-Z]{3}$/.test(sign) && !ISO_CODES.has(sign))) return { number: t };
  return { number: (m.index === 0 ? t.slice(m[0].length) : t.slice(0, m.index)).trim(), sign };
}

/** An amount's text without blanks around it or the currency sign or code before or after it. */
function bareAmount(text: string): string {
  return splitAmount(text).number;
}

/**
 * The currency an amount names by its sign or code, when it names one only: `€ 7,50` is EUR,
 * `£7.50` GBP, `7.50 CHF` CHF; nothing for a bare amount, `$7.50`, `¥500` or `7,50 kr`.
 *
 * @example
 * amountCurrency('4,20 €') // { code: 'EUR', sign: '€' }
 */
export function amountCurrency(text: string): { code: string; sign: string } | undefined {
  const { sign } = splitAmount(text);
  if (sign === undefined) return undefined;
  const upper = sign.toUpperCase();
  const code = CURRENCY_SIGNS[upper] ?? (/^[A-Z]{3}$/.test(upper) ? upper : undefined);
  return code ? { code, sign } : undefined;
}

/**
 * Why a record is refused whose amount's sign or code names another currency than its currency
 * field: both, where each is, and what to fix. `amount` and `currency` name the cells as the
 * mapping's refusals do (`unit_cost "4,20 €" (column "Cost")`, `currency (column "Cur")`).
 *
 * @example
 * currencyDisagreement('unit_cost "4,20 €"', { code: 'EUR', sign: '€' }, 'currency', 'USD')
 * // 'unit_cost "4,20 €" is in EUR by its sign €, but currency is USD: correct the one that is wrong in the file and land it again'
 */
export function currencyDisagreement(amount: string, named: { code: string; sign: string }, currency: string, code: string): string {
  const by = /^[A-Z]{3}$/.test(named.sign) ? 'code' : `sign ${named.sign}`;
  return `${amount} is in ${named.code} by its ${by}, but ${currency} is ${code}: correct the one that is wrong in the file and land it again`;
}

/**
 * An amount written by a spreadsheet: `7.5`, `1,234.50`, `7,50` and `0,125` (a decimal comma), and the
 * groupings of decimal-comma locales where the form says which mark is the decimal one:
 * `1.234,50` (German), `1 234,50` (French, with a space, a no-break space or a narrow one),
 * `1'234.50` (Swiss); with an optional currency sign or code ({@link amountCurrency}). Anything
 * else is refused rather than guessed.
 */
export function parseAmount(text: string, mark?: DecimalMark): number | undefined {
  const t = bareAmount(text);
  let normalised: string | undefined;
  // A sheet whose other amounts say which mark is the decimal one ({@link sheetDecimalMark}) reads
  // the amounts that read both ways: `1.234` is 1234 and `4,205` is 4.205 in a decimal-comma
  // sheet, `4,205` is 4205 in a decimal-point one.
  if (mark === ',' && /^-?\d{1,3}(\.\d{3})+$/.test(t)) normalised = t.replace(/\./g, '');
  else if (mark !== undefined && ambiguousAmount(t)) normalised = mark === ',' ? t.replace(',', '.') : t.replace(',', '');
  else if (/^-?\d+(\.\d+)?$/.test(t)) normalised = t;
  // One comma and three digits (`4,205`) is 4205 in a comma-grouping locale and 4.205 in a
  // decimal-comma one (a semicolon-separated sheet): refused ({@link ambiguousAmount}).
  else if (ambiguousAmount(t)) return undefined;
  else if (/^-?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$/.test(t)) normalised = t.replace(/,/g, '');
  // A decimal comma: any number of decimals but three, or three after a 0 or after more than three
  // digits (`0,125`, `1234,567`), which no grouping writes.
  else if (/^-?\d+,\d+$/.test(t)) normalised = t.replace(',', '.');
  else if (/^-?\d{1,3}(\.\d{3})+,\d+$/.test(t) || /^-?\d{1,3}(\.\d{3}){2,}$/.test(t)) normalised = t.replace(/\./g, '').replace(',', '.');
  else if (/^-?\d{1,3}([ \u00a0\u202f]\d{3})+(,\d+)?$/.test(t)) normalised = t.replace(/[ \u00a0\u202f]/g, '').replace(',', '.');
  else if (/^-?\d{1,3}(['\u2019]\d{3})+(\.\d+)?$/.test(t)) normalised = t.replace(/['\u2019]/g, '');
  if (normalised === undefined) return undefined;
  const n = Number(normalised);
  return Number.isFinite(n) ? n : undefined;
}

/** The decimal mark a sheet writes its amounts with. */
export type DecimalMark = '.' | ',';

/**
 * What one amount says of its sheet's decimal mark: `,` for `7,50`, `0,125`, `1.234,50` or
 * `1 234,50` or `1.234.567`; `.` for `7.50`, `0.125`, `1,234.50`, `1'234.50` or `12,345,678`;
 * nothing for an amount without a mark or one that reads both ways (`12`, `1.234`, `4,205`).
 */
export function decimalMarkOf(text: string): DecimalMark | undefined {
  const t = bareAmount(text);
  // One mark after one to three digits (not a lone 0) and before three: a grouping or a decimal mark.
  const eitherWay = (m: string) => new RegExp(`^-?[1-9]\\d{0,2}\\${m}\\d{3}$`).test(t);
  if (/^-?\d+\.\d+$/.test(t)) return eitherWay('.') ? undefined : '.';
  if (/^-?\d+,\d+$/.test(t)) return eitherWay(',') ? undefined : ',';
  // Both marks, or one mark twice (only a grouping repeats): the other is the decimal mark.
  if (/^-?\d{1,3}(,\d{3})+\.\d+$/.test(t) || /^-?\d{1,3}(,\d{3}){2,}$/.test(t) || /^-?\d{1,3}(['\u2019]\d{3})+\.\d+$/.test(t)) return '.';
  if (/^-?\d{1,3}(\.\d{3})+,\d+$/.test(t) || /^-?\d{1,3}(\.\d{3}){2,}$/.test(t) || /^-?\d{1,3}([ \u00a0\u202f]\d{3})+,\d+$/.test(t)) return ',';
  return undefined;
}

/**
 * The decimal mark of a sheet from its amounts: the one they show when every amount that shows
 * one agrees, else nothing (no amount shows one, or a sheet written both ways, where each amount
 * is read alone as {@link parseAmount} reads it).
 */
export function sheetDecimalMark(amounts: Iterable<string>): DecimalMark | undefined {
  let found: DecimalMark | undefined;
  for (const amount of amounts) {
    const mark = decimalMarkOf(amount);
    if (mark === undefined) continue;
    if (found !== undefined && found !== mark) return undefined;
    found = mark;
  }
  return found;
}

/**
 * Whether an amount reads two ways, a thousands separator or a decimal comma: one comma followed
 * by three digits, after one to three digits that are not a lone 0 (`4,205`, `1,234`).
 */
export function ambiguousAmount(text: string): boolean {
  const m = /^-?(\d{1,3}),\d{3}$/.exec(bareAmount(text));
  return m !== null && m[1] !== '0';
}

/**
 * Whether an amount reads as a decimal or as thousands with nothing in it to say which: a point
 * and three digits after one to three digits that are not a lone 0 (`1.234`, `2.500 €`), 1.234
 * where the point is the decimal mark and 1234 where the comma is.
 */
export function doubtfulAmount(text: string): boolean {
  return /^-?[1-9]\d{0,2}\.\d{3}$/.test(bareAmount(text));
}

/**
 * The decimal mark some columns of a file showed, from the marks of its columns
 * ({@link ColumnMarks}): the one they agree on; nothing when none showed one, one showed both,
 * or they disagree (each amount is then read alone).
 */
export function columnsMark(marks: ColumnMarks | null | undefined, columns: readonly string[]): DecimalMark | undefined {
  let found: DecimalMark | undefined;
  for (const column of columns) {
    if (!marks || !Object.hasOwn(marks, column)) continue;
    const mark = marks[column];
    if (mark === null || (found !== undefined && found !== mark)) return undefined;
    found = mark;
  }
  return found;
}

/** The words of a refusal for an amount that reads two ways, or nothing. */
export function ambiguousAmountHint(text: string): string {
  if (!ambiguousAmount(text)) return '';
  const [whole, part] = bareAmount(text).split(',');
  return `; ${text.trim()} may be ${whole}${part} or ${whole}.${part}: write it without the comma, or with a point, or set the source's "decimalMark"`;
}

/**
 * The words of a refusal for a `1.234` read without its file ({@link SheetContext.withoutFile}),
 * whose decimal mark nothing says.
 */
export function unknownMarkHint(text: string): string {
  const t = bareAmount(text);
  return `${text.trim()} may be ${t.replace('.', '')} or ${t}, and a retried row has no file to show which: set the source's "decimalMark" and retry, or import the file again`;
}

/** `; € is EUR` for a currency written as its sign, to say which code to write; nothing otherwise. */
export function currencySignHint(text: string): string {
  const sign = text.trim().toUpperCase();
  const code = CURRENCY_SIGNS[sign];
  if (code) return `; ${text.trim()} is ${code}`;
  return sign === '$' || sign === '¥' || sign === 'KR' ? `; ${text.trim()} stands for several currencies: write the code` : '';
}
