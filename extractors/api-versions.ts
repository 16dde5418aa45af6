import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { VeriteConfig } from '../config/schema.ts';
import { latestVersionAt, versionWindow } from './shopify/api-version.ts';

/**
 * The API version each source speaks and the day its provider stops serving it, with where
 * each date was published. `verite status` and `verite check` judge the configured (or
 * default) versions against it: a version within {@link END_OF_LIFE_WARNING_DAYS} days of its
 * end is a warning naming the date and what to change; a version past its end is a problem.
 *
 * The dates are the providers' own, as their pages stood on {@link PUBLISHED_AS_OF}. A version
 * announced after that date is not in the table: it is reported as unknown, with where to look.
 */

const require = createRequire(import.meta.url);

/** How far ahead of a version's end it is reported as a warning. */
export const END_OF_LIFE_WARNING_DAYS = 60;

/** The day the dates below were read from the providers' pages. */
export const PUBLISHED_AS_OF = '2026-12-05';

/**
 * The Marketing API version the Meta source calls unless `sources.meta_ads.apiVersion` names
 * another: the newest one, which Meta will serve longest. The SDK's own (`FacebookAdsApi.VERSION`,
 * v24.0 in its newest release) expired on 2026-11-10.
 */
export const META_DEFAULT_API_VERSION = 'v27.0';

export type VersionLevel = 'ok' | 'warning' | 'problem';

/** A source's API version judged on a date. */
export interface ApiVersionVerdict {
  source: string;
  /** The API, e.g. `Marketing API`. */
  api: string;
  version: string;
  /** What sets the version: a config key, or the package that pins it. */
  setting: string;
  /** The day the provider stops serving it (YYYY-MM-DD), or null when none is announced. */
  endOfLife: string | null;
  /** Only the month is announced (`May 2027`): `endOfLife` is its first day. */
  tentative: boolean;
  /** Whole days from the judged date to `endOfLife` (negative once past). */
  daysLeft: number | null;
  level: VersionLevel;
  /** What the verdict means and, for a warning or a problem, what to change. */
  message: string;
  /** Where the provider publishes the dates. */
  reference: string;
}

/** A version's life as its provider published it; `tentative` when only the month is known. */
interface VersionLife {
  released: string | null;
  endOfLife: string | null;
  tentative?: boolean;
}

/** What verite knows of one source's versions. */
interface VersionPolicy {
  api: string;
  setting: string;
  reference: string;
  /** The version's life, or undefined when the table does not know it. */
  lifeOf(version: string): VersionLife | undefined;
  /** What to change to, in the words of a message: `set sources.meta_ads.apiVersion to v27.0`. */
  advice(asOf: Date): string;
}

/**
 * Meta's Marketing API versions (https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions,
 * "Marketing API version history"). v26.0 and v27.0 have no expiration date yet ("TBD").
 */
const META_VERSIONS: Readonly<Record<string, VersionLife>> = {
  'v21.0': { released: '2024-10-02', endOfLife: '2025-09-09' },
  'v22.0': { released: '2025-01-21', endOfLife: '2026-02-19' },
  'v23.0': { released: '2025-05-29', endOfLife: '2026-06-09' },
  'v24.0': { released: '2025-10-08', endOfLife: '2026-11-10' },
  'v25.0': { released: '2026-02-18', endOfLife: '2027-02-23' },
  'v26.0': { released: '2026-07-29', endOfLife: null },
  'v27.0': { released: '2026-11-04', endOfLife: null },
};

/**
 * Google Ads API versions and their sunsets (https://developers.google.com/google-ads/api/docs/sunset-dates,
 * and the developer blog: "Google Ads API v22 sunset reminder", 2026-09-02, for v22's exact day;
 * "More frequent releases coming", 2025-09-04, for the projected months of v23 to v26;
 * "Announcing v24 of the Google Ads API", 2026-04-22). Release days not needed here are left out. Google
 * gives a month for a sunset not yet near ("the sunset could happen any time in that month"):
 * its first day is taken, so the warning comes early rather than late.
 */
