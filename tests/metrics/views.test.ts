import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { datesBetween, expectRow, type Expected } from './support/expect-rows.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * Acceptance 1: the hand-made shop of support/shop.ts goes through the real loader, the real
 * transforms and the metrics refresh; every column of every view of docs/metrics.md is compared
 * with values worked out by hand below (see the order list in support/shop.ts).
 */

let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_views');
  await landShop(wh.pool);
  const config = configSchema.parse(CONFIG);
  const transformed = await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') });
  expect(transformed.error).toBeUndefined();
  // Refreshed on 12 March 2024: yesterday is the 11th, the last day of data the 10th.
  const refreshed = await refreshMetrics(wh, config, undefined, { now: new Date('2024-03-12T12:00:00Z') });
  expect(refreshed.error).toBeUndefined();
  expect(refreshed.status).toBe('succeeded');
});
afterAll(async () => wh?.close());

async function rows(query: string): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(query)).rows;
}

/** O8 in USD, unrounded: 49.99 EUR × 1.08375 = 50 × 1.08375 − 0.01 × 1.08375 = 54.1875 − 0.0108375. */
const O8 = 54.1766625;

/** The Mondays of the ISO weeks from `from` (a Monday) to `to`. */
const mondays = (from: string, to: string) => datesBetween(from, to).filter((_, i) => i % 7 === 0);

/** The first days of the months from `from` to `to` (both first days). */
const monthStarts = (from: string, to: string) => datesBetween(from, to).filter((d) => d.endsWith('-01'));

/** A kpi row with nothing in it: additive parts 0, every ratio NULL (no denominator). */
const KPI_ZERO: Record<string, Expected> = {
  orders: 0, revenue: 0, refunds: 0, net_revenue: 0, aov: null, refund_rate: null,
  customers: 0, new_customers: 0, returning_customers: 0, new_customer_revenue: 0,
  sessions: 0, users: 0, add_to_carts: 0, checkouts: 0, ga4_purchases: 0, ga4_purchase_revenue: 0,
  conversion_rate: null, revenue_per_session: null, cart_abandonment_rate: null, checkout_abandonment_rate: null,
  ad_spend: 0, ad_clicks: 0, ad_impressions: 0, cac: null, mer: null, nc_roas: null,
  payment_attempts: 0, payments_succeeded: 0, payment_acceptance_rate: null,
  shipments_delivered: 0, shipments_on_time: 0, shipments_delivered_with_promise: 0, on_time_delivery_rate: null,
  delivery_days_total: 0, avg_delivery_days: null, shipping_cost: 0, orders_shipped: 0, logistics_cost_per_order: null,
  returns: 0, return_rate: null,
};

/**
 * The profit columns of a kpi row of this shop, from the row's other values: each order is one
 * line priced at the order's total (no tax, discount or shipping in it) of a variant with no cost
 * anywhere (no products, no costs file), and the shop has no Stripe balance transactions. So
 * product sales are the revenue, none of it costed (coverage 0, gross margin 1), and
 * contribution profit is net revenue less shipping and ad spend.
 */
function withProfit(e: Record<string, Expected>): Record<string, Expected> {
  const n = (k: string) => (e[k] ?? 0) as number;
  const sales = n('revenue');
  const net = n('net_revenue');
  const contribution = net - n('shipping_cost') - n('ad_spend');
  return {
    ...e, tax: 0, refunded_tax: 0, net_tax: 0, net_revenue_ex_tax: net,
    product_sales: sales, cogs: 0, product_sales_costed: 0, cogs_coverage: sales ? 0 : null, gross_profit: sales, gross_margin: sales ? 1 : null,
    payment_fees: 0, payouts: 0, contribution_profit: contribution, contribution_margin: net ? contribution / net : null,
    // No stock snapshot at all: NULL every day, week and month.
    variants_out_of_stock: null,
  };
}

