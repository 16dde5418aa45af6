import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { METRIC_VIEWS, type MetricViewName } from '../../metrics/definition.ts';
import { definitionProblems, dimensionDefinitions, metricByName, metricDefinitions } from '../../metrics/definitions/index.ts';
import { METRICS_DOC, renderMetricsDoc } from '../../metrics/generate-docs.ts';
import { overARange } from '../../metrics/over-a-range.ts';
import { describeEntry } from '../../cli/commands/metrics.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { defineView } from '../../metrics/view.ts';
import { kpiDaily, metricLogs, metricViews } from '../../metrics/views/index.ts';
import { viewColumns } from '../../metrics/columns.ts';
import { runTransforms } from '../../transforms/runner.ts';
import { connect, type Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * The columns docs/metrics.md lists for each view, copied from the contract by hand: each must be
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
/** docs/metrics.md, "Freshness and complete periods": what a weekly and monthly row says of its period. */
const PERIOD = ['days_in_period', 'days_with_data', 'is_complete'];
const CONTRACT: Record<string, string[]> = {
  kpi_daily: KPI,
  kpi_weekly: [...KPI, ...PERIOD],
  kpi_monthly: [...KPI, ...PERIOD],
  kpi_channel_daily: ['date', 'channel', 'sessions', 'orders', 'revenue', 'new_customers', 'ad_spend', 'ad_clicks', 'ad_impressions', 'platform_conversions', 'platform_conversion_value', 'cac', 'roas', 'platform_roas'],
  customer_kpis: [
    'date', 'customers', 'repeat_customers', 'repeat_purchase_rate', 'purchase_frequency', 'avg_days_between_orders', 'historical_clv', 'churned_customers', 'churn_rate', 'cac_365d', 'ltv_to_cac',
    // "metrics.customer_kpis gains predicted_clv_12m_avg on its last as-of date" (issue 14)
    'predicted_clv_12m_avg',
  ],
  cohort_monthly: ['date', 'cohort_month', 'months_since_first_order', 'cohort_customers', 'active_customers', 'orders', 'revenue', 'cumulative_revenue_per_customer', 'retention_rate', 'is_complete'],
  data_status: ['source', 'stream', 'last_success_at', 'newest_data_date', 'freshness_limit_hours', 'is_fresh'],
  revenue_reconciliation_daily: ['date', 'shop_revenue', 'stripe_captured', 'stripe_refunded', 'ga4_purchase_revenue', 'shop_vs_stripe_gap', 'shop_vs_ga4_gap', 'orders_without_payment', 'payments_without_order'],
  clv_summary: ['cohort_month', 'channel', 'customers', 'expected_purchases_365d', 'predicted_clv_12m', 'avg_p_alive', 'ad_spend', 'predicted_ltv_to_cac'],
  clv_model: [
    'fitted_at', 'calibration_end', 'customers', 'repeat_customers', 'r', 'alpha', 'a', 'b', 'bgnbd_log_likelihood', 'p', 'q', 'gamma', 'gamma_gamma_log_likelihood',
    'holdout_end', 'holdout_actual_repeat_transactions', 'holdout_predicted_repeat_transactions', 'holdout_correlation',
  ],
};

/**
 * Every metric's formula, copied by hand from docs/metrics.md (issue 4): the catalogue must say what
 * the contract says, word for word. Where docs/metrics.md defines several columns in one row by
 * listing them in parallel (`shipping_cost`, `orders_shipped` | "shipping cost …; distinct
 * orders among them"; the six GA4 columns; the platform conversions of the Conventions), each
 * column takes its own share of the row, nothing else changed.
 */
const METRICS_MD: Record<string, string> = {
  // kpi_daily
  orders: 'count of counted orders created that date',
  revenue: 'sum of `total_price` of those orders (after discounts, incl. shipping and tax)',
  refunds: 'refunds (see Conventions) created that date, by refund date, not order date',
  net_revenue: '`revenue − refunds`',
  aov: '`revenue / orders`',
  customers: 'distinct customers with a counted order that date',
  new_customers: 'customers whose first order is that date',
  returning_customers: '`customers − new_customers`',
  sessions: 'GA4 `sessions` summed over the day',
  users: 'GA4 `totalUsers` summed over the day',
  add_to_carts: 'GA4 `addToCarts` summed over the day',
  checkouts: 'GA4 `checkouts` summed over the day',
  ga4_purchases: 'GA4 `ecommercePurchases` summed over the day',
  ga4_purchase_revenue: 'GA4 `purchaseRevenue` summed over the day',
  conversion_rate: '`orders / sessions` (shop orders over GA4 sessions: the blended rate)',
  revenue_per_session: '`revenue / sessions`',
  cart_abandonment_rate: '`1 − ga4_purchases / add_to_carts` (event counts: an approximation, documented as such)',
  checkout_abandonment_rate: '`1 − ga4_purchases / checkouts`',
  ad_spend: 'Google Ads `cost_micros / 1e6` plus Meta `spend`, converted',
  ad_clicks: 'summed over both platforms',
  ad_impressions: 'summed over both platforms',
  cac: '`ad_spend / new_customers` (blended CAC)',
  mer: '`revenue / ad_spend` (marketing efficiency ratio; the inverse direction is not used anywhere)',
  nc_roas: "revenue of new customers' first orders / `ad_spend`",
  payment_attempts: 'Stripe charges created that date whose status is `succeeded` or `failed`',
  payments_succeeded: 'of those, `succeeded`',
  payment_acceptance_rate: '`payments_succeeded / payment_attempts`',
  refund_rate: '`refunds / revenue`',
  shipments_delivered: 'shipments whose local delivery date is that date',
  shipments_on_time: 'of those, the ones whose local delivery date ≤ the local date of the promised (estimated) delivery',
  on_time_delivery_rate: '`shipments_on_time / shipments_delivered_with_promise` (the denominator counts only delivered shipments that have a promised date)',
  // From the same row: "(the denominator counts only delivered shipments that have a promised date; it is a column too)".
  shipments_delivered_with_promise: 'delivered shipments that have a promised date',
  delivery_days_total: 'sum over those delivered shipments of (delivered_at − order created_at) in days, fractional',
  avg_delivery_days: '`delivery_days_total / shipments_delivered`',
  shipping_cost: 'shipping cost of shipments shipped that date',
  orders_shipped: 'distinct orders among them',
  logistics_cost_per_order: '`shipping_cost / orders_shipped`',
  returns: 'shipments returned that date (local date of `returned_at`)',
  return_rate: '`returns / shipments_delivered`',
  // Products, stock and profit: the new columns of kpi_daily
  tax: 'sum of `total_tax` of counted orders created that date',
  refunded_tax:
    'sum of `total_tax` of the `refund_line_items` of the successful refunds (see Conventions) of counted orders, created that date, converted on the refund date',
  product_sales: 'sum of line sales of the line items of counted orders created that date',
  cogs: 'sum over those lines whose unit cost is known of `quantity × unit cost`',
  product_sales_costed: 'line sales of those lines whose unit cost is known',
  cogs_coverage: '`product_sales_costed / product_sales` (1 when every sold line has a cost)',
  gross_profit: '`product_sales − cogs` (a line without a cost counts at zero cost: read `cogs_coverage` beside it)',
  gross_margin: '`gross_profit / product_sales`',
  payment_fees:
    'sum of `fee` of Stripe balance transactions created that date (every type), plus minus the `amount` of those of type `stripe_fee` (fees Stripe bills apart: their `fee` is 0); minor units, converted on that date',
  payouts: 'minus the sum of `amount` of Stripe balance transactions of type `payout` created that date (cash sent to the bank, positive)',
  contribution_profit:
    '`net_revenue − (tax − refunded_tax) − cogs − shipping_cost − payment_fees − ad_spend` (refunds include their tax, so the refunded tax is not taken off twice)',
  contribution_margin: '`contribution_profit / (net_revenue − (tax − refunded_tax))`',
  variants_out_of_stock:
    "tracked variants whose `available` summed over locations is ≤ 0 in that date's inventory snapshot; NULL on a date without a snapshot (a snapshot, never summed: `kpi_weekly`/`kpi_monthly` take the period's last snapshot)",
  // product_daily and inventory_daily: their columns' parenthesised definitions ("`units_sold` (sum of …)"), a
  // ratio's without its "name =".
  units_sold: 'sum of `quantity` of lines of counted orders created that date',
  product_orders: 'distinct counted orders with the variant that date; not additive over dates',
  units_refunded: "sum of `quantity` of the `refund_line_items` of that variant in the successful refunds of counted orders, dated by the refund's `created_at`",
  refunded_sales: "their `subtotal`, less their `total_tax` when the order's `taxes_included` is true, so it compares with `product_sales`; converted on the refund date",
  refund_unit_rate: '`units_refunded / units_sold` (NULL when none sold)',
  available: '`available` summed over locations',
  units_sold_28d: 'units sold in the 28 days ending that date, from `product_daily`',
  days_of_cover: '`available / (units_sold_28d / 28)` (0 when out of stock, whatever the sales; else NULL when nothing sold in those 28 days)',
  // kpi_channel_daily: "`platform_conversions`, `platform_conversion_value` (what the ad platform claims)", defined in the Conventions.
  // docs/metrics.md writes "Meta the `purchase` action type … (configurable …)"; the configurable type's
  // default is now `omni_purchase`, the type Ads Manager's Purchases column counts (issue 11,
  // DECISIONLOG.md), so the catalogue names the setting and its default instead of `purchase`.
  platform_conversions:
    'What an ad platform claims: Google Ads `metrics.conversions`; Meta the configured purchase action type of `actions[]` ' +
    "(`purchaseActionType`, default `omni_purchase`, the type of Ads Manager's Purchases column; " +
    'Meta reports the same purchase under several overlapping action types, so only one is ever summed)',
  platform_conversion_value:
    'What an ad platform claims: Google Ads `metrics.conversions_value`; Meta the configured purchase action type of `action_values[]` ' +
    "(`purchaseActionType`, default `omni_purchase`, the type of Ads Manager's Purchases conversion value; " +
    'Meta reports the same purchase under several overlapping action types, so only one is ever summed)',
  roas: '`revenue / ad_spend` (revenue of orders attributed to the channel)',
  platform_roas: '`platform_conversion_value / ad_spend`',
  // customer_kpis (its `customers` is the metric customers_to_date)
  customers_to_date: 'customers with at least one counted order up to the as-of date',
  repeat_customers: 'of those, customers with two or more',
  repeat_purchase_rate: '`repeat_customers / customers`',
  purchase_frequency: 'counted orders dated in the 365 days ending on the as-of date (as-of − 364 … as-of) / distinct customers who ordered in them',
  avg_days_between_orders:
    "mean of every gap between the `created_at` of a customer's consecutive counted orders up to the as-of date, in fractional days, all customers' gaps pooled; NULL with no repeat customer",
  historical_clv: "mean over customers of the sum of their counted orders' `total_price` less their refunds, both up to the as-of date",
  churned_customers: 'customers whose last counted order (up to the as-of date) is more than `churnAfterDays` (default 180) days before the as-of date',
  churn_rate: '`churned_customers / customers`',
  cac_365d: 'ad spend / new customers, both over the 365 days ending on the as-of date',
  ltv_to_cac: '`historical_clv / cac_365d`',
  // cohort_monthly: "(customers of the cohort with a counted order in that month)", "`retention_rate = active_customers / cohort_customers`"
  active_customers: 'customers of the cohort with a counted order in that month',
  retention_rate: '`active_customers / cohort_customers`',
  // revenue_reconciliation_daily
  shop_revenue: '= `kpi_daily.revenue`',
  stripe_captured: 'the sum of `amount_captured` of succeeded charges created that date',
  stripe_refunded: 'the sum of `amount_refunded` of charges created that date',
  orders_without_payment: "counted orders whose `payment_gateway_names` include `stripe` and that no succeeded charge is matched to, on the order's date",
  payments_without_order: "succeeded charges matched to no order, on the charge's date",
  // clv_summary: "`ad_spend` (that channel's spend in that month; NULL for a channel without spend) and `predicted_ltv_to_cac = predicted_clv_12m / ad_spend` (…)"
  cohort_ad_spend: "that channel's spend in that month; NULL for a channel without spend",
  predicted_ltv_to_cac:
    '`predicted_clv_12m / ad_spend` (the predicted 12-month value of the customers a paid channel brought in a month, per unit of its spend that month: predicted CLV over CAC)',
  // clv_model
  holdout_actual_repeat_transactions: 'purchase days after `E` up to `H` of the customers whose first purchase day is ≤ `E`',
  holdout_predicted_repeat_transactions: 'the sum of their conditional expectations for `t` = weeks from `E` to `H`',
  holdout_correlation: 'Pearson, per customer, actual against predicted',
};

/**
 * The formulas docs/metrics.md does not write: the additive parts published next to a ratio so it can
 * be recomputed over a range (their words taken from the ratio's row), the two gaps it defines
 * only as "differences, shop minus other", and the cohort columns it names without a definition.
 */
const NOT_IN_METRICS_MD: Record<string, string> = {
  new_customer_revenue: "revenue of new customers' first orders",
  orders_365d: 'counted orders dated in the 365 days ending on the as-of date (as-of − 364 … as-of)',
  customers_365d: 'distinct customers who ordered in the 365 days ending on the as-of date',
  order_gaps: "count of the gaps between a customer's consecutive counted orders up to the as-of date",
  days_between_orders_total: "sum of the gaps between the `created_at` of a customer's consecutive counted orders up to the as-of date, in fractional days",
  net_revenue_to_date: "sum of counted orders' `total_price` less their refunds, both up to the as-of date",
  ad_spend_365d: 'ad spend over the 365 days ending on the as-of date',
  new_customers_365d: 'new customers over the 365 days ending on the as-of date',
  cohort_customers: 'customers whose first order is in the cohort month',
  cumulative_revenue: "sum of `revenue` of the cohort's months from months_since_first_order 0 to this one",
  cumulative_revenue_per_customer: '`cumulative_revenue / cohort_customers`',
  shop_vs_stripe_gap: '`shop_revenue − stripe_captured` (shop minus other)',
  shop_vs_ga4_gap: '`shop_revenue − ga4_purchase_revenue` (shop minus other)',
  // The two parts of contribution profit and margin that docs/metrics.md writes inside their formulas.
  net_tax: '`tax − refunded_tax`',
  net_revenue_ex_tax: '`net_revenue − (tax − refunded_tax)`',
  // Predicted customer value: docs/metrics.md names these columns; the words come from its definitions of the customer summary, the models and predicted_clv_12m.
  predicted_clv_12m_total: 'sum over customers of `predicted_clv_12m`, on the last as-of date',
  predicted_clv_12m_avg: 'mean over customers of `predicted_clv_12m`, on the last as-of date',
  clv_customers: 'customers of the last published fit whose first order is in the cohort month, through the channel',
  expected_purchases_365d: 'sum of `expected_purchases_365d` of those customers (equation 10 of the BG/NBD paper, `t` = 365/7 weeks)',
  predicted_clv_12m:
    'sum over those customers of `predicted_clv_12m` = the sum over the next 12 months `k = 1..12` of (expected purchases by the end of month k − by the end of month k−1, ' +
    'months of 365/12 days) × `expected_spend` / (1 + `clv.monthlyDiscountRate`)^k',
  expected_alive_customers: 'sum of `p_alive` of those customers',
  avg_p_alive: '`expected_alive_customers / customers`',
  clv_fit_customers: 'customers whose first purchase day is on or before the calibration end',
  clv_fit_repeat_customers: 'of those, customers with `x > 0`',
  bgnbd_r: 'the BG/NBD `r` that maximises the sum over customers of the log-likelihood of the paper (its equation 6)',
  bgnbd_alpha: 'the BG/NBD `alpha` that maximises the sum over customers of the log-likelihood of the paper (its equation 6)',
  bgnbd_a: 'the BG/NBD `a` that maximises the sum over customers of the log-likelihood of the paper (its equation 6)',
  bgnbd_b: 'the BG/NBD `b` that maximises the sum over customers of the log-likelihood of the paper (its equation 6)',
  bgnbd_log_likelihood: 'the sum over customers of the log-likelihood of the paper (its equation 6) at the estimates',
  gamma_gamma_p: 'the Gamma-Gamma `p` that maximises the likelihood of the customers with `x > 0` and `m > 0`',
  gamma_gamma_q: 'the Gamma-Gamma `q` that maximises the likelihood of the customers with `x > 0` and `m > 0`',
  gamma_gamma_gamma: 'the Gamma-Gamma `gamma` that maximises the likelihood of the customers with `x > 0` and `m > 0`',
  gamma_gamma_log_likelihood: 'the sum over the customers with `x > 0` and `m > 0` of the log-likelihood of their `m` at the estimates',
};

/**
 * Where verite departs from docs/metrics.md on purpose, each recorded in DECISIONLOG.md ("Metrics"):
 * docs/metrics.md's formula, then the catalogue's. None: avg_delivery_days was one (over the delivered
 * shipments matched to an order) until the fulfilment metrics came to count only shipments
 * matched to a counted order, which makes docs/metrics.md's `delivery_days_total / shipments_delivered` exact.
 */
const DEPARTURES: Record<string, [metricsMd: string, verite: string]> = {};

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
      dimensions: ['date'],
      indexes: [],
      build: (db) => db.selectFrom('core.orders').select(sql<string>`no_such_column`.as('date')),
    });
    const failed = await refreshMetrics(wh, config, undefined, { views: [kpiDaily, broken] });
    expect(failed.status).toBe('failed');
    expect(failed.failed?.table).toBe('metrics.kpi_weekly');
    expect(failed.error).toMatch(/no_such_column/);
    // kpi_daily was rebuilt with the shop's 368 days (9 March 2023 to 10 March 2024) inside the transaction, then rolled back.
    expect(await count('metrics.kpi_daily')).toBe(0);
    expect(await count('metrics.kpi_weekly')).toBe(0);

    const ok = await refreshMetrics(wh, config, undefined, { full: true });
    expect(ok.status).toBe('succeeded');
    expect(await count('metrics.kpi_daily')).toBe(368);
    // The second (full) refresh of an unchanged shape refills the tables in place.
    expect(ok.tables.every((t) => t.mode === 'refilled')).toBe(true);
  });

  it('reads every metric of a day as the month has it through its "over a range" formula (the one the docs and describe give)', async () => {
    // February 2024 of the shop landed above: the formula, run over its days in kpi_daily, against the month's row of kpi_monthly.
    const checked: string[] = [];
    for (const m of metricDefinitions) {
      const formula = overARange(m);
      if (!m.views.includes('kpi_daily') || !m.views.includes('kpi_monthly') || !formula.startsWith('SUM(') && !formula.startsWith('(') && !formula.startsWith('1 ')) continue;
      const res = await wh.pool.query(
        `select (${formula.replace(/−/g, '-')})::float8 as over_days, (select ${m.column}::float8 from metrics.kpi_monthly where date = '2024-02-01') as month
           from metrics.kpi_daily where date between '2024-02-01' and '2024-02-29'`,
      );
      const { over_days: overDays, month } = res.rows[0] as { over_days: number | null; month: number | null };
      if (month === null) expect(overDays, `${m.name}: ${formula}`).toBeNull();
      else expect(overDays, `${m.name}: ${formula}`).toBeCloseTo(month, 9);
      checked.push(m.name);
    }
    // Ratios of sums, and differences nested in them: bracketed, `(SUM(product_sales) − SUM(cogs)) / …`.
    expect(checked).toEqual(expect.arrayContaining(['aov', 'conversion_rate', 'net_revenue', 'net_revenue_ex_tax', 'gross_margin', 'contribution_margin', 'contribution_profit']));
    expect(overARange(metricByName('gross_margin')!)).toBe('(SUM(product_sales) − SUM(cogs)) / NULLIF(SUM(product_sales), 0)');
    expect(overARange(metricByName('net_revenue_ex_tax')!)).toBe('SUM(revenue) − SUM(refunds) − (SUM(tax) − SUM(refunded_tax))');
  });

  it("a server whose shared memory cannot hold parallel workers: the refresh runs again whole, in one process, and says so", async () => {
    // PostgreSQL's words and code for a full /dev/shm (a container's 64 MB), raised by a function
    // while statements may use parallel workers; the view reading it is kpi_daily's, plus a column.
    const database = new URL(wh.url).pathname.slice(1);
    await wh.pool.query(`alter database "${database}" set max_parallel_workers_per_gather = 2`);
    await wh.pool.query(`create or replace function public.verite_test_shm() returns text language plpgsql as $$
      begin
        if current_setting('max_parallel_workers_per_gather')::int > 0 then
          raise exception using errcode = '53100', message = 'could not resize shared memory segment "/PostgreSQL.99" to 8388608 bytes: No space left on device';
        end if;
        return current_setting('max_parallel_workers_per_gather');
      end $$`);
    const { db } = connect(wh.url, 2);
    try {
      const short = defineView({ ...kpiDaily, build: (q, c) => q.selectFrom(sql`(${kpiDaily.build(q, c)})`.as('k')).selectAll('k').select(sql<string>`public.verite_test_shm()`.as('workers')) });
      const result = await refreshMetrics({ db }, config, undefined, { views: [short], full: true });
      expect(result.status, result.error).toBe('succeeded');
      expect(result.warnings?.[0]).toBe(
        "the server's shared memory (/dev/shm) was too small for its parallel workers (metrics.kpi_daily: could not resize shared memory segment \"/PostgreSQL.99\" to 8388608 bytes: No space left on device), " +
          'so the refresh went on in one process, slower. A PostgreSQL in a container gets 64 MB unless given more: run it with --shm-size=1g (shm_size: 1g in Docker Compose, as verite\'s docker-compose.yml does)',
      );
      expect(await count('metrics.kpi_daily')).toBe(368);
    } finally {
      await db.destroy();
      await wh.pool.query(`alter database "${database}" reset max_parallel_workers_per_gather`);
      await wh.pool.query('drop function public.verite_test_shm()');
    }
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
  it('has one row per published metric and nothing else: no dimension rows (issue 4)', async () => {
    const rows = (await wh.pool.query(`select * from metrics.catalog order by position`)).rows;
    expect(rows.map((r) => r.metric)).toEqual(metricDefinitions.map((m) => m.name));
    for (const dimension of ['date', 'days_in_period', 'days_with_data', 'is_complete', 'channel', 'cohort_month', 'months_since_first_order']) {
      expect(rows.map((r) => r.metric)).not.toContain(dimension);
    }
    for (const r of rows) expect(r.formula, r.metric).toEqual(expect.any(String));
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
    // A ratio's parts are columns of its row: customer_kpis publishes customers_to_date as `customers`.
    expect(rows.find((r) => r.metric === 'churn_rate')).toMatchObject({ numerator: 'churned_customers', denominator: 'customers' });
    for (const r of rows) expect(['count', 'currency', 'ratio', 'days'], r.metric).toContain(r.unit);
  });

  it("gives every metric docs/metrics.md's formula, word for word (issue 4)", async () => {
    const rows = (await wh.pool.query(`select metric, formula from metrics.catalog`)).rows as { metric: string; formula: string }[];
    const tables = [Object.keys(METRICS_MD), Object.keys(NOT_IN_METRICS_MD), Object.keys(DEPARTURES)];
    // Every metric in exactly one of the three tables above.
    expect(tables.flat().sort()).toEqual(metricDefinitions.map((m) => m.name).sort());
    for (const { metric, formula } of rows) {
      const want = METRICS_MD[metric] ?? NOT_IN_METRICS_MD[metric] ?? DEPARTURES[metric]![1];
      expect(formula, metric).toBe(want);
    }
    // No departure is left: avg_delivery_days divides by shipments_delivered, as docs/metrics.md says.
    expect(Object.keys(DEPARTURES)).toEqual([]);
    expect(rows.find((r) => r.metric === 'avg_delivery_days')?.formula).toBe('`delivery_days_total / shipments_delivered`');
    expect(metricByName('avg_delivery_days')).toMatchObject({ numerator: 'delivery_days_total', denominator: 'shipments_delivered' });
  });

  it('describes every column of every metric table, and every table holds the columns of docs/metrics.md', async () => {
    const columns = (
      await wh.pool.query(`select table_name, column_name from information_schema.columns where table_schema = 'metrics' and table_name <> 'catalog' order by table_name, ordinal_position`)
    ).rows as { table_name: string; column_name: string }[];
    const catalog = (await wh.pool.query(`select metric, column_name, views, description from metrics.catalog`)).rows as { metric: string; column_name: string; views: string; description: string }[];
    const comments = (
      await wh.pool.query(`select c.relname as table_name, a.attname as column_name, col_description(c.oid, a.attnum) as comment
                             from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
                            where n.nspname = 'metrics' and a.attnum > 0 and not a.attisdropped`)
    ).rows as { table_name: string; column_name: string; comment: string | null }[];
    for (const { table_name: table, column_name: column } of columns) {
      const described = catalog.filter((c) => c.column_name === column && c.views.split(', ').includes(table));
      // data_status holds no metric: its columns are described by their comments (and docs/metrics.md), like dimensions.
      const dimension = table === 'data_status' || dimensionDefinitions.some((d) => d.column === column && d.views.includes(table as MetricViewName));
      // A metric in metrics.catalog, once; a dimension (date, channel …) by its column comment only.
      expect(described.length, `${table}.${column} described in metrics.catalog`).toBe(dimension ? 0 : 1);
      if (!dimension) expect(described[0]!.description.length).toBeGreaterThan(20);
      const comment = comments.find((c) => c.table_name === table && c.column_name === column)?.comment ?? '';
      expect(comment.length, `${table}.${column} comment`).toBeGreaterThan(20);
    }
    for (const [table, contract] of Object.entries(CONTRACT)) {
      const published = columns.filter((c) => c.table_name === table).map((c) => c.column_name);
      expect(published, table).toEqual(expect.arrayContaining(contract));
    }
    // The denominator of the former departure is gone from every table and from the catalogue.
    expect(columns.filter((c) => c.column_name === 'shipments_delivered_with_order')).toEqual([]);
    expect(catalog.filter((c) => c.metric === 'shipments_delivered_with_order')).toEqual([]);
    // customer_kpis.customers is its own metric (customers to date), not the daily distinct count.
    expect(catalog.find((c) => c.column_name === 'customers' && c.views === 'customer_kpis')?.metric).toBe('customers_to_date');
  });

  it('lists the columns of every metric table in the order the table has them (`verite metrics list --view`)', async () => {
    const columns = (
      await wh.pool.query(`select table_name, column_name from information_schema.columns where table_schema = 'metrics' order by table_name, ordinal_position`)
    ).rows as { table_name: string; column_name: string }[];
    for (const table of [...metricViews, ...metricLogs]) {
      const ordinal = columns.filter((c) => c.table_name === table.name).map((c) => c.column_name);
      expect(ordinal.length, table.name).toBeGreaterThan(0);
      expect(viewColumns(table).map((e) => e.column), table.name).toEqual(ordinal);
    }
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

  it('says "over a range" as `verite metrics describe` does, in the columns a reader sees (issue 4)', () => {
    const doc = renderMetricsDoc();
    for (const m of metricDefinitions) {
      expect(doc, m.name).toContain(`| over a range | ${overARange(m).replace(/\|/g, '\\|')} |`);
      expect(describeEntry(m), m.name).toMatch(new RegExp(`^over a range  ${overARange(m).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    }
    // A snapshot: never summed, and its parts by their column names (customer_kpis publishes customers_to_date as customers).
    const churn = describeEntry(metricByName('churn_rate')!);
    expect(churn).toMatch(/^computed {6}churned_customers \/ customers \(NULL when customers is 0\)$/m);
    expect(churn).toMatch(/^over a range {2}not summed: a snapshot as of the row's date, and the rows of customer_kpis overlap: read one row, never a sum of rows$/m);
    expect(churn).not.toContain('customers_to_date');
    expect(churn).not.toContain('SUM(');
    expect(describeEntry(metricByName('aov')!)).toMatch(/^over a range {2}SUM\(revenue\) \/ NULLIF\(SUM\(orders\), 0\)$/m);
    // Cohorts pool: the description, the docs and describe say the same SUM / SUM across cohorts.
    const retention = metricByName('retention_rate')!;
    expect(overARange(retention)).toBe('across cohorts at one months_since_first_order: SUM(active_customers) / NULLIF(SUM(cohort_customers), 0)');
    expect(retention.description).toContain('Across cohorts at one months_since_first_order (a pooled retention curve): SUM(active_customers) / SUM(cohort_customers)');
    expect(overARange(metricByName('cumulative_revenue_per_customer')!)).toBe(
      'across cohorts at one months_since_first_order: SUM(cumulative_revenue) / NULLIF(SUM(cohort_customers), 0)',
    );
    expect(doc).not.toMatch(/`(retention_rate|cumulative_revenue_per_customer)`[^\n]*not summed/);
  });
});
