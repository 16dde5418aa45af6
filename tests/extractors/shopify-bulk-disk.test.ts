import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, shopifyConfig, type ShopifyConfig } from '../../config/schema.ts';
import { shopifySource } from '../../extractors/shopify/source.ts';
import { readShopifyStream, type ShopifyStreamName } from '../../extractors/shopify/stream-read.ts';
import type { Source } from '../../extractors/types.ts';
import { errorMessage, ExtractError } from '../../lib/errors.ts';
import { createLogger, logger, type Logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeCustomer, fakeOrder, startFakeShopify, type FakeShopify } from './support/shopify-server.ts';
import { installFakeTime, type FakeTime } from './support/time.ts';

/**
 * A bulk export is downloaded to the temporary folder, and read back through a copy of it split
 * into parts: before downloading, the size Shopify announces (`BulkOperation.fileSize`) is
 * checked against the free space there, and the download is stopped if it runs past that size.
 * The free space is told by the test (no disk is filled); the folder is one of the test's own
 * (`TMPDIR`), so what is left in it can be seen.
 */

const NOW = '2026-11-20T12:00:00Z';
const TOKEN_ENV = 'VERITE_TEST_SHOPIFY_TOKEN';
const GIB = 1024 ** 3;
const at = (day: number, month: number) => `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T10:00:00Z`;

let wh: Warehouse;
let fake: FakeShopify;
let time: FakeTime;
/** The test's temporary folder (`TMPDIR`), and the one it replaced. */
let folder: string;
let savedTmpdir: string | undefined;
/** The folders whose free space was asked for. */
let asked: string[];

beforeAll(async () => {
  time = installFakeTime(Date.parse(NOW));
  wh = await createTestDatabase('shopify_bulk_disk');
});
afterAll(async () => {
  time.restore();
  await wh?.close();
});
beforeEach(async () => {
  fake = await startFakeShopify();
  process.env[TOKEN_ENV] = fake.token;
  time.reset(Date.parse(NOW));
  await wh.pool.query(`truncate raw.shopify__orders, raw.shopify__customers`);
  await wh.pool.query(`delete from ops.stream_state where source = 'shopify'`);
  folder = mkdtempSync(join(tmpdir(), 'verite-test-tmpdir-'));
  savedTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  asked = [];
});
afterEach(async () => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(folder, { recursive: true, force: true });
  await fake.close();
});

/** The shopify source with its orders and customers only, each told that the disk has `free` bytes free. */
function sourceWith(free: number): Source<ShopifyConfig> {
  const freeSpace = async (at: string) => {
    asked.push(at);
    return free;
  };
  return {
    ...shopifySource,
    streams: shopifySource.streams
      .filter((s) => s.name === 'orders' || s.name === 'customers')
      .map((s) => ({ ...s, read: (ctx) => readShopifyStream(s.name as ShopifyStreamName, ctx, { freeSpace }) })),
  };
}

/** A first run from 1 August: a range of 111 days, read in bulk, in one window of 120 days. */
async function run(free: number, options: { stream?: 'orders' | 'customers'; log?: Logger } = {}) {
  const config = configSchema.parse({
    reportingCurrency: 'EUR',
    reportingTimezone: 'UTC',
    retries: { streamAttempts: 2, backoffSeconds: 0 },
    sources: {
      shopify: { shop: 'verite-test.myshopify.com', apiBaseUrl: fake.url, accessTokenEnv: TOKEN_ENV, startDate: '2026-08-01', bulkWindowDays: 120, maxAttempts: 3 },
    },
  });
  return runPipeline({
    warehouse: wh,
    config,
    log: options.log ?? logger(),
    now: new Date(NOW),
    steps: [],
    window: null,
    stream: options.stream,
    sources: [{ source: sourceWith(free), config: shopifyConfig.parse(config.sources.shopify) }],
  });
}

async function landed(table: 'orders' | 'customers'): Promise<number[]> {
  const res = await wh.pool.query(`select _key from raw.shopify__${table} order by _key::bigint`);
  return res.rows.map((r) => Number(r._key));
}

