import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { configSchema, type VeriteConfig } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms, type TransformResult } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { coreAndMetrics as snapshotOf, day, landDemoDay, morningAfter, ORDERS_PER_DAY, rawRecords, START } from '../support/demo-shop.ts';
import { landRecords } from '../support/land.ts';

/**
 * Issue 16, acceptance 3: a shop built day by day, thirty runs, each landing one day and
 * building incrementally, with late updates, a refund on a later day, an order that arrives
 * late and becomes its customer's first, a restated ad day, a corrected exchange rate, a
 * deleted order, a charge and a shipment changed after the fact; then every core and metrics
 * table is compared, row for row, with a full rebuild of the same raw data.
 */
const DAYS = 30;
const log = createLogger(process.stderr, 'silent');

let wh: Warehouse;
let config: VeriteConfig;

beforeAll(async () => {
  wh = await createTestDatabase('incremental');
  // Paris: local days are not UTC days, so a date computed in the wrong zone shows.
  config = configSchema.parse({ reportingTimezone: 'Europe/Paris', sources: { demo: {} }, transform: { fullRebuildEveryDays: 365 } });
});
afterAll(async () => {
  await wh?.close();
});

const landDay = (i: number) => landDemoDay(wh, config, log, i);
const raw = (table: string, where: string) => rawRecords(wh, table, where);

/** A raw order of the given local day (UTC date of created_at), the n-th by key. */
async function orderOf(i: number, n = 0): Promise<Record<string, unknown>> {
  const rows = await raw('shopify__orders', `(_record->>'created_at')::date = '${day(i)}'`);
  expect(rows.length).toBeGreaterThan(n);
  return rows[n]!;
}

const bumped = (i: number, hour = 12) => new Date(START + i * 86_400_000 + hour * 3_600_000).toISOString();

/** What happens after the fact, on the day it is landed. */
const events: Record<number, () => Promise<void>> = {
  // A late update: an order of day 1 corrected (another total) and moved to another customer.
  5: async () => {
    const o = await orderOf(1);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...o, total_price: (Number(o.total_price) + 10).toFixed(2), email: 'moved@example.com', customer: null, updated_at: bumped(5) }], 'late-update');
  },
  // A refund on a later day, of an order of day 2.
  8: async () => {
    const o = await orderOf(2);
    const refund = {
      id: 990001,
      created_at: bumped(8),
      refund_line_items: [],
      transactions: [{ id: 990002, kind: 'refund', status: 'success', amount: '5.00', currency: o.currency, created_at: bumped(8) }],
    };
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...o, refunds: [...((o.refunds as unknown[]) ?? []), refund], updated_at: bumped(8) }], 'late-refund');
  },
  // An order that arrives late, dated day 3, of the customer of an order of day 6: it becomes that customer's first.
  10: async () => {
    const o = await orderOf(6);
    const { refunds: _refunds, ...rest } = o;
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...rest, id: 880001, name: '#880001', created_at: bumped(3, 9), updated_at: bumped(10), refunds: [] }], 'late-order');
  },
  // A restated ad day: day 4's Google Ads rows again, one with another cost, one gone.
  12: async () => {
    const rows = await raw('google_ads__campaign_daily', `_report_date = '${day(4)}'`);
    expect(rows.length).toBeGreaterThan(1);
    const [first, , ...others] = rows;
    const metrics = first!.metrics as Record<string, unknown>;
    await landRecords(wh.pool, 'google_ads', 'campaign_daily', [{ ...first!, metrics: { ...metrics, costMicros: String(Number(metrics.costMicros ?? 0) + 7_000_000) } }, ...others], 'restated');
  },
  // A corrected exchange rate, for day 7 (a Monday).
  15: async () => {
    const rows = await raw('fx__rates', `_record->>'date' = '${day(7)}'`);
    expect(rows.length).toBeGreaterThan(0);
    await landRecords(wh.pool, 'fx', 'rates', [{ ...rows[0]!, rate: Number(rows[0]!.rate) * 1.01 }], 'fx-correction');
  },
  // A deleted order (of day 7).
  20: async () => {
    const o = await orderOf(7);
    await landRecords(wh.pool, 'shopify', 'deletions', [{ id: 770001, subject_id: o.id, subject_type: 'Order', verb: 'destroy', created_at: bumped(20) }], 'deletion');
  },
  // A charge refunded afterwards, and a shipment delivered later than it said.
  22: async () => {
    const [charge] = await raw('stripe__charges', `to_timestamp((_record->>'created')::bigint)::date = '${day(9)}'`);
    expect(charge).toBeDefined();
    await landRecords(wh.pool, 'stripe', 'charges', [{ ...charge!, amount_refunded: charge!.amount, refunded: true }], 'charge-refunded');
    const [shipment] = await raw('shipments__shipments', `true`);
    expect(shipment).toBeDefined();
    await landRecords(wh.pool, 'shipments', 'shipments', [{ ...shipment!, status: 'delivered', delivered_at: bumped(22) }], 'shipment-late');
  },
  // An order cancelled afterwards, one with a shipment: its shipment leaves the fulfilment metrics with it.
  25: async () => {
    const shipped = await wh.pool.query(`select order_id from core.shipments where order_is_counted and shipped_date < '${day(10)}' order by shipment_key limit 1`);
    expect(shipped.rows).toHaveLength(1);
    const [o] = await raw('shopify__orders', `_key = '${shipped.rows[0].order_id}'`);
    await landRecords(wh.pool, 'shopify', 'orders', [{ ...o!, cancelled_at: bumped(25), updated_at: bumped(25) }], 'late-cancel');
    cancelled = String(o!.id);
  },
};
/** The order cancelled on day 25 (its shipment is checked after that run). */
let cancelled: string | undefined;

