import { reportDate } from '../catalog.ts';
import type { DateWindow, JsonValue, ReadContext } from '../types.ts';

const DAY = 86_400_000;

/** The cursor of a date-report stream: the last date completely landed. */
export type ReportState = { through: string };

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

/** The `through` date of a stored cursor, or undefined when there is none (or it is unreadable). */
export function throughOf(state: JsonValue | null): string | undefined {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return undefined;
  return typeof state.through === 'string' ? reportDate(state.through) : undefined;
}

/**
 * The dates a read covers: a backfill's window as it is; else from the cursor minus the lookback
 * to the last complete day, never before `startDate`. The first run reads from `startDate`.
 */
export function readWindow(ctx: Pick<ReadContext<unknown>, 'window' | 'startDate' | 'lookbackDays'>, through: string | undefined, lastComplete: string): DateWindow {
  if (ctx.window) return ctx.window;
  if (!through) return { from: ctx.startDate, to: lastComplete };
  // A cursor older than the lookback (runs were missed) resumes right after it.
  const resume = addDays(through, 1);
  const lookback = addDays(lastComplete, -ctx.lookbackDays + 1);
  const from = resume < lookback ? resume : lookback;
  return { from: from > ctx.startDate ? from : ctx.startDate, to: lastComplete };
}

/** The cursor after landing `date`: a backfill of older dates never moves it backwards. */
export function stateAfter(previous: string | undefined, date: string): ReportState {
  return { through: previous && previous > date ? previous : date };
}
