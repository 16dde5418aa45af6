import type { MetaAdsConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';

/** The SDK takes a good third of a second to load: only a run that reads Meta pays for it. */
async function* readLazily(ctx: ReadContext<MetaAdsConfig>): AsyncGenerator<Page> {
  const { readCampaignInsights } = await import('./read.ts');
  yield* readCampaignInsights(ctx);
}

/**
 * `campaign_insights_daily`: Meta's Insights per ad account × campaign × day, from async report
 * runs, re-read over the last 28 days (by default) on every run because Meta restates them.
 * The reading itself lives in `read.ts`; the SDK-backed client in `graph-api.ts`.
 */
export const metaCampaignInsightsStream: Stream<MetaAdsConfig> = { ...catalog.meta_ads.campaign_insights_daily, read: readLazily };

/** Meta Ads (Facebook, Instagram) through the Marketing API, for every ad account of the config. */
export const metaAdsSource: Source<MetaAdsConfig> = { name: 'meta_ads', streams: [metaCampaignInsightsStream] };

