import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * A hand-made shop for the product, stock, fee and cost models (docs/metrics.md, "Products,
 * stock and profit"). Reporting in EUR, Europe/Paris; 1 EUR = 1.25 USD from 1 March (so
 * 1 USD = 0.8 EUR, carried to 2 and 3 March) and 1.6 USD on 4 March (1 USD = 0.625 EUR).
 */
const NOW = new Date('2024-03-06T12:00:00Z');

const fxRates = [
  { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.25 },
  { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.6 },
];

const variant = (id: number, sku: string | null, itemId: number, tracked: boolean, cost: string | null, price = '20.00') => ({
  id, product_id: Math.floor(id / 10), sku, title: sku, price, inventory_item_id: itemId, tracked,
  unit_cost: cost === null ? null : { amount: cost, currency_code: 'EUR' },
});

const products = [
  { id: 1, title: 'Tee', product_type: 'Apparel', vendor: 'Atelier', status: 'ACTIVE', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    // Shopify's current cost of TEE-M is 5.00; the costs file says 4.00, then 4.50 from 3 March.
    variants: [variant(11, 'TEE-M', 111, true, '5.00'), variant(12, 'TEE-L', 112, true, null, '22.00')] },
  { id: 2, title: 'Mug', product_type: 'Kitchen', vendor: 'Kiln', status: 'active', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    variants: [variant(21, 'MUG', 121, false, '3.00', '10.00')] },
  // A variant's price is no amount: the product is set aside with its variants.
  { id: 3, title: 'Broken', product_type: 'Misc', vendor: 'X', status: 'active', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-05T00:00:00Z',
    variants: [variant(31, 'BRK', 131, true, '1.00', 'abc')] },
];

const costs = [
  { sku: 'TEE-M', unit_cost: 4, currency: 'EUR', valid_from: '2024-03-01' },
  { sku: 'TEE-M', unit_cost: 4.5, currency: 'EUR', valid_from: '2024-03-03' },
  // Landed by hand with a negative cost: set aside, never a cost.
  { sku: 'MUG', unit_cost: -1, currency: 'EUR', valid_from: '2024-02-01' },
];

const order = (o: Record<string, unknown>) => ({
  test: false, cancelled_at: null, total_discounts: '0.00', total_tax: '0.00', customer: { id: 1, email: 'a@example.com' },
  payment_gateway_names: ['stripe'], refunds: [], ...o,
});

const orders = [
  // EUR, prices without tax. Line 1: 2 × 20 − 4 (its discount allocation) = 36, costs file's 4.00
  // (valid from 1 March). Line 2: 22, no cost anywhere.
  order({ id: 1, created_at: '2024-03-01T10:00:00Z', currency: 'EUR', total_price: '67.20', subtotal_price: '58.00', total_tax: '9.20', taxes_included: false,
    line_items: [
      { id: 1, product_id: 1, variant_id: 11, sku: 'TEE-M', title: 'Tee', variant_title: 'M', vendor: 'Atelier', quantity: 2, price: '20.00', total_discount: '4.00',
        discount_allocations: [{ amount: '4.00' }], tax_lines: [{ price: '7.20', rate: 0.2 }] },
      { id: 2, product_id: 1, variant_id: 12, sku: 'TEE-L', title: 'Tee', variant_title: 'L', vendor: 'Atelier', quantity: 1, price: '22.00', total_discount: '0.00',
        discount_allocations: [], tax_lines: [{ price: '2.00', rate: 0.1 }] } ] }),
  // USD, prices include tax. Line 3: 30 − 2 (an order-level code allocated; the deprecated total_discount says 0) − 5 tax = 23 USD
  // = 18.4 EUR, costs file's 4.50 (valid from 3 March). Line 4: 3 × 10 = 30 USD = 24 EUR, Shopify's 3.00.
  order({ id: 2, created_at: '2024-03-03T10:00:00Z', currency: 'USD', total_price: '58.00', subtotal_price: '58.00', total_tax: '5.00', taxes_included: true,
    line_items: [
      { id: 3, product_id: 1, variant_id: 11, sku: 'TEE-M', title: 'Tee', quantity: 1, price: '30.00', total_discount: '0.00',
        discount_allocations: [{ amount: '2.00' }], tax_lines: [{ price: '5.00', rate: 0.2 }] },
      { id: 4, product_id: 2, variant_id: 21, sku: 'MUG', title: 'Mug', quantity: 3, price: '10.00', total_discount: '0.00' } ],
    refunds: [
      // One mug back on 4 March: 10.00 with 1.50 tax included, so 8.50 of sales; at 0.625 EUR the dollar.
      { id: 91, created_at: '2024-03-04T09:00:00Z', transactions: [{ id: 92, kind: 'refund', status: 'success', amount: '10.00', currency: 'USD' }],
        refund_line_items: [{ id: 93, line_item_id: 4, quantity: 1, subtotal: '10.00', total_tax: '1.50' }] },
      // A refund that paid nothing back (its transaction failed): not counted.
      { id: 94, created_at: '2024-03-04T10:00:00Z', transactions: [{ id: 95, kind: 'refund', status: 'failure', amount: '30.00', currency: 'USD' }],
        refund_line_items: [{ id: 96, line_item_id: 3, quantity: 1, subtotal: '30.00', total_tax: '5.00' }] } ] }),
  // A variant the products stream does not know.
  order({ id: 3, created_at: '2024-03-03T11:00:00Z', currency: 'EUR', total_price: '9.00', subtotal_price: '9.00',
    line_items: [{ id: 5, product_id: 9, variant_id: 99, sku: 'GHOST', title: 'Ghost', quantity: 1, price: '9.00', total_discount: '0.00' }] }),
  // A tax line that is no amount: the order is set aside with its lines.
  order({ id: 4, created_at: '2024-03-03T12:00:00Z', currency: 'EUR', total_price: '9.00', subtotal_price: '9.00',
    line_items: [{ id: 6, variant_id: 21, sku: 'MUG', quantity: 1, price: '9.00', total_discount: '0.00', tax_lines: [{ price: 'n/a' }] }] }),
];

