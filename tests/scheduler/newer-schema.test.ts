import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { startWebhook, type LocalWebhook } from '../support/webhook.ts';

/**
 * A scheduler left on an older release while a newer one migrated the warehouse: the warehouse
 * was opened (and its schema checked) when the scheduler started, so each later run checks the
 * schema again, fails before landing anything, and the run_failed alert says why.
 */
let wh: Warehouse;
let hook: LocalWebhook<{ text: string }>;

beforeAll(async () => {
  wh = await createTestDatabase('newer_schema_run');
  await createFakeTables(wh.db);
  hook = await startWebhook();
});
afterAll(async () => {
  await hook?.close();
  await wh?.close();
});

describe('a run on a warehouse a newer release migrated after this process opened it', () => {
  it('fails before landing anything, is recorded with the reason, and fires the run_failed alert', async () => {
    const log = createLogger({ write: () => undefined }, 'silent');
    const config = configSchema.parse({ alerts: { webhookUrl: hook.url, rules: [{ metric: 'run_failed' }] }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const source = fakeSource({ streams: ['ticks'], pages: 2 });
    // First on the schema it knows: the run lands.
    const before = await runJob({ warehouse: wh, config, log, sources: [{ source, config: {} }], steps: [], overlap: 'wait' });
    expect(before.status).toBe('succeeded');
    const landed = (await wh.pool.query<{ n: number }>('select count(*)::int as n from ops.stream_runs')).rows[0]!.n;

    // A newer release migrates the warehouse while this process keeps its connection.
    await wh.pool.query(`insert into ops.verite_migrations (name, timestamp) values ('0099-from-a-newer-release', now()::text)`);
    const after = await runJob({ warehouse: wh, config, log, sources: [{ source, config: {} }], steps: [], overlap: 'wait' });
    expect(after.status).toBe('failed');
    const reason = 'this warehouse was brought to a newer schema by a newer release of verite: it holds migration 0099-from-a-newer-release';
    expect(after.status === 'failed' && after.run.error).toContain(reason);
    expect(after.status === 'failed' && after.run.error).toContain('This process opened the warehouse before that: restart it on the newer release');
    // Nothing was read or landed: no stream run beyond the first run's.
    expect((await wh.pool.query<{ n: number }>('select count(*)::int as n from ops.stream_runs')).rows[0]!.n).toBe(landed);
    const row = (await wh.pool.query<{ status: string; error: string }>('select status, error from ops.runs order by started_at desc limit 1')).rows[0]!;
    expect(row.status).toBe('failed');
    expect(row.error).toContain(reason);
    expect(hook.received).toHaveLength(1);
    expect(hook.received[0]!.text).toContain(reason);
  });
});
