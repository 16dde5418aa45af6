import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { completePeriods, formatRunSummary, headlineSummary, type PeriodSummary, type RunSummary } from '../../metrics/summary.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/** The run summary on the hand-made shop of support/shop.ts (its daily values are worked out in views.test.ts). */

let wh: Warehouse;
const config = configSchema.parse(CONFIG);

beforeAll(async () => {
  wh = await createTestDatabase('metrics_summary');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config)).status).toBe('succeeded');
});
afterAll(async () => wh?.close());

type Values = Record<string, [number | null, number | null, number | null]>;

/** Each headline KPI as [current, previous, change]. */
function expectPeriod(period: PeriodSummary | undefined, from: string, to: string, previousFrom: string, values: Values): void {
  expect(period?.current).toEqual({ from, to });
  expect(period?.previous.from).toBe(previousFrom);
  for (const [metric, [current, previous, change]] of Object.entries(values)) {
    const got = period!.values.find((v) => v.metric === metric)!;
    for (const [name, want, have] of [['current', current, got.current], ['previous', previous, got.previous], ['change', change, got.change]] as const) {
      if (want === null) expect(have, `${period!.kind} ${metric} ${name}`).toBeNull();
      else expect(have, `${period!.kind} ${metric} ${name}`).toBeCloseTo(want, 9);
    }
  }
}

describe('completePeriods', () => {
  it('finds the last complete ISO week and month before a date', () => {
    // Friday 8 March 2024: the last complete week ends on Sunday the 3rd, the last complete month is February.
    expect(completePeriods('2024-03-08')).toEqual({
      day: { current: { from: '2024-03-08', to: '2024-03-08' }, previous: { from: '2024-03-07', to: '2024-03-07' } },
      week: { current: { from: '2024-02-26', to: '2024-03-03' }, previous: { from: '2024-02-19', to: '2024-02-25' } },
      month: { current: { from: '2024-02-01', to: '2024-02-29' }, previous: { from: '2024-01-01', to: '2024-01-31' } },
    });
    // A Sunday that ends a month closes both.
    expect(completePeriods('2024-03-31').week.current).toEqual({ from: '2024-03-25', to: '2024-03-31' });
    expect(completePeriods('2024-03-31').month.current).toEqual({ from: '2024-03-01', to: '2024-03-31' });
  });
});

