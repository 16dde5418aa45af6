import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { costCoverage } from '../../pipeline/status.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landProductsShop, NOW } from '../support/products-shop.ts';

/**
 * The profit columns of kpi_daily and kpi_monthly on the hand-made shop of
 * tests/support/products-shop.ts (reporting EUR, Europe/Paris), worked out by hand below.
 */

let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_profit');
  await landProductsShop(wh.pool);
  const config = configSchema.parse(CONFIG);
  const transformed = await runTransforms(wh, config, { now: NOW });
  expect(transformed.error).toBeUndefined();
  const refreshed = await refreshMetrics(wh, config, undefined, { now: NOW });
  expect(refreshed.error).toBeUndefined();
});
afterAll(async () => wh?.close());

const COLUMNS = [
  'revenue', 'net_revenue', 'tax', 'refunded_tax', 'net_tax', 'net_revenue_ex_tax', 'product_sales', 'cogs', 'product_sales_costed', 'cogs_coverage',
  'gross_profit', 'gross_margin', 'payment_fees', 'payouts', 'shipping_cost', 'ad_spend', 'contribution_profit', 'contribution_margin',
] as const;
type Row = Record<(typeof COLUMNS)[number], number | null>;

async function row(table: string, date: string): Promise<Row> {
  const r = (await wh.pool.query(`select ${COLUMNS.join(', ')} from metrics.${table} where date = $1`, [date])).rows[0];
  expect(r, `${table} ${date}`).toBeDefined();
  return Object.fromEntries(COLUMNS.map((c) => [c, r[c] === null ? null : Number(r[c])])) as Row;
}

function expectClose(got: Row, want: Row, label: string) {
  for (const c of COLUMNS) {
    if (want[c] === null) expect(got[c], `${label}.${c}`).toBeNull();
    else expect(got[c], `${label}.${c}`).toBeCloseTo(want[c]!, 9);
  }
}

describe('profit columns of kpi_daily (acceptance 1)', () => {
  it('1 March: a line without a cost counts at zero cost and lowers the coverage', async () => {
    // O1: 67.20 EUR with 9.20 tax. Lines: TEE-M 2 × 20 − 4 = 36 at the costs file's 4.00 (cogs 8); TEE-L 22 without a cost.
    // Stripe kept 1.75 of txn_1.
    const productSales = 36 + 22;
    const contribution = 67.2 - 9.2 - 8 - 1.75;
    expectClose(await row('kpi_daily', '2024-03-01'), {
      revenue: 67.2, net_revenue: 67.2, tax: 9.2, refunded_tax: 0, net_tax: 9.2, net_revenue_ex_tax: 58,
      product_sales: productSales, cogs: 8, product_sales_costed: 36, cogs_coverage: 36 / 58, gross_profit: 50, gross_margin: 50 / 58,
      payment_fees: 1.75, payouts: 0, shipping_cost: 0, ad_spend: 0, contribution_profit: contribution, contribution_margin: contribution / 58,
    }, 'kpi_daily 2024-03-01');
  });

  it('2 March: no sale, a fee billed apart and a payout', async () => {
    // txn_2 (stripe_fee, amount −3.00, fee 0) and txn_3 (payout of 40.00).
    expectClose(await row('kpi_daily', '2024-03-02'), {
      revenue: 0, net_revenue: 0, tax: 0, refunded_tax: 0, net_tax: 0, net_revenue_ex_tax: 0,
      product_sales: 0, cogs: 0, product_sales_costed: 0, cogs_coverage: null, gross_profit: 0, gross_margin: null,
      payment_fees: 3, payouts: 40, shipping_cost: 0, ad_spend: 0, contribution_profit: -3, contribution_margin: null,
    }, 'kpi_daily 2024-03-02');
  });

  it('3 March: the cost from the costs file after its change, a Shopify cost, an unknown variant, tax included in prices', async () => {
    // O2: 58.00 USD (tax 5.00 included) at 0.8 EUR = 46.40, tax 4.00. O3: 9.00 EUR. (O4 is set aside.)
    // Lines: TEE-M 30 − 2 − 5 = 23 USD = 18.40 at 4.50 (the cost from 3 March, not 4.00 nor Shopify's 5.00);
    // MUG 3 × 10 USD = 24.00 at Shopify's 3.00 (cogs 9); GHOST 9.00 without a cost.
    // Stripe kept 1.17 USD of txn_4 = 0.936; a parcel of 4.00 and 5.00 of Google Ads.
    const revenue = 46.4 + 9;
    const sales = 18.4 + 24 + 9;
    const cogs = 4.5 + 9;
    const contribution = revenue - 4 - cogs - 4 - 0.936 - 5;
    expectClose(await row('kpi_daily', '2024-03-03'), {
      revenue, net_revenue: revenue, tax: 4, refunded_tax: 0, net_tax: 4, net_revenue_ex_tax: revenue - 4,
      product_sales: sales, cogs, product_sales_costed: 18.4 + 24, cogs_coverage: (18.4 + 24) / sales, gross_profit: sales - cogs, gross_margin: (sales - cogs) / sales,
      payment_fees: 0.936, payouts: 0, shipping_cost: 4, ad_spend: 5, contribution_profit: contribution, contribution_margin: contribution / (revenue - 4),
    }, 'kpi_daily 2024-03-03');
  });

  it('4 March: a refund in dollars, its tax converted on the refund date', async () => {
    // 10.00 USD back at 0.625 EUR = 6.25, of which 1.50 USD of tax = 0.9375. The failed refund of 30.00 counts nowhere.
    const netExTax = -6.25 + 0.9375;
    expectClose(await row('kpi_daily', '2024-03-04'), {
      revenue: 0, net_revenue: -6.25, tax: 0, refunded_tax: 0.9375, net_tax: -0.9375, net_revenue_ex_tax: netExTax,
      product_sales: 0, cogs: 0, product_sales_costed: 0, cogs_coverage: null, gross_profit: 0, gross_margin: null,
      payment_fees: 0, payouts: 0, shipping_cost: 0, ad_spend: 0, contribution_profit: netExTax, contribution_margin: 1,
    }, 'kpi_daily 2024-03-04');
  });
});

