import type pg from 'pg';
import { landRecords } from '../../support/land.ts';

/**
 * A small hand-made shop, in the record shapes of docs/streams.md, whose metric values the tests
 * work out by hand. Reporting time zone UTC, currency USD, churn after 35 days.
 *
 * Counted orders (customer, channel):
 *   O20 Thu 2023-03-09 10:00  C20    40.00  direct         (C20's 1st, never again; paid by bank transfer)
 *   O21 Fri 2023-03-10 10:00  C21    70.00  direct         (C21's 1st, never again; paid by bank transfer)
 *   O1  Wed 2024-01-10 10:00  C1    100.00  google_ads     (C1's 1st)
 *   O2  Sat 2024-01-20 12:00  C2     50.00  organic_search (C2's 1st; refunded 10.00 on 2024-02-05)
 *   O5  Thu 2024-01-25 15:00  C3     60.00  meta_ads       (C3's 1st)
 *   O4  Thu 2024-02-15 09:00  C1     80.00  direct         (C1's 2nd month)
 *   O13 Sun 2024-02-25 10:00  C8     25.00  direct         (C8's 1st, never again)
 *   O6  Mon 2024-03-04 10:00  C1    120.00  google_ads     (C1's 3rd month; refunded 30.00 on 2024-03-08)
 *   O7  Mon 2024-03-04 14:00  C4     40.00  meta_ads       (C4's 1st)
 *   O8  Tue 2024-03-05 11:00  guest  49.99 EUR = 49.99 × 1.08375 = 54.1766625 USD (the rate of 5 March), referral, paid by PayPal
 *   O9  Tue 2024-03-05 16:00  C3     30.00  email
 *   O11 Thu 2024-03-07 10:00  C4     20.00  direct
 *   O12 Fri 2024-03-08 12:00  C6     90.00  google_ads     (C6's 1st; only a pending charge)
 * Not counted: O3 (test order, 2024-01-20), O10 (cancelled, 2024-03-06, fully refunded).
 * Wednesday 2024-03-06 has no counted order but traffic, spend, charges and a delivery.
 * O20 and O21 sit one year before the last order date, 8 March 2024: O20 on as-of − 365
 * (just outside its 365-day window), O21 on as-of − 364 (just inside), with Google Ads spend on
 * each of the two days (7.00, then 11.00).
 */

export const CONFIG = { reportingTimezone: 'UTC', reportingCurrency: 'USD', churnAfterDays: 35 } as const;

interface OrderSpec {
  id: number;
  at: string;
  total: string;
  currency?: string;
  customer?: number;
  email?: string;
  landing?: string;
  referrer?: string;
  gateways?: string[];
  test?: boolean;
  cancelledAt?: string;
  refunds?: { id: number; at: string; transactions: { id: number; status: string; amount: string }[] }[];
}

function order(spec: OrderSpec): Record<string, unknown> {
  const currency = spec.currency ?? 'USD';
  return {
    id: spec.id,
    name: `#${1000 + spec.id}`,
    created_at: spec.at,
    updated_at: spec.at,
    cancelled_at: spec.cancelledAt ?? null,
    test: spec.test ?? false,
    currency,
    total_price: spec.total,
    subtotal_price: spec.total,
    total_discounts: '0.00',
    total_tax: '0.00',
    total_shipping_price_set: { shop_money: { amount: '0.00', currency_code: currency } },
    customer: spec.customer ? { id: spec.customer, email: `c${spec.customer}@shop.test` } : null,
    email: spec.email ?? (spec.customer ? `c${spec.customer}@shop.test` : null),
    line_items: [{ id: spec.id * 10, product_id: 1, variant_id: 11, sku: 'MUG', title: 'Mug', quantity: 1, price: spec.total, total_discount: '0.00' }],
    refunds: (spec.refunds ?? []).map((r) => ({
      id: r.id,
      created_at: r.at,
      transactions: r.transactions.map((t) => ({ id: t.id, kind: 'refund', status: t.status, amount: t.amount, currency })),
    })),
    payment_gateway_names: spec.gateways ?? ['stripe'],
    landing_site: spec.landing ?? null,
    referring_site: spec.referrer ?? null,
    shipping_address: { country_code: 'FR' },
  };
}

