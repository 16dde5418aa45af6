import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { models } from '../../transforms/models.ts';
import type { Model } from '../../transforms/model.ts';
import { runModels } from '../../transforms/runner.ts';
import { rawRecordsCheck } from '../../transforms/validation.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * The set-aside checks of the four large raw streams (orders, charges, balance transactions,
 * shipments) run in their model's own scan of the raw records (`rawRecordsCheck`'s
 * `foldedInto`): the build selects the problem, or for orders a "not plain" marker whose problem
 * is then read from the raw record again. What is set aside, and why, must be what the check
 * finds on its own; the column the check reads must never reach the published table; and an
 * incremental build must check its new records the same way and release a record once it parses.
 */

let wh: Warehouse;
const config = configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'USD' });
const DAY1 = new Date('2024-03-06T12:00:00Z');
const DAY3 = new Date('2024-03-08T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('folded_checks');
});
afterAll(async () => wh?.close());

const rows = async (query: string) => (await wh.pool.query(query)).rows;

const order = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  name: `#${1000 + id}`,
  created_at: '2024-03-01T10:00:00Z',
  updated_at: '2024-03-01T10:00:00Z',
  currency: 'USD',
  total_price: '54.90',
  subtotal_price: '49.90',
  total_tax: '0.00',
  total_discounts: '0.00',
  test: false,
  financial_status: 'paid',
  line_items: [{ id: id * 10, quantity: 1, price: '49.90', total_discount: '0.00', sku: 'S1' }],
  shipping_lines: [{ price: '5.00' }],
  refunds: [],
  ...extra,
});
const charge = (id: string, extra: Record<string, unknown> = {}) => ({
  id, object: 'charge', amount: 1000, amount_captured: 1000, amount_refunded: 0, currency: 'usd', created: 1709287500, status: 'succeeded', metadata: {}, ...extra,
});
const balance = (id: string, extra: Record<string, unknown> = {}) => ({
  id, object: 'balance_transaction', type: 'charge', reporting_category: 'charge', status: 'available', amount: 1000, fee: 59, net: 941, currency: 'usd', created: 1709287500, available_on: 1709287500, ...extra,
});
const parcel = (tracking: string, extra: Record<string, unknown> = {}) => ({
  tracking_number: tracking, order_id: '1', carrier: 'UPS', shipped_at: '2024-03-02T09:00:00Z', delivered_at: '2024-03-04T15:00:00Z', estimated_delivery_at: '2024-03-05', shipping_cost: '7.50', currency: 'USD', ...extra,
});

const setAside = () => rows(`select stream, key, reason from ops.set_aside where model like 'staging.%' order by stream, key`);
const foldedColumns = () =>
  rows(`select table_schema || '.' || table_name as t from information_schema.columns where table_schema in ('staging', 'core') and column_name = '_problem' order by 1`);
const modes = (result: Awaited<ReturnType<typeof runModels>>) =>
  Object.fromEntries(result.results.filter((r) => ['staging.shopify_orders', 'staging.stripe_charges', 'staging.stripe_balance_transactions', 'staging.shipments'].includes(r.model)).map((r) => [r.model, r.status === 'succeeded' ? r.mode : r.status]));

