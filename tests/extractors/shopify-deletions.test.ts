import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, shopifyConfig } from '../../config/schema.ts';
import { shopifySource } from '../../extractors/shopify/source.ts';
import { logger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeCustomer, fakeDeletion, fakeOrder, startFakeShopify, type FakeShopify } from './support/shopify-server.ts';
import { installFakeTime, type FakeTime } from './support/time.ts';

/**
 * Deleted Shopify orders and customers (issue 11): the `shopify.deletions` stream lands the
 * Admin API's `destroy` events, and a deleted order leaves every metric.
 */

const NOW = '2026-11-20T12:00:00Z';
const TOKEN_ENV = 'VERITE_TEST_SHOPIFY_TOKEN';

let wh: Warehouse;
let fake: FakeShopify;
let time: FakeTime;

beforeAll(async () => {
  time = installFakeTime(Date.parse(NOW));
  wh = await createTestDatabase('shopify_deletions');
});
afterAll(async () => {
  time.restore();
  await wh?.close();
});
beforeEach(async () => {
  fake = await startFakeShopify();
  process.env[TOKEN_ENV] = fake.token;
  time.reset(Date.parse(NOW));
});
afterEach(async () => {
  await fake.close();
});

const config = configSchema.parse({
  reportingCurrency: 'EUR',
  reportingTimezone: 'UTC',
  retries: { streamAttempts: 1, backoffSeconds: 0 },
  sources: { shopify: { shop: 'verite-test.myshopify.com', apiBaseUrl: 'http://127.0.0.1:1', accessTokenEnv: TOKEN_ENV, startDate: '2026-11-01' } },
});

async function run(stream: 'orders' | 'customers' | 'deletions', now = NOW) {
  const entry = shopifyConfig.parse({ ...config.sources.shopify, apiBaseUrl: fake.url });
  return runPipeline({ warehouse: wh, config, log: logger(), now: new Date(now), steps: [], stream, sources: [{ source: shopifySource, config: entry }] });
}

async function landedDeletions(): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(`select _record from raw.shopify__deletions order by _key::bigint`)).rows.map((r) => r._record);
}

