import { costFields, type CostField, type CostsConfig } from '../../config/schema.ts';
import { reportDate } from '../../catalog/catalog.ts';
import {
  ambiguousAmountHint,
  amountCurrency,
  currencyDisagreement,
  currencySignHint,
  doubtfulAmount,
  parseAmount,
  roundedBySpreadsheet,
  unknownMarkHint,
  type DecimalMark,
  type RowMapper,
  type SheetContext,
} from '../shipments/column-mapping.ts';
import { compileSheetDateParser } from '../shipments/date-parse.ts';

/** What the mapping needs of the source's config. */
export type CostMappingConfig = Pick<CostsConfig, 'columns' | 'dateFormat'> & Partial<Pick<CostsConfig, 'decimalMark'>>;

/** Turns one row of a cost file (CSV text, or a JSON object) into a unit-cost record; throws with the reason. */
export type CostMapper = RowMapper;

const compiled = new WeakMap<object, CostMapper>();
let unconfigured: CostMapper | undefined;

/**
 * The mapper of a config, built once per config object. Without a config (`verite import` with
 * no `costs` entry), columns named like the cost fields are taken as they are.
 */
export function costMapper(config: CostMappingConfig | undefined): CostMapper {
  if (!config) return (unconfigured ??= buildMapper({ columns: {}, dateFormat: undefined }));
  let mapper = compiled.get(config);
  if (!mapper) {
    mapper = buildMapper(config);
    compiled.set(config, mapper);
  }
  return mapper;
}

/**
 * Maps a row to the unit-cost record of docs/streams.md, `{sku, unit_cost, currency, valid_from}`:
 * the SKU trimmed, the cost a number (a spreadsheet's `1,234.50` or `7,50` read as such), the
 * currency an upper-case ISO 4217 code, `valid_from` a calendar date. All four are required: a
 * cost without its currency or its date cannot be applied to an order line, so the row is
 * refused (and quarantined) rather than guessed. Other columns are kept under `extra`.
 *
 * @example
 * mapCostRow({ SKU: 'TEE-M', Cost: '4,20', Currency: 'eur', From: '01/03/2024' }, { columns: { SKU: 'sku', Cost: 'unit_cost', Currency: 'currency', From: 'valid_from' }, dateFormat: 'DD/MM/YYYY' })
 * // { sku: 'TEE-M', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01' }
 */
export function mapCostRow(row: Record<string, unknown>, config: CostMappingConfig | undefined, sheet?: SheetContext): Record<string, unknown> {
  return costMapper(config)(row, sheet);
}

/** The columns a mapping names that a file's first row lacks. */
export function missingCostColumns(row: Record<string, unknown>, config: CostMappingConfig | undefined): string[] {
  return Object.keys(config?.columns ?? {}).filter((column) => !Object.hasOwn(row, column));
}

/**
 * What a sheet lacks to be read as unit costs, for choosing a workbook's sheet: the columns the
 * mapping names that it does not have, and each cost field the mapping does not map that it has
 * no column of (every row would be refused for want of it).
 */
export function costSheetLacks(row: Record<string, unknown>, config: CostMappingConfig | undefined): string[] {
  const columns = config?.columns ?? {};
  // A field the mapping maps is said through its column (above); one it does not, by its name.
  const unmapped = costFields.filter((field) => !Object.values(columns).includes(field) && !Object.hasOwn(row, field));
  return [...new Set([...missingCostColumns(row, config), ...unmapped])];
}

const isEmpty = (value: unknown): boolean => value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
const quote = (value: unknown): string => (typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value)));

