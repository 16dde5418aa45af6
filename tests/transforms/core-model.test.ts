import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { charges, fxRates, ga4Rows, googleAdsRows, metaRows, orders, shipments } from './fixtures.ts';

let wh: Warehouse;
const NOW = new Date('2024-03-06T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('core_model');
  await landRecords(wh.pool, 'fx', 'rates', fxRates);
  await landRecords(wh.pool, 'shopify', 'orders', orders);
  await landRecords(wh.pool, 'stripe', 'charges', charges);
  await landRecords(wh.pool, 'google_ads', 'campaign_daily', googleAdsRows);
  await landRecords(wh.pool, 'meta_ads', 'campaign_insights_daily', metaRows);
  await landRecords(wh.pool, 'ga4', 'traffic_daily', ga4Rows);
  await landRecords(wh.pool, 'shipments', 'shipments', shipments);
});
afterAll(async () => wh?.close());

async function build(timezone: string) {
  const config = configSchema.parse({ reportingTimezone: timezone, reportingCurrency: 'USD' });
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
  beforeAll(async () => {
    await build('Europe/Paris');
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
      ['12', '2024-03-04', 100 * (1.2 / 0.9), 0, 0, true, '6', 'organic_search', 1, true],
    ];
    expect(got.length).toBe(12);
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
  });

  it('keeps successful refund transactions only, on their own date and rate', async () => {
    const got = await rows(`select refund_transaction_id, order_id, refund_date, amount, currency, amount_rc from core.refunds order by 1`);
    expect(got.map((r) => [r.refund_transaction_id, r.order_id, r.refund_date, num(r.amount), r.currency])).toEqual([
      ['601', '1', '2024-03-04', 25, 'USD'],
      ['603', '2', '2024-03-04', 10, 'EUR'],
    ]);
    expect(num(got[1]!.amount_rc)).toBeCloseTo(12, 9);
  });

  it('builds one row per customer with first/last orders and lifetime value', async () => {
    const got = await rows(`select customer_key, first_order_date, last_order_date, counted_orders, lifetime_revenue_rc, lifetime_refunds_rc, acquisition_channel
      from core.customers order by customer_key`);
    const byKey = Object.fromEntries(got.map((r) => [r.customer_key, r]));
    expect(Object.keys(byKey).sort()).toEqual(['1', '2', '4', '5', '6', 'guest@example.com', 'order:8']);
    expect(byKey['1']).toMatchObject({ first_order_date: '2024-03-01', last_order_date: '2024-03-04', counted_orders: 2, acquisition_channel: 'google_ads' });
    expect(num(byKey['1']!.lifetime_revenue_rc)).toBeCloseTo(100 + 12, 9);
    expect(num(byKey['1']!.lifetime_refunds_rc)).toBeCloseTo(25, 9);
    expect(num(byKey['2']!.lifetime_revenue_rc)).toBeCloseTo(55 + 15, 9);
    expect(num(byKey['2']!.lifetime_refunds_rc)).toBeCloseTo(12, 9);
    expect(byKey['guest@example.com']).toMatchObject({ counted_orders: 2, first_order_date: '2024-03-02', last_order_date: '2024-03-04', acquisition_channel: 'organic_search' });
    expect(num(byKey['guest@example.com']!.lifetime_revenue_rc)).toBeCloseTo(110 + 20, 9);
  });

  it('matches charges to orders by metadata id, by order name, then by payment intent', async () => {
    const got = await rows(`select charge_id, payment_date, status, amount_rc, amount_captured_rc, amount_refunded_rc, order_id, match_method from core.payments order by charge_id`);
    expect(got.map((r) => [r.charge_id, r.payment_date, r.status, r.order_id, r.match_method])).toEqual([
      ['ch_1', '2024-03-01', 'succeeded', '1', 'metadata_order_id'],
      ['ch_2', '2024-03-02', 'failed', '2', 'metadata_order_name'],
      ['ch_3', '2024-03-02', 'succeeded', '2', 'payment_intent'],
      ['ch_4', '2024-03-04', 'succeeded', null, null],
    ]);
    expect(num(got[0]!.amount_rc)).toBe(100);
    expect(num(got[0]!.amount_refunded_rc)).toBe(25);
    expect(num(got[1]!.amount_captured_rc)).toBe(0);
    expect(num(got[2]!.amount_rc)).toBeCloseTo(50 * 1.1, 9);
    expect(num(got[2]!.amount_refunded_rc)).toBeCloseTo(10 * 1.1, 9);
    expect(num(got[3]!.amount_rc)).toBeCloseTo(19.99, 9);
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

  it('maps GA4 rows to channels by the same rules', async () => {
    const got = await rows(`select source, medium, channel, sessions from core.traffic order by sessions desc`);
    expect(got).toEqual([
      { source: 'google', medium: 'cpc', channel: 'google_ads', sessions: 100 },
      { source: null, medium: null, channel: 'direct', sessions: 50 },
      { source: 'google', medium: 'organic', channel: 'organic_search', sessions: 30 },
    ]);
  });

  it('matches shipments to orders and measures delivery against the promise', async () => {
    const got = await rows(`select tracking_number, order_id, shipped_date, promised_date, delivered_date, delivery_days, is_on_time, shipping_cost_rc from core.shipments order by 1`);
    expect(got.map((r) => [r.tracking_number, r.order_id, r.shipped_date, r.promised_date, r.delivered_date, r.is_on_time])).toEqual([
      ['T1', '1', '2024-03-01', '2024-03-04', '2024-03-03', true],
      ['T2', '2', '2024-03-02', '2024-03-04', '2024-03-05', false],
    ]);
    expect(num(got[0]!.delivery_days)).toBeCloseTo(2, 9);
    expect(num(got[1]!.delivery_days)).toBeCloseTo(3 + 9.5 / 24, 9); // 1 Mar 23:30 → 5 Mar 09:00 UTC
    expect(num(got[1]!.shipping_cost_rc)).toBeCloseTo(7.5 * 1.1, 9);
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
