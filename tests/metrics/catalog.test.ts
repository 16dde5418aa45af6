import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { METRIC_VIEWS } from '../../metrics/definition.ts';
import { definitionProblems, metricByName, metricDefinitions } from '../../metrics/definitions/index.ts';
import { METRICS_DOC, renderMetricsDoc } from '../../metrics/generate-docs.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { defineView } from '../../metrics/view.ts';
import { kpiDaily } from '../../metrics/views/index.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * The columns METRICS.md lists for each view, copied from the contract by hand: each must be
 * published, and described in metrics.catalog.
 */
const KPI = [
  'date', 'orders', 'revenue', 'refunds', 'net_revenue', 'aov', 'customers', 'new_customers', 'returning_customers',
  'sessions', 'users', 'add_to_carts', 'checkouts', 'ga4_purchases', 'ga4_purchase_revenue', 'conversion_rate', 'revenue_per_session',
  'cart_abandonment_rate', 'checkout_abandonment_rate', 'ad_spend', 'ad_clicks', 'ad_impressions', 'cac', 'mer', 'nc_roas',
  'payment_attempts', 'payments_succeeded', 'payment_acceptance_rate', 'refund_rate', 'shipments_delivered', 'shipments_on_time',
  'shipments_delivered_with_promise', 'on_time_delivery_rate', 'delivery_days_total', 'avg_delivery_days', 'shipping_cost', 'orders_shipped',
  'logistics_cost_per_order', 'returns', 'return_rate',
];
const CONTRACT: Record<string, string[]> = {
  kpi_daily: KPI,
  kpi_weekly: KPI,
  kpi_monthly: KPI,
  kpi_channel_daily: ['date', 'channel', 'sessions', 'orders', 'revenue', 'new_customers', 'ad_spend', 'ad_clicks', 'ad_impressions', 'platform_conversions', 'platform_conversion_value', 'cac', 'roas', 'platform_roas'],
  customer_kpis: ['date', 'customers', 'repeat_customers', 'repeat_purchase_rate', 'purchase_frequency', 'avg_days_between_orders', 'historical_clv', 'churned_customers', 'churn_rate', 'cac_365d', 'ltv_to_cac'],
  cohort_monthly: ['date', 'cohort_month', 'months_since_first_order', 'cohort_customers', 'active_customers', 'orders', 'revenue', 'cumulative_revenue_per_customer', 'retention_rate'],
  revenue_reconciliation_daily: ['date', 'shop_revenue', 'stripe_captured', 'stripe_refunded', 'ga4_purchase_revenue', 'shop_vs_stripe_gap', 'shop_vs_ga4_gap', 'orders_without_payment', 'payments_without_order'],
};

let wh: Warehouse;
const config = configSchema.parse(CONFIG);

beforeAll(async () => {
  wh = await createTestDatabase('metrics_catalog');
});
afterAll(async () => wh?.close());

const count = async (table: string) => (await wh.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;

describe('refresh', () => {
  it('says to run the transforms first when core does not exist yet', async () => {
    const result = await refreshMetrics(wh, config);
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/core\.orders.* not exist yet: run `verite transform`/);
  });

  it('publishes every table, empty, from an empty core, and the whole catalogue', async () => {
    expect((await runTransforms(wh, config, {})).status).toBe('succeeded');
    const result = await refreshMetrics(wh, config);
    expect(result.error).toBeUndefined();
    expect(result.tables.map((t) => t.table)).toEqual([...METRIC_VIEWS.map((v) => `metrics.${v}`), 'metrics.catalog']);
    for (const view of METRIC_VIEWS) expect(await count(`metrics.${view}`), view).toBe(0);
    expect(await count('metrics.catalog')).toBeGreaterThan(0);
  });

  it('keeps the previous tables when one table of the refresh fails (one transaction)', async () => {
    await landShop(wh.pool);
    expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
    const broken = defineView({
      name: 'kpi_weekly',
      grain: 'broken on purpose',
      dimensions: ['date', 'days'],
      indexes: [],
      build: (db) => db.selectFrom('core.orders').select(sql<string>`no_such_column`.as('date')),
    });
    const failed = await refreshMetrics(wh, config, undefined, { views: [kpiDaily, broken] });
    expect(failed.status).toBe('failed');
    expect(failed.failed?.table).toBe('metrics.kpi_weekly');
    expect(failed.error).toMatch(/no_such_column/);
    // kpi_daily was rebuilt with the shop's 61 days inside the transaction, then rolled back.
    expect(await count('metrics.kpi_daily')).toBe(0);
    expect(await count('metrics.kpi_weekly')).toBe(0);

    const ok = await refreshMetrics(wh, config);
    expect(ok.status).toBe('succeeded');
    expect(await count('metrics.kpi_daily')).toBe(61);
    // The second refresh of an unchanged shape refills the tables in place.
    expect(ok.tables.every((t) => t.mode === 'refilled')).toBe(true);
  });

  it('lets a view built on a metric table by someone else survive the refresh', async () => {
    await wh.pool.query(`create view public.my_march as select date, revenue from metrics.kpi_daily where date >= '2024-03-01'`);
    const again = await refreshMetrics(wh, config);
    expect(again.status).toBe('succeeded');
    expect((await wh.pool.query('select count(*)::int as n from public.my_march')).rows[0].n).toBe(10);
    await wh.pool.query('drop view public.my_march');
  });
});

