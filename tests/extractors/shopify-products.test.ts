import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, shopifyConfig } from '../../config/schema.ts';
import { shopifySource } from '../../extractors/shopify/source.ts';
import type { DateWindow } from '../../extractors/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { bag, fakeInventoryItem, fakeOrder, fakeProduct, fakeRefundLine, fakeRefundShippingLine, startFakeShopify, type FakeShopify } from './support/shopify-server.ts';
import { installFakeTime, type FakeTime } from './support/time.ts';

/**
 * `shopify.products` and `shopify.inventory_levels` (issue 13) against the Shopify stand-in:
 * pages, a 429 with Retry-After and a 500, a product updated between runs, a bulk first load,
 * a run stopped part way and the next one landing nothing twice; the stock snapshot of a run's
 * date, replaced by a second run on that date, kept beside the next date's.
 */
const NOW = '2026-11-20T12:00:00Z';
const TOKEN_ENV = 'VERITE_TEST_SHOPIFY_PRODUCTS_TOKEN';
const at = (day: number, hour = 10, month = 11) => `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;

let wh: Warehouse;
let fake: FakeShopify;
let time: FakeTime;

beforeAll(async () => {
  time = installFakeTime(Date.parse(NOW));
  wh = await createTestDatabase('shopify_products');
});
afterAll(async () => {
  time.restore();
  await wh?.close();
});
beforeEach(async () => {
  fake = await startFakeShopify();
  process.env[TOKEN_ENV] = fake.token;
  time.reset(Date.parse(NOW));
  await wh.pool.query(`truncate raw.shopify__products, raw.shopify__inventory_levels`);
  await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
});
afterEach(async () => {
  await fake.close();
});

interface RunOptions {
  now?: string;
  shopify?: Record<string, unknown>;
  window?: DateWindow;
  stream: 'products' | 'inventory_levels' | 'orders';
  reportingTimezone?: string;
}

async function run(options: RunOptions) {
  const config = configSchema.parse({
    reportingCurrency: 'EUR',
    reportingTimezone: options.reportingTimezone ?? 'UTC',
    retries: { streamAttempts: 1, backoffSeconds: 0 },
    sources: { shopify: { shop: 'verite-test.myshopify.com', apiBaseUrl: fake.url, accessTokenEnv: TOKEN_ENV, startDate: '2026-11-05', maxAttempts: 3, ...options.shopify } },
  });
  return runPipeline({
    warehouse: wh, config, log: logger(), now: new Date(options.now ?? NOW), steps: [], window: options.window ?? null, stream: options.stream,
    sources: [{ source: shopifySource, config: shopifyConfig.parse(config.sources.shopify) }],
  });
}

const products = async (): Promise<Record<string, any>[]> => (await wh.pool.query(`select _record from raw.shopify__products order by _key::bigint`)).rows.map((r) => r._record);
const levels = async () =>
  (await wh.pool.query(`select _key, _report_date::text as date, _record from raw.shopify__inventory_levels order by _report_date, _key`)).rows as { _key: string; date: string; _record: Record<string, any> }[];
const state = async (stream: string) => (await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = $1`, [stream])).rows[0]?.state ?? null;
const ops = (name: string) => fake.requests.filter((r) => r.operation === name);

