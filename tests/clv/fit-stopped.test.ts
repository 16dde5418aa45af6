import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { ClvFitError, fitClv } from '../../metrics/clv/fit.ts';
import { clvStep } from '../../metrics/clv/step.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';
import { cdnowPurchases, cdnowShopifyOrders } from './cdnow.ts';

/**
 * A CLV fit that publishes writes its clv_model row, the predictions and the tables read from
 * them (clv_summary, customer_kpis) in one commit. Stopped or failed before the tables were
 * rebuilt, it used to leave the fit recorded, which the next run's step took as done ("not
 * fitted again"), while clv_summary kept the previous predictions (none, here) for good.
 */

const CONFIG = { reportingTimezone: 'UTC', reportingCurrency: 'USD' };
const config = configSchema.parse(CONFIG);
const log = logger();

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;
const rows = async (query: string) => (await wh.pool.query(query)).rows as Record<string, any>[];

/** The CDNOW sample's customers by the month of their first purchase: every one made it in January, February or March 1997. */
function customersByFirstMonth(): Map<string, number> {
  const first = new Map<number, string>();
  for (const p of cdnowPurchases()) {
    const month = `${p.date.slice(0, 7)}-01`;
    if (!first.has(p.customer) || month < first.get(p.customer)!) first.set(p.customer, month);
  }
  const counts = new Map<string, number>();
  for (const month of first.values()) counts.set(month, (counts.get(month) ?? 0) + 1);
  return counts;
}

/**
 * clv_summary as the last fit's predictions give it: one row per cohort month of the sample
 * (all "direct": the orders carry no attribution), its customers counted from the sample
 * itself, its predicted value the sum of the customers' predictions in core.customer_predictions.
 */
async function expectSummaryOfTheFit(): Promise<void> {
  const byMonth = customersByFirstMonth();
  // 2,357 customers in all (the sample's), first seen in three months.
  expect([...byMonth.values()].reduce((a, b) => a + b, 0)).toBe(2357);
  const predicted = await rows(`
    select date_trunc('month', c.first_order_date)::date::text as month, sum(p.predicted_clv_12m)::float8 as total
      from core.customer_predictions p join core.customers c using (customer_key) group by 1`);
  const summary = await rows(`select cohort_month::text as month, channel, customers::int as customers, predicted_clv_12m::float8 as total from metrics.clv_summary order by cohort_month`);
  expect(summary.map((r) => [r.month, r.channel, r.customers])).toEqual([...byMonth].sort().map(([month, n]) => [month, 'direct', n]));
  for (const row of summary) expect(row.total).toBeCloseTo(predicted.find((p) => p.month === row.month)!.total, 6);
  // And customer_kpis' last as-of date (the last order's, 30 June 1998) holds their total.
  const [kpi] = await rows(`select predicted_clv_12m_total::float8 as total from metrics.customer_kpis where date = '1998-06-30'`);
  expect(kpi!.total).toBeCloseTo(predicted.reduce((s, p) => s + p.total, 0), 6);
}

/** What a full refresh of clv_summary gives from the predictions as they stand. */
async function clvSummaryOfAFullRefresh(): Promise<Record<string, any>[]> {
  expect((await refreshMetrics(wh, config, log, { full: true })).status).toBe('succeeded');
  return rows('select * from metrics.clv_summary order by cohort_month, channel');
}

beforeAll(async () => {
  wh = await createTestDatabase('clv_fit_stopped');
  dir = mkdtempSync(join(tmpdir(), 'verite-clv-stopped-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify(CONFIG));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
  await landRecords(wh.pool, 'shopify', 'orders', cdnowShopifyOrders());
  expect((await runTransforms(wh, config, {})).status).toBe('succeeded');
}, 600_000);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});
beforeEach(async () => {
  // No fit yet: the metric tables refreshed from no predictions (clv_summary empty).
  await wh.pool.query('delete from metrics.clv_model; delete from core.customer_predictions');
  expect((await refreshMetrics(wh, config, log, { full: true })).status).toBe('succeeded');
  expect(await rows('select * from metrics.clv_summary')).toEqual([]);
});

describe('a CLV fit stopped before the tables read from its predictions were rebuilt', () => {
  it('killed while the metrics refresh lock is held elsewhere: nothing of it stays, and the next run fits and publishes', async () => {
    // Another refresh holds the lock, so the fit is kept waiting for it; then the process is killed.
    const other = new pg.Client({ connectionString: wh.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`select pg_advisory_xact_lock(hashtext('verite.metrics.refresh'))`);
      const fit = spawnCli(['clv', 'fit'], env);
      try {
        await waitFor('the fit to wait for the refresh lock', async () => {
          const waiting = await wh.pool.query(`select 1 from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`);
          return (waiting.rowCount ?? 0) > 0 || fit.child.exitCode !== null;
        });
        expect(fit.child.exitCode, fit.stderr()).toBeNull();
      } finally {
        fit.child.kill('SIGKILL');
        await fit.exited;
      }
      await other.query('rollback');
    } finally {
      await other.end();
    }
    // The next nightly run, nothing new landed: transform, metrics refresh, CLV fit. No fit is
    // recorded as made by the killed process, so the step does not take it as done.
    const run = await runPipeline({ warehouse: wh, config, log, sources: [] });
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([['transform', 'succeeded'], ['metrics', 'succeeded'], ['clv', 'succeeded']]);
    expect(run.steps[2]!.summary).toMatch(/^fitted as of 1998-06-30 on 2,357 customers/);
    expect((await rows('select count(*)::int as n from metrics.clv_model'))[0]!.n).toBe(1);
    await expectSummaryOfTheFit();
    const published = await rows('select * from metrics.clv_summary order by cohort_month, channel');
    expect(await clvSummaryOfAFullRefresh()).toEqual(published);
  });

  it('its rebuild failed: the fit is rolled back with it, and the next fit publishes', async () => {
    // A failure in the rebuild of clv_summary, in the refresh's INSERT into the published table.
    await wh.pool.query(`
      create function public.refuse_rows() returns trigger language plpgsql as $$ begin raise exception 'clv_summary refused the rows'; end $$;
      create trigger refuse before insert on metrics.clv_summary for each statement execute function public.refuse_rows()`);
    let failure: unknown;
    try {
      await fitClv(wh, config, { log });
    } catch (error) {
      failure = error;
    } finally {
      await wh.pool.query('drop trigger refuse on metrics.clv_summary; drop function public.refuse_rows()');
    }
    expect(failure).toBeInstanceOf(ClvFitError);
    // errorMessage: what the run's step and `verite clv fit` say of it.
    expect(errorMessage(failure)).toMatch(/^the models were fitted, but rebuilding metrics\.clv_summary and metrics\.customer_kpis failed \(metrics\.clv_summary: clv_summary refused the rows\); nothing of the fit was kept$/);
    expect(await rows('select * from metrics.clv_model')).toEqual([]);
    expect(await rows('select * from core.customer_predictions')).toEqual([]);

    const step = await clvStep.run(wh, config, log);
    expect(step.summary).toMatch(/^fitted as of 1998-06-30 on 2,357 customers/);
    await expectSummaryOfTheFit();
  });
});
