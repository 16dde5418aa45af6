import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kind, parse, type FieldNode, type SelectionSetNode } from 'graphql';

/** Money as the GraphQL Admin API writes it. */
export const money = (amount: string, currencyCode = 'EUR') => ({ amount, currencyCode });
export const bag = (amount: string, currencyCode = 'EUR') => ({ shopMoney: money(amount, currencyCode), presentmentMoney: money(amount, currencyCode) });

export interface FakeTransaction {
  id: string;
  kind: string;
  status: string;
  gateway: string;
  createdAt: string;
  processedAt: string;
  amountSet: ReturnType<typeof bag>;
}

export interface FakeRefund {
  id: string;
  createdAt: string;
  note: string | null;
  transactions: FakeTransaction[];
  /** Which units came back (`RefundLineItem`s); none when not given. */
  refundLineItems?: Record<string, unknown>[];
  /** The shipping paid back, with its tax (`RefundShippingLine`s); none when not given. */
  refundShippingLines?: Record<string, unknown>[];
}

/** An order as the fake keeps it: the GraphQL node, with its line items and refunds as arrays. */
export interface FakeOrder {
  id: string;
  createdAt: string;
  updatedAt: string;
  lineItems: Record<string, unknown>[];
  refunds: FakeRefund[];
  [field: string]: unknown;
}

/** A customer as the fake keeps it: the GraphQL node, with its address book as an array. */
export interface FakeCustomer {
  id: string;
  createdAt: string;
  updatedAt: string;
  addresses: Record<string, unknown>[];
  [field: string]: unknown;
}

/** A product as the fake keeps it: the GraphQL node, with its variants (each with its inventory item) as an array. */
export interface FakeProduct {
  id: string;
  createdAt: string;
  updatedAt: string;
  variants: Record<string, unknown>[];
  [field: string]: unknown;
}

/**
 * An inventory item as the fake keeps it: its variant, with the status of the variant's product
 * (used when `products` does not hold that variant; when it does, its product's status is
 * answered, as Shopify answers one product's status wherever it is read), and its levels (one
 * per location) as an array.
 */
export interface FakeInventoryItem {
  id: string;
  tracked: boolean;
  variants: { nodes: { id: string; product: { status: string } }[] };
  inventoryLevels: Record<string, unknown>[];
}

/** An event of the `events` query, as a `BasicEvent`: what happened (`action`) to which record. */
export interface FakeEvent {
  id: string;
  action: string;
  createdAt: string;
  message: string;
  subjectId: string;
  subjectType: string;
}

export interface SeenRequest {
  path: string;
  /** The GraphQL operation name (`VeriteOrders` …), `download` or `token`. */
  operation: string;
  variables: Record<string, unknown>;
  version: string | null;
  token: string | undefined;
  query: string;
}

export interface Cost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}

type Scripted =
  | { operation?: string; status: number; headers?: Record<string, string>; body?: string }
  | { operation?: string; graphqlError: string; cost?: Partial<Cost> };

interface BulkOperation {
  id: string;
  root: 'orders' | 'customers' | 'products';
  query: string;
  /** The search of the bulk query (`updated_at:>='…' AND updated_at:<='…'`). */
  search: string;
  groupObjects: boolean;
  polls: number;
  lines: string[];
  /** Top-level objects (orders or customers) the export holds. */
  roots: number;
  objects: number;
  outcome: 'COMPLETED' | 'FAILED' | 'STALLS';
  cancelled: boolean;
}

/**
 * A local server answering like Shopify's GraphQL Admin API for what the shopify source asks:
 * `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token` (401 otherwise);
 * `orders`/`customers` with Shopify's search syntax on `updated_at`/`created_at`, `sortKey:
 * UPDATED_AT` ascending and cursor paging; an order's `lineItems(first:)` connection and its
 * `refunds` list; a customer's `addressesV2` connection; `node(id:)` and `nodes(ids:)` for line
 * items, addresses, refunds (transactions, line items, shipping lines) and bulk operations; `bulkOperationRunQuery` whose
 * operation runs for a few polls, then completes with a JSONL export served by the same server:
 * children (line items, addresses) as lines of their own with `__parentId`, scattered as
 * Shopify may write them since 2026-01 when `groupObjects` is false (its default): some at the
 * top of the file, some just before their parent, some just after it, some at the very end; an
 * operation exporting too much fails (`FAILED`, `INTERNAL_SERVER_ERROR`, with a
 * `partialDataUrl`) or runs until `bulkOperationCancel` stops it; a completed operation's
 * `fileSize` is the size of its file in bytes; `events` searched by
 * `action`, `subject_type` (one, or several joined by OR) and `created_at`, sorted by
 * `CREATED_AT`, with cursor paging. Every answer carries
 * `extensions.cost`. A version older than the
 * oldest supported one is answered with that one (Shopify's fall-forward, named in
 * `X-Shopify-API-Version`); a version newer than the newest is a 404. Answers can be scripted
 * (429 with Retry-After, 500, THROTTLED, MAX_COST_EXCEEDED) and an operation can fail for good.
 * Like GraphQL, an answer holds only the fields the query selects.
 */
