import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * The tax of a refunded shipping line (`refund_shipping_lines[].tax_amount`, Shopify's
 * RefundShippingLine.taxAmountSet) is refunded tax: the refund's amount, in `refunds`, holds it,
 * so contribution profit takes the order's tax off once, not twice.
 *
 * One order of 100.00 + 10.00 shipping, 10 % tax on both (10.00 + 1.00), 121.00 in all, on 5
 * March; refunded whole, shipping too, on 6 March. Its unit costs 40.00.
 */
const NOW = new Date('2024-03-08T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} });
let wh: Warehouse;

const refund = (shipping: boolean) => ({
  id: 5, created_at: '2024-03-06T12:00:00Z',
  transactions: [{ id: 6, kind: 'refund', status: 'success', amount: '121.00', currency: 'USD', created_at: '2024-03-06T12:00:00Z' }],
  refund_line_items: [{ id: 7, line_item_id: 1, quantity: 1, subtotal: '100.00', total_tax: '10.00' }],
  // A refund landed before the shipping lines were read has none.
  ...(shipping ? { refund_shipping_lines: [{ id: 8, subtotal_amount: '10.00', tax_amount: '1.00' }] } : {}),
});
const order = (shipping: boolean) => ({
  id: 1, test: false, cancelled_at: null, customer: { id: 1, email: 'a@example.com' }, created_at: '2024-03-05T12:00:00Z', updated_at: '2024-03-06T12:00:00Z',
  currency: 'USD', taxes_included: false, total_price: '121.00', subtotal_price: '100.00', total_tax: '11.00', total_discounts: '0.00', payment_gateway_names: [],
  total_shipping_price_set: { shop_money: { amount: '10.00', currency_code: 'USD' } },
  shipping_lines: [{ id: 1, title: 'Standard', price: '10.00' }],
  line_items: [{ id: 1, product_id: 1, variant_id: 11, sku: 'CUR', title: 'Current', quantity: 1, current_quantity: 0, price: '100.00', total_discount: '0.00',
    discount_allocations: [], tax_lines: [{ price: '10.00', rate: 0.1 }] }],
  refunds: [refund(shipping)],
});

const COLUMNS = ['revenue', 'refunds', 'net_revenue', 'tax', 'refunded_tax', 'net_tax', 'net_revenue_ex_tax', 'cogs', 'contribution_profit'] as const;
async function row(table: string, date: string): Promise<Record<(typeof COLUMNS)[number], number>> {
  const r = (await wh.pool.query(`select ${COLUMNS.join(', ')} from metrics.${table} where date = $1`, [date])).rows[0];
  expect(r, `${table} ${date}`).toBeDefined();
  return Object.fromEntries(COLUMNS.map((c) => [c, Number(r[c])])) as Record<(typeof COLUMNS)[number], number>;
}

beforeAll(async () => {
  wh = await createTestDatabase('refund_shipping_tax');
  await landRecords(wh.pool, 'shopify', 'products', [
    { id: 1, title: 'Current', product_type: 'T', vendor: 'V', status: 'ACTIVE', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-03-01T00:00:00Z',
      variants: [{ id: 11, product_id: 1, sku: 'CUR', title: 'Default', price: '100.00', inventory_item_id: 111, tracked: true, unit_cost: { amount: '40.00', currency_code: 'USD' } }] },
  ]);
  await landRecords(wh.pool, 'shopify', 'orders', [order(true)]);
  expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, undefined, { now: NOW })).status).toBe('succeeded');
}, 120_000);
afterAll(async () => wh?.close());

