import type { DateWindow } from '../types.ts';

const DAY = 86_400_000;

/** `date` (YYYY-MM-DD) moved by `days` calendar days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
}

/** The calendar date of `instant` in an IANA time zone; throws a RangeError for an unknown zone. */
export function localDate(instant: Date, timeZone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/** Every date of an inclusive window, oldest first. */
export function datesOf(window: DateWindow): string[] {
  const out: string[] = [];
  for (let d = window.from; d <= window.to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** Consecutive windows of at most `days` dates covering `window`, oldest first. */
export function chunkWindow(window: DateWindow, days: number): DateWindow[] {
  const out: DateWindow[] = [];
  for (let from = window.from; from <= window.to; from = addDays(from, days)) {
    const to = addDays(from, days - 1);
    out.push({ from, to: to < window.to ? to : window.to });
  }
  return out;
}

/** A window of two or more dates cut into two halves (the first one the longer when odd). */
export function halves(window: DateWindow): [DateWindow, DateWindow] {
  const days = datesOf(window).length;
  const firstTo = addDays(window.from, Math.ceil(days / 2) - 1);
  return [
    { from: window.from, to: firstTo },
    { from: addDays(firstTo, 1), to: window.to },
  ];
}