export interface FakeShopify {
  url: string;
  token: string;
  orders: FakeOrder[];
  customers: FakeCustomer[];
  products: FakeProduct[];
  /** The inventory items, in the order `inventoryItems` pages through them (by id). */
  inventoryItems: FakeInventoryItem[];
  /** The shop's events (the `events` query searches them by action, subject type and creation time). */
  events: FakeEvent[];
  requests: SeenRequest[];
  /** The supported versions, oldest and newest. */
  versions: { oldest: string; newest: string };
  /** Polls a bulk operation answers RUNNING before it completes. */
  bulkPolls: number;
  /** How the next bulk operations end. */
  bulkOutcome: 'COMPLETED' | 'FAILED';
  /** An operation exporting more top-level objects than this fails, with part of its export. */
  bulkMaxObjects: number;
  /** An operation exporting more top-level objects than this runs until it is cancelled. */
  bulkStallObjects: number;
  /** Writes exports as if `groupObjects` were this, whatever the query says (a grouped export to compare with). */
  bulkGrouping?: boolean;
  /**
   * The `fileSize` a completed operation announces, given the bytes of the file it serves: by
   * default those bytes, as Shopify gives them (an `UnsignedInt64`, a string of digits). A test
   * announces another size (a server sending more than it announced, an export too large for
   * the disk) or none (null).
   */
  bulkFileSize?: (served: { root: 'orders' | 'customers' | 'products'; bytes: number }) => string | null;
  bulkOperations: Map<string, BulkOperation>;
  /** The cost every answer reports, unless scripted. */
  cost: Cost;
  /** Costs for the next successful answers, in order. */
  nextCosts: Partial<Cost>[];
  /** Client credentials the token endpoint accepts (it then issues `token`). */
  clientCredentials?: { id: string; secret: string };
  /** The `Shop` object `shop` answers (`verite check`). */
  shop: { name: string; currencyCode: string; ianaTimezone: string };
  /** The handles `currentAppInstallation.accessScopes` lists: the scopes granted to the app. */
  accessScopes: string[];
  /** Told of every request as it arrives (to interrupt a run at a chosen point). */
  onRequest?: (request: SeenRequest) => void;
  script(...answers: Scripted[]): void;
  /** After `count` more answers to `operation`, it answers 500 until healed. */
  goDownAfter(operation: string, count: number): void;
  heal(): void;
  close(): Promise<void>;
}

/**
 * Keeps only the fields a selection set asks for, as a GraphQL server answers: field by field
 * down the selections (an alias names its field's answer; an inline fragment's fields are
 * merged in). A bulk export line's `__parentId` is kept.
 */
function project(value: unknown, set: SelectionSetNode | undefined): unknown {
  if (!set) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, set));
  if (!value || typeof value !== 'object') return value;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = '__parentId' in source ? { __parentId: source.__parentId } : {};
  const visit = (selections: SelectionSetNode) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (selection.kind === Kind.FIELD && selection.name.value in source) {
        const key = selection.alias?.value ?? selection.name.value;
        const projected = project(source[selection.name.value], selection.selectionSet);
        const earlier = out[key];
        // The same field selected twice (in and out of a fragment): both selections apply.
        out[key] = earlier && typeof earlier === 'object' && projected && typeof projected === 'object' && !Array.isArray(projected) ? { ...earlier, ...projected } : projected;
      }
    }
  };
  visit(set);
  return out;
}

/** The selection set of a document's operation. */
function operationSelection(query: string): SelectionSetNode {
  const definition = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (!definition || definition.kind !== Kind.OPERATION_DEFINITION) throw new Error(`no operation in ${query}`);
  return definition.selectionSet;
}

/** The selection of the nodes of connection `field` in `set` (`field { edges { node { … } } }`). */
function nodesSelection(set: SelectionSetNode | undefined, field: string): SelectionSetNode | undefined {
  const child = (s: SelectionSetNode | undefined, name: string) =>
    s?.selections.find((x): x is FieldNode => x.kind === Kind.FIELD && x.name.value === name)?.selectionSet;
  return child(child(child(set, field), 'edges'), 'node');
}

