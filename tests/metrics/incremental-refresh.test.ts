import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics, type MetricsRefreshResult } from '../../metrics/refresh.ts';
import { clvSummary, customerKpis } from '../../metrics/views/index.ts';
import { createLogger } from '../../lib/logger.ts';
import { postLoadSteps } from '../../pipeline/steps.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG as PRODUCTS_CONFIG, landProductsShop, NOW as PRODUCTS_NOW } from '../support/products-shop.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * Issue 16, "Incremental metrics": after the transform replaced some core rows and said which
 * (`ops.metric_inputs_changed`, written here by hand as the transform writes it), the default
 * refresh rebuilds only what they can move, and gives exactly the tables a full refresh at the
 * same clock gives: every table of schema metrics is read in full (every column, ordered by every
 * column) after the incremental refresh and after a full one, and compared.
 *
 * The shop is tests/metrics/support/shop.ts (368 days of kpi_daily, 2023-03-09 … 2024-03-10);
 * each change below edits core as the transform would (an order with its line and its
 * customer, a refund with its order and customer), and records what the transform records:
 * the dates of the rows it replaced, old and new, and the customers core.customers replaced.
 */

const config = configSchema.parse(CONFIG);
/** The clock of the first refresh: yesterday (5 March) is the last complete day. */
const EARLY = new Date('2024-03-06T12:00:00Z');
/** The clock of the others: 11 March is over. */
const NOW = new Date('2024-03-12T12:00:00Z');
let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_incremental');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
  // The incremental transform keeps a watermark per model; this one built core in full and recorded none.
  const first = await refreshMetrics(wh, config, undefined, { now: EARLY });
  expect(first.status).toBe('succeeded');
  expect(first.fullRefreshReason).toMatch(/no previous refresh of metrics\.kpi_daily is recorded/);
  await wh.pool.query(`insert into ops.model_builds (model, through_change_id, signature) values ('core.orders', 0, 'incremental transform') on conflict (model) do nothing`);
});
afterAll(async () => wh?.close());

type Change = { model: string; dates?: string[]; customers?: string[] };

/** What the transform writes in its transaction: one row per date and per customer it replaced. */
async function recordChanges(changes: Change[]): Promise<void> {
  for (const c of changes) {
    for (const date of c.dates ?? []) await wh.pool.query(`insert into ops.metric_inputs_changed (model, date) values ($1, $2)`, [c.model, date]);
    for (const key of c.customers ?? []) await wh.pool.query(`insert into ops.metric_inputs_changed (model, customer_key) values ($1, $2)`, [c.model, key]);
  }
}

/** Every row of every table and view of schema metrics, ordered by all its columns. */
async function snapshot(db: Warehouse = wh): Promise<Record<string, unknown[]>> {
  const wh = db;
  const tables = await wh.pool.query(`select table_name as name from information_schema.tables where table_schema = 'metrics' order by 1`);
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables.rows as { name: string }[]) {
    const columns = await wh.pool.query(`select count(*)::int as n from information_schema.columns where table_schema = 'metrics' and table_name = $1`, [name]);
    const order = Array.from({ length: columns.rows[0].n as number }, (_, i) => i + 1).join(', ');
    out[name] = (await wh.pool.query(`select * from metrics.${name} order by ${order}`)).rows;
  }
  return out;
}

const modes = (r: MetricsRefreshResult) => Object.fromEntries(r.tables.map((t) => [t.table.replace('metrics.', ''), t.mode]));

/**
 * The incremental refresh at NOW, then a full one at NOW: both must publish the same rows. The
 * queue of changes is empty after the first. Returns the incremental result and what it published.
 */
async function incrementalThenFull(
  at = { wh: () => wh, config, now: NOW },
): Promise<{ result: MetricsRefreshResult; incremental: Record<string, unknown[]> }> {
  const wh = at.wh();
  const { config, now: NOW } = at;
  const result = await refreshMetrics(wh, config, undefined, { now: NOW });
  expect(result.error).toBeUndefined();
  expect(result.fullRefreshReason).toBeUndefined();
  expect((await wh.pool.query(`select count(*)::int as n from ops.metric_inputs_changed`)).rows[0].n).toBe(0);
  const incremental = await snapshot(wh);
  const full = await refreshMetrics(wh, config, undefined, { now: NOW, full: true });
  expect(full.fullRefreshReason).toBe('a full refresh was asked for');
  expect(incremental).toEqual(await snapshot(wh));
  return { result, incremental };
}

async function one<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T> {
  const res = await wh.pool.query(query, params);
  expect(res.rows.length, query).toBe(1);
  return res.rows[0] as T;
}

