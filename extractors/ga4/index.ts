import type { Ga4Config } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';

/** The Data API client is loaded only by a run that reads GA4. */
async function* readLazily(ctx: ReadContext<Ga4Config>): AsyncGenerator<Page> {
  const { readTrafficDaily } = await import('./read.ts');
  yield* readTrafficDaily(ctx);
}

/**
 * `traffic_daily`: GA4 sessions, users and funnel events per property × day × channel group ×
 * source/medium/campaign × device, from the Data API's runReport, re-read over the last 3 days
 * (by default) on every run because GA4 keeps processing recent days. The reading lives in
 * `read.ts`, the client in `client.ts`.
 */
export const ga4TrafficStream: Stream<Ga4Config> = { ...catalog.ga4.traffic_daily, read: readLazily };

/** Google Analytics 4 through the Data API, for every property of the config. */
export const ga4Source: Source<Ga4Config> = { name: 'ga4', streams: [ga4TrafficStream] };

