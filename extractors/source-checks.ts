import type { SourceCheck } from './check.ts';

/**
 * Each source's check, by the name of its config entry, loaded when asked for: a check pulls in
 * its extractor's client (the Meta SDK, google-ads-api), which only a check of that source pays for.
 */
const loaders: Readonly<Record<string, () => Promise<SourceCheck>>> = {
  shopify: async () => (await import('./shopify/check.ts')).checkShopify,
  stripe: async () => (await import('./stripe/check.ts')).checkStripe,
  ga4: async () => (await import('./ga4/check.ts')).checkGa4,
  google_ads: async () => (await import('./google-ads/check.ts')).checkGoogleAds,
  meta_ads: async () => (await import('./meta-ads/check.ts')).checkMetaAds,
  shipments: async () => (await import('./shipments/check.ts')).checkShipments,
  fx: async () => (await import('./fx/check.ts')).checkFx,
  costs: async () => (await import('./costs/check.ts')).checkCosts,
};

/** The check of a source, or undefined when it has none. */
export async function sourceCheck(name: string): Promise<SourceCheck | undefined> {
  return loaders[name]?.();
}