const customerOf = async (orderId: string) => (await one<{ k: string }>(`select customer_key as k from core.orders where order_id = $1`, [orderId])).k;

/** Adds a counted order (and its one line) copied from `like`, as the transform would build it. */
async function addOrder(like: string, id: string, at: string, total: number, seq: number): Promise<void> {
  const date = at.slice(0, 10);
  await wh.pool.query(`create temp table o as select * from core.orders where order_id = $1`, [like]);
  await wh.pool.query(
    `update o set order_id = $1, order_name = $2, created_at = $3, updated_at = $3, order_date = $4, total_price = $5, subtotal_price = $5,
                  total_price_rc = $5, subtotal_price_rc = $5, refunded = 0, refunded_rc = 0, customer_order_seq = $6, is_first_order = ($6 = 1)`,
    [id, `#${1000 + Number(id)}`, at, date, total, seq],
  );
  await wh.pool.query(`insert into core.orders select * from o; drop table o`);
  await wh.pool.query(`create temp table l as select * from core.order_lines where order_id = $1`, [like]);
  await wh.pool.query(
    `update l set order_id = $1, line_id = $1 || '0', order_date = $2, price = $3, line_total = $3, line_sales = $3, line_total_rc = $3, line_sales_rc = $3`,
    [id, date, total],
  );
  await wh.pool.query(`insert into core.order_lines select * from l; drop table l`);
}

