import { ExtractError, type ErrorContext } from '../../lib/errors.ts';

/** Shopify supports each quarterly Admin API version for (at least) twelve months after its release. */
const SUPPORT_MONTHS = 12;
/** Warn this many months before a pinned version leaves its support window. */
const WARN_MONTHS = 3;

/** The first day (UTC) of a `YYYY-MM` version and the day its support window ends. */
export function versionWindow(version: string, context: ErrorContext = { source: 'shopify' }): { released: Date; supportedUntil: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(version);
  if (!m) throw new ExtractError(`"${version}" is not a Shopify API version (expected YYYY-MM, e.g. 2026-10)`, context, { permanent: true });
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return { released: new Date(Date.UTC(year, month, 1)), supportedUntil: new Date(Date.UTC(year, month + SUPPORT_MONTHS, 1)) };
}

/** The newest quarterly version released on or before `now`, e.g. `2026-10` for 2026-11-22. */
export function latestVersionAt(now: Date): string {
  const quarterMonth = Math.floor(now.getUTCMonth() / 3) * 3 + 1;
  return `${now.getUTCFullYear()}-${String(quarterMonth).padStart(2, '0')}`;
}

/**
 * Checks a pinned version against the run's clock before any request: a version past its
 * twelve months (Shopify would silently answer with a newer one) or not yet released fails
 * with an error naming it; one in its last months is warned about.
 */
export function checkApiVersion(version: string, now: Date, warn: (message: string) => void, context: ErrorContext = { source: 'shopify' }): void {
  const { released, supportedUntil } = versionWindow(version, context);
  const latest = latestVersionAt(now);
  if (now < released) {
    throw new ExtractError(
      `API version ${version} is not released yet (the latest stable version is ${latest}); set sources.shopify.apiVersion to a released version`,
      context,
      { permanent: true },
    );
  }
  if (now >= supportedUntil) {
    throw new ExtractError(
      `API version ${version} is past its support window (Shopify supports a version for ${SUPPORT_MONTHS} months; it ended ${day(supportedUntil)}); ` +
        `set sources.shopify.apiVersion to a supported version such as ${latest}`,
      context,
      { permanent: true },
    );
  }
  const warnFrom = new Date(supportedUntil);
  warnFrom.setUTCMonth(warnFrom.getUTCMonth() - WARN_MONTHS);
  if (now >= warnFrom) {
    warn(`shopify: API version ${version} leaves Shopify's support window around ${day(supportedUntil)}; move sources.shopify.apiVersion to ${latest}`);
  }
}

/**
 * Shopify answers a request for a version it no longer serves with the oldest version it
 * still supports (and says which in `X-Shopify-API-Version`) rather than an error: a changed
 * schema would then land silently. This turns that into an error naming both versions.
 */
export function checkServedVersion(requested: string, served: string | null, context: ErrorContext): void {
  if (served && served !== requested) {
    throw new ExtractError(
      `API version ${requested} is no longer supported: Shopify answered with version ${served}; ` +
        `set sources.shopify.apiVersion to a supported version (${served} or newer)`,
      context,
      { permanent: true },
    );
  }
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
