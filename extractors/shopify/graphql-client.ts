import type { ShopifyConfig } from '../../config/schema.ts';
import { ExtractError, type ErrorContext } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { httpRequest, RetryableError, withRetry, type HttpContext } from '../../lib/http.ts';
import { accessTokenSource, type AccessTokenSource } from './access-token.ts';
import { checkApiVersion, checkServedVersion } from './api-version.ts';
import { CostThrottle, throttledDelay, type QueryCost } from './cost-throttle.ts';

/** One GraphQL Admin API call: `kind` names it in logs and errors, and for the cost throttle. */
export interface ShopifyGraphql {
  query<T>(kind: string, document: string, variables?: Record<string, unknown>): Promise<T>;
  /** The HTTP context (source, stream, retry policy), for downloads made alongside. */
  readonly http: HttpContext;
}

/** A query whose requested cost is over Shopify's single-query maximum; ask for fewer nodes. */
export class QueryCostError extends ExtractError {
  override name = 'QueryCostError';
}

interface GraphqlAnswer<T> {
  data?: T | null;
  errors?: { message?: string; extensions?: { code?: string } }[];
  extensions?: { cost?: QueryCost };
}

export interface ShopifyClientOptions {
  config: ShopifyConfig;
  stream: string;
  now: Date;
  log: Logger;
  signal?: AbortSignal;
  secret(envVar: string): string;
  warnOnce(message: string): void;
  /** The longest wait an answer may ask for (`retries.maxRetryAfterMinutes`); default 15 minutes. */
  maxRetryAfterMs?: number;
}

/** Where the Admin API of the config answers: `apiBaseUrl`, else the shop's own domain. */
export function adminBaseUrl(config: ShopifyConfig): string {
  return (config.apiBaseUrl ?? `https://${config.shop}`).replace(/\/+$/, '');
}

/**
 * The GraphQL Admin API client of one stream read: `POST /admin/api/{version}/graphql.json`
 * with the shared HTTP behaviour (429/5xx retried, Retry-After honoured, bounded attempts),
 * plus what is Shopify's own: the cost-based rate limit (waits before a query the bucket cannot
 * yet pay for; a THROTTLED answer is retried after the missing points have refilled), the
 * pinned version (refused up front past its support window, and again if Shopify answers with
 * another version), and clear errors for a refused token or a wrong shop.
 */
export function shopifyClient(options: ShopifyClientOptions): ShopifyGraphql {
  const { config, stream } = options;
  const context: ErrorContext = { source: 'shopify', stream };
  checkApiVersion(config.apiVersion, options.now, options.warnOnce, context);
  const base = adminBaseUrl(config);
  const url = `${base}/admin/api/${config.apiVersion}/graphql.json`;
  const http: HttpContext = {
    source: 'shopify',
    stream,
    log: options.log,
    signal: options.signal,
    retry: { attempts: config.maxAttempts, timeoutMs: config.timeoutSeconds * 1000, ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}) },
  };
  const tokens: AccessTokenSource = accessTokenSource(config, base, options, http);
  const throttle = new CostThrottle();

  async function query<T>(kind: string, document: string, variables: Record<string, unknown> = {}): Promise<T> {
    const describe = `GraphQL ${kind}`;
    const call: HttpContext = { ...http, request: describe };
    const where: ErrorContext = { ...context, request: describe };
    let refreshed = false;
    return withRetry(call, async () => {
      const waited = await throttle.beforeQuery(kind, options.signal);
      if (waited > 0) options.log.debug({ kind, waitMs: waited }, 'waiting for the query cost bucket to refill');
      const token = await tokens.token();
      let res;
      try {
        res = await httpRequest<GraphqlAnswer<T> | string>(call, {
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json', accept: 'application/json', 'x-shopify-access-token': token },
          body: JSON.stringify({ query: document, variables }),
          describe,
        });
      } catch (error) {
        const status = error instanceof ExtractError ? error.context.status : undefined;
        if (status === 401) {
          if (!refreshed && (await tokens.refresh())) {
            refreshed = true;
            throw new RetryableError('the access token was refused; asking for a new one', 401, 0);
          }
          throw new ExtractError(
            `Shopify refused the access token${config.clientIdEnv ? ` obtained with ${config.clientIdEnv}` : ` in ${config.accessTokenEnv}`}: ` +
              `it must be an Admin API token of an app installed on ${config.shop}`,
            { ...where, status },
            { cause: error, permanent: true },
          );
        }
        if (status === 404) {
          throw new ExtractError(`no Admin API answers at ${url}: check sources.shopify.shop (or apiBaseUrl) and apiVersion ${config.apiVersion}`, { ...where, status }, { cause: error, permanent: true });
        }
        if (status === 402 || status === 423) {
          throw new ExtractError(`the shop ${config.shop} is frozen or locked (HTTP ${status}); its Admin API is closed until the shop is active again`, { ...where, status }, { cause: error, permanent: true });
        }
        throw error;
      }
      checkServedVersion(config.apiVersion, res.headers.get('x-shopify-api-version'), { ...where, status: res.status });
      const body = res.body;
      if (!body || typeof body !== 'object') throw new ExtractError('the answer is not a GraphQL JSON document', { ...where, status: res.status });
      const cost = body.extensions?.cost;
      const errors = body.errors ?? [];
      // A THROTTLED answer's own wait is the retry delay below; the bucket is tracked from answers that ran.
      if (!errors.length) throttle.observe(kind, cost);
      if (cost) options.log.debug({ kind, requested: cost.requestedQueryCost, actual: cost.actualQueryCost, available: cost.throttleStatus?.currentlyAvailable }, 'query cost');
      if (errors.length) {
        const codes = errors.map((e) => e.extensions?.code);
        const text = errors.map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join('; ');
        if (codes.includes('THROTTLED')) {
          throw new RetryableError(`THROTTLED: ${text}`, res.status, throttledDelay(cost));
        }
        if (codes.includes('INTERNAL_SERVER_ERROR')) throw new RetryableError(text, res.status);
        if (codes.includes('MAX_COST_EXCEEDED')) throw new QueryCostError(text, { ...where, status: res.status });
        throw new ExtractError(`the query failed: ${text}`, { ...where, status: res.status });
      }
      if (!body.data) throw new ExtractError('the answer has no data', { ...where, status: res.status });
      return body.data;
    });
  }

  return { query, http };
}