describe('the incremental metrics refresh', () => {
  it('when only the clock moved, rebuilds the weeks whose is_complete moved and nothing else', async () => {
    // At EARLY the last complete day was 5 March: the week of Monday 4 March (to the 10th) was not complete. At NOW it is (last day of data: 10 March).
    expect((await one(`select is_complete from metrics.kpi_weekly where date = '2024-03-04'`)).is_complete).toBe(false);
    const { result } = await incrementalThenFull();
    expect((await one(`select is_complete from metrics.kpi_weekly where date = '2024-03-04'`)).is_complete).toBe(true);
    const weekly = result.tables.find((t) => t.table === 'metrics.kpi_weekly')!;
    expect(weekly.mode).toBe('incremental');
    expect(weekly.replaced).toEqual({ deleted: 1, inserted: 1 });
    // February and March are on the same side of both bounds: the months, cohorts and days did not move.
    expect(modes(result)).toMatchObject({ kpi_daily: 'unchanged', kpi_monthly: 'unchanged', cohort_monthly: 'unchanged', customer_kpis: 'unchanged', catalog: 'unchanged' });
  });

  it('with no change at all, recomputes nothing', async () => {
    const before = await snapshot();
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.status).toBe('succeeded');
    expect(result.fullRefreshReason).toBeUndefined();
    expect(result.tables).toHaveLength(11);
    for (const t of result.tables) {
      expect(t.mode, t.table).toBe('unchanged');
      expect(t.replaced, t.table).toEqual({ deleted: 0, inserted: 0 });
    }
    expect(result.tables.find((t) => t.table === 'metrics.kpi_daily')?.rows).toBe(368);
    expect(await snapshot()).toEqual(before);
  });

  it('a new day: an order on 12 March adds the 11th (zeros) and the 12th to kpi_daily, a new week, and C4 in the customer tables', async () => {
    const c4 = await customerOf('11');
    // C4's third counted order: 45.00 on Tuesday 12 March.
    await addOrder('11', '99', '2024-03-12T10:00:00Z', 45, 3);
    await wh.pool.query(
      `update core.customers set last_order_at = '2024-03-12T10:00:00Z', last_order_date = '2024-03-12', counted_orders = counted_orders + 1,
              lifetime_revenue_rc = lifetime_revenue_rc + 45 where customer_key = $1`,
      [c4],
    );
    // The transform replaces every order of the customer (O7 on the 4th, O11 on the 7th, O99) and the customer.
    const dates = ['2024-03-04', '2024-03-07', '2024-03-12'];
    await recordChanges([
      { model: 'core.orders', dates },
      { model: 'core.order_lines', dates },
      { model: 'core.customers', dates, customers: [c4] },
    ]);
    const { result } = await incrementalThenFull();
    const daily = result.tables.find((t) => t.table === 'metrics.kpi_daily')!;
    expect(daily).toMatchObject({ mode: 'incremental', rows: 370, replaced: { deleted: 2, inserted: 4 } });
    expect(await one(`select orders, revenue::float8 as revenue from metrics.kpi_daily where date = '2024-03-11'`)).toEqual({ orders: 0, revenue: 0 });
    expect(await one(`select orders, revenue::float8 as revenue from metrics.kpi_daily where date = '2024-03-12'`)).toEqual({ orders: 1, revenue: 45 });
    expect(await one(`select orders, revenue::float8 as revenue, days_with_data, is_complete from metrics.kpi_weekly where date = '2024-03-11'`)).toEqual({
      orders: 1,
      revenue: 45,
      days_with_data: 2,
      is_complete: false,
    });
    // The last as-of date of customer_kpis is the last counted order's: now 12 March.
    expect((await one<{ d: string }>(`select max(date)::text as d from metrics.customer_kpis`)).d).toBe('2024-03-12');
    expect(modes(result)).toMatchObject({ kpi_channel_daily: 'incremental', kpi_monthly: 'incremental', product_daily: 'incremental' });
    // The customer tables move by C4 alone: customer_kpis' row of 8 March (the old last date) goes and 12 March's comes;
    // cohort_monthly: the rows of March 2024 of the four cohorts (March 2023, January, February, March 2024), as C4's cohort gains an order.
    const customer = result.tables.find((t) => t.table === 'metrics.customer_kpis')!;
    expect(customer).toMatchObject({ mode: 'incremental', replaced: { deleted: 1, inserted: 1 } });
    expect((await wh.pool.query(`select 1 from metrics.customer_kpis where date = '2024-03-08'`)).rows).toHaveLength(0);
    expect(result.tables.find((t) => t.table === 'metrics.cohort_monthly')).toMatchObject({ mode: 'incremental', replaced: { deleted: 4, inserted: 4 } });
    // The cohort of March 2024 (C4 twice, the guest, C6) gains C4's third order: 5 orders, still 3 customers, 150 + O8 + 45.
    expect(await one(`select orders, active_customers from metrics.cohort_monthly where cohort_month = '2024-03-01' and months_since_first_order = 0`)).toEqual({
      orders: 5,
      active_customers: 3,
    });
  });

  it('the new day deleted again: kpi_daily ends on 10 March again, the week of the 11th goes', async () => {
    const c4 = await customerOf('99');
    await wh.pool.query(`delete from core.order_lines where order_id = '99'; delete from core.orders where order_id = '99'`);
    await wh.pool.query(
      `update core.customers set last_order_at = '2024-03-07T10:00:00Z', last_order_date = '2024-03-07', counted_orders = counted_orders - 1,
              lifetime_revenue_rc = lifetime_revenue_rc - 45 where customer_key = $1`,
      [c4],
    );
    const dates = ['2024-03-04', '2024-03-07', '2024-03-12'];
    await recordChanges([
      { model: 'core.orders', dates },
      { model: 'core.order_lines', dates },
      { model: 'core.customers', dates, customers: [c4] },
    ]);
    const { result } = await incrementalThenFull();
    expect(result.tables.find((t) => t.table === 'metrics.kpi_daily')).toMatchObject({ mode: 'incremental', rows: 368 });
    expect((await one<{ d: string }>(`select max(date)::text as d from metrics.kpi_daily`)).d).toBe('2024-03-10');
    expect((await wh.pool.query(`select 1 from metrics.kpi_weekly where date = '2024-03-11'`)).rows).toHaveLength(0);
    // A deleted order: the last counted order date is 8 March again (its row comes back, 12 March's goes).
    expect(result.tables.find((t) => t.table === 'metrics.customer_kpis')).toMatchObject({ mode: 'incremental', replaced: { deleted: 1, inserted: 1 } });
    expect(result.tables.find((t) => t.table === 'metrics.cohort_monthly')).toMatchObject({ mode: 'incremental', replaced: { deleted: 4, inserted: 4 } });
    expect((await one<{ d: string }>(`select max(date)::text as d from metrics.customer_kpis`)).d).toBe('2024-03-08');
  });

  it('a late refund of an old order: 5.00 refunded on 20 February moves that day, its week and its month', async () => {
    const c1 = await customerOf('4');
    await wh.pool.query(
      `insert into core.refunds (refund_transaction_id, refund_id, order_id, created_at, refund_date, amount, currency, amount_rc, order_is_counted, customer_key)
       values ('4011', '401', '4', '2024-02-20T09:00:00Z', '2024-02-20', 5, 'USD', 5, true, $1)`,
      [c1],
    );
    await wh.pool.query(`update core.orders set refunded = refunded + 5, refunded_rc = refunded_rc + 5 where order_id = '4'`);
    await wh.pool.query(`update core.customers set lifetime_refunds_rc = lifetime_refunds_rc + 5 where customer_key = $1`, [c1]);
    // The order changed, so every order of C1 is replaced (10 January, 15 February, 4 March), and C1.
    const orderDates = ['2024-01-10', '2024-02-15', '2024-03-04'];
    await recordChanges([
      { model: 'core.refunds', dates: ['2024-02-20', '2024-03-08'] },
      { model: 'core.orders', dates: orderDates },
      { model: 'core.order_lines', dates: orderDates },
      { model: 'core.customers', dates: ['2024-01-10', '2024-03-04'], customers: [c1] },
    ]);
    const { result } = await incrementalThenFull();
    expect((await one(`select refunds::float8 as r from metrics.kpi_daily where date = '2024-02-20'`)).r).toBe(5);
    // Week of Monday 19 February: only this refund; February: O2's 10.00 on the 5th and this one.
    expect((await one(`select refunds::float8 as r from metrics.kpi_weekly where date = '2024-02-19'`)).r).toBe(5);
    expect((await one(`select refunds::float8 as r from metrics.kpi_monthly where date = '2024-02-01'`)).r).toBe(15);
    expect(modes(result)).toMatchObject({ kpi_daily: 'incremental', kpi_weekly: 'incremental', kpi_monthly: 'incremental' });
    // A refund on a later day moves customer_kpis' net revenue from 20 February on: the as-of rows of 29 February and 8 March
    // (415 − 5, and 739.1766625 − 5); the cohorts count revenue before refunds, so cohort_monthly stays.
    expect(result.tables.find((t) => t.table === 'metrics.customer_kpis')).toMatchObject({ mode: 'incremental', replaced: { deleted: 2, inserted: 2 } });
    expect((await one(`select net_revenue_to_date::float8 as n from metrics.customer_kpis where date = '2024-02-29'`)).n).toBe(410);
    expect(modes(result)).toMatchObject({ cohort_monthly: 'unchanged' });
  });

  it("an order before a customer's first: C1's first order, cohort and channel move to 20 December 2023", async () => {
    const c1 = await customerOf('1');
    // O98: 35.00 direct on 20 December 2023, before O1 (10 January, google_ads), which becomes C1's second order.
    await addOrder('4', '98', '2023-12-20T10:00:00Z', 35, 1);
    await wh.pool.query(
      `update core.orders o set customer_order_seq = s.seq, is_first_order = (s.seq = 1)
         from (values ('1', 2), ('4', 3), ('6', 4)) as s(id, seq) where o.order_id = s.id`,
    );
    await wh.pool.query(
      `update core.customers set first_order_id = '98', first_order_at = '2023-12-20T10:00:00Z', first_order_date = '2023-12-20', acquisition_channel = 'direct',
              counted_orders = counted_orders + 1, lifetime_revenue_rc = lifetime_revenue_rc + 35 where customer_key = $1`,
      [c1],
    );
    const dates = ['2023-12-20', '2024-01-10', '2024-02-15', '2024-03-04'];
    await recordChanges([
      { model: 'core.orders', dates },
      { model: 'core.order_lines', dates },
      { model: 'core.customers', dates: ['2024-01-10', '2023-12-20', '2024-03-04'], customers: [c1] },
    ]);
    const { result } = await incrementalThenFull();
    expect(await one(`select orders, new_customers, revenue::float8 as revenue from metrics.kpi_daily where date = '2023-12-20'`)).toEqual({ orders: 1, new_customers: 1, revenue: 35 });
    expect((await one(`select new_customers from metrics.kpi_daily where date = '2024-01-10'`)).new_customers).toBe(0);
    expect((await one(`select new_customers from metrics.kpi_channel_daily where date = '2024-01-10' and channel = 'google_ads'`)).new_customers).toBe(0);
    // Cohort of December 2023: C1 alone; of January 2024: C2 and C3 (C1 left it).
    expect((await one(`select cohort_customers from metrics.cohort_monthly where cohort_month = '2023-12-01' and months_since_first_order = 0`)).cohort_customers).toBe(1);
    expect((await one(`select cohort_customers from metrics.cohort_monthly where cohort_month = '2024-01-01' and months_since_first_order = 0`)).cohort_customers).toBe(2);
    expect(modes(result)).toMatchObject({ cohort_monthly: 'incremental', customer_kpis: 'incremental', clv_summary: 'refilled' });
    // C1 leaves the January cohort for a new one of December 2023: every cohort's rows from December 2023 on move (a cohort's
    // customers, and December 2023 as a new cohort month); customer_kpis from 31 December 2023 on (C1 a customer, and their
    // 35.00, from 20 December).
    expect((await one(`select cohort_customers, cumulative_revenue::float8 as r from metrics.cohort_monthly where cohort_month = '2024-01-01' and months_since_first_order = 2`))).toEqual({
      cohort_customers: 2,
      // C2's 50.00 and C3's 60.00 in January, C3's 30.00 on 5 March; C1's orders (100, 80, 120) are the December cohort's now.
      r: 140,
    });
    expect((await one(`select customers, net_revenue_to_date::float8 as n from metrics.customer_kpis where date = '2023-12-31'`))).toEqual({ customers: 3, n: 145 });
  });

  it('a restated ad day: Google Ads spend of 6 March restated from 25.00 to 32.50', async () => {
    await wh.pool.query(`update core.spend set spend = 32.5, spend_rc = 32.5 where date = '2024-03-06' and platform = 'google_ads'`);
    await recordChanges([{ model: 'core.spend', dates: ['2024-03-06'] }]);
    const { result } = await incrementalThenFull();
    expect((await one(`select ad_spend::float8 as s from metrics.kpi_daily where date = '2024-03-06'`)).s).toBe(32.5);
    expect((await one(`select ad_spend::float8 as s from metrics.kpi_channel_daily where date = '2024-03-06' and channel = 'google_ads'`)).s).toBe(32.5);
    const daily = result.tables.find((t) => t.table === 'metrics.kpi_daily')!;
    expect(daily).toMatchObject({ mode: 'incremental', replaced: { deleted: 1, inserted: 1 } });
    // Nothing of the orders or customers changed: the cohorts stay; customer_kpis sums the spend of 365 days.
    expect(modes(result)).toMatchObject({ cohort_monthly: 'unchanged', customer_kpis: 'incremental', product_daily: 'incremental' });
    // Only the as-of row whose 365 days hold 6 March 2024: 8 March (130 + 11 → 148.50 of spend).
    expect(result.tables.find((t) => t.table === 'metrics.customer_kpis')).toMatchObject({ replaced: { deleted: 1, inserted: 1 } });
    expect((await one(`select ad_spend_365d::float8 as s from metrics.customer_kpis where date = '2024-03-08'`)).s).toBe(148.5);
  });

  it('a date with everything removed: 10 March 2023 (O21 and its customer, and that day’s spend) stays a row of zeros', async () => {
    const c21 = await customerOf('21');
    await wh.pool.query(`delete from core.order_lines where order_id = '21'; delete from core.orders where order_id = '21'`);
    await wh.pool.query(`delete from core.customers where customer_key = $1`, [c21]);
    await wh.pool.query(`delete from core.spend where date = '2023-03-10'`);
    await recordChanges([
      { model: 'core.orders', dates: ['2023-03-10'] },
      { model: 'core.order_lines', dates: ['2023-03-10'] },
      { model: 'core.spend', dates: ['2023-03-10'] },
      { model: 'core.customers', dates: ['2023-03-10'], customers: [c21] },
    ]);
    const { result } = await incrementalThenFull();
    expect(await one(`select orders, revenue::float8 as revenue, ad_spend::float8 as ad_spend from metrics.kpi_daily where date = '2023-03-10'`)).toEqual({
      orders: 0,
      revenue: 0,
      ad_spend: 0,
    });
    expect(result.tables.find((t) => t.table === 'metrics.kpi_daily')).toMatchObject({ mode: 'incremental', rows: 368 });
  });

  it('the last day of data with everything removed: GA4 of 10 March and T9’s return that day gone, kpi_daily ends on the 9th', async () => {
    await wh.pool.query(`delete from core.traffic where date = '2024-03-10'`);
    const t9 = await one<{ shipped: string; promised: string | null; delivered: string | null }>(
      `select shipped_date::text as shipped, promised_date::text as promised, delivered_date::text as delivered from core.shipments where returned_date = '2024-03-10'`,
    );
    await wh.pool.query(`update core.shipments set returned_date = null, returned_at = null where returned_date = '2024-03-10'`);
    await recordChanges([
      { model: 'core.traffic', dates: ['2024-03-10'] },
      { model: 'core.shipments', dates: [...new Set([t9.shipped, t9.promised, t9.delivered, '2024-03-10'].filter((d): d is string => d !== null))] },
    ]);
    const { result } = await incrementalThenFull();
    expect((await one<{ d: string }>(`select max(date)::text as d from metrics.kpi_daily`)).d).toBe('2024-03-09');
    expect(result.tables.find((t) => t.table === 'metrics.kpi_daily')).toMatchObject({ mode: 'incremental', rows: 367 });
  });
  it("a late charge: O12's payment succeeds on 9 March, so O12 (8 March) is no longer an order without payment", async () => {
    expect((await one(`select orders_without_payment from metrics.revenue_reconciliation_daily where date = '2024-03-08'`)).orders_without_payment).toBe(1);
    await wh.pool.query(`create temp table p as select * from core.payments where charge_id = 'ch_12'`);
    await wh.pool.query(
      `update p set charge_id = 'ch_12b', created_at = '2024-03-09T08:00:00Z', payment_date = '2024-03-09', status = 'succeeded', amount_captured = 90, amount_captured_rc = 90`,
    );
    await wh.pool.query(`insert into core.payments select * from p; drop table p`);
    await recordChanges([{ model: 'core.payments', dates: ['2024-03-09'] }]);
    const { result } = await incrementalThenFull();
    expect((await one(`select orders_without_payment from metrics.revenue_reconciliation_daily where date = '2024-03-08'`)).orders_without_payment).toBe(0);
    expect((await one(`select stripe_captured::float8 as c from metrics.revenue_reconciliation_daily where date = '2024-03-09'`)).c).toBe(90);
    expect(result.tables.find((t) => t.table === 'metrics.revenue_reconciliation_daily')).toMatchObject({ mode: 'incremental', replaced: { deleted: 2, inserted: 2 } });
  });
  it("the run's metrics step: incremental by default and says so; in full with postLoadSteps({ full: true })", async () => {
    const log = createLogger({ write: () => true }, 'silent');
    const metricsStep = (full: boolean) => postLoadSteps({ full }).find((s) => s.name === 'metrics')!;
    await wh.pool.query(`update core.spend set spend = 33, spend_rc = 33 where date = '2024-03-06' and platform = 'google_ads'`);
    await recordChanges([{ model: 'core.spend', dates: ['2024-03-06'] }]);
    // A spend date: the seven date tables by that date, and customer_kpis (365-day spend) by its as-of dates; clv_summary (spend by cohort month) in full.
    const incremental = await metricsStep(false).run(wh, config, log);
    // 367 days since the 10th lost its data; the shop's unmatched shipment TX follows, as a warning.
    expect(incremental.summary).toMatch(/^11 metric tables refreshed \(kpi_daily: 367 days; incremental: 8 by date, 1 in full, 2 unchanged\); 1 shipment /);
    await wh.pool.query(`update core.spend set spend = 32.5, spend_rc = 32.5 where date = '2024-03-06' and platform = 'google_ads'`);
    await recordChanges([{ model: 'core.spend', dates: ['2024-03-06'] }]);
    const full = await metricsStep(true).run(wh, config, log);
    expect(full.summary).toMatch(/^11 metric tables refreshed \(kpi_daily: 367 days\); 1 shipment /);
    expect((await wh.pool.query(`select 1 from ops.metric_inputs_changed`)).rows).toHaveLength(0);
    expect((await one(`select ad_spend::float8 as s from metrics.kpi_daily where date = '2024-03-06'`)).s).toBe(32.5);
  });

  it('the month rolls over: an order on 1 April moves the last as-of date, its predicted CLV and every cohort, and March becomes complete', async () => {
    const c4 = await customerOf('11');
    const c1 = await customerOf('1');
    const c2 = await customerOf('2');
    const predicted = async () =>
      Object.fromEntries(
        (await wh.pool.query(`select date::text as d, predicted_clv_12m_total::float8 as v from metrics.customer_kpis where date >= '2024-02-29' order by 1`)).rows.map((r) => [r.d, r.v]),
      );
    // Two CLV fits' predictions (by hand): C1's as of 8 March (the last counted order's date), C2's as of 1 April.
    const prediction = `insert into core.customer_predictions (customer_key, calibration_end, fitted_at, x, t_x, t, p_alive, expected_purchases_90d, expected_purchases_365d, predicted_clv_12m)
                        values ($1, $2, now(), 1, 0, 10, 1, 0.5, 1, $3)`;
    await wh.pool.query(prediction, [c1, '2024-03-08', 100]);
    await wh.pool.query(prediction, [c2, '2024-04-01', 40]);
    // The fit publishes them with a refresh of its two tables (metrics/clv/fit.ts), which leaves the queue to the next refresh.
    const fit = await refreshMetrics(wh, config, undefined, { now: NOW, views: [customerKpis, clvSummary] });
    expect(fit.status).toBe('succeeded');
    expect(await predicted()).toEqual({ '2024-02-29': null, '2024-03-08': 100 });
    let { result } = await incrementalThenFull();
    expect(modes(result)).toMatchObject({ customer_kpis: 'unchanged', cohort_monthly: 'unchanged' });

    // C4's third counted order, 45.00 on Monday 1 April, refreshed on 2 April: the data now runs to 1 April.
    await addOrder('11', '97', '2024-04-01T10:00:00Z', 45, 3);
    await wh.pool.query(
      `update core.customers set last_order_at = '2024-04-01T10:00:00Z', last_order_date = '2024-04-01', counted_orders = counted_orders + 1,
              lifetime_revenue_rc = lifetime_revenue_rc + 45 where customer_key = $1`,
      [c4],
    );
    const dates = ['2024-03-04', '2024-03-07', '2024-04-01'];
    await recordChanges([
      { model: 'core.orders', dates },
      { model: 'core.order_lines', dates },
      { model: 'core.customers', dates, customers: [c4] },
    ]);
    const april = new Date('2024-04-02T12:00:00Z');
    ({ result } = await incrementalThenFull({ wh: () => wh, config, now: april }));
    // 31 March is now a month end before the last counted order, 1 April the last as-of date with the fit of 1 April; 8 March's row goes.
    expect(await predicted()).toEqual({ '2024-02-29': null, '2024-03-31': null, '2024-04-01': 40 });
    expect(result.tables.find((t) => t.table === 'metrics.customer_kpis')).toMatchObject({ mode: 'incremental', replaced: { deleted: 1, inserted: 2 } });
    // Five cohorts (March 2023: C20, O21 being gone; December 2023: C1; January 2024: C2, C3; February: C8; March: C4, the guest, C6):
    // each gains a row for April, and each March row becomes complete (March ends before 1 April, the last complete day).
    expect(result.tables.find((t) => t.table === 'metrics.cohort_monthly')).toMatchObject({ mode: 'incremental', replaced: { deleted: 5, inserted: 10 } });
    expect((await wh.pool.query(`select cohort_month::text as c from metrics.cohort_monthly where date = '2024-03-01' and not is_complete`)).rows).toEqual([]);
    expect(
      await one(`select months_since_first_order as m, is_complete, cohort_customers, active_customers, orders, revenue::float8 as revenue
                   from metrics.cohort_monthly where cohort_month = '2024-03-01' and date = '2024-04-01'`),
    ).toEqual({ m: 1, is_complete: false, cohort_customers: 3, active_customers: 1, orders: 1, revenue: 45 });

    // The order deleted again, back to 12 March: 8 March is the last as-of date again, with its fit.
    await wh.pool.query(`delete from core.order_lines where order_id = '97'; delete from core.orders where order_id = '97'`);
    await wh.pool.query(
      `update core.customers set last_order_at = '2024-03-07T10:00:00Z', last_order_date = '2024-03-07', counted_orders = counted_orders - 1,
              lifetime_revenue_rc = lifetime_revenue_rc - 45 where customer_key = $1`,
      [c4],
    );
    await recordChanges([
      { model: 'core.orders', dates },
      { model: 'core.order_lines', dates },
      { model: 'core.customers', dates, customers: [c4] },
    ]);
    ({ result } = await incrementalThenFull());
    expect(await predicted()).toEqual({ '2024-02-29': null, '2024-03-08': 100 });
    expect(result.tables.find((t) => t.table === 'metrics.cohort_monthly')).toMatchObject({ mode: 'incremental', replaced: { deleted: 10, inserted: 5 } });
  });
});

