/**
 * Loader benchmark: lands N generated Shopify-shaped orders (default 1,000,000) from a JSON
 * lines file through the raw loader (parse, key, merge by key, cursor), then lands the same
 * lines with a plain COPY into a one-column jsonb table, and prints records/s for both,
 * their ratio and the loader's peak memory. A second, smaller size shows whether memory
 * grows with N. Each size is measured `BENCH_ROUNDS` times (default 3), loader and COPY in
 * turn, and the medians are printed (the ratio is the median of each round's own ratio, so a
 * machine whose speed drifts between rounds still compares like with like). It also prints
 * how fast the demo generator makes orders.
 *
 *   npm run bench                         # 1,000,000 records, 3 rounds
 *   npm run bench -- 200000               # another N
 *   BENCH_ROUNDS=1 npm run bench          # one round
 */
import { chmodSync, createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { generateShopifyOrders } from '../extractors/demo/index.ts';
import { catalog } from '../catalog/catalog.ts';
import { landPage } from '../loaders/raw-loader.ts';
import { readRecordsFile } from '../loaders/file-reader.ts';
import { connect, openWarehouse } from '../warehouse/connection.ts';
import { migrateToLatest } from '../warehouse/migrate.ts';
import { freshDatabase } from './fresh-database.ts';
import { median } from './median.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_RECORDS ?? 1_000_000);
const PAGE = Number(process.env.BENCH_PAGE ?? 5000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

/** Orders per second of CPU time the demo generator makes, after a warm-up (median of 3). */
function generatorRate(): number {
  for (const _ of generateShopifyOrders(5_000, 9));
  const rates: number[] = [];
  for (let round = 0; round < 3; round++) {
    const n = 50_000;
    const before = process.cpuUsage();
    for (const _ of generateShopifyOrders(n, 7 + round));
    const used = process.cpuUsage(before);
    rates.push(n / ((used.user + used.system) / 1e6));
  }
  return median(rates);
}

async function writeJsonl(path: string, n: number): Promise<number> {
  await pipeline(
    Readable.from((function* () {
      for (const order of generateShopifyOrders(n, 7)) yield `${JSON.stringify(order)}\n`;
    })()),
    createWriteStream(path),
  );
  return statSync(path).size;
}

/** Samples the resident set size while `fn` runs; returns the peak above the level before. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; peakRssMb: number; baseRssMb: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = process.hrtime.bigint();
  const result = await fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, seconds, peakRssMb: peak / 2 ** 20, baseRssMb: base / 2 ** 20 };
}

async function loaderRun(url: string, file: string): Promise<number> {
  const { db, pool } = connect(url, 2);
  await migrateToLatest(db);
  let n = 0;
  let page = 0;
  for await (const records of readRecordsFile(file, { batchSize: PAGE })) {
    const r = await landPage(pool, { source: 'shopify', stream: catalog.shopify.orders, runId: 'bench', batchId: 'bench' }, { records, state: { page: ++page } });
    n += r.written;
  }
  await db.destroy();
  return n;
}

async function copyRun(url: string, file: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('create table plain_copy (doc jsonb)');
  // COPY's text format: JSON lines only need their backslashes doubled.
  const escape = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) yield chunk.toString('utf8').replace(/\\/g, '\\\\');
  };
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), escape, client.query(copyFrom('copy plain_copy (doc) from stdin')));
  const { rows } = await client.query('select count(*)::int as n from plain_copy');
  await client.end();
  return rows[0].n as number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verite-bench-'));
  chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
  const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, cwd: dir, migrate: false });
  try {
    const sizes = [Math.max(1000, Math.round(N / 4)), N];
    process.stdout.write(`verite loader benchmark: ${sizes.join(' and ')} Shopify-shaped orders, pages of ${PAGE}, ${ROUNDS} round(s) each, medians\n`);
    process.stdout.write(`warehouse: ${warehouse.describe}\n\n`);
    const rows: string[] = [];
    for (const n of sizes) {
      const file = join(dir, `orders-${n}.jsonl`);
      const bytes = await writeJsonl(file, n);
      const loaderRates: number[] = [];
      const copyRates: number[] = [];
      const ratios: number[] = [];
      const peaks: number[] = [];
      const growths: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const loaderDb = await freshDatabase(warehouse.url, 'verite_bench_loader');
        const loader = await measured(() => loaderRun(loaderDb, file));
        const copyDb = await freshDatabase(warehouse.url, 'verite_bench_copy');
        const copy = await measured(() => copyRun(copyDb, file));
        if (loader.result !== n || copy.result !== n) throw new Error(`landed ${loader.result} (loader) and ${copy.result} (copy) of ${n}`);
        loaderRates.push(n / loader.seconds);
        copyRates.push(n / copy.seconds);
        ratios.push(copy.seconds / loader.seconds);
        peaks.push(loader.peakRssMb);
        growths.push(loader.peakRssMb - loader.baseRssMb);
        process.stderr.write(`  ${n} records, round ${round + 1}/${ROUNDS}: loader ${Math.round(n / loader.seconds)}/s, COPY ${Math.round(n / copy.seconds)}/s\n`);
      }
      rows.push(
        [
          n.toLocaleString('en-US').padStart(10),
          `${(bytes / 2 ** 20).toFixed(0)} MiB`.padStart(9),
          `${Math.round(median(loaderRates)).toLocaleString('en-US')}/s`.padStart(12),
          `${Math.round(median(copyRates)).toLocaleString('en-US')}/s`.padStart(12),
          `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`.padStart(17),
          `${Math.max(...peaks).toFixed(0)} MiB`.padStart(10),
          `${median(growths).toFixed(0)} MiB`.padStart(10),
        ].join('  '),
      );
      rmSync(file, { force: true });
    }
    process.stdout.write(`${['   records', '     file', '      loader', '    raw COPY', '  ratio (min–max)', ' peak RSS', ' RSS growth'].join('  ')}\n`);
    for (const row of rows) process.stdout.write(`${row}\n`);
    process.stdout.write('\nratio = loader records/s ÷ plain COPY records/s, per round; peak RSS is the whole process while the loader ran (largest round).\n');
    process.stdout.write(`demo generator: ${Math.round(generatorRate()).toLocaleString('en-US')} Shopify orders per CPU second (median of 3)\n`);
  } finally {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
