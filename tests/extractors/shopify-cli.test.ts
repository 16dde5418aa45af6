import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestVersionAt } from '../../extractors/shopify/api-version.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeOrder, startFakeShopify, type FakeShopify } from './support/shopify-server.ts';

const HOUR = 3_600_000;

let wh: Warehouse;
let fake: FakeShopify;
let dir: string;
let env: Record<string, string>;
// The command line runs on the real clock, so the shop's orders are dated from it.
const started = Date.now();
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

beforeAll(async () => {
  wh = await createTestDatabase('shopify_cli');
  fake = await startFakeShopify();
  fake.versions = { oldest: '2000-01', newest: '2999-10' };
  dir = mkdtempSync(join(tmpdir(), 'verite-shopify-cli-'));
  const config = {
    reportingCurrency: 'EUR',
    retries: { streamAttempts: 1, backoffSeconds: 0 },
    sources: {
      shopify: {
        shop: 'verite-test.myshopify.com',
        apiBaseUrl: fake.url,
        apiVersion: latestVersionAt(new Date(started)),
        startDate: new Date(started - 10 * 24 * HOUR).toISOString().slice(0, 10),
        maxAttempts: 2,
      },
    },
  };
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify(config));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json'), SHOPIFY_ACCESS_TOKEN: fake.token };
});
afterAll(async () => {
  await fake?.close();
  await wh?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('verite run --sources shopify', () => {
  it('fails naming the stream when Shopify breaks mid-stream, keeps the committed pages, and the next run resumes without duplicates', async () => {
    // 25 orders, one an hour, the last a day ago: pages of 10, 10 and 5.
    const first = started - 9 * 24 * HOUR;
    for (let n = 1; n <= 25; n++) fake.orders.push(fakeOrder(n, iso(first + n * HOUR)));
    fake.goDownAfter('VeriteOrders', 2);

    const broken = await runCli(['run', '--sources', 'shopify'], { env });

    expect(broken.code, broken.stderr).toBe(1);
    expect(broken.stderr).toMatch(/failed: shopify\.orders: \[shopify\.orders, GraphQL orders page, HTTP 500\] gave up after 2 attempts/);
    expect(broken.stderr).not.toContain(fake.token);
    const kept = await wh.pool.query(`select _key, _run_id from raw.shopify__orders order by _key::int`);
    expect(kept.rows.map((r) => Number(r._key))).toEqual(Array.from({ length: 20 }, (_, i) => 1001 + i));
    // The cursor is the newest order of the two committed pages (order 20).
    const cursor = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = 'orders'`);
    expect(cursor.rows[0].state).toEqual({ updated_at: new Date(Date.parse(iso(first + 20 * HOUR))).toISOString() });

    fake.heal();
    const before = fake.requests.length;
    const resumed = await runCli(['run', '--sources', 'shopify'], { env });

    expect(resumed.code, resumed.stderr).toBe(0);
    // It went on from the cursor, less the two days of lookback.
    const query = fake.requests.slice(before).find((r) => r.operation === 'VeriteOrders')!.variables.query as string;
    expect(query.startsWith(`updated_at:>='${iso(first + 20 * HOUR - 48 * HOUR)}'`)).toBe(true);
    const all = await wh.pool.query(`select _key, _run_id from raw.shopify__orders order by _key::int`);
    expect(all.rows.map((r) => Number(r._key))).toEqual(Array.from({ length: 25 }, (_, i) => 1001 + i));
    // The 20 orders landed by the broken run were not written again.
    const byRun = new Map(kept.rows.map((r) => [r._key, r._run_id]));
    expect(all.rows.filter((r) => byRun.get(r._key) === r._run_id)).toHaveLength(20);
  });
});
