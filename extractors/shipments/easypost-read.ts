import type { ShipmentsConfig } from '../../config/schema.ts';
import { isoTimestamp } from '../../catalog/catalog.ts';
import { maxRetryAfterMs, RateLimiter, type HttpContext } from '../../lib/http.ts';
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
 * Tracker statuses after which nothing verite reads of a tracker changes (EasyPost's tracker
 * status list: `unknown`, `pre_transit`, `in_transit`, `out_for_delivery`,
 * `available_for_pickup` are on the way; these end it). `return_to_sender` ends it for verite:
 * `returned_at` is its first scan, and a delivery after it is not a delivery to the customer.
 */
export const FINAL_TRACKER_STATUSES: ReadonlySet<string> = new Set(['delivered', 'return_to_sender', 'failure', 'cancelled', 'error']);

/**
 * How long after its creation a tracker not yet final is still re-read. A label bought and never
 * used stays `pre_transit` for ever; half a year covers slow international parcels and returns.
 */
export const OPEN_TRACKER_MAX_DAYS = 180;

/** Trackers re-read by id per landed page. */
const REREAD_PER_PAGE = 100;

/** A tracker to read again by id: not yet final, and created before the next listing reaches. */
export interface OpenTracker {
  [key: string]: JsonValue;
  id: string;
  created_at: string;
}

/**
 * The stream's state for the carrier API. `updated_at`: every tracker updated before it is
 * landed (the cursor). `pending`: a read stopped part way through its windows. `open`: the
 * trackers not yet in a final state that are older than the listing reaches, re-read by id on
 * every run until they are final (or {@link OPEN_TRACKER_MAX_DAYS} old).
 */
export interface CarrierState {
  updated_at: string | null;
  pending?: Pending;
  open?: OpenTracker[];
}

function carrierState(state: JsonValue | null): CarrierState {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return { updated_at: null };
  const s = state as Record<string, JsonValue>;
  const pending = s.pending && typeof s.pending === 'object' && !Array.isArray(s.pending) ? (s.pending as Pending) : undefined;
  const open = Array.isArray(s.open)
    ? s.open.filter((t): t is OpenTracker => !!t && typeof t === 'object' && !Array.isArray(t) && typeof t.id === 'string' && typeof t.created_at === 'string')
    : [];
  return { updated_at: typeof s.updated_at === 'string' ? s.updated_at : null, ...(pending ? { pending } : {}), ...(open.length ? { open } : {}) };
}

const isFinal = (t: EasyPostTracker): boolean => FINAL_TRACKER_STATUSES.has(String(t.status ?? ''));