function parseSearch(search: string): { field: string; from: number; to: number } {
  const m = /^(updated_at|created_at):>='([^']+)' AND \1:<='([^']+)'$/.exec(search);
  if (!m) throw new Error(`unexpected search: ${search}`);
  return { field: m[1] === 'updated_at' ? 'updatedAt' : 'createdAt', from: Date.parse(m[2]!), to: Date.parse(m[3]!) };
}

function matching<T extends { id: string; updatedAt: string }>(items: T[], search: string): T[] {
  const { field, from, to } = parseSearch(search);
  return items
    .filter((i) => {
      const t = Date.parse(String((i as Record<string, unknown>)[field]));
      return t >= from && t <= to;
    })
    .sort((a, b) => Date.parse(a.updatedAt) - Date.parse(b.updatedAt) || a.id.localeCompare(b.id));
}

/** The events matching a search such as `action:destroy AND (subject_type:ORDER OR subject_type:CUSTOMER) AND created_at:>='…' AND created_at:<='…'`. */
function matchingEvents(events: FakeEvent[], search: string): FakeEvent[] {
  const action = /\baction:(\w+)/.exec(search)?.[1];
  const types = [...search.matchAll(/\bsubject_type:(\w+)/g)].map((m) => m[1]);
  const from = /created_at:>='([^']+)'/.exec(search)?.[1];
  const to = /created_at:<='([^']+)'/.exec(search)?.[1];
  if (!action || !types.length || !from || !to) throw new Error(`unexpected events search: ${search}`);
  return events
    .filter((e) => e.action === action && types.includes(e.subjectType) && Date.parse(e.createdAt) >= Date.parse(from) && Date.parse(e.createdAt) <= Date.parse(to))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id));
}

function sortCursor(item: { id: string; updatedAt: string }): string {
  return Buffer.from(JSON.stringify({ u: item.updatedAt, id: item.id })).toString('base64');
}

function afterCursor<T extends { id: string; updatedAt: string }>(sorted: T[], after: unknown): T[] {
  if (typeof after !== 'string') return sorted;
  const c = JSON.parse(Buffer.from(after, 'base64').toString()) as { u: string; id: string };
  return sorted.filter((i) => Date.parse(i.updatedAt) > Date.parse(c.u) || (Date.parse(i.updatedAt) === Date.parse(c.u) && i.id > c.id));
}

function page<T extends { id: string; updatedAt: string }>(sorted: T[], first: number, after: unknown) {
  const rest = afterCursor(sorted, after);
  const nodes = rest.slice(0, first);
  return { nodes, pageInfo: { hasNextPage: rest.length > nodes.length, endCursor: nodes.length ? sortCursor(nodes.at(-1)!) : null } };
}

/** An index-cursor connection over a nested list. */
function connection<T>(items: T[], first: number, after: unknown) {
  const start = typeof after === 'string' ? Number(after.split(':').at(-1)) + 1 : 0;
  const nodes = items.slice(start, start + first);
  const last = start + nodes.length - 1;
  return { pageInfo: { hasNextPage: start + nodes.length < items.length, endCursor: nodes.length ? `i:${last}` : null }, nodes };
}

