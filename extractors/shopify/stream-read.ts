import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShopifyConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { isoTimestamp } from '../../catalog/catalog.ts';
import { diskFullCode, freeSpace } from '../../lib/disk-space.ts';
import { byteSize, DiskFullError, httpDownload, maxRetryAfterMs } from '../../lib/http.ts';
import { addDays } from '../../lib/dates.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import { readBulkObjects, type BulkObject } from './bulk-file.ts';
import { BulkTimeoutError, cancelBulkOperation, startBulkOperation, waitForBulkOperation, type BulkOperationStatus } from './bulk-operation.ts';
import { completeAddresses, type PagedCustomerNode } from './customer-details.ts';
import { downloadSlack, exportRoom, unsignedInt } from './export-room.ts';
import { QueryCostError, shopifyClient, type ShopifyGraphql } from './graphql-client.ts';
import { completeLineItems, withRefundTransactions, type OrderWithoutTransactions, type PagedOrderNode } from './order-details.ts';
import { completeVariants, type PagedProductNode } from './product-details.ts';
import {
  bulkCustomersQuery,
  bulkOrdersQuery,
  bulkProductsQuery,
  CUSTOMERS_PAGE,
  CUSTOMERS_PAGE_SIZE,
  ORDERS_PAGE,
  ORDERS_PAGE_SIZE,
  PRODUCTS_PAGE,
  PRODUCTS_PAGE_SIZE,
} from './queries.ts';
import { reshapeCustomer, reshapeOrder, reshapeProduct, type GqlCustomer, type GqlLineItem, type GqlMailingAddress, type GqlProduct, type GqlVariant } from './reshape.ts';

export type ShopifyStreamName = 'orders' | 'customers' | 'products';

/** Records per page of a paged read, each stream's within the single-query cost limit. */
const PAGE_SIZE: Record<ShopifyStreamName, number> = { orders: ORDERS_PAGE_SIZE, customers: CUSTOMERS_PAGE_SIZE, products: PRODUCTS_PAGE_SIZE };

/** The bulk query of each stream over a search. */
const BULK_QUERY: Record<ShopifyStreamName, (search: string) => string> = { orders: bulkOrdersQuery, customers: bulkCustomersQuery, products: bulkProductsQuery };

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Objects of a bulk export landed per page (each page commits with how far the export was read). */
export const BULK_PAGE_SIZE = 250;

/**
 * A bulk operation a read started: the window it exports and how many of its objects are
 * landed, counted in the order `readBulkObjects` gives them.
 */
export interface BulkState {
  [key: string]: JsonValue;
  id: string;
  from: string;
  to: string;
  landed: number;
}

/**
 * The stream's cursor. `updated_at`: every record updated at or before it is landed. `bulk`: a
 * bulk operation in progress (started, being polled, or being landed), so an interrupted read
 * goes on with the same operation instead of starting another. `bulk_window_hours`: the
 * length of bulk window the last bulk read ended with, when a failure made it shorter than
 * `bulkWindowDays` (the next bulk read starts from it instead of failing its way down again).
 */
export interface ShopifyState {
  updated_at: string | null;
  bulk_window_hours?: number;
  bulk?: BulkState;
}

/** Which records a read asks for: `field` between `from` and `to`, both included. */
export interface ReadRange {
  field: 'updated_at' | 'created_at';
  from: string;
  to: string;
}

export interface ReadPlan {
  mode: 'paged' | 'bulk';
  range: ReadRange;
  /** The committed cursor (null on a first run and in a backfill). */
  cursor: string | null;
  /** A backfill reads its dates and never moves the cursor. */
  backfill: boolean;
  /** The bulk operation of an interrupted read, to go on with. */
  resume?: BulkState;
}

