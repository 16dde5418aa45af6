import type { GoogleAdsConfig } from '../../config/schema.ts';

/**
 * A GAQL row as google-ads-api returns it: nested snake_case objects, int64 fields (ids,
 * `cost_micros`, `clicks`, `impressions`) as numbers, doubles (`conversions`,
 * `conversions_value`) as numbers, enums as numbers, dates as `YYYY-MM-DD`.
 */
export interface GoogleAdsRow {
  customer?: { id?: number | string; currency_code?: string; time_zone?: string; manager?: boolean; [field: string]: unknown };
  campaign?: { id?: number | string; name?: string; [field: string]: unknown };
  segments?: { date?: string; [field: string]: unknown };
  metrics?: Record<string, unknown>;
  [resource: string]: unknown;
}

/**
 * What the stream needs of the Google Ads API: one streamed GAQL query for one customer.
 * The default is google-ads-api (`sdk-client.ts`); it sends its requests to Google's fixed
 * address, so tests fill this seam with a client of the same shape.
 */
export interface GoogleAdsClient {
  /** The API version the client speaks (`v24`), named in errors. */
  readonly apiVersion?: string;
  /** Where that version comes from (`google-ads-api 24.1.0`), named in errors. */
  readonly library?: string;
  /** The rows of `gaql` for the customer (`1234567890`), as google-ads-api's `queryStream` yields them. */
  queryStream(customerId: string, gaql: string): AsyncIterable<GoogleAdsRow>;
}

/** The secrets the config's `...Env` keys name, read from the environment. */
export interface GoogleAdsSecrets {
  developerToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** Builds the client of a run. */
export type GoogleAdsClientFactory = (config: GoogleAdsConfig, secrets: GoogleAdsSecrets) => GoogleAdsClient | Promise<GoogleAdsClient>;