describe('checks folded into the staging scans', () => {
  it('set aside what the check finds, keep the check column out of the tables, and check an incremental build the same way', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [
      order(1),
      // A decimal comma: not plain, and its problem is worked out from the raw record.
      order(2, { total_price: '54,90' }),
      // Dated the day after the first run's day: in the future then, not on the third day.
      order(3, { created_at: '2024-03-07T10:00:00Z', updated_at: '2024-03-07T10:00:00Z' }),
    ]);
    await landRecords(wh.pool, 'stripe', 'charges', [
      charge('ch_ok', { created: ' 1709287500 ' }),
      charge('ch_cents', { amount: '10.5' }),
      // Beyond a bigint: set aside, and no failure of the build that reads it first.
      charge('ch_huge', { created: '99999999999999999999' }),
    ]);
    await landRecords(wh.pool, 'stripe', 'balance_transactions', [balance('txn_ok'), balance('txn_cur', { currency: 'xx' })]);
    await landRecords(wh.pool, 'shipments', 'shipments', [parcel('T-ok'), parcel('T-cost', { shipping_cost: 'NaN' })]);

    const first = await runModels(wh.db, config, { models, now: DAY1 });
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('succeeded');
    expect(modes(first)).toEqual({
      'staging.shopify_orders': 'full',
      'staging.stripe_charges': 'full',
      'staging.stripe_balance_transactions': 'full',
      'staging.shipments': 'full',
    });
    expect(await setAside()).toEqual([
      { stream: 'balance_transactions', key: 'txn_cur', reason: 'currency "xx" is not an ISO 4217 currency code' },
      { stream: 'charges', key: 'ch_cents', reason: 'amount "10.5" is not a whole number' },
      { stream: 'charges', key: 'ch_huge', reason: 'created "99999999999999999999" is not a Unix time in seconds' },
      { stream: 'orders', key: '2', reason: 'total_price "54,90" is not a decimal amount' },
      { stream: 'orders', key: '3', reason: 'created_at "2024-03-07T10:00:00Z" is dated after 2024-03-06, in the future' },
      { stream: 'shipments', key: 'T-cost', reason: 'shipping_cost "NaN" is not a decimal amount' },
    ]);
    expect(await foldedColumns()).toEqual([]);
    expect(await rows(`select order_id from staging.shopify_orders order by 1`)).toEqual([{ order_id: '1' }]);
    // Blanks around the seconds are read as the check reads them: 2024-03-01T10:05:00Z.
    expect(await rows(`select charge_id, created_at from staging.stripe_charges`)).toEqual([{ charge_id: 'ch_ok', created_at: new Date('2024-03-01T10:05:00Z') }]);
    expect(await rows(`select balance_transaction_id from staging.stripe_balance_transactions`)).toEqual([{ balance_transaction_id: 'txn_ok' }]);
    expect(await rows(`select shipment_key from staging.shipments`)).toEqual([{ shipment_key: 'T-ok' }]);

    // The next runs: order 2 and the charge corrected, a new bad charge and a new bad parcel.
    await landRecords(wh.pool, 'shopify', 'orders', [order(2, { updated_at: '2024-03-07T11:00:00Z' })], 'run-2');
    await landRecords(wh.pool, 'stripe', 'charges', [charge('ch_cents', { amount: 1050 }), charge('ch_neg', { amount_refunded: -5 })], 'run-2');
    await landRecords(wh.pool, 'shipments', 'shipments', [parcel('T-when', { shipped_at: 'monday' })], 'run-2');

    const second = await runModels(wh.db, config, { models, now: DAY3 });
    expect(second.error).toBeUndefined();
    expect(modes(second)).toEqual({
      'staging.shopify_orders': 'incremental',
      'staging.stripe_charges': 'incremental',
      // Nothing of its own changed, but the record it set aside is checked again.
      'staging.stripe_balance_transactions': 'incremental',
      'staging.shipments': 'incremental',
    });
    expect(await setAside()).toEqual([
      { stream: 'balance_transactions', key: 'txn_cur', reason: 'currency "xx" is not an ISO 4217 currency code' },
      { stream: 'charges', key: 'ch_huge', reason: 'created "99999999999999999999" is not a Unix time in seconds' },
      { stream: 'charges', key: 'ch_neg', reason: 'amount_refunded "-5" is negative' },
      { stream: 'shipments', key: 'T-cost', reason: 'shipping_cost "NaN" is not a decimal amount' },
      { stream: 'shipments', key: 'T-when', reason: 'shipped_at "monday" is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)' },
    ]);
    expect(await foldedColumns()).toEqual([]);
    // Order 3 is no longer in the future; order 2 parses.
    expect(await rows(`select order_id, total_price::text from staging.shopify_orders order by 1`)).toEqual([
      { order_id: '1', total_price: '54.90' },
      { order_id: '2', total_price: '54.90' },
      { order_id: '3', total_price: '54.90' },
    ]);
    expect(await rows(`select charge_id, amount::float8 from staging.stripe_charges order by 1`)).toEqual([
      { charge_id: 'ch_cents', amount: 10.5 },
      { charge_id: 'ch_ok', amount: 10 },
    ]);
    expect(await rows(`select shipment_key from staging.shipments`)).toEqual([{ shipment_key: 'T-ok' }]);
  });

  it('a model whose check is folded into it but that does not select the column fails, saying so', async () => {
    const check = rawRecordsCheck('stripe', 'charges', 'charge_id', () => sql<string | null>`null`, { foldedInto: 'staging.folded_without_column' });
    const model = {
      name: 'staging.folded_without_column',
      dependsOn: ['raw.stripe__charges'],
      description: 'a model that forgot foldedProblem',
      checks: [check],
      build: (db) => db.selectFrom('raw.stripe__charges').select(sql<string>`_key`.as('charge_id')),
    } as Model;
    const result = await runModels(wh.db, config, { models: [model], now: DAY3 });
    expect(result.status).toBe('failed');
    expect(result.results[0]).toMatchObject({
      model: 'staging.folded_without_column',
      status: 'failed',
      error: 'staging.folded_without_column: its check "fields parse" of stripe charges is folded into it, but its query does not select _problem (select foldedProblem(check, ctx))',
    });
  });
});