/** The state's `open` key: left out when there is none, so a state without open trackers keeps its earlier shape. */
const withOpen = (open: Iterable<OpenTracker>): { open?: OpenTracker[] } => {
  const list = [...open];
  return list.length ? { open: list } : {};
};

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
 *
 * A tracker can change long after the listing stops reaching it (a slow international parcel, a
 * return label used weeks later). So a tracker the listing sees not yet in a final state, and
 * that the next run's listing will not reach, is kept in the state (`open`) and read again by id
 * (`GET /trackers/:id`) before every listing, landed when it changed since the cursor, until it
 * is final, deleted, or {@link OPEN_TRACKER_MAX_DAYS} old.
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
  let stored: CarrierState = { updated_at: null };
  const backfill = ctx.window !== null;
  if (ctx.window) {
    from = `${ctx.window.from}T00:00:00.000Z`;
    to = iso(Math.min(now, Date.parse(`${ctx.window.to}T00:00:00Z`) + DAY));
    started = iso(now);
    threshold = null;
  } else {
    stored = carrierState(ctx.state);
    if (stored.pending) {
      ({ from, to, started, threshold } = stored.pending);
      resume = { window: stored.pending.window, beforeId: stored.pending.before_id };
      ctx.log.info({ from, to, window: resume.window, before_id: resume.beforeId }, 'going on with an interrupted tracker listing');
    } else {
      threshold = stored.updated_at;
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
  const fresh = (trackers: EasyPostTracker[]) => (threshold === null ? trackers : trackers.filter((t) => (isoTimestamp(t.updated_at) ?? '') >= threshold!));
  const toRecords = async (trackers: EasyPostTracker[]) => {
    await shipments.prepare(trackers);
    return trackers.map((t) => trackerToShipment(t, t.shipment_id ? shipments.get(t.shipment_id) : undefined));
  };

  // Which open trackers this run reads again: those created before the listing starts. Those
  // created in windows an interrupted read already listed are carried as they are; the listing
  // sees the others again.
  const listFrom = Date.parse(windows[first]?.start ?? to);
  const nextFrom = Date.parse(cursor) - lookbackDays * DAY;
  const oldest = now - OPEN_TRACKER_MAX_DAYS * DAY;
  const open = backfill ? [] : (stored.open ?? []);
  const reread = open.filter((t) => Date.parse(t.created_at) < Date.parse(from));
  const carried = open.filter((t) => Date.parse(t.created_at) >= Date.parse(from) && Date.parse(t.created_at) < listFrom);
  const stillOpen = new Map<string, OpenTracker>();
  const keep = (t: EasyPostTracker) => {
    const created = Date.parse(t.created_at);
    if (!isFinal(t) && created < nextFrom && created >= oldest) stillOpen.set(t.id, { id: t.id, created_at: t.created_at });
    else stillOpen.delete(t.id);
  };
  const tooOld = reread.filter((t) => Date.parse(t.created_at) < oldest);
  if (tooOld.length) {
    ctx.log.info({ trackers: tooOld.length, days: OPEN_TRACKER_MAX_DAYS }, `trackers still not in a final state ${OPEN_TRACKER_MAX_DAYS} days after their creation are no longer read again`);
  }
  const toReread = reread.filter((t) => Date.parse(t.created_at) >= oldest);
  for (let i = 0; i < toReread.length; i += REREAD_PER_PAGE) {
    const seen: EasyPostTracker[] = [];
    for (const entry of toReread.slice(i, i + REREAD_PER_PAGE)) {
      const tracker = await client.getTracker(entry.id);
      if (!tracker) {
        ctx.log.info({ id: entry.id }, 'an open tracker no longer exists at EasyPost (deleted); no longer read again');
        continue;
      }
      seen.push(tracker);
      keep(tracker);
    }
    const left = [...stillOpen.values(), ...toReread.slice(i + REREAD_PER_PAGE), ...carried];
    const state: JsonValue = stored.pending ? { updated_at: threshold, pending: stored.pending, ...withOpen(left) } : { updated_at: threshold, ...withOpen(left) };
    yield { records: await toRecords(fresh(seen)), state };
  }
  for (const t of carried) stillOpen.set(t.id, t);

  if (!windows.length) {
    if (!backfill) yield { records: [], state: { updated_at: cursor, ...withOpen(stillOpen.values()) } };
    return;
  }
  for (let w = first; w < windows.length; w++) {
    const window = windows[w]!;
    let beforeId = resume && w === first ? resume.beforeId : null;
    for (;;) {
      const page = await client.listTrackers({ start: window.start, end: window.end, beforeId });
      if (!backfill) for (const t of page.items) keep(t);
      const records = await toRecords(fresh(page.items));
      const lastId = page.items.at(-1)?.id ?? null;
      const more = page.hasMore && lastId !== null;
      let state: JsonValue | undefined;
      if (!backfill) {
        const pending = (window: string, before_id: string | null): JsonValue => ({
          updated_at: threshold,
          pending: { from, to, window, before_id, started, threshold },
          ...withOpen(stillOpen.values()),
        });
        state = more
          ? pending(window.start, lastId)
          : w + 1 < windows.length
            ? pending(windows[w + 1]!.start, null)
            : { updated_at: cursor, ...withOpen(stillOpen.values()) };
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
  private readonly client: EasyPostClient;
  constructor(client: EasyPostClient) {
    this.client = client;
  }

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