const GOOGLE_CPC = '/?utm_source=google&utm_medium=cpc&utm_campaign=brand';

export const orders = [
  order({ id: 20, at: '2023-03-09T10:00:00Z', total: '40.00', customer: 20, gateways: ['bank_transfer'] }),
  order({ id: 21, at: '2023-03-10T10:00:00Z', total: '70.00', customer: 21, gateways: ['bank_transfer'] }),
  order({ id: 1, at: '2024-01-10T10:00:00Z', total: '100.00', customer: 1, landing: GOOGLE_CPC }),
  order({
    id: 2, at: '2024-01-20T12:00:00Z', total: '50.00', customer: 2, referrer: 'https://www.google.com/',
    refunds: [{ id: 201, at: '2024-02-05T09:00:00Z', transactions: [{ id: 2011, status: 'success', amount: '10.00' }] }],
  }),
  order({ id: 3, at: '2024-01-20T13:00:00Z', total: '999.00', customer: 5, test: true }),
  order({ id: 5, at: '2024-01-25T15:00:00Z', total: '60.00', customer: 3, landing: '/?utm_source=facebook&utm_medium=paid_social' }),
  order({ id: 4, at: '2024-02-15T09:00:00Z', total: '80.00', customer: 1 }),
  order({ id: 13, at: '2024-02-25T10:00:00Z', total: '25.00', customer: 8 }),
  order({
    id: 6, at: '2024-03-04T10:00:00Z', total: '120.00', customer: 1, landing: GOOGLE_CPC,
    refunds: [{ id: 601, at: '2024-03-08T09:00:00Z', transactions: [{ id: 6011, status: 'success', amount: '30.00' }, { id: 6012, status: 'failure', amount: '10.00' }] }],
  }),
  order({ id: 7, at: '2024-03-04T14:00:00Z', total: '40.00', customer: 4, landing: '/?utm_source=facebook&utm_medium=paid' }),
  order({ id: 8, at: '2024-03-05T11:00:00Z', total: '49.99', currency: 'EUR', email: ' Guest@Shop.test ', referrer: 'https://blog.example.org/post', gateways: ['paypal'] }),
  order({ id: 9, at: '2024-03-05T16:00:00Z', total: '30.00', customer: 3, landing: '/?utm_source=newsletter&utm_medium=email' }),
  order({
    id: 10, at: '2024-03-06T09:00:00Z', total: '70.00', customer: 2, cancelledAt: '2024-03-06T10:00:00Z',
    refunds: [{ id: 1001, at: '2024-03-06T10:00:00Z', transactions: [{ id: 10011, status: 'success', amount: '70.00' }] }],
  }),
  order({ id: 11, at: '2024-03-07T10:00:00Z', total: '20.00', customer: 4 }),
  order({ id: 12, at: '2024-03-08T12:00:00Z', total: '90.00', customer: 6, landing: GOOGLE_CPC }),
];

const epoch = (iso: string) => Date.parse(iso) / 1000;

function charge(id: string, at: string, status: string, amount: number, captured: number, refunded: number, metadata: Record<string, string>, intent?: string) {
  return {
    id, object: 'charge', amount, amount_captured: captured, amount_refunded: refunded, currency: 'usd', created: epoch(at), status,
    payment_intent: intent ?? `pi_${id}`, metadata, outcome: { type: status === 'succeeded' ? 'authorized' : 'issuer_declined' },
  };
}

