/**
 * Shopify bulk export benchmark: writes an ungrouped JSONL export of N orders (default
 * 200,000) with 3 line items each, the line items scattered as Shopify may write them since
 * API version 2026-01 (a third at the top of the file, a third just after their order, a third
 * at the end), reads it back with `readBulkObjects` (two passes through part files on disk),
 * and prints the file size, objects/s, the time of the read and the peak memory (RSS and heap)
 * over it, against the same for a file a tenth as large: memory should follow the size of a
 * part (about 16 MB of export), not of the file.
 *
 *   npm run bench:shopify-bulk                # 200,000 orders
 *   npm run bench:shopify-bulk -- 50000       # another N
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBulkObjects } from '../extractors/shopify/bulk-file.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_ORDERS ?? 200_000);
const ITEMS = 3;

const money = (amount: string) => ({ shopMoney: { amount, currencyCode: 'EUR' }, presentmentMoney: { amount, currencyCode: 'EUR' } });

function order(i: number): string {
  return JSON.stringify({
    id: `gid://shopify/Order/${1_000_000 + i}`,
    name: `#${1000 + i}`,
    email: `buyer${i}@example.com`,
    createdAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
    updatedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
    currencyCode: 'EUR',
    totalPriceSet: money('30.00'),
    subtotalPriceSet: money('30.00'),
    customer: { id: `gid://shopify/Customer/${500_000 + (i % 50_000)}` },
    customerJourneySummary: { firstVisit: { landingPage: `https://shop.example/?utm_source=news&n=${i}`, referrerUrl: null } },
    refunds: [],
  });
}

function item(i: number, j: number): string {
  return JSON.stringify({
    id: `gid://shopify/LineItem/${(1_000_000 + i) * 10 + j}`,
    title: `Item ${j}`,
    quantity: 1,
    sku: `SKU-${j}`,
    variant: { id: `gid://shopify/ProductVariant/${700 + j}` },
    originalUnitPriceSet: money('10.00'),
    __parentId: `gid://shopify/Order/${1_000_000 + i}`,
  });
}

async function write(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  const put = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  for (let i = 0; i < n; i++) await put(item(i, 0)); // every order's first item before any order
  for (let i = 0; i < n; i++) {
    await put(order(i));
    await put(item(i, 1));
  }
  for (let i = 0; i < n; i++) await put(item(i, 2)); // and its last after every order
  out.end();
  await once(out, 'finish');
}

async function measure(n: number, dir: string) {
  const file = join(dir, `export-${n}.jsonl`);
  await write(file, n);
  const bytes = statSync(file).size;
  global.gc?.();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const started = process.hrtime.bigint();
  let objects = 0;
  let children = 0;
  for await (const o of readBulkObjects(file, { source: 'shopify', stream: 'orders' })) {
    objects++;
    children += o.children.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  if (objects !== n || children !== n * ITEMS) throw new Error(`read ${objects} orders and ${children} line items, expected ${n} and ${n * ITEMS}`);
  rmSync(file);
  return { n, mb: bytes / 1e6, seconds, rate: objects / seconds, rssMb: (peakRss - before.rss) / 1e6, heapMb: (peakHeap - before.heapUsed) / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'verite-bench-shopify-'));
try {
  for (const n of [Math.max(1, Math.round(N / 10)), N]) {
    const r = await measure(n, dir);
    console.log(
      `${r.n.toLocaleString('en')} orders (${r.mb.toFixed(0)} MB ungrouped): read in ${r.seconds.toFixed(1)} s, ` +
        `${Math.round(r.rate).toLocaleString('en')} orders/s, peak memory over the read +${r.rssMb.toFixed(0)} MB RSS, +${r.heapMb.toFixed(0)} MB heap`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
