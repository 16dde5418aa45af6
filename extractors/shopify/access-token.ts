import type { ShopifyConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { registerSecret } from '../../lib/logger.ts';
import { httpRequest, type HttpContext } from '../../lib/http.ts';

/** Gives the Admin API access token; `refresh` asks for a new one after a 401 (when it can). */
export interface AccessTokenSource {
  token(): Promise<string>;
  /** True when a new token was obtained (a client-credentials token that expired). */
  refresh(): Promise<boolean>;
}

interface Secrets {
  secret(envVar: string): string;
}

/**
 * The token of the config: a static Admin API access token (`accessTokenEnv`, an app created in
 * the Shopify admin), or, with `clientIdEnv`/`clientSecretEnv` (a Dev Dashboard app installed
 * on the shop), a token from the client credentials grant, valid 24 hours, asked for once per
 * read and again after a 401.
 */
export function accessTokenSource(config: ShopifyConfig, baseUrl: string, ctx: Secrets, http: HttpContext): AccessTokenSource {
  const misplaced = (problem: string) => new ExtractError(problem, { source: http.source, stream: http.stream }, { permanent: true });
  if (!config.clientIdEnv || !config.clientSecretEnv) {
    const token = ctx.secret(config.accessTokenEnv);
    // Shopify's prefixes (shpss_ a client secret, shpat_/shpca_/shppa_ access tokens) say which is which.
    if (token.startsWith('shpss_')) {
      throw misplaced(
        `${config.accessTokenEnv} holds an app's client secret (shpss_…), not an access token: name its variable in clientSecretEnv and the app's client ID in clientIdEnv, or put the app's Admin API access token (shpat_…) in ${config.accessTokenEnv}`,
      );
    }
    return { token: async () => token, refresh: async () => false };
  }
  const clientId = ctx.secret(config.clientIdEnv);
  const clientSecret = ctx.secret(config.clientSecretEnv);
  if (/^shp(at|ca|pa)_/.test(clientSecret)) {
    throw misplaced(`${config.clientSecretEnv} holds an Admin API access token, not a client secret: put it in the variable accessTokenEnv names, and leave clientIdEnv and clientSecretEnv out`);
  }
  let current: Promise<string> | undefined;
  const grant = async (): Promise<string> => {
    const res = await httpRequest<{ access_token?: string }>(http, {
      method: 'POST',
      url: `${baseUrl}/admin/oauth/access_token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
      describe: 'POST /admin/oauth/access_token (client credentials)',
    }).catch((error: unknown) => {
      const status = error instanceof ExtractError ? error.context.status : undefined;
      if (status === 400 || status === 401 || status === 403) {
        throw new ExtractError(
          `Shopify refused the client credentials in ${config.clientIdEnv}/${config.clientSecretEnv}: the app must be installed on ${config.shop} and belong to the shop's organisation`,
          { source: http.source, stream: http.stream, request: 'POST /admin/oauth/access_token', status },
          { cause: error, permanent: true },
        );
      }
      throw error;
    });
    const token = res.body?.access_token;
    if (typeof token !== 'string' || !token) {
      throw new ExtractError('the client credentials grant answered without an access_token', { source: http.source, stream: http.stream, request: 'POST /admin/oauth/access_token', status: res.status });
    }
    registerSecret(token);
    return token;
  };
  return {
    token: () => (current ??= grant()),
    refresh: async () => {
      current = grant();
      await current;
      return true;
    },
  };
}