export const charges = [
  charge('ch_1', '2024-01-10T10:01:00Z', 'succeeded', 10000, 10000, 0, { order_id: '1' }),
  charge('ch_2', '2024-01-20T12:01:00Z', 'succeeded', 5000, 5000, 1000, { order_id: '#1002' }),
  charge('ch_5', '2024-01-25T15:01:00Z', 'succeeded', 6000, 6000, 0, { order_id: '5' }),
  charge('ch_4', '2024-02-15T09:01:00Z', 'succeeded', 8000, 8000, 0, { order_id: '4' }),
  charge('ch_13', '2024-02-25T10:01:00Z', 'succeeded', 2500, 2500, 0, { order_id: '13' }),
  // A decline, then a success on the same payment intent without metadata.
  charge('ch_6a', '2024-03-04T10:01:00Z', 'failed', 12000, 0, 0, { order_id: '6' }, 'pi_6'),
  charge('ch_6b', '2024-03-04T10:02:00Z', 'succeeded', 12000, 12000, 3000, {}, 'pi_6'),
  charge('ch_7', '2024-03-04T14:01:00Z', 'succeeded', 4000, 4000, 0, { order_id: '7' }),
  charge('ch_9', '2024-03-05T16:01:00Z', 'succeeded', 3000, 3000, 0, { order_id: '9' }),
  charge('ch_10', '2024-03-06T09:01:00Z', 'succeeded', 7000, 7000, 7000, { order_id: '10' }),
  charge('ch_x', '2024-03-06T12:00:00Z', 'succeeded', 1500, 1500, 0, {}),
  charge('ch_f', '2024-03-06T13:00:00Z', 'failed', 2500, 0, 0, {}),
  charge('ch_11', '2024-03-07T10:01:00Z', 'succeeded', 2000, 2000, 0, { order_id: '11' }),
  charge('ch_12', '2024-03-08T12:01:00Z', 'pending', 9000, 0, 0, { order_id: '12' }),
];

function ga4(date: string, source: string, medium: string, sessions: number, users: number, carts: number, checkouts: number, purchases: number, revenue: string, currency?: string) {
  return {
    property_id: '42',
    ...(currency ? { property_currency_code: currency } : {}), date: date.replace(/-/g, ''), sessionDefaultChannelGroup: 'x', sessionSource: source, sessionMedium: medium,
    sessionCampaignName: '(not set)', deviceCategory: 'desktop', sessions: String(sessions), totalUsers: String(users), newUsers: '1',
    addToCarts: String(carts), checkouts: String(checkouts), ecommercePurchases: String(purchases), purchaseRevenue: revenue,
  };
}

export const ga4Rows = [
  ga4('2024-03-04', 'google', 'cpc', 100, 90, 20, 10, 2, '160.00'),
  ga4('2024-03-04', '(direct)', '(none)', 50, 45, 5, 2, 0, '0'),
  // Reported by a property in euros: 80.00 EUR × 1.08375 = 86.70 USD.
  ga4('2024-03-05', 'google', 'organic', 80, 70, 10, 5, 2, '80.00', 'EUR'),
  ga4('2024-03-06', '(direct)', '(none)', 40, 40, 4, 0, 0, '0'),
  ga4('2024-03-07', 'facebook', 'paid_social', 60, 55, 6, 3, 1, '20.00'),
  ga4('2024-03-08', 'google', 'cpc', 90, 80, 9, 4, 1, '90.00'),
  ga4('2024-03-09', '(direct)', '(none)', 30, 30, 0, 0, 0, '0'),
  ga4('2024-03-10', 'google', 'organic', 20, 18, 2, 1, 0, '0'),
];

function googleAds(date: string, costMicros: number, clicks: number, impressions: number, conversions: number, value: number) {
  return {
    customer: { id: 111, currency_code: 'USD', time_zone: 'UTC' }, campaign: { id: 9, name: 'brand' }, segments: { date },
    metrics: { cost_micros: costMicros, clicks, impressions, conversions, conversions_value: value },
  };
}

function meta(date: string, spend: string, clicks: number, impressions: number, purchases: number, value: string) {
  return {
    account_id: '222', account_currency: 'USD', campaign_id: '33', campaign_name: 'spring', date_start: date, date_stop: date,
    spend, impressions: String(impressions), reach: String(impressions), clicks: String(clicks),
    // Meta reports one purchase under several overlapping action types: only `purchase` counts.
    actions: [{ action_type: 'link_click', value: String(clicks) }, { action_type: 'purchase', value: String(purchases) }, { action_type: 'omni_purchase', value: String(purchases) }],
    action_values: [{ action_type: 'purchase', value }, { action_type: 'omni_purchase', value }],
  };
}