/** The days that hold something, worked out from the shop by hand. */
const DAILY: Record<string, Record<string, Expected>> = {
  // O20 (C20's first, 40.00, not paid through Stripe) and 7.00 of Google Ads: CAC 7 / 1, MER and nc-ROAS 40 / 7.
  '2023-03-09': {
    orders: 1, revenue: 40, net_revenue: 40, aov: 40, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 40,
    ad_spend: 7, ad_clicks: 3, ad_impressions: 50, cac: 7, mer: 40 / 7, nc_roas: 40 / 7,
  },
  // O21 (C21's first, 70.00) and 11.00 of Google Ads.
  '2023-03-10': {
    orders: 1, revenue: 70, net_revenue: 70, aov: 70, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 70,
    ad_spend: 11, ad_clicks: 4, ad_impressions: 80, cac: 11, mer: 70 / 11, nc_roas: 70 / 11,
  },
  // From 11 March 2023 to 9 January 2024 nothing happens: rows of zeros.
  // O1 (C1's first order, 100.00), paid by ch_1. No spend: CAC 0 / 1 = 0, MER has no denominator.
  '2024-01-10': { orders: 1, revenue: 100, net_revenue: 100, aov: 100, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 100, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
  // T1 shipped (5.00): a day with no order at all, only a shipping cost.
  '2024-01-11': { shipping_cost: 5, orders_shipped: 1, logistics_cost_per_order: 5 },
  // T1 delivered before its promise (14th), 3 days after O1 was placed.
  '2024-01-13': {
    shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, on_time_delivery_rate: 1, delivery_days_total: 3,
    avg_delivery_days: 3, return_rate: 0,
  },
  // O2 (C2's first, 50.00); the test order O3 of the same day counts nowhere.
  '2024-01-20': { orders: 1, revenue: 50, net_revenue: 50, aov: 50, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 50, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
  '2024-01-25': { orders: 1, revenue: 60, net_revenue: 60, aov: 60, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 60, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
  // The refund of O2, on its own (later) day: net revenue goes negative, the refund rate has no revenue to divide by.
  '2024-02-05': { refunds: 10, net_revenue: -10 },
  // O4: C1 comes back, a returning customer; no new customer, so CAC is NULL.
  '2024-02-15': { orders: 1, revenue: 80, net_revenue: 80, aov: 80, refund_rate: 0, customers: 1, returning_customers: 1, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
  '2024-02-25': { orders: 1, revenue: 25, net_revenue: 25, aov: 25, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 25, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
  // O6 (C1, 120) and O7 (C4's first, 40). GA4 google/cpc 100 sessions + direct 50. Spend 30 (Google) + 20 (Meta).
  // Charges: ch_6a failed, ch_6b and ch_7 succeeded.
  '2024-03-04': {
    orders: 2, revenue: 160, net_revenue: 160, aov: 80, refund_rate: 0, customers: 2, new_customers: 1, returning_customers: 1, new_customer_revenue: 40,
    sessions: 150, users: 135, add_to_carts: 25, checkouts: 12, ga4_purchases: 2, ga4_purchase_revenue: 160,
    conversion_rate: 2 / 150, revenue_per_session: 160 / 150, cart_abandonment_rate: 1 - 2 / 25, checkout_abandonment_rate: 1 - 2 / 12,
    ad_spend: 50, ad_clicks: 40, ad_impressions: 1300, cac: 50, mer: 160 / 50, nc_roas: 40 / 50,
    payment_attempts: 3, payments_succeeded: 2, payment_acceptance_rate: 2 / 3,
  },
  // O8 (the guest's first, 49.99 EUR = O8 USD) and O9 (C3 again, 30). T6 (8.00) and T7 (6.00) shipped.
  '2024-03-05': {
    orders: 2, revenue: 30 + O8, net_revenue: 30 + O8, aov: (30 + O8) / 2, refund_rate: 0, customers: 2, new_customers: 1, returning_customers: 1, new_customer_revenue: O8,
    // GA4's 80.00 EUR of purchase revenue, converted: 80 × 1.08375 = 86.70.
    sessions: 80, users: 70, add_to_carts: 10, checkouts: 5, ga4_purchases: 2, ga4_purchase_revenue: 86.7,
    conversion_rate: 2 / 80, revenue_per_session: (30 + O8) / 80, cart_abandonment_rate: 1 - 2 / 10, checkout_abandonment_rate: 1 - 2 / 5,
    cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1,
    shipping_cost: 14, orders_shipped: 2, logistics_cost_per_order: 7,
  },
  // The day with no counted order (O10 is cancelled, its refund ignored): zeros, and NULL for every ratio over orders,
  // revenue or new customers, but 0 for those over sessions and spend. T6 delivered on time, 2 days 6 hours after O6.
  // T8, T9 and T9B shipped: 7.50 + 4.00 + 3.00 for two distinct orders (8 and 9). T10 (9.00, the cancelled O10's) is left out.
  '2024-03-06': {
    sessions: 40, users: 40, add_to_carts: 4, conversion_rate: 0, revenue_per_session: 0, cart_abandonment_rate: 1,
    ad_spend: 25, ad_clicks: 10, ad_impressions: 200, mer: 0, nc_roas: 0,
    payment_attempts: 3, payments_succeeded: 2, payment_acceptance_rate: 2 / 3,
    shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, on_time_delivery_rate: 1, delivery_days_total: 2.25,
    avg_delivery_days: 2.25,
    shipping_cost: 14.5, orders_shipped: 2, logistics_cost_per_order: 7.25, return_rate: 0,
  },
  // T7B (O7's second parcel, 2.00) shipped: one order, 2.00. TX (3.50, for an order 999 the shop does not know) shipped too,
  // but matches no order: left out of every fulfilment metric, like T10 delivered today (its order O10 is cancelled).
  // Before, TX counted: 2 + 3.5 = 5.50 for two orders (O7 and 'ref:999'), 2.75 each; now 2 / 1 = 2.
  '2024-03-07': {
    orders: 1, revenue: 20, net_revenue: 20, aov: 20, refund_rate: 0, customers: 1, returning_customers: 1,
    sessions: 60, users: 55, add_to_carts: 6, checkouts: 3, ga4_purchases: 1, ga4_purchase_revenue: 20,
    conversion_rate: 1 / 60, revenue_per_session: 20 / 60, cart_abandonment_rate: 1 - 1 / 6, checkout_abandonment_rate: 1 - 1 / 3,
    ad_spend: 15, ad_clicks: 12, ad_impressions: 600, mer: 20 / 15, nc_roas: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1,
    shipping_cost: 2, orders_shipped: 1, logistics_cost_per_order: 2 / 1,
  },
  // O12 (C6's first, 90) with only a pending charge (no attempt yet); O6's refund of 30 lands today (its failed 10 does not).
  // T7 delivered late (4 days after O7), T8 without a promise (2 days 23 hours after O8).
  '2024-03-08': {
    orders: 1, revenue: 90, refunds: 30, net_revenue: 60, aov: 90, refund_rate: 30 / 90, customers: 1, new_customers: 1, new_customer_revenue: 90,
    sessions: 90, users: 80, add_to_carts: 9, checkouts: 4, ga4_purchases: 1, ga4_purchase_revenue: 90,
    conversion_rate: 1 / 90, revenue_per_session: 1, cart_abandonment_rate: 1 - 1 / 9, checkout_abandonment_rate: 1 - 1 / 4,
    ad_spend: 40, ad_clicks: 20, ad_impressions: 400, cac: 40, mer: 90 / 40, nc_roas: 90 / 40,
    shipments_delivered: 2, shipments_on_time: 0, shipments_delivered_with_promise: 1, on_time_delivery_rate: 0,
    delivery_days_total: 4 + 2 + 23 / 24, avg_delivery_days: (6 + 23 / 24) / 2, return_rate: 0,
  },
  // T9 delivered on its promised day, 3 days 17 hours after O9. TX, delivered on its promised day too, matches no order: left
  // out (before, it made 2 delivered, 2 on time, 2 with a promise). 1 delivered, 1 on time of 1 promised: 1 / 1 = 1; the
  // average 3 + 17/24 over shipments_delivered = 1. T10's return is left out.
  '2024-03-09': {
    sessions: 30, users: 30, conversion_rate: 0, revenue_per_session: 0,
    shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, on_time_delivery_rate: 1 / 1,
    delivery_days_total: 3 + 17 / 24, avg_delivery_days: (3 + 17 / 24) / 1, return_rate: 0 / 1,
  },
  // T9 returned; nothing delivered, so the return rate of the day has no denominator.
  '2024-03-10': { sessions: 20, users: 18, add_to_carts: 2, checkouts: 1, conversion_rate: 0, revenue_per_session: 0, cart_abandonment_rate: 1, checkout_abandonment_rate: 1, returns: 1 },
};

describe('metrics.kpi_daily', () => {
  it('has one row per date from the first to the last day with data, with no gap', async () => {
    const got = await rows('select date from metrics.kpi_daily order by date');
    // 2023: 23 days of March from the 9th, then 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 to December; 2024: 31 + 29 + 10.
    expect(got.map((r) => r.date)).toEqual(datesBetween('2023-03-09', '2024-03-10'));
    expect(got.length).toBe(23 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 + 31 + 29 + 10);
  });

  it('holds the hand-worked values in every column of every day (zeros and NULL ratios on empty days)', async () => {
    const got = new Map((await rows('select * from metrics.kpi_daily')).map((r) => [r.date as string, r]));
    for (const date of datesBetween('2023-03-09', '2024-03-10')) {
      expectRow(got.get(date), withProfit({ date, ...KPI_ZERO, ...DAILY[date] }), `kpi_daily ${date}`);
    }
  });
});

/** The ISO week of Monday 4 March 2024, summed by hand from the days above. */
const MARCH_WEEK: Record<string, Expected> = {
  // Revenue 120 + 40 + O8 + 30 + 20 + 90 = 300 + O8.
  orders: 6, revenue: 300 + O8, refunds: 30, net_revenue: 270 + O8, aov: (300 + O8) / 6, refund_rate: 30 / (300 + O8),
  // Distinct over the week: C1, C4 (twice), the guest, C3, C6 → 5; new: C4, the guest, C6 → 3.
  customers: 5, new_customers: 3, returning_customers: 2, new_customer_revenue: 40 + O8 + 90,
  sessions: 470, users: 428, add_to_carts: 56, checkouts: 25, ga4_purchases: 6, ga4_purchase_revenue: 160 + 86.7 + 20 + 90,
  conversion_rate: 6 / 470, revenue_per_session: (300 + O8) / 470, cart_abandonment_rate: 1 - 6 / 56, checkout_abandonment_rate: 1 - 6 / 25,
  ad_spend: 130, ad_clicks: 82, ad_impressions: 2500, cac: 130 / 3, mer: (300 + O8) / 130, nc_roas: (130 + O8) / 130,
  // 8 attempts, 6 successes: 0.75 — the mean of the daily rates (2/3, 1, 2/3, 1) would say 0.8333.
  payment_attempts: 8, payments_succeeded: 6, payment_acceptance_rate: 0.75,
  // Delivered: T6, T7 (late), T8 (no promise), T9 → 4 (TX, matched to no order, and T10, of the cancelled O10, are left out;
  // before, TX made 5). On time: T6, T9 → 2 (was 3 with TX); promised: T6, T7, T9 → 3 (was 4): 2 / 3 (was 3 / 4).
  shipments_delivered: 4, shipments_on_time: 2, shipments_delivered_with_promise: 3, on_time_delivery_rate: 2 / 3,
  // Delivery times of the four: 2.25 + 4 + (2 + 23/24) + (3 + 17/24) = 12 + 11/12, over shipments_delivered = 4: 3.2291666…
  delivery_days_total: 2.25 + 4 + (2 + 23 / 24) + (3 + 17 / 24), avg_delivery_days: (12 + 11 / 12) / 4,
  // Shipped: T6 8 + T7 6 + T8 7.5 + T9 4 + T9B 3 + T7B 2 = 30.50 (34 − TX's 3.50), for O6, O7, O8, O9: 4 orders (was 5 with
  // order 999) — O7, shipped on the 5th and the 7th, once (the daily rows sum to 2 + 2 + 1 = 5). 30.5 / 4 = 7.625 (was 34 / 5).
  shipping_cost: 30.5, orders_shipped: 4, logistics_cost_per_order: 30.5 / 4,
  // T9 returned, over the 4 delivered: 1 / 4 (was 1 / 5).
  returns: 1, return_rate: 1 / 4,
};

/** The first week (and month) of the shop, Thursday 9 to Sunday 12 March 2023: O20 and O21, 7.00 + 11.00 of spend. */
const MARCH_2023: Record<string, Expected> = {
  orders: 2, revenue: 110, net_revenue: 110, aov: 55, refund_rate: 0, customers: 2, new_customers: 2, new_customer_revenue: 110,
  ad_spend: 18, ad_clicks: 7, ad_impressions: 130, cac: 9, mer: 110 / 18, nc_roas: 110 / 18,
};

describe('metrics.kpi_weekly', () => {
  it('sums each ISO week (Monday first, dated by its Monday) and recomputes every ratio from the sums', async () => {
    const got = await rows('select * from metrics.kpi_weekly order by date');
    // Every week from the Monday of 9 March 2023 to that of 4 March 2024 (52 weeks later), empty ones 7 days of zeros.
    // Every week has 7 days and is complete: the last one ends on Sunday 10 March, the last complete day of data (the
    // last day of kpi_daily, before yesterday, the 11th).
    const expected: Record<string, Record<string, Expected>> = Object.fromEntries(mondays('2023-03-06', '2024-03-04').map((d) => [d, { days_with_data: 7 }]));
    expect(Object.keys(expected).length).toBe(53);
    Object.assign(expected, {
      // Thursday 9 March 2023 to Sunday 12th: a partial first week of 4 days.
      '2023-03-06': { days_with_data: 4, ...MARCH_2023 },
      // Wednesday 10 January to Sunday 14th (the 8th and 9th are empty days now).
      '2024-01-08': {
        days_with_data: 7, orders: 1, revenue: 100, net_revenue: 100, aov: 100, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 100, cac: 0,
        payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1,
        shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, on_time_delivery_rate: 1, delivery_days_total: 3,
        avg_delivery_days: 3, shipping_cost: 5, orders_shipped: 1, logistics_cost_per_order: 5, return_rate: 0,
      },
      '2024-01-15': { days_with_data: 7, orders: 1, revenue: 50, net_revenue: 50, aov: 50, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 50, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
      '2024-01-22': { days_with_data: 7, orders: 1, revenue: 60, net_revenue: 60, aov: 60, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 60, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
      '2024-02-05': { days_with_data: 7, refunds: 10, net_revenue: -10 },
      '2024-02-12': { days_with_data: 7, orders: 1, revenue: 80, net_revenue: 80, aov: 80, refund_rate: 0, customers: 1, returning_customers: 1, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
      // Sunday 25 February belongs to the week of Monday the 19th.
      '2024-02-19': { days_with_data: 7, orders: 1, revenue: 25, net_revenue: 25, aov: 25, refund_rate: 0, customers: 1, new_customers: 1, new_customer_revenue: 25, cac: 0, payment_attempts: 1, payments_succeeded: 1, payment_acceptance_rate: 1 },
      '2024-03-04': { days_with_data: 7, ...MARCH_WEEK },
    });
    expect(got.map((r) => r.date)).toEqual(Object.keys(expected).sort());
    for (const row of got) {
      expectRow(row, withProfit({ date: row.date as string, days_in_period: 7, is_complete: true, ...KPI_ZERO, ...expected[row.date as string] }), `kpi_weekly ${row.date}`);
    }
  });
});

describe('metrics.kpi_monthly', () => {
  it('sums each month (dated by its first day), recounting customers distinct', async () => {
    const got = await rows('select * from metrics.kpi_monthly order by date');
    // April to December 2023 hold nothing: a row of zeros each, as many days as the month has.
    const lengths = [30, 31, 30, 31, 31, 30, 31, 30, 31];
    const empty = monthStarts('2023-04-01', '2023-12-01').map((d, i) => [d, { days_in_period: lengths[i]!, days_with_data: lengths[i]! }]);
    expect(empty.length).toBe(9);
    const expected: Record<string, Record<string, Expected>> = {
      // 9 to 31 March 2023: 23 days.
      '2023-03-01': { days_in_period: 31, days_with_data: 23, ...MARCH_2023 },
      ...Object.fromEntries(empty),
      // O1, O2, O5: three new customers, no spend (CAC 0), T1 shipped and delivered. All 31 days (the data began in 2023).
      '2024-01-01': {
        days_in_period: 31, days_with_data: 31, orders: 3, revenue: 210, net_revenue: 210, aov: 70, refund_rate: 0, customers: 3, new_customers: 3, new_customer_revenue: 210, cac: 0,
        payment_attempts: 3, payments_succeeded: 3, payment_acceptance_rate: 1,
        shipments_delivered: 1, shipments_on_time: 1, shipments_delivered_with_promise: 1, on_time_delivery_rate: 1, delivery_days_total: 3,
        avg_delivery_days: 3, shipping_cost: 5, orders_shipped: 1, logistics_cost_per_order: 5, return_rate: 0,
      },
      // O4 (C1 again) and O13 (C8 new); O2's refund is February's, though O2 is January's.
      '2024-02-01': {
        days_in_period: 29, days_with_data: 29, orders: 2, revenue: 105, refunds: 10, net_revenue: 95, aov: 52.5, refund_rate: 10 / 105, customers: 2, new_customers: 1, returning_customers: 1,
        new_customer_revenue: 25, cac: 0, payment_attempts: 2, payments_succeeded: 2, payment_acceptance_rate: 1,
      },
      // 1 to 10 March: the same as the week of the 4th, the 1st to the 3rd being empty. Not complete: the month ends on the
      // 31st, after the last complete day of data (the 10th).
      '2024-03-01': { days_in_period: 31, days_with_data: 10, is_complete: false, ...MARCH_WEEK },
    };
    expect(got.map((r) => r.date)).toEqual(Object.keys(expected));
    // Every other month ends on or before 10 March 2024 (the first, March 2023, is complete too, with 23 days of data).
    for (const row of got) expectRow(row, withProfit({ date: row.date as string, is_complete: true, ...KPI_ZERO, ...expected[row.date as string] }), `kpi_monthly ${row.date}`);
  });
});

describe('metrics.kpi_channel_daily', () => {
  it('splits orders, sessions and spend by channel, with shop ROAS next to the platform claim', async () => {
    const zero: Record<string, Expected> = {
      sessions: 0, orders: 0, revenue: 0, new_customers: 0, ad_spend: 0, ad_clicks: 0, ad_impressions: 0,
      platform_conversions: 0, platform_conversion_value: 0, cac: null, roas: null, platform_roas: null,
    };
    const expected: [string, string, Record<string, Expected>][] = [
      ['2023-03-09', 'direct', { orders: 1, revenue: 40, new_customers: 1, cac: 0 }],
      ['2023-03-09', 'google_ads', { ad_spend: 7, ad_clicks: 3, ad_impressions: 50, roas: 0, platform_roas: 0 }],
      ['2023-03-10', 'direct', { orders: 1, revenue: 70, new_customers: 1, cac: 0 }],
      ['2023-03-10', 'google_ads', { ad_spend: 11, ad_clicks: 4, ad_impressions: 80, roas: 0, platform_roas: 0 }],
      ['2024-01-10', 'google_ads', { orders: 1, revenue: 100, new_customers: 1, cac: 0 }],
      ['2024-01-20', 'organic_search', { orders: 1, revenue: 50, new_customers: 1, cac: 0 }],
      ['2024-01-25', 'meta_ads', { orders: 1, revenue: 60, new_customers: 1, cac: 0 }],
      ['2024-02-15', 'direct', { orders: 1, revenue: 80 }],
      ['2024-02-25', 'direct', { orders: 1, revenue: 25, new_customers: 1, cac: 0 }],
      ['2024-03-04', 'direct', { sessions: 50 }],
      // O6 is C1's third order: no new customer for the 30.00 Google spent; Google claims 240 of value (8×), the shop sees 120 (4×).
      ['2024-03-04', 'google_ads', { sessions: 100, orders: 1, revenue: 120, ad_spend: 30, ad_clicks: 15, ad_impressions: 300, platform_conversions: 2, platform_conversion_value: 240, roas: 4, platform_roas: 8 }],
      ['2024-03-04', 'meta_ads', { orders: 1, revenue: 40, new_customers: 1, ad_spend: 20, ad_clicks: 25, ad_impressions: 1000, platform_conversions: 1, platform_conversion_value: 50, cac: 20, roas: 2, platform_roas: 2.5 }],
      ['2024-03-05', 'email', { orders: 1, revenue: 30 }],
      ['2024-03-05', 'organic_search', { sessions: 80 }],
      ['2024-03-05', 'referral', { orders: 1, revenue: O8, new_customers: 1, cac: 0 }],
      ['2024-03-06', 'direct', { sessions: 40 }],
      ['2024-03-06', 'google_ads', { ad_spend: 25, ad_clicks: 10, ad_impressions: 200, platform_conversions: 1, platform_conversion_value: 100, roas: 0, platform_roas: 4 }],
      ['2024-03-07', 'direct', { orders: 1, revenue: 20 }],
      ['2024-03-07', 'meta_ads', { sessions: 60, ad_spend: 15, ad_clicks: 12, ad_impressions: 600, platform_conversions: 1, platform_conversion_value: 40, roas: 0, platform_roas: 40 / 15 }],
      ['2024-03-08', 'google_ads', { sessions: 90, orders: 1, revenue: 90, new_customers: 1, ad_spend: 40, ad_clicks: 20, ad_impressions: 400, platform_conversions: 1.5, platform_conversion_value: 150, cac: 40, roas: 90 / 40, platform_roas: 150 / 40 }],
      ['2024-03-09', 'direct', { sessions: 30 }],
      ['2024-03-10', 'organic_search', { sessions: 20 }],
    ];
    const got = await rows('select * from metrics.kpi_channel_daily order by date, channel');
    expect(got.map((r) => `${r.date} ${r.channel}`)).toEqual(expected.map(([d, c]) => `${d} ${c}`));
    got.forEach((row, i) => {
      const [date, channel, values] = expected[i]!;
      expectRow(row, { date, channel, ...zero, ...values }, `kpi_channel_daily ${date} ${channel}`);
    });
  });
});

describe('metrics.customer_kpis', () => {
  it('measures the customer base at every month end and at the last order date, the 365-day windows to the day', async () => {
    // Gaps between consecutive orders, in days: C1 10 Jan 10:00 → 15 Feb 09:00 = 35 + 23/24, 15 Feb 09:00 → 4 Mar 10:00 = 18 + 1/24;
    // C3 25 Jan 15:00 → 5 Mar 16:00 = 40 + 1/24; C4 4 Mar 14:00 → 7 Mar 10:00 = 2 + 20/24.
    const c1First = 35 + 23 / 24;
    const allGaps = c1First + (18 + 1 / 24) + (40 + 1 / 24) + (2 + 20 / 24);
    // 2023: only C20 (O20, 9 March, 40.00) and C21 (O21, 10 March, 70.00), once each; 7.00 + 11.00 of spend. Every 2023 window
    // (as-of − 364 … as-of) holds both orders and both days of spend: CAC 18 / 2 = 9, CLV 110 / 2 = 55.
    const year2023: Record<string, Expected> = {
      customers: 2, repeat_customers: 0, repeat_purchase_rate: 0, orders_365d: 2, customers_365d: 2, purchase_frequency: 1,
      order_gaps: 0, days_between_orders_total: 0, avg_days_between_orders: null, net_revenue_to_date: 110, historical_clv: 55,
      ad_spend_365d: 18, new_customers_365d: 2, cac_365d: 9, ltv_to_cac: 55 / 9,
    };
    // Revenue of the 2024 orders: 100 + 50 + 60 + 80 + 25 + 120 + 40 + O8 + 30 + 20 + 90 = 615 + O8; refunds 10 + 30.
    const net2024 = 110 + 615 + O8 - 40;
    const expected: Record<string, Record<string, Expected>> = {
      // On 31 March 2023 C20's last order is 22 days old, C21's 21: nobody has churned (> 35 days) yet.
      '2023-03-31': { ...year2023, churned_customers: 0, churn_rate: 0 },
      // From 30 April on (52 and 51 days), both have.
      ...Object.fromEntries(
        ['2023-04-30', '2023-05-31', '2023-06-30', '2023-07-31', '2023-08-31', '2023-09-30', '2023-10-31', '2023-11-30', '2023-12-31'].map((d) => [
          d,
          { ...year2023, churned_customers: 2, churn_rate: 1 },
        ]),
      ),
      // + O1, O2, O5: five customers, nobody twice. The window (1 Feb 2023 … 31 Jan 2024) holds all five orders and the 18.00.
      // C20 and C21 have churned.
      '2024-01-31': {
        customers: 5, repeat_customers: 0, repeat_purchase_rate: 0, orders_365d: 5, customers_365d: 5, purchase_frequency: 1,
        order_gaps: 0, days_between_orders_total: 0, avg_days_between_orders: null, net_revenue_to_date: 110 + 210, historical_clv: 320 / 5,
        churned_customers: 2, churn_rate: 2 / 5, ad_spend_365d: 18, new_customers_365d: 5, cac_365d: 18 / 5, ltv_to_cac: (320 / 5) / (18 / 5),
      },
      // + O4 (C1's second) and O13 (C8). Revenue 110 + 315 less O2's refund of 10. C2's last order (20 Jan) is 40 days old: churned
      // (> 35), with C20 and C21; C3's (25 Jan) exactly 35: not churned. The window starts on 2 March 2023: O20 and O21 are in.
      '2024-02-29': {
        customers: 6, repeat_customers: 1, repeat_purchase_rate: 1 / 6, orders_365d: 7, customers_365d: 6, purchase_frequency: 7 / 6,
        order_gaps: 1, days_between_orders_total: c1First, avg_days_between_orders: c1First, net_revenue_to_date: 415, historical_clv: 415 / 6,
        churned_customers: 3, churn_rate: 3 / 6, ad_spend_365d: 18, new_customers_365d: 6, cac_365d: 18 / 6, ltv_to_cac: (415 / 6) / (18 / 6),
      },
      // The last counted order's date. Its window is 10 March 2023 (as-of − 364) … 8 March 2024: O21 and its day's 11.00 are in,
      // O20 and the 7.00 of 9 March 2023 (as-of − 365) are out. Orders 1 + 11 = 12 by 1 + 7 = 8 customers; new customers
      // C21 + the 7 of 2024 = 8 for 11 + 130 = 141 of spend. All 9 customers to date; C1, C3, C4 ordered twice or more;
      // C2, C20, C21 have churned.
      '2024-03-08': {
        customers: 9, repeat_customers: 3, repeat_purchase_rate: 3 / 9, orders_365d: 12, customers_365d: 8, purchase_frequency: 12 / 8,
        order_gaps: 4, days_between_orders_total: allGaps, avg_days_between_orders: allGaps / 4, net_revenue_to_date: net2024, historical_clv: net2024 / 9,
        churned_customers: 3, churn_rate: 3 / 9, ad_spend_365d: 141, new_customers_365d: 8, cac_365d: 141 / 8, ltv_to_cac: net2024 / 9 / (141 / 8),
      },
      // No row for 31 March 2024: that month end comes after the last counted order, and an as-of date never passes the data
      // (docs/metrics.md; its row counted 23 days with no data as days without orders).
    };
    const got = await rows('select * from metrics.customer_kpis order by date');
    expect(got.map((r) => r.date)).toEqual(Object.keys(expected));
    // No CLV fit in this shop: the predicted value is NULL on every row (tests/clv/warehouse.test.ts fills it).
    const noFit = { predicted_clv_12m_total: null, predicted_clv_12m_avg: null };
    for (const row of got) expectRow(row, { date: row.date as string, ...noFit, ...expected[row.date as string] }, `customer_kpis ${row.date}`);
  });
});

describe('metrics.customer_kpis as-of dates (issue 17)', () => {
  it('has no as-of date after the last counted order: the month in progress ends on that order, not on the 31st', async () => {
    // The last counted order is O12, on Friday 8 March 2024; O10 (6 March) is cancelled, O3 a test order.
    const got = await rows(`select date from metrics.customer_kpis where date > '2024-02-29' order by date`);
    expect(got.map((r) => r.date)).toEqual(['2024-03-08']);
  });
});

describe('metrics.cohort_monthly', () => {
  it('follows each first-order cohort month by month, empty months included', async () => {
    // March 2023: C20 and C21, who never order again — 12 months of zeros follow, up to March 2024.
    const march2023 = ['2023-03-01', '2023-04-01', '2023-05-01', '2023-06-01', '2023-07-01', '2023-08-01', '2023-09-01', '2023-10-01', '2023-11-01', '2023-12-01', '2024-01-01', '2024-02-01', '2024-03-01'].map(
      (date, months): [string, string, number, Record<string, Expected>] => [
        date,
        '2023-03-01',
        months,
        months === 0
          ? { cohort_customers: 2, active_customers: 2, orders: 2, revenue: 110, cumulative_revenue: 110, cumulative_revenue_per_customer: 55, retention_rate: 1 }
          : { cohort_customers: 2, active_customers: 0, orders: 0, revenue: 0, cumulative_revenue: 110, cumulative_revenue_per_customer: 55, retention_rate: 0 },
      ],
    );
    const expected: [string, string, number, Record<string, Expected>][] = [
      ...march2023,
      // January: C1, C2, C3. C1 orders in January, February and March; C3 again in March.
      ['2024-01-01', '2024-01-01', 0, { cohort_customers: 3, active_customers: 3, orders: 3, revenue: 210, cumulative_revenue: 210, cumulative_revenue_per_customer: 70, retention_rate: 1 }],
      ['2024-02-01', '2024-01-01', 1, { cohort_customers: 3, active_customers: 1, orders: 1, revenue: 80, cumulative_revenue: 290, cumulative_revenue_per_customer: 290 / 3, retention_rate: 1 / 3 }],
      ['2024-03-01', '2024-01-01', 2, { cohort_customers: 3, active_customers: 2, orders: 2, revenue: 150, cumulative_revenue: 440, cumulative_revenue_per_customer: 440 / 3, retention_rate: 2 / 3 }],
      // February: C8 alone, who never orders again — March is a row of zeros.
      ['2024-02-01', '2024-02-01', 0, { cohort_customers: 1, active_customers: 1, orders: 1, revenue: 25, cumulative_revenue: 25, cumulative_revenue_per_customer: 25, retention_rate: 1 }],
      ['2024-03-01', '2024-02-01', 1, { cohort_customers: 1, active_customers: 0, orders: 0, revenue: 0, cumulative_revenue: 25, cumulative_revenue_per_customer: 25, retention_rate: 0 }],
      // March: C4 (twice: 40 + 20), the guest (O8), C6 (90).
      ['2024-03-01', '2024-03-01', 0, { cohort_customers: 3, active_customers: 3, orders: 4, revenue: 150 + O8, cumulative_revenue: 150 + O8, cumulative_revenue_per_customer: (150 + O8) / 3, retention_rate: 1 }],
    ];
    const got = await rows('select * from metrics.cohort_monthly order by cohort_month, months_since_first_order');
    expect(got.length).toBe(expected.length);
    got.forEach((row, i) => {
      const [date, cohort, months, values] = expected[i]!;
      // The month measured is complete when it ends on or before 10 March 2024, the last complete day of data: March 2024 is not.
      const isComplete = date !== '2024-03-01';
      expectRow(row, { date, cohort_month: cohort, months_since_first_order: months, is_complete: isComplete, ...values }, `cohort_monthly ${cohort}+${months}`);
    });
  });
});

describe('metrics.cohort_monthly across cohorts', () => {
  it('pools cohorts at one months_since_first_order as SUM / SUM, as the definitions and docs say (issue 4)', async () => {
    // The cohorts with a month 1: March 2023 (C20, C21, neither back in April), January 2024 (C1 back in February; C2, C3 not),
    // February 2024 (C8, not back in March): 1 of 2 + 3 + 1 = 6 customers ordered in their second month. Their revenue up to
    // then: 110 + (210 + 80) + 25 = 425, over the same 6.
    const [row] = await rows(`select sum(active_customers)::numeric / sum(cohort_customers) as retention,
                                      sum(cumulative_revenue) / sum(cohort_customers) as revenue_per_customer
                                 from metrics.cohort_monthly where months_since_first_order = 1`);
    expect(Number(row!.retention)).toBeCloseTo(1 / 6, 9);
    expect(Number(row!.revenue_per_customer)).toBeCloseTo(425 / 6, 9);
    // The average of the three cohorts' rates (0, 1/3, 0) would say 1/9: pooling is not averaging.
  });
});

describe('metrics.revenue_reconciliation_daily', () => {
  it('puts the shop revenue next to Stripe and GA4 every day, with unmatched orders and payments', async () => {
    const zero: Record<string, Expected> = {
      shop_revenue: 0, stripe_captured: 0, stripe_refunded: 0, ga4_purchase_revenue: 0, shop_vs_stripe_gap: 0, shop_vs_ga4_gap: 0,
      orders_without_payment: 0, payments_without_order: 0,
    };
    const days: Record<string, Record<string, Expected>> = {
      // O20 and O21 were paid by bank transfer: a gap with Stripe, but not orders without a (Stripe) payment.
      '2023-03-09': { shop_revenue: 40, shop_vs_stripe_gap: 40, shop_vs_ga4_gap: 40 },
      '2023-03-10': { shop_revenue: 70, shop_vs_stripe_gap: 70, shop_vs_ga4_gap: 70 },
      '2024-01-10': { shop_revenue: 100, stripe_captured: 100, shop_vs_ga4_gap: 100 },
      // ch_2 matched through the order name '#1002'; its 10.00 refund counts on the charge's day.
      '2024-01-20': { shop_revenue: 50, stripe_captured: 50, stripe_refunded: 10, shop_vs_ga4_gap: 50 },
      '2024-01-25': { shop_revenue: 60, stripe_captured: 60, shop_vs_ga4_gap: 60 },
      '2024-02-15': { shop_revenue: 80, stripe_captured: 80, shop_vs_ga4_gap: 80 },
      '2024-02-25': { shop_revenue: 25, stripe_captured: 25, shop_vs_ga4_gap: 25 },
      // ch_6b (matched to O6 through the payment intent of the declined ch_6a) and ch_7.
      '2024-03-04': { shop_revenue: 160, stripe_captured: 160, stripe_refunded: 30, ga4_purchase_revenue: 160 },
      // O8 was paid by PayPal: not an order without payment, but a gap with Stripe.
      // GA4: 80.00 EUR = 86.70 USD.
      '2024-03-05': { shop_revenue: 30 + O8, stripe_captured: 30, ga4_purchase_revenue: 86.7, shop_vs_stripe_gap: O8, shop_vs_ga4_gap: 30 + O8 - 86.7 },
      // ch_10 pays the cancelled O10 (matched, then refunded), ch_x pays nothing known, ch_f failed.
      '2024-03-06': { stripe_captured: 85, stripe_refunded: 70, shop_vs_stripe_gap: -85, payments_without_order: 1 },
      '2024-03-07': { shop_revenue: 20, stripe_captured: 20, ga4_purchase_revenue: 20 },
      // O12's only charge is still pending.
      '2024-03-08': { shop_revenue: 90, ga4_purchase_revenue: 90, shop_vs_stripe_gap: 90, orders_without_payment: 1 },
    };
    const got = await rows('select * from metrics.revenue_reconciliation_daily order by date');
    expect(got.map((r) => r.date)).toEqual(datesBetween('2023-03-09', '2024-03-10'));
    for (const row of got) expectRow(row, { date: row.date as string, ...zero, ...days[row.date as string] }, `revenue_reconciliation_daily ${row.date}`);
  });
});

describe('column types', () => {
  it('gives every view a date column of type date, numeric money, bigint counts and no JSON or array column', async () => {
    // The catalogue and data_status (a row per source stream, not per date) aside.
    const columns = await rows(
      `select table_name, column_name, data_type from information_schema.columns where table_schema = 'metrics' and table_name not in ('catalog', 'data_status')`,
    );
    const tables = [...new Set(columns.map((c) => c.table_name))].sort();
    expect(tables).toEqual(['clv_model', 'clv_summary', 'cohort_monthly', 'customer_kpis', 'inventory_daily', 'kpi_channel_daily', 'kpi_daily', 'kpi_monthly', 'kpi_weekly', 'product_daily', 'revenue_reconciliation_daily']);
    for (const table of tables) {
      expect(columns.find((c) => c.table_name === table && c.column_name === 'date')?.data_type, `${table}.date`).toBe('date');
    }
    const type = (table: string, column: string) => columns.find((c) => c.table_name === table && c.column_name === column)?.data_type;
    expect(type('kpi_daily', 'revenue')).toBe('numeric');
    expect(type('kpi_daily', 'ad_spend')).toBe('numeric');
    expect(type('kpi_daily', 'conversion_rate')).toBe('numeric');
    expect(type('kpi_daily', 'orders')).toBe('bigint');
    expect(type('kpi_channel_daily', 'platform_conversions')).toBe('numeric');
    expect(type('cohort_monthly', 'cohort_month')).toBe('date');
    expect(type('revenue_reconciliation_daily', 'stripe_captured')).toBe('numeric');
    expect(columns.filter((c) => /json|array|user-defined/i.test(c.data_type as string))).toEqual([]);
  });

  it('keeps full precision: nothing is rounded before it is summed or divided', async () => {
    // O8 is 49.99 EUR at 1.08375: 54.1766625 USD, seven decimals. Rounded to cents (54.18) or to four decimals (54.1767)
    // anywhere before a sum or a division, every number below would be off; they are compared as exact decimal text.
    const [row] = await rows(`select
      (select revenue::text from metrics.kpi_daily where date = '2024-03-05') as daily_revenue,
      (select aov::text from metrics.kpi_daily where date = '2024-03-05') as daily_aov,
      (select shop_vs_stripe_gap::text from metrics.revenue_reconciliation_daily where date = '2024-03-05') as stripe_gap,
      (select revenue::text from metrics.kpi_monthly where date = '2024-03-01') as march_revenue,
      (select cumulative_revenue::text from metrics.cohort_monthly where cohort_month = '2024-03-01') as cohort_revenue,
      (select net_revenue_to_date::text from metrics.customer_kpis where date = '2024-03-08') as net_to_date,
      (select conversion_rate::text from metrics.kpi_daily where date = '2024-03-04') as rate`);
    const exact = (text: unknown) => String(text).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
    expect(exact(row!.daily_revenue)).toBe('84.1766625'); // 30 + 54.1766625
    expect(exact(row!.daily_aov)).toBe('42.08833125'); // 84.1766625 / 2
    expect(exact(row!.stripe_gap)).toBe('54.1766625'); // 84.1766625 − 30 captured by Stripe
    expect(exact(row!.march_revenue)).toBe('354.1766625'); // 120 + 40 + 84.1766625 + 20 + 90
    expect(exact(row!.cohort_revenue)).toBe('204.1766625'); // 40 + 54.1766625 + 20 + 90
    expect(exact(row!.net_to_date)).toBe('739.1766625'); // 110 + 615 + 54.1766625 − 40
    // 2 orders over 150 sessions is 0.013333…: more than the 2 or 4 decimals of a money column.
    expect((row!.rate as string).startsWith('0.01333333333333')).toBe(true);
  });

  it('indexes the date of every dated table', async () => {
    const indexes = await rows(`select tablename, indexdef from pg_indexes where schemaname = 'metrics'`);
    for (const table of ['kpi_daily', 'kpi_weekly', 'kpi_monthly', 'kpi_channel_daily', 'customer_kpis', 'cohort_monthly', 'revenue_reconciliation_daily', 'clv_summary', 'clv_model', 'product_daily', 'inventory_daily']) {
      expect(indexes.some((i) => i.tablename === table && /\(date[,)]/.test(i.indexdef as string)), table).toBe(true);
    }
  });
});
