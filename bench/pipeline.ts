/**
 * Pipeline benchmark: builds a demo shop of N orders a day for D days in a fresh embedded
 * PostgreSQL (in the system's temp folder, removed afterwards; or DATABASE_URL's server), then
 * times what `verite run` does with it and prints each figure next to its ratio to ONE
 * AGGREGATE SCAN of the raw orders measured in the same run (`count(*)` and
 * `sum(total_price)` by date, read from the landed JSON): the yardstick that moves with the
 * machine, so figures of a loaded machine and of an idle one compare.
 *
 * Printed: the extract and load; the first full build (the transform, model by model, and the
 * metrics refresh, table by table; then the scan measured again, to show how far the machine's
 * speed moved during the run); a run with no new data (transform and refresh again); a
 * nightly run after one new day (that day landed, then transform and refresh, each bringing its
 * tables up to date from what changed, model by model); the periodic full rebuild after it (every
 * table rebuilt over its published rows, as `transform.fullRebuildEveryDays` or `--full` does,
 * models of 5 s or more listed); the node process's peak memory in each
 * phase, resident (RSS) and V8's heap in use (the demo is streamed page by page, so neither may
 * grow with N); and the warehouse's size.
 * The predicted-CLV fit (`npm run bench:clv`) is left out: it is measured on its own.
 *
 *   npm run bench:pipeline                                  # 1,400 orders a day for 730 days (~1M orders)
 *   npm run bench:pipeline -- --orders-per-day 350 --days 730   # ~250k orders
 *   BENCH_SCANS=5 npm run bench:pipeline -- ...            # the scan measured 5 times (median; default 3)
 *   npm run bench:pipeline -- --data-dir DIR ...           # keep the warehouse in DIR; a second run on it
 *                                                          # skips landing, drops what the transform and the
 *                                                          # refresh built (so the first build is one), and
 *                                                          # lands the day after the last one landed as its nightly day,
 *                                                          # of the shop's size (DIR/bench-shop.json keeps its parameters)
 *   npm run bench:pipeline -- --phases land ...            # only the extract and load (and its memory)
 *
 * Set VERITE_LOG_LEVEL=info to see the run's log lines on stderr.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { configSchema, demoConfig, type VeriteConfig } from '../config/schema.ts';
import { demoSources } from '../extractors/demo/index.ts';
import type { Stream } from '../extractors/types.ts';
import { createLogger, logLevelOf } from '../lib/logger.ts';
import { silentProgress } from '../lib/progress.ts';
import { refreshMetrics, type MetricsRefreshResult } from '../metrics/refresh.ts';
import { runPipeline, type ResolvedSource } from '../pipeline/run.ts';
import { models } from '../transforms/models.ts';
import { runTransforms } from '../transforms/runner.ts';
import { metricViews } from '../metrics/views/index.ts';
import type { TransformResult } from '../transforms/runner.ts';
import { openWarehouse, type Warehouse } from '../warehouse/connection.ts';
import { median } from './median.ts';

const { values: args } = parseArgs({
  options: {
    'orders-per-day': { type: 'string' },
    days: { type: 'string' },
    seed: { type: 'string' },
    // The demo's last day, pinned so that two runs of the benchmark build the same shop.
    'end-date': { type: 'string' },
    // Keep the warehouse in this folder; when it already holds the shop, landing is skipped.
    'data-dir': { type: 'string' },
    // `land`: only the extract and load; `all`: everything below.
    phases: { type: 'string', default: 'all' },
  },
});
if (args.phases !== 'all' && args.phases !== 'land') throw new Error(`--phases: expected all or land, got ${args.phases}`);
type ShopParameter = 'orders-per-day' | 'days' | 'seed' | 'end-date';
const DEFAULTS: Record<ShopParameter, string> = { 'orders-per-day': '1400', days: '730', seed: '42', 'end-date': '2025-12-31' };
/**
 * A kept warehouse's shop, written when it was landed: a later run on it lands its nightly day
 * with the same parameters (a day of another size would not be the shop's night), and refuses
 * others.
 */
