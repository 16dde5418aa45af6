import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * Line items an order edit took units off (Shopify's `orderEditSetQuantity`, to 0 for a line
 * removed): `quantity` stays the units ordered and only `current_quantity` goes down, less the
 * units refunded too. The units an edit removed were never sold; the units refunded were, and
 * come back through the refund lines. A hand-made shop in USD (the reporting currency), UTC;
 * every figure worked out by hand below.
 */

let wh: Warehouse;
let warnings: string[];
const CONFIG = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD' });
const NOW = new Date('2024-03-20T12:00:00Z');

const order = (o: Record<string, unknown>) => ({
  test: false, cancelled_at: null, currency: 'USD', total_discounts: '0.00', total_tax: '0.00', taxes_included: false,
  customer: { id: 1, email: 'a@example.com' }, payment_gateway_names: ['bank_transfer'], refunds: [], ...o,
});
const line = (id: number, variant: number, l: Record<string, unknown>) => ({ id, variant_id: variant, product_id: 1, sku: `SKU-${variant}`, title: 'Tee', total_discount: '0.00', ...l });
const refund = (id: number, at: string, lineId: number, subtotal: string) => ({
  id, created_at: at, transactions: [{ id: id + 1, kind: 'refund', status: 'success', amount: subtotal, currency: 'USD' }],
  refund_line_items: [{ id: id + 2, line_item_id: lineId, quantity: 1, subtotal, total_tax: '0.00' }],
});

const orders = [
  // An order paid by bank transfer, edited before it was paid: line 10 from 2 × 50.00 to 1, no refund.
  // Its tax is not in its prices: 1 unit, 50.00 of sales.
  order({ id: 1, created_at: '2024-03-01T10:00:00Z', total_price: '110.00', subtotal_price: '100.00', total_tax: '10.00',
    line_items: [line(10, 1, { quantity: 2, current_quantity: 1, price: '50.00', tax_lines: [{ price: '10.00', rate: 0.1 }] })] }),
  // Prices include tax. Line 20: 2 × 60.00 less 12.00 of discount and 18.00 of tax, edited to 1: the
  // discount and tax halved, 60 − 6 − 9 = 45.00 (90.00 for both units). Line 21 removed (edited to 0):
  // nothing sold, its 5.00 of tax with it.
  order({ id: 2, created_at: '2024-03-01T11:00:00Z', taxes_included: true, total_price: '138.00', subtotal_price: '138.00', total_tax: '23.00',
    line_items: [
      line(20, 2, { quantity: 2, current_quantity: 1, price: '60.00', total_discount: '12.00', discount_allocations: [{ amount: '12.00' }], tax_lines: [{ price: '18.00', rate: 0.2 }] }),
      line(21, 3, { quantity: 1, current_quantity: 0, price: '30.00', tax_lines: [{ price: '5.00', rate: 0.2 }] }),
    ] }),
  // Line 30: 3 × 20.00, one refunded on 5 March, no edit (current_quantity 3 − 1 = 2): 3 sold, 1
  // refunded, not taken off twice.
  order({ id: 3, created_at: '2024-03-02T10:00:00Z', total_price: '60.00', subtotal_price: '60.00',
    line_items: [line(30, 4, { quantity: 3, current_quantity: 2, price: '20.00' })],
    refunds: [refund(300, '2024-03-05T10:00:00Z', 30, '20.00')] }),
  // Line 40: 3 × 20.00 edited to 2, then one refunded on 6 March (current_quantity 1): 2 sold, 1 refunded.
  order({ id: 4, created_at: '2024-03-02T11:00:00Z', total_price: '40.00', subtotal_price: '40.00',
    line_items: [line(40, 4, { quantity: 3, current_quantity: 1, price: '20.00' })],
    refunds: [refund(400, '2024-03-06T10:00:00Z', 40, '20.00')] }),
  // Line 50 landed without current_quantity (an older record): its 2 units, as ever. Line 51 as ordered.
  order({ id: 5, created_at: '2024-03-03T10:00:00Z', total_price: '50.00', subtotal_price: '50.00',
    line_items: [line(50, 5, { quantity: 2, price: '15.00' }), line(51, 6, { quantity: 2, current_quantity: '2', price: '10.00' })] }),
  // Line 60: 4 × 10.00, one unit refunded in each of two refunds, one removed by an edit (current_quantity 1): 3 sold.
  order({ id: 6, created_at: '2024-03-03T11:00:00Z', total_price: '30.00', subtotal_price: '30.00',
    line_items: [line(60, 7, { quantity: 4, current_quantity: 1, price: '10.00' })],
    refunds: [refund(600, '2024-03-07T10:00:00Z', 60, '10.00'), refund(610, '2024-03-08T10:00:00Z', 60, '10.00')] }),
  // An exchange: one of line 90's 2 units taken back by a refund that paid nothing (no refund
  // transaction), current_quantity 1. No refund line takes it back, so it is removed: 1 sold, 20.00.
  order({ id: 9, created_at: '2024-03-04T10:00:00Z', total_price: '20.00', subtotal_price: '40.00',
    line_items: [line(90, 9, { quantity: 2, current_quantity: 1, price: '20.00' })],
    refunds: [{ id: 900, created_at: '2024-03-09T10:00:00Z', transactions: [], refund_line_items: [{ id: 902, line_item_id: 90, quantity: 1, subtotal: '20.00', total_tax: '0.00' }] }] }),
  // A current_quantity that is no count sets the order aside, as a bad quantity does: one the
  // plain test must not let through, and one that goes the slow way (its quantity has a blank).
  order({ id: 7, created_at: '2024-03-03T12:00:00Z', total_price: '10.00', line_items: [line(70, 8, { quantity: 1, current_quantity: -1, price: '10.00' })] }),
  order({ id: 8, created_at: '2024-03-03T13:00:00Z', total_price: '10.00', line_items: [line(80, 8, { quantity: ' 1', current_quantity: '0.5', price: '10.00' })] }),
];

