/**
 * Reads the dates a carrier or 3PL export writes, strictly: a value either matches the
 * expected shape and is a real calendar date, or it is refused (and its row quarantined).
 * Never `Date.parse`, which guesses: `05/01/2024` is May 1st to it, January 5th to a French 3PL.
 */

import { dateFormatParts, type DateFormatToken } from '../../lib/date-format.ts';

/**
 * A parsed value: a calendar date (`YYYY-MM-DD`) when the value had no time of day, so it is
 * never shifted into another day by a time zone; else an ISO timestamp in UTC (or, read for its
 * calendar date, {@link DateParserOptions}, the date the value writes).
 */
export type ParsedDate = string;

/** Turns one text into a {@link ParsedDate}, or undefined when it does not fit. */
export type DateParser = (value: string) => ParsedDate | undefined;

export interface DateParserOptions {
  /**
   * Give a timestamp's calendar date as it is written (`2024-03-01T23:30:00-05:00` is
   * 2024-03-01), not the UTC instant's: for a field that is a date (a cost's `valid_from`), which
   * an offset or a zone must not move to the day before or after. Its time is still checked.
   */
  calendarDate?: boolean;
}

interface Parts {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  millisecond?: number;
  /** Minutes east of UTC, when the value says. */
  offset?: number;
  meridiem?: 'am' | 'pm';
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

type Setter = (parts: Parts, text: string) => boolean;

interface Token {
  pattern: string;
  set: Setter;
  time?: boolean;
}

const num = (field: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'): Setter => (p, t) => {
  p[field] = Number(t);
  return true;
};

/** What each token of a `dateFormat` (lib/date-format.ts) reads, and how. */
const TOKENS: Record<DateFormatToken, Token> = {
  YYYY: { pattern: '(\\d{4})', set: num('year') },
  YY: { pattern: '(\\d{2})', set: (p, t) => ((p.year = 2000 + Number(t)), true) },
  MMM: { pattern: '([A-Za-z]{3})', set: (p, t) => ((p.month = MONTHS.indexOf(t.toLowerCase()) + 1), p.month > 0) },
  MM: { pattern: '(\\d{2})', set: num('month') },
  M: { pattern: '(\\d{1,2})', set: num('month') },
  DD: { pattern: '(\\d{2})', set: num('day') },
  D: { pattern: '(\\d{1,2})', set: num('day') },
  HH: { pattern: '(\\d{2})', set: num('hour'), time: true },
  H: { pattern: '(\\d{1,2})', set: num('hour'), time: true },
  hh: { pattern: '(\\d{2})', set: num('hour'), time: true },
  h: { pattern: '(\\d{1,2})', set: num('hour'), time: true },
  mm: { pattern: '(\\d{2})', set: num('minute'), time: true },
  ss: { pattern: '(\\d{2})', set: num('second'), time: true },
  SSS: { pattern: '(\\d{1,9})', set: (p, t) => ((p.millisecond = Math.floor(Number(`0.${t}`) * 1000)), true), time: true },
  A: { pattern: '([AaPp][Mm])', set: (p, t) => ((p.meridiem = t.toLowerCase() as 'am' | 'pm'), true), time: true },
  a: { pattern: '([AaPp][Mm])', set: (p, t) => ((p.meridiem = t.toLowerCase() as 'am' | 'pm'), true), time: true },
  Z: { pattern: '(Z|[+-]\\d{2}(?::?\\d{2})?)', set: (p, t) => ((p.offset = parseOffset(t)), true), time: true },
};

function parseOffset(text: string): number {
  if (text === 'Z' || text === 'z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text)!;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Compiles a pattern such as `DD/MM/YYYY HH:mm` (tokens `YYYY YY MMM MM M DD D HH H hh h mm ss
 * SSS A a Z`, lib/date-format.ts; text in `[brackets]` is literal) into a strict parser. Without a pattern, ISO 8601
 * is expected: `2024-05-01`, `2024-05-01T14:30`, `2024-05-01 14:30:00+02:00`.
 *
 * @param timeZone The IANA zone of times written without an offset.
 * @example compileDateParser('DD/MM/YYYY HH:mm', 'Europe/Paris')('01/07/2024 14:30') // '2024-07-01T12:30:00.000Z'
 * @example compileDateParser(undefined, 'UTC', { calendarDate: true })('2024-03-01T23:30:00-05:00') // '2024-03-01'
 */
export function compileDateParser(format: string | undefined, timeZone = 'UTC', options: DateParserOptions = {}): DateParser {
  if (!format) return (value) => parseIso(value.trim(), timeZone, options);
  const setters: Setter[] = [];
  let regex = '';
  let hasTime = false;
  for (const part of dateFormatParts(format)) {
    if ('token' in part) {
      regex += TOKENS[part.token].pattern;
      setters.push(TOKENS[part.token].set);
      hasTime ||= TOKENS[part.token].time === true;
    } else {
      regex += part.quoted || !/\s/.test(part.literal) ? escapeRegExp(part.literal) : '\\s+';
    }
  }
  const compiled = new RegExp(`^${regex}$`);
  return (value) => {
    const m = compiled.exec(value.trim());
    if (!m) return undefined;
    const parts: Parts = { year: NaN, month: NaN, day: NaN };
    for (let g = 0; g < setters.length; g++) if (!setters[g]!(parts, m[g + 1]!)) return undefined;
    if (parts.meridiem) {
      if (parts.hour === undefined || parts.hour < 1 || parts.hour > 12) return undefined;
      parts.hour = (parts.hour % 12) + (parts.meridiem === 'pm' ? 12 : 0);
    }
    return finish(parts, hasTime, timeZone, options);
  };
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

function parseIso(value: string, timeZone: string, options: DateParserOptions): ParsedDate | undefined {
  const m = ISO.exec(value);
  if (!m) return undefined;
  const parts: Parts = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const hasTime = m[4] !== undefined;
  if (hasTime) {
    parts.hour = Number(m[4]);
    parts.minute = Number(m[5]);
    parts.second = m[6] === undefined ? 0 : Number(m[6]);
    parts.millisecond = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
    if (m[8] !== undefined) parts.offset = parseOffset(m[8]);
  }
  return finish(parts, hasTime, timeZone, options);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function finish(p: Parts, hasTime: boolean, timeZone: string, options: DateParserOptions): ParsedDate | undefined {
  if (!Number.isInteger(p.year) || !Number.isInteger(p.month) || !Number.isInteger(p.day)) return undefined;
  if (p.month < 1 || p.month > 12 || p.day < 1 || p.day > daysInMonth(p.year, p.month)) return undefined;
  const date = `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
  if (!hasTime) return date;
  const hour = p.hour ?? 0;
  const minute = p.minute ?? 0;
  const second = p.second ?? 0;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (options.calendarDate) return date;
  const wall = Date.UTC(p.year, p.month - 1, p.day, hour, minute, second, p.millisecond ?? 0);
  const utc = p.offset !== undefined ? wall - p.offset * 60_000 : zonedWallTimeToUtc(wall, timeZone);
  return new Date(utc).toISOString();
}

// Building a formatter costs far more than using one; a file has few zones and many rows.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Minutes east of UTC that `timeZone` is at the instant `utc`. */
function zoneOffset(utc: number, timeZone: string): number {
  const fields = formatterFor(timeZone).formatToParts(new Date(utc));
  const get = (type: string) => Number(fields.find((f) => f.type === type)?.value);
  const local = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((local - Math.floor(utc / 1000) * 1000) / 60_000);
}

/**
 * The instant a wall-clock time in `timeZone` names (the wall time given as if it were UTC).
 * A time in a daylight-saving gap is read with the offset before the change, as most exports
 * that write one mean it.
 */
export function zonedWallTimeToUtc(wall: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return wall;
  const first = wall - zoneOffset(wall, timeZone) * 60_000;
  const second = wall - zoneOffset(first, timeZone) * 60_000;
  return zoneOffset(second, timeZone) === zoneOffset(first, timeZone) ? second : Math.max(first, second);
}

/**
 * A file mapping's date parser for its sheet: `dateFormat`'s ({@link compileDateParser}), and
 * for a sheet of typed cells (an `.xlsx` workbook, `typed`) ISO 8601 as well, which is what a
 * date cell becomes whatever `dateFormat` says.
 */
export function compileSheetDateParser(format: string | undefined, timeZone = 'UTC', options: DateParserOptions = {}): (typed?: boolean) => DateParser {
  const written = compileDateParser(format, timeZone, options);
  if (!format) return () => written;
  const iso = compileDateParser(undefined, timeZone, options);
  const either: DateParser = (value) => written(value) ?? iso(value);
  return (typed) => (typed ? either : written);
}