describe('shopify.products', () => {
  it('lands pages of products with every variant and its unit cost, waiting out a 429 (its Retry-After) and a 500', async () => {
    // 45 products updated from 6 to 19 November; product 7 has 12 variants, product 9 no unit cost.
    for (let n = 1; n <= 45; n++) fake.products.push(fakeProduct(n, at(1, 8), at(6 + (n % 14), n % 24), { variants: n === 7 ? 12 : 1, unitCost: n === 9 ? null : '8.00' }));
    fake.script({ operation: 'VeriteProducts', status: 429, headers: { 'retry-after': '4' } }, { operation: 'VeriteProducts', status: 500 });

    const result = await run({ stream: 'products' });

    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    // 45 products at 20 a page: 20, 20, 5.
    expect(result.streams[0]).toMatchObject({ stream: 'products', pages: 3, written: 45 });
    expect(time.waits.some((w) => w >= 4000)).toBe(true);
    const pages = ops('VeriteProducts');
    expect(pages.map((p) => p.variables.first)).toEqual([20, 20, 20, 20, 20]); // 429, 500, three pages
    expect(pages[0]!.variables.query).toBe("updated_at:>='2026-11-05T00:00:00Z' AND updated_at:<='2026-11-20T12:00:00Z'");
    // 10 variants came with the page, 2 by a follow-up query.
    expect(ops('VeriteProductVariants').map((r) => r.variables)).toEqual([{ id: 'gid://shopify/Product/77', after: 'i:9' }]);

    const landed = await products();
    expect(landed).toHaveLength(45);
    expect(landed.find((p) => p.id === 77)!.variants).toHaveLength(12);
    expect(landed.find((p) => p.id === 71)).toEqual({
      id: 71, admin_graphql_api_id: 'gid://shopify/Product/71', title: 'Product 1', product_type: 'Apparel', vendor: 'Maker', status: 'active',
      created_at: at(1, 8), updated_at: at(7, 1),
      variants: [
        {
          id: 7100, admin_graphql_api_id: 'gid://shopify/ProductVariant/7100', product_id: 71, sku: 'P1-0', title: 'Size 1', price: '20.00',
          inventory_item_id: 7100, tracked: true, unit_cost: { amount: '8.00', currency_code: 'EUR' },
        },
      ],
    });
    // A variant whose inventory item has no cost lands with a null unit_cost.
    expect(landed.find((p) => p.id === 79)!.variants[0].unit_cost).toBeNull();
    // The newest updated_at: product 13 (6 + 13 % 14 = 19 November, 13:00), then the range's end.
    expect(await state('products')).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
  });

  it('lands a product updated since the last run (a new cost) on the next run, re-reading two days behind the cursor', async () => {
    for (let n = 1; n <= 3; n++) fake.products.push(fakeProduct(n, at(1), at(10 + n)));
    expect((await run({ stream: 'products' })).status).toBe('succeeded');
    fake.products[1] = fakeProduct(2, at(1), at(21, 9), { unitCost: '9.50' });
    const second = await run({ stream: 'products', now: at(21, 12) });
    expect(second.status, errorMessage(second.error)).toBe('succeeded');
    // From the cursor (20 Nov 12:00) less two days.
    expect(ops('VeriteProducts').at(-1)!.variables.query).toBe("updated_at:>='2026-11-18T12:00:00Z' AND updated_at:<='2026-11-21T12:00:00Z'");
    expect(second.streams[0]).toMatchObject({ written: 1, unchanged: 0 });
    expect((await products()).find((p) => p.id === 72)!.variants[0].unit_cost).toEqual({ amount: '9.50', currency_code: 'EUR' });
  });

  it('loads a long first run in bulk, variants as lines of their own, and lands it as pages would', async () => {
    for (let n = 1; n <= 6; n++) fake.products.push(fakeProduct(n, at(1, 8, 6), at(1 + n, 10, 7 + (n % 3)), { variants: n === 2 ? 3 : 1, unitCost: n === 4 ? null : '8.00' }));
    const result = await run({ stream: 'products', shopify: { startDate: '2026-06-01' } });
    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    expect(ops('VeriteProducts')).toEqual([]);
    const bulk = ops('VeriteBulkRun').map((r) => String(r.variables.query));
    expect(bulk.length).toBeGreaterThan(0);
    expect(bulk.every((q) => q.startsWith('{ products(query: "updated_at:>='))).toBe(true);
    const viaBulk = await products();
    expect(viaBulk.map((p) => [p.id, p.variants.length])).toEqual([[71, 1], [72, 3], [73, 1], [74, 1], [75, 1], [76, 1]]);
    expect(viaBulk.find((p) => p.id === 74)!.variants[0].unit_cost).toBeNull();
    expect(viaBulk.find((p) => p.id === 72)!.variants.map((v: { sku: string }) => v.sku)).toEqual(['P2-0', 'P2-1', 'P2-2']);
    // The same products read as pages are the same records.
    await wh.pool.query(`truncate raw.shopify__products`);
    await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
    expect((await run({ stream: 'products', shopify: { startDate: '2026-06-01', bulkThresholdDays: 365 } })).status).toBe('succeeded');
    expect(await products()).toEqual(viaBulk);
  });

  it('after a run stopped part way, goes on from its cursor and lands nothing twice', async () => {
    for (let n = 1; n <= 45; n++) fake.products.push(fakeProduct(n, at(1), at(6 + Math.floor(n / 4), n % 24)));
    fake.goDownAfter('VeriteProducts', 1);
    const first = await run({ stream: 'products' });
    expect(first.status).toBe('failed');
    expect(errorMessage(first.streams[0]!.error)).toMatch(/\[shopify\.products, GraphQL products page, HTTP 500\] gave up after 3 attempts/);
    expect(first.streams[0]).toMatchObject({ written: 20 });
    const kept = await state('products');
    // Product n is updated on day 6 + ⌊n/4⌋ at n % 24 h, so updated_at order is n order: the first
    // page's newest is n = 20, 11 November 20:00.
    expect(kept).toEqual({ updated_at: '2026-11-11T20:00:00.000Z' });
    fake.heal();
    const second = await run({ stream: 'products' });
    expect(second.status, errorMessage(second.error)).toBe('succeeded');
    // From two days behind that cursor, 9 November 20:00: of the first page, n = 16 … 19 (10
    // November) and 20 (11 November) are read again, unchanged; the 25 others are written.
    expect(ops('VeriteProducts').at(-1)!.variables.query).toContain("updated_at:>='2026-11-09T20:00:00Z'");
    expect(second.streams[0]).toMatchObject({ written: 25, unchanged: 5 });
    expect(await products()).toHaveLength(45);
  });
});