describe('profit columns of kpi_monthly (acceptance 2)', () => {
  it('sums the month and recomputes each ratio from the sums, never averaging the days', async () => {
    const revenue = 67.2 + 46.4 + 9;
    const tax = 9.2 + 4;
    const sales = 58 + 51.4;
    const cogs = 8 + 13.5;
    const costed = 36 + 42.4;
    const fees = 1.75 + 3 + 0.936;
    const netExTax = revenue - 6.25 - (tax - 0.9375);
    const contribution = netExTax - cogs - 4 - fees - 5;
    const got = await row('kpi_monthly', '2024-03-01');
    expectClose(got, {
      revenue, net_revenue: revenue - 6.25, tax, refunded_tax: 0.9375, net_tax: tax - 0.9375, net_revenue_ex_tax: netExTax,
      product_sales: sales, cogs, product_sales_costed: costed, cogs_coverage: costed / sales, gross_profit: sales - cogs, gross_margin: (sales - cogs) / sales,
      payment_fees: fees, payouts: 40, shipping_cost: 4, ad_spend: 5, contribution_profit: contribution, contribution_margin: contribution / netExTax,
    }, 'kpi_monthly 2024-03');
    // The mean of the daily margins would differ: (1 + 48.25 / 58 + 27.964 / 51.4) / 3.
    expect(got.contribution_margin).not.toBeCloseTo((1 + 48.25 / 58 + 27.964 / 51.4) / 3, 3);
  });
});

type Value = string | number | boolean | null;
async function table(query: string): Promise<Record<string, Value>[]> {
  return (await wh.pool.query(query)).rows;
}

function expectRows(got: Record<string, Value>[], want: Record<string, Value>[]) {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    expect(Object.keys(got[i]!).sort(), `row ${i}`).toEqual(Object.keys(w).sort());
    for (const [k, v] of Object.entries(w)) {
      if (typeof v === 'number') {
        expect(got[i]![k], `row ${i}.${k}`).not.toBeNull();
        expect(Number(got[i]![k]), `row ${i}.${k}`).toBeCloseTo(v, 9);
      }
      else expect(got[i]![k], `row ${i}.${k}`).toBe(v);
    }
  });
}

describe('variants out of stock in kpi_daily, kpi_weekly and kpi_monthly (acceptance 2)', () => {
  it("is NULL without a snapshot and takes the period's last snapshot, never a sum", async () => {
    const got = async (table: string) =>
      (await wh.pool.query(`select date::text as date, variants_out_of_stock as n from metrics.${table} order by date`)).rows.map((r) => [r.date, r.n === null ? null : Number(r.n)]);
    // 3 March: TEE-L at 0 (TEE-M at 5 − 1 = 4); 5 March: TEE-M at 4, TEE-S at 7. No snapshot on the other days.
    expect(await got('kpi_daily')).toEqual([['2024-03-01', null], ['2024-03-02', null], ['2024-03-03', 1], ['2024-03-04', null], ['2024-03-05', 0]]);
    // The week of Monday 26 February ends on Sunday 3 March; the week of the 4th holds the 5th's snapshot.
    expect(await got('kpi_weekly')).toEqual([['2024-02-26', 1], ['2024-03-04', 0]]);
    // March: the snapshot of the 5th, not 1 + 0 nor the larger of the two.
    expect(await got('kpi_monthly')).toEqual([['2024-03-01', 0]]);
  });
});

