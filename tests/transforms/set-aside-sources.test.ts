import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * Issue 17: the strict readers of migration 0009, and the staging models other than Shopify
 * orders that use them (Stripe charges, shipments, Google Ads, Meta, GA4): a row whose value
 * does not parse is set aside with its reason; its neighbours are published.
 */

let wh: Warehouse;
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD' });
const NOW = new Date('2024-03-06T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('set_aside_sources');
});
afterAll(async () => wh?.close());

const rows = async (query: string, values: unknown[] = []) => (await wh.pool.query(query, values)).rows;

describe('strict readers (migration 0009)', () => {
  it('read ISO 8601 date-times only, a time without an offset as UTC whatever the session zone', async () => {
    const client = await wh.pool.connect();
    try {
      await client.query(`set timezone = 'America/New_York'`);
      const cases: [string, string | null][] = [
        ['2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01 10:00:00', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01T10:00', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01T10:00:00.250+01:00', '2024-03-01T09:00:00.250Z'],
        ['2024-03-01T10:00:00,5-0500', '2024-03-01T15:00:00.500Z'],
        ['2024-03-01T10:00:00+05', '2024-03-01T05:00:00.000Z'],
        [' 2024-03-01T10:00:00Z ', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01t10:00:00z', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01T10:00:00 Z', '2024-03-01T10:00:00.000Z'],
        ['2024-03-01T10:00:00 +01:00', '2024-03-01T09:00:00.000Z'],
        ['2024-03-01T10:00:00+05:30', '2024-03-01T04:30:00.000Z'],
        ['0001-03-03T10:00:00Z', '0001-03-03T10:00:00.000Z'],
        ['2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
        ['2023-02-29T10:00:00Z', null],
        ['2024-13-01T10:00:00Z', null],
        ['0000-01-01T10:00:00Z', null],
        ['2024-03-01T10:00:60Z', null],
        ['2024-03-01T10:00:00+16:00', null],
        ['2024-02-30T10:00:00Z', null],
        ['2024-03-01T24:00:00Z', null],
        ['2024-03-01', null],
        ['yesterday', null],
        ['now', null],
        ['epoch', null],
        ['infinity', null],
        ['03/01/2024 10:00', null],
        ['', null],
      ];
      for (const [text, expected] of cases) {
        const res = await client.query(`select ops.parse_timestamptz($1) as t`, [text]);
        expect((res.rows[0].t as Date | null)?.toISOString() ?? null, text).toBe(expected);
      }
      const numbers: [string, string | null][] = [
        ['12', '12'], ['-3.50', '-3.50'], ['.5', '0.5'], ['10.', '10'], ['+7', '7'],
        ['NaN', null], ['Infinity', null], ['1e3', null], ['1,000.00', null], ['abc', null], ['', null],
      ];
      for (const [text, expected] of numbers) {
        const res = await client.query(`select ops.parse_decimal($1)::text as n`, [text]);
        expect(res.rows[0].n, text).toBe(expected);
      }
      const currencies = await client.query(`select c, ops.is_currency(c) as ok from unnest(array['USD','EUR','JPY','KWD','XX','XXX','XTS','usd','']) c`);
      expect(Object.fromEntries(currencies.rows.map((r) => [r.c, r.ok]))).toEqual({ USD: true, EUR: true, JPY: true, KWD: true, XX: false, XXX: false, XTS: false, usd: false, '': false });
    } finally {
      client.release();
    }
  });
});

describe('set-aside rows of the other sources', () => {
  it('Stripe charges, shipments, Google Ads, Meta and GA4 rows that do not parse are set aside with their reasons; the others are published', async () => {
    // 2024-03-01T10:05:00Z in Unix seconds.
    const created = 1709287500;
    const chargeOf = (id: string, extra: Record<string, unknown>) => ({ id, object: 'charge', amount: 1000, amount_captured: 1000, amount_refunded: 0, currency: 'usd', created, status: 'succeeded', metadata: {}, ...extra });
    await landRecords(wh.pool, 'stripe', 'charges', [
      chargeOf('ch_ok', {}),
      chargeOf('ch_cents', { amount: '10.5' }),
      chargeOf('ch_currency', { currency: 'xx' }),
      chargeOf('ch_created', { created: 'yesterday' }),
    ]);
    const parcel = (tracking: string, extra: Record<string, unknown>) => ({
      tracking_number: tracking, carrier: 'UPS', shipped_at: '2024-03-02T09:00:00Z', delivered_at: '2024-03-04T15:00:00Z', estimated_delivery_at: '2024-03-05', shipping_cost: '7.50', currency: 'USD', ...extra,
    });
    await landRecords(wh.pool, 'shipments', 'shipments', [
      // A promised day ahead of the run is normal; a day alone is a calendar date.
      parcel('T-ok', { delivered_at: null, estimated_delivery_at: '2024-03-10', shipped_at: '2024-03-05' }),
      parcel('T-cost', { shipping_cost: 'NaN' }),
      parcel('T-tomorrow', { delivered_at: 'tomorrow' }),
      parcel('T-future', { delivered_at: '2024-03-09T10:00:00Z' }),
    ]);
    const gads = (campaign: number, metrics: Record<string, unknown>) => ({
      customer: { id: 111, currency_code: 'USD', time_zone: 'UTC' }, campaign: { id: campaign, name: `c${campaign}` }, segments: { date: '2024-03-01' },
      metrics: { cost_micros: 12500000, clicks: 10, impressions: 100, conversions: 2, conversions_value: 20, ...metrics },
    });
    await landRecords(wh.pool, 'google_ads', 'campaign_daily', [gads(1, {}), gads(2, { cost_micros: 'NaN' })]);
    const meta = (campaign: string, extra: Record<string, unknown>) => ({
      account_id: '222', account_currency: 'USD', campaign_id: campaign, campaign_name: campaign, date_start: '2024-03-02', date_stop: '2024-03-02',
      spend: '20.00', impressions: '1000', reach: '800', clicks: '40', actions: [{ action_type: 'omni_purchase', value: '3' }], action_values: [{ action_type: 'omni_purchase', value: '30.00' }], ...extra,
    });
    await landRecords(wh.pool, 'meta_ads', 'campaign_insights_daily', [
      meta('m-ok', {}),
      meta('m-spend', { spend: '-3.00' }),
      meta('m-action', { action_values: [{ action_type: 'omni_purchase', value: 'abc' }, { action_type: 'purchase', value: 'never read' }] }),
    ]);
    const ga4 = (source: string, extra: Record<string, unknown>) => ({
      property_id: '42', date: '20240301', sessionDefaultChannelGroup: 'x', sessionSource: source, sessionMedium: 'cpc', sessionCampaignName: '(not set)', deviceCategory: 'mobile',
      sessions: '100', totalUsers: '80', newUsers: '10', addToCarts: '5', checkouts: '3', ecommercePurchases: '1', purchaseRevenue: '50.00', property_currency_code: 'USD', ...extra,
    });
    // GA4's purchase revenue is net of refunds: a negative day is a value, not an error.
    await landRecords(wh.pool, 'ga4', 'traffic_daily', [ga4('google', { purchaseRevenue: '-5.00' }), ga4('bing', { sessions: '1.5' })]);

    const result = await runModels(wh.db, config, { models, now: NOW });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    const stored = await rows(`select source, stream, key, reason from ops.set_aside order by source, stream, key`);
    expect(stored).toEqual([
      { source: 'ga4', stream: 'traffic_daily', key: expect.stringContaining('bing'), reason: 'sessions "1.5" is not a whole number' },
      { source: 'google_ads', stream: 'campaign_daily', key: expect.stringContaining('2'), reason: 'metrics.cost_micros "NaN" is not a whole number' },
      { source: 'meta_ads', stream: 'campaign_insights_daily', key: expect.stringContaining('m-action'), reason: 'action_values[0].value "abc" is not a decimal amount' },
      { source: 'meta_ads', stream: 'campaign_insights_daily', key: expect.stringContaining('m-spend'), reason: 'spend "-3.00" is negative' },
      { source: 'shipments', stream: 'shipments', key: 'T-cost', reason: 'shipping_cost "NaN" is not a decimal amount' },
      { source: 'shipments', stream: 'shipments', key: 'T-future', reason: 'delivered_at "2024-03-09T10:00:00Z" is dated after 2024-03-06, in the future' },
      { source: 'shipments', stream: 'shipments', key: 'T-tomorrow', reason: 'delivered_at "tomorrow" is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)' },
      { source: 'stripe', stream: 'charges', key: 'ch_cents', reason: 'amount "10.5" is not a whole number' },
      { source: 'stripe', stream: 'charges', key: 'ch_created', reason: 'created "yesterday" is not a Unix time in seconds' },
      { source: 'stripe', stream: 'charges', key: 'ch_currency', reason: 'currency "xx" is not an ISO 4217 currency code' },
    ]);
    expect(await rows(`select charge_id, amount::float8 from core.payments`)).toEqual([{ charge_id: 'ch_ok', amount: 10 }]);
    expect(await rows(`select shipment_key, shipped_date::text, promised_date::text from core.shipments`)).toEqual([{ shipment_key: 'T-ok', shipped_date: '2024-03-05', promised_date: '2024-03-10' }]);
    expect(await rows(`select platform, campaign_id, spend::float8, platform_conversion_value::float8 from core.spend order by platform`)).toEqual([
      { platform: 'google_ads', campaign_id: '1', spend: 12.5, platform_conversion_value: 20 },
      { platform: 'meta_ads', campaign_id: 'm-ok', spend: 20, platform_conversion_value: 30 },
    ]);
    expect(await rows(`select source, sessions::int, purchase_revenue::float8 from core.traffic`)).toEqual([{ source: 'google', sessions: 100, purchase_revenue: -5 }]);
  });
});
