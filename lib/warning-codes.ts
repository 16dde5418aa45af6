/**
 * The warnings a shop may silence with `silenceWarnings` in its config: standing conditions of
 * an account or of the shop's data that every nightly run would otherwise repeat (a GA4
 * property with Google signals on is thresholded every night), so that a run's `succeeded with
 * warnings` keeps meaning something new. Each such warning ends with its code in brackets
 * (`… small counts may be left out [ga4-thresholds]`); a silenced one is logged, not recorded
 * with the run. Warnings of something to fix in the setup (a test key aside) have no code.
 */
export const WARNING_CODES = {
  'ga4-thresholds': 'a GA4 property applies thresholds to its reports (Google signals on): small counts are left out',
  'ga4-sampled': 'a GA4 property answered with sampled data for some days',
  'ga4-other-row': 'a GA4 property grouped some rows of a day into "(other)" (too many distinct values)',
  'account-time-zone': 'a GA4 property or an ad account reports its days in another time zone than reportingTimezone, or in none',
  'meta-retired-attribution': 'Meta no longer returns an attribution window of actionAttributionWindows (7d_view, 28d_view)',
  'files-left-alone': "a file drop's folder holds files of a type verite does not read, left alone",
  'sold-lines-without-cost': 'sold lines without a unit cost count at zero cost in cogs (cogs_coverage says how much)',
  'sold-variants-not-listed': 'sold variants are missing from the products stream',
  'charge-days-without-balance': 'days with Stripe charges have no balance transactions, so their payment fees are missing',
} as const;

export type WarningCode = keyof typeof WARNING_CODES;

/** A warning's text with its code, as runs record it and `verite check` shows it. */
export function codedWarning(message: string, code: WarningCode | undefined): string {
  return code ? `${message} [${code}]` : message;
}
