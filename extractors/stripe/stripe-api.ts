import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import type { StripeConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { maxRetryAfterMs, RateLimiter, withRetry, type HttpContext } from '../../lib/http.ts';
import { proxyAgentFor } from '../../lib/proxy.ts';
import type { ReadContext } from '../types.ts';
import type { StripeObjectKind } from './object-kinds.ts';
import { stripeRetryable } from './retryable.ts';

/** A Stripe object as the API sends it; verite lands it untouched. */
export type StripeRecord = { id: string; object?: string; created: number } & Record<string, unknown>;

/**
 * What verite needs of an event: where it sits, which object changed, and the API version its
 * object is written in (the account's default when the event was made; null on some events).
 * A charge in a `charge.refunded` event carries its `refunds` list only in versions before
 * 2022-11-15, where the list was always included.
 */
export interface StripeEventRef {
  id: string;
  type: string;
  created: number;
  api_version?: string | null;
  data: { object: { id?: string; object?: string; refunds?: { data?: { id?: unknown }[]; has_more?: boolean } | null } };
}

export interface StripeListPage<T> {
  data: T[];
  has_more: boolean;
}

/**
 * The Stripe calls one stream makes, each through the shared retry policy and the per-key
 * rate bound. Lists are Stripe's: newest first, at most 100 a page, `starting_after` the last
 * id of the previous page.
 */
export interface StripeApi {
  /** One page of the objects created in `gte`..`lte` (Unix seconds, both included), `limit` a page (default 100). */
  listCreated(range: { gte: number; lte: number }, startingAfter?: string, limit?: number): Promise<StripeListPage<StripeRecord>>;
  /** The object as it is now; undefined when Stripe no longer has it (404). */
  retrieve(id: string): Promise<StripeRecord | undefined>;
  /** One page of the events of the kind's types created at or after `since` (all kept events without it). */
  listEvents(options: { since?: number; startingAfter?: string; limit: number }): Promise<StripeListPage<StripeEventRef>>;
  /** One page (100) of the refunds of a charge, as they are now (`GET /v1/refunds?charge=`). */
  listRefundsOfCharge(chargeId: string, startingAfter?: string): Promise<StripeListPage<StripeRecord>>;
}

const limiters = new Map<string, RateLimiter>();

/**
 * The rate bound of one secret key: both streams (and a scheduler's later runs in the same
 * process) draw from the same limiter, since Stripe's limit is per account, not per stream.
 */
export function stripeLimiter(secretKey: string, perSecond: number): RateLimiter {
  // Keyed by a digest so the map never holds a key in clear.
  const id = `${createHash('sha256').update(secretKey).digest('hex')}/${perSecond}`;
  let limiter = limiters.get(id);
  if (!limiter) {
    limiter = new RateLimiter(perSecond);
    limiters.set(id, limiter);
  }
  return limiter;
}

/** Builds the calls of one stream's read on the official `stripe` client. */
export function createStripeApi(ctx: ReadContext<StripeConfig>, kind: StripeObjectKind): StripeApi {
  const config = ctx.config;
  const secretKey = ctx.secret(config.secretKeyEnv);
  const wrongKey = stripeKeyProblem(secretKey, config.secretKeyEnv);
  if (wrongKey) throw new ExtractError(wrongKey, { source: 'stripe', stream: kind.stream }, { permanent: true });
  const timeoutMs = config.timeoutSeconds * 1000;
  // The Stripe client does not read HTTPS_PROXY: given an agent through it (lib/proxy.ts).
  const httpAgent = proxyAgentFor(`${config.protocol ?? 'https'}://${config.host ?? 'api.stripe.com'}${config.port ? `:${config.port}` : ''}`);
  const stripe = new Stripe(secretKey, {
    host: config.host,
    port: config.port,
    protocol: config.protocol,
    ...(httpAgent ? { httpAgent } : {}),
    // Retries are withRetry's alone (see stripeRetryable): the client would not retry a plain 429.
    maxNetworkRetries: 0,
    timeout: timeoutMs,
    telemetry: false,
    appInfo: { name: 'verite' },
  });
  const base: HttpContext = {
    source: 'stripe',
    stream: kind.stream,
    log: ctx.log,
    signal: ctx.signal,
    retry: { attempts: config.maxAttempts, timeoutMs, maxRetryAfterMs: maxRetryAfterMs(ctx.global) },
    limiter: stripeLimiter(secretKey, config.maxRequestsPerSecond),
    host: `${config.host ?? 'api.stripe.com'}${config.port ? `:${config.port}` : ''}`,
  };
  const call = <T>(request: string, fn: () => Promise<T>): Promise<T> => withRetry({ ...base, request }, fn, stripeRetryable);
  // One shape of list and retrieve for the three resources: the calls below pass only what all take.
  const resource = (kind.object === 'charge' ? stripe.charges : kind.object === 'refund' ? stripe.refunds : stripe.balanceTransactions) as unknown as {
    list(params: object): Promise<{ data: unknown[]; has_more: boolean }>;
    retrieve(id: string): Promise<unknown>;
  };

  return {
    listCreated: (range, startingAfter, limit = 100) => {
      const params = { created: { gte: range.gte, lte: range.lte }, limit, ...(startingAfter ? { starting_after: startingAfter } : {}) };
      return call(`GET ${kind.path}?${describeParams(params)}`, async () => {
        const page = await resource.list(params);
        return { data: page.data as unknown as StripeRecord[], has_more: page.has_more };
      });
    },
    retrieve: (id) =>
      call(`GET ${kind.path}/${id}`, async () => {
        try {
          return (await resource.retrieve(id)) as unknown as StripeRecord;
        } catch (error) {
          if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode === 404) return undefined;
          throw error;
        }
      }),
    listEvents: ({ since, startingAfter, limit }) => {
      const params = {
        types: [...kind.eventTypes],
        limit,
        ...(since !== undefined ? { created: { gte: since } } : {}),
        ...(startingAfter ? { starting_after: startingAfter } : {}),
      };
      return call(`GET /v1/events?${describeParams({ ...params, types: `${kind.stream} events` })}`, async () => {
        const page = await stripe.events.list(params);
        return { data: page.data as unknown as StripeEventRef[], has_more: page.has_more };
      });
    },
    listRefundsOfCharge: (chargeId, startingAfter) => {
      const params = { charge: chargeId, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) };
      return call(`GET /v1/refunds?${describeParams(params)}`, async () => {
        const page = await stripe.refunds.list(params);
        return { data: page.data as unknown as StripeRecord[], has_more: page.has_more };
      });
    },
  };
}

/** The query of a list call for errors and logs, e.g. `created[gte]=1700000000&limit=100`. */
function describeParams(params: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [sub, v] of Object.entries(value)) parts.push(`${key}[${sub}]=${String(v)}`);
    } else parts.push(`${key}=${String(value)}`);
  }
  return parts.join('&');
}

/**
 * Why a value is not an API key that reads an account, or undefined: the Dashboard shows a
 * publishable key (`pk_…`) beside the secret one, and a webhook's signing secret (`whsec_…`)
 * looks like a key too; Stripe refuses both for every read. Any other shape is left to Stripe.
 */
export function stripeKeyProblem(key: string, envVar: string): string | undefined {
  const put = 'put the secret key (sk_live_…) or a restricted key (rk_live_…) there (Dashboard → Developers → API keys)';
  if (/^pk_(live|test)_/.test(key)) return `the key in ${envVar} is a publishable key, which may read nothing of the account: ${put}`;
  if (key.startsWith('whsec_')) return `${envVar} holds a webhook's signing secret, not an API key: ${put}`;
  return undefined;
}