const SHOP_FILE = args['data-dir'] ? join(args['data-dir'], 'bench-shop.json') : undefined;
const KEPT_SHOP = SHOP_FILE && existsSync(SHOP_FILE) ? (JSON.parse(readFileSync(SHOP_FILE, 'utf8')) as Partial<Record<ShopParameter, string>>) : undefined;
function shopParameter(name: ShopParameter): string {
  const given = args[name];
  const kept = KEPT_SHOP?.[name];
  if (given !== undefined && kept !== undefined && given !== kept) {
    throw new Error(`${args['data-dir']} holds a shop landed with --${name} ${kept}, not ${given}: run it with the same, or with another --data-dir`);
  }
  return given ?? kept ?? DEFAULTS[name];
}
const ORDERS_PER_DAY = Number(shopParameter('orders-per-day'));
const DAYS = Number(shopParameter('days'));
const SEED = Number(shopParameter('seed'));
const END_DATE = shopParameter('end-date');
const SCANS = Math.max(1, Number(process.env.BENCH_SCANS ?? 3));

/** The next calendar day of a YYYY-MM-DD date. */
function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - started) / 1e9];
}

/** A phase's peak memory, MiB: resident set size, and V8's heap in use (live data and garbage not yet collected). */
interface PeakMemory {
  rss: number;
  heapUsed: number;
}

const MiB = 2 ** 20;

/** The kernel's high-water mark of this process's resident set (Linux: VmHWM), MiB; null elsewhere. */
function kernelPeakRss(): number | null {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** V8's full collection, when node runs with `--expose-gc` (as `npm run bench:pipeline` does). */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

/**
 * Runs `fn` and gives its peak memory. The heap is sampled every 50 ms (and at the end); the
 * resident peak is the kernel's high-water mark, reset at the start of the phase where Linux
 * allows (`/proc/self/clear_refs`), so a phase is not credited with an earlier one's peak;
 * elsewhere it is the sampled peak. The phase starts after a full garbage collection (`npm run
 * bench:pipeline` runs node with `--expose-gc`): V8 collects lazily, and an earlier phase's
 * garbage (a night's landed pages) would otherwise be counted in the next one's peak.
 */
async function withPeakMemory<T>(fn: () => Promise<T>): Promise<[T, PeakMemory]> {
  collectGarbage?.();
  let reset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    reset = kernelPeakRss() !== null;
  } catch {
    // Not Linux: the sampled peak stands.
  }
  const peak: PeakMemory = { rss: 0, heapUsed: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss / MiB);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed / MiB);
  };
  sample();
  const timer = setInterval(sample, 50);
  timer.unref();
  try {
    const value = await fn();
    sample();
    if (reset) peak.rss = Math.max(peak.rss, kernelPeakRss() ?? 0);
    return [value, peak];
  } finally {
    clearInterval(timer);
  }
}

/** The yardstick: one aggregate scan of the raw orders, read from the JSON as landed. */
async function aggregateScan(warehouse: Warehouse): Promise<number> {
  const [, seconds] = await timed(() =>
    sql`select (_record->>'created_at')::date as date, count(*) as orders, sum((_record->>'total_price')::numeric) as revenue
          from raw.shopify__orders group by 1`.execute(warehouse.db),
  );
  return seconds;
}

/**
 * On a kept warehouse: drops every table the transform and the refresh build, and what they
 * recorded of their builds, so the build that follows is a first build, as on a new shop.
 */
async function forgetBuilds(warehouse: Warehouse): Promise<void> {
  for (const model of models) await sql`drop table if exists ${sql.table(model.name)} cascade`.execute(warehouse.db);
  for (const view of metricViews) await sql`drop table if exists ${sql.table(`metrics.${view.name}`)} cascade`.execute(warehouse.db);
  await sql`delete from ops.model_builds`.execute(warehouse.db);
  await sql`delete from ops.metric_inputs_changed`.execute(warehouse.db);
  await sql`delete from ops.set_aside`.execute(warehouse.db);
  await sql`truncate ops.raw_changes`.execute(warehouse.db);
}

/** The last day an order was landed for (its own date as written), '' when none. */
async function lastLandedDay(warehouse: Warehouse): Promise<string> {
  const res = await sql<{ day: string | null }>`select max(left(_record->>'created_at', 10)) as day from raw.shopify__orders`.execute(warehouse.db);
  return res.rows[0]?.day ?? '';
}

