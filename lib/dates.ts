/**
 * Calendar dates as `YYYY-MM-DD` strings: what "today" is in a time zone, and moving a date by
 * whole days. One copy for the extractors' report windows, the alerts and the run summary.
 */

const DAY_MS = 86_400_000;

/** `date` (YYYY-MM-DD) moved by `days` calendar days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whether `text` is a day of the calendar written YYYY-MM-DD (JavaScript reads 2024-02-30 as 1 March). */
export function isCalendarDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text)) && new Date(text).toISOString().startsWith(text);
}

/** The calendar date of `instant` in an IANA time zone; throws a RangeError for an unknown zone. */
export function localDate(instant: Date, timeZone: string): string {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}