describe('a failed incremental refresh', () => {
  it('rolls back and leaves the changes it read for the next refresh', async () => {
    await wh.pool.query(`update core.spend set spend = 40, spend_rc = 40 where date = '2024-03-06' and platform = 'google_ads'`);
    await recordChanges([{ model: 'core.spend', dates: ['2024-03-06'] }]);
    // The refresh's insert into kpi_daily fails.
    await wh.pool.query(`create function public.refuse_insert() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$`);
    await wh.pool.query(`create trigger refuse before insert on metrics.kpi_daily for each statement execute function public.refuse_insert()`);
    const failed = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/metrics\.kpi_daily: refused by the test/);
    expect((await wh.pool.query(`select model, date::text as date from ops.metric_inputs_changed`)).rows).toEqual([{ model: 'core.spend', date: '2024-03-06' }]);
    expect((await one(`select ad_spend::float8 as s from metrics.kpi_daily where date = '2024-03-06'`)).s).toBe(32.5);

    await wh.pool.query(`drop trigger refuse on metrics.kpi_daily`);
    const { result } = await incrementalThenFull();
    expect(result.tables.find((t) => t.table === 'metrics.kpi_daily')).toMatchObject({ mode: 'incremental', replaced: { deleted: 1, inserted: 1 } });
    expect((await one(`select ad_spend::float8 as s from metrics.kpi_daily where date = '2024-03-06'`)).s).toBe(40);
  });
});

