import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShopifyConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { isoTimestamp } from '../catalog.ts';
import { httpDownload, maxRetryAfterMs } from '../http.ts';
import { addDays } from '../../lib/dates.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import { readBulkObjects, type BulkObject } from './bulk-file.ts';
import { startBulkOperation, waitForBulkOperation, type BulkOperationStatus } from './bulk-operation.ts';
import { QueryCostError, shopifyClient, type ShopifyGraphql } from './graphql-client.ts';
import { completeLineItems, withRefundTransactions, type OrderWithoutTransactions, type PagedOrderNode } from './order-details.ts';
import { bulkCustomersQuery, bulkOrdersQuery, CUSTOMERS_PAGE, CUSTOMERS_PAGE_SIZE, ORDERS_PAGE, ORDERS_PAGE_SIZE } from './queries.ts';
import { reshapeCustomer, reshapeOrder, type GqlCustomer, type GqlLineItem } from './reshape.ts';

export type ShopifyStreamName = 'orders' | 'customers';

const DAY_MS = 86_400_000;

/** Objects of a bulk export landed per page (each page commits with how far the export was read). */
export const BULK_PAGE_SIZE = 250;

/** A bulk operation a read started: the range it exports and how many of its objects are landed. */
export interface BulkState {
  [key: string]: JsonValue;
  id: string;
  from: string;
  to: string;
  done: number;
}

/**
 * The stream's cursor. `updated_at`: every record updated at or before it is landed. `bulk`: a
 * bulk operation in progress (started, being polled, or being landed), so an interrupted read
 * goes on with the same operation instead of starting another.
 */
export interface ShopifyState {
  updated_at: string | null;
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
  const b = s.bulk;
  if (b && typeof b === 'object' && !Array.isArray(b) && typeof b.id === 'string' && typeof b.from === 'string' && typeof b.to === 'string') {
    return { updated_at: updated, bulk: { id: b.id, from: b.from, to: b.to, done: typeof b.done === 'number' ? b.done : 0 } };
  }
  return { updated_at: updated };
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
 * reporting time zone), as a bulk operation, leaving the cursor alone. An incremental read asks
 * for records updated from the cursor minus the lookback (late edits, refunds) to now, or from
 * `startDate` on a first run; a range longer than `bulkThresholdDays` runs as a bulk operation.
 * A bulk operation left by an interrupted read is gone on with, for its own range.
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
    return { mode: 'bulk', range: { field: 'updated_at', from: state.bulk.from, to: state.bulk.to }, cursor: state.updated_at, backfill: false, resume: state.bulk };
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

export interface ShopifyReadOptions {
  /** Tests may hand in a client; by default one is made from the context. */
  client?: ShopifyGraphql;
}

