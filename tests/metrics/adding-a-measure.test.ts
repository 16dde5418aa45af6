import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { KPI_PERIOD_VIEWS, metric } from '../../metrics/definition.ts';
import { definitionProblems, dimensionDefinitions, metricDefinitions } from '../../metrics/definitions/index.ts';
import { renderMetricsDoc } from '../../metrics/generate-docs.ts';
import { countedOrders, countedRefunds } from '../../metrics/measure-sources.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { exampleLargeOrders } from './support/example-measure.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * The worked example of docs/architecture.md, "Adding a measure" (issue 12, acceptance 2): one declaration
 * (support/example-measure.ts) publishes a base measure at every time grain and describes it
 * in the catalogue and the docs. The hand-made shop of support/shop.ts goes through the real
 * loader, transforms and refresh; the refresh is given the example next to the real
 * definitions, so the real tables never publish it.
 *
 * Counted orders of 60 USD or more, from the order list of support/shop.ts (date, customer,
 * channel): O21 2023-03-10 70.00 direct; O1 2024-01-10 100.00 google_ads; O5 2024-01-25
 * 60.00 meta_ads; O4 2024-02-15 80.00 direct; O6 2024-03-04 120.00 google_ads; O12 2024-03-08
 * 90.00 google_ads. Not counted though large: O3 (test, 999.00) and O10 (cancelled, 70.00).
 * Below 60: O20 40, O2 50, O13 25, O7 40, O8 54.18 (49.99 EUR), O9 30, O11 20.
 */

const NOW = new Date('2024-03-12T12:00:00Z');
const config = configSchema.parse(CONFIG);
const withExample = [...metricDefinitions, exampleLargeOrders];

/** The large orders of each day. */
const DAILY: Record<string, number> = {
  '2023-03-10': 1,
  '2024-01-10': 1,
  '2024-01-25': 1,
  '2024-02-15': 1,
  '2024-03-04': 1,
  '2024-03-08': 1,
};

/** By ISO week, dated by its Monday: 2023-03-10 is a Friday, 2024-01-10 a Wednesday, the 25th and 15 February Thursdays; 4 and 8 March share a week. */
const WEEKLY: Record<string, number> = { '2023-03-06': 1, '2024-01-08': 1, '2024-01-22': 1, '2024-02-12': 1, '2024-03-04': 2 };

/** By month. */
const MONTHLY: Record<string, number> = { '2023-03-01': 1, '2024-01-01': 2, '2024-02-01': 1, '2024-03-01': 2 };

/** By date × the channel of the order. */
const CHANNEL_DAILY: Record<string, number> = {
  '2023-03-10 direct': 1,
  '2024-01-10 google_ads': 1,
  '2024-01-25 meta_ads': 1,
  '2024-02-15 direct': 1,
  '2024-03-04 google_ads': 1,
  '2024-03-08 google_ads': 1,
};

/**
 * A measure names the columns of its rows, typed: one that names a column core.orders does not
 * have does not compile (`npm run typecheck` fails if this line ever does).
 */
// @ts-expect-error core.orders has no column discount_code
export const misspelt = () => countedOrders.sum('discount_code');

let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('adding_a_measure');
  await landShop(wh.pool);
  const transformed = await runTransforms(wh, config, { now: NOW });
  expect(transformed.error).toBeUndefined();
  const refreshed = await refreshMetrics(wh, config, undefined, { now: NOW, definitions: withExample });
  expect(refreshed.error).toBeUndefined();
  expect(refreshed.status).toBe('succeeded');
});
afterAll(async () => wh?.close());

async function rows(query: string): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(query)).rows;
}

/** Every row's value is the hand-worked one, 0 where nothing is expected, and every hand-worked row exists. */
function expectValues(got: Record<string, unknown>[], key: (r: Record<string, unknown>) => string, want: Record<string, number>): void {
  const seen = new Set<string>();
  for (const r of got) {
    seen.add(key(r));
    expect(Number(r.example_large_orders), key(r)).toBe(want[key(r)] ?? 0);
  }
  for (const k of Object.keys(want)) expect(seen, k).toContain(k);
}