describe('shopify.inventory_levels', () => {
  /** Three items: one at two locations, one out of stock, one oversold (Shopify allows a negative available). */
  const stock = () => [fakeInventoryItem(7100, 7100, [5, 2]), fakeInventoryItem(7200, 7200, [0]), fakeInventoryItem(7300, 7300, [-1])];

  it('snapshots the available quantity of each item at each location, dated by the run\'s date in the reporting time zone', async () => {
    fake.inventoryItems.push(...stock());
    // 20 November 23:30 UTC is 21 November in Paris.
    const result = await run({ stream: 'inventory_levels', now: '2026-11-20T23:30:00Z', reportingTimezone: 'Europe/Paris' });
    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    const rows = await levels();
    expect(rows.map((r) => [r._key, r.date])).toEqual([
      ['7100|1|2026-11-21', '2026-11-21'],
      ['7100|2|2026-11-21', '2026-11-21'],
      ['7200|1|2026-11-21', '2026-11-21'],
      ['7300|1|2026-11-21', '2026-11-21'],
    ]);
    expect(rows[1]!._record).toEqual({ snapshot_date: '2026-11-21', inventory_item_id: 7100, variant_id: 7100, location_id: 2, available: 2, tracked: true, product_status: 'active', updated_at: '2026-11-19T08:00:00Z' });
    expect(rows.map((r) => r._record.available)).toEqual([5, 2, 0, -1]);
    expect(await state('inventory_levels')).toEqual({ snapshot_date: '2026-11-21' });
  });

  it("keeps with each level the status its variant's product has as the snapshot is read, lower case as the products stream lands it", async () => {
    // Product 1 (variant 7100) archived in the products the shop holds; item 7200's product a draft.
    fake.products.push({ ...fakeProduct(1, at(1)), status: 'ARCHIVED' });
    fake.inventoryItems.push(fakeInventoryItem(7100, 7100, [0, 3]), fakeInventoryItem(7200, 7200, [0], undefined, 'DRAFT'), fakeInventoryItem(7300, 7300, [4]));
    const result = await run({ stream: 'inventory_levels' });
    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    expect(ops('VeriteInventoryItems')[0]!.query).toContain('variants(first: 1) { nodes { id product { status } } }');
    expect((await levels()).map((r) => [r._key, r._record.product_status])).toEqual([
      ['7100|1|2026-11-20', 'archived'],
      ['7100|2|2026-11-20', 'archived'],
      ['7200|1|2026-11-20', 'draft'],
      ['7300|1|2026-11-20', 'active'],
    ]);
  });

  it('pages through items (a 429 and a 500 waited out), follows an item stocked at many locations, and keeps one snapshot per date', async () => {
    // 45 items (pages of 20, 20, 5); item 7105 at 13 locations (10 with the page, 3 by a follow-up).
    for (let i = 0; i < 45; i++) fake.inventoryItems.push(fakeInventoryItem(7100 + i, 7100 + i, i === 5 ? Array.from({ length: 13 }, (_, l) => l) : [i]));
    fake.script({ operation: 'VeriteInventoryItems', status: 429, headers: { 'retry-after': '2' } }, { operation: 'VeriteInventoryItems', status: 503 });
    const first = await run({ stream: 'inventory_levels' });
    expect(first.status, errorMessage(first.error)).toBe('succeeded');
    expect(first.streams[0]).toMatchObject({ pages: 3, written: 44 + 13 });
    expect(time.waits.some((w) => w >= 2000)).toBe(true);
    expect(ops('VeriteInventoryItemLevels').map((r) => r.variables)).toEqual([{ id: 'gid://shopify/InventoryItem/7105', after: 'i:9' }]);

    // Later the same day: item 7101 sold out, item 7144 is gone; the date's rows are replaced.
    fake.inventoryItems[1] = fakeInventoryItem(7101, 7101, [0], '2026-11-20T15:00:00Z');
    fake.inventoryItems.pop();
    const again = await run({ stream: 'inventory_levels', now: '2026-11-20T18:00:00Z' });
    expect(again.status, errorMessage(again.error)).toBe('succeeded');
    // 44 items, 43 at one location and 7105 at 13: 7101's level is written, the 55 others unchanged.
    expect(again.streams[0]).toMatchObject({ written: 1, unchanged: 55 });
    const today = (await levels()).filter((r) => r.date === '2026-11-20');
    expect(today).toHaveLength(43 + 13);
    expect(today.find((r) => r._key === '7101|1|2026-11-20')!._record.available).toBe(0);
    expect(today.find((r) => r._key.startsWith('7144|'))).toBeUndefined();

    // The next day's snapshot is kept beside it: history builds up a date at a time.
    const tomorrow = await run({ stream: 'inventory_levels', now: '2026-11-21T06:00:00Z' });
    expect(tomorrow.status).toBe('succeeded');
    const byDate = (await levels()).reduce<Record<string, number>>((n, r) => ({ ...n, [r.date]: (n[r.date] ?? 0) + 1 }), {});
    expect(byDate).toEqual({ '2026-11-20': 56, '2026-11-21': 56 });
  });

  it('a run stopped part way reads the whole snapshot again, landing no level twice', async () => {
    for (let i = 0; i < 45; i++) fake.inventoryItems.push(fakeInventoryItem(7100 + i, 7100 + i, [i]));
    fake.goDownAfter('VeriteInventoryItems', 1);
    const first = await run({ stream: 'inventory_levels' });
    expect(first.status).toBe('failed');
    expect(first.streams[0]).toMatchObject({ written: 20 });
    // The first page landed, but the date was not snapshot whole: no cursor yet.
    expect(await state('inventory_levels')).toBeNull();
    fake.heal();
    const second = await run({ stream: 'inventory_levels', now: '2026-11-20T13:00:00Z' });
    expect(second.status, errorMessage(second.error)).toBe('succeeded');
    expect(second.streams[0]).toMatchObject({ written: 25, unchanged: 20 });
    const rows = await levels();
    expect(rows).toHaveLength(45);
    expect(new Set(rows.map((r) => r._key)).size).toBe(45);
  });

  it('a backfill reads no stock: Shopify keeps no history of levels', async () => {
    fake.inventoryItems.push(...stock());
    const result = await run({ stream: 'inventory_levels', window: { from: '2026-11-01', to: '2026-11-02' } });
    expect(result.status).toBe('succeeded');
    expect(ops('VeriteInventoryItems')).toEqual([]);
    expect(await levels()).toEqual([]);
  });
});