/** SKU-4's cost is 5.00: its cost of goods is of the units sold. */
const products = [{
  id: 1, title: 'Tee', product_type: 'Apparel', vendor: 'Atelier', status: 'active', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-01T00:00:00Z',
  variants: [{ id: 4, product_id: 1, sku: 'SKU-4', title: 'SKU-4', price: '20.00', inventory_item_id: 40, tracked: true, unit_cost: { amount: '5.00', currency_code: 'USD' } }],
}];

beforeAll(async () => {
  wh = await createTestDatabase('order_edits');
  await landRecords(wh.pool, 'fx', 'rates', [{ date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.1 }]);
  await landRecords(wh.pool, 'shopify', 'products', products);
  await landRecords(wh.pool, 'shopify', 'orders', orders);
  const transformed = await runTransforms(wh, CONFIG, { now: NOW });
  expect(transformed.error).toBeUndefined();
  warnings = transformed.warnings;
  const refreshed = await refreshMetrics(wh, CONFIG, undefined, { now: NOW });
  expect(refreshed.error).toBeUndefined();
});
afterAll(async () => wh?.close());

async function rows(query: string): Promise<Record<string, any>[]> {
  return (await wh.pool.query(query)).rows;
}
const num = (v: unknown) => (v === null ? null : Number(v));

