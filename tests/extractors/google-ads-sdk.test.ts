import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type GoogleAdsConfig } from '../../config/schema.ts';
import { readCampaignDaily } from '../../extractors/google-ads/read.ts';
import { sdkClientFactory } from '../../extractors/google-ads/sdk-client.ts';
import { setSleep } from '../../lib/http.ts';
import type { Page, ReadContext } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';

/**
 * The real google-ads-api behind the extractor's default client. The package posts to Google's
 * fixed address through axios, so this file swaps axios's transport (its `adapter`, an
 * extension point of axios) for one that answers like the REST API, and stubs the OAuth token
 * exchange. Everything between (the package's request, its JSON stream parsing, its row shape and
 * error classes, the extractor's adapter) is the real code. What the package yields and throws
 * here is what google-ads.test.ts feeds through the seam.
 */

const require = createRequire(import.meta.url);
// The CommonJS instances google-ads-api itself loads.
const axios = require('axios') as { defaults: { adapter: unknown }; AxiosError: new (...args: unknown[]) => Error };
const { OAuth2Client } = require('google-auth-library') as { OAuth2Client: { prototype: { getAccessToken: () => Promise<{ token: string }> } } };
const { version: libraryVersion } = require('google-ads-api/package.json') as { version: string };

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: { query?: string };
}

/** What the fake answers: an HTTP status and the body text. */
let answer: (sent: Sent) => { status: number; body: string };
let sent: Sent[] = [];
let tokenError: Error | undefined;
let savedAdapter: unknown;
let savedToken: () => Promise<{ token: string }>;
let restoreSleep: () => void;
let waits: number[] = [];

const secrets = { developerToken: 'dev-token-0123456789', clientId: 'cid.apps.googleusercontent.com', clientSecret: 'secret-0123456789', refreshToken: '1//refresh-0123456789' };

function config(extra: Record<string, unknown> = {}): GoogleAdsConfig {
  return configSchema.parse({ sources: { google_ads: { customerIds: ['1234567890'], loginCustomerId: '111-222-3333', startDate: '2024-03-08', ...extra } } }).sources.google_ads!;
}

/** A REST searchStream answer: a JSON array of batches, field names in camelCase, int64 as strings. */
function searchStream(results: unknown[]): string {
  return JSON.stringify([{ results, fieldMask: 'customer.id,campaign.id', requestId: 'req-1', queryResourceConsumption: '42' }]);
}

function restError(code: number, status: string, message: string, errors?: unknown[]): string {
  const details = errors ? [{ '@type': 'type.googleapis.com/google.ads.googleads.v24.errors.GoogleAdsFailure', errors, requestId: 'req-err-1' }] : undefined;
  return JSON.stringify([{ error: { code, message, status, ...(details ? { details } : {}) } }]);
}

beforeAll(() => {
  restoreSleep = setSleep(async (ms) => void waits.push(ms));
  savedAdapter = axios.defaults.adapter;
  savedToken = OAuth2Client.prototype.getAccessToken;
  OAuth2Client.prototype.getAccessToken = async () => {
    if (tokenError) throw tokenError;
    return { token: 'ya29.test-access-token' };
  };
  axios.defaults.adapter = async (request: { method: string; url: string; headers: Record<string, string> & { toJSON?: () => Record<string, string> }; data: string }) => {
    const headers = typeof request.headers.toJSON === 'function' ? request.headers.toJSON() : request.headers;
    const seen: Sent = { method: request.method, url: request.url, headers, body: JSON.parse(request.data) as Sent['body'] };
    sent.push(seen);
    const { status, body } = answer(seen);
    const response = { data: Readable.from([Buffer.from(body)]), status, statusText: String(status), headers: {}, config: request };
    if (status >= 200 && status < 300) return response;
    throw new axios.AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_REQUEST', request, {}, response);
  };
});
afterAll(() => {
  axios.defaults.adapter = savedAdapter;
  OAuth2Client.prototype.getAccessToken = savedToken;
  restoreSleep();
});
beforeEach(() => {
  sent = [];
  waits = [];
  tokenError = undefined;
});

/** Reads the stream with the default client; `refreshToken` apart from other tests' (the package caches access tokens by it). */
async function read(refreshToken = 'refresh-a'): Promise<Page[]> {
  const global = configSchema.parse({ sources: { google_ads: { customerIds: ['1234567890'], loginCustomerId: '111-222-3333', startDate: '2024-03-08' } } });
  const ctx: ReadContext<GoogleAdsConfig> = {
    config: global.sources.google_ads!, global, state: null, window: null, startDate: '2024-03-08', lookbackDays: 30, now: new Date('2024-03-10T08:00:00Z'),
    log: logger(), signal: new AbortController().signal, secret: (name) => (name === 'GOOGLE_ADS_REFRESH_TOKEN' ? refreshToken : `secret-of-${name}`), warnOnce: () => undefined,
  };
  const pages: Page[] = [];
  for await (const page of readCampaignDaily(ctx, sdkClientFactory)) pages.push(page);
  return pages;
}

