import { sql, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { TransformContext } from '../../transforms/model.ts';
import { readFrom } from '../../transforms/incremental.ts';
import { shipmentProblem, stagingShipments } from '../../transforms/staging/shipments.ts';
import { balanceTransactionPlain, balanceTransactionProblem } from '../../transforms/staging/stripe-balance-transactions.ts';
import { chargePlain, chargeProblem } from '../../transforms/staging/stripe-charges.ts';
import { shopifyOrderProblem, stagingShopifyOrders } from '../../transforms/staging/shopify-orders.ts';
import { jsonSum } from '../../transforms/sql.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * The set-aside check of the raw orders works out an order's problem only when the order is not
 * "plainly fine" (`shopifyOrderPlain`, a cheap test that runs on parallel workers). That test
 * may send a good order the slow way, never let a bad one through: for every record below,
 * plain must imply no problem, and the records marked plain by hand must be.
 */

let wh: Warehouse;
const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'EUR' });
const ctx: TransformContext = {
  reportingTimezone: 'Europe/Paris',
  reportingCurrency: 'EUR',
  channels: [],
  metaPurchaseActionType: 'omni_purchase',
  now: new Date('2024-03-06T12:00:00Z'),
  config,
};

beforeAll(async () => {
  wh = await createTestDatabase('plain_records');
});

afterAll(async () => {
  await wh?.close();
});

/** A good order, as the Admin API writes it; `patch` replaces top-level fields. */
function order(patch: Record<string, unknown> = {}) {
  return {
    id: 1,
    name: '#1001',
    created_at: '2024-03-01T10:00:00+01:00',
    cancelled_at: null,
    test: false,
    taxes_included: true,
    currency: 'EUR',
    total_price: '54.90',
    subtotal_price: '49.90',
    total_discounts: '0.00',
    total_tax: '9.15',
    total_shipping_price_set: { shop_money: { amount: '5.00', currency_code: 'EUR' } },
    shipping_lines: [{ price: '5.00' }],
    line_items: [{ quantity: 1, price: '49.90', total_discount: '0.00', discount_allocations: [{ amount: '0.00' }], tax_lines: [{ price: '8.32' }] }],
    refunds: [],
    ...patch,
  };
}
const line = (patch: Record<string, unknown>) => [{ ...order().line_items[0], ...patch }];
const item = (patch: Record<string, unknown> = {}) => ({ line_item_id: 1, quantity: 1, subtotal: '49.90', total_tax: '8.32', ...patch });
const tx = (patch: Record<string, unknown> = {}) => ({ kind: 'refund', status: 'success', amount: '49.90', currency: 'EUR', created_at: '2024-03-02T10:00:00Z', ...patch });
/** A refund as the Admin API writes it within its order. */
const refund = (patch: Record<string, unknown> = {}) => ({ id: 9, created_at: '2024-03-02T10:00:00+01:00', refund_line_items: [item()], transactions: [tx()], ...patch });

