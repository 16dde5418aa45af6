import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * A scheduler left on an older release while a newer one migrated the warehouse: the warehouse
 * was opened (and its schema checked) when the scheduler started, so each later run checks the
 * schema again, fails before landing anything, and the run_failed alert says why.
 */
let wh: Warehouse;
let hook: Server;
let hookUrl: string;
const posted: string[] = [];

beforeAll(async () => {
  wh = await createTestDatabase('newer_schema_run');
  await createFakeTables(wh.db);
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posted.push((JSON.parse(body) as { text: string }).text);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alert`;
});
afterAll(async () => {
  await new Promise((resolve) => hook?.close(resolve));
  await wh?.close();
});

describe('a run on a warehouse a newer release migrated after this process opened it', () => {
  it('fails before landing anything, is recorded with the reason, and fires the run_failed alert', async () => {
    const log = createLogger({ write: () => undefined }, 'silent');
    const config = configSchema.parse({ alerts: { webhookUrl: hookUrl, rules: [{ metric: 'run_failed' }] }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
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
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain(reason);
  });
});