describe('refunded shipping tax', () => {
  it('lands with its refund in core.refund_shipping_lines, on the refund date', async () => {
    expect((await wh.pool.query(`select refund_id, order_id, refund_date::text, subtotal::text, tax::text, tax_rc::numeric::text as tax_rc, order_is_counted from core.refund_shipping_lines`)).rows).toEqual([
      { refund_id: '5', order_id: '1', refund_date: '2024-03-06', subtotal: '10.00', tax: '1.00', tax_rc: '1.00', order_is_counted: true },
    ]);
  });

  it('is refunded tax: the order refunded whole leaves no net revenue excluding tax, and its cost of goods as the loss', async () => {
    // 5 March: 121 of revenue holding 11 of tax: 110 excluding tax; less the unit's 40 of cost: 70.
    expect(await row('kpi_daily', '2024-03-05')).toEqual({
      revenue: 121, refunds: 0, net_revenue: 121, tax: 11, refunded_tax: 0, net_tax: 11, net_revenue_ex_tax: 110, cogs: 40, contribution_profit: 70,
    });
    // 6 March: 121 paid back, holding the line's 10 of tax and the shipping's 1: −121 + 11 = −110.
    expect(await row('kpi_daily', '2024-03-06')).toEqual({
      revenue: 0, refunds: 121, net_revenue: -121, tax: 0, refunded_tax: 11, net_tax: -11, net_revenue_ex_tax: -110, cogs: 0, contribution_profit: -110,
    });
    // March: 121 − 121 = 0 of net revenue, 11 − 11 = 0 of net tax, so 0 excluding tax; 0 − 40 of cost = −40 (the cost of returned goods is not taken back).
    expect(await row('kpi_monthly', '2024-03-01')).toEqual({
      revenue: 121, refunds: 121, net_revenue: 0, tax: 11, refunded_tax: 11, net_tax: 0, net_revenue_ex_tax: 0, cogs: 40, contribution_profit: -40,
    });
  });

  it('a refund read again with its shipping lines (a backfill) moves its day incrementally, as a full refresh does', async () => {
    // The order as a release that did not read refund shipping lines landed it: 10 of refunded tax.
    await landRecords(wh.pool, 'shopify', 'orders', [order(false)], 'before');
    expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
    expect((await refreshMetrics(wh, config, undefined, { now: NOW })).error).toBeUndefined();
    expect((await row('kpi_monthly', '2024-03-01')).refunded_tax).toBe(10);
    // Read again, the same version of the order with its shipping lines.
    await landRecords(wh.pool, 'shopify', 'orders', [order(true)], 'backfill');
    const transformed = await runTransforms(wh, config, { now: NOW });
    expect(transformed.status, transformed.error).toBe('succeeded');
    expect(transformed.results.find((r) => r.model === 'core.refund_shipping_lines')?.mode).toBe('incremental');
    const incremental = await refreshMetrics(wh, config, undefined, { now: NOW });
    expect(incremental.error).toBeUndefined();
    expect(incremental.fullRefreshReason).toBeUndefined();
    expect(await row('kpi_monthly', '2024-03-01')).toMatchObject({ refunded_tax: 11, net_revenue_ex_tax: 0, contribution_profit: -40 });
    const published = await tables();
    expect((await refreshMetrics(wh, config, undefined, { now: NOW, full: true })).error).toBeUndefined();
    expect(published).toEqual(await tables());
  });
});

describe('a refunded shipping line whose amounts do not parse', () => {
  it('sets its order aside, naming the amount, as a refund line item that does not parse does', async () => {
    const bad = { ...order(true), id: 2, refunds: [{ ...refund(true), id: 9, refund_shipping_lines: [{ id: 10, subtotal_amount: '10.00', tax_amount: '1,00' }] }] };
    await landRecords(wh.pool, 'shopify', 'orders', [bad], 'bad');
    expect((await runTransforms(wh, config, { now: NOW })).status).toBe('succeeded');
    expect((await wh.pool.query(`select key, reason from ops.set_aside where stream = 'orders'`)).rows).toEqual([
      { key: '2', reason: 'refunds[0].refund_shipping_lines[0].tax_amount "1,00" is not a decimal amount' },
    ]);
    expect((await wh.pool.query(`select order_id from core.refund_shipping_lines order by 1`)).rows).toEqual([{ order_id: '1' }]);
  });
});

/** The kpi tables, every column, in a fixed order. */
async function tables(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of ['kpi_daily', 'kpi_weekly', 'kpi_monthly']) {
    const n = (await wh.pool.query(`select count(*)::int as n from information_schema.columns where table_schema = 'metrics' and table_name = $1`, [table])).rows[0].n as number;
    out[table] = (await wh.pool.query(`select * from metrics.${table} order by ${Array.from({ length: n }, (_, i) => i + 1).join(', ')}`)).rows;
  }
  return out;
}