describe('line items an order edit took units off', () => {
  it('count the units left, their sales with the discount and tax of those units; refunded units stay sold', async () => {
    const got = await rows(`select line_id, quantity, removed_quantity, sold_quantity, discount, tax, line_sales, line_sales_rc from core.order_lines order by line_id::int`);
    expect(got.map((r) => ({ ...r, discount: num(r.discount), tax: num(r.tax), line_sales: num(r.line_sales), line_sales_rc: num(r.line_sales_rc) }))).toEqual([
      { line_id: '10', quantity: 2, removed_quantity: 1, sold_quantity: 1, discount: 0, tax: 10, line_sales: 50, line_sales_rc: 50 },
      // The line's discount and tax as Shopify gives them (of the 2 units ordered); its sales of the 1 left.
      { line_id: '20', quantity: 2, removed_quantity: 1, sold_quantity: 1, discount: 12, tax: 18, line_sales: 45, line_sales_rc: 45 },
      { line_id: '21', quantity: 1, removed_quantity: 1, sold_quantity: 0, discount: 0, tax: 5, line_sales: 0, line_sales_rc: 0 },
      { line_id: '30', quantity: 3, removed_quantity: 0, sold_quantity: 3, discount: 0, tax: 0, line_sales: 60, line_sales_rc: 60 },
      { line_id: '40', quantity: 3, removed_quantity: 1, sold_quantity: 2, discount: 0, tax: 0, line_sales: 40, line_sales_rc: 40 },
      { line_id: '50', quantity: 2, removed_quantity: 0, sold_quantity: 2, discount: 0, tax: 0, line_sales: 30, line_sales_rc: 30 },
      { line_id: '51', quantity: 2, removed_quantity: 0, sold_quantity: 2, discount: 0, tax: 0, line_sales: 20, line_sales_rc: 20 },
      { line_id: '60', quantity: 4, removed_quantity: 1, sold_quantity: 3, discount: 0, tax: 0, line_sales: 30, line_sales_rc: 30 },
      { line_id: '90', quantity: 2, removed_quantity: 1, sold_quantity: 1, discount: 0, tax: 0, line_sales: 20, line_sales_rc: 20 },
    ]);
    // The refunds are the refund lines', as before: one unit of line 30, one of 40, two of 60.
    expect(await rows(`select line_id, refund_date, quantity from core.refund_lines order by refund_date`)).toEqual([
      { line_id: '30', refund_date: '2024-03-05', quantity: 1 },
      { line_id: '40', refund_date: '2024-03-06', quantity: 1 },
      { line_id: '60', refund_date: '2024-03-07', quantity: 1 },
      { line_id: '60', refund_date: '2024-03-08', quantity: 1 },
    ]);
  });

  it('leave out of units_sold, product_sales and cogs the units removed, per variant and in kpi_daily', async () => {
    const got = await rows(`select date::text as date, variant_id, units_sold, product_sales, cogs, gross_profit, units_refunded from metrics.product_daily
      where units_sold > 0 or units_refunded > 0 order by date, variant_id::int`);
    expect(got.map((r) => ({ ...r, units_sold: num(r.units_sold), product_sales: num(r.product_sales), cogs: num(r.cogs), gross_profit: num(r.gross_profit), units_refunded: num(r.units_refunded) }))).toEqual([
      { date: '2024-03-01', variant_id: '1', units_sold: 1, product_sales: 50, cogs: 0, gross_profit: 50, units_refunded: 0 },
      { date: '2024-03-01', variant_id: '2', units_sold: 1, product_sales: 45, cogs: 0, gross_profit: 45, units_refunded: 0 },
      // SKU-4 at 5.00: line 30's 3 units and line 40's 2, 25.00 of cost for 100.00 of sales.
      { date: '2024-03-02', variant_id: '4', units_sold: 5, product_sales: 100, cogs: 25, gross_profit: 75, units_refunded: 0 },
      { date: '2024-03-03', variant_id: '5', units_sold: 2, product_sales: 30, cogs: 0, gross_profit: 30, units_refunded: 0 },
      { date: '2024-03-03', variant_id: '6', units_sold: 2, product_sales: 20, cogs: 0, gross_profit: 20, units_refunded: 0 },
      { date: '2024-03-03', variant_id: '7', units_sold: 3, product_sales: 30, cogs: 0, gross_profit: 30, units_refunded: 0 },
      { date: '2024-03-04', variant_id: '9', units_sold: 1, product_sales: 20, cogs: 0, gross_profit: 20, units_refunded: 0 },
      { date: '2024-03-05', variant_id: '4', units_sold: 0, product_sales: 0, cogs: 0, gross_profit: 0, units_refunded: 1 },
      { date: '2024-03-06', variant_id: '4', units_sold: 0, product_sales: 0, cogs: 0, gross_profit: 0, units_refunded: 1 },
      { date: '2024-03-07', variant_id: '7', units_sold: 0, product_sales: 0, cogs: 0, gross_profit: 0, units_refunded: 1 },
      { date: '2024-03-08', variant_id: '7', units_sold: 0, product_sales: 0, cogs: 0, gross_profit: 0, units_refunded: 1 },
    ]);
    const kpi = await rows(`select date::text as date, product_sales, cogs from metrics.kpi_daily where date between '2024-03-01' and '2024-03-03' order by date`);
    expect(kpi.map((r) => [r.date, num(r.product_sales), num(r.cogs)])).toEqual([
      ['2024-03-01', 50 + 45, 0],
      ['2024-03-02', 60 + 40, 25],
      ['2024-03-03', 30 + 20 + 30, 0],
    ]);
  });

  it('a line removed whole sold nothing: no product row, no order of its product, no warning of its cost', async () => {
    // Line 21 (SKU-3, edited to 0) is the only line of variant 3.
    expect(await rows(`select date::text as date, variant_id from metrics.product_daily where variant_id = '3'`)).toEqual([]);
    expect(await rows(`select orders from metrics.product_daily where date = '2024-03-01' and variant_id = '2'`)).toEqual([{ orders: 1 }]);
    const costs = warnings.find((w) => w.includes('sold lines without a unit cost'));
    expect(costs).toContain('SKU-1');
    expect(costs).not.toContain('SKU-3');
  });

  it('set aside an order whose current_quantity is no whole number of 0 or more, naming the field', async () => {
    expect(await rows(`select key, reason from ops.set_aside where source = 'shopify' order by key`)).toEqual([
      { key: '7', reason: 'line_items[0].current_quantity "-1" is negative' },
      { key: '8', reason: 'line_items[0].current_quantity "0.5" is not a whole number' },
    ]);
  });
});
