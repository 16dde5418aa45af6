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
  await wh.pool.query('delete from ops.stream_state; delete from ops.alert_state');
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
