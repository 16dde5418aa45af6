import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, SESSION_SETTINGS } from '../../warehouse/connection.ts';
import { startEmbedded } from '../../warehouse/embedded.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { spawnCli, spawnScript, waitFor } from '../support/spawn-script.ts';
import { order } from '../transforms/fixtures.ts';

/**
 * Issue 17: a killed run held its locks and left no trace. A `verite transform` killed with
 * SIGKILL mid-build left its server session running on with its locks (a reader of core.orders
 * waited 21 s); a killed `verite run` stayed `running` in ops.runs until the next run, and a
 * killed transform left nothing; a warehouse shut down mid-run printed only the driver's words.
 */

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verite-killed-'));
  chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
  config = join(dir, 'verite.config.json');
  writeFileSync(config, JSON.stringify({ sources: { fx: {} }, retries: { streamAttempts: 2, backoffSeconds: 0 } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The backends of verite's command line (application_name verite) in this database. */
async function veriteBackends(pool: pg.Pool): Promise<{ pid: number; wait_event_type: string | null }[]> {
  const res = await pool.query(`select pid, wait_event_type from pg_stat_activity where datname = current_database() and application_name = 'verite' and pid <> pg_backend_pid()`);
  return res.rows;
}

describe('a killed command', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await createTestDatabase('killed');
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1 })]);
  });
  afterAll(async () => wh?.close());

  it('every verite session checks that its client is still there, sends keepalives, ends when idle in a transaction and runs without a statement time-out', async () => {
    const { pool } = connect(wh.url, 1);
    try {
      for (const [name, value] of Object.entries(SESSION_SETTINGS)) {
        // A setting the server does not know (transaction_timeout before PostgreSQL 17) is skipped.
        const shown = (await pool.query(`select current_setting($1, true) as value, exists (select 1 from pg_settings where name = $1) as known`, [name])).rows[0];
        expect(shown.value, name).toBe(shown.known ? value : null);
      }
      // The values themselves, worked out from what the server must notice: a gone client within seconds.
      expect(SESSION_SETTINGS).toEqual({
        client_connection_check_interval: '2s',
        tcp_keepalives_idle: '30',
        tcp_keepalives_interval: '10',
        tcp_keepalives_count: '3',
        idle_in_transaction_session_timeout: '1min',
        idle_session_timeout: '0',
        statement_timeout: '0',
        transaction_timeout: '0',
        DateStyle: 'ISO, MDY',
        IntervalStyle: 'postgres',
        extra_float_digits: '1',
        TimeZone: 'UTC',
        jit: 'off',
      });
    } finally {
      await pool.end();
    }
  });

  it('a transform killed with SIGKILL mid-build: its server session ends even while its statement waits, and the next command closes its row as abandoned', async () => {
    // The test holds raw.shopify__orders: the transform's first model waits for it, mid-build, inside its transaction.
    const holder = new pg.Client({ connectionString: wh.url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('lock table raw.shopify__orders in access exclusive mode');
    let pids: number[] = [];
    try {
      const transform = spawnCli(['transform'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
      await waitFor(
        'the transform to wait for the lock, recorded as running',
        async () => {
          const running = await wh.pool.query(`select 1 from ops.runs where kind = 'transform' and status = 'running'`);
          pids = (await veriteBackends(wh.pool)).filter((b) => b.wait_event_type === 'Lock').map((b) => b.pid);
          return running.rowCount === 1 && pids.length === 1;
        },
      );
      transform.child.kill('SIGKILL');
      await transform.exited;
      // Still holding the lock the orphaned session waits for: only its own check of the client can end it.
      await waitFor('the killed transform\'s server session to end', async () => !(await veriteBackends(wh.pool)).some((b) => pids.includes(b.pid)));
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    const before = await wh.pool.query(`select status from ops.runs where kind = 'transform'`);
    expect(before.rows).toEqual([{ status: 'running' }]);
    // Any command closes it: here `verite status`, which then lists it.
    const status = await runCli(['status'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
    expect(status.code, status.stderr).toBe(0);
    const row = (await wh.pool.query(`select status, error, pid from ops.runs where kind = 'transform'`)).rows[0];
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(
      new RegExp(`^abandoned: its process \\(pid ${row.pid} on [^)]+\\) ended before it finished \\(killed, or the machine stopped\\); the transform it had begun rolled back: readers keep the previous build$`),
    );
    expect(status.stdout).toMatch(/^[0-9a-f]{8}\s+transform\s+cli\s+failed\s.*abandoned: its process/m);
  });

  it('a run killed with SIGKILL is closed as abandoned by the next command of any kind, not only by the next run', async () => {
    // The slow fx stand-in lands page 1, then waits 30 s before the next.
    const run = spawnScript('cli-slow-fx.ts', { DATABASE_URL: wh.url, VERITE_CONFIG: config }, { args: ['run'] });
    await waitFor(
      'page 1 committed',
      async () => (await wh.pool.query(`select state from ops.stream_state where source = 'fx' and stream = 'rates'`)).rows[0]?.state?.page === 1,
    );
    run.child.kill('SIGKILL');
    await run.exited;
    await waitFor('the killed run\'s sessions to end', async () => (await veriteBackends(wh.pool)).length === 0);
    const res = await runCli(['query', `select kind, status from ops.runs where kind = 'run'`, '--format', 'json'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
    expect(res.code, res.stderr).toBe(0);
    // The query command closed the row before reading it.
    expect(JSON.parse(res.stdout)).toEqual([{ kind: 'run', status: 'failed' }]);
    const row = (await wh.pool.query(`select error, records_landed from ops.runs where kind = 'run'`)).rows[0];
    // Page 1 holds the two EUR rates of 1 January: landed 2.
    expect(row.error).toMatch(
      /ended before it finished \(killed, or the machine stopped\); it was landing: 2 records were landed and kept, with their cursors, and the next run goes on from them; no step had begun, so readers keep the previous build$/,
    );
    expect(row.records_landed).toBe(2);
    // Its stream's read counts its pages as they commit: one page, of the two rates.
    const streams = (await wh.pool.query(`select status, error, pages, records_landed from ops.stream_runs`)).rows;
    expect(streams).toEqual([{ status: 'failed', error: 'abandoned: its process ended before the stream finished; the page it committed stays (2 records landed)', pages: 1, records_landed: 2 }]);
  });
});

describe('a warehouse shut down during a run', () => {
  it('fails the run naming the step it was in and what was kept, not only the driver\'s words', async () => {
    const server = await startEmbedded({ dataDir: join(dir, 'shutdown', 'pg'), settings: { fsync: 'off' } });
    let stopped = false;
    try {
      const run = spawnScript('cli-slow-fx.ts', { DATABASE_URL: server.url, VERITE_CONFIG: config, FAKE_DELAY_MS: '30000' }, { args: ['run'] });
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await waitFor(
          'page 1 committed',
          async () => (await client.query(`select state from ops.stream_state where source = 'fx' and stream = 'rates'`).catch(() => ({ rows: [] }))).rows[0]?.state?.page === 1,
        );
      } finally {
        await client.end();
      }
      // A fast shutdown, as `pg_ctl stop` or a managed database's restart does, while the run waits for page 2.
      await server.stop();
      stopped = true;
      const exit = await run.exited;
      expect(exit.code, run.stderr()).toBe(1);
      const message = run.stderr().split('\n').find((l) => l.startsWith('verite: run ')) ?? '';
      expect(message).toMatch(
        /^verite: run [0-9a-f-]{36} failed: the warehouse went away during landing fx\.rates \(1 page\(s\) of it committed\) \((terminating connection due to administrator command|the database system is shutting down|[^)]*ECONNRESET[^)]*|Connection terminated[^)]*)\)\. Kept: it was landing: 2 records were landed and kept, with their cursors, and the next run goes on from them; no step had begun, so readers keep the previous build\. Run again once the database is back: nothing is landed twice$/,
      );
      expect(run.stderr()).not.toMatch(/Unhandled 'error' event/);
    } finally {
      if (!stopped) await server.stop();
    }
  });
});
