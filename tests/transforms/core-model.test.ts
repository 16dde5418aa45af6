import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landCoreShop } from './fixtures.ts';

let wh: Warehouse;
const NOW = new Date('2024-03-06T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('core_model');
  await landCoreShop(wh.pool);
});
afterAll(async () => wh?.close());

async function build(timezone: string, sources: Record<string, unknown> = {}) {
  const config = configSchema.parse({ reportingTimezone: timezone, reportingCurrency: 'USD', sources });
  const result = await runModels(wh.db, config, { models, now: NOW });
  expect(result.error).toBeUndefined();
  expect(result.status).toBe('succeeded');
  return result;
}

async function rows(query: string): Promise<Record<string, any>[]> {
  return (await wh.pool.query(query)).rows;
}

const num = (v: unknown) => Number(v);

describe('core model on a hand-made shop (Europe/Paris, USD)', () => {
  let result: Awaited<ReturnType<typeof build>>;
  beforeAll(async () => {
    result = await build('Europe/Paris');
  });

  it('dates, converts, flags and identifies every order', async () => {
    const got = await rows(`select order_id, order_date, total_price_rc, refunded, refunded_rc, is_counted, customer_key, channel,
      customer_order_seq, is_first_order, utm_campaign, paid_with_stripe from core.orders order by order_id::int`);
    const expected = [
      // id, date, total in USD, refunded (own currency), refunded USD, counted, customer, channel, seq, first
      ['1', '2024-03-01', 100, 25, 25, true, '1', 'google_ads', 1, true],
      ['2', '2024-03-02', 50 * 1.1, 10, 10 * 1.2, true, '2', 'meta_ads', 1, true], // Saturday: Friday's rate carried; refund on Monday's rate
      ['3', '2024-03-02', 80 * (1.1 / 0.8), 0, 0, true, 'guest@example.com', 'organic_search', 1, true],
      ['4', '2024-03-04', 20, 0, 0, true, 'guest@example.com', 'referral', 2, false],
      ['5', '2024-03-02', 30, 0, 0, false, '1', 'direct', null, false],
      ['6', '2024-03-02', 40, 0, 0, false, '3', 'direct', null, false],
      ['7', '2024-03-04', 10 * 1.2, 0, 0, true, '1', 'email', 2, false],
      ['8', '2024-03-04', 60, 0, 0, true, 'order:8', 'other', 1, true],
      ['9', '2024-03-04', 25, 0, 0, true, '4', 'direct', 1, true],
      ['10', '2024-03-04', 45, 0, 0, true, '5', 'google_ads', 1, true],
      ['11', '2024-03-04', 15, 0, 0, true, '2', 'direct', 2, false],
      // Refunded 9 EUR on 4 March: 9 × 1.2 = 10.8 USD, which is 10.8 / (1.2 / 0.9) = 8.1 GBP.
      ['12', '2024-03-04', 100 * (1.2 / 0.9), 8.1, 10.8, true, '6', 'organic_search', 1, true],
      ['13', '2024-03-04', 35, 0, 0, true, '7', 'organic_search', 1, true], // referrer www.bing.com/search, no scheme
      ['14', '2024-03-04', 12, 0, 0, true, '8', 'email', 1, true], // UTM_SOURCE / UTM_MEDIUM after &amp;
    ];
    expect(got.length).toBe(14);
    got.forEach((row, i) => {
      const [id, date, total, refunded, refundedRc, counted, customer, channel, seq, first] = expected[i]!;
      expect(row.order_id).toBe(id);
      expect(row.order_date, `order ${id}`).toBe(date);
      expect(num(row.total_price_rc), `order ${id}`).toBeCloseTo(total as number, 9);
      expect(num(row.refunded), `order ${id}`).toBeCloseTo(refunded as number, 9);
      expect(num(row.refunded_rc), `order ${id}`).toBeCloseTo(refundedRc as number, 9);
      expect(row.is_counted, `order ${id}`).toBe(counted);
      expect(row.customer_key, `order ${id}`).toBe(customer);
      expect(row.channel, `order ${id}`).toBe(channel);
      expect(row.customer_order_seq, `order ${id}`).toBe(seq);
      expect(row.is_first_order, `order ${id}`).toBe(first);
    });
    expect(got[1]!.utm_campaign).toBe('spring sale');
    expect(got[10]!.paid_with_stripe).toBe(false);
    expect(got[13]!.utm_campaign).toBe('march');
  });

  it('keeps each money column apart and converts each (issue 3)', async () => {
    const got = await rows(`select order_id, total_price, subtotal_price, total_discounts, total_tax, total_shipping,
      total_price_rc, subtotal_price_rc, total_discounts_rc, total_tax_rc, total_shipping_rc from core.orders where order_id in ('1', '2') order by order_id`);
    const money = (r: Record<string, any>, suffix: string) =>
      ['total_price', 'subtotal_price', 'total_discounts', 'total_tax', 'total_shipping'].map((c) => num(r[`${c}${suffix}`]));
    // Order 1, USD: 100 = 80 subtotal (after 10 discount) + 15 tax + 5 shipping.
    expect(money(got[0]!, '')).toEqual([100, 80, 10, 15, 5]);
    expect(money(got[0]!, '_rc')).toEqual([100, 80, 10, 15, 5]);
    // Order 2, EUR on Saturday 2 March (Friday's 1.1 carried): 50 = 42 + 6 + 2, discount 3.
    expect(money(got[1]!, '')).toEqual([50, 42, 3, 6, 2]);
    [55, 46.2, 3.3, 6.6, 2.2].forEach((v, i) => expect(money(got[1]!, '_rc')[i]).toBeCloseTo(v, 9));
  });

  it('builds order lines with their order\'s date, counted flag and currency (issue 3)', async () => {
    const got = await rows(`select * from core.order_lines order by order_id::int`);
    expect(got.map((r) => r.line_id)).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100', '110', '120', '130', '140']);
    const line = (id: string) => got.find((r) => r.line_id === id)!;
    const l10 = line('10');
    expect({
      ...l10, price: num(l10.price), total_discount: num(l10.total_discount), line_total: num(l10.line_total), line_total_rc: num(l10.line_total_rc),
      discount: num(l10.discount), tax: num(l10.tax), line_sales: num(l10.line_sales), line_sales_rc: num(l10.line_sales_rc),
    }).toEqual({
      order_id: '1', line_id: '10', order_date: '2024-03-01', is_counted: true, product_id: '7', variant_id: '70', sku: 'SKU-7', title: 'Mug',
      variant_title: null, vendor: null,
      quantity: 2, removed_quantity: 0, sold_quantity: 2, // no current_quantity: nothing removed by an edit
      price: 45, total_discount: 10, line_total: 80, currency: 'USD', line_total_rc: 80, // 2 × 45 − 10
      // No discount_allocations: the line's total_discount is its discount; no tax lines, prices without tax.
      discount: 10, tax: 0, taxes_included: false, line_sales: 80, line_sales_rc: 80,
      // No products stream and no costs file in this shop: the cost is unknown.
      variant_in_products: false, unit_cost_source: null, unit_cost: null, unit_cost_currency: null, unit_cost_rc: null,
    });
    expect(line('20')).toMatchObject({ order_id: '2', order_date: '2024-03-02', is_counted: true, quantity: 1, currency: 'EUR' });
    expect(num(line('20').line_total)).toBe(42);
    expect(num(line('20').line_total_rc)).toBeCloseTo(42 * 1.1, 9);
    expect(line('50')).toMatchObject({ order_id: '5', order_date: '2024-03-02', is_counted: false, currency: 'USD' }); // cancelled
    expect(line('60')).toMatchObject({ order_id: '6', is_counted: false }); // test order
    expect(line('120')).toMatchObject({ order_id: '12', order_date: '2024-03-04', currency: 'GBP' });
    expect(num(line('120').line_total_rc)).toBeCloseTo(100 * (1.2 / 0.9), 9);
  });

  it('keeps successful refund transactions only (not a failed refund, not a void), on their own date and rate', async () => {
    const got = await rows(`select refund_transaction_id, order_id, refund_date, amount, currency, amount_rc from core.refunds order by 1`);
    expect(got.map((r) => [r.refund_transaction_id, r.order_id, r.refund_date, num(r.amount), r.currency])).toEqual([
      ['601', '1', '2024-03-04', 25, 'USD'],
      ['603', '2', '2024-03-04', 10, 'EUR'],
      ['605', '12', '2024-03-04', 9, 'EUR'], // the transaction's currency, not its GBP order's
    ]);
    expect(num(got[1]!.amount_rc)).toBeCloseTo(12, 9);
    expect(num(got[2]!.amount_rc)).toBeCloseTo(10.8, 9);
  });

  it('builds one row per customer with first/last orders and lifetime value', async () => {
    const got = await rows(`select customer_key, first_order_date, last_order_date, counted_orders, lifetime_revenue_rc, lifetime_refunds_rc, acquisition_channel
      from core.customers order by customer_key`);
    const byKey = Object.fromEntries(got.map((r) => [r.customer_key, r]));
    expect(Object.keys(byKey).sort()).toEqual(['1', '2', '4', '5', '6', '7', '8', 'guest@example.com', 'order:8']);
    expect(byKey['1']).toMatchObject({ first_order_date: '2024-03-01', last_order_date: '2024-03-04', counted_orders: 2, acquisition_channel: 'google_ads' });
    expect(num(byKey['1']!.lifetime_revenue_rc)).toBeCloseTo(100 + 12, 9);
    expect(num(byKey['1']!.lifetime_refunds_rc)).toBeCloseTo(25, 9);
    expect(num(byKey['2']!.lifetime_revenue_rc)).toBeCloseTo(55 + 15, 9);
    expect(num(byKey['2']!.lifetime_refunds_rc)).toBeCloseTo(12, 9);
    expect(byKey['guest@example.com']).toMatchObject({ counted_orders: 2, first_order_date: '2024-03-02', last_order_date: '2024-03-04', acquisition_channel: 'organic_search' });
    expect(num(byKey['guest@example.com']!.lifetime_revenue_rc)).toBeCloseTo(110 + 20, 9);
    expect(num(byKey['6']!.lifetime_refunds_rc)).toBeCloseTo(10.8, 9);
  });

  it('matches charges to orders by metadata id, by order name, then by payment intent', async () => {
    const got = await rows(`select charge_id, payment_date, status, amount_rc, amount_captured_rc, amount_refunded_rc, order_id, match_method from core.payments order by charge_id`);
    expect(got.map((r) => [r.charge_id, r.payment_date, r.status, r.order_id, r.match_method])).toEqual([
      ['ch_1', '2024-03-01', 'succeeded', '1', 'metadata_order_id'],
      ['ch_2', '2024-03-02', 'failed', '2', 'metadata_order_name'],
      ['ch_3', '2024-03-02', 'succeeded', '2', 'payment_intent'],
      ['ch_4', '2024-03-04', 'succeeded', null, null],
      ['ch_5', '2024-03-04', 'succeeded', null, null],
      ['ch_6', '2024-03-04', 'succeeded', null, null],
    ]);
    expect(num(got[0]!.amount_rc)).toBe(100);
    expect(num(got[0]!.amount_refunded_rc)).toBe(25);
    expect(num(got[1]!.amount_captured_rc)).toBe(0);
    expect(num(got[2]!.amount_rc)).toBeCloseTo(50 * 1.1, 9);
    expect(num(got[2]!.amount_refunded_rc)).toBeCloseTo(10 * 1.1, 9);
    expect(num(got[3]!.amount_rc)).toBeCloseTo(19.99, 9);
  });

  it('reads Stripe amounts of zero- and three-decimal currencies (JPY, KWD) in major units (issue 3)', async () => {
    const got = await rows(`select charge_id, currency, amount, amount_refunded, amount_rc, amount_refunded_rc from core.payments where charge_id in ('ch_5', 'ch_6') order by 1`);
    // 1500 yen is 1500 (not 15.00); 1 JPY = 1/150 USD (the inverse of the published USD→JPY).
    expect([got[0]!.currency, num(got[0]!.amount), num(got[0]!.amount_refunded)]).toEqual(['JPY', 1500, 300]);
    expect(num(got[0]!.amount_rc)).toBeCloseTo(10, 9);
    expect(num(got[0]!.amount_refunded_rc)).toBeCloseTo(2, 9);
    // 12345 fils is 12.345 dinars (not 123.45); × 3.25.
    expect([got[1]!.currency, num(got[1]!.amount)]).toEqual(['KWD', 12.345]);
    expect(num(got[1]!.amount_rc)).toBeCloseTo(40.12125, 9);
  });

  it('puts both ad platforms in spend, with Meta purchases counted under one action type', async () => {
    const got = await rows(`select date, platform, channel, spend, spend_rc, clicks, impressions, platform_conversions, platform_conversion_value_rc from core.spend order by platform`);
    expect(got.map((r) => [r.date, r.platform, r.channel, num(r.spend), r.clicks, r.impressions, num(r.platform_conversions)])).toEqual([
      ['2024-03-01', 'google_ads', 'google_ads', 12.5, 10, 100, 2.5],
      ['2024-03-02', 'meta_ads', 'meta_ads', 20, 40, 1000, 3],
    ]);
    expect(num(got[0]!.spend_rc)).toBe(12.5);
    expect(num(got[1]!.spend_rc)).toBeCloseTo(22, 9);
    expect(num(got[1]!.platform_conversion_value_rc)).toBeCloseTo(330, 9);
  });

  it('maps GA4 rows to channels by the same rules, keeping date, users and revenue in its currency and converted', async () => {
    const got = await rows(`select date, source, medium, channel, sessions, users, currency, purchase_revenue, purchase_revenue_rc from core.traffic order by date, sessions desc`);
    expect(got.map((r) => ({ ...r, purchase_revenue: num(r.purchase_revenue), purchase_revenue_rc: num(r.purchase_revenue_rc) }))).toEqual([
      { date: '2024-03-01', source: 'google', medium: 'cpc', channel: 'google_ads', sessions: 100, users: 80, currency: 'USD', purchase_revenue: 100.5, purchase_revenue_rc: 100.5 },
      // No currency on the row, none configured: the reporting currency.
      { date: '2024-03-01', source: null, medium: null, channel: 'direct', sessions: 50, users: 45, currency: 'USD', purchase_revenue: 12.5, purchase_revenue_rc: 12.5 },
      // EUR on Saturday 2 March: Friday's 1.1 carried.
      { date: '2024-03-02', source: 'google', medium: 'organic', channel: 'organic_search', sessions: 30, users: 25, currency: 'EUR', purchase_revenue: 20, purchase_revenue_rc: 22 },
    ]);
  });

  it('checks core.traffic\'s key, unique and not null (issue 3)', () => {
    const traffic = result.checks.filter((c) => c.model === 'core.traffic').map((c) => [c.check, c.passed]);
    expect(traffic).toEqual([
      ['unique (row_key)', true],
      ['not null (row_key)', true],
      ['every amount has an exchange rate', true],
    ]);
  });

  it('matches shipments to orders and measures delivery against the promise', async () => {
    const got = await rows(`select tracking_number, order_id, shipped_date, promised_date, delivered_date, delivery_days, is_on_time, cost_date, shipping_cost_rc from core.shipments order by 1`);
    expect(got.map((r) => [r.tracking_number, r.order_id, r.shipped_date, r.promised_date, r.delivered_date, r.is_on_time])).toEqual([
      ['T1', '1', '2024-03-01', '2024-03-04', '2024-03-03', true],
      ['T2', '2', '2024-03-02', '2024-03-04', '2024-03-05', false],
      ['T3', '3', null, null, '2024-03-05', null], // no promise: on time is unknown, not false
      ['T4', null, null, '2024-03-06', '2024-03-04', true],
    ]);
    expect(num(got[0]!.delivery_days)).toBeCloseTo(2, 9);
    expect(num(got[1]!.delivery_days)).toBeCloseTo(3 + 9.5 / 24, 9); // 1 Mar 23:30 → 5 Mar 09:00 UTC
    expect(num(got[2]!.delivery_days)).toBeCloseTo(3, 9); // 2 Mar 12:00 → 5 Mar 12:00 UTC
    expect(got[3]!.delivery_days).toBeNull();
    expect(num(got[1]!.shipping_cost_rc)).toBeCloseTo(7.5 * 1.1, 9);
  });

  it('converts a shipping cost with no shipped date on the order\'s date, else the delivered date (issue 3)', async () => {
    const got = await rows(`select tracking_number, cost_date, currency, shipping_cost, shipping_cost_rc from core.shipments order by 1`);
    expect(got.map((r) => [r.tracking_number, r.cost_date, r.currency, num(r.shipping_cost)])).toEqual([
      ['T1', '2024-03-01', 'USD', 5],
      ['T2', '2024-03-02', 'EUR', 7.5],
      ['T3', '2024-03-02', 'GBP', 4], // order 3's date; GBP on Saturday = Friday's 1.1 / 0.8
      ['T4', '2024-03-04', 'EUR', 6], // no order: the delivered date
    ]);
    expect(num(got[2]!.shipping_cost_rc)).toBeCloseTo(4 * 1.375, 9);
    expect(num(got[3]!.shipping_cost_rc)).toBeCloseTo(6 * 1.2, 9);
  });

  it('gives each currency a rate for every day, carrying Friday over the weekend for at most 7 days', async () => {
    const got = await rows(`select date, currency, rate, method, rate_date from core.fx_rates order by currency, date`);
    const eur = got.filter((r) => r.currency === 'EUR');
    expect(eur.map((r) => r.date)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04', '2024-03-05', '2024-03-06']);
    expect(eur.map((r) => [num(r.rate), r.method, r.rate_date]).slice(0, 4)).toEqual([
      [1.1, 'direct', '2024-03-01'],
      [1.1, 'carried', '2024-03-01'],
      [1.1, 'carried', '2024-03-01'],
      [1.2, 'direct', '2024-03-04'],
    ]);
    const gbp = got.filter((r) => r.currency === 'GBP');
    expect(gbp[0]!.method).toBe('cross');
    expect(num(gbp[0]!.rate)).toBeCloseTo(1.375, 12);
    expect(num(gbp[3]!.rate)).toBeCloseTo(1.2 / 0.9, 12);
    // Only USD→JPY is published: JPY takes its inverse, from its first day on.
    const jpy = got.filter((r) => r.currency === 'JPY');
    expect(jpy.map((r) => [r.date, r.method])).toEqual([
      ['2024-03-04', 'inverse'],
      ['2024-03-05', 'carried'],
      ['2024-03-06', 'carried'],
    ]);
    expect(num(jpy[0]!.rate)).toBeCloseTo(1 / 150, 12);
    expect(got.filter((r) => r.currency === 'KWD').map((r) => [r.date, num(r.rate), r.method])[0]).toEqual(['2024-03-04', 3.25, 'direct']);
  });
});

describe('GA4 currency', () => {
  it('converts rows that do not carry their property\'s currency from the ga4 source\'s currency; a row\'s own currency wins (issue 3)', async () => {
    await build('Europe/Paris', { ga4: { propertyIds: ['42'], currency: 'gbp' } });
    const got = await rows(`select date, sessions, currency, purchase_revenue_rc from core.traffic order by date, sessions desc`);
    expect(got.map((r) => [r.date, r.sessions, r.currency])).toEqual([
      ['2024-03-01', 100, 'USD'],
      ['2024-03-01', 50, 'GBP'],
      ['2024-03-02', 30, 'EUR'],
    ]);
    expect(num(got[0]!.purchase_revenue_rc)).toBeCloseTo(100.5, 9);
    expect(num(got[1]!.purchase_revenue_rc)).toBeCloseTo(12.5 * 1.375, 9); // 1 GBP = 1.1 / 0.8 USD on 1 March
    expect(num(got[2]!.purchase_revenue_rc)).toBeCloseTo(22, 9);
    await build('Europe/Paris');
  });
});

describe('reporting time zone', () => {
  it('moves an order at 23:30 UTC to the next day in Paris and keeps it on the same day in New York', async () => {
    await build('America/New_York');
    const ny = await rows(`select order_id, order_date from core.orders where order_id in ('2', '11') order by order_id::int`);
    expect(ny).toEqual([
      { order_id: '2', order_date: '2024-03-01' },
      { order_id: '11', order_date: '2024-03-04' },
    ]);
    await build('Europe/Paris');
    const paris = await rows(`select order_date from core.orders where order_id = '2'`);
    expect(paris[0]!.order_date).toBe('2024-03-02');
  });
});
