import { costsSource } from './costs/source.ts';
import { fxSource } from './fx/index.ts';
import { ga4Source } from './ga4/index.ts';
import { googleAdsSource } from './google-ads/index.ts';
import { metaAdsSource } from './meta-ads/index.ts';
import { shipmentsSource } from './shipments/source.ts';
import { shopifySource } from './shopify/source.ts';
import { stripeSource } from './stripe/index.ts';
import type { KnownSources, Source } from './types.ts';

/**
 * The real sources a run knows, by the name of their config entry: one for every source of the
 * stream catalogue (the compiler refuses a missing or extra one). The demo shop is not among
 * them: it stands in for all of them with `verite run --demo`.
 */
export const sources = {
  shopify: shopifySource,
  stripe: stripeSource,
  ga4: ga4Source,
  google_ads: googleAdsSource,
  meta_ads: metaAdsSource,
  shipments: shipmentsSource,
  costs: costsSource,
  fx: fxSource,
} as const satisfies KnownSources;

/** The source of a config entry's name, or undefined when it has none. */
export function knownSource(name: string, known: KnownSources = sources): Source | undefined {
  return Object.hasOwn(known, name) ? known[name as keyof KnownSources] : undefined;
}
