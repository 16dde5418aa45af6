import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { freshnessLimit, streamStatus } from '../../pipeline/status.ts';
import { checkAlerts } from '../../scheduler/alerts.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Audit of issue 7: after a run on a Monday morning, fx.rates was "not fresh" (75 h) because the
 * ECB publishes rates on business days only, so a 36-hour freshness alert fired every weekend.
 * Streams now have limits of their own: configured (`streamFreshnessHours`), and fx.rates at
 * least 96 h (4 days) by default.
 */
let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('freshness');
});
afterAll(async () => wh?.close());
beforeEach(async () => {
  await wh.pool.query('delete from ops.stream_runs; delete from ops.runs; delete from ops.stream_state; delete from ops.alert_state');
  // The newest rate is Friday 3 May 2024's (a rate's date dates it: midnight UTC); the newest
  // order landed at 01:00 on Monday 6 May.
  await wh.pool.query(
    `insert into ops.stream_state (source, stream, state, data_through, updated_at) values
     ('fx', 'rates', '{"date":"2024-05-03"}', '2024-05-03T00:00:00Z', now()),
     ('shopify', 'orders', '{"updated_at":"2024-05-06T01:00:00Z"}', '2024-05-06T01:00:00Z', now())`,
  );
});

const MONDAY = new Date('2024-05-06T03:00:00Z'); // fx.rates 3 days 3 h old: 75 h; orders 2 h
const TUESDAY = new Date('2024-05-07T03:00:00Z'); // no new rate since: 99 h; orders 26 h

const rule = { metric: 'stream_freshness_hours', op: '>', threshold: 36 } as const;

describe('freshness limits per stream', () => {
  it('fx.rates is fresh on a Monday morning at 75 h (its limit is 96 h); the other streams keep freshnessHours', async () => {
    const config = configSchema.parse({});
    const status = await streamStatus(wh.db, config, MONDAY);
    const fx = status.find((s) => s.source === 'fx' && s.stream === 'rates')!;
    const orders = status.find((s) => s.source === 'shopify' && s.stream === 'orders')!;
    expect(fx).toMatchObject({ ageHours: 75, freshnessHours: 96, fresh: true });
    expect(orders).toMatchObject({ ageHours: 2, freshnessHours: 36, fresh: true });
    // A stream that never landed has no verdict, but says its limit.
    expect(status.find((s) => s.source === 'stripe' && s.stream === 'charges')).toMatchObject({ ageHours: null, freshnessHours: 36, fresh: null });
  });

  it('a configured limit wins; the built-in one is a floor under freshnessHours, never a ceiling', () => {
    const config = configSchema.parse({ freshnessHours: 120, streamFreshnessHours: { 'shopify.orders': 6, 'fx.rates': 48 } });
    expect(freshnessLimit(config, 'shopify.orders')).toBe(6);
    expect(freshnessLimit(config, 'fx.rates')).toBe(48);
    expect(freshnessLimit(config, 'stripe.charges')).toBe(120);
    expect(freshnessLimit(configSchema.parse({ freshnessHours: 120 }), 'fx.rates')).toBe(120);
    expect(freshnessLimit(configSchema.parse({}), 'fx.rates')).toBe(96);
  });

  it('the 36-hour freshness alert does not fire over a weekend, and fires once rates are missing for more than 96 h', async () => {
    const config = configSchema.parse({ alerts: { rules: [rule] } });
    const [monday] = await checkAlerts({ warehouse: wh, config, log: logger(), now: MONDAY, env: {} });
    expect(monday).toMatchObject({ firing: false, change: 'ok', value: 75 });
    expect(monday!.message).toBe('verite resolved: stream_freshness_hours is 75 hours (oldest: fx.rates at 75.0 h (limit 96 h)) (rule: above 36)');
    const [tuesday] = await checkAlerts({ warehouse: wh, config, log: logger(), now: TUESDAY, env: {} });
    expect(tuesday).toMatchObject({ firing: true, change: 'fired', value: 99 });
    expect(tuesday!.message).toBe('verite alert: stream_freshness_hours above 36: 99 hours (stale: fx.rates at 99.0 h (limit 96 h))');
  });

  it('a stream with a stricter limit of its own fires under the rule’s threshold', async () => {
    const config = configSchema.parse({ streamFreshnessHours: { 'shopify.orders': 12 }, alerts: { rules: [rule] } });
    const [monday] = await checkAlerts({ warehouse: wh, config, log: logger(), now: MONDAY, env: {} });
    expect(monday).toMatchObject({ firing: false });
    const [tuesday] = await checkAlerts({ warehouse: wh, config, log: logger(), now: TUESDAY, env: {} });
    // Orders at 26 h, past their 12 h; fx.rates at 99 h, past its 96 h. The stalest first.
    expect(tuesday).toMatchObject({ firing: true, value: 99 });
    expect(tuesday!.message).toBe('verite alert: stream_freshness_hours above 36: 99 hours (stale: fx.rates at 99.0 h (limit 96 h), shopify.orders at 26.0 h (limit 12 h))');
  });
});

