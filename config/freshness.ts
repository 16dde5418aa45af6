import type { VeriteConfig } from './schema.ts';

/**
 * Streams whose data comes at a pace of its own, with the least freshness limit (hours) that
 * suits it. `fx.rates`: the ECB publishes on TARGET business days only, around 16:00 CET, so
 * on a Monday morning the newest rate is Friday's (75 h old at 03:00 UTC): 96 h (4 days)
 * covers a weekend. A holiday next to a weekend (Easter, Christmas) can still pass it.
 */
const BUILT_IN_FRESHNESS_HOURS: Readonly<Record<string, number>> = Object.freeze({ 'fx.rates': 96 });

export type FreshnessConfig = Pick<VeriteConfig, 'freshnessHours' | 'streamFreshnessHours'>;

/**
 * The age in hours past which `source.stream` is not fresh: its `streamFreshnessHours` entry,
 * else `defaultHours` (the config's `freshnessHours`, or an alert rule's threshold), raised to the
 * stream's built-in limit when it has one.
 */
export function freshnessLimit(config: FreshnessConfig, key: string, defaultHours: number = config.freshnessHours): number {
  return config.streamFreshnessHours?.[key] ?? Math.max(defaultHours, BUILT_IN_FRESHNESS_HOURS[key] ?? 0);
}

/** Whether `source.stream` has a limit of its own (configured or built in), not the default. */
export function hasOwnFreshnessLimit(config: FreshnessConfig, key: string): boolean {
  return config.streamFreshnessHours?.[key] !== undefined || BUILT_IN_FRESHNESS_HOURS[key] !== undefined;
}

/** The age in hours of the newest data landed, at `now`; null when nothing landed. */
export function dataAgeHours(dataThrough: Date | null, now: Date): number | null {
  return dataThrough ? (now.getTime() - dataThrough.getTime()) / 3_600_000 : null;
}

/** Whether data that old is within the limit; null when nothing landed (no age). */
export function isFresh(ageHours: number | null, limitHours: number): boolean | null {
  return ageHours === null ? null : ageHours <= limitHours;
}