export function parseState(state: JsonValue | null): ShopifyState {
  if (!state || typeof state !== 'object' || Array.isArray(state)) return { updated_at: null };
  const s = state as Record<string, JsonValue>;
  const updated = typeof s.updated_at === 'string' ? (isoTimestamp(s.updated_at) ?? null) : null;
  const out: ShopifyState = { updated_at: updated };
  if (typeof s.bulk_window_hours === 'number' && s.bulk_window_hours > 0) out.bulk_window_hours = s.bulk_window_hours;
  const b = s.bulk;
  if (b && typeof b === 'object' && !Array.isArray(b) && typeof b.id === 'string' && typeof b.from === 'string' && typeof b.to === 'string') {
    // An older state's `done` counted the objects in another order (the file read backwards):
    // it cannot say which objects are landed, so that export is landed again from its start.
    out.bulk = { id: b.id, from: b.from, to: b.to, landed: typeof b.landed === 'number' ? b.landed : 0 };
  }
  return out;
}

/** Shopify's search syntax for a range of a timestamp field. */
export function searchQuery(range: ReadRange): string {
  return `${range.field}:>='${range.from}' AND ${range.field}:<='${range.to}'`;
}

const isoSeconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** The later of two timestamps (either may be missing), as ISO text. */
function later(a: string | null, b: string | null | undefined): string | null {
  const ta = a ? Date.parse(a) : NaN;
  const tb = b ? Date.parse(b) : NaN;
  if (Number.isNaN(tb)) return a;
  if (Number.isNaN(ta) || tb > ta) return new Date(tb).toISOString();
  return a;
}

function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(at / 1000) * 1000;
}

/** Midnight starting `date` in `timeZone`, as epoch ms (a date of the reporting zone, as orders are dated). */
function zonedMidnight(date: string, timeZone: string): number {
  const guess = Date.parse(`${date}T00:00:00Z`);
  const first = guess - zoneOffsetMs(guess, timeZone);
  return guess - zoneOffsetMs(first, timeZone);
}

/**
 * Decides what a read asks for. A backfill reads the records *created* on its dates (in the
 * reporting time zone), in bulk, leaving the cursor alone. An incremental read asks for records
 * updated from the cursor minus the lookback (late edits, refunds) to now, or from `startDate`
 * on a first run; a range longer than `bulkThresholdDays` is read in bulk. A bulk operation
 * left by an interrupted read is gone on with, then the windows after it, to now.
 */
export function planRead(ctx: ReadContext<ShopifyConfig>): ReadPlan {
  const now = ctx.now.getTime();
  if (ctx.window) {
    const from = zonedMidnight(ctx.window.from, ctx.global.reportingTimezone);
    const to = Math.min(zonedMidnight(addDays(ctx.window.to, 1), ctx.global.reportingTimezone) - 1000, now);
    return { mode: 'bulk', range: { field: 'created_at', from: isoSeconds(from), to: isoSeconds(to) }, cursor: null, backfill: true };
  }
  const state = parseState(ctx.state);
  if (state.bulk) {
    return { mode: 'bulk', range: { field: 'updated_at', from: state.bulk.from, to: isoSeconds(Math.max(now, Date.parse(state.bulk.to))) }, cursor: state.updated_at, backfill: false, resume: state.bulk };
  }
  const from = state.updated_at ? Date.parse(state.updated_at) - ctx.lookbackDays * DAY_MS : Date.parse(`${ctx.startDate}T00:00:00Z`);
  const days = (now - from) / DAY_MS;
  return {
    mode: days > ctx.config.bulkThresholdDays ? 'bulk' : 'paged',
    range: { field: 'updated_at', from: isoSeconds(from), to: isoSeconds(now) },
    cursor: state.updated_at,
    backfill: false,
  };
}

/** The bytes free on the disk holding a folder, undefined when it cannot be told. */
type FreeSpaceOf = (folder: string) => Promise<number | undefined>;

export interface ShopifyReadOptions {
  /** Tests may hand in a client; by default one is made from the context. */
  client?: ShopifyGraphql;
  /**
   * How the free space of the temporary folder a bulk export goes to is read (default:
   * `statfs`). Tests say how much is free without filling a disk.
   */
  freeSpace?: FreeSpaceOf;
}

/**
 * Reads `orders`, `customers` or `products` as the plan says, page by page. Paged reads ask for the
 * records sorted by `updated_at` (ascending), so each page's cursor is the newest `updated_at`
 * landed so far and the last page's is the end of the range. Bulk reads go window by window
 * (see `readBulk`): each commits its operation's id before waiting for it, lands its export in
 * pages that each say how much of it is landed, then moves the cursor to the window's end.
 */