export const googleAdsRows = [
  // A year before: 2023-03-09 is 365 days before 2024-03-08, 2023-03-10 is 364 days before.
  googleAds('2023-03-09', 7_000_000, 3, 50, 0, 0),
  googleAds('2023-03-10', 11_000_000, 4, 80, 0, 0),
  googleAds('2024-03-04', 30_000_000, 15, 300, 2, 240),
  googleAds('2024-03-06', 25_000_000, 10, 200, 1, 100),
  googleAds('2024-03-08', 40_000_000, 20, 400, 1.5, 150),
];
export const metaRows = [meta('2024-03-04', '20.00', 25, 1000, 1, '50.00'), meta('2024-03-07', '15.00', 12, 600, 1, '40.00')];

function shipment(tracking: string, orderRef: string, shipped: string, estimated: string | null, delivered: string | null, returned: string | null, cost: number) {
  return {
    order_id: orderRef, tracking_number: tracking, carrier: 'UPS', service: 'ground', shipped_at: shipped, estimated_delivery_at: estimated,
    delivered_at: delivered, returned_at: returned, status: returned ? 'returned' : delivered ? 'delivered' : 'in_transit', shipping_cost: cost, currency: 'USD',
  };
}

export const shipments = [
  shipment('T1', '1', '2024-01-11T08:00:00Z', '2024-01-14', '2024-01-13T10:00:00Z', null, 5),
  shipment('T6', '6', '2024-03-05T08:00:00Z', '2024-03-07', '2024-03-06T16:00:00Z', null, 8),
  shipment('T7', '#1007', '2024-03-05T09:00:00Z', '2024-03-06', '2024-03-08T14:00:00Z', null, 6),
  shipment('T8', '8', '2024-03-06T10:00:00Z', null, '2024-03-08T10:00:00Z', null, 7.5),
  shipment('T9', '9', '2024-03-06T11:00:00Z', '2024-03-09', '2024-03-09T09:00:00Z', '2024-03-10T12:00:00Z', 4),
  shipment('T9B', '9', '2024-03-06T11:30:00Z', null, null, null, 3),
  // O7's second parcel, two days after its first (T7), in the same ISO week.
  shipment('T7B', '7', '2024-03-07T15:00:00Z', null, null, null, 2),
  // A parcel of the cancelled O10: shipped, delivered and returned, and left out of every metric.
  shipment('T10', '10', '2024-03-06T12:00:00Z', '2024-03-08', '2024-03-07T12:00:00Z', '2024-03-09T12:00:00Z', 9),
  // A parcel whose order the shop does not know (no order 999): matched to no order, it is left out of every fulfilment metric,
  // and the metrics refresh warns about it.
  shipment('TX', '999', '2024-03-07T09:00:00Z', '2024-03-09', '2024-03-09T15:00:00Z', null, 3.5),
];

// More decimals than any currency has: a conversion rounded before it is summed shows.
export const fxRates = [{ date: '2024-03-05', base: 'EUR', quote: 'USD', rate: 1.08375 }];

/** Lands the whole shop through the real loader, as the extractors would. */
export async function landShop(pool: pg.Pool): Promise<void> {
  await landRecords(pool, 'fx', 'rates', fxRates);
  await landRecords(pool, 'shopify', 'orders', orders);
  await landRecords(pool, 'stripe', 'charges', charges);
  await landRecords(pool, 'ga4', 'traffic_daily', ga4Rows);
  await landRecords(pool, 'google_ads', 'campaign_daily', googleAdsRows);
  await landRecords(pool, 'meta_ads', 'campaign_insights_daily', metaRows);
  await landRecords(pool, 'shipments', 'shipments', shipments);
}
