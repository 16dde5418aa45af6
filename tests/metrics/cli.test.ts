import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/** `verite metrics list|describe|refresh` and the run summary of `verite run`, as a user runs them. */

/** What the refresh says of the shop's one shipment matched to no order (TX, for an order 999). */
const UNMATCHED = "1 shipment matches no order of the shop and is left out of the fulfilment metrics; check the shipments source's order_id mapping";

/** The messages of the warning log lines (JSON lines, level 40) on stderr. */
function warnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.level === 40)
    .map((l) => l.msg);
}

let wh: Warehouse;
let env: Record<string, string>;
let dir: string;
/** The commands that only read the definitions, started together to save time. */
let readOnly: Promise<[CliResult, CliResult, CliResult, CliResult]>;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_cli');
  await landShop(wh.pool);
  dir = mkdtempSync(join(tmpdir(), 'verite-metrics-cli-'));
  // One source that reads nothing (fx with neither a file nor the ECB): `verite run` only
  // transforms and refreshes what is already landed. (With no source at all, a run is a usage error.)
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ ...CONFIG, sources: { fx: {} } }));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
  const run = (...args: string[]) => runCli(args, { env });
  readOnly = Promise.all([run('metrics', 'list'), run('metrics', 'describe', 'mer'), run('metrics', 'describe', 'roa'), run('metrics', 'describe', 'churn_rate')]);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