async function state(stream: string): Promise<unknown> {
  const res = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = $1`, [stream]);
  return res.rows[0]?.state ?? null;
}

const ops = (name: string) => fake.requests.filter((r) => r.operation === name);
const WINDOW = 'window 2026-08-01T00:00:00Z..2026-11-20T12:00:00Z';
const RESUME =
  "so the next run downloads its export without starting a new operation (Shopify keeps an export seven days; after that the window is exported anew)";

describe('a bulk export and the free space of the temporary folder', () => {
  it('fails a stream whose export does not fit, before downloading it, naming its size, the folder, its free space and what to do; the other stream lands', async () => {
    // Two orders with a line item each, two customers with an address each: 4 lines per export.
    fake.orders.push(fakeOrder(1, at(2, 8)), fakeOrder(2, at(20, 9)));
    fake.customers.push(fakeCustomer(1, at(3, 8), undefined, { addresses: 1 }), fakeCustomer(2, at(4, 9), undefined, { addresses: 1 }));
    // Shopify announces 3 GiB for the orders' export; the customers' is its true size (under 2 KiB).
    fake.bulkFileSize = ({ root, bytes }) => (root === 'orders' ? '3221225472' : String(bytes));

    const result = await run(1 * GIB);

    expect(result.status).toBe('failed');
    const orders = result.streams.find((s) => s.stream === 'orders')!;
    const customers = result.streams.find((s) => s.stream === 'customers')!;
    // 3 GiB = 3,221,225,472 bytes. Reading it: the file and its split copy, 2 × 3,221,225,472
    // = 6,442,450,944 bytes, and 64 bytes a line for the ids the copy adds, 4 × 64 = 256:
    // 6,442,451,200 bytes, 6.0000002 GiB. Left free after it: 5% of that, 322,122,560 bytes
    // (307.2 MiB), more than 256 MiB. 6,764,573,760 bytes in all, over the 1 GiB free.
    expect(errorMessage(orders.error)).toBe(
      `[shopify.orders, ${WINDOW}, GET bulk export of orders] not enough free space for the export of bulk operation gid://shopify/BulkOperation/1: ` +
        `it is 3 GiB (fileSize 3221225472 bytes, 4 lines); reading it takes about 6 GiB in ${folder} (the file and a copy of it split for reading), ` +
        `and verite leaves 307.2 MiB free after it; the disk of ${folder} has 1 GiB free. ` +
        `Set TMPDIR to a folder on a disk with room, then run again: operation gid://shopify/BulkOperation/1 stays completed on Shopify's side ` +
        `and its id is kept in the stream's cursor, ${RESUME}`,
    );
    // Trying again in the same run cannot help: the stream is not retried (streamAttempts is 2).
    expect(orders.error).toBeInstanceOf(ExtractError);
    expect((orders.error as ExtractError).permanent).toBe(true);
    expect(orders.attempts).toBe(1);
    // Nothing of the orders was downloaded or landed; the operation waits in the cursor.
    expect(ops('download').map((r) => r.path)).toEqual(['/bulk/2.jsonl']);
    expect(await landed('orders')).toEqual([]);
    expect(await state('orders')).toEqual({ updated_at: null, bulk: { id: 'gid://shopify/BulkOperation/1', from: '2026-08-01T00:00:00Z', to: '2026-11-20T12:00:00Z', landed: 0 } });
    // The customers' export fits (about 2 × 2 KiB, and 256 MiB left free, under 1 GiB) and lands.
    expect(customers.status).toBe('succeeded');
    expect(await landed('customers')).toEqual([501, 502]);
    // The free space asked for is that of TMPDIR, once per export; nothing is left in it.
    expect(asked).toEqual([folder, folder]);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('downloads an export that leaves exactly the margin free, not one a byte short; the next run goes on with the same operation', async () => {
    fake.orders.push(fakeOrder(1, at(2, 8)), fakeOrder(2, at(20, 9)));
    // Announced as 1,000,000 bytes (more than it is: the download stays under it). Reading it
    // takes 2 × 1,000,000 + 4 lines × 64 = 2,000,256 bytes (1.9 MiB); 5% of that is under
    // 256 MiB = 268,435,456 bytes, which is left free: 270,435,712 bytes needed.
    fake.bulkFileSize = () => '1000000';

    const short = await run(270_435_711, { stream: 'orders' });

    expect(short.status).toBe('failed');
    // 1,000,000 bytes = 976.5625 KiB; 270,435,711 bytes = 257.9 MiB.
    expect(errorMessage(short.streams[0]!.error)).toContain(
      `it is 976.6 KiB (fileSize 1000000 bytes, 4 lines); reading it takes about 1.9 MiB in ${folder} (the file and a copy of it split for reading), ` +
        `and verite leaves 256 MiB free after it; the disk of ${folder} has 257.9 MiB free.`,
    );
    expect(ops('download')).toEqual([]);

    const enough = await run(270_435_712, { stream: 'orders' });

    expect(enough.status).toBe('succeeded');
    // The operation the first run left is downloaded: no other is started.
    expect(ops('VeriteBulkRun')).toHaveLength(1);
    expect(ops('download').map((r) => r.path)).toEqual(['/bulk/1.jsonl']);
    expect(await landed('orders')).toEqual([1001, 1002]);
    expect(await state('orders')).toEqual({ updated_at: '2026-11-20T12:00:00.000Z' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('stops a download that runs past the size Shopify announced, lands nothing of it and removes what it wrote', async () => {
    // 60 orders of 40 line items: an export of over 1 MiB, announced as 1000 bytes.
    for (let n = 1; n <= 60; n++) fake.orders.push(fakeOrder(n, at(2, 8), undefined, { lines: 40 }));
    let served = 0;
    fake.bulkFileSize = ({ bytes }) => {
      served = bytes;
      return '1000';
    };

    const result = await run(10 * GIB, { stream: 'orders' });

    expect(result.status).toBe('failed');
    // 1000 bytes and the slack of 1 MiB (1% of 1000 bytes is less): 1000 + 1,048,576 = 1,049,576.
    expect(served).toBeGreaterThan(1_049_576);
    expect(errorMessage(result.streams[0]!.error)).toBe(
      `[shopify.orders, GET bulk export of orders, HTTP 200] the answer from ${new URL(fake.url).host} runs past the 1000 bytes Shopify announced ` +
        'for the export of bulk operation gid://shopify/BulkOperation/1 (fileSize), and 1 MiB of slack: the download was stopped before writing more than 1049576 bytes',
    );
    expect((result.streams[0]!.error as ExtractError).permanent).toBe(true);
    // Asked for once (the same file would be as large), nothing landed, nothing left behind.
    expect(ops('download')).toHaveLength(1);
    expect(await landed('orders')).toEqual([]);
    expect(readdirSync(folder)).toEqual([]);
    expect(await state('orders')).toMatchObject({ bulk: { id: 'gid://shopify/BulkOperation/1', landed: 0 } });
  });

  it('downloads an export whose size Shopify does not give (fileSize null) as before, without asking the free space, and says so', async () => {
    fake.orders.push(fakeOrder(1, at(2, 8)), fakeOrder(2, at(20, 9)));
    fake.bulkFileSize = () => null;
    const lines: string[] = [];
    const log = createLogger({ write: (l: string) => void lines.push(l) }, 'info');

    // No byte free: checked, the export would not fit.
    const result = await run(0, { stream: 'orders', log });

    expect(result.status).toBe('succeeded');
    expect(asked).toEqual([]);
    expect(await landed('orders')).toEqual([1001, 1002]);
    const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string; operation?: string }).filter((l) => l.msg.includes('fileSize'));
    expect(said.map((l) => [l.level, l.operation, l.msg])).toEqual([
      [30, 'gid://shopify/BulkOperation/1', 'Shopify gave no size for the bulk export (fileSize): it is downloaded without checking the free space first'],
    ]);
  });
});
