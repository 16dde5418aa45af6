import type pg from 'pg';
import { landRecords } from '../support/land.ts';
/**
 * A small hand-made shop, in the API shapes of docs/streams.md, whose core rows are worked out by
 * hand in the tests. Reporting currency USD; FX from EUR-based (ECB-style) rates:
 *   Fri 2024-03-01: 1 EUR = 1.10 USD, 1 EUR = 0.80 GBP  → 1 GBP = 1.375 USD
 *   Sat/Sun 03-02, 03-03: no rates (carried from Friday)
 *   Mon 2024-03-04: 1 EUR = 1.20 USD, 1 EUR = 0.90 GBP  → 1 GBP = 1.3333… USD
 *                   1 USD = 150 JPY (only the opposite pair) → 1 JPY = 1/150 USD
 *                   1 KWD = 3.25 USD
 */
export const fxRates = [
  { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.1 },
  { date: '2024-03-01', base: 'EUR', quote: 'GBP', rate: 0.8 },
  { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.2 },
  { date: '2024-03-04', base: 'EUR', quote: 'GBP', rate: 0.9 },
  { date: '2024-03-04', base: 'USD', quote: 'JPY', rate: 150 },
  { date: '2024-03-04', base: 'KWD', quote: 'USD', rate: 3.25 },
];

interface LineSpec {
  quantity: number;
  price: string;
  total_discount: string;
}

interface OrderSpec {
  id: number;
  created_at: string;
  currency?: string;
  total: string;
  /** Default: the total, with no discount, tax or shipping. */
  subtotal?: string;
  discounts?: string;
  tax?: string;
  shipping?: string;
  /** The one line item (default: 1 × the total, no discount). */
  line?: LineSpec;
  customer?: number | null;
  email?: string | null;
  landing_site?: string | null;
  referring_site?: string | null;
  cancelled_at?: string | null;
  test?: boolean;
  refunds?: unknown[];
  gateways?: string[];
}

export function order(spec: OrderSpec): Record<string, unknown> {
  const currency = spec.currency ?? 'USD';
  return {
    id: spec.id,
    name: `#${1000 + spec.id}`,
    created_at: spec.created_at,
    updated_at: spec.created_at,
    cancelled_at: spec.cancelled_at ?? null,
    test: spec.test ?? false,
    currency,
    total_price: spec.total,
    subtotal_price: spec.subtotal ?? spec.total,
    total_discounts: spec.discounts ?? '0.00',
    total_tax: spec.tax ?? '0.00',
    total_shipping_price_set: { shop_money: { amount: spec.shipping ?? '0.00', currency_code: currency } },
    customer: spec.customer ? { id: spec.customer, email: `c${spec.customer}@example.com` } : null,
    email: spec.email !== undefined ? spec.email : spec.customer ? `c${spec.customer}@example.com` : null,
    line_items: [{ id: spec.id * 10, product_id: 7, variant_id: 70, sku: 'SKU-7', title: 'Mug', ...(spec.line ?? { quantity: 1, price: spec.total, total_discount: '0.00' }) }],
    refunds: spec.refunds ?? [],
    payment_gateway_names: spec.gateways ?? ['stripe'],
    landing_site: spec.landing_site ?? null,
    referring_site: spec.referring_site ?? null,
    shipping_address: { country_code: 'FR' },
  };
}

