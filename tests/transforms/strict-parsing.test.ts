import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from './fixtures.ts';

/**
 * Issue 17, acceptance 2: values that PostgreSQL would read as something else (NaN, a word, a
 * date word, a negative total, a date in year 2999 or 0001, currency XX), each in one order
 * among good ones. The run succeeds, that order is set aside with its reason, with its charge
 * and its parcel, and every sum equals the sum of the good orders, worked out by hand below.
 */

let wh: Warehouse;
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD' });
const NOW = new Date('2024-03-06T12:00:00Z');

/**
 * The good shop, all USD:
 *   order 1, 2024-03-01, customer 1: 100.00 (2 × 50.00), refunded 20.00 on 2024-03-02; charge ch_1 100.00; parcel T1 (7.50)
 *   order 2, 2024-03-02, customer 2:  40.00; charge ch_2 40.00
 *   order 3, 2024-03-04, customer 1:  25.50 (returning), no charge although paid through Stripe
 */
const GOOD = [
  order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '100.00', line: { quantity: 2, price: '50.00', total_discount: '0.00' }, customer: 1,
    refunds: [{ id: 501, created_at: '2024-03-02T08:00:00Z', transactions: [{ id: 601, kind: 'refund', status: 'success', amount: '20.00', currency: 'USD' }] }] }),
  order({ id: 2, created_at: '2024-03-02T12:00:00Z', total: '40.00', customer: 2 }),
  order({ id: 3, created_at: '2024-03-04T09:30:00Z', total: '25.50', customer: 1 }),
];
const charge = (id: string, orderId: string, cents: number, created: number) => ({
  id, object: 'charge', amount: cents, amount_captured: cents, amount_refunded: 0, currency: 'usd', created, status: 'succeeded', payment_intent: `pi_${id}`, metadata: { order_id: orderId },
});
// 2024-03-01T10:05:00Z, 2024-03-02T12:10:00Z, 2024-03-03T10:10:00Z in Unix seconds.
const CHARGES = [charge('ch_1', '1', 10000, 1709287500), charge('ch_2', '2', 4000, 1709381400)];
const parcel = (tracking: string, orderRef: string) => ({
  order_id: orderRef, tracking_number: tracking, carrier: 'UPS', shipped_at: '2024-03-02T09:00:00Z', estimated_delivery_at: '2024-03-05',
  delivered_at: '2024-03-04T15:00:00Z', status: 'delivered', shipping_cost: '7.50', currency: 'USD',
});

/** Order 9, good but for one field; it has a charge (by its id) and a parcel (by its name, #1009). */
const BAD_BASE = { ...order({ id: 9, created_at: '2024-03-03T10:00:00Z', total: '10.00', customer: 9 }), updated_at: '2024-03-03T10:00:00Z' };
const BAD_CHARGE = charge('ch_9', '9', 1000, 1709460600);
const BAD_PARCEL = parcel('T9', '#1009');

const ISO = 'is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)';
const CASES: { label: string; patch: Record<string, unknown>; reason: string }[] = [
  { label: 'total_price NaN', patch: { total_price: 'NaN' }, reason: 'total_price "NaN" is not a decimal amount' },
  { label: 'total_price abc', patch: { total_price: 'abc' }, reason: 'total_price "abc" is not a decimal amount' },
  { label: 'created_at yesterday', patch: { created_at: 'yesterday' }, reason: `created_at "yesterday" ${ISO}` },
  { label: 'created_at now', patch: { created_at: 'now' }, reason: `created_at "now" ${ISO}` },
  { label: 'created_at today', patch: { created_at: 'today' }, reason: `created_at "today" ${ISO}` },
  { label: 'created_at epoch', patch: { created_at: 'epoch' }, reason: `created_at "epoch" ${ISO}` },
  { label: 'created_at infinity', patch: { created_at: 'infinity' }, reason: `created_at "infinity" ${ISO}` },
  { label: 'created_at missing', patch: { created_at: null }, reason: 'created_at is missing' },
  { label: 'a date alone', patch: { created_at: '2024-03-03' }, reason: `created_at "2024-03-03" ${ISO}` },
  { label: 'a negative total', patch: { total_price: '-5.00' }, reason: 'total_price "-5.00" is negative' },
  { label: 'year 2999', patch: { created_at: '2999-03-03T10:00:00Z' }, reason: 'created_at "2999-03-03T10:00:00Z" is dated after 2024-03-06, in the future' },
  { label: 'year 0001', patch: { created_at: '0001-03-03T10:00:00Z' }, reason: 'created_at "0001-03-03T10:00:00Z" is dated before 1995-01-01' },
  { label: 'currency XX', patch: { currency: 'XX' }, reason: 'currency "XX" is not an ISO 4217 currency code' },
  { label: 'cancelled_at that is no date', patch: { cancelled_at: 'soon' }, reason: `cancelled_at "soon" ${ISO}` },
  { label: 'test that is no boolean', patch: { test: 'maybe' }, reason: 'test "maybe" is not true or false' },
  {
    label: 'a line price NaN',
    patch: { line_items: [{ id: 90, product_id: 7, variant_id: 70, sku: 'SKU-7', title: 'Mug', quantity: 1, price: 'NaN', total_discount: '0.00' }] },
    reason: 'line_items[0].price "NaN" is not a decimal amount',
  },
  {
    label: 'a refund amount NaN',
    patch: { refunds: [{ id: 509, created_at: '2024-03-04T08:00:00Z', transactions: [{ id: 609, kind: 'refund', status: 'success', amount: 'NaN', currency: 'USD' }] }] },
    reason: 'refunds[0].transactions[0].amount "NaN" is not a decimal amount',
  },
];

