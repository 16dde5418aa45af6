import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { conditionalExpectedPurchases, probabilityAlive } from '../../metrics/clv/bg-nbd.ts';
import { predictedClv12m } from '../../metrics/clv/customer-value.ts';
import { conditionalExpectedSpend } from '../../metrics/clv/gamma-gamma.ts';
import { clvStep } from '../../metrics/clv/step.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { logger } from '../../lib/logger.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { cdnowHistories, cdnowPurchases, cdnowShopifyOrders } from './cdnow.ts';

/**
 * Issue 14, acceptance 1 and 3, as a user runs them: the CDNOW sample imported as Shopify orders
 * with `verite import`, the transforms, then `verite clv fit --calibration-end 1997-09-30
 * [--holdout-end 1998-06-30]`, whose estimates must be those of Fader, Hardie & Lee (2005); then
 * the fit that publishes (as of the last order, 30 June 1998), the run's clv step, the
 * predicted-CLV tables and `verite clv show`.
 */

const CONFIG = { reportingTimezone: 'UTC', reportingCurrency: 'USD' };
const config = configSchema.parse(CONFIG);

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;
let imported: CliResult;
let backTest: CliResult;
let backTestTable: CliResult;

const within = (actual: number, expected: number, relative: number, label: string) =>
  expect(Math.abs(actual - expected) / Math.abs(expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(relative);
const rows = async (query: string, params: unknown[] = []) => (await wh.pool.query(query, params)).rows as Record<string, any>[];

beforeAll(async () => {
  wh = await createTestDatabase('clv_cdnow');
  dir = mkdtempSync(join(tmpdir(), 'verite-clv-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify(CONFIG));
  writeFileSync(join(dir, 'orders.jsonl'), cdnowShopifyOrders().map((o) => JSON.stringify(o)).join('\n') + '\n');
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
  imported = await runCli(['import', 'shopify', 'orders', join(dir, 'orders.jsonl')], { env });
  expect((await runTransforms(wh, config, {})).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config)).status).toBe('succeeded');
  [backTest, backTestTable] = [
    await runCli(['clv', 'fit', '--calibration-end', '1997-09-30', '--holdout-end', '1998-06-30', '--format', 'json'], { env }),
    await runCli(['clv', 'fit', '--calibration-end', '1997-09-30'], { env }),
  ];
}, 600_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

describe('verite clv fit on the CDNOW sample (acceptance 1)', () => {
  it('imports the 6,919 purchases as Shopify orders', async () => {
    expect(imported.code, imported.stderr).toBe(0);
    expect((await rows('select count(*)::int as n, count(distinct customer_key)::int as customers from core.orders where is_counted'))[0]).toEqual({ n: 6919, customers: 2357 });
  });

  it('gives the published estimates with --calibration-end 1997-09-30, each within 1%', () => {
    expect(backTest.code, backTest.stderr).toBe(0);
    const fit = JSON.parse(backTest.stdout);
    expect(fit).toMatchObject({ status: 'fitted', calibration_end: '1997-09-30', published: false, customers: 2357, repeat_customers: 946, gamma_gamma_customers: 946 });
    // Fader, Hardie & Lee, Marketing Science 2005: r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4.
    within(fit.r, 0.243, 0.01, 'r');
    within(fit.alpha, 4.414, 0.01, 'alpha');
    within(fit.a, 0.793, 0.01, 'a');
    within(fit.b, 2.426, 0.01, 'b');
    within(fit.bgnbd_log_likelihood, -9582.4, 0.01, 'LL');
    expect(fit.bgnbd_log_likelihood).toBeCloseTo(-9582.4, 1);
    // Fader, Hardie & Lee, JMR 2005 (the Gamma-Gamma model on the same 946 repeat customers): p 6.25, q 3.74, γ 15.44.
    within(fit.p, 6.25, 0.01, 'p');
    within(fit.q, 3.74, 0.01, 'q');
    within(fit.gamma, 15.44, 0.01, 'gamma');
  });

  it('prints the parameters, log-likelihoods, customers and repeat customers as a table', () => {
    expect(backTestTable.code, backTestTable.stderr).toBe(0);
    const out = backTestTable.stdout;
    expect(out).toMatch(/^customers\s+2,357 \(first purchase on or before 1997-09-30\)$/m);
    expect(out).toMatch(/^repeat customers\s+946 /m);
    expect(out).toMatch(/^BG\/NBD\s+r 0\.24\d\d {2}alpha 4\.41\d\d {2}a 0\.79\d\d {2}b 2\.42\d\d$/m);
    expect(out).toMatch(/^ {2}log-likelihood\s+-9582\.4\d$/m);
    expect(out).toMatch(/^Gamma-Gamma\s+p 6\.2\d\d\d {2}q 3\.74\d\d {2}gamma 15\.4\d\d\d/m);
    expect(out).toContain('A back-test (the calibration end is before the last counted order, 1998-06-30)');
  });

  it('prints and stores the hold-out check to 1998-06-30: actual and predicted repeat transactions, their correlation (acceptance 3)', async () => {
    const fit = JSON.parse(backTest.stdout);
    // The purchase days after 30 September 1997 up to 30 June 1998, counted here from the file (39 weeks).
    const histories = cdnowHistories('1997-09-30', '1998-06-30');
    const actual = histories.reduce((s, h) => s + h.holdout, 0);
    expect(actual).toBe(1882);
    const params = { r: fit.r, alpha: fit.alpha, a: fit.a, b: fit.b };
    const predicted = histories.map((h) => conditionalExpectedPurchases(params, h, 273 / 7));
    const total = predicted.reduce((s, v) => s + v, 0);
    // Pearson's correlation of the two columns, written out.
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const [ma, mp] = [mean(histories.map((h) => h.holdout)), mean(predicted)];
    const cov = histories.reduce((s, h, i) => s + (h.holdout - ma) * (predicted[i]! - mp), 0);
    const sd = (v: number[], m: number) => Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0));
    const correlation = cov / (sd(histories.map((h) => h.holdout), ma) * sd(predicted, mp));
    expect(fit).toMatchObject({ holdout_end: '1998-06-30', holdout_weeks: 39, holdout_actual_repeat_transactions: 1882 });
    expect(fit.holdout_predicted_repeat_transactions).toBeCloseTo(total, 6);
    expect(fit.holdout_correlation).toBeCloseTo(correlation, 9);
    const [stored] = await rows(`select * from metrics.clv_model where holdout_end is not null`);
    expect(stored).toMatchObject({ date: '1997-09-30', calibration_end: '1997-09-30', holdout_end: '1998-06-30', holdout_actual_repeat_transactions: 1882, customers: 2357, repeat_customers: 946 });
    expect(Number(stored!.holdout_predicted_repeat_transactions)).toBeCloseTo(total, 6);
    expect(Number(stored!.holdout_correlation)).toBeCloseTo(correlation, 9);
    expect(Number(stored!.r)).toBeCloseTo(fit.r, 12);
  });

  it('leaves the published predictions alone in a back-test', async () => {
    expect((await rows('select count(*)::int as n from core.customer_predictions'))[0]!.n).toBe(0);
    expect((await rows('select count(*)::int as n from metrics.clv_summary'))[0]!.n).toBe(0);
  });

  it('refuses dates that do not fit the data, naming them (exit 2)', async () => {
    const [after, holdout, bad] = await Promise.all([
      runCli(['clv', 'fit', '--calibration-end', '1998-07-01'], { env }),
      runCli(['clv', 'fit', '--calibration-end', '1997-09-30', '--holdout-end', '1997-09-30'], { env }),
      runCli(['clv', 'fit', '--calibration-end', '1997-02-30'], { env }),
    ]);
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('the calibration end 1998-07-01 is after the last counted order (1998-06-30)');
    expect(holdout.code).toBe(2);
    expect(holdout.stderr).toContain('the hold-out end 1997-09-30 must be after the calibration end 1997-09-30');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--calibration-end "1997-02-30": expected a date as YYYY-MM-DD');
  });
});

describe('the fit that publishes: as of the last counted order, by the run\'s clv step', () => {
  const log = logger();
  let summary: string;

  beforeAll(async () => {
    const outcome = await clvStep.run(wh, config, log);
    expect(outcome.status).toBe('succeeded');
    summary = outcome.summary;
  });

  it('fits as of 30 June 1998 and says so in the run summary', () => {
    expect(summary).toMatch(/^fitted as of 1998-06-30 on 2,357 customers \(1,139 repeat\): BG\/NBD r \d\.\d{3}, alpha \d+\.\d{3}, a \d\.\d{3}, b \d\.\d{3}; Gamma-Gamma p /);
  });

  it("writes every customer's history and predictions, the history as docs/metrics.md defines it", async () => {
    const [model] = await rows(`select * from metrics.clv_model where calibration_end = '1998-06-30'`);
    const bg = { r: Number(model!.r), alpha: Number(model!.alpha), a: Number(model!.a), b: Number(model!.b) };
    const gg = { p: Number(model!.p), q: Number(model!.q), gamma: Number(model!.gamma) };
    const stored = new Map((await rows('select * from core.customer_predictions')).map((r) => [r.customer_key as string, r]));
    expect(stored.size).toBe(2357);
    for (const h of cdnowHistories('1998-06-30')) {
      const row = stored.get(String(h.customer))!;
      const label = `customer ${h.customer}`;
      expect(row.x, label).toBe(h.x);
      expect(Number(row.t_x), label).toBeCloseTo(h.tx, 12);
      expect(Number(row.t), label).toBeCloseTo(h.T, 12);
      if (h.x === 0) expect(row.m, label).toBeNull();
      else expect(Number(row.m), label).toBeCloseTo(h.m, 9);
      expect(Number(row.p_alive), label).toBeCloseTo(probabilityAlive(bg, h), 12);
      expect(Number(row.expected_purchases_90d), label).toBeCloseTo(conditionalExpectedPurchases(bg, h, 90 / 7), 12);
      expect(Number(row.expected_purchases_365d), label).toBeCloseTo(conditionalExpectedPurchases(bg, h, 365 / 7), 12);
      const spend = conditionalExpectedSpend(gg, h)!;
      expect(Number(row.expected_spend), label).toBeCloseTo(spend, 9);
      expect(Number(row.predicted_clv_12m), label).toBeCloseTo(predictedClv12m(bg, h, spend, 0.01)!, 9);
    }
  });

  it('sums them by cohort month and first-order channel in metrics.clv_summary (no ad spend: ad_spend and predicted_ltv_to_cac NULL)', async () => {
    const predictions = await rows('select * from core.customer_predictions');
    const firstMonth = new Map<string, string>();
    for (const p of cdnowPurchases()) {
      const key = String(p.customer);
      const month = `${p.date.slice(0, 7)}-01`;
      if (!firstMonth.has(key) || month < firstMonth.get(key)!) firstMonth.set(key, month);
    }
    const summary = await rows(`select * from metrics.clv_summary order by cohort_month`);
    expect(summary.map((r) => [r.date, r.cohort_month, r.channel])).toEqual([
      ['1997-01-01', '1997-01-01', 'direct'],
      ['1997-02-01', '1997-02-01', 'direct'],
      ['1997-03-01', '1997-03-01', 'direct'],
    ]);
    for (const row of summary) {
      const mine = predictions.filter((p) => firstMonth.get(p.customer_key) === row.cohort_month);
      const sum = (column: string) => mine.reduce((s, p) => s + Number(p[column]), 0);
      expect(Number(row.customers)).toBe(mine.length);
      expect(Number(row.expected_purchases_365d)).toBeCloseTo(sum('expected_purchases_365d'), 9);
      expect(Number(row.predicted_clv_12m)).toBeCloseTo(sum('predicted_clv_12m'), 6);
      expect(Number(row.expected_alive_customers)).toBeCloseTo(sum('p_alive'), 9);
      expect(Number(row.avg_p_alive)).toBeCloseTo(sum('p_alive') / mine.length, 12);
      expect(row.ad_spend).toBeNull();
      expect(row.predicted_ltv_to_cac).toBeNull();
    }
  });

  it('puts the mean predicted value on the last as-of date of customer_kpis only', async () => {
    const predictions = await rows('select predicted_clv_12m from core.customer_predictions');
    const total = predictions.reduce((s, p) => s + Number(p.predicted_clv_12m), 0);
    const kpis = await rows(`select date, customers, predicted_clv_12m_total, predicted_clv_12m_avg from metrics.customer_kpis order by date`);
    const last = kpis.find((k) => k.date === '1998-06-30')!;
    expect(Number(last.customers)).toBe(2357);
    expect(Number(last.predicted_clv_12m_total)).toBeCloseTo(total, 6);
    expect(Number(last.predicted_clv_12m_avg)).toBeCloseTo(total / 2357, 9);
    for (const k of kpis.filter((k) => k.date !== '1998-06-30')) expect([k.date, k.predicted_clv_12m_avg]).toEqual([k.date, null]);
  });

  it('does not fit again while the orders are unchanged, and fits again once they change', async () => {
    const before = (await rows('select count(*)::int as n from metrics.clv_model'))[0]!.n;
    const again = await clvStep.run(wh, config, log);
    expect(again).toEqual({ status: 'succeeded', summary: expect.stringMatching(/^not fitted again: the orders have not changed since the fit of \S+ \(as of 1998-06-30\)$/) });
    expect((await rows('select count(*)::int as n from metrics.clv_model'))[0]!.n).toBe(before);
    // A new order of customer 1, a day after the last: the predictions are out of date until the next fit.
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...cdnowShopifyOrders()[0]!, id: 100_000, created_at: '1998-07-01T12:00:00Z', updated_at: '1998-07-01T12:00:00Z' }]);
    expect((await runTransforms(wh, config, {})).status).toBe('succeeded');
    expect((await refreshMetrics(wh, config)).status).toBe('succeeded');
    const stale = await rows(`select date, predicted_clv_12m_avg from metrics.customer_kpis where predicted_clv_12m_avg is not null`);
    expect(stale).toEqual([]);
    const refit = await clvStep.run(wh, config, log);
    expect(refit.summary).toMatch(/^fitted as of 1998-07-01 on 2,357 customers/);
    expect((await rows(`select count(*)::int as n from core.customer_predictions where calibration_end = '1998-07-01'`))[0]!.n).toBe(2357);
    expect((await rows(`select date from metrics.customer_kpis where predicted_clv_12m_avg is not null`)).map((r) => r.date)).toEqual(['1998-07-01']);
  });

  it('gives a shop with too few repeat customers a note instead of a fit, and nothing changes', async () => {
    const before = await rows('select fitted_at from metrics.clv_model order by fitted_at');
    // The orders change (customer 2 buys on 2 July 1998), but 1,139 repeat customers are too few for this configuration.
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...cdnowShopifyOrders()[5]!, id: 100_001, created_at: '1998-07-02T12:00:00Z', updated_at: '1998-07-02T12:00:00Z' }]);
    expect((await runTransforms(wh, config, {})).status).toBe('succeeded');
    const strict = configSchema.parse({ ...CONFIG, clv: { minRepeatCustomers: 5000 } });
    const outcome = await clvStep.run(wh, strict, log);
    expect(outcome).toEqual({
      status: 'succeeded',
      summary:
        'no fit: 1,139 of 2,357 customers bought on two or more days up to 1998-07-02, fewer than clv.minRepeatCustomers (5,000); ' +
        'a fit on so few repeat customers gives unstable predictions, so the predicted-CLV tables keep what they had',
    });
    const off = await clvStep.run(wh, configSchema.parse({ ...CONFIG, clv: { enabled: false } }), log);
    expect(off).toEqual({ status: 'succeeded', summary: 'not fitted: clv.enabled is false in the configuration' });
    expect(await rows('select fitted_at from metrics.clv_model order by fitted_at')).toEqual(before);
    expect((await rows('select distinct calibration_end from core.customer_predictions')).map((r) => r.calibration_end)).toEqual(['1998-07-01']);
    const cli = await runCli(['clv', 'fit'], { env: { ...env, VERITE_CONFIG: writeConfig({ ...CONFIG, clv: { minRepeatCustomers: 5000 } }) } });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('verite: no fit: 1,139 of 2,357 customers bought on two or more days up to 1998-07-02');
  });

  it("shows one customer's purchase days and predictions (verite clv show)", async () => {
    const shown = await runCli(['clv', 'show', '1'], { env });
    expect(shown.code, shown.stderr).toBe(0);
    // Customer 1 bought on 1 January, 18 January, 2 August and 12 December 1997 (29.33, 29.73, 14.96, 26.48), and again on 1 July 1998 above.
    expect(shown.stdout).toContain('Customer 1: 5 purchase days (counted orders, USD)');
    expect(shown.stdout).toMatch(/^1997-08-02\s+1\s+14\.96\s*$/m);
    // As of 1 July 1998: x = 4, t_x = T = 546 days = 78.00 weeks, m = (29.73 + 14.96 + 26.48 + 29.33)/4 = 25.125.
    expect(shown.stdout).toMatch(/^x \(repeat purchase days\)\s+4$/m);
    expect(shown.stdout).toMatch(/^t_x \(weeks to the last\)\s+78\.00$/m);
    expect(shown.stdout).toMatch(/^T \(weeks to the calibration end\)\s+78\.00$/m);
    expect(shown.stdout).toMatch(/^m \(mean repeat value\)\s+25\.13$/m);
    const missing = await runCli(['clv', 'show', 'nobody@example.com'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no customer "nobody@example.com" with a counted order');
  });
});

function writeConfig(value: unknown): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}