const GOOGLE_ADS_VERSIONS: Readonly<Record<string, VersionLife>> = {
  v22: { released: null, endOfLife: '2026-10-07' },
  v23: { released: null, endOfLife: '2027-02-01', tentative: true },
  v24: { released: '2026-04-22', endOfLife: '2027-05-01', tentative: true },
  v25: { released: null, endOfLife: '2027-08-01', tentative: true },
  v26: { released: null, endOfLife: '2027-11-01', tentative: true },
};

/** The Google Ads API version the installed google-ads-api package speaks (it cannot be configured). */
export function googleAdsPinnedVersion(): { version: string; library: string } {
  const { googleAdsVersion } = require('google-ads-api/build/src/version.js') as { googleAdsVersion: string };
  const { version } = require('google-ads-api/package.json') as { version: string };
  return { version: googleAdsVersion, library: `google-ads-api ${version}` };
}

/**
 * The Stripe API version the installed stripe package pins (`Stripe.API_VERSION`, which cannot be
 * configured). Read from the one-line `apiVersion.js` beside the client's entry, not from the
 * client: loading the client for one string cost `verite status` some 200 modules. A package
 * that no longer has the file is answered by the client itself.
 */
export function stripePinnedVersion(): string {
  try {
    const { ApiVersion } = require(join(dirname(require.resolve('stripe')), 'apiVersion.js')) as { ApiVersion?: unknown };
    if (typeof ApiVersion === 'string') return ApiVersion;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
  }
  return (require('stripe') as { API_VERSION: string }).API_VERSION;
}

const POLICIES = {
  shopify: {
    api: 'GraphQL Admin API',
    setting: 'sources.shopify.apiVersion',
    reference: 'https://shopify.dev/docs/api/usage/versioning (a stable version is supported for at least 12 months from its release)',
    lifeOf: (version) => {
      if (!/^\d{4}-(01|04|07|10)$/.test(version)) return undefined;
      const { released, supportedUntil } = versionWindow(version);
      return { released: day(released), endOfLife: day(supportedUntil) };
    },
    advice: (asOf) => `set sources.shopify.apiVersion to ${latestVersionAt(asOf)}`,
  },
  meta_ads: {
    api: 'Marketing API',
    setting: 'sources.meta_ads.apiVersion',
    reference: 'https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions',
    lifeOf: (version) => META_VERSIONS[version],
    advice: () => `set sources.meta_ads.apiVersion to ${META_DEFAULT_API_VERSION} (or remove it: that is the default)`,
  },
  google_ads: {
    api: 'Google Ads API',
    setting: 'the google-ads-api package (no config key sets the version)',
    reference: 'https://developers.google.com/google-ads/api/docs/sunset-dates',
    lifeOf: (version) => GOOGLE_ADS_VERSIONS[version],
    advice: () => 'upgrade verite to a release whose google-ads-api package speaks a newer Google Ads API version',
  },
  stripe: {
    api: 'Stripe API',
    setting: 'the stripe package (no config key sets the version)',
    reference: 'https://docs.stripe.com/upgrades (Stripe keeps serving a version until you upgrade; versions have no end of life)',
    lifeOf: () => ({ released: null, endOfLife: null }),
    advice: () => 'upgrade verite',
  },
  ga4: {
    api: 'Google Analytics Data API',
    setting: 'the @google-analytics/data package (no config key sets the version)',
    reference: 'https://developers.google.com/analytics/devguides/reporting/data/v1 (v1beta has no announced end)',
    lifeOf: (version) => (version === 'v1beta' ? { released: null, endOfLife: null } : undefined),
    advice: () => 'upgrade verite',
  },
} as const satisfies Record<string, VersionPolicy>;

export type VersionedSource = keyof typeof POLICIES;