describe('shopify.orders: what products and profit read of an order', () => {
  it('lands each refund\'s line items (the first five with the refund, the rest by a follow-up query) and each line\'s discount allocations and tax lines', async () => {
    const order = fakeOrder(1, at(10), at(12), { lines: 8, refund: '70.00', refundAt: at(12), taxesIncluded: true });
    // Tax included at 20 %: a line of 10.00 less an allocated discount of 1.00 holds 1.50 of tax.
    order.lineItems[0] = { ...order.lineItems[0], discountAllocations: [{ allocatedAmountSet: bag('1.00') }], taxLines: [{ priceSet: bag('1.50'), rate: 0.2, title: 'VAT' }] };
    order.refunds[0]!.refundLineItems = order.lineItems.slice(0, 7).map((line, i) => fakeRefundLine(i, String(line.id), 1, '10.00', '1.67'));
    fake.orders.push(order);
    const result = await run({ stream: 'orders' });
    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    expect(ops('VeriteRefundMoreLineItems').map((r) => r.variables)).toEqual([{ id: 'gid://shopify/Refund/9001', after: 'i:4' }]);
    const landed = (await wh.pool.query(`select _record from raw.shopify__orders where _key = '1001'`)).rows[0]!._record;
    const refunded = landed.refunds[0].refund_line_items as Record<string, unknown>[];
    expect(refunded.map((r) => r.line_item_id)).toEqual([100100, 100101, 100102, 100103, 100104, 100105, 100106]);
    expect(refunded[6]).toEqual({
      id: 80006, line_item_id: 100106, quantity: 1, restock_type: 'return',
      // The shop's currency only: the query asks for no presentment money.
      subtotal: '10.00', subtotal_set: { shop_money: { amount: '10.00', currency_code: 'EUR' } },
      total_tax: '1.67', total_tax_set: { shop_money: { amount: '1.67', currency_code: 'EUR' } },
    });
    expect(landed.line_items[0]).toMatchObject({
      product_id: 70, variant_id: 700, sku: 'SKU-1', quantity: 1, price: '10.00',
      discount_allocations: [{ amount: '1.00' }], tax_lines: [{ price: '1.50', rate: 0.2, title: 'VAT' }],
    });
    expect(landed.line_items[1]).toMatchObject({ discount_allocations: [], tax_lines: [] });
    // Whether the prices include tax, which the line sales take out (most EU shops), and the variant's title.
    expect(landed.taxes_included).toBe(true);
    expect(landed.line_items[0].variant_title).toBe('Default Title');
    const config = configSchema.parse({ reportingCurrency: 'EUR' });
    expect((await runTransforms(wh, config, { now: new Date(at(13)) })).status).toBe('succeeded');
    const line = (await wh.pool.query(`select line_sales::text as sales, taxes_included, variant_title from core.order_lines where line_id = '100100'`)).rows[0];
    // 1 × 10.00, less the 1.00 discount allocated to it, less the 1.50 of tax the price holds.
    expect(line).toEqual({ sales: '7.50', taxes_included: true, variant_title: 'Default Title' });
  });

  it("lands each refund's shipping lines with their tax (the first two with the refund, the rest by a follow-up query), which core keeps on the refund's date", async () => {
    // A refund of one line (10.00 + 1.00 of tax) and of the shipping, which Shopify split over three shipping lines:
    // 5.00 + 0.50 of tax, 3.00 + 0.30, 2.00 + 0.20.
    const order = fakeOrder(2, at(10), at(12), { lines: 1, refund: '21.00', refundAt: at(12) });
    order.refunds[0]!.refundLineItems = [fakeRefundLine(20, String(order.lineItems[0]!.id), 1, '10.00', '1.00')];
    order.refunds[0]!.refundShippingLines = [fakeRefundShippingLine(0, '5.00', '0.50'), fakeRefundShippingLine(1, '3.00', '0.30'), fakeRefundShippingLine(2, '2.00', '0.20')];
    fake.orders.push(order);
    const result = await run({ stream: 'orders' });
    expect(result.status, errorMessage(result.error)).toBe('succeeded');
    expect(ops('VeriteRefundMoreShippingLines').map((r) => r.variables)).toEqual([{ id: 'gid://shopify/Refund/9002', after: 'i:1' }]);
    const landed = (await wh.pool.query(`select _record from raw.shopify__orders where _key = '1002'`)).rows[0]!._record;
    const shipping = landed.refunds[0].refund_shipping_lines as Record<string, unknown>[];
    expect(shipping).toHaveLength(3);
    expect(shipping[2]).toEqual({
      id: 85002,
      // The shop's currency only, as for the refund line items.
      subtotal_amount: '2.00', subtotal_amount_set: { shop_money: { amount: '2.00', currency_code: 'EUR' } },
      tax_amount: '0.20', tax_amount_set: { shop_money: { amount: '0.20', currency_code: 'EUR' } },
    });
    const config = configSchema.parse({ reportingCurrency: 'EUR' });
    expect((await runTransforms(wh, config, { now: new Date(at(13)) })).status).toBe('succeeded');
    const rows = (await wh.pool.query(`select refund_shipping_line_id as id, refund_date::text, subtotal::text, tax::text from core.refund_shipping_lines where order_id = '1002' order by 1`)).rows;
    expect(rows).toEqual([
      { id: '85000', refund_date: '2026-11-12', subtotal: '5.00', tax: '0.50' },
      { id: '85001', refund_date: '2026-11-12', subtotal: '3.00', tax: '0.30' },
      { id: '85002', refund_date: '2026-11-12', subtotal: '2.00', tax: '0.20' },
    ]);
  });
});
