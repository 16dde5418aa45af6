/**
 * Meta's rate limits, as the Graph API reports them on every answer. Each header carries
 * percentages of a budget (the call count, the CPU time, the total time) spent over a rolling
 * hour, and some say how long until access comes back:
 *
 * - `x-app-usage`: `{call_count, total_cputime, total_time}` for the app;
 * - `x-ad-account-usage`: `{acc_id_util_pct, reset_time_duration (seconds), ads_api_access_tier}`;
 * - `x-business-use-case-usage`: `{<business id>: [{type, call_count, total_cputime, total_time,
 *   estimated_time_to_regain_access (minutes)}]}`;
 * - `x-fb-ads-insights-throttle`: `{app_id_util_pct, acc_id_util_pct}` for Insights calls.
 */
export interface UsageReading {
  /** The header, and within it the budget (e.g. `x-business-use-case-usage 123:ads_insights`). */
  scope: string;
  /** The highest percentage of the budget spent. */
  pct: number;
  /** How long until Meta lifts a block, when it says so; 0 otherwise. */
  regainMs: number;
}

/** From this share of any budget on, calls are spaced out, more the closer it gets to the top. */
export const SLOW_DOWN_AT = 75;
/** From this share on, no call is made until Meta says access is back. */
export const STOP_AT = 95;
/** The longest slow-down pause, reached just below {@link STOP_AT}. */
export const MAX_SLOW_DOWN_MS = 60_000;
/** The pause at {@link STOP_AT} or above when no header says when access returns. */
export const STOP_FALLBACK_MS = 5 * 60_000;

type Json = Record<string, unknown>;

function parse(value: string | null): unknown {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n : 0;
};

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every usage reading of an answer's headers; a header that is missing or not JSON is skipped. */
export function readUsage(headers: Headers): UsageReading[] {
  const out: UsageReading[] = [];
  const app = parse(headers.get('x-app-usage'));
  if (isObject(app)) {
    out.push({ scope: 'x-app-usage', pct: Math.max(num(app.call_count), num(app.total_cputime), num(app.total_time)), regainMs: 0 });
  }
  const account = parse(headers.get('x-ad-account-usage'));
  if (isObject(account)) {
    out.push({ scope: 'x-ad-account-usage', pct: num(account.acc_id_util_pct), regainMs: num(account.reset_time_duration) * 1000 });
  }
  const buc = parse(headers.get('x-business-use-case-usage'));
  if (isObject(buc)) {
    for (const [business, entries] of Object.entries(buc)) {
      for (const entry of Array.isArray(entries) ? entries : []) {
        if (!isObject(entry)) continue;
        out.push({
          scope: `x-business-use-case-usage ${business}:${String(entry.type ?? '?')}`,
          pct: Math.max(num(entry.call_count), num(entry.total_cputime), num(entry.total_time)),
          regainMs: num(entry.estimated_time_to_regain_access) * 60_000,
        });
      }
    }
  }
  const insights = parse(headers.get('x-fb-ads-insights-throttle'));
  if (isObject(insights)) {
    out.push({ scope: 'x-fb-ads-insights-throttle', pct: Math.max(num(insights.app_id_util_pct), num(insights.acc_id_util_pct)), regainMs: 0 });
  }
  return out;
}

/** How long to wait before the next call, and why. */
export interface Pause {
  ms: number;
  reason: string;
}

/**
 * The pause the readings call for: none below {@link SLOW_DOWN_AT}; from there a pause growing
 * linearly to {@link MAX_SLOW_DOWN_MS} at {@link STOP_AT}; at or above it, the time Meta says
 * access needs to come back (else {@link STOP_FALLBACK_MS}). A block Meta announces (a regain
 * time) is always waited out, whatever the percentage.
 */
export function pauseFor(readings: readonly UsageReading[]): Pause {
  let top: UsageReading | undefined;
  for (const r of readings) if (!top || r.pct > top.pct) top = r;
  const blocked = readings.reduce<UsageReading | undefined>((a, r) => (r.regainMs > (a?.regainMs ?? 0) ? r : a), undefined);
  const regainMs = blocked?.regainMs ?? 0;
  if (!top || (top.pct < SLOW_DOWN_AT && regainMs === 0)) return { ms: 0, reason: '' };
  if (top.pct >= STOP_AT) {
    const ms = regainMs > 0 ? regainMs : STOP_FALLBACK_MS;
    return { ms, reason: `${top.scope} at ${top.pct}%` };
  }
  const slow = top.pct >= SLOW_DOWN_AT ? Math.round(((top.pct - SLOW_DOWN_AT) / (STOP_AT - SLOW_DOWN_AT)) * MAX_SLOW_DOWN_MS) : 0;
  return slow >= regainMs ? { ms: slow, reason: `${top.scope} at ${top.pct}%` } : { ms: regainMs, reason: `${blocked!.scope} blocked` };
}

/**
 * Remembers the pause the latest answer called for until the next call takes it. One per run:
 * every call of the source shares the same budgets.
 */
export class UsageThrottle {
  private pending: Pause = { ms: 0, reason: '' };

  /** Records the latest answer's readings: the freshest word on the budgets replaces the last. */
  observe(headers: Headers): Pause {
    this.pending = pauseFor(readUsage(headers));
    return this.pending;
  }

  /** The pause owed before the next call, now cleared. */
  take(): Pause {
    const pause = this.pending;
    this.pending = { ms: 0, reason: '' };
    return pause;
  }
}