function sources(config: VeriteConfig, days: number, endDate: string): ResolvedSource[] {
  const options = demoConfig.parse({ seed: SEED, days, ordersPerDay: ORDERS_PER_DAY, endDate });
  return demoSources({ seed: SEED, days, ordersPerDay: ORDERS_PER_DAY, endDate, reportingCurrency: config.reportingCurrency }).map((source) => ({ source, config: options }));
}

/**
 * The sources with the time spent inside their streams' reads added up in `clock.ms`: what the
 * demo takes to simulate its shop, apart from what verite takes to land the records. The
 * pipeline reads one stream at a time, so the sum is wall time.
 */
function timedSources(resolved: ResolvedSource[], clock: { ms: number }): ResolvedSource[] {
  const timed = (stream: Stream): Stream => ({
    ...stream,
    read: (ctx) => ({
      [Symbol.asyncIterator]: () => {
        const pages = stream.read(ctx)[Symbol.asyncIterator]();
        return {
          next: async () => {
            const started = performance.now();
            try {
              return await pages.next();
            } finally {
              clock.ms += performance.now() - started;
            }
          },
          return: async (value?: unknown) => pages.return?.(value) ?? { done: true as const, value: undefined },
        };
      },
    }),
  });
  return resolved.map(({ source, config }) => ({ source: { ...source, streams: source.streams.map(timed) }, config }));
}

interface Build {
  transform: TransformResult;
  transformSeconds: number;
  metrics: MetricsRefreshResult;
  metricsSeconds: number;
}

/** The transform and the metrics refresh, as `verite run` takes them after loading. */
async function build(warehouse: Warehouse, config: VeriteConfig, now: Date, full = false): Promise<Build> {
  const log = createLogger(process.stderr, logLevelOf(process.env.VERITE_LOG_LEVEL, 'silent'));
  const [transform, transformSeconds] = await timed(() => runTransforms(warehouse, config, { log, now, full }));
  if (transform.status !== 'succeeded') throw new Error(`transform failed: ${transform.error}`);
  const [metrics, metricsSeconds] = await timed(() => refreshMetrics(warehouse, config, log, { now, full }));
  if (metrics.status !== 'succeeded') throw new Error(`metrics refresh failed: ${metrics.error}`);
  return { transform, transformSeconds, metrics, metricsSeconds };
}

async function land(warehouse: Warehouse, config: VeriteConfig, resolved: ResolvedSource[], now: Date, window: { from: string; to: string } | null): Promise<number> {
  const log = createLogger(process.stderr, logLevelOf(process.env.VERITE_LOG_LEVEL, 'silent'));
  const result = await runPipeline({ warehouse, config, log, sources: resolved, steps: [], now, window, kind: 'demo', progress: silentProgress });
  if (result.status !== 'succeeded') throw new Error(`landing failed: ${result.error}`);
  return result.landed;
}

const s = (seconds: number) => `${seconds.toFixed(1)} s`;
const row = (label: string, seconds: number, scan: number) => `  ${label.padEnd(40)} ${s(seconds).padStart(10)} ${`${(seconds / scan).toFixed(2)}×`.padStart(9)}\n`;