/** Each record, and whether it is plainly fine (worked out by hand from the rules of the check). */
const RECORDS: [label: string, record: unknown, plain: boolean][] = [
  ['a good order', order(), true],
  ['numbers as JSON numbers', order({ total_price: 54.9, line_items: line({ price: 49.9, quantity: 2 }) }), true],
  ['quantity as a string of digits', order({ line_items: line({ quantity: '3' }) }), true],
  ['a line an edit took a unit off', order({ line_items: line({ quantity: 2, current_quantity: 1 }) }), true],
  ['a line an edit removed, its current quantity a string of digits', order({ line_items: line({ current_quantity: '0' }) }), true],
  ['a current quantity null', order({ line_items: line({ current_quantity: null }) }), true],
  ['no lines, no shipping lines', order({ line_items: [], shipping_lines: [] }), true],
  ['a null line price', order({ line_items: line({ price: null }) }), true],
  ['the 31st of a long month', order({ created_at: '2024-01-31T23:30:00Z' }), true],
  ['cancelled, plainly', order({ cancelled_at: '2024-03-02T10:00:00Z' }), true],
  ['no subtotal, tax or discounts', order({ subtotal_price: null, total_tax: null, total_discounts: undefined }), true],
  ['test and taxes_included absent', order({ test: undefined, taxes_included: null }), true],
  ['a date and time with milliseconds and a negative offset', order({ created_at: '2024-03-01T10:00:00.123-05:00' }), true],
  ['the 30th of April at 23:59:59', order({ created_at: '2023-04-30T23:59:59Z' }), true],
  // The dates are those the model parsed (ops.parse_timestamptz), in range: what the check reads.
  ['29 February of a leap year', order({ created_at: '2024-02-29T10:00:00Z' }), true],
  ['no offset, read as UTC', order({ created_at: '2024-03-01T10:00:00' }), true],
  ['a blank before the date', order({ created_at: ' 2024-03-01T10:00:00Z' }), true],
  ['an offset without a colon', order({ created_at: '2024-03-01T10:00:00+0100' }), true],
  // The run day in Paris is 2024-03-06: 22:59:59 UTC is still that day there, 23:00 the next;
  // 1994-12-31T23:00:00Z is already 1 January 1995 there.
  ['the last second of the run day in Paris', order({ created_at: '2024-03-06T22:59:59Z' }), true],
  ['the same second written in Paris time', order({ created_at: '2024-03-06T23:59:59+01:00' }), true],
  ['the first second of 1995 in Paris', order({ created_at: '1994-12-31T23:00:00Z' }), true],
  ['the first second of 1995 written with its offset', order({ created_at: '1995-01-01T00:00:00+01:00' }), true],
  ['cancelled after the run day in Paris', order({ cancelled_at: '2024-03-06T23:00:00Z' }), false],
  ['cancelled on 31 April', order({ cancelled_at: '2023-04-31T10:00:00Z' }), false],
  ['a refund', order({ refunds: [refund()] }), true],
  ['a refund dated two days before the run day in Paris', order({ refunds: [refund({ created_at: '2024-03-04T23:59:59-12:00' })] }), true],
  ['two refunds, one of two lines with a failed transaction', order({ refunds: [refund(), refund({ refund_line_items: [item(), item({ quantity: '2' })], transactions: [tx({ status: 'failure' }), tx()] })] }), true],
  ['a refund with a transaction of no currency', order({ refunds: [refund({ transactions: [tx({ currency: null })] })] }), true],
  // JSON paths read a lone object as an array of one; the check reads no refund there at all.
  ['refunds not an array, plainly good', order({ refunds: refund() }), true],
  // Sent the slow way: each may or may not have a problem, the full check decides.
  ['a refund dated the day before the run day', order({ refunds: [refund({ created_at: '2024-03-05T10:00:00Z' })] }), false],
  ['a refund dated after the run day', order({ refunds: [refund({ created_at: '2024-03-07T10:00:00Z' })] }), false],
  ['a refund dated before 1995', order({ refunds: [refund({ created_at: '1994-06-01T10:00:00Z' })] }), false],
  ['a refund dated 2 January 1995', order({ refunds: [refund({ created_at: '1995-01-02T10:00:00Z' })] }), false],
  ['a refund of no date, its transaction dated', order({ refunds: [refund({ created_at: null, transactions: [tx({ created_at: '2024-03-02T10:00:00Z' })] })] }), false],
  ['a refund dated 30 February', order({ refunds: [refund({ created_at: '2023-02-30T10:00:00Z' })] }), false],
  ['a refund of one undated and one dated', order({ refunds: [refund(), { ...refund(), created_at: undefined }] }), false],
  ['a refunded quantity -1', order({ refunds: [refund({ refund_line_items: [item({ quantity: -1 })] })] }), false],
  ['a refunded subtotal a word', order({ refunds: [refund({ refund_line_items: [item({ subtotal: 'ten' })] })] }), false],
  ['a refunded tax negative', order({ refunds: [refund({ refund_line_items: [item({ total_tax: '-0.50' })] })] }), false],
  ['a refund transaction of no amount', order({ refunds: [refund({ transactions: [{ ...tx(), amount: undefined }] })] }), false],
  ['a refund transaction of amount null', order({ refunds: [refund({ transactions: [tx({ amount: null })] })] }), false],
  ['a failed transaction of a bad amount', order({ refunds: [refund({ transactions: [tx({ status: 'failure', amount: 'x' }), tx()] })] }), false],
  ['a refund transaction in XYZ', order({ refunds: [refund({ transactions: [tx({ currency: 'XYZ' })] })] }), false],
  ['a refund transaction in eur', order({ refunds: [refund({ transactions: [tx({ currency: 'eur' })] })] }), false],
  ['refunds not an array, of a bad quantity', order({ refunds: refund({ refund_line_items: [item({ quantity: 'x' })] }) }), false],
  ['refunds null', order({ refunds: null }), false],
  ['30 February', order({ created_at: '2023-02-30T10:00:00Z' }), false],
  ['31 April', order({ created_at: '2023-04-31T10:00:00Z' }), false],
  ['a date alone', order({ created_at: '2024-03-01' }), false],
  ['year 0000', order({ created_at: '0000-03-01T10:00:00Z' }), false],
  ['dated after the run day in Paris', order({ created_at: '2024-03-06T23:30:00Z' }), false],
  ['dated before 1995', order({ created_at: '1994-12-31T10:00:00Z' }), false],
  ['created_at missing', order({ created_at: null }), false],
  ['cancelled_at a word', order({ cancelled_at: 'yesterday' }), false],
  ['a negative total', order({ total_price: '-5.00' }), false],
  ['total NaN', order({ total_price: 'NaN' }), false],
  ['quantity 2.0', order({ line_items: line({ quantity: 2.0001 }) }), false],
  ['quantity -1', order({ line_items: line({ quantity: -1 }) }), false],
  ['quantity a word', order({ line_items: line({ quantity: 'two' }) }), false],
  ['current quantity -1', order({ line_items: line({ current_quantity: -1 }) }), false],
  ['current quantity 1.5', order({ line_items: line({ current_quantity: '1.5' }) }), false],
  ['current quantity a word', order({ line_items: line({ current_quantity: 'one' }) }), false],
  ['a negative line price', order({ line_items: line({ price: -1 }) }), false],
  ['a line price with blanks', order({ line_items: line({ price: ' 49.90 ' }) }), false],
  ['a line price "12."', order({ line_items: line({ price: '12.' }) }), false],
  ['a line price as an object', order({ line_items: line({ price: { amount: '49.90' } }) }), false],
  ['a line price as an array', order({ line_items: line({ price: ['49.90'] }) }), false],
  ['a bad discount allocation', order({ line_items: line({ discount_allocations: [{ amount: 'x' }] }) }), false],
  ['a bad tax line', order({ line_items: line({ tax_lines: [{ price: '-1' }] }) }), false],
  ['a bad shipping line', order({ shipping_lines: [{ price: 'free' }] }), false],
  ['line items not an array', order({ line_items: { price: 'x' } }), false],
  ['currency XX', order({ currency: 'XX' }), false],
  ['test a word', order({ test: 'maybe' }), false],
  ['test in capitals', order({ test: 'TRUE' }), false],
  ['currency in lower case', order({ currency: 'eur' }), false],
  ['a total with a blank', order({ total_price: ' 54.90' }), false],
  ['a total written 54.', order({ total_price: '54.' }), false],
  ['no total', order({ total_price: null }), false],
  ['a total with a decimal comma', order({ total_price: '54,90' }), false],
  ['a total with a letter for the point', order({ total_price: '54x90' }), false],
  ['a subtotal with a decimal comma', order({ subtotal_price: '49,90' }), false],
  ['a shipping total with a decimal comma', order({ total_shipping_price_set: { shop_money: { amount: '5,00', currency_code: 'EUR' } } }), false],
  ['a negative tax', order({ total_tax: '-1.00' }), false],
  // The order's amounts are matched with its lines' in one pattern (plainJsonAmounts).
  ['subtotal, tax and shipping total as JSON numbers', order({ subtotal_price: 49.9, total_tax: 9.15, total_shipping_price_set: { shop_money: { amount: 5, currency_code: 'EUR' } } }), true],
  ['discounts true', order({ total_discounts: true }), false],
  ['a tax as an object', order({ total_tax: { amount: '1.00' } }), false],
  ['a subtotal as an array', order({ subtotal_price: ['49.90'] }), false],
  ['a line price with a bracket', order({ line_items: line({ price: '49]90' }) }), false],
  ['a shipping line price null, discounts an empty text', order({ shipping_lines: [{ price: null }], total_discounts: '' }), false],
  ['an offset of 16 hours', order({ created_at: '2024-03-01T10:00:00+16:00' }), false],
  ['hour 24', order({ created_at: '2024-03-01T24:00:00Z' }), false],
  ['minute 60', order({ created_at: '2024-03-01T10:60:00Z' }), false],
  ['second 60', order({ created_at: '2024-03-01T10:00:60Z' }), false],
  ['month 13', order({ created_at: '2024-13-01T10:00:00Z' }), false],
  ['digits of another script', order({ created_at: '٢٠٢٤-03-01T10:00:00Z' }), false],
];