export async function* readShopifyStream(stream: ShopifyStreamName, ctx: ReadContext<ShopifyConfig>, options: ShopifyReadOptions = {}): AsyncGenerator<Page> {
  const plan = planRead(ctx);
  if (Date.parse(plan.range.from) > Date.parse(plan.range.to)) {
    ctx.log.info({ from: plan.range.from, to: plan.range.to }, 'nothing to read: the range has not begun yet');
    return;
  }
  const client =
    options.client ??
    shopifyClient({ config: ctx.config, stream, now: ctx.now, log: ctx.log, signal: ctx.signal, secret: ctx.secret, warnOnce: ctx.warnOnce, maxRetryAfterMs: maxRetryAfterMs(ctx.global) });
  ctx.log.info({ mode: plan.mode, ...plan.range, resume: plan.resume?.id }, `reading ${stream}`);
  if (plan.mode === 'paged') yield* readPaged(stream, client, plan, ctx);
  else yield* readBulk(stream, client, plan, ctx, options.freeSpace ?? freeSpace);
}

async function* readPaged(stream: ShopifyStreamName, client: ShopifyGraphql, plan: ReadPlan, ctx: ReadContext<ShopifyConfig>): AsyncGenerator<Page> {
  const search = searchQuery(plan.range);
  let first = PAGE_SIZE[stream];
  let after: string | null = null;
  let reached = plan.cursor;
  for (;;) {
    let page: { records: Record<string, unknown>[]; hasNextPage: boolean; endCursor: string | null };
    try {
      page =
        stream === 'orders'
          ? await ordersPage(client, first, after, search)
          : stream === 'customers'
            ? await customersPage(client, first, after, search)
            : await productsPage(client, first, after, search);
    } catch (error) {
      // Large line items or refunds can push a page over the single-query cost limit: ask for fewer.
      if (error instanceof QueryCostError && first > 1) {
        first = Math.ceil(first / 2);
        ctx.log.warn({ first }, `the ${stream} query cost too much; asking for fewer per page`);
        continue;
      }
      throw error;
    }
    for (const record of page.records) reached = later(reached, record.updated_at as string | undefined);
    const more = page.hasNextPage && page.endCursor !== null;
    yield { records: page.records, state: plan.backfill ? undefined : { updated_at: more ? reached : later(reached, plan.range.to) } };
    if (!more) return;
    after = page.endCursor;
  }
}

async function ordersPage(client: ShopifyGraphql, first: number, after: string | null, query: string) {
  const data = await client.query<{ orders: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: PagedOrderNode[] } }>(
    'orders page',
    ORDERS_PAGE,
    { first, after, query },
  );
  const complete = await completeLineItems(client, data.orders.nodes);
  const orders = await withRefundTransactions(client, complete);
  return { records: orders.map(reshapeOrder), hasNextPage: data.orders.pageInfo.hasNextPage, endCursor: data.orders.pageInfo.endCursor };
}

async function customersPage(client: ShopifyGraphql, first: number, after: string | null, query: string) {
  const data = await client.query<{ customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: PagedCustomerNode[] } }>(
    'customers page',
    CUSTOMERS_PAGE,
    { first, after, query },
  );
  const customers = await completeAddresses(client, data.customers.nodes);
  return { records: customers.map(reshapeCustomer), hasNextPage: data.customers.pageInfo.hasNextPage, endCursor: data.customers.pageInfo.endCursor };
}

async function productsPage(client: ShopifyGraphql, first: number, after: string | null, query: string) {
  const data = await client.query<{ products: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: PagedProductNode[] } }>(
    'products page',
    PRODUCTS_PAGE,
    { first, after, query },
  );
  const products = await completeVariants(client, data.products.nodes);
  return { records: products.map(reshapeProduct), hasNextPage: data.products.pageInfo.hasNextPage, endCursor: data.products.pageInfo.endCursor };
}

function withoutParent(line: Record<string, unknown>): Record<string, unknown> {
  const { __parentId: _parent, ...rest } = line;
  return rest;
}

