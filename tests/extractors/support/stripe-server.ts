import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

/** A Stripe object as the fake keeps it. */
export type StripeItem = { id: string; object: string; created: number; [key: string]: unknown };

/**
 * A Charge with every field Stripe always sends (stripe-shapes.ts), those not given at their
 * value for a plain succeeded card charge without extras.
 */
export function stripeCharge(fields: { id: string; created: number; amount: number; currency: string } & Record<string, unknown>): StripeItem {
  return {
    object: 'charge',
    amount_captured: fields.amount,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: null,
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: null,
    captured: true,
    customer: null,
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: null,
    paid: true,
    payment_intent: null,
    payment_method: null,
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
    ...fields,
  };
}

/** A Refund with every field Stripe always sends (stripe-shapes.ts), those not given empty. */
export function stripeRefund(fields: { id: string; created: number; amount: number; currency: string; charge: string | null } & Record<string, unknown>): StripeItem {
  return {
    object: 'refund',
    balance_transaction: null,
    customer: null,
    customer_account: null,
    metadata: {},
    payment_intent: null,
    payment_method: null,
    reason: null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
    ...fields,
  };
}

/**
 * A BalanceTransaction with every field Stripe always sends (stripe-shapes.ts), those not given
 * at their value for a card charge's transaction: `fee_details` one Stripe processing fee of
 * `fee`, `net` = `amount − fee`, `available_on` two days after `created`.
 */
