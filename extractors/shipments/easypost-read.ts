import type { ShipmentsConfig } from '../../config/schema.ts';
import { isoTimestamp } from '../catalog.ts';
import { maxRetryAfterMs, RateLimiter, type HttpContext } from '../http.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import { easyPostClient, type EasyPostClient, type EasyPostShipmentSummary, type EasyPostTracker } from './easypost-client.ts';
import { trackerToShipment } from './easypost-map.ts';

const DAY = 86_400_000;

/** Days of tracker creation re-listed behind the cursor when `lookbackDays` is not set. */
export const DEFAULT_CARRIER_LOOKBACK_DAYS = 30;

/** EasyPost's lists default to a one-month span; verite asks for windows no longer than that. */
const WINDOW_DAYS = 30;

/**
 * How much earlier than the start of a read the next read's cursor is put: a tracker updated
 * while the read ran, or stamped by a clock a little behind ours, is caught next time.
 */
const CURSOR_MARGIN_MS = 60 * 60_000;

/** Below this many unknown shipments on a page, fetching them one by one beats listing. */
const LIST_SHIPMENTS_FROM = 10;

/** A read that stopped part way: the window it lists and where to go on. */
interface Pending {
  [key: string]: JsonValue;
  from: string;
  to: string;
  /** The start of the window being listed. */
  window: string;
  before_id: string | null;
  /** When the interrupted read began: the cursor it will commit. */
  started: string;
  threshold: string | null;
}

/**
 * The stream's state for the carrier API. `updated_at`: every tracker updated before it is
 * landed (the cursor). `pending`: a read stopped part way through its windows.
 */
export interface CarrierState {
  updated_at: string | null;
  pending?: Pending;
}