describe('shopify.deletions', () => {
  it('lands the destroy events of orders and customers, pages them, and re-reads two days behind its cursor', async () => {
    fake.events.push(
      fakeDeletion(1, 'ORDER', 1003, '2026-11-05T09:00:00Z'),
      fakeDeletion(2, 'CUSTOMER', 509, '2026-11-06T09:00:00Z'),
      // Neither a deletion of an order or a customer: not asked for.
      { ...fakeDeletion(3, 'ORDER', 1004, '2026-11-06T10:00:00Z'), action: 'update' },
      { ...fakeDeletion(4, 'ORDER', 77, '2026-11-06T11:00:00Z'), subjectType: 'PRODUCT', subjectId: 'gid://shopify/Product/77' },
    );
    // 260 more order deletions, an hour apart from 8 November: two pages of 250 in all.
    for (let n = 10; n < 270; n++) fake.events.push(fakeDeletion(n, 'ORDER', 2000 + n, new Date(Date.parse('2026-11-08T00:00:00Z') + n * 1_800_000).toISOString()));

    const first = await run('deletions');

    expect(first.status).toBe('succeeded');
    const requests = fake.requests.filter((r) => r.operation === 'VeriteDeletions');
    expect(requests.map((r) => [r.variables.first, r.variables.after !== null])).toEqual([[250, false], [250, true]]);
    expect(requests[0]!.variables.query).toBe(
      "action:destroy AND (subject_type:ORDER OR subject_type:CUSTOMER) AND created_at:>='2026-11-01T00:00:00Z' AND created_at:<='2026-11-20T12:00:00Z'",
    );
    const landed = await landedDeletions();
    expect(landed).toHaveLength(262);
    expect(landed.slice(0, 2)).toEqual([
      {
        id: 70001, admin_graphql_api_id: 'gid://shopify/BasicEvent/70001', subject_id: 1003, subject_type: 'Order', verb: 'destroy',
        created_at: '2026-11-05T09:00:00Z', message: 'Order #1003 was deleted.',
      },
      {
        id: 70002, admin_graphql_api_id: 'gid://shopify/BasicEvent/70002', subject_id: 509, subject_type: 'Customer', verb: 'destroy',
        created_at: '2026-11-06T09:00:00Z', message: 'A customer was deleted.',
      },
    ]);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = 'deletions'`);
    expect(state.rows[0].state).toEqual({ created_at: '2026-11-20T12:00:00.000Z' });

    fake.requests.length = 0;
    fake.events.push(fakeDeletion(300, 'ORDER', 1001, '2026-11-21T08:00:00Z'));
    const second = await run('deletions', '2026-11-21T12:00:00Z');

    expect(second.status).toBe('succeeded');
    expect(fake.requests.find((r) => r.operation === 'VeriteDeletions')!.variables.query).toBe(
      "action:destroy AND (subject_type:ORDER OR subject_type:CUSTOMER) AND created_at:>='2026-11-18T12:00:00Z' AND created_at:<='2026-11-21T12:00:00Z'",
    );
    // Of the events from 18 November 12:00 on, only the new one: written once.
    expect(second.streams[0]).toMatchObject({ written: 1, unchanged: 0 });
    expect(await landedDeletions()).toHaveLength(263);
  });
});

describe('a deleted order leaves every metric', () => {
  async function kpi(date: string) {
    const res = await wh.pool.query(
      `select orders::int, revenue::float8, refunds::float8, customers::int, new_customers::int from metrics.kpi_daily where date = $1`,
      [date],
    );
    return res.rows[0];
  }

  async function rebuild() {
    const transformed = await runTransforms(wh, config, { now: new Date(NOW) });
    expect(transformed.error).toBeUndefined();
    const refreshed = await refreshMetrics(wh, config);
    expect(refreshed.error).toBeUndefined();
  }

  it('drops a deleted order from orders, revenue, refunds and customers in kpi_daily, and flags a deleted customer', async () => {
    await wh.pool.query(`truncate raw.shopify__orders, raw.shopify__customers, raw.shopify__deletions`);
    await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
    // On 10 November: order 1 (2 lines: 20.00), order 2 (10.00) and order 3 (3 lines: 30.00),
    // each by a customer of its own; order 3 was refunded 5.00 on 12 November.
    fake.orders.push(
      fakeOrder(1, '2026-11-10T09:00:00Z', undefined, { lines: 2 }),
      fakeOrder(2, '2026-11-10T10:00:00Z'),
      fakeOrder(3, '2026-11-10T11:00:00Z', '2026-11-12T08:00:00Z', { lines: 3, refund: '5.00', refundAt: '2026-11-12T08:00:00Z' }),
    );
    fake.customers.push(fakeCustomer(9, '2026-11-02T09:00:00Z'));
    for (const stream of ['orders', 'customers', 'deletions'] as const) expect((await run(stream)).status).toBe('succeeded');
    await rebuild();

    expect(await kpi('2026-11-10')).toEqual({ orders: 3, revenue: 60, refunds: 0, customers: 3, new_customers: 3 });
    expect(await kpi('2026-11-12')).toMatchObject({ orders: 0, revenue: 0, refunds: 5 });

    // The next morning, order 3 (id 1003) and customer 9 (id 509, who never ordered) are deleted in the shop.
    fake.events.push(fakeDeletion(1, 'ORDER', 1003, '2026-11-21T09:00:00Z'), fakeDeletion(2, 'CUSTOMER', 509, '2026-11-21T10:00:00Z'));
    expect((await run('deletions', '2026-11-21T12:00:00Z')).status).toBe('succeeded');
    await rebuild();

    // Orders 1 and 2 remain: 20.00 + 10.00; the refund of the deleted order counts no more.
    expect(await kpi('2026-11-10')).toEqual({ orders: 2, revenue: 30, refunds: 0, customers: 2, new_customers: 2 });
    // 12 November held only the refund of the deleted order: kpi_daily now ends on the 10th.
    expect(await kpi('2026-11-12')).toBeUndefined();
    const days = await wh.pool.query(`select min(date)::text as first, max(date)::text as last from metrics.kpi_daily`);
    expect(days.rows).toEqual([{ first: '2026-11-10', last: '2026-11-10' }]);
    const order = await wh.pool.query(`select is_deleted, is_counted from core.orders where order_id = '1003'`);
    expect(order.rows).toEqual([{ is_deleted: true, is_counted: false }]);
    const lines = await wh.pool.query(`select count(*)::int as n, bool_or(is_counted) as counted from core.order_lines where order_id = '1003'`);
    expect(lines.rows).toEqual([{ n: 3, counted: false }]);
    const customers = await wh.pool.query(`select shopify_customer_id from core.customers order by 1`);
    expect(customers.rows.map((r) => r.shopify_customer_id)).toEqual(['501', '502']);
    const deleted = await wh.pool.query(`select customer_id, is_deleted from staging.shopify_customers order by 1`);
    expect(deleted.rows).toEqual([{ customer_id: '509', is_deleted: true }]);
    const notices = await wh.pool.query(`select record_type, record_id, deleted_at from staging.shopify_deletions order by 1, 2`);
    expect(notices.rows).toEqual([
      { record_type: 'customer', record_id: '509', deleted_at: new Date('2026-11-21T10:00:00Z') },
      { record_type: 'order', record_id: '1003', deleted_at: new Date('2026-11-21T09:00:00Z') },
    ]);
  });
});
