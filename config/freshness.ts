import { streamIdentity } from '../catalog/catalog.ts';
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

/** Whether `source.stream` is sparse (the catalogue's `sparse`: data that may go days without a change). */
export function isSparseStream(key: string): boolean {
  const dot = key.indexOf('.');
  return dot > 0 && streamIdentity(key.slice(0, dot), key.slice(dot + 1))?.sparse === true;
}

/**
 * The moment `source.stream`'s freshness is measured from: its newest data landed; for a
 * sparse stream (a catalogue, refunds, unit costs), the start of its last successful read by a
 * run when that is later, since that read saw every change made before it began. A shop that
 * edits nothing in its catalogue for a month has a fresh `shopify.products` as long as the
 * nightly run reads it; a stream of the daily business is judged by its data alone. Null when
 * neither is known.
 */
export function freshSince(key: string, dataThrough: Date | null, lastSuccessStartedAt: Date | null): Date | null {
  if (!isSparseStream(key) || lastSuccessStartedAt === null) return dataThrough;
  return dataThrough === null || lastSuccessStartedAt > dataThrough ? lastSuccessStartedAt : dataThrough;
}

/** The age in hours of the newest data landed, at `now`; null when nothing landed. */
export function dataAgeHours(dataThrough: Date | null, now: Date): number | null {
  return dataThrough ? (now.getTime() - dataThrough.getTime()) / 3_600_000 : null;
}

/** Whether data that old is within the limit; null when nothing landed (no age). */
export function isFresh(ageHours: number | null, limitHours: number): boolean | null {
  return ageHours === null ? null : ageHours <= limitHours;
}