const at = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const balanceTransactions = [
  { id: 'txn_1', type: 'charge', amount: 5000, fee: 175, net: 4825, currency: 'eur', created: at('2024-03-01T10:05:00Z'), status: 'available', reporting_category: 'charge', source: 'ch_1' },
  { id: 'txn_2', type: 'stripe_fee', amount: -300, fee: 0, net: -300, currency: 'eur', created: at('2024-03-02T08:00:00Z'), status: 'available', reporting_category: 'fee', source: null },
  { id: 'txn_3', type: 'payout', amount: -4000, fee: 0, net: -4000, currency: 'eur', created: at('2024-03-02T09:00:00Z'), status: 'available', reporting_category: 'payout', source: 'po_1' },
  { id: 'txn_4', type: 'charge', amount: 3000, fee: 117, net: 2883, currency: 'usd', created: at('2024-03-03T10:05:00Z'), status: 'pending', reporting_category: 'charge', source: { id: 'ch_2' } },
  // An amount that is not whole minor units: set aside.
  { id: 'txn_5', type: 'charge', amount: '12.5', fee: 0, net: 0, currency: 'eur', created: at('2024-03-03T10:05:00Z'), status: 'pending' },
];

const levels = [
  { snapshot_date: '2024-03-03', inventory_item_id: 111, variant_id: 11, location_id: 1, available: 5, tracked: true, updated_at: '2024-03-02T10:00:00Z' },
  { snapshot_date: '2024-03-03', inventory_item_id: 111, variant_id: 11, location_id: 2, available: -1, tracked: true, updated_at: '2024-03-02T10:00:00Z' },
  // No variant id on the level: its inventory item names the variant.
  { snapshot_date: '2024-03-03', inventory_item_id: 112, location_id: 1, available: 0, updated_at: '2024-03-02T10:00:00Z' },
  { snapshot_date: '2024-03-03', inventory_item_id: 121, variant_id: 21, location_id: 1, available: 'lots', tracked: false },
];

let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('products_core');
  await landRecords(wh.pool, 'fx', 'rates', fxRates);
  await landRecords(wh.pool, 'shopify', 'products', products);
  await landRecords(wh.pool, 'costs', 'unit_costs', costs);
  await landRecords(wh.pool, 'shopify', 'orders', orders);
  await landRecords(wh.pool, 'stripe', 'balance_transactions', balanceTransactions);
  await landRecords(wh.pool, 'shopify', 'inventory_levels', levels);
  const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'EUR', sources: {} });
  const result = await runModels(wh.db, config, { models, now: NOW });
  expect(result.error).toBeUndefined();
  expect(result.status).toBe('succeeded');
});
afterAll(async () => wh?.close());

async function rows(query: string): Promise<Record<string, any>[]> {
  return (await wh.pool.query(query)).rows;
}
const num = (v: unknown) => (v === null ? null : Number(v));