describe('metrics.product_daily (acceptance 1)', () => {
  it('holds every column per date and variant: names from the products stream else the line, refunds on their own later day', async () => {
    const tee = { product_id: '1', sku: 'TEE-M', product_title: 'Tee', variant_title: 'TEE-M', vendor: 'Atelier', product_type: 'Apparel' };
    const mug = { product_id: '2', variant_id: '21', sku: 'MUG', product_title: 'Mug', variant_title: 'MUG', vendor: 'Kiln', product_type: 'Kitchen' };
    const none = { units_refunded: 0, refunded_sales: 0 };
    expectRows(await table(`select * from metrics.product_daily order by date, variant_id`), [
      // O1: TEE-M 2 × 20 − 4 = 36 at 4.00; TEE-L 22 without a cost.
      { date: '2024-03-01', ...tee, variant_id: '11', units_sold: 2, orders: 1, product_sales: 36, cogs: 8, gross_profit: 28, ...none, refund_unit_rate: 0 },
      { date: '2024-03-01', product_id: '1', variant_id: '12', sku: 'TEE-L', product_title: 'Tee', variant_title: 'TEE-L', vendor: 'Atelier', product_type: 'Apparel',
        units_sold: 1, orders: 1, product_sales: 22, cogs: 0, gross_profit: 22, ...none, refund_unit_rate: 0 },
      // O2: TEE-M 18.40 EUR at 4.50; MUG 3 units, 24.00 EUR at 3.00. O3: GHOST, a variant the products stream does not
      // know: its names from the line (no variant title, vendor or product type on it).
      { date: '2024-03-03', ...tee, variant_id: '11', units_sold: 1, orders: 1, product_sales: 18.4, cogs: 4.5, gross_profit: 13.9, ...none, refund_unit_rate: 0 },
      { date: '2024-03-03', ...mug, units_sold: 3, orders: 1, product_sales: 24, cogs: 9, gross_profit: 15, ...none, refund_unit_rate: 0 },
      { date: '2024-03-03', product_id: '9', variant_id: '99', sku: 'GHOST', product_title: 'Ghost', variant_title: null, vendor: null, product_type: null,
        units_sold: 1, orders: 1, product_sales: 9, cogs: 0, gross_profit: 9, ...none, refund_unit_rate: 0 },
      // One mug refunded the next day: 10.00 USD with 1.50 tax included = 8.50 USD at 0.625. Nothing sold that day: no rate.
      { date: '2024-03-04', ...mug, units_sold: 0, orders: 0, product_sales: 0, cogs: 0, gross_profit: 0, units_refunded: 1, refunded_sales: 5.3125, refund_unit_rate: null },
    ]);
  });
});

describe('metrics.inventory_daily (acceptance 1)', () => {
  it('sums each tracked variant over locations per snapshot, with its 28-day sales and days of cover', async () => {
    // The Tee is an active product.
    const teeM = { product_id: '1', variant_id: '11', sku: 'TEE-M', product_status: 'active' };
    expectRows(await table(`select * from metrics.inventory_daily order by date, variant_id`), [
      // 5 + (−1) over two locations; 2 + 1 units sold from 1 to 3 March: 4 / (3 / 28) days.
      { date: '2024-03-03', ...teeM, is_out_of_stock: false, available: 4, units_sold_28d: 3, days_of_cover: (4 * 28) / 3 },
      // Out of stock: 0 days of cover, whatever it sold. (The mug's level did not parse; the mug is not tracked anyway.)
      { date: '2024-03-03', product_id: '1', variant_id: '12', sku: 'TEE-L', product_status: 'active', is_out_of_stock: true, available: 0, units_sold_28d: 1, days_of_cover: 0 },
      { date: '2024-03-05', ...teeM, is_out_of_stock: false, available: 4, units_sold_28d: 3, days_of_cover: (4 * 28) / 3 },
      // In stock and nothing sold in the 28 days: no pace to divide by.
      { date: '2024-03-05', product_id: '1', variant_id: '13', sku: 'TEE-S', product_status: 'active', is_out_of_stock: false, available: 7, units_sold_28d: 0, days_of_cover: null },
    ]);
  });
});

describe('cost coverage for verite status', () => {
  it('is the costed share of the product sales of the last 30 days of data', async () => {
    // kpi_daily runs from 1 to 5 March (the last stock snapshot): sales 58 + 51.40, of which 36 + 18.40 + 24 have a cost.
    expect(await costCoverage(wh.db)).toEqual({ from: '2024-02-05', to: '2024-03-05', productSales: 109.4, productSalesCosted: 78.4, coverage: expect.closeTo(78.4 / 109.4, 9) });
  });
});
