import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { lockHolder, RUN_LOCK, withRunLock } from '../../pipeline/lock.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('lock');
  await createFakeTables(wh.db);
});
afterAll(async () => wh?.close());

/** The run lock's entries in pg_locks, which lists the whole server: other test files' databases too. */
const THIS_DATABASE = `locktype = 'advisory' and classid = $1::int::oid and database = (select oid from pg_database where datname = current_database())`;

/** Another session (as another process would be) holding the run lock until released. */
async function otherHolder(): Promise<{ pid: number; release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: wh.url, application_name: 'other-verite' });
  await client.connect();
  await client.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return { pid, release: () => client.end() };
}

describe('run lock', () => {
  it('skip: does not run while another session holds the lock, and names that session', async () => {
    const other = await otherHolder();
    let ran = false;
    const outcome = await withRunLock(wh.pool, { mode: 'skip' }, async () => {
      ran = true;
    });
    await other.release();
    expect(ran).toBe(false);
    expect(outcome).toMatchObject({ acquired: false, reason: 'held', holder: { pid: other.pid, applicationName: 'other-verite' } });
  });

  it('wait: runs once the holder lets go; a holder that dies (session ended) frees the lock', async () => {
    const other = await otherHolder();
    const order: string[] = [];
    const waiting = withRunLock(wh.pool, { mode: 'wait' }, async () => {
      order.push('ran');
      return 42;
    });
    // The waiter is queued in pg_advisory_lock, visible as a lock not granted.
    let queued = false;
    for (let i = 0; i < 250 && !queued; i++) {
      const q = await wh.pool.query(`select 1 from pg_locks where ${THIS_DATABASE} and not granted`, [RUN_LOCK.namespace]);
      queued = (q.rowCount ?? 0) > 0;
      if (!queued) await new Promise((r) => setTimeout(r, 20));
    }
    expect(queued).toBe(true);
    order.push('holder ends');
    await other.release(); // like a killed process: its session ends without unlocking
    expect(await waiting).toEqual({ acquired: true, value: 42 });
    expect(order).toEqual(['holder ends', 'ran']);
  });

  it('wait: an abort stops waiting without running', async () => {
    const other = await otherHolder();
    const controller = new AbortController();
    let ran = false;
    const waiting = withRunLock(wh.pool, { mode: 'wait', signal: controller.signal }, async () => {
      ran = true;
    });
    setTimeout(() => controller.abort(new Error('SIGTERM')), 100);
    const outcome = await waiting;
    await other.release();
    expect(ran).toBe(false);
    expect(outcome).toMatchObject({ acquired: false, reason: 'aborted' });
  });

  // Audit of issue 7: an abort that came before the listener was added, or before
  // pg_advisory_lock reached the server, was lost and the wait went on until the holder let go.
  it('wait: an abort is never lost, whenever it comes while the wait is being set up', async () => {
    // Each statement withRunLock sends before it waits; the abort comes as it is sent.
    for (const statement of ['pg_try_advisory_lock(', 'pg_backend_pid(', 'pg_advisory_lock(']) {
      const other = await otherHolder();
      const controller = new AbortController();
      wh.pool.once('acquire', (client: pg.PoolClient) => {
        const query = client.query.bind(client) as (...args: unknown[]) => unknown;
        client.query = ((...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].includes(statement)) controller.abort(new Error('SIGTERM'));
          return query(...args);
        }) as typeof client.query;
      });
      let ran = false;
      const waiting = withRunLock(wh.pool, { mode: 'wait', signal: controller.signal }, async () => {
        ran = true;
      });
      // The holder keeps the lock: only the abort can end the wait.
      const outcome = await Promise.race([waiting, new Promise((r) => setTimeout(() => r('still waiting after 15 s'), 15_000))]);
      await other.release();
      await waiting;
      expect(outcome, statement).toMatchObject({ acquired: false, reason: 'aborted' });
      expect(ran).toBe(false);
    }
    // No session was left holding the lock (a cancel landing just after the grant would).
    const held = await wh.pool.query(`select count(*)::int as n from pg_locks where ${THIS_DATABASE}`, [RUN_LOCK.namespace]);
    expect(held.rows[0].n).toBe(0);
  });

  it('is released after the function throws, and the next run gets it', async () => {
    await expect(
      withRunLock(wh.pool, { mode: 'skip' }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const again = await withRunLock(wh.pool, { mode: 'skip' }, async () => 'second');
    expect(again).toEqual({ acquired: true, value: 'second' });
    const held = await wh.pool.query(`select count(*)::int as n from pg_locks where ${THIS_DATABASE}`, [RUN_LOCK.namespace]);
    expect(held.rows[0].n).toBe(0);
  });

  it('a run that finds the lock taken is recorded as skipped, with why; a run left running by a dead process is closed', async () => {
    const config = configSchema.parse({ retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const log = logger();
    // A run row as a killed process leaves it: still running, nobody holding the lock.
    await wh.db
      .insertInto('ops.runs')
      .values({ id: 'dead-run', kind: 'run', trigger: 'cli', status: 'running', sources: ['fake'], started_at: new Date('2024-01-01T03:00:00Z'), finished_at: null, error: null, host: 'h', pid: 1 })
      .execute();
    const other = await otherHolder();
    const sources = [{ source: fakeSource({ streams: ['ticks'] }), config: {} }];
    const skipped = await runJob({ warehouse: wh, config, log, sources, steps: [], overlap: 'skip', trigger: 'test' });
    await other.release();
    expect(skipped.status).toBe('skipped');
    // While the lock was held, the dead run was taken for the one in progress.
    const reason = 'another run is in progress: run dead-run (run, cli) started 2024-01-01T03:00:00.000Z on h pid 1';
    expect(skipped).toMatchObject({ reason });
    const row = await wh.db.selectFrom('ops.runs').selectAll().where('id', '=', skipped.runId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'skipped', error: reason, trigger: 'test', sources: ['fake'], pid: process.pid });

    const ran = await runJob({ warehouse: wh, config, log, sources, steps: [], overlap: 'skip', trigger: 'test' });
    expect(ran.status).toBe('succeeded');
    const dead = await wh.db.selectFrom('ops.runs').selectAll().where('id', '=', 'dead-run').executeTakeFirstOrThrow();
    expect(dead.status).toBe('failed');
    expect(dead.error).toMatch(/^abandoned/);
  });

  // Audit of issue 7: the client holding the lock had no 'error' listener, so a server
  // shutdown or an ended session during a run crashed the process with an unhandled 'error'.
  it('a run whose lock connection ends stops and fails, saying so, instead of crashing', async () => {
    const config = configSchema.parse({ retries: { streamAttempts: 2, backoffSeconds: 0 } });
    // Each page waits 30 s (cut short by the run's signal): the run is reading when the session ends.
    const sources = [{ source: fakeSource({ streams: ['ticks'], delayMs: 30_000, pages: 2 }), config: {} }];
    const job = runJob({ warehouse: wh, config, log: logger(), sources, steps: [], overlap: 'skip', trigger: 'lock-lost test' });
    // Wait until the run holds the lock and its stream is reading (its attempt is recorded).
    let holder: Awaited<ReturnType<typeof lockHolder>> = null;
    let reading = false;
    for (let i = 0; i < 500 && !(holder && reading); i++) {
      holder = await lockHolder(wh.pool);
      const attempt = await wh.db
        .selectFrom('ops.stream_runs as s')
        .innerJoin('ops.runs as r', 'r.id', 's.run_id')
        .select('s.attempt')
        .where('r.trigger', '=', 'lock-lost test')
        .where('s.status', '=', 'running')
        .executeTakeFirst();
      reading = attempt !== undefined;
      if (!(holder && reading)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(holder).not.toBeNull();
    expect(reading).toBe(true);
    // What a server restart or an administrator does to that session.
    await wh.pool.query('select pg_terminate_backend($1)', [holder!.pid]);
    const result = await job;
    expect(result.status).toBe('failed');
    const error =
      'lost the connection holding the run lock; stopped so that no other run overlaps with this one (caused by: terminating connection due to administrator command); the pages committed stay, the next run goes on from their cursor';
    expect(result).toMatchObject({ run: { status: 'failed', error } });
    const row = await wh.db.selectFrom('ops.runs').select(['status', 'error']).where('id', '=', result.runId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'failed', error });
    // Not retried: a stream stopped by the lost lock is not a stream failure.
    const attempts = await wh.db.selectFrom('ops.stream_runs').select(['attempt', 'status']).where('run_id', '=', result.runId).execute();
    expect(attempts).toEqual([{ attempt: 1, status: 'failed' }]);
    // The next run takes the lock as usual.
    expect(await withRunLock(wh.pool, { mode: 'skip' }, async () => 'next')).toEqual({ acquired: true, value: 'next' });
  });
});
