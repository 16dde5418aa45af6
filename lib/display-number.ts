import { currencyDecimals } from './currency-decimals.ts';

/**
 * How a number is shown to a person: `money` to its currency's minor unit (cents by default;
 * see {@link DisplayOptions.currency}), `percent` (a ratio, × 100) and
 * `multiple` (a ratio such as MER) to 2 decimals, `days` to 1, `count` whole (2 decimals if it
 * is not), `number` to at most 6 decimals without trailing zeros.
 */
export type DisplayKind = 'money' | 'percent' | 'multiple' | 'count' | 'days' | 'number';

export interface DisplayOptions {
  /** Thousands separators (`5,660.10`); default true except for `number`. */
  grouping?: boolean;
  /** What a null or undefined value shows as (default ''). */
  missing?: string;
  /**
   * The currency of `money` (an ISO 4217 code): shown with as many decimals as its minor unit
   * has (lib/currency-decimals.ts: 0 for JPY, 3 for KWD). Without it, money is shown to cents.
   */
  currency?: string;
}

/** A decimal as its digits and scale: value = (negative ? -1 : 1) × digits × 10^-scale. */
interface Decimal {
  negative: boolean;
  digits: bigint;
  scale: number;
}

const DECIMAL = /^\s*([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?\s*$/i;

function parse(value: number | string | bigint): Decimal | null {
  if (typeof value === 'bigint') return { negative: value < 0n, digits: value < 0n ? -value : value, scale: 0 };
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  const m = DECIMAL.exec(String(value));
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const fraction = m[3] ?? '';
  let digits = BigInt(`${m[2] || '0'}${fraction}`);
  let scale = fraction.length - Number(m[4] ?? 0);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { negative: m[1] === '-', digits, scale };
}

/** `d` rounded to `decimals` places, half away from zero, exactly (no binary floating point). */
function round(d: Decimal, decimals: number): Decimal {
  if (d.scale <= decimals) return { ...d, digits: d.digits * 10n ** BigInt(decimals - d.scale), scale: decimals };
  const divisor = 10n ** BigInt(d.scale - decimals);
  let digits = d.digits / divisor;
  if ((d.digits % divisor) * 2n >= divisor) digits += 1n;
  return { negative: d.negative, digits, scale: decimals };
}

/** `d` × 10^places. */
function shift(d: Decimal, places: number): Decimal {
  const scale = d.scale - places;
  return scale >= 0 ? { ...d, scale } : { ...d, digits: d.digits * 10n ** BigInt(-scale), scale: 0 };
}

function text(d: Decimal, grouping: boolean, trimZeros = false): string {
  let body = d.digits.toString().padStart(d.scale + 1, '0');
  let whole = body.slice(0, body.length - d.scale);
  let fraction = body.slice(body.length - d.scale);
  if (trimZeros) fraction = fraction.replace(/0+$/, '');
  if (grouping) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  body = fraction ? `${whole}.${fraction}` : whole;
  // No "-0.00": a value that rounds to zero has no sign.
  return d.negative && d.digits !== 0n ? `-${body}` : body;
}

/**
 * A value as a person reads it, rounded for display only (the warehouse keeps every digit).
 * Takes numeric text as PostgreSQL sends it (`5660.099311374795421377`), a number or a bigint,
 * and rounds on the decimal digits themselves, half away from zero, so a value beyond double
 * precision is rounded exactly. Text that is not a number (`NaN`, `Infinity`) is shown as it is.
 *
 * @example
 * displayNumber('5660.099311374795421377', 'money') // '5,660.10'
 * displayNumber('354.1766625', 'money', { currency: 'KWD' }) // '354.177'
 * displayNumber(0.03294, 'percent')                 // '3.29%'
 * displayNumber(8.0512, 'multiple')                 // '8.05x'
 */
export function displayNumber(value: number | string | bigint | null | undefined, kind: DisplayKind, options: DisplayOptions = {}): string {
  if (value === null || value === undefined) return options.missing ?? '';
  const d = parse(value);
  if (!d) return String(value);
  const grouping = options.grouping ?? kind !== 'number';
  switch (kind) {
    case 'money':
      return text(round(d, options.currency === undefined ? 2 : currencyDecimals(options.currency)), grouping);
    case 'percent':
      return `${text(round(shift(d, 2), 2), grouping)}%`;
    case 'multiple':
      return `${text(round(d, 2), grouping)}x`;
    case 'days':
      return `${text(round(d, 1), grouping)} d`;
    case 'count':
      return text(round(d, d.digits % 10n ** BigInt(d.scale) === 0n ? 0 : 2), grouping);
    case 'number':
      return text(round(d, 6), grouping, true);
  }
}
