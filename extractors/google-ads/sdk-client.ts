import { createRequire } from 'node:module';
import type { GoogleAdsClient, GoogleAdsClientFactory, GoogleAdsRow } from './client.ts';

const require = createRequire(import.meta.url);

/**
 * The Google Ads API through google-ads-api (Opteo's client, the standard one for Node):
 * `GoogleAdsApi({client_id, client_secret, developer_token}).Customer({customer_id,
 * login_customer_id, refresh_token}).queryStream(gaql)`, which calls `googleAds:searchStream`
 * of the API version the package pins. The package takes over a second to load, so only a run
 * that reads Google Ads loads it.
 */
export const sdkClientFactory: GoogleAdsClientFactory = async (config, secrets) => {
  const { GoogleAdsApi } = await import('google-ads-api');
  const { googleAdsVersion } = (await import('google-ads-api/build/src/version.js')) as { googleAdsVersion: string };
  const { version } = require('google-ads-api/package.json') as { version: string };
  const api = new GoogleAdsApi({ client_id: secrets.clientId, client_secret: secrets.clientSecret, developer_token: secrets.developerToken });
  const customers = new Map<string, ReturnType<typeof api.Customer>>();
  const client: GoogleAdsClient = {
    apiVersion: googleAdsVersion,
    library: `google-ads-api ${version}`,
    async *queryStream(customerId, gaql) {
      let customer = customers.get(customerId);
      if (!customer) {
        customer = api.Customer({
          customer_id: customerId,
          refresh_token: secrets.refreshToken,
          ...(config.loginCustomerId ? { login_customer_id: config.loginCustomerId } : {}),
        });
        customers.set(customerId, customer);
      }
      // queryStream turns a refused token exchange into an unrelated stream error ("Arguments
      // should be functions, arrays or streams"); asking for the token first (the package caches
      // it for the query) surfaces Google's own answer, such as invalid_grant.
      await customer.getAccessToken();
      yield* customer.queryStream<GoogleAdsRow>(gaql);
    },
  };
  return client;
};