describe('products, stock, fees and costs in core', () => {
  it('sets aside the records whose fields do not parse, naming the field', async () => {
    const got = await rows(`select source, stream, key, reason from ops.set_aside order by source, stream, key`);
    expect(got).toEqual([
      { source: 'costs', stream: 'unit_costs', key: expect.stringContaining('MUG'), reason: 'unit_cost "-1" is negative' },
      { source: 'shopify', stream: 'inventory_levels', key: expect.stringContaining('121'), reason: 'available "lots" is not a whole number' },
      { source: 'shopify', stream: 'orders', key: '4', reason: 'line_items[0].tax_lines[0].price "n/a" is not a decimal amount' },
      { source: 'shopify', stream: 'products', key: '3', reason: 'variants[0].price "abc" is not a decimal amount' },
      { source: 'stripe', stream: 'balance_transactions', key: 'txn_5', reason: 'amount "12.5" is not a whole number' },
    ]);
  });

  it('builds products and variants with their names and current Shopify cost', async () => {
    expect(await rows(`select product_id, title, product_type, vendor, status, variants from core.products order by product_id`)).toEqual([
      { product_id: '1', title: 'Tee', product_type: 'Apparel', vendor: 'Atelier', status: 'active', variants: 2 },
      { product_id: '2', title: 'Mug', product_type: 'Kitchen', vendor: 'Kiln', status: 'active', variants: 1 },
    ]);
    const got = await rows(`select variant_id, product_id, sku, product_title, variant_title, vendor, product_type, inventory_item_id, is_tracked, unit_cost, unit_cost_currency
      from core.product_variants order by variant_id`);
    expect(got.map((r) => ({ ...r, unit_cost: num(r.unit_cost) }))).toEqual([
      { variant_id: '11', product_id: '1', sku: 'TEE-M', product_title: 'Tee', variant_title: 'TEE-M', vendor: 'Atelier', product_type: 'Apparel', inventory_item_id: '111', is_tracked: true, unit_cost: 5, unit_cost_currency: 'EUR' },
      { variant_id: '12', product_id: '1', sku: 'TEE-L', product_title: 'Tee', variant_title: 'TEE-L', vendor: 'Atelier', product_type: 'Apparel', inventory_item_id: '112', is_tracked: true, unit_cost: null, unit_cost_currency: null },
      { variant_id: '21', product_id: '2', sku: 'MUG', product_title: 'Mug', variant_title: 'MUG', vendor: 'Kiln', product_type: 'Kitchen', inventory_item_id: '121', is_tracked: false, unit_cost: 3, unit_cost_currency: 'EUR' },
    ]);
  });

  it('gives each order line its sales and the unit cost valid on the order date: costs file, else Shopify, else none', async () => {
    const got = await rows(`select line_id, order_date, discount, tax, taxes_included, line_sales, line_sales_rc, variant_in_products,
      unit_cost_source, unit_cost, unit_cost_currency, unit_cost_rc from core.order_lines order by line_id::int`);
    const n = (r: Record<string, any>) => ({ ...r, discount: num(r.discount), tax: num(r.tax), line_sales: num(r.line_sales), line_sales_rc: num(r.line_sales_rc), unit_cost: num(r.unit_cost), unit_cost_rc: num(r.unit_cost_rc) });
    expect(got.map(n)).toEqual([
      { line_id: '1', order_date: '2024-03-01', discount: 4, tax: 7.2, taxes_included: false, line_sales: 36, line_sales_rc: 36, variant_in_products: true,
        unit_cost_source: 'costs', unit_cost: 4, unit_cost_currency: 'EUR', unit_cost_rc: 4 },
      { line_id: '2', order_date: '2024-03-01', discount: 0, tax: 2, taxes_included: false, line_sales: 22, line_sales_rc: 22, variant_in_products: true,
        unit_cost_source: null, unit_cost: null, unit_cost_currency: null, unit_cost_rc: null },
      { line_id: '3', order_date: '2024-03-03', discount: 2, tax: 5, taxes_included: true, line_sales: 23, line_sales_rc: 18.4, variant_in_products: true,
        unit_cost_source: 'costs', unit_cost: 4.5, unit_cost_currency: 'EUR', unit_cost_rc: 4.5 },
      { line_id: '4', order_date: '2024-03-03', discount: 0, tax: 0, taxes_included: true, line_sales: 30, line_sales_rc: 24, variant_in_products: true,
        unit_cost_source: 'shopify', unit_cost: 3, unit_cost_currency: 'EUR', unit_cost_rc: 3 },
      { line_id: '5', order_date: '2024-03-03', discount: 0, tax: 0, taxes_included: false, line_sales: 9, line_sales_rc: 9, variant_in_products: false,
        unit_cost_source: null, unit_cost: null, unit_cost_currency: null, unit_cost_rc: null },
    ]);
  });

  it('keeps the refunded lines of successful refunds only, dated and converted on the refund date', async () => {
    const got = await rows(`select refund_line_id, order_id, line_id, variant_id, sku, refund_date, quantity, subtotal, total_tax, refunded_sales,
      currency, subtotal_rc, total_tax_rc, refunded_sales_rc, order_is_counted from core.refund_lines`);
    expect(got.map((r) => ({ ...r, subtotal: num(r.subtotal), total_tax: num(r.total_tax), refunded_sales: num(r.refunded_sales), subtotal_rc: num(r.subtotal_rc), total_tax_rc: num(r.total_tax_rc), refunded_sales_rc: num(r.refunded_sales_rc) }))).toEqual([
      { refund_line_id: '93', order_id: '2', line_id: '4', variant_id: '21', sku: 'MUG', refund_date: '2024-03-04', quantity: 1, subtotal: 10, total_tax: 1.5,
        refunded_sales: 8.5, currency: 'USD', subtotal_rc: 6.25, total_tax_rc: 0.9375, refunded_sales_rc: 5.3125, order_is_counted: true },
    ]);
  });

  it('dates balance transactions locally and splits out payment fees and payouts', async () => {
    const got = await rows(`select balance_transaction_id, transaction_date, type, currency, amount, fee, net, payment_fee, payout, amount_rc, payment_fee_rc, payout_rc, source_id
      from core.balance_transactions order by balance_transaction_id`);
    expect(got.map((r) => ({ ...r, amount: num(r.amount), fee: num(r.fee), net: num(r.net), payment_fee: num(r.payment_fee), payout: num(r.payout), amount_rc: num(r.amount_rc), payment_fee_rc: num(r.payment_fee_rc), payout_rc: num(r.payout_rc) }))).toEqual([
      { balance_transaction_id: 'txn_1', transaction_date: '2024-03-01', type: 'charge', currency: 'EUR', amount: 50, fee: 1.75, net: 48.25, payment_fee: 1.75, payout: 0, amount_rc: 50, payment_fee_rc: 1.75, payout_rc: 0, source_id: 'ch_1' },
      // A fee billed apart: its own fee is 0, its amount (−3.00) is the fee.
      { balance_transaction_id: 'txn_2', transaction_date: '2024-03-02', type: 'stripe_fee', currency: 'EUR', amount: -3, fee: 0, net: -3, payment_fee: 3, payout: 0, amount_rc: -3, payment_fee_rc: 3, payout_rc: 0, source_id: null },
      { balance_transaction_id: 'txn_3', transaction_date: '2024-03-02', type: 'payout', currency: 'EUR', amount: -40, fee: 0, net: -40, payment_fee: 0, payout: 40, amount_rc: -40, payment_fee_rc: 0, payout_rc: 40, source_id: 'po_1' },
      // 30.00 USD with a 1.17 USD fee, at 0.8 EUR the dollar (1 March's rate carried to 3 March).
      { balance_transaction_id: 'txn_4', transaction_date: '2024-03-03', type: 'charge', currency: 'USD', amount: 30, fee: 1.17, net: 28.83, payment_fee: 1.17, payout: 0, amount_rc: 24, payment_fee_rc: 0.936, payout_rc: 0, source_id: 'ch_2' },
    ]);
  });

  it('gives each stock level its variant, by the level or by its inventory item, and whether it is tracked', async () => {
    const got = await rows(`select snapshot_date, inventory_item_id, variant_id, product_id, sku, location_id, available, is_tracked from core.inventory_levels order by inventory_item_id, location_id`);
    expect(got).toEqual([
      { snapshot_date: '2024-03-03', inventory_item_id: '111', variant_id: '11', product_id: '1', sku: 'TEE-M', location_id: '1', available: 5, is_tracked: true },
      { snapshot_date: '2024-03-03', inventory_item_id: '111', variant_id: '11', product_id: '1', sku: 'TEE-M', location_id: '2', available: -1, is_tracked: true },
      { snapshot_date: '2024-03-03', inventory_item_id: '112', variant_id: '12', product_id: '1', sku: 'TEE-L', location_id: '1', available: 0, is_tracked: true },
    ]);
  });
});