beforeAll(async () => {
  wh = await createTestDatabase('strict_parsing');
  await landRecords(wh.pool, 'shopify', 'orders', GOOD);
  await landRecords(wh.pool, 'stripe', 'charges', [...CHARGES, BAD_CHARGE]);
  await landRecords(wh.pool, 'shipments', 'shipments', [parcel('T1', '1'), BAD_PARCEL]);
});
afterAll(async () => wh?.close());

const one = async (query: string) => (await wh.pool.query(query)).rows[0] as Record<string, string | number | null>;

/** The sums of every published table that counts orders, as numbers (NaN shows as NaN). */
async function sums() {
  return {
    kpiDaily: await one(`select sum(orders)::int as orders, sum(revenue)::float8 as revenue, sum(refunds)::float8 as refunds, sum(net_revenue)::float8 as net_revenue,
      sum(new_customers)::int as new_customers, sum(customers)::int as customers, sum(payments_succeeded)::int as payments_succeeded,
      sum(shipments_delivered)::int as shipments_delivered, sum(shipping_cost)::float8 as shipping_cost from metrics.kpi_daily`),
    kpiMonthly: await one(`select sum(orders)::int as orders, sum(revenue)::float8 as revenue, sum(customers)::int as customers from metrics.kpi_monthly`),
    reconciliation: await one(`select sum(shop_revenue)::float8 as shop_revenue, sum(stripe_captured)::float8 as stripe_captured,
      sum(orders_without_payment)::int as orders_without_payment, sum(payments_without_order)::int as payments_without_order from metrics.revenue_reconciliation_daily`),
    cohorts: await one(`select sum(revenue)::float8 as revenue, max(cohort_customers)::int as cohort_customers from metrics.cohort_monthly`),
    lastAsOf: await one(`select customers::int, historical_clv::float8 from metrics.customer_kpis order by date desc limit 1`),
    customers: await one(`select count(*)::int as customers, sum(counted_orders)::int as orders from core.customers`),
  };
}

/** Worked out by hand from the good shop only. */
const GOOD_SUMS = {
  // Orders 100 + 40 + 25.50; refund 20; new customers 1 and 2; a customer a day on three days.
  kpiDaily: { orders: 3, revenue: 165.5, refunds: 20, net_revenue: 145.5, new_customers: 2, customers: 3, payments_succeeded: 2, shipments_delivered: 1, shipping_cost: 7.5 },
  // One month: customers 1 and 2.
  kpiMonthly: { orders: 3, revenue: 165.5, customers: 2 },
  // ch_1 + ch_2 = 140; order 3 went through Stripe with no charge.
  reconciliation: { shop_revenue: 165.5, stripe_captured: 140, orders_without_payment: 1, payments_without_order: 0 },
  cohorts: { revenue: 165.5, cohort_customers: 2 },
  // On 2024-03-04: customer 1 100 − 20 + 25.50 = 105.50, customer 2 40: (105.50 + 40) / 2.
  lastAsOf: { customers: 2, historical_clv: 72.75 },
  customers: { customers: 2, orders: 3 },
};

async function build() {
  const transformed = await runTransforms(wh, config, { now: NOW });
  expect(transformed.error).toBeUndefined();
  expect(transformed.status).toBe('succeeded');
  const refreshed = await refreshMetrics(wh, config);
  expect(refreshed.error).toBeUndefined();
  return transformed;
}