/** Every row of every table of `core` and `metrics`, as text, sorted: what the two builds are compared on. */
const snapshot = () => snapshotOf(wh);

/**
 * The customer tables and the state they are read from (metrics/customer-state.ts), as text,
 * sorted: compared after an incremental refresh and after a full one at the same clock.
 */
async function customerTables(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const name of ['metrics.customer_kpis', 'metrics.cohort_monthly', 'ops.customer_metric_events', 'ops.customer_kpi_days', 'ops.cohort_month_activity']) {
    const rows = await wh.pool.query(`select t::text as row from ${name} t order by 1`);
    out[name] = rows.rows.map((r) => r.row as string);
  }
  // A full refresh drops the state's index to fill the table, and builds it again.
  const indexes = await wh.pool.query(`select indexname from pg_indexes where schemaname = 'ops' and tablename = 'customer_metric_events'`);
  out.indexes = indexes.rows.map((r) => r.indexname as string);
  expect(out.indexes).toEqual(['customer_metric_events_customer_key']);
  return out;
}

/** The runs after which the customer tables are compared with a full refresh: each event's, and the last. */
const COMPARED = new Set([...Object.keys(events).map(Number), DAYS - 1]);

describe('the incremental build (issue 16)', () => {
  it('built day by day over thirty runs, gives every core and metrics table exactly as a full rebuild does', async () => {
    const modes: TransformResult['results'][] = [];
    const mode = (run: number, model: string) => modes[run]!.find((r) => r.model === model)?.mode;
    for (let i = 0; i < DAYS; i++) {
      await landDay(i);
      await events[i]?.();
      const transform = await runTransforms(wh, config, { log, now: morningAfter(i) });
      expect(transform.status, transform.error).toBe('succeeded');
      modes.push(transform.results);
      const metrics = await refreshMetrics(wh, config, log, { now: morningAfter(i) });
      expect(metrics.status, metrics.error).toBe('succeeded');
      if (i === 25) {
        // The incremental build rebuilt the cancelled order's shipments: no longer counted.
        const flags = await wh.pool.query(`select distinct order_is_counted from core.shipments where order_id = $1`, [cancelled]);
        expect(flags.rows).toEqual([{ order_is_counted: false }]);
        expect(mode(i, 'core.shipments')).toBe('incremental');
      }
      if (i > 0) {
        // Each night's new orders move both customer tables, by the customers replaced: rebuilt for some dates, never in full.
        for (const table of ['metrics.customer_kpis', 'metrics.cohort_monthly']) expect(metrics.tables.find((t) => t.table === table)?.mode, `${table}, run ${i}`).toBe('incremental');
      }
      if (COMPARED.has(i)) {
        // A late order that becomes its customer's first, one moved to another customer, a refund on a later day, a restated
        // ad day, a corrected rate, a deleted order, a cancelled one: the customer tables (and their state) as a full refresh gives them.
        const incremental = await customerTables();
        const full = await refreshMetrics(wh, config, log, { now: morningAfter(i), full: true });
        expect(full.status, full.error).toBe('succeeded');
        expect(incremental, `run ${i}`).toEqual(await customerTables());
      }
    }
    // The first run builds everything in full; after it, the big tables are brought up to date from their changes.
    expect(mode(0, 'core.orders')).toBe('full');
    for (const run of [5, 8, 10, 20, 29]) {
      expect(mode(run, 'staging.shopify_orders')).toBe('incremental');
      expect(mode(run, 'core.orders')).toBe('incremental');
      expect(mode(run, 'core.customers')).toBe('incremental');
    }
    expect(mode(12, 'staging.google_ads_campaigns')).toBe('incremental');

    const incremental = await snapshot();
    const last = morningAfter(DAYS - 1);
    const full = await runTransforms(wh, config, { log, now: last, full: true });
    expect(full.status, full.error).toBe('succeeded');
    expect(full.results.every((r) => r.mode === 'full')).toBe(true);
    const metrics = await refreshMetrics(wh, config, log, { now: last });
    expect(metrics.status, metrics.error).toBe('succeeded');
    const rebuilt = await snapshot();

    expect(Object.keys(incremental)).toEqual(Object.keys(rebuilt));
    expect(incremental['core.orders']!.length).toBeGreaterThan(DAYS * ORDERS_PER_DAY * 0.5);
    for (const table of Object.keys(rebuilt)) expect(incremental[table], table).toEqual(rebuilt[table]);

    // The events are in the tables compared: the deleted order is not counted, the late order
    // is its customer's first, the late refund is there, the restated ad day has its new cost.
    const deleted = await orderOf(7);
    const counted = await wh.pool.query(`select is_counted, is_deleted from core.orders where order_id = $1`, [String(deleted.id)]);
    expect(counted.rows).toEqual([{ is_counted: false, is_deleted: true }]);
    const late = await wh.pool.query(`select is_first_order, customer_order_seq from core.orders where order_id = '880001'`);
    expect(late.rows).toEqual([{ is_first_order: true, customer_order_seq: 1 }]);
    const refund = await wh.pool.query(`select amount::text from core.refunds where refund_transaction_id = '990002'`);
    expect(refund.rows).toEqual([{ amount: '5.00' }]);
  }, 600_000);
});