export const orders = [
  // Every money field different: 2 × 45 − 10 discount = 80 subtotal; + 15 tax + 5 shipping = 100.
  order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '100.00', subtotal: '80.00', discounts: '10.00', tax: '15.00', shipping: '5.00',
    line: { quantity: 2, price: '45.00', total_discount: '10.00' }, customer: 1, landing_site: '/?utm_source=google&utm_medium=cpc&utm_campaign=brand',
    refunds: [{ id: 501, created_at: '2024-03-04T08:00:00Z', transactions: [
      { id: 601, kind: 'refund', status: 'success', amount: '25.00', currency: 'USD' },
      { id: 602, kind: 'refund', status: 'failure', amount: '5.00', currency: 'USD' },
      // A void succeeds, but is no refund: left out.
      { id: 604, kind: 'void', status: 'success', amount: '7.00', currency: 'USD' },
    ] }] }),
  // 23:30 UTC on 1 March: 2 March in Paris, still 1 March in New York. 45 − 3 = 42; + 6 tax + 2 shipping = 50.
  order({ id: 2, created_at: '2024-03-01T23:30:00Z', currency: 'EUR', total: '50.00', subtotal: '42.00', discounts: '3.00', tax: '6.00', shipping: '2.00',
    line: { quantity: 1, price: '45.00', total_discount: '3.00' }, customer: 2, landing_site: '/products/mug?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring%20sale',
    refunds: [{ id: 502, created_at: '2024-03-04T15:00:00Z', transactions: [{ id: 603, kind: 'refund', status: 'success', amount: '10.00', currency: 'EUR' }] }] }),
  order({ id: 3, created_at: '2024-03-02T12:00:00Z', currency: 'GBP', total: '80.00', customer: null, email: '  Guest@Example.com ', referring_site: 'https://www.google.com/' }),
  order({ id: 4, created_at: '2024-03-04T09:00:00Z', total: '20.00', customer: null, email: 'guest@example.com', referring_site: 'https://blog.example.org/post' }),
  order({ id: 5, created_at: '2024-03-02T09:00:00Z', total: '30.00', customer: 1, cancelled_at: '2024-03-02T10:00:00Z' }),
  order({ id: 6, created_at: '2024-03-02T09:30:00Z', total: '40.00', customer: 3, test: true }),
  order({ id: 7, created_at: '2024-03-04T12:00:00Z', currency: 'EUR', total: '10.00', customer: 1, landing_site: '/?utm_source=newsletter&utm_medium=email' }),
  order({ id: 8, created_at: '2024-03-04T13:00:00Z', total: '60.00', customer: null, email: null, landing_site: '/?utm_source=partner' }),
  order({ id: 9, created_at: '2024-03-04T14:00:00Z', total: '25.00', customer: 4 }),
  order({ id: 10, created_at: '2024-03-04T16:00:00Z', total: '45.00', customer: 5, landing_site: '/?utm_source=Google&utm_medium=CPC' }),
  order({ id: 11, created_at: '2024-03-04T22:30:00Z', total: '15.00', customer: 2, gateways: ['paypal'] }),
  // A GBP order refunded in EUR (a refund transaction in another currency than its order's).
  order({ id: 12, created_at: '2024-03-04T10:00:00Z', currency: 'GBP', total: '100.00', customer: 6, landing_site: '/?utm_source=bing&utm_medium=organic',
    refunds: [{ id: 503, created_at: '2024-03-04T16:00:00Z', transactions: [{ id: 605, kind: 'refund', status: 'success', amount: '9.00', currency: 'EUR' }] }] }),
  // A referrer without a scheme; UTM parameters in capitals, separated by &amp;.
  order({ id: 13, created_at: '2024-03-04T11:00:00Z', total: '35.00', customer: 7, referring_site: 'www.bing.com/search?q=mug' }),
  order({ id: 14, created_at: '2024-03-04T11:30:00Z', total: '12.00', customer: 8, landing_site: '/?UTM_SOURCE=Newsletter&amp;UTM_MEDIUM=Email&amp;utm_campaign=march' }),
];

export const charges = [
  { id: 'ch_1', object: 'charge', amount: 10000, amount_captured: 10000, amount_refunded: 2500, currency: 'usd', created: 1709287260, status: 'succeeded', payment_intent: 'pi_1', metadata: { order_id: '1' } },
  // A decline then a success on the same payment intent; only the first carries the order name.
  { id: 'ch_2', object: 'charge', amount: 5000, amount_captured: 0, amount_refunded: 0, currency: 'eur', created: 1709335860, status: 'failed', failure_code: 'card_declined', payment_intent: 'pi_2', metadata: { order_id: '#1002' } },
  { id: 'ch_3', object: 'charge', amount: 5000, amount_captured: 5000, amount_refunded: 1000, currency: 'eur', created: 1709335920, status: 'succeeded', payment_intent: 'pi_2', metadata: {} },
  { id: 'ch_4', object: 'charge', amount: 1999, amount_captured: 1999, amount_refunded: 0, currency: 'usd', created: 1709550000, status: 'succeeded', payment_intent: 'pi_4', metadata: {} },
  // Zero-decimal and three-decimal currencies, both on 2024-03-04 12:00 UTC: 1500 yen; 12.345 dinars.
  { id: 'ch_5', object: 'charge', amount: 1500, amount_captured: 1500, amount_refunded: 300, currency: 'jpy', created: 1709553600, status: 'succeeded', payment_intent: 'pi_5', metadata: {} },
  { id: 'ch_6', object: 'charge', amount: 12345, amount_captured: 12345, amount_refunded: 0, currency: 'kwd', created: 1709553660, status: 'succeeded', payment_intent: 'pi_6', metadata: {} },
];

