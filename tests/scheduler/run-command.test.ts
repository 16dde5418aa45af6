import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_LOCK } from '../../pipeline/lock.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';

let wh: Warehouse;
let dir: string;
let config: string;
beforeAll(async () => {
  wh = await createTestDatabase('run_command');
  dir = mkdtempSync(join(tmpdir(), 'verite-run-command-'));
  config = join(dir, 'verite.config.json');
  // One source that reads nothing (fx with neither a file nor the ECB): a run with no source is a usage error.
  writeFileSync(config, JSON.stringify({ freshnessHours: 36, sources: { fx: {} } }));
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verite run and the run lock', () => {
  it('skips (exit 0, saying why) while another process holds the lock; a bad --if-running is a usage error', async () => {
    const other = new pg.Client({ connectionString: wh.url, application_name: 'nightly-elsewhere' });
    await other.connect();
    await other.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: config };
    let skipped, bad;
    try {
      [skipped, bad] = await Promise.all([runCli(['run', '--if-running', 'skip'], { env }), runCli(['run', '--if-running', 'later'], { env })]);
    } finally {
      await other.end();
    }
    expect(skipped.code, skipped.stderr).toBe(0);
    const role = new URL(wh.url).username;
    expect(skipped.stderr).toMatch(new RegExp(`^verite: run skipped: another session holds the run lock \\(PostgreSQL backend (\\d+), role ${role}, nightly-elsewhere( from [^)]+)?\\); no verite run is recorded as going on: if that session is not one, end it with SELECT pg_terminate_backend\\(\\1\\)$`, 'm'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--if-running later: expected wait or skip');
    const rows = await wh.db.selectFrom('ops.runs').select(['kind', 'trigger', 'status', 'error']).execute();
    expect(rows).toEqual([{ kind: 'run', trigger: 'cli', status: 'skipped', error: expect.stringMatching(/^another session holds the run lock/) }]);
  });

  it('SIGTERM while it waits for the lock (--if-running wait): the run is recorded interrupted, nothing ran, and it exits 1', async () => {
    await wh.pool.query('delete from ops.runs');
    const other = new pg.Client({ connectionString: wh.url, application_name: 'nightly-elsewhere' });
    await other.connect();
    await other.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
    const run = spawnCli(['run', '--if-running', 'wait'], { DATABASE_URL: wh.url, VERITE_CONFIG: config });
    try {
      // Queued behind the other session: its pg_advisory_lock is a lock not granted.
      await waitFor('the run to wait for the lock', async () => {
        const waiting = await wh.pool.query(
          `select 1 from pg_locks where locktype = 'advisory' and not granted and classid = $1::int::oid and objid = $2::int::oid
              and database = (select oid from pg_database where datname = current_database())`,
          [RUN_LOCK.namespace, RUN_LOCK.id],
        );
        return (waiting.rowCount ?? 0) > 0;
      });
      run.child.kill('SIGTERM');
      const exit = await run.exited;
      expect(exit.code, run.stderr()).toBe(1);
    } finally {
      run.child.kill('SIGKILL');
      await other.end();
    }
    const error = 'interrupted by SIGTERM while it waited for the run lock: nothing was run';
    expect(run.stderr()).toMatch(new RegExp(`^verite: run [0-9a-f-]{36} interrupted: ${error}$`, 'm'));
    const rows = await wh.db.selectFrom('ops.runs').select(['kind', 'status', 'error', 'records_landed']).execute();
    expect(rows).toEqual([{ kind: 'run', status: 'interrupted', error, records_landed: 0 }]);
  });
});

describe('verite status', () => {
  it('lists every stream with its cursor, freshness and last run, and the backfills and alerts', async () => {
    const now = Date.now();
    await wh.pool.query(
      `insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('r-orders', 'run', 'cli', 'succeeded', $1, $1)`,
      [new Date(now - 3_600_000)],
    );
    await wh.pool.query(`insert into ops.stream_runs (run_id, source, stream, status, started_at) values ('r-orders', 'shopify', 'orders', 'succeeded', $1)`, [new Date(now - 3_600_000)]);
    // The last run of stripe.charges failed; its error quotes the key Stripe refused, over two lines.
    await wh.pool.query(
      `insert into ops.stream_runs (run_id, source, stream, status, started_at, error) values ('r-orders', 'stripe', 'charges', 'failed', $1, $2)`,
      [new Date(now - 3_600_000), '[stripe.charges, GET /v1/charges, HTTP 401] Invalid API Key provided:\n sk_test_51Habc0123456789xyz'],
    );
    await wh.pool.query(
      `insert into ops.stream_state (source, stream, state, data_through, updated_at) values
       ('shopify', 'orders', '{"updated_at":"2024-05-01T10:00:00Z"}', $1, now()), ('stripe', 'charges', '{"created":1714557600}', $2, now()),
       ('fx', 'rates', '{"date":"2024-05-03"}', $3, now()),
       ('meta_ads', 'campaign_insights_daily', '{"through":"2024-05-02","adAccountIds":["1234567890123456","2345678901234567"],"attributionWindows":["7d_click","1d_view"]}', $1, now())`,
      [new Date(now - 2 * 3_600_000), new Date(now - 48 * 3_600_000), new Date(now - 75 * 3_600_000)],
    );
    await wh.pool.query(
      `insert into ops.backfills (id, source, stream, date_from, date_to, chunk_days, status) values ('bf000001-x', 'ga4', null, '2024-01-01', '2024-01-14', 7, 'failed');
       insert into ops.backfill_chunks (backfill_id, seq, date_from, date_to, status) values ('bf000001-x', 1, '2024-01-01', '2024-01-07', 'done'), ('bf000001-x', 2, '2024-01-08', '2024-01-14', 'pending');
       insert into ops.alert_state (rule, metric, firing, value, checked_at) values ('CAC too high', 'cac', true, 46.5, now())`,
    );
    const res = await runCli(['status'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
    expect(res.code, res.stderr).toBe(0);
    const line = (start: string) => res.stdout.split('\n').find((l) => l.startsWith(start)) ?? '';
    // Every stream of the catalogue is listed, landed or not.
    for (const stream of ['shopify.orders', 'shopify.customers', 'stripe.charges', 'stripe.refunds', 'ga4.traffic_daily', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'shipments.shipments', 'fx.rates']) {
      expect(line(stream)).not.toBe('');
    }
    // Each stream with its freshness limit (limit_h), age, verdict, last run and its error.
    expect(line('shopify.orders')).toMatch(/\{"updated_at":"2024-05-01T10:00:00Z"\}.*\s36\s+2\.0\s+yes\s+succeeded\b/);
    expect(line('stripe.charges')).toMatch(/\{"created":1714557600\}.*\s36\s+48\.0\s+NO\s+failed\s.*\s\[stripe\.charges, GET \/v1\/charges, HTTP 401\] Invalid API Key provided: \[redacted\]$/);
    // Rates exist on business days only: 75 h (a Monday morning) is within fx.rates' 96 h.
    expect(line('fx.rates')).toMatch(/\{"date":"2024-05-03"\}.*\s96\s+75\.0\s+yes\b/);
    // A report stream's cursor lists, whole, the accounts it has read.
    expect(line('meta_ads.campaign_insights_daily')).toContain('{"through":"2024-05-02","adAccountIds":["1234567890123456","2345678901234567"],"attributionWindows":["7d_click","1d_view"]}');
    expect(res.stdout).not.toContain('sk_test_51Habc');
    const json = await runCli(['status', '--format', 'json'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config } });
    const streams = (JSON.parse(json.stdout) as { streams: { source: string; stream: string; lastError: string | null; freshnessHours: number }[] }).streams;
    expect(streams.find((s) => s.source === 'stripe' && s.stream === 'charges')).toMatchObject({
      freshnessHours: 36,
      lastError: '[stripe.charges, GET /v1/charges, HTTP 401] Invalid API Key provided:\n [redacted]',
    });
    expect(res.stdout).toContain('Backfills (an unfinished one resumes when the same command is run again)');
    expect(line('bf000001')).toMatch(/^bf000001\s+ga4\.\*\s+2024-01-01\s+2024-01-14\s+failed\s+1\/2\b/);
    expect(line('CAC too high')).toMatch(/^CAC too high\s+FIRING\s+46\.5\b/);
  });
});