describe('headlineSummary', () => {
  it('stops at the last day of data when it is before yesterday, and computes every ratio as SUM/SUM', async () => {
    // Run on 11 March: yesterday (the 10th) is also the last day of data.
    const summary = (await headlineSummary(wh.db, config, { now: new Date('2024-03-11T08:00:00Z') })) as RunSummary;
    expect(summary.asOf).toBe('2024-03-10');
    expect(summary.currency).toBe('USD');
    const [day, week, month] = summary.periods;
    // Sunday 10 March against the 9th: no order; 20 and 30 sessions; T9 delivered on time on the 9th.
    expectPeriod(day, '2024-03-10', '2024-03-10', '2024-03-09', {
      revenue: [0, 0, null], orders: [0, 0, null], aov: [null, null, null], conversion_rate: [0, 0, 0], ad_spend: [0, 0, null],
      cac: [null, null, null], mer: [null, null, null], payment_acceptance_rate: [null, null, null], on_time_delivery_rate: [null, 1, null],
    });
    // The week of 4 March against an empty week: nothing to compare with. Revenue 300 + O8, O8 = 49.99 EUR × 1.08375 = 54.1766625;
    // on time: T6 and T9 of the three delivered shipments with a promise (T6, T7, T9); TX, matched to no order, is left out
    // (with it, 3 / 4).
    const week4March = 300 + 54.1766625;
    expectPeriod(week, '2024-03-04', '2024-03-10', '2024-02-26', {
      revenue: [week4March, 0, null], orders: [6, 0, null], aov: [week4March / 6, null, null], conversion_rate: [6 / 470, null, null], ad_spend: [130, 0, null],
      cac: [130 / 3, null, null], mer: [week4March / 130, null, null], payment_acceptance_rate: [0.75, null, null], on_time_delivery_rate: [2 / 3, null, null],
    });
    // February against January: 105 vs 210 revenue, 2 vs 3 orders; acceptance 100 % both months (a change of 0 points).
    expectPeriod(month, '2024-02-01', '2024-02-29', '2024-01-01', {
      revenue: [105, 210, -0.5], orders: [2, 3, -1 / 3], aov: [52.5, 70, -0.25], conversion_rate: [null, null, null], ad_spend: [0, 0, null],
      cac: [0, 0, null], mer: [null, null, null], payment_acceptance_rate: [1, 1, 0], on_time_delivery_rate: [null, 1, null],
    });
  });

  it('takes yesterday in the reporting time zone when data runs past it', async () => {
    // 9 March 12:00 UTC: yesterday is Friday the 8th.
    const summary = (await headlineSummary(wh.db, config, { now: new Date('2024-03-09T12:00:00Z') })) as RunSummary;
    expect(summary.asOf).toBe('2024-03-08');
    const [day, week] = summary.periods;
    // Friday 8 March against Thursday 7th: 90 vs 20 revenue, 40 vs 15 spend; conversion 1/90 vs 1/60 (a change in points).
    expectPeriod(day, '2024-03-08', '2024-03-08', '2024-03-07', {
      revenue: [90, 20, 3.5], orders: [1, 1, 0], aov: [90, 20, 3.5], conversion_rate: [1 / 90, 1 / 60, 1 / 90 - 1 / 60], ad_spend: [40, 15, 25 / 15],
      cac: [40, null, null], mer: [90 / 40, 20 / 15, (90 / 40 - 20 / 15) / (20 / 15)], payment_acceptance_rate: [null, 1, null], on_time_delivery_rate: [0, null, null],
    });
    // The week of 26 February (empty) against the week of 19 February (O13: 25.00).
    expectPeriod(week, '2024-02-26', '2024-03-03', '2024-02-19', { revenue: [0, 25, -1], orders: [0, 1, -1], aov: [null, 25, null] });
  });

  it('prints a table with a value and a change per period', async () => {
    const text = formatRunSummary(await headlineSummary(wh.db, config, { now: new Date('2024-03-11T08:00:00Z') }));
    const lines = text.split('\n');
    expect(lines[1]).toBe('Headline KPIs in USD: last complete day, ISO week and month to 2024-03-10, each against the period before');
    expect(lines[2]).toMatch(/^KPI\s+day 2024-03-10\s+vs prior\s+week 2024-03-04\s+vs prior\s+month 2024-02\s+vs prior$/);
    const row = (label: string) => lines.find((l) => l.startsWith(label))!.trim().split(/\s{2,}/);
    // The week: 354.1766625 of revenue, / 6 orders = 59.029…, / 130 of spend = 2.724…
    expect(row('Revenue')).toEqual(['Revenue', '0.00', 'n/a', '354.18', 'n/a', '105.00', '-50.0%']);
    expect(row('Orders')).toEqual(['Orders', '0', 'n/a', '6', 'n/a', '2', '-33.3%']);
    expect(row('Average order value')).toEqual(['Average order value', 'n/a', 'n/a', '59.03', 'n/a', '52.50', '-25.0%']);
    expect(row('Conversion rate')).toEqual(['Conversion rate', '0.00%', '±0.00 pp', '1.28%', 'n/a', 'n/a', 'n/a']);
    expect(row('Marketing efficiency ratio (MER)')).toEqual(['Marketing efficiency ratio (MER)', 'n/a', 'n/a', '2.72x', 'n/a', 'n/a', 'n/a']);
    expect(row('Payment acceptance rate')).toEqual(['Payment acceptance rate', 'n/a', 'n/a', '75.00%', 'n/a', '100.00%', '±0.00 pp']);
    // Every order is one mug without a cost: a gross margin of 100 % wherever something sold. The week's contribution: net
    // revenue 354.1766625 − 30 (O6's refund) less 30.50 of shipping and 130 of ad spend, no tax or fee: 163.6766625 / 324.1766625.
    // February: 95 of net revenue and nothing else, 100 %; January: 210 less T1's 5.00 of shipping, 205 / 210 = 97.619 %.
    expect(row('Gross margin')).toEqual(['Gross margin', 'n/a', 'n/a', '100.00%', 'n/a', '100.00%', '±0.00 pp']);
    expect(row('Contribution margin')).toEqual(['Contribution margin', 'n/a', 'n/a', '50.49%', 'n/a', '100.00%', '+2.38 pp']);
    // Title, header, rule, 11 KPIs, and (issue 17) a line for March 2024, in progress: 1 to 10 March of its 31 days. The week in
    // progress (from Monday 11 March) has no data yet, so no line.
    expect(lines.filter((l) => l.length > 0)).toHaveLength(3 + 11 + 1);
    expect(lines).toContain('Partial, not compared: month 2024-03 (10 of 31 days with data, to 2024-03-10; it ends after 2024-03-10, the last complete day: is_complete = false in metrics.kpi_monthly).');
  });

  it('shows money to the reporting currency\'s minor unit', async () => {
    const summary = (await headlineSummary(wh.db, config, { now: new Date('2024-03-11T08:00:00Z') }))!;
    const revenue = (currency: string) => {
      const lines = formatRunSummary({ ...summary, currency }).split('\n');
      return lines.find((l) => l.startsWith('Revenue'))!.trim().split(/\s{2,}/);
    };
    // The week's 354.1766625 (and the month's 105): 3 decimals for a dinar, none for the yen.
    expect(revenue('KWD')).toEqual(['Revenue', '0.000', 'n/a', '354.177', 'n/a', '105.000', '-50.0%']);
    expect(revenue('JPY')).toEqual(['Revenue', '0', 'n/a', '354', 'n/a', '105', '-50.0%']);
  });

  it('says "partial" and computes no change against a month the data covers in part (issue 17)', async () => {
    // Run on 2 May 2023: the last complete month is April 2023 (30 days of data, no order), the one before March 2023, whose
    // data begins on Thursday the 9th: 23 of its 31 days, with O20 and O21 (110.00). Without the flag, the change was −100 %.
    const summary = (await headlineSummary(wh.db, config, { now: new Date('2023-05-02T12:00:00Z') })) as RunSummary;
    expect(summary.asOf).toBe('2023-05-01');
    const month = summary.periods[2]!;
    expect(month).toMatchObject({
      current: { from: '2023-04-01', to: '2023-04-30' },
      previous: { from: '2023-03-01', to: '2023-03-31' },
      currentCoverage: { daysWithData: 30, daysInPeriod: 30 },
      previousCoverage: { daysWithData: 23, daysInPeriod: 31 },
      comparable: false,
    });
    expectPeriod(month, '2023-04-01', '2023-04-30', '2023-03-01', { revenue: [0, 110, null], orders: [0, 2, null], ad_spend: [0, 18, null] });
    // The week of 24 April against that of 17 April: both whole, compared as before.
    expect(summary.periods[1]).toMatchObject({ current: { from: '2023-04-24', to: '2023-04-30' }, comparable: true });

    const lines = formatRunSummary(summary).split('\n');
    expect(lines[2]).toMatch(/^KPI\s+day 2023-05-01\s+vs prior\s+week 2023-04-24\s+vs prior\s+month 2023-04\s+vs prior$/);
    const row = (label: string) => lines.find((l) => l.startsWith(label))!.trim().split(/\s{2,}/);
    expect(row('Revenue')).toEqual(['Revenue', '0.00', 'n/a', '0.00', 'n/a', '0.00', 'partial']);
    expect(lines).toContain('Partial: month 2023-03 has data on 23 of its 31 days (the data begins on 2023-03-09); no change is computed against it.');
    // May and the week of 1 May are in progress: 1 and 2 May so far (the shop's later data is not counted before it happens).
    expect(lines).toContain('Partial, not compared: week 2023-05-01 (2 of 7 days with data, to 2023-05-02; it ends after 2023-05-01, the last complete day: is_complete = false in metrics.kpi_weekly).');
    expect(lines).toContain('Partial, not compared: month 2023-05 (2 of 31 days with data, to 2023-05-02; it ends after 2023-05-01, the last complete day: is_complete = false in metrics.kpi_monthly).');
  });

  it('labels the compared month "(partial)" when the data began within it', async () => {
    // Run on 2 April 2023: the last complete month is March 2023 itself (23 of 31 days), against a February without data.
    const summary = (await headlineSummary(wh.db, config, { now: new Date('2023-04-02T12:00:00Z') })) as RunSummary;
    const lines = formatRunSummary(summary).split('\n');
    expect(lines[2]).toMatch(/^KPI\s+day 2023-04-01\s+vs prior\s+week 2023-03-20\s+vs prior\s+month 2023-03 \(partial\)\s+vs prior$/);
    const row = (label: string) => lines.find((l) => l.startsWith(label))!.trim().split(/\s{2,}/);
    // 110.00 over 2 orders; money to cents, counts whole.
    expect(row('Revenue')).toEqual(['Revenue', '0.00', 'n/a', '0.00', 'n/a', '110.00', 'partial']);
    expect(row('Orders')).toEqual(['Orders', '0', 'n/a', '0', 'n/a', '2', 'partial']);
    expect(lines).toContain('Partial: month 2023-03 has data on 23 of its 31 days (the data begins on 2023-03-09); no change is computed against it.');
  });

  it('says so when there is nothing yet', async () => {
    expect(formatRunSummary(null)).toMatch(/none yet/);
  });
});