function carrierState(state: JsonValue | null): CarrierState {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return { updated_at: null };
  const s = state as Record<string, JsonValue>;
  const pending = s.pending && typeof s.pending === 'object' && !Array.isArray(s.pending) ? (s.pending as Pending) : undefined;
  return { updated_at: typeof s.updated_at === 'string' ? s.updated_at : null, ...(pending ? { pending } : {}) };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The created-at windows of [from, to], oldest first, each overlapping the next by a second (EasyPost's bounds are exclusive). */
export function listWindows(from: string, to: string): { start: string; end: string }[] {
  const end = Date.parse(to);
  const windows: { start: string; end: string }[] = [];
  for (let start = Date.parse(from); start < end; start += WINDOW_DAYS * DAY) {
    windows.push({ start: iso(start - 1000), end: iso(Math.min(start + WINDOW_DAYS * DAY, end) + 1000) });
  }
  return windows;
}

/**
 * Reads EasyPost trackers incrementally on `updated_at`. EasyPost lists trackers by creation
 * time only (`start_datetime`/`end_datetime`, newest first, `before_id` paging), so a read lists
 * the trackers created from `lookbackDays` before the cursor up to now, and lands those updated
 * at or after the cursor (a first run lands all, from `startDate`). The cursor committed at the
 * end is the read's start minus a margin. Every page commits where the listing stands, so a read
 * that fails goes on from the last committed page the next time. A backfill lists its dates'
 * trackers and leaves the cursor alone.
 */
export async function* readEasyPost(ctx: ReadContext<ShipmentsConfig>): AsyncGenerator<Page> {
  const client = makeClient(ctx);
  const lookbackDays = ctx.config.lookbackDays ?? DEFAULT_CARRIER_LOOKBACK_DAYS;
  const now = ctx.now.getTime();
  let from: string;
  let to: string;
  let started: string;
  let threshold: string | null;
  let resume: { window: string; beforeId: string | null } | undefined;
  const backfill = ctx.window !== null;
  if (ctx.window) {
    from = `${ctx.window.from}T00:00:00.000Z`;
    to = iso(Math.min(now, Date.parse(`${ctx.window.to}T00:00:00Z`) + DAY));
    started = iso(now);
    threshold = null;
  } else {
    const state = carrierState(ctx.state);
    if (state.pending) {
      ({ from, to, started, threshold } = state.pending);
      resume = { window: state.pending.window, beforeId: state.pending.before_id };
      ctx.log.info({ from, to, window: resume.window, before_id: resume.beforeId }, 'going on with an interrupted tracker listing');
    } else {
      threshold = state.updated_at;
      from = threshold ? iso(Date.parse(threshold) - lookbackDays * DAY) : `${ctx.startDate}T00:00:00.000Z`;
      to = iso(now);
      started = iso(now);
    }
  }
  const cursor = iso(Math.max(Date.parse(started) - CURSOR_MARGIN_MS, threshold ? Date.parse(threshold) : -Infinity));
  const windows = listWindows(from, to);
  let first = 0;
  if (resume) {
    const at = windows.findIndex((w) => w.start === resume!.window);
    if (at >= 0) first = at;
    else resume = undefined; // the windows no longer line up: list the whole range again
  }
  const shipments = new ShipmentLookup(client);
  if (!windows.length) {
    if (!backfill) yield { records: [], state: { updated_at: cursor } };
    return;
  }
  for (let w = first; w < windows.length; w++) {
    const window = windows[w]!;
    let beforeId = resume && w === first ? resume.beforeId : null;
    for (;;) {
      const page = await client.listTrackers({ start: window.start, end: window.end, beforeId });
      const fresh = threshold === null ? page.items : page.items.filter((t) => (isoTimestamp(t.updated_at) ?? '') >= threshold!);
      await shipments.prepare(fresh);
      const records = fresh.map((t) => trackerToShipment(t, t.shipment_id ? shipments.get(t.shipment_id) : undefined));
      const lastId = page.items.at(-1)?.id ?? null;
      const more = page.hasMore && lastId !== null;
      let state: JsonValue | undefined;
      if (!backfill) {
        const pending = (window: string, before_id: string | null): JsonValue => ({
          updated_at: threshold,
          pending: { from, to, window, before_id, started, threshold },
        });
        state = more ? pending(window.start, lastId) : w + 1 < windows.length ? pending(windows[w + 1]!.start, null) : { updated_at: cursor };
      }
      yield { records, state };
      if (!more) break;
      beforeId = lastId;
    }
  }
}

/** The EasyPost client of the config's `carrierApi`, with its retry policy and rate bound. */
export function makeClient(ctx: ReadContext<ShipmentsConfig>): EasyPostClient {
  const api = ctx.config.carrierApi!;
  const apiKey = ctx.secret(api.apiKeyEnv);
  if (apiKey.startsWith('EZTK')) ctx.warnOnce('shipments: the EasyPost key is a test key (EZTK…); it sees test trackers only');
  const http: HttpContext = {
    source: 'shipments',
    stream: 'shipments',
    log: ctx.log,
    signal: ctx.signal,
    retry: { attempts: api.maxAttempts, timeoutMs: api.timeoutSeconds * 1000, maxRetryAfterMs: maxRetryAfterMs(ctx.global) },
    limiter: new RateLimiter(api.maxRequestsPerSecond),
  };
  return easyPostClient({ apiKey, baseUrl: api.baseUrl, http });
}

/**
 * The shipments behind a page's trackers (order reference, label cost). A tracker is created
 * when its label is bought, minutes after its shipment, so when a page needs many shipments
 * they are listed over the trackers' creation span (100 a request); the rest are fetched by id.
 */
class ShipmentLookup {
  private readonly known = new Map<string, EasyPostShipmentSummary | undefined>();
  constructor(private readonly client: EasyPostClient) {}

  get(id: string): EasyPostShipmentSummary | undefined {
    return this.known.get(id);
  }

  /** Looks up the shipments of one page's trackers (forgetting the last page's: each shipment has one tracker). */
  async prepare(trackers: EasyPostTracker[]): Promise<void> {
    this.known.clear();
    const wanted = trackers.filter((t) => t.shipment_id);
    if (!wanted.length) return;
    const ids = new Set(wanted.map((t) => t.shipment_id!));
    if (ids.size >= LIST_SHIPMENTS_FROM) {
      const created = wanted.map((t) => Date.parse(t.created_at)).filter(Number.isFinite);
      const start = iso(Math.min(...created) - CURSOR_MARGIN_MS);
      const end = iso(Math.max(...created) + 1000);
      let beforeId: string | null = null;
      for (;;) {
        const page = await this.client.listShipments({ start, end, beforeId });
        for (const s of page.items) if (ids.has(s.id)) this.known.set(s.id, s);
        const lastId = page.items.at(-1)?.id ?? null;
        if (!page.hasMore || lastId === null) break;
        beforeId = lastId;
      }
    }
    for (const id of ids) if (!this.known.has(id)) this.known.set(id, await this.client.getShipment(id));
  }
}