/**
 * A shop that edits nothing in its catalogue for two weeks, and refunds nothing for days, runs
 * well: those streams (the catalogue's `sparse` ones) are fresh while a run reads them. A stream
 * of the daily business is judged by its data alone, however recently it was read.
 */
describe('sparse streams: fresh while their reads succeed', () => {
  beforeEach(async () => {
    await wh.pool.query('delete from ops.stream_state');
    await wh.pool.query(
      `insert into ops.stream_state (source, stream, state, data_through, updated_at) values
       ('shopify', 'products', null, '2024-04-20T00:00:00Z', now()),   -- last edited 16 days ago
       ('shopify', 'orders', null, '2024-04-20T00:00:00Z', now()),     -- no order for 16 days
       ('stripe', 'refunds', null, '2024-05-01T10:00:00Z', now()),
       ('costs', 'unit_costs', null, '2024-01-01T00:00:00Z', now())`,
    );
    await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, sources, started_at) values
      ('r0', 'run', 'cli', 'succeeded', '{stripe}', '2024-05-02T02:00:00Z'),
      ('b1', 'backfill', 'backfill', 'succeeded', '{costs}', '2024-05-06T01:00:00Z'),
      ('r1', 'run', 'cli', 'failed', '{shopify,stripe}', '2024-05-06T02:00:00Z')`);
    await wh.pool.query(`insert into ops.stream_runs (run_id, source, stream, status, started_at, finished_at) values
      ('r0', 'stripe', 'refunds', 'succeeded', '2024-05-02T02:00:00Z', '2024-05-02T02:01:00Z'),
      -- A backfill re-reads old dates: it does not make a stream fresh.
      ('b1', 'costs', 'unit_costs', 'succeeded', '2024-05-06T01:00:00Z', '2024-05-06T01:01:00Z'),
      ('r1', 'shopify', 'products', 'succeeded', '2024-05-06T02:00:00Z', '2024-05-06T02:01:00Z'),
      ('r1', 'shopify', 'orders', 'succeeded', '2024-05-06T02:01:00Z', '2024-05-06T02:02:00Z'),
      ('r1', 'stripe', 'refunds', 'failed', '2024-05-06T02:02:00Z', '2024-05-06T02:03:00Z')`);
  });

  it('measures a sparse stream from its last successful read when later than its data, and no other stream', async () => {
    const status = await streamStatus(wh.db, configSchema.parse({}), MONDAY);
    const of = (key: string) => status.find((s) => `${s.source}.${s.stream}` === key)!;
    // Read at 02:00, an hour before Monday 03:00; its data 16 days old.
    expect(of('shopify.products')).toMatchObject({ sparse: true, ageHours: 1, ageOf: 'last read', fresh: true });
    // Read at 02:01 too, but orders are judged by their data: 16 days and 3 hours.
    expect(of('shopify.orders')).toMatchObject({ sparse: false, ageHours: 16 * 24 + 3, ageOf: 'data', fresh: false });
    // Its last read failed; the one before succeeded on 2 May at 02:00 (after its newest refund): 4 days 1 hour.
    expect(of('stripe.refunds')).toMatchObject({ sparse: true, ageHours: 97, ageOf: 'last read', fresh: false });
    // Only a backfill read it: 1 Jan to 6 May 03:00 is 126 days and 3 hours.
    expect(of('costs.unit_costs')).toMatchObject({ sparse: true, ageHours: 126 * 24 + 3, ageOf: 'data', fresh: false });
  });

  it('the freshness alert names the stale streams only, saying when the age is that of the last successful read', async () => {
    const config = configSchema.parse({ alerts: { rules: [rule] } });
    const [monday] = await checkAlerts({ warehouse: wh, config, log: logger(), now: MONDAY, env: {} });
    expect(monday).toMatchObject({ firing: true, value: 3027 });
    expect(monday!.message).toBe(
      'verite alert: stream_freshness_hours above 36: 3027 hours (stale: costs.unit_costs at 3027.0 h, shopify.orders at 387.0 h, stripe.refunds at 97.0 h since its last successful read)',
    );
  });
});