/**
 * Reads `orders` or `customers` as the plan says, page by page. Paged reads ask for the
 * records sorted by `updated_at` (ascending), so each page's cursor is the newest `updated_at`
 * landed so far and the last page's is the end of the range. Bulk reads commit the operation's
 * id before waiting for it, then land its export in pages that each say how much of it is landed.
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
  else yield* readBulk(stream, client, plan, ctx);
}

async function* readPaged(stream: ShopifyStreamName, client: ShopifyGraphql, plan: ReadPlan, ctx: ReadContext<ShopifyConfig>): AsyncGenerator<Page> {
  const search = searchQuery(plan.range);
  let first = stream === 'orders' ? ORDERS_PAGE_SIZE : CUSTOMERS_PAGE_SIZE;
  let after: string | null = null;
  let reached = plan.cursor;
  for (;;) {
    let page: { records: Record<string, unknown>[]; hasNextPage: boolean; endCursor: string | null };
    try {
      page = stream === 'orders' ? await ordersPage(client, first, after, search) : await customersPage(client, first, after, search);
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
  const data = await client.query<{ customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: GqlCustomer[] } }>(
    'customers page',
    CUSTOMERS_PAGE,
    { first, after, query },
  );
  return { records: data.customers.nodes.map(reshapeCustomer), hasNextPage: data.customers.pageInfo.hasNextPage, endCursor: data.customers.pageInfo.endCursor };
}

function withoutParent(line: Record<string, unknown>): Record<string, unknown> {
  const { __parentId: _parent, ...rest } = line;
  return rest;
}

async function bulkRecords(stream: ShopifyStreamName, client: ShopifyGraphql, batch: BulkObject[]): Promise<Record<string, unknown>[]> {
  if (stream === 'customers') return batch.map(({ node }) => reshapeCustomer(node as unknown as GqlCustomer));
  const orders = batch.map(
    ({ node, children }) => ({ ...node, lineItems: children.map(withoutParent) as unknown as GqlLineItem[] }) as unknown as OrderWithoutTransactions,
  );
  return (await withRefundTransactions(client, orders)).map(reshapeOrder);
}

async function* readBulk(stream: ShopifyStreamName, client: ShopifyGraphql, plan: ReadPlan, ctx: ReadContext<ShopifyConfig>): AsyncGenerator<Page> {
  const where = { source: 'shopify', stream };
  const query = stream === 'orders' ? bulkOrdersQuery(searchQuery(plan.range)) : bulkCustomersQuery(searchQuery(plan.range));
  const stateOf = (bulk: BulkState): JsonValue | undefined => (plan.backfill ? undefined : { updated_at: plan.cursor, bulk });
  const wait = (id: string) =>
    waitForBulkOperation(client, id, { timeoutMs: ctx.config.bulkTimeoutMinutes * 60_000, log: ctx.log, signal: ctx.signal });
  let op = plan.resume;
  let status: BulkOperationStatus | undefined;
  if (op) {
    ctx.log.info({ operation: op.id, done: op.done }, 'going on with the bulk operation of an interrupted read');
    status = await wait(op.id);
    if (status.status !== 'COMPLETED') {
      ctx.log.warn({ operation: op.id, status: status.status, errorCode: status.errorCode }, 'the interrupted bulk operation did not complete; starting it again');
      op = undefined;
    }
  }
  if (!op) {
    op = { id: await startBulkOperation(client, query), from: plan.range.from, to: plan.range.to, done: 0 };
    // Committed before waiting: a read interrupted from here on resumes this operation.
    if (!plan.backfill) yield { records: [], state: stateOf(op) };
    status = await wait(op.id);
    if (status.status !== 'COMPLETED') {
      throw new ExtractError(
        `bulk operation ${op.id} ended ${status.status}${status.errorCode ? ` (${status.errorCode})` : ''}; the next run starts it again`,
        { ...where, request: 'GraphQL bulk operation status' },
      );
    }
  }
  const url = status?.url;
  ctx.log.info({ operation: op.id, objects: status?.objectCount, resumeAfter: op.done }, 'bulk operation completed');
  if (url) {
    const dir = await mkdtemp(join(tmpdir(), 'verite-shopify-'));
    try {
      const file = join(dir, `${stream}.jsonl`);
      const { bytes } = await httpDownload(client.http, { url, describe: `GET bulk export of ${stream}` }, file);
      ctx.log.info({ operation: op.id, bytes }, 'bulk export downloaded');
      let index = 0;
      let batch: BulkObject[] = [];
      for await (const object of readBulkObjects(file, where)) {
        index++;
        if (index <= op.done) continue; // landed by the interrupted read
        batch.push(object);
        if (batch.length >= BULK_PAGE_SIZE) {
          yield { records: await bulkRecords(stream, client, batch), state: stateOf({ ...op, done: index }) };
          batch = [];
        }
      }
      if (batch.length) yield { records: await bulkRecords(stream, client, batch), state: stateOf({ ...op, done: index }) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  // Every record of the range is landed: the cursor moves to the range's end.
  if (!plan.backfill) yield { records: [], state: { updated_at: later(plan.cursor, op.to) } };
}