describe('issue 17: strict parsing sets an order aside, never reads it as something else', () => {
  it('the good shop alone: nothing set aside, the sums worked out by hand', async () => {
    await wh.pool.query(`delete from raw.stripe__charges where _key = 'ch_9'`);
    await wh.pool.query(`delete from raw.shipments__shipments where _key = 'T9'`);
    const result = await build();
    expect(await sums()).toEqual(GOOD_SUMS);
    expect(result.warnings).toEqual([]);
    await landRecords(wh.pool, 'stripe', 'charges', [BAD_CHARGE], 'again');
    await landRecords(wh.pool, 'shipments', 'shipments', [BAD_PARCEL], 'again');
  });

  it.each(CASES)('$label: the order is set aside with its reason, with its charge and parcel, and every sum is the good orders\'', async ({ patch, reason }) => {
    await wh.pool.query(`delete from raw.shopify__orders where _key = '9'`);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...BAD_BASE, ...patch }], `bad-${reason}`);
    const result = await build();
    expect(result.published).toBe(true);
    expect(await sums()).toEqual(GOOD_SUMS);
    expect(result.warnings).toEqual([
      `shopify.orders 9 set aside: ${reason}`,
      `stripe.charges ch_9 set aside: its order 9 is set aside: ${reason}`,
      `shipments.shipments T9 set aside: its order 9 is set aside: ${reason}`,
    ]);
    const stored = (await wh.pool.query(`select source, stream, key, reason from ops.set_aside order by source, key`)).rows;
    expect(stored).toEqual([
      { source: 'shipments', stream: 'shipments', key: 'T9', reason: `its order 9 is set aside: ${reason}` },
      { source: 'shopify', stream: 'orders', key: '9', reason },
      { source: 'stripe', stream: 'charges', key: 'ch_9', reason: `its order 9 is set aside: ${reason}` },
    ]);
    // No row of the order or of what names it reaches core.
    const left = await one(`select (select count(*) from core.orders where order_id = '9')::int as orders, (select count(*) from core.order_lines where order_id = '9')::int as lines,
      (select count(*) from core.refunds where order_id = '9')::int as refunds, (select count(*) from core.payments where charge_id = 'ch_9')::int as charges,
      (select count(*) from core.shipments where shipment_key = 'T9')::int as parcels`);
    expect(left).toEqual({ orders: 0, lines: 0, refunds: 0, charges: 0, parcels: 0 });
  });

  it('a good order 9 counts again once the record is corrected, and nothing stays set aside', async () => {
    await wh.pool.query(`delete from raw.shopify__orders where _key = '9'`);
    await landRecords(wh.pool, 'shopify', 'orders', [BAD_BASE], 'fixed');
    const result = await build();
    expect(result.warnings).toEqual([]);
    expect((await wh.pool.query('select count(*)::int as n from ops.set_aside')).rows[0].n).toBe(0);
    // Order 9 (10.00, customer 9's first, 2024-03-03) with its charge (10.00) and parcel (7.50).
    const daily = await one(`select sum(orders)::int as orders, sum(revenue)::float8 as revenue, sum(new_customers)::int as new_customers,
      sum(payments_succeeded)::int as payments_succeeded, sum(shipping_cost)::float8 as shipping_cost from metrics.kpi_daily`);
    expect(daily).toEqual({ orders: 4, revenue: 175.5, new_customers: 3, payments_succeeded: 3, shipping_cost: 15 });
  });

  it('what names a set-aside order any way it can be named leaves with it: its name without #, its id, its payment intent', async () => {
    const reason = 'total_price "NaN" is not a decimal amount';
    await wh.pool.query(`delete from raw.shopify__orders where _key = '9'`);
    await wh.pool.query(`delete from raw.stripe__charges where _key = 'ch_9'`);
    await wh.pool.query(`delete from raw.shipments__shipments where _key = 'T9'`);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...BAD_BASE, total_price: 'NaN' }], 'named');
    // ch_9 names order #1009 as 1009; ch_9b, with no order of its own, shares its payment intent; T9 names it by its id.
    await landRecords(wh.pool, 'stripe', 'charges', [charge('ch_9', '1009', 1000, 1709460600), { ...charge('ch_9b', '', 1000, 1709460700), payment_intent: 'pi_ch_9', metadata: {} }], 'named');
    await landRecords(wh.pool, 'shipments', 'shipments', [parcel('T9', '9')], 'named');
    const result = await build();
    expect(await sums()).toEqual(GOOD_SUMS);
    const stored = (await wh.pool.query(`select source, stream, key, reason from ops.set_aside order by source, key`)).rows;
    expect(stored).toEqual([
      { source: 'shipments', stream: 'shipments', key: 'T9', reason: `its order 9 is set aside: ${reason}` },
      { source: 'shopify', stream: 'orders', key: '9', reason },
      { source: 'stripe', stream: 'charges', key: 'ch_9', reason: `its order 9 is set aside: ${reason}` },
      { source: 'stripe', stream: 'charges', key: 'ch_9b', reason: `its payment intent paid order 9, which is set aside: ${reason}` },
    ]);
    expect(result.warnings).toHaveLength(4);
  });
});