describe('when the refresh is full', () => {
  it('rebuilds every table in full when the transform rebuilt a core model in full, and says why', async () => {
    await wh.pool.query(`insert into ops.metric_inputs_changed (model, everything) values ('core.traffic', true)`);
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.fullRefreshReason).toBe('core.traffic was rebuilt in full');
    expect(result.tables.every((t) => t.mode === 'refilled')).toBe(true);
    expect((await wh.pool.query(`select 1 from ops.metric_inputs_changed`)).rows).toHaveLength(0);
  });

  it('rebuilds only the product tables in full when products or variants changed', async () => {
    await wh.pool.query(`insert into ops.metric_inputs_changed (model, everything) values ('core.product_variants', true)`);
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.fullRefreshReason).toBeUndefined();
    expect(modes(result)).toMatchObject({ product_daily: 'refilled', inventory_daily: 'refilled', kpi_daily: 'unchanged', customer_kpis: 'unchanged' });
  });

  it('rebuilds in full while the transform keeps no watermarks: what it replaced is not known', async () => {
    await wh.pool.query(`delete from ops.model_builds where model not like 'metrics.%'`);
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.fullRefreshReason).toMatch(/the transform keeps no watermarks/);
    expect(result.tables.every((t) => t.mode === 'refilled')).toBe(true);
  });

  it('rebuilds in full when a table was reshaped by hand', async () => {
    await wh.pool.query(`insert into ops.model_builds (model, through_change_id, signature) values ('core.orders', 0, 'incremental transform') on conflict (model) do nothing`);
    await wh.pool.query(`alter table metrics.kpi_monthly drop column orders`);
    const result = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(result.fullRefreshReason).toBe('metrics.kpi_monthly is missing or was reshaped');
    expect(modes(result)).toMatchObject({ kpi_monthly: 'created', kpi_daily: 'refilled' });
  });
});

