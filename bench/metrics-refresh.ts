/**
 * Metrics refresh benchmark: the incremental refresh against the full one, on a demo shop of N
 * orders a day for D days (a fresh embedded PostgreSQL in the system's temp folder, removed
 * afterwards; or DATABASE_URL's server), and a check that they publish the same tables.
 *
 * 1. The shop is landed and transformed, and the metrics refreshed in full (the first refresh).
 * 2. One more day is landed and transformed. What the transform replaced in core is written to
 *    `ops.metric_inputs_changed` as an incremental transform writes it: every date of each
 *    date column whose rows changed (compared row for row before and after the transform, old
 *    and new), every customer changed, `everything` for products and variants when they changed.
 * 3. The nightly refresh (incremental), table by table with what it did, then a full refresh at
 *    the same clock: every metric table must hold the same rows (a checksum per table); the
 *    benchmark fails when one differs.
 * 4. A refresh with nothing changed.
 *
 *   npm run bench:metrics-refresh -- --orders-per-day 100 --days 200
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import { configSchema, demoConfig, type VeriteConfig } from '../config/schema.ts';
import { demoSources } from '../extractors/demo/index.ts';
import { addDays } from '../lib/dates.ts';
import { createLogger, logLevelOf } from '../lib/logger.ts';
import { silentProgress } from '../lib/progress.ts';
import { refreshMetrics, type MetricsRefreshResult } from '../metrics/refresh.ts';
import { runPipeline, type ResolvedSource } from '../pipeline/run.ts';
import { runTransforms } from '../transforms/runner.ts';
import { openWarehouse, type Warehouse } from '../warehouse/connection.ts';
import type { Database } from '../warehouse/database.ts';

const { values: args } = parseArgs({
  options: {
    'orders-per-day': { type: 'string', default: '100' },
    days: { type: 'string', default: '200' },
    seed: { type: 'string', default: '42' },
    'end-date': { type: 'string', default: '2025-12-31' },
  },
});
const ORDERS_PER_DAY = Number(args['orders-per-day']);
const DAYS = Number(args.days);
const SEED = Number(args.seed);
const END_DATE = args['end-date']!;
const log = createLogger(process.stderr, logLevelOf(process.env.VERITE_LOG_LEVEL, 'silent'));

/** The date columns of each core model the metrics read, as the transform records them (docs/scale.md). */
const DATE_COLUMNS: Record<string, string[]> = {
  'core.orders': ['order_date'],
  'core.order_lines': ['order_date'],
  'core.refunds': ['refund_date'],
  'core.refund_lines': ['refund_date'],
  'core.refund_shipping_lines': ['refund_date'],
  'core.payments': ['payment_date'],
  'core.spend': ['date'],
  'core.traffic': ['date'],
  'core.fx_rates': ['date'],
  'core.shipments': ['shipped_date', 'promised_date', 'delivered_date', 'returned_date', 'cost_date'],
  'core.customers': ['first_order_date', 'last_order_date'],
  'core.inventory_levels': ['snapshot_date'],
  'core.balance_transactions': ['transaction_date'],
};

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [value, Number(process.hrtime.bigint() - started) / 1e9];
}

function sources(config: VeriteConfig, days: number, endDate: string): ResolvedSource[] {
  const options = demoConfig.parse({ seed: SEED, days, ordersPerDay: ORDERS_PER_DAY, endDate });
  return demoSources({ seed: SEED, days, ordersPerDay: ORDERS_PER_DAY, endDate, reportingCurrency: config.reportingCurrency }).map((source) => ({ source, config: options }));
}

async function land(warehouse: Warehouse, config: VeriteConfig, resolved: ResolvedSource[], now: Date, window: { from: string; to: string } | null): Promise<void> {
  const result = await runPipeline({ warehouse, config, log, sources: resolved, steps: [], now, window, kind: 'demo', progress: silentProgress });
  if (result.status !== 'succeeded') throw new Error(`landing failed: ${result.error}`);
}

async function columnsOf(db: Kysely<Database>, table: string): Promise<string[]> {
  const [schema, name] = table.split('.');
  const res = await sql<{ c: string }>`select column_name as c from information_schema.columns where table_schema = ${schema} and table_name = ${name}`.execute(db);
  return res.rows.map((r) => r.c);
}

/** Per model: a checksum of its rows per value of each date column, per customer, or of the whole table. */
async function fingerprint(db: Kysely<Database>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [table, dates] of Object.entries(DATE_COLUMNS)) {
    const columns = new Set(await columnsOf(db, table));
    for (const column of dates.filter((c) => columns.has(c))) {
      const res = await sql<{ d: string; h: string }>`
        select ${sql.ref(column)}::text as d, md5(string_agg(t::text, '|' order by t::text)) as h
          from ${sql.table(table)} t where ${sql.ref(column)} is not null group by 1`.execute(db);
      for (const r of res.rows) out.set(`${table}|date|${r.d}`, r.h);
    }
  }
  for (const r of (await sql<{ k: string; h: string }>`select customer_key as k, md5(t::text) as h from core.customers t`.execute(db)).rows) out.set(`core.customers|customer|${r.k}`, r.h);
  for (const table of ['core.products', 'core.product_variants']) {
    if ((await columnsOf(db, table)).length === 0) continue;
    const res = await sql<{ h: string | null }>`select md5(string_agg(t::text, '|' order by t::text)) as h from ${sql.table(table)} t`.execute(db);
    out.set(`${table}|everything|`, res.rows[0]?.h ?? '');
  }
  return out;
}

