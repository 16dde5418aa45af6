import type { GoogleAdsConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import type { GoogleAdsClientFactory } from './client.ts';
import { googleAdsCsvRow } from './csv-row.ts';
import { readCampaignDaily } from './read.ts';

export type { GoogleAdsClient, GoogleAdsClientFactory, GoogleAdsRow, GoogleAdsSecrets } from './client.ts';

/** google-ads-api is loaded only by a run (or a check) that reads Google Ads (it takes over a second). */
export const sdkFactory: GoogleAdsClientFactory = async (config, secrets) => {
  const { sdkClientFactory } = await import('./sdk-client.ts');
  return sdkClientFactory(config, secrets);
};

/**
 * The `google_ads` source with its client: google-ads-api by default; tests pass a client of
 * the same shape, since the package cannot be pointed at a local server.
 *
 * @example
 * const source = createGoogleAdsSource(() => ({ queryStream: (customerId, gaql) => rowsFor(customerId, gaql) }));
 */
export function createGoogleAdsSource(createClient: GoogleAdsClientFactory = sdkFactory): Source<GoogleAdsConfig> {
  const read = (ctx: ReadContext<GoogleAdsConfig>): AsyncGenerator<Page> => readCampaignDaily(ctx, createClient);
  /**
   * `campaign_daily`: cost, clicks, impressions and conversions per customer × campaign × day,
   * from one GAQL query per customer and window, re-read over the last 30 days (by default) on
   * every run because Google Ads keeps attributing conversions to past days.
   */
  const stream: Stream<GoogleAdsConfig> = { ...catalog.google_ads.campaign_daily, read, mapCsvRow: googleAdsCsvRow };
  return { name: 'google_ads', streams: [stream] };
}

/** Google Ads through the Google Ads API, for every customer id of the config. */
export const googleAdsSource: Source<GoogleAdsConfig> = createGoogleAdsSource();