const DAY_MS = 86_400_000;

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * Judges one source's API version on `asOf`: past its end (a problem), within
 * {@link END_OF_LIFE_WARNING_DAYS} days of it (a warning), or fine. A version ends at the start
 * (UTC) of its end-of-life day.
 *
 * @example
 * apiVersionVerdict('meta_ads', 'v25.0', new Date('2027-01-10T00:00:00Z'));
 * // level 'warning', daysLeft 44: "Marketing API v25.0 ends on 2027-02-23 (in 44 days): set sources.meta_ads.apiVersion to v27.0 …"
 */
export function apiVersionVerdict(source: VersionedSource, version: string, asOf: Date): ApiVersionVerdict {
  const policy: VersionPolicy = POLICIES[source];
  const base = { source, api: policy.api, version, setting: policy.setting, reference: policy.reference };
  const life = policy.lifeOf(version);
  const name = `${policy.api} ${version}`;
  if (!life) {
    return {
      ...base, endOfLife: null, tentative: false, daysLeft: null, level: 'warning',
      message: `${name} is not in verite's table of ${policy.api} versions (as published on ${PUBLISHED_AS_OF}): check it at ${policy.reference.split(' ')[0]}, or ${policy.advice(asOf)}`,
    };
  }
  if (life.released && asOf.getTime() < Date.parse(`${life.released}T00:00:00Z`)) {
    return { ...base, endOfLife: life.endOfLife, tentative: false, daysLeft: null, level: 'problem', message: `${name} is not released until ${life.released}: ${policy.advice(asOf)}` };
  }
  if (life.endOfLife === null) {
    return { ...base, endOfLife: null, tentative: false, daysLeft: null, level: 'ok', message: `${name}: no end of life announced (as published on ${PUBLISHED_AS_OF})` };
  }
  const daysLeft = Math.floor((Date.parse(`${life.endOfLife}T00:00:00Z`) - asOf.getTime()) / DAY_MS);
  const tentative = life.tentative === true;
  const when = tentative ? `${life.endOfLife} (announced for that month only)` : life.endOfLife;
  const common = { ...base, endOfLife: life.endOfLife, tentative, daysLeft };
  if (asOf.getTime() >= Date.parse(`${life.endOfLife}T00:00:00Z`)) {
    return { ...common, level: 'problem', message: `${name} ended on ${when}: ${policy.advice(asOf)}` };
  }
  if (daysLeft <= END_OF_LIFE_WARNING_DAYS) {
    return { ...common, level: 'warning', message: `${name} ends on ${when}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}: ${policy.advice(asOf)}` };
  }
  return { ...common, level: 'ok', message: `${name} is served until ${when}` };
}

/** The version a source's config entry makes it speak (its own setting, else the default or the package's). */
export function configuredApiVersion(source: VersionedSource, entry: unknown): string {
  switch (source) {
    case 'shopify':
      return (entry as { apiVersion: string }).apiVersion;
    case 'meta_ads':
      return (entry as { apiVersion?: string }).apiVersion ?? META_DEFAULT_API_VERSION;
    case 'google_ads':
      return googleAdsPinnedVersion().version;
    case 'stripe':
      return stripePinnedVersion();
    case 'ga4':
      return 'v1beta';
  }
}

export function isVersionedSource(name: string): name is VersionedSource {
  return Object.hasOwn(POLICIES, name);
}

/**
 * The verdict on every enabled source of the config that speaks a versioned API (in the
 * order of `sources`), judged on `asOf`.
 */
export function apiVersionReport(config: Pick<VeriteConfig, 'sources'>, asOf: Date): ApiVersionVerdict[] {
  const out: ApiVersionVerdict[] = [];
  for (const [name, entry] of Object.entries(config.sources)) {
    if (!entry || (entry as { enabled?: boolean }).enabled === false || !isVersionedSource(name)) continue;
    out.push(apiVersionVerdict(name, configuredApiVersion(name, entry), asOf));
  }
  return out;
}
