import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { METRICS_REFRESH_LOCK, refreshMetrics } from '../../metrics/refresh.ts';
import { keptByRun } from '../../pipeline/lock.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { startEmbedded } from '../../warehouse/embedded.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { spawnCli, spawnScript, waitFor } from '../support/spawn-script.ts';
import { order } from '../transforms/fixtures.ts';

/**
 * A run killed with SIGKILL and closed as abandoned by the next command: its error said, whatever
 * it had done, that "a transform or metrics refresh it had begun rolled back, so readers keep the
 * previous build" (false once the transform had committed: core held the new day, the metric
 * tables not), and `verite status` showed it landed 0 records although its pages stayed.
 */

let dir: string;
let config: string;
const settings = { sources: { shopify: { shop: 'test-shop.myshopify.com' } }, retries: { streamAttempts: 1, backoffSeconds: 0 } };
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verite-abandoned-'));
  chmodSync(dir, 0o755);
  config = join(dir, 'verite.config.json');
  writeFileSync(config, JSON.stringify(settings));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let wh: Warehouse;

/** The sessions of verite's command line (application_name verite) in the test's database. */
async function veriteBackends(pool: pg.Pool): Promise<{ pid: number }[]> {
  return (await pool.query(`select pid from pg_stat_activity where datname = current_database() and application_name = 'verite' and pid <> pg_backend_pid()`)).rows;
}

/** `verite run` with the paged stand-in for Shopify (tests/support/cli-paged-orders.ts). */
function startRun(pages: Record<string, unknown>[][], blockAfter?: number, url = wh.url) {
  return spawnScript('cli-paged-orders.ts', {
    DATABASE_URL: url, VERITE_CONFIG: config, FAKE_ORDER_PAGES: JSON.stringify(pages), ...(blockAfter === undefined ? {} : { FAKE_BLOCK_AFTER: String(blockAfter) }),
  }, { args: ['run'] });
}