export function stripeBalanceTransaction(
  fields: { id: string; created: number; amount: number; currency: string; type: string } & Record<string, unknown>,
): StripeItem {
  const fee = typeof fields.fee === 'number' ? fields.fee : 0;
  return {
    object: 'balance_transaction',
    available_on: fields.created + 2 * 86_400,
    balance_type: 'payments',
    description: null,
    exchange_rate: null,
    fee,
    fee_details: fee ? [{ amount: fee, application: null, currency: fields.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: fields.amount - fee,
    reporting_category: fields.type,
    source: null,
    status: 'available',
    ...fields,
  };
}

/** An Event as Stripe lists it. */
export interface StripeEvent {
  id: string;
  object: 'event';
  /** The API version its `data.object` is written in: the account's default when it was made. */
  api_version: string | null;
  created: number;
  data: { object: StripeItem; previous_attributes?: Record<string, unknown> };
  livemode: boolean;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** When an event was made, and when Stripe's list starts showing it (a late one), Unix seconds. */
export interface EmitOptions {
  /** Default: the fake's `clock`. */
  created?: number;
  /** Default: `created`. Until the fake's `clock` reaches it, `/v1/events` does not list the event. */
  visibleAt?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** The query, nested keys flattened as sent (`created[gte]`), a list's items joined by commas. */
  query: Record<string, string>;
  authorization: string | undefined;
  stripeVersion: string | undefined;
}

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * A local server answering like Stripe's API (v1) for what the Stripe source asks:
 * `GET /v1/charges` and `GET /v1/refunds` (filter `created[gte]`/`created[lte]`, newest first,
 * `limit` default 10 and at most 100, `starting_after`, `has_more`), `GET /v1/charges/:id` and
 * `GET /v1/refunds/:id` (404 `resource_missing` for an unknown id), `GET /v1/balance_transactions`
 * (the same filters, and `type`) and `GET /v1/balance_transactions/:id`, `GET /v1/refunds?charge=`
 * (a charge's refunds), and `GET /v1/events` (`types[]`, `created[gte]`, the same paging; only
 * events of the last 30 days by the fake's `clock`, as Stripe keeps them, and only once they
 * are visible: an event can be made to show up late). Bearer auth with the secret key (401 otherwise). Answers can
 * be scripted (a 429 with Retry-After, a 500), and the server can go down for good.
 */
export interface FakeStripe {
  host: string;
  port: number;
  charges: StripeItem[];
  refunds: StripeItem[];
  balanceTransactions: StripeItem[];
  events: StripeEvent[];
  /** Stripe's "now", Unix seconds: new events are stamped with it and old ones expire by it. */
  clock: number;
  /**
   * The account's default API version, written into each new event's `api_version`. Which
   * events an account gets depends on it (before 2024-10-28.acacia, no `refund.*` event for a
   * refund of a charge): a test emits the events such an account would get.
   */
  accountApiVersion: string;
  requests: SeenRequest[];
  /** Records an event of `type` about `object` (a snapshot of it), at `clock` unless told otherwise. */
  emit(type: string, object: StripeItem, options?: EmitOptions): StripeEvent;
  /** The next requests (whose path starts with `path`, when given) get these answers first. */
  script(...answers: (Scripted & { path?: string })[]): void;
  /** After `count` more answered requests whose path starts with `path`, every request answers 500 until healed. */
  goDownAfter(path: string, count: number): void;
  heal(): void;
  close(): Promise<void>;
}

const EVENT_RETENTION_SECONDS = 30 * 86_400;

/** Newest first; Stripe breaks ties of one second by its own order, here the id (or the event's sequence). */
const newestFirst = (a: { created: number; id: string }, b: { created: number; id: string }) =>
  a.created !== b.created ? b.created - a.created : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

export async function startFakeStripe(secretKey: string): Promise<FakeStripe> {
  const scripted: (Scripted & { path?: string })[] = [];
  let down: { path: string; left: number } | undefined;
  let isDown = false;
  let eventSeq = 0;
  const visibleAt = new Map<string, number>();

  const fake: Omit<FakeStripe, 'host' | 'port' | 'close'> = {
    charges: [],
    refunds: [],
    balanceTransactions: [],
    events: [],
    clock: 0,
    accountApiVersion: Stripe.API_VERSION,
    requests: [],
    emit(type, object, options = {}) {
      eventSeq++;
      const event: StripeEvent = {
        id: `evt_${String(eventSeq).padStart(6, '0')}`,
        object: 'event',
        api_version: fake.accountApiVersion,
        created: options.created ?? fake.clock,
        data: { object: structuredClone(object) },
        livemode: false,
        pending_webhooks: 0,
        request: { id: null, idempotency_key: null },
        type,
      };
      if (options.visibleAt !== undefined) visibleAt.set(event.id, options.visibleAt);
      fake.events.push(event);
      return event;
    },
    script: (...answers) => scripted.push(...answers),
    goDownAfter: (path, count) => {
      down = { path, left: count };
    },
    heal: () => {
      isDown = false;
      down = undefined;
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${fake.requests.length}`, ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, type: string, message: string, extra: Record<string, unknown> = {}) =>
    send(res, status, { error: { type, message, ...extra } });

  const list = <T extends { id: string; created: number }>(res: ServerResponse, url: string, all: T[], q: Record<string, string>) => {
    const limit = Math.min(Number(q.limit ?? 10), 100);
    if (!Number.isInteger(limit) || limit < 1) return error(res, 400, 'invalid_request_error', 'Invalid integer: limit');
    const gte = q['created[gte]'] !== undefined ? Number(q['created[gte]']) : -Infinity;
    const lte = q['created[lte]'] !== undefined ? Number(q['created[lte]']) : Infinity;
    let matching = all.filter((o) => o.created >= gte && o.created <= lte).sort(newestFirst);
    if (q.starting_after) {
      const pivot = all.find((o) => o.id === q.starting_after);
      if (!pivot) return error(res, 400, 'invalid_request_error', `No such object: '${q.starting_after}'`, { code: 'resource_missing', param: 'starting_after' });
      matching = matching.filter((o) => newestFirst(pivot, o) < 0);
    }
    send(res, 200, { object: 'list', data: structuredClone(matching.slice(0, limit)), has_more: matching.length > limit, url });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query: Record<string, string> = {};
    for (const [key, value] of url.searchParams) {
      const listKey = /^(\w+)\[\d+\]$/.exec(key)?.[1];
      if (listKey) query[listKey] = query[listKey] ? `${query[listKey]},${value}` : value;
      else query[key] = value;
    }
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      authorization: req.headers.authorization,
      stripeVersion: req.headers['stripe-version'] as string | undefined,
    };
    fake.requests.push(seen);

    const scriptIndex = scripted.findIndex((s) => !s.path || url.pathname.startsWith(s.path));
    if (scriptIndex >= 0) {
      const [answer] = scripted.splice(scriptIndex, 1);
      return send(res, answer!.status, answer!.body ?? { error: { type: answer!.status === 429 ? 'invalid_request_error' : 'api_error', message: `scripted ${answer!.status}` } }, answer!.headers);
    }
    if (down && url.pathname.startsWith(down.path)) {
      if (down.left === 0) isDown = true;
      else down.left--;
    }
    if (isDown) return error(res, 500, 'api_error', 'An unknown error occurred');

    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      const given = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return error(res, 401, 'invalid_request_error', `Invalid API Key provided: ${given.slice(0, 8)}****${given.slice(-4)}`);
    }
    if (req.method !== 'GET') return error(res, 405, 'invalid_request_error', 'the fake only reads');

    const byId = /^\/v1\/(charges|refunds|balance_transactions)\/([\w-]+)$/.exec(url.pathname);
    if (byId) {
      const [, path, objectId] = byId as unknown as [string, 'charges' | 'refunds' | 'balance_transactions', string];
      const collection = path === 'balance_transactions' ? 'balanceTransactions' : path;
      const found = fake[collection].find((o) => o.id === objectId);
      if (!found) return error(res, 404, 'invalid_request_error', `No such ${collection.slice(0, -1)}: '${objectId}'`, { code: 'resource_missing', param: 'id' });
      return send(res, 200, structuredClone(found));
    }
    if (url.pathname === '/v1/charges') return list(res, url.pathname, fake.charges, query);
    if (url.pathname === '/v1/balance_transactions') {
      return list(res, url.pathname, query.type === undefined ? fake.balanceTransactions : fake.balanceTransactions.filter((t) => t.type === query.type), query);
    }
    if (url.pathname === '/v1/refunds') {
      return list(res, url.pathname, query.charge === undefined ? fake.refunds : fake.refunds.filter((r) => r.charge === query.charge), query);
    }
    if (url.pathname === '/v1/events') {
      const types = query.types?.split(',');
      const kept = fake.events.filter(
        (e) => e.created >= fake.clock - EVENT_RETENTION_SECONDS && (visibleAt.get(e.id) ?? e.created) <= fake.clock && (!types || types.includes(e.type)),
      );
      return list(res, url.pathname, kept, query);
    }
    error(res, 404, 'invalid_request_error', `Unrecognized request URL (GET: ${url.pathname}).`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
