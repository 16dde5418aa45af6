/**
 * The GA4 Data API's property quotas, as `returnPropertyQuota: true` reports them after each
 * request. Once any of them is exhausted, every request to the property (dashboards included)
 * is refused until it refills, so a run stops while there is still some left.
 */

/** One quota as the API reports it. */
export interface QuotaStatus {
  consumed?: number | null;
  remaining?: number | null;
}

/** The `propertyQuota` of a runReport answer. */
export interface PropertyQuota {
  tokensPerDay?: QuotaStatus | null;
  tokensPerHour?: QuotaStatus | null;
  tokensPerProjectPerHour?: QuotaStatus | null;
  concurrentRequests?: QuotaStatus | null;
  serverErrorsPerProjectPerHour?: QuotaStatus | null;
  potentiallyThresholdedRequestsPerHour?: QuotaStatus | null;
}

/** A quota too low to go on with, and what to tell the user. */
export interface QuotaShortfall {
  quota: string;
  remaining: number;
  /** When the quota refills, as the API documents it. */
  refills: string;
}

const HOURLY = 'in an hour, once the hourly quota has refilled';
const DAILY = 'after midnight Pacific time, when the daily quota refills';

/**
 * Token quotas stop the run once fewer than `reserve` tokens are left (a request usually costs
 * about 10); the others once nothing is left. Concurrent requests are not checked: verite sends
 * one request at a time, and the count is of requests in flight, not a budget.
 */
const CHECKS: readonly { field: keyof PropertyQuota; quota: string; refills: string; tokens: boolean }[] = [
  { field: 'tokensPerHour', quota: 'tokens per hour', refills: HOURLY, tokens: true },
  { field: 'tokensPerProjectPerHour', quota: 'tokens per project per hour', refills: HOURLY, tokens: true },
  { field: 'tokensPerDay', quota: 'tokens per day', refills: DAILY, tokens: true },
  { field: 'serverErrorsPerProjectPerHour', quota: 'server errors per project per hour', refills: HOURLY, tokens: false },
  { field: 'potentiallyThresholdedRequestsPerHour', quota: 'potentially thresholded requests per hour', refills: HOURLY, tokens: false },
];

/** The first quota below its floor, or undefined when the run may send another request. */
export function quotaShortfall(quota: PropertyQuota | null | undefined, reserve: number): QuotaShortfall | undefined {
  if (!quota) return undefined;
  for (const check of CHECKS) {
    const remaining = quota[check.field]?.remaining;
    if (typeof remaining !== 'number') continue;
    const floor = check.tokens ? Math.max(reserve, 1) : 1;
    if (remaining < floor) return { quota: check.quota, remaining, refills: check.refills };
  }
  return undefined;
}

/**
 * The quota an API refusal names (`Exhausted property tokens per hour` …), or undefined when
 * the refusal is not about a quota that only time refills (too many concurrent requests is
 * worth a retry).
 */
export function exhaustedQuota(message: string): QuotaShortfall | undefined {
  const text = message.toLowerCase();
  const token = /token/.test(text);
  // Wordings vary ("Exhausted property tokens per hour", "… tokens for a project per hour"): match loosely.
  if (token && /project/.test(text) && /hour/.test(text)) return { quota: 'tokens per project per hour', remaining: 0, refills: HOURLY };
  if (token && /hour/.test(text)) return { quota: 'tokens per hour', remaining: 0, refills: HOURLY };
  if (token && /day|daily/.test(text)) return { quota: 'tokens per day', remaining: 0, refills: DAILY };
  if (/server errors/.test(text)) return { quota: 'server errors per project per hour', remaining: 0, refills: HOURLY };
  if (/thresholded/.test(text)) return { quota: 'potentially thresholded requests per hour', remaining: 0, refills: HOURLY };
  return undefined;
}