describe('google-ads-api behind the default client', () => {
  it('posts the GAQL to searchStream of the pinned version with the developer token and manager id, and yields rows in the shape the seam tests use', async () => {
    answer = () => ({
      status: 200,
      body: searchStream([
        {
          customer: { resourceName: 'customers/1234567890', id: '1234567890', currencyCode: 'EUR', timeZone: 'Europe/Paris' },
          campaign: { resourceName: 'customers/1234567890/campaigns/11', id: '11', name: 'Brand', status: 'ENABLED' },
          segments: { date: '2024-03-08' },
          metrics: { costMicros: '1500000', clicks: '10', impressions: '400', conversions: 1.5, conversionsValue: 42.25 },
        },
      ]),
    });
    const client = await sdkClientFactory(config(), secrets);
    expect(client.apiVersion).toBe('v24');
    expect(client.library).toBe(`google-ads-api ${libraryVersion}`);
    const rows = [];
    for await (const row of client.queryStream('1234567890', 'SELECT campaign.id FROM campaign')) rows.push(row);

    expect(sent).toHaveLength(1);
    expect(sent[0]!.method).toBe('post');
    expect(sent[0]!.url).toBe('https://googleads.googleapis.com/v24/customers/1234567890/googleAds:searchStream');
    expect(sent[0]!.headers).toMatchObject({ Authorization: 'Bearer ya29.test-access-token', 'developer-token': secrets.developerToken, 'login-customer-id': '1112223333' });
    expect(sent[0]!.body).toEqual({ query: 'SELECT campaign.id FROM campaign' });
    expect(rows).toEqual([
      {
        customer: { resource_name: 'customers/1234567890', id: 1234567890, currency_code: 'EUR', time_zone: 'Europe/Paris' },
        // ENABLED is 2 in the CampaignStatus enum.
        campaign: { resource_name: 'customers/1234567890/campaigns/11', id: 11, name: 'Brand', status: 2 },
        segments: { date: '2024-03-08' },
        metrics: { cost_micros: 1_500_000, clicks: 10, impressions: 400, conversions: 1.5, conversions_value: 42.25 },
      },
    ]);
  });

  it('turns the GoogleAdsFailure the package throws for a sunset version into the upgrade message', async () => {
    answer = () => ({
      status: 400,
      body: restError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [
        { errorCode: { requestError: 'UNSUPPORTED_VERSION' }, message: 'Version v24 is deprecated. Requests to this version will be blocked.' },
      ]),
    });
    const error = await read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtractError);
    expect((error as Error).message).toBe(
      '[google_ads.campaign_daily, customer 1234567890 time zone (v24)] Google Ads no longer serves v24 (request_error.UNSUPPORTED_VERSION: ' +
        'Version v24 is deprecated. Requests to this version will be blocked. (request id req-err-1)). This verite speaks Google Ads API v24 ' +
        `through google-ads-api ${libraryVersion}, and Google shuts each Google Ads API version off about a year after its release ` +
        '(https://developers.google.com/google-ads/api/docs/sunset-dates). Upgrade verite to a release that pins a newer google-ads-api',
    );
    expect(sent).toHaveLength(1);
  });

  it('names a likely sunset when Google answers a page that is not JSON (its 404 for a shut-off version)', async () => {
    answer = () => ({ status: 404, body: '<!DOCTYPE html><html><body>Error 404 (Not Found)!!1</body></html>' });
    const error = await read().catch((e: unknown) => e);
    expect((error as Error).message).toContain('Google Ads answered with something other than an API response');
    expect((error as Error).message).toContain('Google answers this way (HTTP 404) for an API version it has shut off');
    expect((error as Error).message).toContain(`This verite speaks Google Ads API v24 through google-ads-api ${libraryVersion}`);
    expect((error as ExtractError).permanent).toBe(true);
  });

  it('retries an UNAVAILABLE answer without details', async () => {
    let calls = 0;
    answer = () =>
      ++calls === 1
        ? { status: 503, body: restError(503, 'UNAVAILABLE', 'The service is currently unavailable.') }
        : { status: 200, body: searchStream([{ customer: { resourceName: 'customers/1234567890', id: '1234567890', currencyCode: 'EUR', timeZone: 'UTC' } }]) };
    const pages = await read();
    // The zone query twice (the first refused), then one campaign query for the 8th and 9th.
    expect(sent.map((s) => s.body.query!.split(' FROM ')[1]!.split(' ')[0])).toEqual(['customer', 'customer', 'campaign']);
    expect(pages.map((p) => p.dates![0])).toEqual(['2024-03-08', '2024-03-09']);
  });

  it('waits the delay a rate-limit refusal names in its message (the package drops its retry_delay)', async () => {
    let calls = 0;
    answer = () =>
      ++calls === 1
        ? {
            status: 429,
            body: restError(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [
              {
                errorCode: { quotaError: 'RESOURCE_TEMPORARILY_EXHAUSTED' },
                message: 'Too many requests. Retry in 30 seconds.',
                details: { quotaErrorDetails: { rateScope: 'ACCOUNT', rateName: 'Requests per account', retryDelay: '30s' } },
              },
            ]),
          }
        : { status: 200, body: searchStream([{ customer: { resourceName: 'customers/1234567890', id: '1234567890', currencyCode: 'EUR', timeZone: 'UTC' } }]) };
    const pages = await read('refresh-b');
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(30_000);
    expect(pages).toHaveLength(2);
  });

  it("keeps Google's answer when the refresh token is refused", async () => {
    tokenError = Object.assign(new Error('invalid_grant'), { response: { status: 400, data: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } } });
    answer = () => ({ status: 500, body: 'not reached' });
    const error = await read('refresh-revoked').catch((e: unknown) => e);
    expect((error as Error).message).toContain('Google refused the refresh token (invalid_grant: Token has been expired or revoked.)');
    expect(sent).toEqual([]);
  });
});