describe('metrics.catalog (acceptance 3)', () => {
  it('has one row per published metric, with its definition', async () => {
    const rows = (await wh.pool.query(`select * from metrics.catalog where kind = 'metric' order by position`)).rows;
    expect(rows.map((r) => r.metric)).toEqual(metricDefinitions.map((m) => m.name));
    expect(new Set(rows.map((r) => r.metric)).size).toBe(rows.length);
    const mer = rows.find((r) => r.metric === 'mer');
    expect(mer).toMatchObject({
      label: 'Marketing efficiency ratio (MER)',
      formula: '`revenue / ad_spend` (marketing efficiency ratio; the inverse direction is not used anywhere)',
      unit: 'ratio',
      views: 'kpi_daily, kpi_weekly, kpi_monthly',
      sources: 'shopify.orders, google_ads.campaign_daily, meta_ads.campaign_insights_daily, fx.rates',
      numerator: 'revenue',
      denominator: 'ad_spend',
      additive: false,
    });
    expect(rows.find((r) => r.metric === 'orders')).toMatchObject({ formula: 'count of counted orders created that date', unit: 'count', additive: true, numerator: null });
    for (const r of rows) expect(['count', 'currency', 'ratio', 'days'], r.metric).toContain(r.unit);
  });

  it('describes every column of every metric table, and every table holds the columns of METRICS.md', async () => {
    const columns = (
      await wh.pool.query(`select table_name, column_name from information_schema.columns where table_schema = 'metrics' and table_name <> 'catalog' order by table_name, ordinal_position`)
    ).rows as { table_name: string; column_name: string }[];
    const catalog = (await wh.pool.query(`select metric, column_name, views, description from metrics.catalog`)).rows as { metric: string; column_name: string; views: string; description: string }[];
    for (const { table_name: table, column_name: column } of columns) {
      const described = catalog.filter((c) => c.column_name === column && c.views.split(', ').includes(table));
      expect(described.length, `${table}.${column} described once in metrics.catalog`).toBe(1);
      expect(described[0]!.description.length).toBeGreaterThan(20);
    }
    for (const [table, contract] of Object.entries(CONTRACT)) {
      const published = columns.filter((c) => c.table_name === table).map((c) => c.column_name);
      expect(published, table).toEqual(expect.arrayContaining(contract));
    }
    // customer_kpis.customers is its own metric (customers to date), not the daily distinct count.
    expect(catalog.find((c) => c.column_name === 'customers' && c.views === 'customer_kpis')?.metric).toBe('customers_to_date');
  });

  it('publishes the additive parts next to every ratio', () => {
    expect(definitionProblems()).toEqual([]);
    for (const m of metricDefinitions.filter((x) => x.derivation?.kind === 'ratio')) {
      for (const part of [m.numerator!, m.denominator!]) {
        expect(metricByName(part)?.views, `${m.name}: ${part}`).toEqual(expect.arrayContaining([...m.views]));
      }
    }
    expect(Object.isFrozen(metricByName('aov'))).toBe(true);
  });

  it('puts each column definition in a PostgreSQL comment', async () => {
    const res = await wh.pool.query(`select col_description('metrics.kpi_daily'::regclass, 6) as comment, (select attname from pg_attribute where attrelid = 'metrics.kpi_daily'::regclass and attnum = 6) as name`);
    expect(res.rows[0].name).toBe('aov');
    expect(res.rows[0].comment).toMatch(/^Average order value: .*Formula: `revenue \/ orders`$/);
  });
});

describe('docs/metrics.md', () => {
  it('is what `npm run docs:metrics` generates from the definitions (regenerate it when this fails)', () => {
    expect(readFileSync(METRICS_DOC, 'utf8')).toBe(renderMetricsDoc());
  });

  it('lists every metric with its formula', () => {
    const doc = renderMetricsDoc();
    for (const m of metricDefinitions) expect(doc, m.name).toContain(`#### \`${m.name}\` — ${m.label}`);
    expect(doc).toContain('| over a range | SUM(revenue) / NULLIF(SUM(orders), 0) |');
  });
});