describe('the product tables, incrementally', () => {
  // tests/support/products-shop.ts: TEE-M (variant 11) sold 2 on 1 March and 1 on 3 March; stock snapshots on 3 and 5 March.
  const productsConfig = configSchema.parse(PRODUCTS_CONFIG);
  let shop: Warehouse;
  const at = { wh: () => shop, config: productsConfig, now: PRODUCTS_NOW };
  const units28d = async (date: string) =>
    (await shop.pool.query(`select units_sold_28d::int as n from metrics.inventory_daily where date = $1 and variant_id = '11'`, [date])).rows[0]?.n as number | undefined;

  beforeAll(async () => {
    shop = await createTestDatabase('metrics_incremental_products');
    await landProductsShop(shop.pool);
    expect((await runTransforms(shop, productsConfig, { now: PRODUCTS_NOW })).status).toBe('succeeded');
    expect((await refreshMetrics(shop, productsConfig, undefined, { now: PRODUCTS_NOW })).status).toBe('succeeded');
    await shop.pool.query(`insert into ops.model_builds (model, through_change_id, signature) values ('core.orders', 0, 'incremental transform') on conflict (model) do nothing`);
  });
  afterAll(async () => shop?.close());

  it("a corrected quantity on 1 March moves that day's product row and the 28-day sales of the later stock snapshots", async () => {
    // 2 + 1 TEE-M sold in the 28 days to 3 March and to 5 March.
    expect(await units28d('2024-03-03')).toBe(3);
    expect(await units28d('2024-03-05')).toBe(3);
    await shop.pool.query(`update core.order_lines set quantity = 4, sold_quantity = 4 where order_id = '1' and variant_id = '11'`);
    await shop.pool.query(`insert into ops.metric_inputs_changed (model, date) values ('core.order_lines', '2024-03-01'), ('core.orders', '2024-03-01')`);
    const { result } = await incrementalThenFull(at);
    expect(await units28d('2024-03-03')).toBe(5);
    expect(await units28d('2024-03-05')).toBe(5);
    expect((await shop.pool.query(`select units_sold::int as n from metrics.product_daily where date = '2024-03-01' and variant_id = '11'`)).rows[0].n).toBe(4);
    expect(modes(result)).toMatchObject({ product_daily: 'incremental', inventory_daily: 'incremental', kpi_daily: 'incremental' });
  });

  it('a stock snapshot restated: TEE-M at 2 on 5 March', async () => {
    await shop.pool.query(`update core.inventory_levels set available = 2 where snapshot_date = '2024-03-05' and variant_id = '11'`);
    await shop.pool.query(`insert into ops.metric_inputs_changed (model, date) values ('core.inventory_levels', '2024-03-05')`);
    const { result } = await incrementalThenFull(at);
    expect((await shop.pool.query(`select available::int as n from metrics.inventory_daily where date = '2024-03-05' and variant_id = '11'`)).rows[0].n).toBe(2);
    expect(result.tables.find((t) => t.table === 'metrics.inventory_daily')).toMatchObject({ mode: 'incremental' });
  });
});
