import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { postLoadSteps } from '../../pipeline/steps.ts';
import type { WebhookPayload } from '../../scheduler/alerts.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { startWebhook, type LocalWebhook } from '../support/webhook.ts';
import { order } from '../transforms/fixtures.ts';

/**
 * Issue 17: a run that sets a record aside ends "succeeded with warnings" in `ops.runs`, does
 * not count as failed for `run_failed`, and fires the `records_set_aside` rule once, naming the
 * record; once the record is gone the rule resolves.
 */

let wh: Warehouse;
let hook: LocalWebhook<WebhookPayload>;
let url: string;
let received: WebhookPayload[];

beforeAll(async () => {
  wh = await createTestDatabase('set_aside_alert');
  hook = await startWebhook<WebhookPayload>();
  ({ url, received } = hook);
});
afterAll(async () => {
  delete process.env.VERITE_TEST_SET_ASIDE_HOOK;
  await hook?.close();
  await wh?.close();
});

describe('a run with records set aside', () => {
  it('ends succeeded with warnings, fires records_set_aside (not run_failed) once, and resolves when the record is dropped', async () => {
    process.env.VERITE_TEST_SET_ASIDE_HOOK = url;
    const config = configSchema.parse({ alerts: { webhookUrlEnv: 'VERITE_TEST_SET_ASIDE_HOOK', rules: [{ metric: 'run_failed' }, { metric: 'records_set_aside' }] } });
    await landRecords(wh.pool, 'shopify', 'orders', [
      order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1 }),
      order({ id: 2, created_at: '2024-03-01T11:00:00Z', currency: 'XX', total: '20.00', customer: 2 }),
    ]);
    const job = () => runJob({ warehouse: wh, config, log: logger(), sources: [], steps: postLoadSteps(), overlap: 'wait' });

    const first = await job();
    expect(first.status).toBe('succeeded with warnings');
    if (first.status === 'skipped') throw new Error('skipped');
    const reason = 'currency "XX" is not an ISO 4217 currency code';
    expect(first.run.warnings).toEqual([`shopify.orders 2 set aside: ${reason}`]);
    expect(first.alerts.map((a) => [a.rule, a.change, a.sent])).toEqual([
      ['run_failed', 'ok', false],
      ['records_set_aside', 'fired', true],
    ]);
    expect(received.map((p) => p.text)).toEqual([
      `:rotating_light: verite alert: records_set_aside above 0: 1 record set aside by the last build (shopify.orders 2: ${reason}): see verite quarantine list`,
    ]);
    const runs = async () => (await wh.pool.query(`select status, warnings from ops.runs order by started_at`)).rows;
    expect(await runs()).toEqual([{ status: 'succeeded with warnings', warnings: `shopify.orders 2 set aside: ${reason}` }]);

    // Still there the next night: still firing, not sent again.
    const second = await job();
    if (second.status === 'skipped') throw new Error('skipped');
    expect(second.alerts.find((a) => a.rule === 'records_set_aside')).toMatchObject({ change: 'still firing', sent: false });
    expect(received).toHaveLength(1);

    // The record dropped (as verite quarantine drop does), the next run is clean and the rule resolves.
    await wh.pool.query(`delete from raw.shopify__orders where _key = '2'`);
    const third = await job();
    expect(third.status).toBe('succeeded');
    if (third.status === 'skipped') throw new Error('skipped');
    expect(third.alerts.find((a) => a.rule === 'records_set_aside')).toMatchObject({ change: 'cleared', sent: true });
    expect(received.map((p) => p.text)[1]).toBe(':white_check_mark: verite resolved: records_set_aside is 0 records set aside by the last build (rule: above 0)');
    expect((await runs()).map((r) => r.status)).toEqual(['succeeded with warnings', 'succeeded with warnings', 'succeeded']);
  });
});