describe('adding a base measure in one declaration (docs/architecture.md, "Adding a measure")', () => {
  it('builds it in kpi_daily, day by day, a row of 0 on days without a large order', async () => {
    const got = await rows(`select date::text as date, example_large_orders from metrics.kpi_daily order by date`);
    expectValues(got, (r) => String(r.date), DAILY);
    // Every day from the first to the last with data is still there (O20 on 9 March 2023, data until 10 March 2024).
    expect(got[0]?.date).toBe('2023-03-09');
    expect(got.at(-1)?.date).toBe('2024-03-10');
  });

  it('adds it up by ISO week and by month', async () => {
    expectValues(await rows(`select date::text as date, example_large_orders from metrics.kpi_weekly`), (r) => String(r.date), WEEKLY);
    expectValues(await rows(`select date::text as date, example_large_orders from metrics.kpi_monthly`), (r) => String(r.date), MONTHLY);
  });

  it('publishes it by date × channel in kpi_channel_daily', async () => {
    const got = await rows(`select date::text as date, channel, example_large_orders from metrics.kpi_channel_daily`);
    expectValues(got, (r) => `${String(r.date)} ${String(r.channel)}`, CHANNEL_DAILY);
  });

  it('adds a bigint column at the end of each table and changes none of the others', async () => {
    for (const table of [...KPI_PERIOD_VIEWS, 'kpi_channel_daily']) {
      const columns = await rows(`select column_name, data_type from information_schema.columns where table_schema = 'metrics' and table_name = '${table}' order by ordinal_position`);
      expect(columns.at(-1), table).toEqual({ column_name: 'example_large_orders', data_type: 'bigint' });
    }
    // The 13 counted orders of the shop, as before: the example adds a column, no value moves.
    expect((await rows(`select sum(orders)::int as n from metrics.kpi_daily`))[0]?.n).toBe(13);
    expect((await rows(`select sum(orders)::int as n from metrics.kpi_channel_daily`))[0]?.n).toBe(13);
  });

  it('describes it in the catalogue, with the SQL the tables ran', async () => {
    const [row] = await rows(`select * from metrics.catalog where metric = 'example_large_orders'`);
    expect(row).toMatchObject({
      area: 'sales',
      column_name: 'example_large_orders',
      formula: 'count of counted orders with `total_price` of 60 or more',
      unit: 'count',
      views: 'kpi_daily, kpi_weekly, kpi_monthly, kpi_channel_daily',
      additive: true,
      sql_type: 'bigint',
      position: metricDefinitions.length + 1,
      computed_as: 'count(*) filter (where total_price_rc >= 60) over counted_orders by order_date',
    });
  });

  it('describes it in docs/metrics.md, in each table it is published in and in its area', () => {
    const doc = renderMetricsDoc(withExample);
    expect(doc).toContain('#### `example_large_orders` — Large orders');
    expect(doc).toContain('| computed as | `count(*) filter (where total_price_rc >= 60) over counted_orders by order_date` |');
    expect(doc).toContain('| over a range | SUM(example_large_orders) |');
    expect(doc.match(/^\| `example_large_orders` \| Large orders \| count \| SUM\(example_large_orders\) \|$/gm)).toHaveLength(4);
    // The real page does not know it.
    expect(renderMetricsDoc()).not.toContain('example_large_orders');
  });

  it('is not published by the real definitions: a refresh without it drops the column again', async () => {
    const refreshed = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(refreshed.status).toBe('succeeded');
    const left = await rows(`select table_name from information_schema.columns where table_schema = 'metrics' and column_name = 'example_large_orders'`);
    expect(left).toEqual([]);
    expect(await rows(`select metric from metrics.catalog where metric = 'example_large_orders'`)).toEqual([]);
    // Put it back for the other tests of this file, whatever order they run in.
    expect((await refreshMetrics(wh, config, undefined, { now: NOW, definitions: withExample })).status).toBe('succeeded');
  });
});

describe('a base measure that does not fit its grain', () => {
  it('fails the refresh, naming the metric, its rows and the missing column, and keeps the published tables', async () => {
    const refundsByChannel = metric('sales', {
      name: 'example_refunds_by_channel',
      label: 'Refunds by channel',
      description: 'Refunds have no channel: this cannot be published in kpi_channel_daily.',
      formula: 'refunds',
      unit: 'currency',
      views: ['kpi_channel_daily'],
      sources: ['shopify.orders'],
      measure: countedRefunds.sum('amount_rc'),
    });
    const before = await rows(`select count(*)::int as n from metrics.kpi_channel_daily`);
    const refreshed = await refreshMetrics(wh, config, undefined, { now: NOW, definitions: [...withExample, refundsByChannel] });
    expect(refreshed.status).toBe('failed');
    expect(refreshed.error).toContain('metrics.kpi_channel_daily');
    expect(refreshed.error).toContain('example_refunds_by_channel reads counted_refunds, which has no channel');
    expect(await rows(`select count(*)::int as n from metrics.kpi_channel_daily`)).toEqual(before);
  });

  it('is a definition problem when a distinct count says it is additive, or a sum that it is not', () => {
    const distinctButAdditive = metric('sales', {
      name: 'example_distinct_customers',
      label: 'Customers',
      description: 'A distinct count declared additive by mistake.',
      formula: 'distinct customers',
      unit: 'count',
      views: ['kpi_daily'],
      sources: ['shopify.orders'],
      additive: true,
      measure: countedOrders.countDistinct('customer_key'),
    });
    const sumNotAdditive = metric('sales', {
      name: 'example_revenue',
      label: 'Revenue',
      description: 'A sum declared not additive by mistake.',
      formula: 'revenue',
      unit: 'currency',
      views: ['kpi_daily'],
      sources: ['shopify.orders'],
      additive: false,
      whyNotAdditive: 'none',
      measure: countedOrders.sum('total_price_rc'),
    });
    expect(definitionProblems([...dimensionDefinitions, ...metricDefinitions, distinctButAdditive, sumNotAdditive])).toEqual([
      'example_distinct_customers is additive, yet its measure is recounted over a period',
      "example_revenue is not additive, yet its measure is summed over days: say rollUp 'recount'",
    ]);
  });
});