async function bulkRecords(stream: ShopifyStreamName, client: ShopifyGraphql, batch: BulkObject[]): Promise<Record<string, unknown>[]> {
  if (stream === 'customers') {
    return batch.map(({ node, children }) => reshapeCustomer({ ...node, addresses: children.map(withoutParent) as unknown as GqlMailingAddress[] } as unknown as GqlCustomer));
  }
  if (stream === 'products') {
    return batch.map(({ node, children }) => reshapeProduct({ ...node, variants: children.map(withoutParent) as unknown as GqlVariant[] } as unknown as GqlProduct));
  }
  const orders = batch.map(
    ({ node, children }) => ({ ...node, lineItems: children.map(withoutParent) as unknown as GqlLineItem[] }) as unknown as OrderWithoutTransactions,
  );
  return (await withRefundTransactions(client, orders)).map(reshapeOrder);
}

/** A window of a bulk read: `field` from `from` to `to`, both included, whole seconds. */
interface Window {
  from: string;
  to: string;
}

/** How a window's operation ended when it did not complete. */
interface WindowFailure {
  operation: string;
  what: string;
}

/**
 * Reads a bulk range in windows, oldest first, one bulk operation each. Each window lands its
 * export and then commits the cursor at its end, so a read that stops part way keeps the
 * windows it finished. A window whose operation fails (`FAILED`, often with a
 * `partialDataUrl`: part of the export, which cannot say what it misses, so it is not landed)
 * or runs past `bulkTimeoutMinutes` (it is cancelled) is read again in a window half as long,
 * down to `bulkMinWindowHours`; failing at that length fails the stream, the finished windows
 * staying landed. After a window that completes, the length doubles back towards
 * `bulkWindowDays`. A backfill reads its dates the same way, without a cursor.
 */
async function* readBulk(stream: ShopifyStreamName, client: ShopifyGraphql, plan: ReadPlan, ctx: ReadContext<ShopifyConfig>, freeSpaceOf: FreeSpaceOf): AsyncGenerator<Page> {
  const maxHours = ctx.config.bulkWindowDays * 24;
  const minHours = Math.min(ctx.config.bulkMinWindowHours, maxHours);
  let hours = Math.min(maxHours, Math.max(minHours, parseState(ctx.state).bulk_window_hours ?? maxHours));
  let cursor = plan.cursor;
  const end = Date.parse(plan.range.to);
  /** The cursor state with the window length when it is shorter than configured. */
  const stateOf = (bulk?: BulkState): JsonValue | undefined => {
    if (plan.backfill) return undefined;
    const state: Record<string, JsonValue> = { updated_at: cursor };
    if (hours < maxHours) state.bulk_window_hours = hours;
    if (bulk) state.bulk = bulk;
    return state;
  };
  let resume = plan.resume;
  let from = Date.parse(plan.range.from);
  while (from <= end) {
    const window: Window = resume
      ? { from: resume.from, to: resume.to }
      : { from: isoSeconds(from), to: isoSeconds(Math.min(end, from + hours * HOUR_MS - 1000)) };
    const failure = yield* readWindow(stream, client, plan, ctx, window, resume, stateOf, freeSpaceOf);
    const resumed = resume !== undefined;
    resume = undefined;
    const length = (Date.parse(window.to) - Date.parse(window.from) + 1000) / HOUR_MS;
    if (failure) {
      // The operation an earlier run left did not complete: its window is read again anew
      // (already as short as that run made it), so a stale failure never fails this run.
      if (resumed) {
        ctx.log.warn({ operation: failure.operation, ...window }, `the bulk operation of an interrupted read ${failure.what}; reading its window again`);
        from = Date.parse(window.from);
        continue;
      }
      if (length <= minHours) {
        throw new ExtractError(
          `bulk operation ${failure.operation} ${failure.what}, on a window of ${formatHours(length)} (bulkMinWindowHours is ${minHours}): ` +
            (plan.backfill ? 'the windows before it are landed' : `the windows before it are landed (cursor ${cursor ?? 'not set'}); the next run goes on from there`),
          { source: 'shopify', stream, window, request: 'GraphQL bulk operation' },
        );
      }
      // Halved (more than once when the window was cut short by the range's end), so lengths
      // stay the configured one over a power of two.
      do hours /= 2;
      while (hours >= length);
      hours = Math.max(minHours, hours);
      ctx.log.warn({ operation: failure.operation, ...window, nextWindowHours: hours }, `bulk operation ${failure.what}; reading its window again in shorter windows`);
      from = Date.parse(window.from);
      continue;
    }
    // Every record of the window is landed: the cursor moves to its end.
    cursor = later(cursor, window.to);
    hours = Math.min(maxHours, hours * 2);
    if (!plan.backfill) yield { records: [], state: stateOf() };
    from = Date.parse(window.to) + 1000;
  }
}