describe('verite metrics', () => {
  it('lists the metrics', async () => {
    const [result] = await readOnly;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^aov\s+currency\s+Average order value\s+kpi_daily, kpi_weekly, kpi_monthly$/m);
    expect(result.stdout).toMatch(/^mer\s+ratio\s+Marketing efficiency ratio \(MER\)/m);
  });

  it('describes a metric: label, formula, how to compute it over a range, sources and views', async () => {
    const [, result] = await readOnly;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('mer — Marketing efficiency ratio (MER)');
    expect(result.stdout).toMatch(/^formula\s+`revenue \/ ad_spend` \(marketing efficiency ratio; the inverse direction is not used anywhere\)$/m);
    expect(result.stdout).toMatch(/^computed\s+revenue \/ ad_spend \(NULL when ad_spend is 0\)$/m);
    expect(result.stdout).toMatch(/^over a range\s+SUM\(revenue\) \/ NULLIF\(SUM\(ad_spend\), 0\)$/m);
    expect(result.stdout).toMatch(/^sources\s+shopify\.orders, google_ads\.campaign_daily, meta_ads\.campaign_insights_daily, fx\.rates$/m);
    expect(result.stdout).toMatch(/^views\s+metrics\.kpi_daily, metrics\.kpi_weekly, metrics\.kpi_monthly$/m);
  });

  it('describes a snapshot as never summed, in the column names of its view (issue 4)', async () => {
    const [, , , result] = await readOnly;
    expect(result.code, result.stderr).toBe(0);
    // Not "SUM(churned_customers) / SUM(customers_to_date)": a customer_kpis row is a snapshot, and its column is `customers`.
    expect(result.stdout).toMatch(/^computed\s+churned_customers \/ customers \(NULL when customers is 0\)$/m);
    expect(result.stdout).toMatch(/^over a range\s+not summed: a snapshot as of the row's date, and the rows of customer_kpis overlap: read one row, never a sum of rows$/m);
    expect(result.stdout).not.toContain('customers_to_date');
    expect(result.stdout).not.toContain('SUM(');
  });

  it('lists the columns of metrics.clv_model in the order of the table (--view)', async () => {
    const listed = await runCli(['metrics', 'list', '--view', 'clv_model', '--format', 'json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    // As migration 0011 creates the table, read off it by hand: the hold-out check and the
    // checksum come after the Gamma-Gamma estimates, not with the other dimensions.
    const table = [
      'date', 'fitted_at', 'calibration_end', 'customers', 'repeat_customers', 'r', 'alpha', 'a', 'b', 'bgnbd_log_likelihood', 'p', 'q', 'gamma', 'gamma_gamma_log_likelihood',
      'holdout_end', 'holdout_actual_repeat_transactions', 'holdout_predicted_repeat_transactions', 'holdout_correlation', 'orders_checksum',
    ];
    const ordinal = await wh.pool.query(`select column_name from information_schema.columns where table_schema = 'metrics' and table_name = 'clv_model' order by ordinal_position`);
    expect(ordinal.rows.map((r) => r.column_name)).toEqual(table);
    expect((JSON.parse(listed.stdout) as { column: string }[]).map((e) => e.column)).toEqual(table);
  });

  it('exits 2 on an unknown metric, with suggestions', async () => {
    const [, , result] = await readOnly;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no metric roa \(did you mean .*roas.*\)/);
  });

  it('refreshes the metric tables (after the transforms with --transform)', async () => {
    const result = await runCli(['metrics', 'refresh', '--transform'], { env });
    expect(result.code, result.stderr).toBe(0);
    // 9 March 2023 to 10 March 2024: 298 days of 2023, 70 of 2024; cohorts: 13 months of March 2023's, 3 + 2 + 1 of 2024's.
    expect(result.stdout).toMatch(/^metrics\.kpi_daily\s+368\s/m);
    expect(result.stdout).toMatch(/^metrics\.cohort_monthly\s+19\s/m);
    expect(result.stdout).toContain('11 metric tables refreshed in one transaction.');
    // TX names an order 999 the shop does not have: a warning log line says it is left out.
    expect(warnings(result.stderr).filter((m) => /shipment/.test(m))).toEqual([UNMATCHED]);
    // The ISO weeks of Monday 6 March 2023 to Monday 4 March 2024.
    expect((await wh.pool.query('select count(*)::int as n from metrics.kpi_weekly')).rows[0].n).toBe(53);
  });

  it('refreshes from core as it is when this version built it, and refuses a core table built by another', async () => {
    const alone = await runCli(['metrics', 'refresh'], { env });
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toContain('11 metric tables refreshed in one transaction');
    // As if an earlier verite had built core.shipments (its query was another: another signature).
    await wh.pool.query(`update ops.model_builds set signature = 'built by an earlier version' where model = 'core.shipments'`);
    const refused = await runCli(['metrics', 'refresh'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'verite: metrics refresh failed, the previous metric tables are kept: core.shipments was built by another version of verite or with other settings (reporting time zone or currency, channel rules): run `verite metrics refresh --transform` (or `verite transform`) first',
    );
    expect((await wh.pool.query('select count(*)::int as n from metrics.kpi_daily')).rows[0].n).toBe(368);
    const rebuilt = await runCli(['metrics', 'refresh', '--transform'], { env });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect((await wh.pool.query(`select signature from ops.model_builds where model = 'core.shipments'`)).rows[0].signature).not.toBe('built by an earlier version');
  });
});

describe('verite run', () => {
  it('refreshes the metrics after the transforms and prints the headline KPIs', async () => {
    const result = await runCli(['run'], { env });
    expect(result.code, result.stderr).toBe(0);
    // The step's summary says the unmatched shipment after the tables, and the log warns once.
    // Issue 16: the raw data is what the refresh above was built from, so the run brings every
    // table up to date by doing nothing but core.fx_rates, which carries the last rate to today
    // (it reads the clock), so is rebuilt whole every build; and says so.
    expect(result.stdout.split('\n')).toContain('transform: succeeded, 34 models (1 rebuilt whole, 33 unchanged), 2 data checks passed');
    expect(result.stdout.split('\n')).toContain(
      `metrics: succeeded, 11 metric tables refreshed (kpi_daily: 368 days; incremental: 0 by date, 0 in full, 11 unchanged); ${UNMATCHED}`,
    );
    expect(warnings(result.stderr).filter((m) => /shipment/.test(m))).toEqual([UNMATCHED]);
    // The shop's data ends on Sunday 10 March 2024, long before yesterday: the summary stops there.
    expect(result.stdout).toContain('Headline KPIs in USD: last complete day, ISO week and month to 2024-03-10');
    expect(result.stdout).toMatch(/^Revenue\s+0\.00\s+n\/a\s+354\.18\s+n\/a\s+105\.00\s+-50\.0%$/m);
    // 2 of the 3 shipments with a promise delivered that week were on time (T6, T9; T7 late): 66.67 %. TX, on time but
    // matched to no order, is left out (with it, 3 of 4: 75.00 %).
    expect(result.stdout).toMatch(/^On-time delivery rate\s+n\/a\s+n\/a\s+66\.67%\s+n\/a\s+n\/a\s+n\/a$/m);
  });
});
