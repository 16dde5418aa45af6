import cron from 'node-cron';

/**
 * Firing times that fall in a daylight-saving gap. On the night a time zone moves its clocks
 * forward, the local times of the gap do not exist (02:00 to 03:00 in Europe/Paris on the last
 * Sunday of March, and in New York on the second Sunday of March), and node-cron, which matches
 * each instant's local time, never fires a schedule set in it: `0 2 * * *`, the most common
 * nightly time, would skip that night, and a heartbeat monitor would say the run never came. As
 * the system's cron does, such a firing is made at the end of the gap (03:00 local).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A firing of a schedule that its local time's daylight-saving gap would have skipped. */
export interface GapFiring {
  /** The first instant after the gap, when it is made. */
  at: Date;
  /** The local time the expression named, which did not exist that night (`2027-03-28 02:00`). */
  nominal: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The local wall-clock time of `instant` in `timeZone`, as milliseconds of a UTC date with the same fields. */
export function wallClock(instant: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** How far the local clock is ahead of UTC at `instant`, in milliseconds (whole minutes). */
function offsetAt(instant: number, timeZone: string): number {
  const floored = Math.floor(instant / MINUTE) * MINUTE;
  return wallClock(floored, timeZone) - floored;
}

/**
 * The next firing after `from` (within `horizonDays`) that `expression` names at a local time
 * inside a daylight-saving gap of `timeZone`, or null. An expression that fires every minute or
 * more often is left out: it fires again right after the gap anyway.
 *
 * @example
 * nextGapFiring('0 2 * * *', 'Europe/Paris', new Date('2027-03-01T00:00:00Z'))
 * // { at: 2027-03-28T01:00:00.000Z (03:00 CEST), nominal: '2027-03-28 02:00' }
 */
export function nextGapFiring(expression: string, timeZone: string, from: Date, horizonDays = 400): GapFiring | null {
  const fields = cron.parse(expression);
  if (fields.second.length > 1 || fields.minute.length === 60) return null;
  const second = fields.second[0] ?? 0;
  const matcher = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
  try {
    const end = from.getTime() + horizonDays * 24 * HOUR;
    // Clocks change on the hour or half hour: an hourly walk finds each change, a minute search its instant.
    let t = Math.floor(from.getTime() / HOUR) * HOUR;
    let before = offsetAt(t, timeZone);
    for (; t < end; t += HOUR) {
      const after = offsetAt(t + HOUR, timeZone);
      if (after > before) {
        let lo = t;
        let hi = t + HOUR;
        while (hi - lo > MINUTE) {
          const mid = Math.floor((lo + hi) / 2 / MINUTE) * MINUTE;
          if (offsetAt(mid, timeZone) > before) hi = mid;
          else lo = mid;
        }
        // `hi` is the first instant on the new offset: the local times from its wall clock less
        // the jump up to it were skipped.
        const jump = after - before;
        const wallEnd = wallClock(hi, timeZone);
        for (let w = wallEnd - jump; w < wallEnd; w += MINUTE) {
          if (hi > from.getTime() && matcher.match(new Date(w + second * 1000))) {
            return { at: new Date(hi + second * 1000), nominal: new Date(w).toISOString().slice(0, 16).replace('T', ' ') };
          }
        }
      }
      before = after;
    }
    return null;
  } finally {
    void matcher.destroy();
  }
}