async function main(): Promise<void> {
  const kept = args['data-dir'];
  const dir = kept ?? mkdtempSync(join(tmpdir(), 'verite-bench-pipeline-'));
  if (kept) mkdirSync(kept, { recursive: true }); // a new folder on the first run
  chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
  const warehouse = await openWarehouse({ cwd: dir, dataDir: process.env.DATABASE_URL ? undefined : kept ? dir : join(dir, '.verite') });
  const config = configSchema.parse({ sources: { demo: {} } });
  const out = (text: string) => process.stdout.write(text);
  try {
    out(`verite pipeline benchmark: demo shop, ${ORDERS_PER_DAY} orders a day for ${DAYS} days to ${END_DATE} (seed ${SEED})\n`);
    out(`warehouse: ${warehouse.describe}\n\n`);
    // The run's clock: the morning after the last day, so every day is complete.
    const now = new Date(`${nextDay(END_DATE)}T06:00:00Z`);
    const countOrders = async () => (await sql<{ n: number }>`select count(*)::int as n from raw.shopify__orders`.execute(warehouse.db)).rows[0]!.n;
    const reused = kept !== undefined && (await countOrders()) > 0;
    const memory: [phase: string, peak: PeakMemory][] = [];
    const printMemory = () => {
      out(`${'peak memory of the node process'.padEnd(42)}${'resident'.padStart(10)}${'heap used'.padStart(11)}\n`);
      if (!collectGarbage) out('  (node ran without --expose-gc: a phase may count an earlier one\'s uncollected garbage)\n');
      for (const [phase, peak] of memory) out(`  ${phase.padEnd(40)}${`${peak.rss.toFixed(0)} MiB`.padStart(10)}${`${peak.heapUsed.toFixed(0)} MiB`.padStart(11)}\n`);
    };
    const [[landed, loadSeconds], landMemory] = await withPeakMemory(async () =>
      reused ? ([0, 0] as const) : timed(() => land(warehouse, config, sources(config, DAYS, END_DATE), now, null)),
    );
    if (!reused) memory.push(['extract and load', landMemory]);
    if (SHOP_FILE && !reused) {
      writeFileSync(SHOP_FILE, `${JSON.stringify({ 'orders-per-day': String(ORDERS_PER_DAY), days: String(DAYS), seed: String(SEED), 'end-date': END_DATE })}\n`);
    }
    const orders = await countOrders();
    if (args.phases === 'land') {
      out(reused ? `${orders.toLocaleString('en-US')} orders, landed by an earlier run in ${kept}: nothing to land\n` : `${orders.toLocaleString('en-US')} orders; ${landed.toLocaleString('en-US')} records of every stream landed in ${s(loadSeconds)}\n\n`);
      printMemory();
      return;
    }
    if (reused) await forgetBuilds(warehouse);
    // A kept warehouse may hold nightly days an earlier run landed: the builds' clock is the
    // morning after the last day landed, so none of its orders is in the future.
    const lastDay = await lastLandedDay(warehouse);
    const buildNow = lastDay > END_DATE ? new Date(`${nextDay(lastDay)}T06:00:00Z`) : now;
    await sql`vacuum analyze`.execute(warehouse.db);

    const scans: number[] = [];
    for (let i = 0; i < SCANS; i++) scans.push(await aggregateScan(warehouse));
    const scan = median(scans);
    out(reused ? `${orders.toLocaleString('en-US')} orders, landed by an earlier run in ${kept}\n` : `${orders.toLocaleString('en-US')} orders; ${landed.toLocaleString('en-US')} records of every stream landed\n`);
    out(`one aggregate scan of the raw orders (count, sum(total_price) by date from the JSON): ${s(scan)} (median of ${SCANS}: ${scans.map(s).join(', ')})\n\n`);
    out(`${''.padEnd(42)}${'time'.padStart(10)} ${'÷ scan'.padStart(9)}\n`);
    if (!reused) out(row('extract and load', loadSeconds, scan));

    // In full, as the first build of a shop is (and as it is on a warehouse kept from an earlier run).
    const [first, firstMemory] = await withPeakMemory(() => build(warehouse, config, buildNow, true));
    memory.push(['first build: transform + metrics', firstMemory]);
    out(row('first build: transform', first.transformSeconds, scan));
    for (const model of first.transform.results) out(row(`  ${model.model}`, (model.ms ?? 0) / 1000, scan));
    out(row('first build: metrics refresh', first.metricsSeconds, scan));
    for (const table of first.metrics.tables) out(row(`  ${table.table}`, table.ms / 1000, scan));
    const firstTotal = first.transformSeconds + first.metricsSeconds;
    out(row('first build: transform + metrics', firstTotal, scan));
    // The yardstick again, after the build: how far the machine's speed moved within the run (one
    // scan varies by a quarter between runs on a shared two-core machine). The figures above and
    // below stay against the scans before the build.
    const scansAfter: number[] = [];
    for (let i = 0; i < SCANS; i++) scansAfter.push(await aggregateScan(warehouse));
    const allScans = median([...scans, ...scansAfter]);
    out(
      `  (the scan again after the first build: ${s(median(scansAfter))}, median of ${SCANS}: ${scansAfter.map(s).join(', ')}; ` +
        `against the median of all ${2 * SCANS} scans, ${s(allScans)}, the first build is ${(firstTotal / allScans).toFixed(2)}×)\n`,
    );

    const [again, againMemory] = await withPeakMemory(() => build(warehouse, config, buildNow));
    memory.push(['no new data: transform + metrics', againMemory]);
    const againTotal = again.transformSeconds + again.metricsSeconds;
    out(row('no new data: transform + metrics', againTotal, scan));

    // One more day: its records landed (the demo reads that day; a real source reads from its cursor), then the build.
    // The day after the last one landed (a kept warehouse may have had nightly days already).
    const newDay = nextDay(lastDay > END_DATE ? lastDay : END_DATE);
    const extraDays = Math.round((Date.parse(newDay) - Date.parse(END_DATE)) / 86_400_000);
    const later = new Date(`${nextDay(newDay)}T06:00:00Z`);
    const demoReading = { ms: 0 };
    const [[[, nightlyLoad], nightly], nightlyMemory] = await withPeakMemory(async () => [
      await timed(() => land(warehouse, config, timedSources(sources(config, DAYS + extraDays, newDay), demoReading), later, { from: newDay, to: newDay })),
      await build(warehouse, config, later),
    ] as const);
    memory.push(['nightly: load a day, transform, metrics', nightlyMemory]);
    const nightlyTotal = nightly.transformSeconds + nightly.metricsSeconds;
    out(row('nightly: extract and load one day', nightlyLoad, scan));
    // The demo simulates its shop from its first day to give one day's stock and customers: a
    // real source's share is its API's instead.
    out(row('  the demo source simulating the day', demoReading.ms / 1000, scan));
    out(row('  landing it (loader, run bookkeeping)', nightlyLoad - demoReading.ms / 1000, scan));
    out(row('nightly: transform + metrics', nightlyTotal, scan));
    out(row('  transform', nightly.transformSeconds, scan));
    for (const model of nightly.transform.results.filter((r) => (r.ms ?? 0) >= 100)) out(row(`    ${model.model} (${model.mode})`, (model.ms ?? 0) / 1000, scan));
    out(row('  metrics refresh', nightly.metricsSeconds, scan));
    for (const table of nightly.metrics.tables) out(row(`    ${table.table} (${table.mode})`, table.ms / 1000, scan));
    out(
      `  (a run with no new data is ${((againTotal / firstTotal) * 100).toFixed(1)}% ` +
        `and the nightly run ${((nightlyTotal / firstTotal) * 100).toFixed(1)}% of the first build's transform and metrics)\n`,
    );

    // The periodic full rebuild (transform.fullRebuildEveryDays, weekly by default, or --full):
    // every table rebuilt over its published rows, which readers keep reading meanwhile.
    const [rebuilt, rebuiltMemory] = await withPeakMemory(() => build(warehouse, config, later, true));
    memory.push(['full rebuild: transform + metrics', rebuiltMemory]);
    const rebuiltTotal = rebuilt.transformSeconds + rebuilt.metricsSeconds;
    out(row('full rebuild: transform + metrics', rebuiltTotal, scan));
    out(row('  transform', rebuilt.transformSeconds, scan));
    for (const model of rebuilt.transform.results.filter((r) => (r.ms ?? 0) >= 5000)) out(row(`    ${model.model}`, (model.ms ?? 0) / 1000, scan));
    out(row('  metrics refresh', rebuilt.metricsSeconds, scan));
    out('\n');

    const size = await sql<{ bytes: number; raw: number; staging: number; core: number; metrics: number }>`
      select pg_database_size(current_database())::bigint as bytes,
             ${sql.join(['raw', 'staging', 'core', 'metrics'].map((schema) => sql`(select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ${schema} and c.relkind in ('r', 'm', 'p')) as ${sql.id(schema)}`))}`.execute(warehouse.db);
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    const sz = size.rows[0]!;
    out(`warehouse size: ${mb(sz.bytes)} (raw ${mb(sz.raw)}, staging ${mb(sz.staging)}, core ${mb(sz.core)}, metrics ${mb(sz.metrics)})\n`);
    printMemory();
  } finally {
    await warehouse.close();
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:pipeline failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