export const googleAdsRows = [
  { customer: { id: 111, currency_code: 'USD', time_zone: 'Europe/Paris' }, campaign: { id: 9, name: 'brand' }, segments: { date: '2024-03-01' },
    metrics: { cost_micros: 12500000, clicks: 10, impressions: 100, conversions: 2.5, conversions_value: 250 } },
];

export const metaRows = [
  { account_id: '222', account_currency: 'EUR', campaign_id: '33', campaign_name: 'spring', date_start: '2024-03-02', date_stop: '2024-03-02',
    spend: '20.00', impressions: '1000', reach: '800', clicks: '40',
    actions: [{ action_type: 'link_click', value: '40' }, { action_type: 'purchase', value: '3' }, { action_type: 'omni_purchase', value: '3' }],
    action_values: [{ action_type: 'purchase', value: '300.00' }, { action_type: 'omni_purchase', value: '300.00' }] },
];

const ga4 = (date: string, source: string, medium: string, sessions: string, users: string, revenue: string, currency?: string) => ({
  property_id: '42', date, sessionDefaultChannelGroup: 'x', sessionSource: source, sessionMedium: medium,
  sessionCampaignName: '(not set)', deviceCategory: 'mobile', sessions, totalUsers: users, newUsers: '1', addToCarts: '5',
  checkouts: '3', ecommercePurchases: '1', purchaseRevenue: revenue, ...(currency ? { property_currency_code: currency } : {}),
});
/** The second row says no currency (an imported file): it takes the ga4 source's `currency`, else the reporting one. */
export const ga4Rows = [
  ga4('20240301', 'google', 'cpc', '100', '80', '100.5', 'USD'),
  ga4('20240301', '(direct)', '(none)', '50', '45', '12.5'),
  ga4('20240302', 'google', 'organic', '30', '25', '20.00', 'EUR'),
];

export const shipments = [
  { order_id: '1', tracking_number: 'T1', carrier: 'UPS', service: 'ground', shipped_at: '2024-03-01T15:00:00Z', estimated_delivery_at: '2024-03-04',
    delivered_at: '2024-03-03T10:00:00Z', returned_at: null, status: 'delivered', shipping_cost: 5, currency: 'USD' },
  { order_id: '#1002', tracking_number: 'T2', carrier: 'DHL', service: 'express', shipped_at: '2024-03-02T10:00:00Z', estimated_delivery_at: '2024-03-04T18:00:00Z',
    delivered_at: '2024-03-05T09:00:00Z', returned_at: null, status: 'delivered', shipping_cost: 7.5, currency: 'EUR' },
  // No shipped date and no promise: the cost is converted on the order's date; on time is unknown.
  { order_id: '3', tracking_number: 'T3', carrier: 'Royal Mail', service: 'tracked', shipped_at: null, estimated_delivery_at: null,
    delivered_at: '2024-03-05T12:00:00Z', returned_at: null, status: 'delivered', shipping_cost: 4, currency: 'GBP' },
  // No shipped date and no known order: converted on the delivered date.
  { order_id: 'unknown-99', tracking_number: 'T4', carrier: 'DHL', service: 'express', shipped_at: null, estimated_delivery_at: '2024-03-06',
    delivered_at: '2024-03-04T09:00:00Z', returned_at: null, status: 'delivered', shipping_cost: 6, currency: 'EUR' },
];

/**
 * Lands the hand-made shop, stream by stream, through the real loader; `extra` adds records to a
 * stream (`fx.rates`, `shopify.orders`, `stripe.charges`) or lands another (`shopify.products`).
 */
export async function landCoreShop(pool: pg.Pool, extra: Partial<Record<'fx.rates' | 'shopify.orders' | 'stripe.charges' | 'shopify.products', Record<string, unknown>[]>> = {}): Promise<void> {
  await landRecords(pool, 'fx', 'rates', [...fxRates, ...(extra['fx.rates'] ?? [])]);
  await landRecords(pool, 'shopify', 'orders', [...orders, ...(extra['shopify.orders'] ?? [])]);
  if (extra['shopify.products']) await landRecords(pool, 'shopify', 'products', extra['shopify.products']);
  await landRecords(pool, 'stripe', 'charges', [...charges, ...(extra['stripe.charges'] ?? [])]);
  await landRecords(pool, 'google_ads', 'campaign_daily', googleAdsRows);
  await landRecords(pool, 'meta_ads', 'campaign_insights_daily', metaRows);
  await landRecords(pool, 'ga4', 'traffic_daily', ga4Rows);
  await landRecords(pool, 'shipments', 'shipments', shipments);
}