/** What the transform replaced, as it records it: every key whose checksum differs before and after. */
async function recordChanges(db: Kysely<Database>, before: Map<string, string>, after: Map<string, string>): Promise<number> {
  let n = 0;
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(key) === after.get(key)) continue;
    const [model, kind, value] = key.split('|') as [string, string, string];
    if (kind === 'date') await sql`insert into ops.metric_inputs_changed (model, date) values (${model}, ${value}::date)`.execute(db);
    else if (kind === 'customer') await sql`insert into ops.metric_inputs_changed (model, customer_key) values (${model}, ${value})`.execute(db);
    else await sql`insert into ops.metric_inputs_changed (model, everything) values (${model}, true)`.execute(db);
    n++;
  }
  return n;
}

/** A checksum of every table and view of schema metrics. */
async function metricsChecksums(db: Kysely<Database>): Promise<Map<string, string>> {
  const tables = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'metrics' order by 1`.execute(db);
  const out = new Map<string, string>();
  for (const { name } of tables.rows) {
    const res = await sql<{ h: string | null }>`select md5(string_agg(t::text, '|' order by t::text)) as h from ${sql.table(`metrics.${name}`)} t`.execute(db);
    out.set(name, res.rows[0]?.h ?? '');
  }
  return out;
}

const out = (text: string) => process.stdout.write(text);

function printTables(label: string, seconds: number, result: MetricsRefreshResult): void {
  out(`${label}: ${seconds.toFixed(2)} s${result.fullRefreshReason ? ` (full: ${result.fullRefreshReason})` : ''}\n`);
  for (const t of result.tables) {
    out(`  ${t.table.padEnd(38)} ${t.mode.padEnd(12)} ${`${(t.ms / 1000).toFixed(2)} s`.padStart(9)}  rows ${String(t.rows).padStart(8)}  deleted ${String(t.replaced.deleted).padStart(7)}  inserted ${String(t.replaced.inserted).padStart(7)}\n`);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verite-bench-metrics-'));
  chmodSync(dir, 0o755);
  const warehouse = await openWarehouse({ cwd: dir, dataDir: process.env.DATABASE_URL ? undefined : join(dir, '.verite') });
  const config = configSchema.parse({ sources: { demo: {} } });
  try {
    out(`verite metrics refresh benchmark: demo shop, ${ORDERS_PER_DAY} orders a day for ${DAYS} days to ${END_DATE} (seed ${SEED})\n\n`);
    const now = new Date(`${addDays(END_DATE, 1)}T06:00:00Z`);
    await land(warehouse, config, sources(config, DAYS, END_DATE), now, null);
    const transformed = await runTransforms(warehouse, config, { log, now });
    if (transformed.status !== 'succeeded') throw new Error(`transform failed: ${transformed.error}`);
    const [first, firstSeconds] = await timed(() => refreshMetrics(warehouse, config, log, { now, full: true }));
    if (first.status !== 'succeeded') throw new Error(`refresh failed: ${first.error}`);
    printTables('first refresh (full)', firstSeconds, first);

    // One more day, transformed; what changed in core recorded as an incremental transform records it.
    const newDay = addDays(END_DATE, 1);
    const later = new Date(`${addDays(newDay, 1)}T06:00:00Z`);
    await land(warehouse, config, sources(config, DAYS + 1, newDay), later, { from: newDay, to: newDay });
    const before = await fingerprint(warehouse.db);
    const again = await runTransforms(warehouse, config, { log, now: later });
    if (again.status !== 'succeeded') throw new Error(`transform failed: ${again.error}`);
    const recorded = await recordChanges(warehouse.db, before, await fingerprint(warehouse.db));
    await sql`insert into ops.model_builds (model, through_change_id, signature) values ('core.orders', 0, 'bench') on conflict do nothing`.execute(warehouse.db);
    const dates = await sql<{ n: number }>`select count(distinct date)::int as n from ops.metric_inputs_changed`.execute(warehouse.db);
    out(`\nnightly: ${recorded} changes recorded (${dates.rows[0]!.n} distinct dates)\n`);

    const [nightly, nightlySeconds] = await timed(() => refreshMetrics(warehouse, config, log, { now: later }));
    if (nightly.status !== 'succeeded') throw new Error(`refresh failed: ${nightly.error}`);
    printTables('nightly refresh (incremental)', nightlySeconds, nightly);
    const incremental = await metricsChecksums(warehouse.db);
    const [full, fullSeconds] = await timed(() => refreshMetrics(warehouse, config, log, { now: later, full: true }));
    if (full.status !== 'succeeded') throw new Error(`refresh failed: ${full.error}`);
    out(`full refresh at the same clock: ${fullSeconds.toFixed(2)} s\n`);
    const expected = await metricsChecksums(warehouse.db);
    const differ = [...expected.keys()].filter((t) => expected.get(t) !== incremental.get(t));
    out(differ.length ? `DIFFERENT from the full refresh: ${differ.join(', ')}\n` : `every metric table identical to the full refresh's (${expected.size} tables and views)\n`);
    out(`nightly ÷ full: ${((nightlySeconds / fullSeconds) * 100).toFixed(1)}%\n\n`);

    const [idle, idleSeconds] = await timed(() => refreshMetrics(warehouse, config, log, { now: later }));
    if (idle.status !== 'succeeded') throw new Error(`refresh failed: ${idle.error}`);
    out(`no new data: ${idleSeconds.toFixed(2)} s (${((idleSeconds / fullSeconds) * 100).toFixed(1)}% of the full refresh); ${idle.tables.filter((t) => t.mode === 'unchanged').length} of ${idle.tables.length} tables unchanged\n`);
    if (differ.length) process.exitCode = 1;
  } finally {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:metrics-refresh failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
