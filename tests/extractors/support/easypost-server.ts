import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A tracker or shipment as the fake keeps it: any JSON object with an id and a created_at. */
export type Item = { id: string; created_at: string; [key: string]: unknown };

/** A TrackingDetail (a scan) with every field EasyPost sends (easypost-shapes.ts). */
export function trackingDetail(status: string, datetime: string, carrier = 'USPS'): Record<string, unknown> {
  return {
    object: 'TrackingDetail', message: null, description: null, status, status_detail: null, datetime, source: carrier, carrier_code: null,
    tracking_location: { object: 'TrackingLocation', city: null, state: null, country: null, zip: null },
  };
}

/** A Tracker with every field EasyPost sends (easypost-shapes.ts), those not given empty. */
export function easyPostTracker(fields: { id: string; created_at: string; tracking_code: string; status: string } & Record<string, unknown>): Item {
  return {
    object: 'Tracker',
    mode: 'production',
    status_detail: null,
    updated_at: fields.created_at,
    signed_by: null,
    weight: null,
    est_delivery_date: null,
    shipment_id: null,
    carrier: 'USPS',
    tracking_details: [],
    fees: [],
    carrier_detail: null,
    public_url: `https://track.easypost.com/${fields.id}`,
    ...fields,
  };
}

/**
 * A Shipment as the stand-in answers it: `is_return` as EasyPost sends it on every Shipment
 * (false unless the label was bought as a return), the record's own fields over it.
 */
const asEasyPostShipment = (item: Item): Item => ({ is_return: false, ...item });

export interface SeenRequest {
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A local server answering like EasyPost's API (v2) for what the shipments source asks:
 * `GET /v2/trackers` and `GET /v2/shipments` list records created strictly after
 * `start_datetime` and before `end_datetime` (a one-month span when one is missing), newest
 * first, `page_size` at most 100 (default 20), `before_id` for the next page and `has_more`;
 * `GET /v2/shipments/:id` and `GET /v2/trackers/:id` (404 once deleted), each Shipment with its
 * `is_return` (false when a test does not set it); Basic auth with the API key as user name (401 otherwise). Answers
 * can be scripted (a 429 with Retry-After, a 500), and the server can go down for good.
 */
export interface FakeEasyPost {
  /** The API root to configure as `carrierApi.baseUrl`. */
  url: string;
  trackers: Item[];
  shipments: Item[];
  requests: SeenRequest[];
  /** The next requests (of `path`, when given) get these answers, in order, before real ones. */
  script(...answers: (Scripted & { path?: string })[]): void;
  /** After `count` more answered requests to `path`, every request answers 500 until healed. */
  goDownAfter(path: string, count: number): void;
  heal(): void;
  close(): Promise<void>;
}

const MONTH = 30 * 86_400_000;

export async function startFakeEasyPost(apiKey: string): Promise<FakeEasyPost> {
  const expectedAuth = `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`;
  const scripted: (Scripted & { path?: string })[] = [];
  let down: { path: string; left: number } | undefined;
  let isDown = false;
  const fake: Omit<FakeEasyPost, 'url' | 'close'> = {
    trackers: [],
    shipments: [],
    requests: [],
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
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  const list = (items: Item[], key: string, q: Record<string, string>) => {
    const pageSize = Math.min(Number(q.page_size ?? 20), 100);
    let end = q.end_datetime ? Date.parse(q.end_datetime) : NaN;
    let start = q.start_datetime ? Date.parse(q.start_datetime) : NaN;
    if (Number.isNaN(start)) start = (Number.isNaN(end) ? Date.now() : end) - MONTH;
    if (Number.isNaN(end)) end = start + MONTH;
    const order = (a: Item, b: Item) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1);
    let matching = items.filter((i) => Date.parse(i.created_at) > start && Date.parse(i.created_at) < end).sort(order);
    if (q.before_id) {
      const pivot = items.find((i) => i.id === q.before_id);
      matching = pivot ? matching.filter((i) => order(i, pivot) > 0) : [];
    }
    return { [key]: structuredClone(matching.slice(0, pageSize)), has_more: matching.length > pageSize };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    fake.requests.push({ path: url.pathname, query, authorization: req.headers.authorization });
    if (isDown) return send(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'down', errors: [] } });
    const scriptedAt = scripted.findIndex((s) => !s.path || s.path === url.pathname);
    if (scriptedAt >= 0) {
      const [answer] = scripted.splice(scriptedAt, 1);
      return send(res, answer!.status, answer!.body ?? JSON.stringify({ error: { code: `HTTP_${answer!.status}`, message: 'scripted', errors: [] } }), answer!.headers);
    }
    if (req.headers.authorization !== expectedAuth) return send(res, 401, { error: { code: 'APIKEY.INACTIVE', message: 'This api key is no longer active.', errors: [] } });
    if (down && url.pathname === down.path && --down.left < 0) {
      isDown = true;
      return send(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'down', errors: [] } });
    }
    if (req.method === 'GET' && url.pathname === '/v2/trackers') return send(res, 200, list(fake.trackers, 'trackers', query));
    if (req.method === 'GET' && url.pathname === '/v2/shipments') return send(res, 200, list(fake.shipments.map(asEasyPostShipment), 'shipments', query));
    const one = /^\/v2\/(shipments|trackers)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      const found = (one[1] === 'shipments' ? fake.shipments.map(asEasyPostShipment) : fake.trackers).find((s) => s.id === decodeURIComponent(one[2]!));
      return found ? send(res, 200, found) : send(res, 404, { error: { code: 'NOT_FOUND', message: 'The requested resource could not be found.', errors: [] } });
    }
    send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${url.pathname}`, errors: [] } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // The arrays are shared: a test adds or edits records between runs.
  return {
    ...fake,
    url: `http://127.0.0.1:${port}/v2`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
