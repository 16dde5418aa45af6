import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbedded } from '../../warehouse/embedded.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnScript, waitFor, type ScriptProcess } from '../support/spawn-script.ts';

/**
 * Audit of issues 2 and 7: a `verite run` stopped by SIGTERM or a terminal's Ctrl-C commits the
 * page it has, reads no further page, records the run as interrupted and exits 1. The fake `fx`
 * source (tests/support/cli-slow-fx.ts) reads page 1 at once, then waits 30 s before each next
 * page, a wait the signal cuts short: a page read after the signal must not be landed.
 */

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verite-interrupt-'));
  // The embedded server may run as the unprivileged postgres user (when the tests run as root).
  chmodSync(dir, 0o755);
  config = join(dir, 'verite.config.json');
  writeFileSync(config, JSON.stringify({ sources: { fx: {} }, retries: { streamAttempts: 2, backoffSeconds: 0 } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Page 1 and its cursor committed. (The loader logs "page committed" for a page once the next one
 * has been read, 30 s later here, so the test watches the cursor itself.)
 */
const pageOneCommitted = async (query: (sql: string) => Promise<{ rows: any[] }>) =>
  (await query(`select state from ops.stream_state where source = 'fx' and stream = 'rates'`).catch(() => ({ rows: [] }))).rows[0]?.state?.page === 1;

interface Landed {
  rates: { _key: string }[];
  state: unknown;
  runs: { kind: string; status: string; error: string | null; records_landed: number }[];
  streamRuns: { status: string; attempt: number; pages: number; records_landed: number }[];
}

async function landed(query: (sql: string) => Promise<{ rows: any[] }>): Promise<Landed> {
  return {
    rates: (await query(`select _key from raw.fx__rates order by _key`)).rows,
    state: (await query(`select state from ops.stream_state where source = 'fx' and stream = 'rates'`)).rows[0]?.state,
    runs: (await query(`select kind, status, error, records_landed from ops.runs`)).rows,
    streamRuns: (await query(`select status, attempt, pages, records_landed from ops.stream_runs order by attempt`)).rows,
  };
}

/** Page 1 (both rates of 2024-01-01) with its cursor, nothing of page 2; the run interrupted, not retried. */
function expectInterruptedAfterPageOne(state: Landed, signal: string): void {
  expect(state.rates).toEqual([{ _key: 'EUR|GBP|2024-01-01' }, { _key: 'EUR|USD|2024-01-01' }]);
  expect(state.state).toEqual({ page: 1 });
  expect(state.runs).toEqual([
    { kind: 'run', status: 'interrupted', records_landed: 2, error: `interrupted by ${signal}; the pages committed stay, the next run goes on from their cursor` },
  ]);
  expect(state.streamRuns).toEqual([{ status: 'interrupted', attempt: 1, pages: 1, records_landed: 2 }]);
}

describe('an interrupted verite run', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await createTestDatabase('interrupt');
  });
  afterAll(async () => wh?.close());

  it('SIGTERM after the first page: the page and its cursor are committed, the run is interrupted, exit 1', async () => {
    const run = spawnScript('cli-slow-fx.ts', { DATABASE_URL: wh.url, VERITE_CONFIG: config }, { args: ['run'] });
    try {
      await waitFor('page 1 committed', () => pageOneCommitted((sql) => wh.pool.query(sql)));
    } finally {
      run.child.kill('SIGTERM');
    }
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(1);
    expect(run.stderr()).toMatch(/^verite: run [0-9a-f-]{36} interrupted: interrupted by SIGTERM; the pages committed stay/m);
    expect(run.stdout()).toMatch(/^fx\.rates\s+interrupted\s+1\s+2\b/m);
    expectInterruptedAfterPageOne(await landed((sql) => wh.pool.query(sql)), 'SIGTERM');
  });
});

describe('Ctrl-C on a run with the embedded warehouse', () => {
  it('signals the whole foreground process group, yet the server stays up for the last commit and is stopped when the command ends', async () => {
    const cwd = join(dir, 'shop');
    mkdirSync(cwd);
    chmodSync(cwd, 0o755);
    // No DATABASE_URL: the embedded server under .verite/ in the working folder.
    const run = spawnScript('cli-slow-fx.ts', { DATABASE_URL: '', VERITE_CONFIG: config, VERITE_LOG_LEVEL: 'debug' }, { args: ['run'], cwd, ownGroup: true });
    const dataDir = join(cwd, '.verite', 'pg');
    try {
      await waitFor('the embedded server to start', () => run.logLines().some((l) => l.msg === 'embedded PostgreSQL started') || run.child.exitCode !== null);
      // Attached to (not started by) the test: it stops when the command stops it.
      const attached = await startEmbedded({ dataDir });
      expect(attached.owned).toBe(false);
      const client = new pg.Client({ connectionString: attached.url });
      await client.connect();
      try {
        await waitFor('page 1 committed', () => pageOneCommitted((sql) => client.query(sql)));
      } finally {
        await client.end();
      }
    } finally {
      // What a terminal does on Ctrl-C: SIGINT to every process of the foreground group.
      process.kill(-run.child.pid!, 'SIGINT');
    }
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(1);
    expect(run.stderr()).not.toMatch(/Unhandled 'error' event|Connection terminated unexpectedly/);
    expect(run.stderr()).toMatch(/^verite: run [0-9a-f-]{36} interrupted: interrupted by SIGINT/m);
    // The command stopped the server it started: no postmaster is left.
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
    const server = await startEmbedded({ dataDir });
    const client = new pg.Client({ connectionString: server.url });
    try {
      await client.connect();
      expectInterruptedAfterPageOne(await landed((sql) => client.query(sql)), 'SIGINT');
    } finally {
      await client.end();
      await server.stop();
    }
  });
});