function buildMapper(config: CostMappingConfig): CostMapper {
  // A cost applies from a calendar date on: a timestamp's date as written, whatever its offset.
  const parseDate = compileSheetDateParser(config.dateFormat, 'UTC', { calendarDate: true });
  const expected = config.dateFormat ? `expected ${config.dateFormat}` : 'expected a date such as 2024-03-01';
  const mapped = new Set(Object.keys(config.columns));
  const sources = new Map<CostField, string[]>();
  for (const field of costFields) {
    const columns = Object.entries(config.columns)
      .filter(([, target]) => target === field)
      .map(([column]) => column);
    if (!mapped.has(field)) columns.push(field);
    sources.set(field, columns);
  }
  const mapper = (row: Record<string, unknown>, sheet?: SheetContext) => {
    const record: Record<string, unknown> = {};
    const used = new Set<string>(mapped);
    const cells = new Map<CostField, { value: unknown; column: string }>();
    for (const field of costFields) {
      let value: unknown;
      let column = field as string;
      for (const candidate of sources.get(field)!) {
        if (!Object.hasOwn(row, candidate)) continue;
        used.add(candidate);
        if (isEmpty(value)) {
          value = row[candidate];
          column = candidate;
        }
      }
      cells.set(field, { value, column });
    }
    // A cost written with its currency's sign or code (`4,20 €`, `EUR 4,20`) is in that currency:
    // it is the row's currency when the row has none, and refused when the row says another.
    const cost = cells.get('unit_cost')!;
    const named = typeof cost.value === 'string' ? amountCurrency(cost.value) : undefined;
    for (const field of costFields) {
      const { value, column } = cells.get(field)!;
      if (field === 'currency' && named && isEmpty(value)) record[field] = named.code;
      else record[field] = normalise(field, value, column, parseDate(sheet?.typedDates), expected, config.decimalMark ?? sheet?.decimalMark, sheet?.withoutFile);
    }
    if (named && record.currency !== named.code) {
      const currency = cells.get('currency')!;
      throw new Error(currencyDisagreement(`unit_cost ${quote(cost.value)}${where('unit_cost', cost.column)}`, named, `currency${where('currency', currency.column)}`, String(record.currency)));
    }
    const extra: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row)) if (!used.has(column)) extra[column] = value;
    if (Object.keys(extra).length) record.extra = extra;
    return record;
  };
  const amountsOf = (row: Record<string, unknown>) =>
    sources
      .get('unit_cost')!
      .map((column) => row[column])
      .filter((v): v is string => typeof v === 'string');
  return Object.assign(mapper, { amountsOf, amountColumns: sources.get('unit_cost')! });
}

/** Where a field was read from, in a refusal: nothing for a column of the field's own name. */
const where = (field: CostField, column: string): string => (column === field ? '' : ` (column "${column}")`);

function normalise(
  field: CostField,
  value: unknown,
  column: string,
  parseDate: (v: string) => string | undefined,
  expected: string,
  mark?: DecimalMark,
  withoutFile?: boolean,
): unknown {
  const at = where(field, column);
  if (isEmpty(value)) throw new Error(`no ${field}${at}: a unit cost needs its sku, unit_cost, currency and valid_from`);
  const refuse = (why: string): never => {
    throw new Error(`unparseable ${field} ${quote(value)}${at}: ${why}`);
  };
  switch (field) {
    case 'sku': {
      const rounded = typeof value === 'string' ? roundedBySpreadsheet(value) : undefined;
      if (rounded) return refuse(rounded);
      return typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : refuse('expected text');
    }
    case 'unit_cost': {
      if (mark === undefined && withoutFile && typeof value === 'string' && doubtfulAmount(value)) return refuse(unknownMarkHint(value));
      const n = typeof value === 'number' ? value : typeof value === 'string' ? parseAmount(value, mark) : undefined;
      if (n === undefined || !Number.isFinite(n)) return refuse(`expected a number such as 4.20${typeof value === 'string' ? ambiguousAmountHint(value) : ''}`);
      return n < 0 ? refuse('a unit cost cannot be negative') : n;
    }
    case 'currency': {
      const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
      return /^[A-Z]{3}$/.test(code) ? code : refuse(`expected an ISO 4217 code such as EUR${currencySignHint(String(value))}`);
    }
    case 'valid_from': {
      if (typeof value !== 'string') return refuse(expected);
      // A timestamp is taken for the date it writes (2024-03-01T23:30:00-05:00 is 2024-03-01).
      const parsed = parseDate(value.trim());
      return (parsed && reportDate(parsed)) ?? refuse(expected);
    }
  }
}
