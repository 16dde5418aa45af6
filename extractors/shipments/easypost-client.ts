import { ExtractError } from '../../lib/errors.ts';
import { HttpStatusError, httpRequest, type HttpContext } from '../../lib/http.ts';

/** EasyPost's API root; `carrierApi.baseUrl` replaces it (a proxy, a local test server). */
export const EASYPOST_API = 'https://api.easypost.com/v2';

/** A scan of a tracker's history. */
export interface EasyPostTrackingDetail {
  status?: string | null;
  datetime?: string | null;
  message?: string | null;
  [key: string]: unknown;
}

/** The Tracker object as the API sends it (only the fields verite reads are typed). */
export interface EasyPostTracker {
  id: string;
  tracking_code?: string | null;
  carrier?: string | null;
  status?: string | null;
  /**
   * A return is marked on the Shipment ({@link EasyPostShipmentSummary.is_return}): EasyPost's
   * examples of listed and retrieved trackers have no `is_return` (that of a tracker created by
   * `POST /trackers` has `false`). Read when a tracker carries it.
   */
  is_return?: boolean | null;
  shipment_id?: string | null;
  est_delivery_date?: string | null;
  carrier_detail?: { service?: string | null; est_delivery_date_local?: string | null; [key: string]: unknown } | null;
  tracking_details?: EasyPostTrackingDetail[] | null;
  created_at: string;
  updated_at?: string | null;
  [key: string]: unknown;
}

/** What verite keeps of a Shipment: the order it belongs to, what its label cost, and whether it is a return label. */
export interface EasyPostShipmentSummary {
  id: string;
  created_at: string | null;
  reference: string | null;
  /**
   * The Shipment's `is_return`: true for a return label (bought with `is_return: true`, the
   * customer sending goods back); null when the Shipment does not say, absent from a summary
   * landed before it was kept.
   */
  is_return?: boolean | null;
  print_custom_1: string | null;
  rate: string | null;
  currency: string | null;
  carrier: string | null;
  service: string | null;
}

interface RawShipment {
  id: string;
  created_at?: string | null;
  reference?: string | null;
  is_return?: boolean | null;
  options?: { print_custom_1?: string | null } | null;
  selected_rate?: { rate?: string | number | null; currency?: string | null; carrier?: string | null; service?: string | null } | null;
}

/** One page of a list: newest first; `before_id` of the last item fetches the next. */
export interface EasyPostPage<T> {
  items: T[];
  hasMore: boolean;
}

/** A created-at window and a position in it. */
export interface ListQuery {
  /** ISO timestamps: records created after `start` and before `end`. */
  start: string;
  end: string;
  beforeId?: string | null;
  /** Records a page; default {@link PAGE_SIZE}, the most EasyPost gives. */
  pageSize?: number;
}

/** The few EasyPost calls the shipments source makes. */
export interface EasyPostClient {
  listTrackers(query: ListQuery): Promise<EasyPostPage<EasyPostTracker>>;
  /** A tracker by id, as it is now; undefined when EasyPost no longer has it (404: deleted). */
  getTracker(id: string): Promise<EasyPostTracker | undefined>;
  listShipments(query: ListQuery): Promise<EasyPostPage<EasyPostShipmentSummary>>;
  /** A shipment by id; undefined when EasyPost does not know it (404). */
  getShipment(id: string): Promise<EasyPostShipmentSummary | undefined>;
}

/** The API's page size limit. */
export const PAGE_SIZE = 100;

/**
 * An EasyPost client over the shared HTTP behaviour (retries, Retry-After, time-outs, rate
 * bound). The API key is the Basic-auth user name with no password, as EasyPost asks.
 */
export function easyPostClient(options: { apiKey: string; baseUrl?: string; http: HttpContext }): EasyPostClient {
  const root = (options.baseUrl ?? EASYPOST_API).replace(/\/+$/, '');
  const headers = { authorization: `Basic ${Buffer.from(`${options.apiKey}:`).toString('base64')}`, accept: 'application/json' };
  const get = async <T>(path: string, params: Record<string, string | number | null | undefined>, describe: string): Promise<T> => {
    const url = new URL(`${root}${path}`);
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) url.searchParams.set(k, String(v));
    const res = await httpRequest<unknown>(options.http, { url: url.toString(), headers, describe });
    if (res.body === null || typeof res.body !== 'object') {
      throw new ExtractError(`the answer is not a JSON object`, { source: options.http.source, stream: options.http.stream, request: describe, status: res.status });
    }
    return res.body as T;
  };
  const list = async <T>(collection: 'trackers' | 'shipments', q: ListQuery): Promise<{ items: T[]; hasMore: boolean }> => {
    const describe = `GET /${collection} ${q.start}..${q.end}${q.beforeId ? ` before ${q.beforeId}` : ''}`;
    const body = await get<Record<string, unknown>>(`/${collection}`, { start_datetime: q.start, end_datetime: q.end, page_size: q.pageSize ?? PAGE_SIZE, before_id: q.beforeId }, describe);
    const items = body[collection];
    if (!Array.isArray(items)) {
      throw new ExtractError(`the answer has no "${collection}" list`, { source: options.http.source, stream: options.http.stream, request: describe });
    }
    return { items: items as T[], hasMore: body.has_more === true };
  };
  /** `GET path`, or undefined on a 404. */
  const getOne = async <T>(path: string, describe: string): Promise<T | undefined> => {
    try {
      return await get<T>(path, {}, describe);
    } catch (error) {
      if (error instanceof ExtractError && error.cause instanceof HttpStatusError && error.cause.status === 404) return undefined;
      throw error;
    }
  };
  return {
    listTrackers: (q) => list<EasyPostTracker>('trackers', q),
    getTracker: (id) => getOne<EasyPostTracker>(`/trackers/${encodeURIComponent(id)}`, `GET /trackers/${id}`),
    listShipments: async (q) => {
      const page = await list<RawShipment>('shipments', q);
      return { items: page.items.map(summarise), hasMore: page.hasMore };
    },
    getShipment: async (id) => {
      const shipment = await getOne<RawShipment>(`/shipments/${encodeURIComponent(id)}`, `GET /shipments/${id}`);
      return shipment && summarise(shipment);
    },
  };
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null);

function summarise(s: RawShipment): EasyPostShipmentSummary {
  return {
    id: s.id,
    created_at: s.created_at ?? null,
    reference: text(s.reference),
    is_return: typeof s.is_return === 'boolean' ? s.is_return : null,
    print_custom_1: text(s.options?.print_custom_1),
    rate: text(s.selected_rate?.rate),
    currency: text(s.selected_rate?.currency),
    carrier: text(s.selected_rate?.carrier),
    service: text(s.selected_rate?.service),
  };
}