function orderWithoutConnections(o: FakeOrder): Record<string, unknown> {
  const { lineItems: _items, refunds, ...rest } = o;
  return { ...rest, refunds: refunds.map(({ transactions: _t, ...r }) => r) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeShopify(token = 'shpat_test_token'): Promise<FakeShopify> {
  const scripted: Scripted[] = [];
  let down: { operation: string; left: number } | undefined;
  const broken = new Set<string>();
  let bulkCounter = 0;
  const fake: Omit<FakeShopify, 'url' | 'close'> = {
    token,
    orders: [],
    customers: [],
    products: [],
    inventoryItems: [],
    events: [],
    requests: [],
    versions: { oldest: '2026-01', newest: '2026-10' },
    bulkPolls: 2,
    bulkOutcome: 'COMPLETED',
    bulkMaxObjects: Infinity,
    bulkStallObjects: Infinity,
    bulkOperations: new Map(),
    cost: { requestedQueryCost: 100, actualQueryCost: 40, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1900, restoreRate: 100 } },
    nextCosts: [],
    shop: { name: 'Verite Test', currencyCode: 'EUR', ianaTimezone: 'Europe/Paris' },
    accessScopes: ['read_orders', 'read_all_orders', 'read_customers', 'read_products', 'read_inventory'],
    script: (...answers) => scripted.push(...answers),
    goDownAfter: (operation, count) => {
      down = { operation, left: count };
    },
    heal: () => {
      down = undefined;
      broken.clear();
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  /** A scripted answer or an outage for this request, if any. */
  function fault(operation: string, res: ServerResponse, version: string | null): boolean {
    if (broken.has(operation)) {
      send(res, 500, { errors: 'Internal Server Error' });
      return true;
    }
    if (down && down.operation === operation) {
      if (down.left <= 0) {
        broken.add(operation);
        send(res, 500, { errors: 'Internal Server Error' });
        return true;
      }
      down.left--;
    }
    const at = scripted.findIndex((s) => s.operation === undefined || s.operation === operation);
    if (at < 0) return false;
    const [answer] = scripted.splice(at, 1);
    if (!answer) return false;
    if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body ?? JSON.stringify({ errors: `HTTP ${answer.status}` }));
      return true;
    }
    const cost = { ...fake.cost, actualQueryCost: null, ...answer.cost };
    send(res, 200, { errors: [{ message: answer.graphqlError, extensions: { code: answer.graphqlError } }], extensions: { cost } }, version ? { 'x-shopify-api-version': version } : {});
    return true;
  }

  function bulkStatus(op: BulkOperation, base: string) {
    op.polls++;
    const file = `${base}/bulk/${op.id.split('/').at(-1)}`;
    const counts = { objectCount: String(op.objects), rootObjectCount: String(op.roots) };
    if (op.cancelled) return { id: op.id, status: op.polls > 1 ? 'CANCELED' : 'CANCELING', errorCode: null, ...counts, fileSize: null, url: null, partialDataUrl: null };
    if (op.polls <= fake.bulkPolls || op.outcome === 'STALLS') {
      return { id: op.id, status: op.polls === 1 ? 'CREATED' : 'RUNNING', errorCode: null, objectCount: String(Math.floor(op.objects / 2)), rootObjectCount: '0', fileSize: null, url: null, partialDataUrl: null };
    }
    if (op.outcome === 'FAILED') return { id: op.id, status: 'FAILED', errorCode: 'INTERNAL_SERVER_ERROR', ...counts, fileSize: null, url: null, partialDataUrl: op.lines.length ? `${file}-partial.jsonl` : null };
    if (!op.lines.length) return { id: op.id, status: 'COMPLETED', errorCode: null, ...counts, fileSize: null, url: null, partialDataUrl: null };
    // "File size in bytes of the file in the `url` field" (BulkOperation.fileSize, an UnsignedInt64).
    const bytes = Buffer.byteLength(exportText(op.lines));
    const fileSize = fake.bulkFileSize ? fake.bulkFileSize({ root: op.root, bytes }) : String(bytes);
    if (fileSize !== null && !/^\d+$/.test(fileSize)) throw new Error(`fileSize is an UnsignedInt64, a string of digits: ${fileSize}`);
    return { id: op.id, status: 'COMPLETED', errorCode: null, ...counts, fileSize, url: `${file}.jsonl`, partialDataUrl: null };
  }

  /**
   * The lines of an export. Grouped: each object followed by its children. Ungrouped: the
   * children scattered around the objects, at the top of the file, just before their parent,
   * just after it (before the next parent) or at the very end; a parent's children keep their
   * connection order (split in up to four runs, in that order), and a parent with one child has
   * it in each of the four places in turn.
   */
  function exportLines(objects: { line: string; children: string[] }[], grouped: boolean): string[] {
    if (grouped) return objects.flatMap((o) => [o.line, ...o.children]);
    const head: string[] = [];
    const body: string[] = [];
    const tail: string[] = [];
    objects.forEach((o, i) => {
      const before: string[] = [];
      const after: string[] = [];
      const n = o.children.length;
      o.children.forEach((child, j) => [head, before, after, tail][n === 1 ? i % 4 : Math.floor((j * 4) / n)]!.push(child));
      body.push(...before, o.line, ...after);
    });
    return [...head, ...body, ...tail];
  }

  /** The export of a bulk query: its objects, and their children as lines carrying `__parentId`. */
  function bulkLines(root: 'orders' | 'customers' | 'products', search: string, query: string, grouped: boolean): { lines: string[]; roots: number; objects: number } {
    const parentSet = nodesSelection(operationSelection(query), root);
    const childSet = nodesSelection(parentSet, root === 'customers' ? 'addressesV2' : root === 'products' ? 'variants' : 'lineItems');
    const child = (parent: string) => (c: Record<string, unknown>) => JSON.stringify(project({ ...c, __parentId: parent }, childSet));
    const objects =
      root === 'products'
        ? matching(fake.products, search).map((p) => {
            const { variants, ...rest } = p;
            return { line: JSON.stringify(project(rest, parentSet)), children: childSet ? variants.map(child(p.id)) : [] };
          })
        : root === 'customers'
        ? matching(fake.customers, search).map((c) => {
            const { addresses, ...rest } = c;
            return { line: JSON.stringify(project(rest, parentSet)), children: childSet ? addresses.map(child(c.id)) : [] };
          })
        : matching(fake.orders, search).map((o) => ({ line: JSON.stringify(project(orderWithoutConnections(o), parentSet)), children: childSet ? o.lineItems.map(child(o.id)) : [] }));
    const lines = exportLines(objects, grouped);
    return { lines, roots: objects.length, objects: lines.length };
  }

  function answer(operation: string, query: string, variables: Record<string, unknown>, base: string): unknown {
    switch (operation) {
      case 'VeriteOrders': {
        const liFirst = Number(/lineItems\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
        const p = page(matching(fake.orders, String(variables.query)), Number(variables.first), variables.after);
        return {
          orders: {
            pageInfo: p.pageInfo,
            nodes: p.nodes.map((o) => ({ ...orderWithoutConnections(o), lineItems: connection(o.lineItems, liFirst, null) })),
          },
        };
      }
      case 'VeriteOrderLineItems': {
        const o = fake.orders.find((x) => x.id === variables.id);
        return { node: o ? { id: o.id, lineItems: connection(o.lineItems, 100, variables.after) } : null };
      }
      case 'VeriteRefundTransactions': {
        const refunds = fake.orders.flatMap((o) => o.refunds);
        return {
          nodes: (variables.ids as string[]).map((id) => {
            const r = refunds.find((x) => x.id === id);
            const lineItemsFirst = Number(/refundLineItems\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
            const shippingLinesFirst = Number(/refundShippingLines\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
            return r
              ? {
                  id: r.id,
                  transactions: connection(r.transactions, 10, null),
                  refundLineItems: connection(r.refundLineItems ?? [], lineItemsFirst, null),
                  refundShippingLines: connection(r.refundShippingLines ?? [], shippingLinesFirst, null),
                }
              : null;
          }),
        };
      }
      case 'VeriteRefundMoreTransactions': {
        const r = fake.orders.flatMap((o) => o.refunds).find((x) => x.id === variables.id);
        return { node: r ? { id: r.id, transactions: connection(r.transactions, 50, variables.after) } : null };
      }
      case 'VeriteRefundMoreLineItems': {
        const r = fake.orders.flatMap((o) => o.refunds).find((x) => x.id === variables.id);
        return { node: r ? { id: r.id, refundLineItems: connection(r.refundLineItems ?? [], 100, variables.after) } : null };
      }
      case 'VeriteRefundMoreShippingLines': {
        const r = fake.orders.flatMap((o) => o.refunds).find((x) => x.id === variables.id);
        return { node: r ? { id: r.id, refundShippingLines: connection(r.refundShippingLines ?? [], 50, variables.after) } : null };
      }
      case 'VeriteProducts': {
        const variantsFirst = Number(/variants\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
        const p = page(matching(fake.products, String(variables.query)), Number(variables.first), variables.after);
        return { products: { pageInfo: p.pageInfo, nodes: p.nodes.map(({ variants, ...rest }) => ({ ...rest, variants: connection(variants, variantsFirst, null) })) } };
      }
      case 'VeriteProductVariants': {
        const p = fake.products.find((x) => x.id === variables.id);
        return { node: p ? { id: p.id, variants: connection(p.variants, 100, variables.after) } : null };
      }
      case 'VeriteInventoryItems': {
        const levelsFirst = Number(/inventoryLevels\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
        const c = connection(fake.inventoryItems, Number(variables.first), variables.after);
        // The variant's product as it is now: the products' own status when the fake holds that product.
        const status = (variant: { id: string; product: { status: string } }) =>
          fake.products.find((p) => p.variants.some((v) => v.id === variant.id))?.status ?? variant.product.status;
        return {
          inventoryItems: {
            pageInfo: c.pageInfo,
            nodes: c.nodes.map(({ inventoryLevels, variants, ...item }) => ({
              ...item,
              variants: { nodes: variants.nodes.map((v) => ({ id: v.id, product: { status: status(v) } })) },
              inventoryLevels: connection(inventoryLevels, levelsFirst, null),
            })),
          },
        };
      }
      case 'VeriteInventoryItemLevels': {
        const item = fake.inventoryItems.find((x) => x.id === variables.id);
        return { node: item ? { id: item.id, inventoryLevels: connection(item.inventoryLevels, 100, variables.after) } : null };
      }
      case 'VeriteCustomers': {
        const addressesFirst = Number(/addressesV2\(first: (\d+)\)/.exec(query)?.[1] ?? 250);
        const p = page(matching(fake.customers, String(variables.query)), Number(variables.first), variables.after);
        return { customers: { pageInfo: p.pageInfo, nodes: p.nodes.map(({ addresses, ...c }) => ({ ...c, addressesV2: connection(addresses, addressesFirst, null) })) } };
      }
      case 'VeriteCustomerAddresses': {
        const c = fake.customers.find((x) => x.id === variables.id);
        return { node: c ? { id: c.id, addressesV2: connection(c.addresses, 100, variables.after) } : null };
      }
      case 'VeriteDeletions': {
        // Paged like the other sorted connections, on the events' creation time.
        const sorted = matchingEvents(fake.events, String(variables.query)).map((e) => ({ ...e, updatedAt: e.createdAt }));
        const p = page(sorted, Number(variables.first), variables.after);
        return { events: { pageInfo: p.pageInfo, nodes: p.nodes.map(({ updatedAt: _u, ...e }) => e) } };
      }
      case 'VeriteBulkRun': {
        const bulkQuery = String(variables.query);
        const m = /^\{ (orders|customers|products)\(query: ("(?:[^"\\]|\\.)*"), sortKey: UPDATED_AT\)/.exec(bulkQuery);
        if (!m) return { bulkOperationRunQuery: { bulkOperation: null, userErrors: [{ code: 'INVALID', field: ['query'], message: 'Invalid bulk query' }] } };
        const root = m[1] as 'orders' | 'customers' | 'products';
        const search = JSON.parse(m[2]!) as string;
        // `groupObjects` defaults to false since 2026-01.
        const groupObjects = /groupObjects:\s*true/.test(query) || variables.groupObjects === true;
        const id = `gid://shopify/BulkOperation/${++bulkCounter}`;
        const { lines, roots, objects } = bulkLines(root, search, bulkQuery, fake.bulkGrouping ?? groupObjects);
        const outcome = roots > fake.bulkStallObjects ? 'STALLS' : roots > fake.bulkMaxObjects ? 'FAILED' : fake.bulkOutcome;
        fake.bulkOperations.set(id, { id, root, query: bulkQuery, search, groupObjects, polls: 0, lines, roots, objects, outcome, cancelled: false });
        return { bulkOperationRunQuery: { bulkOperation: { id, status: 'CREATED', createdAt: new Date().toISOString() }, userErrors: [] } };
      }
      case 'VeriteBulkCancel': {
        const op = fake.bulkOperations.get(String(variables.id));
        if (!op) return { bulkOperationCancel: { bulkOperation: null, userErrors: [{ field: ['id'], message: 'Bulk operation does not exist' }] } };
        const running = !op.cancelled && (op.polls <= fake.bulkPolls || op.outcome === 'STALLS');
        if (!running) return { bulkOperationCancel: { bulkOperation: { id: op.id, status: 'COMPLETED' }, userErrors: [{ field: null, message: 'A bulk operation cannot be canceled when it is completed' }] } };
        op.cancelled = true;
        op.polls = 0;
        return { bulkOperationCancel: { bulkOperation: { id: op.id, status: 'CANCELING' }, userErrors: [] } };
      }
      case 'VeriteBulkStatus': {
        const op = fake.bulkOperations.get(String(variables.id));
        return { node: op ? bulkStatus(op, base) : null };
      }
      // `verite check`: QueryRoot.shop and QueryRoot.currentAppInstallation, each AccessScope with its handle and description.
      case 'VeriteCheck':
        return {
          shop: { ...fake.shop },
          currentAppInstallation: { accessScopes: fake.accessScopes.map((handle) => ({ handle, description: `scope ${handle}` })) },
        };
      default:
        throw new Error(`the fake does not know the operation ${operation}`);
    }
  }

  const server = createServer(async (req, res) => {
    try {
      const base = `http://${req.headers.host}`;
      const url = new URL(req.url ?? '/', base);
      const body = await readBody(req);
      const tokenHeader = req.headers['x-shopify-access-token'] as string | undefined;
      if (url.pathname === '/admin/oauth/access_token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        fake.requests.push({ path: url.pathname, operation: 'token', variables: Object.fromEntries(form), version: null, token: undefined, query: '' });
        const creds = fake.clientCredentials;
        if (!creds || form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== creds.id || form.get('client_secret') !== creds.secret) {
          return send(res, 400, { error: 'invalid_client' });
        }
        return send(res, 200, { access_token: fake.token, scope: 'read_orders,read_all_orders,read_customers,read_products,read_inventory', expires_in: 86399 });
      }
      const bulkFile = /^\/bulk\/(\d+)(-partial)?\.jsonl$/.exec(url.pathname);
      if (bulkFile && req.method === 'GET') {
        fake.requests.push({ path: url.pathname, operation: 'download', variables: {}, version: null, token: tokenHeader, query: '' });
        if (fault('download', res, null)) return;
        const op = fake.bulkOperations.get(`gid://shopify/BulkOperation/${bulkFile[1]}`);
        if (!op) return send(res, 404, 'NoSuchKey');
        // A failed operation's partial data: the first half of what it would have written.
        const lines = bulkFile[2] ? op.lines.slice(0, Math.floor(op.lines.length / 2)) : op.lines;
        res.writeHead(200, { 'content-type': 'application/jsonl' }).end(exportText(lines));
        return;
      }
      const api = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(url.pathname);
      if (!api || req.method !== 'POST') return send(res, 404, { errors: 'Not Found' });
      const requested = api[1]!;
      const { query = '', variables = {} } = JSON.parse(body || '{}') as { query?: string; variables?: Record<string, unknown> };
      const operation = /^\s*(?:query|mutation)\s+(\w+)/.exec(query)?.[1] ?? 'anonymous';
      fake.requests.push({ path: url.pathname, operation, variables, version: requested, token: tokenHeader, query });
      fake.onRequest?.(fake.requests.at(-1)!);
      if (requested > fake.versions.newest) return send(res, 404, { errors: 'Not Found' });
      // Shopify answers a version it no longer serves with the oldest one it supports.
      const served = requested < fake.versions.oldest ? fake.versions.oldest : requested;
      if (tokenHeader !== fake.token) {
        return send(res, 401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
      }
      if (fault(operation, res, served)) return;
      const data = project(answer(operation, query, variables, base), operationSelection(query));
      const cost = { ...fake.cost, ...fake.nextCosts.shift() };
      send(res, 200, { data, extensions: { cost } }, { 'x-shopify-api-version': served });
    } catch (error) {
      send(res, 500, { errors: String(error) });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  });
}

const gid = (type: string, n: number | string) => `gid://shopify/${type}/${n}`;

/** An export's file: its lines, each ended by a newline. */
const exportText = (lines: string[]) => lines.map((l) => `${l}\n`).join('');

/**
 * A small order as the GraphQL Admin API describes it: `lines` line items of 10.00 EUR, an
 * optional refund of `refund` EUR (one successful REFUND transaction).
 */
export function fakeOrder(n: number, createdAt: string, updatedAt = createdAt, options: { lines?: number; refund?: string; refundAt?: string; taxesIncluded?: boolean } = {}): FakeOrder {
  const lines = options.lines ?? 1;
  const total = (10 * lines).toFixed(2);
  return {
    id: gid('Order', 1000 + n),
    name: `#${1000 + n}`,
    email: `buyer${n}@example.com`,
    phone: null,
    createdAt,
    updatedAt,
    processedAt: createdAt,
    cancelledAt: null,
    cancelReason: null,
    closedAt: null,
    test: false,
    taxesIncluded: options.taxesIncluded ?? false,
    currencyCode: 'EUR',
    presentmentCurrencyCode: 'EUR',
    displayFinancialStatus: options.refund ? 'PARTIALLY_REFUNDED' : 'PAID',
    displayFulfillmentStatus: 'UNFULFILLED',
    note: null,
    tags: [],
    sourceName: 'web',
    paymentGatewayNames: ['shopify_payments'],
    totalPriceSet: bag(total),
    subtotalPriceSet: bag(total),
    totalDiscountsSet: bag('0.00'),
    totalTaxSet: bag('0.00'),
    totalShippingPriceSet: bag('0.00'),
    currentTotalPriceSet: bag(total),
    customer: { id: gid('Customer', 500 + n), defaultEmailAddress: { emailAddress: `buyer${n}@example.com` } },
    shippingAddress: null,
    customerJourneySummary: { firstVisit: { landingPage: `https://shop.example/?utm_source=news&utm_medium=email&n=${n}`, referrerUrl: null } },
    lineItems: Array.from({ length: lines }, (_, i) => ({
      id: gid('LineItem', (1000 + n) * 100 + i),
      name: `Item ${i + 1}`,
      title: `Item ${i + 1}`,
      variantTitle: 'Default Title',
      quantity: 1,
      currentQuantity: 1,
      sku: `SKU-${i + 1}`,
      vendor: 'Maker',
      variant: { id: gid('ProductVariant', 700 + i) },
      product: { id: gid('Product', 70 + i) },
      originalUnitPriceSet: bag('10.00'),
      totalDiscountSet: bag('0.00'),
    })),
    refunds: options.refund
      ? [
          {
            id: gid('Refund', 9000 + n),
            createdAt: options.refundAt ?? updatedAt,
            note: null,
            transactions: [
              {
                id: gid('OrderTransaction', 90000 + n),
                kind: 'REFUND',
                status: 'SUCCESS',
                gateway: 'shopify_payments',
                createdAt: options.refundAt ?? updatedAt,
                processedAt: options.refundAt ?? updatedAt,
                amountSet: bag(options.refund),
              },
            ],
          },
        ]
      : [],
  };
}

/** A customer as the GraphQL Admin API describes it, with `addresses` entries in its address book. */
export function fakeCustomer(n: number, createdAt: string, updatedAt = createdAt, options: { addresses?: number } = {}): FakeCustomer {
  return {
    id: gid('Customer', 500 + n),
    firstName: `First${n}`,
    lastName: `Last${n}`,
    createdAt,
    updatedAt,
    state: 'ENABLED',
    note: null,
    tags: ['vip'],
    verifiedEmail: true,
    taxExempt: false,
    numberOfOrders: String(n),
    amountSpent: money(`${n * 10}.0`),
    defaultEmailAddress: { emailAddress: `buyer${n}@example.com`, marketingState: 'SUBSCRIBED' },
    defaultPhoneNumber: null,
    defaultAddress: null,
    addresses: Array.from({ length: options.addresses ?? 0 }, (_, i) => ({
      id: gid('MailingAddress', (500 + n) * 100 + i),
      firstName: `First${n}`,
      lastName: `Last${n}`,
      name: `First${n} Last${n}`,
      company: null,
      address1: `${i + 1} Rue de la Paix`,
      address2: null,
      city: 'Paris',
      province: null,
      provinceCode: null,
      country: 'France',
      countryCodeV2: 'FR',
      zip: '75002',
      phone: null,
    })),
  };
}

/** The event Shopify records when order (or customer) `number` is deleted: a `destroy` BasicEvent naming it. */
export function fakeDeletion(n: number, subject: 'ORDER' | 'CUSTOMER', number: number, createdAt: string): FakeEvent {
  return {
    id: gid('BasicEvent', 70_000 + n),
    action: 'destroy',
    createdAt,
    message: subject === 'ORDER' ? `Order #${number} was deleted.` : 'A customer was deleted.',
    subjectId: gid(subject === 'ORDER' ? 'Order' : 'Customer', number),
    subjectType: subject,
  };
}

/**
 * A refund line as the GraphQL Admin API describes it: `quantity` units of line item `lineItemId`
 * back, with their subtotal and tax (shop money), restocked on return.
 */
export function fakeRefundLine(n: number, lineItemId: string, quantity: number, subtotal: string, totalTax = '0.00'): Record<string, unknown> {
  return { id: gid('RefundLineItem', 80_000 + n), quantity, restockType: 'RETURN', lineItem: { id: lineItemId }, subtotalSet: bag(subtotal), totalTaxSet: bag(totalTax) };
}

/**
 * A refunded shipping line as the GraphQL Admin API describes it (`RefundShippingLine`): the
 * shipping paid back (`subtotalAmountSet`) and its tax (`taxAmountSet`), in EUR.
 */
export function fakeRefundShippingLine(n: number, subtotal: string, tax = '0.00'): Record<string, unknown> {
  return { id: gid('RefundShippingLine', 85_000 + n), subtotalAmountSet: bag(subtotal), taxAmountSet: bag(tax) };
}

/**
 * A product as the GraphQL Admin API describes it, with `variants` variants (SKU `P{n}-{i}`,
 * price 20.00 EUR, a tracked inventory item of unit cost `unitCost` EUR, none when null).
 */
export function fakeProduct(n: number, createdAt: string, updatedAt = createdAt, options: { variants?: number; unitCost?: string | null; title?: string } = {}): FakeProduct {
  const unitCost = options.unitCost === undefined ? '8.00' : options.unitCost;
  return {
    id: gid('Product', 70 + n),
    title: options.title ?? `Product ${n}`,
    productType: 'Apparel',
    vendor: 'Maker',
    status: 'ACTIVE',
    createdAt,
    updatedAt,
    variants: Array.from({ length: options.variants ?? 1 }, (_, i) => ({
      id: gid('ProductVariant', (70 + n) * 100 + i),
      sku: `P${n}-${i}`,
      title: `Size ${i + 1}`,
      price: '20.00',
      inventoryItem: { id: gid('InventoryItem', (70 + n) * 100 + i), tracked: true, unitCost: unitCost === null ? null : money(unitCost) },
    })),
  };
}

/**
 * An inventory item as the GraphQL Admin API describes it, with its `available` quantity at each
 * location (location ids 1, 2, …), its variant's product `productStatus` (a ProductStatus) unless
 * the fake's products hold that variant.
 */
export function fakeInventoryItem(itemNumber: number, variantNumber: number, available: number[], updatedAt = '2026-11-19T08:00:00Z', productStatus = 'ACTIVE'): FakeInventoryItem {
  return {
    id: gid('InventoryItem', itemNumber),
    tracked: true,
    variants: { nodes: [{ id: gid('ProductVariant', variantNumber), product: { status: productStatus } }] },
    inventoryLevels: available.map((quantity, i) => ({
      id: `${gid('InventoryLevel', itemNumber * 10 + i)}?inventory_item_id=${itemNumber}`,
      updatedAt,
      location: { id: gid('Location', i + 1) },
      quantities: [
        { name: 'available', quantity },
        { name: 'on_hand', quantity: Math.max(quantity, 0) },
      ],
    })),
  };
}