const formatHours = (hours: number): string => (hours >= 48 ? `${Number((hours / 24).toFixed(2))} days` : `${Number(hours.toFixed(2))} hours`);

/**
 * One window: starts its bulk operation (or goes on with the interrupted read's), commits the
 * operation's id before waiting for it, then lands its export in pages that each say how much
 * of it is landed. Returns how it failed when the operation did not complete. The export is
 * downloaded only once the temporary folder's disk is known to hold it and its split copy
 * (export-room.ts), and no further than the size Shopify announced: a disk too small fails the
 * stream saying so, the operation kept in the cursor for the next run.
 */
async function* readWindow(
  stream: ShopifyStreamName,
  client: ShopifyGraphql,
  plan: ReadPlan,
  ctx: ReadContext<ShopifyConfig>,
  window: Window,
  resume: BulkState | undefined,
  stateOf: (bulk?: BulkState) => JsonValue | undefined,
  freeSpaceOf: FreeSpaceOf,
): AsyncGenerator<Page, WindowFailure | undefined> {
  const where = { source: 'shopify', stream };
  const search = searchQuery({ field: plan.range.field, ...window });
  const wait = async (id: string): Promise<BulkOperationStatus | WindowFailure> => {
    try {
      return await waitForBulkOperation(client, id, { timeoutMs: ctx.config.bulkTimeoutMinutes * 60_000, log: ctx.log, signal: ctx.signal });
    } catch (error) {
      if (!(error instanceof BulkTimeoutError)) throw error;
      await cancelBulkOperation(client, id, ctx.log);
      return { operation: id, what: `ran past bulkTimeoutMinutes (${ctx.config.bulkTimeoutMinutes}) and was cancelled` };
    }
  };
  let op: BulkState;
  let status: BulkOperationStatus;
  if (resume) {
    ctx.log.info({ operation: resume.id, landed: resume.landed }, 'going on with the bulk operation of an interrupted read');
    const polled = await wait(resume.id);
    if ('what' in polled) return polled;
    if (polled.status !== 'COMPLETED') return { operation: resume.id, what: ended(polled) };
    op = resume;
    status = polled;
  } else {
    const query = BULK_QUERY[stream](search);
    op = { id: await startBulkOperation(client, query), ...window, landed: 0 };
    ctx.log.info({ operation: op.id, ...window }, 'bulk operation started');
    // Committed before waiting: a read interrupted from here on resumes this operation.
    if (!plan.backfill) yield { records: [], state: stateOf(op) };
    const polled = await wait(op.id);
    if ('what' in polled) return polled;
    if (polled.status === 'FAILED' && polled.errorCode === 'ACCESS_DENIED') {
      throw new ExtractError(`bulk operation ${op.id} was refused (ACCESS_DENIED): the app lacks a scope the query needs`, { ...where, request: 'GraphQL bulk operation status' }, { permanent: true });
    }
    if (polled.status !== 'COMPLETED') {
      if (polled.partialDataUrl) ctx.log.warn({ operation: op.id }, 'the failed bulk operation left partial data; it is not landed (it cannot say which records it misses)');
      return { operation: op.id, what: ended(polled) };
    }
    status = polled;
  }
  ctx.log.info({ operation: op.id, objects: status.objectCount, resumeAfter: op.landed }, 'bulk operation completed');
  if (!status.url) return undefined; // nothing matched the window
  const folder = tmpdir();
  const size = unsignedInt(status.fileSize);
  const describe = `GET bulk export of ${stream}`;
  const noRoom = (what: string, cause?: unknown) =>
    new ExtractError(`${what}. ${afterNoRoom(plan, op.id)}`, { ...where, window, request: describe }, { cause, permanent: true });
  if (size === undefined) {
    ctx.log.info({ operation: op.id, fileSize: status.fileSize ?? null }, 'Shopify gave no size for the bulk export (fileSize): it is downloaded without checking the free space first');
  } else {
    const lines = unsignedInt(status.objectCount) ?? 0;
    const { takes, leftFree } = exportRoom(size, lines);
    const free = await freeSpaceOf(folder);
    ctx.log.info({ operation: op.id, fileSize: size, folder, free: free ?? null, takes, leftFree }, 'room for the bulk export');
    if (free === undefined) ctx.log.warn({ operation: op.id, folder }, 'the free space of the temporary folder cannot be told: the bulk export is downloaded without checking it');
    else if (free < takes + leftFree) {
      throw noRoom(
        `not enough free space for the export of bulk operation ${op.id}: it is ${byteSize(size)} (fileSize ${size} bytes, ${lines} lines); ` +
          `reading it takes about ${byteSize(takes)} in ${folder} (the file and a copy of it split for reading), and verite leaves ${byteSize(leftFree)} free after it; ` +
          `the disk of ${folder} has ${byteSize(free)} free`,
      );
    }
  }
  const dir = await mkdtemp(join(folder, 'verite-shopify-'));
  try {
    const file = join(dir, `${stream}.jsonl`);
    let bytes: number;
    try {
      const slack = size === undefined ? 0 : downloadSlack(size);
      const maxBytes = size === undefined ? undefined : { bytes: size + slack, what: `the ${size} bytes Shopify announced for the export of bulk operation ${op.id} (fileSize), and ${byteSize(slack)} of slack` };
      ({ bytes } = await httpDownload(client.http, { url: status.url, describe, maxBytes }, file));
    } catch (error) {
      if (!(error instanceof DiskFullError)) throw error;
      throw noRoom(
        `the disk of ${folder} filled up while downloading the export of bulk operation ${op.id} (${size === undefined ? 'no size announced' : `${byteSize(size)} announced`}): ` +
          `${error.written} bytes of it were written when a write failed (${error.code}); they are removed`,
        error.cause,
      );
    }
    ctx.log.info({ operation: op.id, bytes }, 'bulk export downloaded');
    let index = 0;
    let batch: BulkObject[] = [];
    try {
      for await (const object of readBulkObjects(file, where)) {
        index++;
        if (index <= op.landed) continue; // landed by the interrupted read
        batch.push(object);
        if (batch.length >= BULK_PAGE_SIZE) {
          yield { records: await bulkRecords(stream, client, batch), state: stateOf({ ...op, landed: index }) };
          batch = [];
        }
      }
    } catch (error) {
      // The split of the export into part files writes as much again (see export-room.ts).
      const code = diskFullCode(error);
      if (!code) throw error;
      throw noRoom(`the disk of ${folder} filled up while splitting the export of bulk operation ${op.id} (${bytes} bytes, downloaded whole) into parts for reading (${code}); the files are removed`, error);
    }
    if (batch.length) yield { records: await bulkRecords(stream, client, batch), state: stateOf({ ...op, landed: index }) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return undefined;
}

/**
 * What to do when an export did not fit, and what happens to it. An incremental read committed
 * the operation's id in its cursor before waiting for it, so the next run polls that operation
 * (completed) and downloads its export again without starting another; a backfill keeps no
 * cursor, so running it again starts a new operation.
 */
function afterNoRoom(plan: ReadPlan, operation: string): string {
  const where = 'Set TMPDIR to a folder on a disk with room';
  return plan.backfill
    ? `${where}, then run the backfill again: it starts a new bulk operation for these dates`
    : `${where}, then run again: operation ${operation} stays completed on Shopify's side and its id is kept in the stream's cursor, ` +
        `so the next run downloads its export without starting a new operation (Shopify keeps an export seven days; after that the window is exported anew)`;
}

function ended(status: BulkOperationStatus): string {
  return `ended ${status.status}${status.errorCode ? ` (${status.errorCode})` : ''}`;
}