describe('the raw orders that are plainly fine', () => {
  it('plain implies no problem, and the plain records are those worked out by hand', async () => {
    await sql`create temp table records (_key text, _record jsonb)`.execute(wh.db);
    for (const [label, record] of RECORDS) await sql`insert into records values (${label}, ${JSON.stringify(record)}::jsonb)`.execute(wh.db);
    // The plain test runs where the model selects it (it reads the dates the model parsed): the
    // model's own query, over these records, marks the orders that are not plain.
    const build = stagingShopifyOrders.build(wh.db, ctx).compile();
    const built = await wh.pool.query(readFrom(build.sql, new Map([['raw.shopify__orders', 'pg_temp.records']])), [...build.parameters]);
    const plainOf = new Map(built.rows.map((r: { order_id: string; _problem: string | null }) => [r.order_id, r._problem === null]));
    const problems = await sql<{ _key: string; problem: string | null }>`select _key, ${shopifyOrderProblem(ctx)} as problem from records`.execute(wh.db);
    const byLabel = new Map(problems.rows.map((r) => [r._key, { ...r, plain: plainOf.get(r._key)! }]));
    expect(plainOf.size).toBe(RECORDS.length);
    for (const [label, , plain] of RECORDS) {
      const row = byLabel.get(label)!;
      expect({ label, plain: row.plain }).toEqual({ label, plain });
      if (row.plain) expect({ label, problem: row.problem }).toEqual({ label, problem: null });
    }
    // The slow way still finds the problems: a few of them, as the check words them.
    expect(byLabel.get('quantity -1')!.problem).toBe('line_items[0].quantity "-1" is negative');
    expect(byLabel.get('current quantity -1')!.problem).toBe('line_items[0].current_quantity "-1" is negative');
    expect(byLabel.get('current quantity 1.5')!.problem).toBe('line_items[0].current_quantity "1.5" is not a whole number');
    expect(byLabel.get('31 April')!.problem).toMatch(/^created_at "2023-04-31T10:00:00Z" is not a valid ISO 8601 date and time/);
    expect(byLabel.get('a refund dated the day before the run day')!.problem).toBeNull();
    expect(byLabel.get('a refund of no date, its transaction dated')!.problem).toBeNull();
    expect(byLabel.get('a failed transaction of a bad amount')!.problem).toBeNull();
    expect(byLabel.get('a refund transaction in eur')!.problem).toBeNull();
    expect(byLabel.get('a refund dated after the run day')!.problem).toMatch(/^refunds\[0\]\.created_at "2024-03-07T10:00:00Z" is dated after 2024-03-06/);
    expect(byLabel.get('a refund transaction of amount null')!.problem).toBe('refunds[0].transactions[0].amount is missing');
    expect(byLabel.get('a refunded quantity -1')!.problem).toBe('refunds[0].refund_line_items[0].quantity "-1" is negative');
    expect(byLabel.get('29 February of a leap year')!.problem).toBeNull();
    expect(byLabel.get('test in capitals')!.problem).toBeNull();
    expect(byLabel.get('an offset without a colon')!.problem).toBeNull();
    expect(byLabel.get('cancelled after the run day in Paris')!.problem).toMatch(/^cancelled_at "2024-03-06T23:00:00Z" is dated after 2024-03-06/);
    expect(byLabel.get('the first second of 1995 in Paris')!.problem).toBeNull();
    expect(byLabel.get('a total written 54.')!.problem).toBeNull();
    expect(byLabel.get('minute 60')!.problem).toMatch(/^created_at "2024-03-01T10:60:00Z" is not a valid ISO 8601 date and time/);
    expect(byLabel.get('no total')!.problem).toBe('total_price is missing');
    expect(byLabel.get('a total with a decimal comma')!.problem).toMatch(/^total_price "54,90" is not a decimal/);
    expect(byLabel.get('a total with a letter for the point')!.problem).toMatch(/^total_price "54x90" is not a decimal/);
  });

  it('payment gateways and the shipping total read without a subquery per order: plain arrays from their text, the rest by function', async () => {
    const base = (id: number, patch: Record<string, unknown>) => ({ ...order({ id, name: `#${1000 + id}` }), ...patch });
    const noTotal = { total_shipping_price_set: undefined };
    await landRecords(wh.pool, 'shopify', 'orders', [
      base(1, { payment_gateway_names: ['Shopify_Payments', 'PayPal'] }),
      base(2, { payment_gateway_names: [] }),
      base(3, { payment_gateway_names: undefined }),
      base(4, { payment_gateway_names: ['a"b', 'x,y', ''] }),
      base(5, { payment_gateway_names: [1, 'PayPal'] }),
      base(6, { payment_gateway_names: 'manual' }),
      base(7, { ...noTotal, shipping_lines: [{ price: '2.50' }, { price: '1.00' }] }),
      base(8, { ...noTotal, shipping_lines: [] }),
      base(9, { ...noTotal, shipping_lines: undefined }),
    ]);
    const rows = (await wh.db.executeQuery<Record<string, unknown>>(stagingShopifyOrders.build(wh.db, ctx).compile())).rows;
    const by = new Map(rows.map((r) => [String(r.order_id), r]));
    expect([1, 2, 3, 4, 5, 6].map((id) => by.get(String(id))!.payment_gateway_names)).toEqual([
      ['shopify_payments', 'paypal'],
      [],
      [],
      ['a"b', 'x,y', ''],
      ['1', 'paypal'],
      [],
    ]);
    // Order 1 has its total (5.00); 7 sums its lines, 2.50 + 1.00; 8 and 9 have nothing to sum.
    expect([1, 7, 8, 9].map((id) => Number(by.get(String(id))!.total_shipping))).toEqual([5, 3.5, 0, 0]);
  });

  it('jsonSum adds a field over an array without a subquery, up to three elements written out and more by function', async () => {
    const cases: [unknown, number][] = [
      [null, 0],
      ['not an array', 0],
      [{ amount: '5.00' }, 0],
      [[], 0],
      [[{ amount: '1.25' }], 1.25],
      [[{ amount: '1.25' }, { amount: 'x' }], 1.25],
      [[{ amount: '1.25' }, { amount: null }, { amount: '2' }], 3.25],
      [[{ amount: '1' }, { amount: '2' }, { amount: '3' }, { amount: '4.5' }], 10.5],
      [[{ other: '1' }, 'a string', 7, { amount: '0.10' }, { amount: '0.20' }], 0.3],
    ];
    for (const [array, expected] of cases) {
      const res = await sql<{ total: string }>`select ${jsonSum(sql`${JSON.stringify(array)}::jsonb`, 'amount')} as total`.execute(wh.db);
      expect({ array, total: Number(res.rows[0]!.total) }).toEqual({ array, total: expected });
    }
  });

  it('ops.url_decode checks the bytes are UTF-8 instead of catching the error, and gives the same text', async () => {
    const cases: [string, string][] = [
      ['caf%C3%A9', 'café'],
      ['a+b%20c', 'a b c'],
      ['%E2%82%AC5', '€5'],
      ['%F0%9F%98%80', '😀'],
      ['100%', '100%'],
      ['x%2', 'x%2'],
      // Not UTF-8 once decoded: the value as written.
      ['%FF', '%FF'],
      ['%C3', '%C3'],
      ['a%00b', 'a%00b'],
      ['%ED%A0%80', '%ED%A0%80'],
      ['%F4%90%80%80', '%F4%90%80%80'],
      ['%C0%AF', '%C0%AF'],
    ];
    for (const [v, expected] of cases) {
      const res = await sql<{ decoded: string }>`select ops.url_decode(${v}) as decoded`.execute(wh.db);
      expect({ v, decoded: res.rows[0]!.decoded }).toEqual({ v, decoded: expected });
    }
    const safe = await sql<{ proname: string; proparallel: string }>`
      select proname, proparallel from pg_proc where pronamespace = 'ops'::regnamespace and proname in ('url_decode', 'url_param') order by proname`.execute(wh.db);
    expect(safe.rows).toEqual([{ proname: 'url_decode', proparallel: 's' }, { proname: 'url_param', proparallel: 's' }]);
  });

  it('ops.try_timestamptz asks the server whether the text is a timestamp instead of catching the error, and gives what the cast gives', async () => {
    // [text, the instant in UTC or null], worked out by hand (the session's zone is UTC).
    const cases: [string | null, string | null][] = [
      ['2024-03-01T10:00:00+01:00', '2024-03-01T09:00:00.000Z'],
      ['  2024-03-01 10:00:00  ', '2024-03-01T10:00:00.000Z'],
      ['2024-03-01', '2024-03-01T00:00:00.000Z'],
      ['March 1, 2024 10:00 UTC', '2024-03-01T10:00:00.000Z'],
      ['2024-02-30T10:00:00Z', null],
      ['2024-03-01T25:00:00Z', null],
      ['not a date', null],
      ['', null],
      ['   ', null],
      [null, null],
    ];
    await wh.db.connection().execute(async (db) => {
      await sql`set timezone = 'UTC'`.execute(db);
      for (const [v, expected] of cases) {
        const res = await sql<{ t: Date | null }>`select ops.try_timestamptz(${v}) as t`.execute(db);
        expect({ v, t: res.rows[0]!.t?.toISOString() ?? null }).toEqual({ v, t: expected });
      }
      await sql`reset timezone`.execute(db);
    });
    const safe = await sql<{ proparallel: string }>`select proparallel from pg_proc where pronamespace = 'ops'::regnamespace and proname = 'try_timestamptz'`.execute(wh.db);
    // Before PostgreSQL 16 (no pg_input_is_valid) it keeps its exception block, which a parallel worker cannot run (migration 0023).
    const version = (await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(wh.db)).rows[0]!.v;
    expect(safe.rows).toEqual([{ proparallel: version >= 160000 ? 's' : 'u' }]);
  });

  it('a plain shipment implies no problem: dates alone or with a time, the promised one up to a year and a day ahead', async () => {
    const parcel = (patch: Record<string, unknown>) => ({
      order_id: '#1001', tracking_number: 'T1', carrier: 'UPS', shipped_at: '2024-03-02T09:00:00Z', estimated_delivery_at: '2024-03-05',
      delivered_at: '2024-03-04T15:00:00+01:00', returned_at: null, status: 'delivered', shipping_cost: '7.50', currency: 'EUR', ...patch,
    });
    // The run day in Paris is 2024-03-06; a promise may run 366 days on, to 2025-03-07.
    const cases: [label: string, record: unknown, plain: boolean][] = [
      ['a delivered parcel', parcel({}), true],
      ['no dates but the shipping', parcel({ estimated_delivery_at: null, delivered_at: null }), true],
      ['promised on the last day allowed', parcel({ estimated_delivery_at: '2025-03-07' }), true],
      ['promised on the 31st of a long month', parcel({ estimated_delivery_at: '2024-05-31' }), true],
      ['promised a day too far', parcel({ estimated_delivery_at: '2025-03-08' }), false],
      ['shipped tomorrow, a date alone', parcel({ shipped_at: '2024-03-07' }), false],
      ['delivered on 30 February', parcel({ delivered_at: '2024-02-30' }), false],
      // Read from the parsed date: exact, 29 February too.
      ['delivered on 29 February of a leap year', parcel({ delivered_at: '2024-02-29' }), true],
      ['a blank date', parcel({ returned_at: '' }), false],
      ['delivered in the last hour of the run day in Paris', parcel({ delivered_at: '2024-03-06T22:30:00Z' }), true],
      ['delivered in the first hour after it', parcel({ delivered_at: '2024-03-06T23:30:00Z' }), false],
      ['shipped on the run day, a date alone', parcel({ shipped_at: '2024-03-06' }), true],
      ['shipped before 1995, a date alone', parcel({ shipped_at: '1994-12-31' }), false],
      ['shipped without seconds or offset', parcel({ shipped_at: '2024-03-02 09:00' }), true],
      ['a date alone with blanks', parcel({ shipped_at: ' 2024-03-02 ' }), true],
      ['a cost as a number', parcel({ shipping_cost: 7.5 }), true],
      ['a cost with a decimal comma', parcel({ shipping_cost: '7,50' }), false],
      ['no currency', parcel({ currency: null }), true],
      ['currency in lower case', parcel({ currency: 'eur' }), true],
      ['a negative cost', parcel({ shipping_cost: '-1' }), false],
      ['currency XX', parcel({ currency: 'XX' }), false],
    ];
    await sql`create temp table parcels (_key text, _record jsonb)`.execute(wh.db);
    for (const [label, record] of cases) await sql`insert into parcels values (${label}, ${JSON.stringify(record)}::jsonb)`.execute(wh.db);
    // The plain test runs where the model selects it (it reads the dates the model parsed): the
    // model's own query, over these records, marks the shipments that are not plain.
    const build = stagingShipments.build(wh.db, ctx).compile();
    const built = await wh.pool.query(readFrom(build.sql, new Map([['raw.shipments__shipments', 'pg_temp.parcels']])), [...build.parameters]);
    const plainOf = new Map(built.rows.map((r: { shipment_key: string; _problem: string | null }) => [r.shipment_key, r._problem === null]));
    const problems = await sql<{ _key: string; problem: string | null }>`select _key, ${shipmentProblem(ctx)} as problem from parcels`.execute(wh.db);
    const rows = { rows: problems.rows.map((r) => ({ ...r, plain: plainOf.get(r._key)! })) };
    const byLabel = new Map(rows.rows.map((r) => [r._key, r]));
    for (const [label, , plain] of cases) {
      const row = byLabel.get(label)!;
      expect({ label, plain: row.plain }).toEqual({ label, plain });
      if (row.plain) expect({ label, problem: row.problem }).toEqual({ label, problem: null });
    }
    expect(byLabel.get('promised a day too far')!.problem).toBe('estimated_delivery_at "2025-03-08" is dated after 2025-03-07, in the future');
    expect(byLabel.get('delivered on 29 February of a leap year')!.problem).toBeNull();
    expect(byLabel.get('a blank date')!.problem).toBeNull();
  });

  it('a plain Stripe charge or balance transaction implies no problem: the seconds two days inside the range in UTC, whole amounts, a currency code', async () => {
    // The run day in Paris is 2024-03-06. Plain seconds run from 1995-01-02T00:00:00Z
    // (789004800: 9,132 days after 1970-01-01) to 2024-03-05T23:59:59Z (1709683199: 19,788 days, less a second).
    const charge = (patch: Record<string, unknown>) => ({ id: 'ch', amount: 1000, amount_captured: 1000, amount_refunded: 0, currency: 'usd', created: 1709287500, ...patch });
    const charges: [label: string, record: unknown, plain: boolean][] = [
      ['a charge', charge({}), true],
      ['created as a string', charge({ created: '1709287500' }), true],
      ['created at the last plain second', charge({ created: 1709683199 }), true],
      ['created on the run day in UTC', charge({ created: 1709683200 }), false],
      ['created the day after the run day', charge({ created: 1709769600 }), false],
      ['created at the first plain second', charge({ created: 789004800 }), true],
      ['created a second before it', charge({ created: 789004799 }), false],
      ['created on 31 December 1994 in UTC', charge({ created: 788918399 }), false],
      ['created with a fraction', charge({ created: '1709287500.5' }), false],
      ['created in milliseconds', charge({ created: 1709287500000 }), false],
      ['created blank', charge({ created: '' }), false],
      ['amount in leading zeros', charge({ amount: '007' }), true],
      ['amount negative', charge({ amount: -5 }), false],
      ['amount with a fraction', charge({ amount: '10.5' }), false],
      ['amount missing', charge({ amount: null }), false],
      ['nothing captured', charge({ amount_captured: null }), true],
      ['refunded blank', charge({ amount_refunded: '' }), false],
      ['currency in capitals', charge({ currency: 'USD' }), true],
      ['currency after a blank', charge({ currency: ' usd' }), false],
      ['currency xx', charge({ currency: 'xx' }), false],
      ['no currency', charge({ currency: null }), false],
    ];
    const balance = (patch: Record<string, unknown>) => ({ id: 'txn', amount: 1000, fee: 59, net: 941, currency: 'usd', created: 1709287500, ...patch });
    const balances: [label: string, record: unknown, plain: boolean][] = [
      ['a transaction', balance({}), true],
      ['a payout, negative', balance({ amount: -1000, fee: 0, net: -1000 }), true],
      // A won dispute's reversal gives its fee back: a negative fee is plain.
      ['a negative fee', balance({ fee: -5 }), true],
      ['a fee of two minus signs', balance({ fee: '--5' }), false],
      ['an amount with a plus', balance({ amount: '+5' }), false],
      ['an amount of two minus signs', balance({ amount: '--5' }), false],
      ['no fee', balance({ fee: null }), true],
      ['created the day after the run day', balance({ created: 1709769600 }), false],
    ];
    const run = async (table: string, cases: [string, unknown, boolean][], plain: RawBuilder<boolean>, problem: RawBuilder<string | null>) => {
      await sql`create temp table ${sql.id(table)} (_key text, _record jsonb)`.execute(wh.db);
      for (const [label, record] of cases) await sql`insert into ${sql.id(table)} values (${label}, ${JSON.stringify(record)}::jsonb)`.execute(wh.db);
      const rows = await sql<{ _key: string; plain: boolean; problem: string | null }>`select _key, coalesce(${plain}, false) as plain, ${problem} as problem from ${sql.id(table)}`.execute(wh.db);
      const byLabel = new Map(rows.rows.map((r) => [r._key, r]));
      for (const [label, , expected] of cases) {
        const row = byLabel.get(label)!;
        expect({ label, plain: row.plain }).toEqual({ label, plain: expected });
        if (row.plain) expect({ label, problem: row.problem }).toEqual({ label, problem: null });
      }
      return byLabel;
    };
    const c = await run('charges', charges, chargePlain(ctx), chargeProblem(ctx));
    // Not plain, and no problem either: the check decides.
    for (const label of ['created on the run day in UTC', 'created a second before it', 'created on 31 December 1994 in UTC', 'refunded blank', 'currency after a blank']) {
      expect({ label, problem: c.get(label)!.problem }).toEqual({ label, problem: null });
    }
    expect(c.get('created the day after the run day')!.problem).toBe('created "1709769600" is dated after 2024-03-06, in the future');
    expect(c.get('created in milliseconds')!.problem).toBe('created "1709287500000" is not a Unix time in seconds');
    const b = await run('balances', balances, balanceTransactionPlain(ctx), balanceTransactionProblem(ctx));
    expect(b.get('an amount with a plus')!.problem).toBeNull();
    expect(b.get('a negative fee')!.problem).toBeNull();
    expect(b.get('a fee of two minus signs')!.problem).toBe('fee "--5" is not a whole number');
  });
});
