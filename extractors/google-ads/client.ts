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

/**
 * Why the OAuth secrets cannot be what their variables say, or undefined, by the shapes Google
 * gives them: an access token (`ya29.…`, valid an hour) where the refresh token goes (the OAuth
 * Playground shows both), and the client ID and secret swapped (an ID ends in
 * `.apps.googleusercontent.com`, a secret starts with `GOCSPX-`). Google answers these with
 * `invalid_grant` or `invalid_client`, far from the cause. Other shapes are left to Google.
 */
export function secretsProblem(secrets: GoogleAdsSecrets, config: Pick<GoogleAdsConfig, 'clientIdEnv' | 'clientSecretEnv' | 'refreshTokenEnv'>): string | undefined {
  if (secrets.refreshToken.startsWith('ya29.')) {
    return `${config.refreshTokenEnv} holds an access token (ya29.…), which expires within the hour: put the refresh token (1//…) there, given with it when the access was granted`;
  }
  const idLike = (v: string) => v.endsWith('.apps.googleusercontent.com');
  if (secrets.clientId.startsWith('GOCSPX-') || idLike(secrets.clientSecret)) {
    return `${config.clientIdEnv} and ${config.clientSecretEnv} look swapped: the client ID ends in .apps.googleusercontent.com, the client secret starts with GOCSPX-`;
  }
  return undefined;
}

/** The four secrets of the config, read through `secret` (the run's or the check's). */
export function readSecrets(secret: (envVar: string) => string, config: Pick<GoogleAdsConfig, 'developerTokenEnv' | 'clientIdEnv' | 'clientSecretEnv' | 'refreshTokenEnv'>): GoogleAdsSecrets {
  return {
    developerToken: secret(config.developerTokenEnv),
    clientId: secret(config.clientIdEnv),
    clientSecret: secret(config.clientSecretEnv),
    refreshToken: secret(config.refreshTokenEnv),
  };
}
