import { expect } from 'vitest';
import type { VeriteConfig } from '../../config/schema.ts';
import { demoConfig } from '../../config/schema.ts';
import { demoSources } from '../../extractors/demo/index.ts';
import type { Logger } from '../../lib/logger.ts';
import { silentProgress } from '../../lib/progress.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';

/**
 * The demo shop landed night by night, for the tests that build it incrementally and compare
 * every table with a full rebuild of the same raw data (tests/transforms/incremental-vs-full.test.ts).
 */

// A Monday: the demo publishes rates on working days, so the first day has its own.
export const START = Date.parse('2025-03-03T00:00:00Z');
export const SEED = 7;
export const ORDERS_PER_DAY = 8;

/** Day `i` of the shop (UTC date). */
export const day = (i: number) => new Date(START + i * 86_400_000).toISOString().slice(0, 10);
/** The nightly run of day `i`: 06:00 UTC the day after. */
export const morningAfter = (i: number) => new Date(START + (i + 1) * 86_400_000 + 6 * 3_600_000);
/** A moment of day `i`, as Shopify writes it. */
export const at = (i: number, hour = 12) => new Date(START + i * 86_400_000 + hour * 3_600_000).toISOString();

/** Lands day `i` of every demo source, as that night's run does (the transform is the test's to run). */
export async function landDemoDay(wh: Warehouse, config: VeriteConfig, log: Logger, i: number): Promise<void> {
  const options = { seed: SEED, days: i + 1, ordersPerDay: ORDERS_PER_DAY, endDate: day(i) };
  const sources = demoSources({ ...options, reportingCurrency: config.reportingCurrency }).map((source) => ({ source, config: demoConfig.parse(options) }));
  const result = await runPipeline({ warehouse: wh, config, log, sources, steps: [], now: morningAfter(i), window: { from: day(i), to: day(i) }, kind: 'demo', progress: silentProgress });
  expect(result.status, result.error).toBe('succeeded');
}

/** The raw records of `raw.<table>` matching `where`, by key. */
export async function rawRecords(wh: Warehouse, table: string, where: string): Promise<Record<string, unknown>[]> {
  const res = await wh.pool.query(`select _record from raw.${table} where ${where} order by _key`);
  return res.rows.map((r) => r._record as Record<string, unknown>);
}

/** Every row of every table of `core` and `metrics`, as text, sorted: what two builds are compared on. */
export async function coreAndMetrics(wh: Warehouse): Promise<Record<string, string[]>> {
  const tables = await wh.pool.query(
    `select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema in ('core', 'metrics') and table_type = 'BASE TABLE' order by 1`,
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables.rows as { name: string }[]) {
    const rows = await wh.pool.query(`select t::text as row from ${name} t order by 1`);
    out[name] = rows.rows.map((r) => r.row as string);
  }
  return out;
}