/** The killed run's row, once `verite status` (the next command) closed it, and what status printed. */
async function closedByStatus(): Promise<{ row: { status: string; error: string; records_landed: number; records_quarantined: number; pid: number; host: string }; listed: Record<string, unknown> }> {
  const status = await runCli(['status', '--format', 'json'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
  expect(status.code, status.stderr).toBe(0);
  const row = (await wh.pool.query(`select status, error, records_landed, records_quarantined, pid, host from ops.runs where kind = 'run'`)).rows[0];
  const listed = (JSON.parse(status.stdout) as { runs: Record<string, unknown>[] }).runs.find((r) => r.kind === 'run')!;
  return { row, listed };
}

const killedBy = (row: { pid: number; host: string }) => `abandoned: its process (pid ${row.pid} on ${row.host}) ended before it finished (killed, or the machine stopped); `;

/** The 12 orders of 1 July 2025 the run lands (one page: landed 12). */
const july = Array.from({ length: 12 }, (_, i) => order({ id: 100 + i, created_at: `2025-07-01T${String(8 + i).padStart(2, '0')}:00:00Z`, total: '25.00', customer: 100 + i }));

/** Takes the metrics refresh's lock on a session of its own, so that a run's refresh waits for it inside its transaction. */
async function holdRefreshLock(url: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('select pg_advisory_lock(hashtext($1))', [METRICS_REFRESH_LOCK]);
  return { client, pid: (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number };
}

/** Whether a verite session waits for a lock `pid` holds (the run's refresh, for the refresh lock). */
async function waitsFor(client: pg.Pool | pg.Client, pid: number): Promise<boolean> {
  const waiting = await client.query(
    `select 1 from pg_stat_activity where datname = current_database() and application_name = 'verite' and wait_event_type = 'Lock' and $1 = any(pg_blocking_pids(pid))`,
    [pid],
  );
  return waiting.rowCount === 1;
}

describe('a run killed with SIGKILL, closed as abandoned by the next command', () => {
  beforeEach(async () => {
    wh = await createTestDatabase('abandoned');
  });
  afterEach(async () => wh?.close());

  it('while landing: the records its committed pages landed are counted, and it says it was still landing', async () => {
    // Page 1: three new orders. Page 2: order 3 again as it was (unchanged, not written), a new
    // order 4, and a record without an id (quarantined). Landed: 3 + 1 = 4; quarantined: 1.
    const one = order({ id: 1, created_at: '2025-07-01T09:00:00Z', total: '10.00', customer: 1 });
    const two = order({ id: 2, created_at: '2025-07-01T10:00:00Z', total: '20.00', customer: 2 });
    const three = order({ id: 3, created_at: '2025-07-01T11:00:00Z', total: '30.00', customer: 3 });
    const four = order({ id: 4, created_at: '2025-07-01T12:00:00Z', total: '40.00', customer: 4 });
    const { id: _, ...noId } = order({ id: 5, created_at: '2025-07-01T13:00:00Z', total: '50.00', customer: 5 });
    const run = startRun([[one, two, three], [three, four, noId]], 2);
    // The stand-in waits when asked for page 3: page 2 commits with its cursor, then nothing more.
    await waitFor('page 2 committed', async () => (await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = 'orders'`)).rows[0]?.state?.page === 2);
    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor("the killed run's sessions to end", async () => (await veriteBackends(wh.pool)).length === 0);
    expect((await wh.pool.query(`select count(*)::int as n from raw.shopify__orders`)).rows[0].n).toBe(4);

    const { row, listed } = await closedByStatus();
    expect(row.status).toBe('failed');
    expect(row.error).toBe(
      `${killedBy(row)}it was landing: 4 records were landed and kept (and 1 quarantined), with their cursors, and the next run goes on from them; no step had begun, so readers keep the previous build`,
    );
    expect([row.records_landed, row.records_quarantined]).toEqual([4, 1]);
    expect([listed.records_landed, listed.records_quarantined, listed.error]).toEqual([4, 1, row.error]);
    // Its stream's read, counted page by page too: 2 pages, 4 landed, 1 quarantined.
    const read = (await wh.pool.query(`select status, pages, records_landed, records_quarantined, error from ops.stream_runs`)).rows;
    expect(read).toEqual([
      { status: 'failed', pages: 2, records_landed: 4, records_quarantined: 1, error: 'abandoned: its process ended before the stream finished; the 2 pages it committed stay (4 records landed, 1 quarantined)' },
    ]);
  });

  it('after the transform committed, during the metrics refresh: it says the transform was published and the metric tables are behind core', async () => {
    // Before: one order on 30 June, transformed and refreshed.
    const cfg = configSchema.parse(settings);
    const log = logger();
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2025-06-30T12:00:00Z', total: '10.00', customer: 1 })]);
    expect((await runTransforms(wh, cfg, { log })).status).toBe('succeeded');
    expect((await refreshMetrics(wh, cfg, log)).status).toBe('succeeded');
    // The killed run lands the 12 orders of 1 July; the test holds the refresh's lock, so the
    // run's refresh waits for it, inside its transaction, once its transform committed.
    const holder = await holdRefreshLock(wh.url);
    try {
      const run = startRun([july]);
      await waitFor("the run's metrics refresh to wait for the refresh lock", () => waitsFor(wh.pool, holder.pid));
      run.child.kill('SIGKILL');
      await run.exited;
      await waitFor("the killed run's sessions to end", async () => (await veriteBackends(wh.pool)).length === 0);
    } finally {
      await holder.client.end();
    }
    // What readers see: core has the 12 orders of 1 July, the metric tables end on 30 June.
    const core = await wh.pool.query(`select order_date::text as day, count(*)::int as n from core.orders group by 1 order by 1`);
    expect(core.rows).toEqual([{ day: '2025-06-30', n: 1 }, { day: '2025-07-01', n: 12 }]);
    const daily = await wh.pool.query(`select date::text as day, orders::int as n from metrics.kpi_daily where orders > 0 order by 1`);
    expect(daily.rows).toEqual([{ day: '2025-06-30', n: 1 }]);

    const { row, listed } = await closedByStatus();
    expect(row.status).toBe('failed');
    expect(row.error).toBe(
      `${killedBy(row)}landing: 12 records were landed and kept, with their cursors, and the next run goes on from them; ` +
        'the transform was published; the metrics refresh it had begun rolled back: the metric tables are behind core until the next run',
    );
    expect([listed.records_landed, listed.records_quarantined]).toEqual([12, 0]);

    // And the next run brings them up to date, as the message says.
    const next = await runPipeline({ warehouse: wh, config: cfg, log, sources: [] });
    expect(next.status, next.error).toMatch(/^succeeded/);
    const after = await wh.pool.query(`select date::text as day, orders::int as n from metrics.kpi_daily where orders > 0 order by 1`);
    expect(after.rows).toEqual([{ day: '2025-06-30', n: 1 }, { day: '2025-07-01', n: 12 }]);
  });
});

describe('`verite metrics refresh --transform` killed with SIGKILL, closed as abandoned by the next command', () => {
  beforeEach(async () => {
    wh = await createTestDatabase('abandoned-refresh');
  });
  afterEach(async () => wh?.close());

  it('during its refresh, after its transform committed: says the transform was published and the refresh rolled back, not that everything did', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2025-06-30T12:00:00Z', total: '10.00', customer: 1 })]);
    const holder = await holdRefreshLock(wh.url);
    let pid = 0;
    try {
      const command = spawnCli(['metrics', 'refresh', '--transform'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
      pid = command.child.pid!;
      await waitFor('the refresh to wait for the refresh lock', () => waitsFor(wh.pool, holder.pid));
      command.child.kill('SIGKILL');
      await command.exited;
      await waitFor("the killed command's sessions to end", async () => (await veriteBackends(wh.pool)).length === 0);
    } finally {
      await holder.client.end();
    }
    // What readers see: the transform's build (core holds the order), no metric table yet.
    expect((await wh.pool.query(`select count(*)::int as n from core.orders`)).rows[0].n).toBe(1);
    expect((await wh.pool.query(`select to_regclass('metrics.kpi_daily') is null as none`)).rows[0].none).toBe(true);
    const status = await runCli(['status'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
    expect(status.code, status.stderr).toBe(0);
    const row = (await wh.pool.query(`select status, error, pid, host, stage, steps_done from ops.runs where kind = 'metrics'`)).rows[0];
    expect([row.status, row.pid, row.stage, row.steps_done]).toEqual(['failed', pid, 'metrics', ['transform']]);
    expect(row.error).toBe(
      `${killedBy(row)}the transform was published; the metrics refresh it had begun rolled back: the metric tables are behind core until the next run`,
    );
  });

  it('records each step as it begins and as it is published', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2025-06-30T12:00:00Z', total: '10.00', customer: 1 })]);
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: config };
    const both = await runCli(['metrics', 'refresh', '--transform'], { env });
    expect(both.code, both.stderr).toBe(0);
    const transform = await runCli(['transform'], { env });
    expect(transform.code, transform.stderr).toBe(0);
    const rows = (await wh.pool.query(`select kind, status, stage, steps_done from ops.runs order by started_at`)).rows;
    expect(rows).toEqual([
      { kind: 'metrics', status: 'succeeded', stage: 'metrics', steps_done: ['transform', 'metrics'] },
      { kind: 'transform', status: 'succeeded', stage: 'transform', steps_done: ['transform'] },
    ]);
  });

  it('what each place a command that is not a run can stop at says it kept', () => {
    const at = (kind: string, stage: string | null, stepsDone: string[]) => keptByRun({ kind, sources: 0, stage, stepsDone, landed: 0, quarantined: 0 });
    expect(at('transform', 'transform', [])).toBe('the transform it had begun rolled back: readers keep the previous build');
    // Killed after its commit (dropping an older release's redundant indexes).
    expect(at('transform', 'transform', ['transform'])).toBe("the transform was published: readers have this run's build");
    // `verite metrics refresh` alone: the transform was never its to run.
    expect(at('metrics', 'metrics', [])).toBe('the metrics refresh it had begun rolled back: the metric tables are behind core until the next run');
    expect(at('metrics', 'metrics', ['metrics'])).toBe("the metrics refresh was published: readers have this run's build");
    expect(at('metrics', 'transform', [])).toBe('the transform it had begun rolled back: readers keep the previous build');
    // A run takes the CLV fit after them: the previous fit is behind.
    expect(at('run', 'metrics', ['transform', 'metrics'])).toBe("the transform and the metrics refresh were published: the predicted-CLV tables are the previous fit's until the next run");
    // Recorded before stages were: its kind's words.
    expect(at('transform', null, [])).toBe("its transaction rolled back: staging and core are the previous build's");
  });
});

describe('a warehouse shut down during the metrics refresh, after the transform committed', () => {
  it('says what was kept: the records landed, the transform published, the refresh rolled back', async () => {
    const server = await startEmbedded({ dataDir: join(dir, 'shutdown', 'pg'), settings: { fsync: 'off' } });
    let stopped = false;
    const holder = await holdRefreshLock(server.url);
    holder.client.on('error', () => undefined); // the shutdown ends its session too
    try {
      const run = startRun([july], undefined, server.url);
      await waitFor("the run's metrics refresh to wait for the refresh lock", () => waitsFor(holder.client, holder.pid));
      await server.stop();
      stopped = true;
      const exit = await run.exited;
      expect(exit.code, run.stderr()).toBe(1);
      const message = run.stderr().split('\n').find((l) => l.startsWith('verite: run ')) ?? '';
      expect(message).toMatch(/^verite: run [0-9a-f-]{36} failed: the warehouse went away during the metrics step \(.*\)\. Kept: (.*)\. Run again once the database is back: nothing is landed twice$/);
      expect(/ Kept: (.*)\. Run again/.exec(message)?.[1]).toBe(
        'landing: 12 records were landed and kept, with their cursors, and the next run goes on from them; ' +
          'the transform was published; the metrics refresh it had begun rolled back: the metric tables are behind core until the next run',
      );
    } finally {
      await holder.client.end().catch(() => undefined);
      if (!stopped) await server.stop();
    }
  });
});
