/**
 * Calendar arithmetic of the demo shop. The simulation counts in UTC day numbers (days since
 * 1970-01-01) and milliseconds; records render them the way each API writes time.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayNumber(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** The `YYYY-MM-DD` of a day number. */
export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

export function isWeekend(day: number): boolean {
  const d = weekday(day);
  return d === 0 || d === 6;
}

/** Yesterday's date in UTC: the last complete day, the demo's default `endDate`. */
export function yesterdayUtc(now: Date): string {
  return isoDay(Math.floor(now.getTime() / DAY_MS) - 1);
}

/** The day of the month of the `n`-th Sunday (n ≥ 1) of `month` (0-based) in `year`. */
function nthSunday(year: number, month: number, n: number): number {
  const first = weekday(Math.floor(Date.UTC(year, month, 1) / DAY_MS));
  return 1 + ((7 - first) % 7) + 7 * (n - 1);
}

// The year whose daylight-time range was computed last: timestamps come in runs of the same year.
let dstYear = { from: 0, to: -1, start: 0, end: 0 };

/**
 * Whether New York keeps daylight time at `ms`: from the second Sunday of March, 2:00 EST
 * (07:00 UTC), to the first Sunday of November, 2:00 EDT (06:00 UTC), the rules since 2007 (the
 * shop opened later). Computed, not looked up
 * through Intl, because the order generator formats millions of timestamps.
 */
function newYorkDst(ms: number): boolean {
  if (ms < dstYear.from || ms >= dstYear.to) {
    const year = new Date(ms).getUTCFullYear();
    dstYear = {
      from: Date.UTC(year, 0, 1),
      to: Date.UTC(year + 1, 0, 1),
      start: Date.UTC(year, 2, nthSunday(year, 2, 2), 7),
      end: Date.UTC(year, 10, nthSunday(year, 10, 1), 6),
    };
  }
  return ms >= dstYear.start && ms < dstYear.end;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

let datePrefix = { day: NaN, text: '' };

/** `YYYY-MM-DDT` of a day number (Hinnant's civil-from-days), remembered for the next call. */
function dateTextOf(day: number): string {
  if (day === datePrefix.day) return datePrefix.text;
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  datePrefix = { day, text: `${y}-${pad2(m)}-${pad2(d)}T` };
  return datePrefix.text;
}

/** `YYYY-MM-DDTHH:mm:ss` of an instant (whole seconds) shifted by `offsetMs`. */
function wallClock(ms: number, offsetMs: number): string {
  const local = ms + offsetMs;
  const day = Math.floor(local / DAY_MS);
  const s = Math.floor((local - day * DAY_MS) / 1000);
  return `${dateTextOf(day)}${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
}

/** An instant as Shopify writes it for a shop in America/New_York: `2024-03-01T21:15:03-05:00`. */
export function shopTime(ms: number): string {
  const dst = newYorkDst(ms);
  return `${wallClock(ms, (dst ? -4 : -5) * HOUR_MS)}${dst ? '-04:00' : '-05:00'}`;
}

/** An instant in UTC without milliseconds: `2024-03-02T02:15:03Z`. */
export function utcTime(ms: number): string {
  return `${wallClock(ms, 0)}Z`;
}

/** Unix seconds, as Stripe's `created`. */
export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The fourth Thursday of November (US Thanksgiving) of `year`, as a day number. */
export function thanksgiving(year: number): number {
  const first = weekday(Math.floor(Date.UTC(year, 10, 1) / DAY_MS));
  const firstThursday = 1 + ((4 - first + 7) % 7);
  return Math.floor(Date.UTC(year, 10, firstThursday + 21) / DAY_MS);
}
