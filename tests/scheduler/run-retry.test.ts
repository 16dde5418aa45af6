import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { Source } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import type { RunJobResult } from '../../scheduler/run-job.ts';
import { RUN_LOCK } from '../../pipeline/lock.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import { createRawTable } from '../../warehouse/migrations/0001-init.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { startWebhook } from '../support/webhook.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { heldTimers } from '../support/held-timers.ts';

/**
 * A scheduled run that failed because a source was down at 03:00 is fired again later, for the
 * sources that failed, on timers the test triggers itself (no waiting): an API's outage or a
 * warehouse's maintenance window often ends within the hour, where the next night is a day late.
 * The first firing is a missed one made up at start (`scheduleCatchUp`), on an injected clock.
 */

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('run_retry');
  await createFakeTables(wh.db);
  await createRawTable(wh.db as never, 'steady', 'ticks');
});
afterAll(async () => wh?.close());
beforeEach(async () => {
  await wh.pool.query(`delete from ops.runs`);
  // The nightly schedule (03:00 UTC) fired on 4 December; the scheduler starts on the 6th at 10:00 UTC.
  await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('past', 'run', 'schedule 0 3 * * *', 'succeeded', '2026-12-04T03:00:02Z', '2026-12-04T03:00:09Z')`);
});

/** The fake source named `name`, whose stream fails its first `failures` reads (permanently: a refused credential). */
function flaky(name: string, failures: number, permanent = false): Source<unknown> {
  const base = fakeSource({ streams: ['ticks'], pages: 1 });
  const ticks = base.streams[0]!;
  let reads = 0;
  return {
    ...base,
    name,
    streams: [
      {
        ...ticks,
        async *read(ctx) {
          reads++;
          if (reads <= failures) {
            if (permanent) throw new ExtractError('HTTP 401: the token was refused', { source: name, stream: 'ticks' }, { permanent: true });
            throw new Error('HTTP 503 Service Unavailable');
          }
          yield* ticks.read(ctx);
        },
      },
    ],
  };
}

async function scheduled(sources: Source<unknown>[], retries: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  const config = configSchema.parse({ schedules: [{ cron: '0 3 * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0, ...retries }, ...top });
  const { timers, held: pending } = heldTimers();
  const jobs: RunJobResult[] = [];
  let waiting: (() => void) | undefined;
  const scheduler = startScheduler({
    warehouse: wh, config, log: logger(), steps: [], timers,
    resolve: () => sources.map((source) => ({ source, config: {} })),
    now: () => new Date('2026-12-06T10:00:00Z'),
    onJob: (r) => {
      jobs.push(r);
      waiting?.();
    },
  });
  /** Waits until `n` jobs have ended. */
  const ended = (n: number) => new Promise<void>((resolve) => {
    waiting = () => jobs.length >= n && resolve();
    waiting();
  });
  return { scheduler, jobs, pending, ended };
}

const runs = async () =>
  (await wh.pool.query<{ trigger: string; status: string; sources: string[] }>(`select trigger, status, sources from ops.runs where id <> 'past' order by started_at`)).rows;

describe('a failed scheduled run', () => {
  it('is fired again 30 minutes later for the source that failed, and succeeds', async () => {
    const { scheduler, jobs, pending, ended } = await scheduled([flaky('fake', 1), flaky('steady', 0)]);
    await ended(1);
    expect(jobs[0]!.status).toBe('failed');
    // One retry pending, after the default 30 minutes.
    expect(pending.map((t) => [t.ms, t.cleared])).toEqual([[30 * 60_000, false]]);
    pending[0]!.fire();
    await ended(2);
    await scheduler.stop();
    const rows = await runs();
    expect(rows.map((r) => [r.status, r.sources])).toEqual([
      ['failed', ['fake', 'steady']],
      ['succeeded', ['fake']],
    ]);
    expect(rows[0]!.trigger).toBe('schedule 0 3 * * * (caught up: missed 2026-12-06T03:00:00.000Z)');
    expect(rows[1]!.trigger).toBe(`schedule 0 3 * * * (retry 1 of 2 after failed run ${jobs[0]!.runId})`);
    // Nothing more pending once it succeeded.
    expect(pending).toHaveLength(1);
  });

  it('is fired again at most runRetries times, runRetryMinutes apart', async () => {
    const { scheduler, jobs, pending, ended } = await scheduled([flaky('fake', 10)], { runRetries: 2, runRetryMinutes: 45 });
    await ended(1);
    pending[0]!.fire();
    await ended(2);
    pending[1]!.fire();
    await ended(3);
    await scheduler.stop();
    expect(jobs.map((j) => j.status)).toEqual(['failed', 'failed', 'failed']);
    // Two retries, then none: the schedule fires again at its next time.
    expect(pending.map((t) => t.ms)).toEqual([45 * 60_000, 45 * 60_000]);
    expect((await runs()).map((r) => r.trigger.replace(/run [0-9a-f-]+\)/, 'run …)'))).toEqual([
      'schedule 0 3 * * * (caught up: missed 2026-12-06T03:00:00.000Z)',
      'schedule 0 3 * * * (retry 1 of 2 after failed run …)',
      'schedule 0 3 * * * (retry 2 of 2 after failed run …)',
    ]);
  });

  it('is not fired again when trying again cannot help, or with runRetries 0', async () => {
    const refused = await scheduled([flaky('fake', 1, true)]);
    await refused.ended(1);
    await refused.scheduler.stop();
    expect(refused.jobs[0]!.status).toBe('failed');
    expect(refused.pending).toEqual([]);
    await wh.pool.query(`delete from ops.runs where id <> 'past'`);
    const off = await scheduled([flaky('fake', 1)], { runRetries: 0 });
    await off.ended(1);
    await off.scheduler.stop();
    expect(off.pending).toEqual([]);
  });

  it("drops a pending retry when the schedule's own time comes first", async () => {
    // Every second: the firing after the failed one comes long before a retry 30 minutes out.
    const config = configSchema.parse({ schedules: [{ cron: '* * * * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const { timers, held: pending } = heldTimers();
    const scheduler = startScheduler({ warehouse: wh, config, log: logger(), steps: [], timers, resolve: () => [{ source: flaky('fake', 100), config: {} }] });
    try {
      await waitUntil(() => pending.length >= 1 && pending[0]!.cleared);
    } finally {
      await scheduler.stop();
    }
    expect(pending[0]!.cleared).toBe(true);
  });

  it('holds the run_failed alert while a retry is pending, and sends it when the last retry fails too', async () => {
    const hook = await startWebhook();
    const posts = hook.received;
    try {
      const alerts = { webhookUrl: hook.url, rules: [{ name: 'night failed', metric: 'run_failed' }] };
      const { scheduler, jobs, pending, ended } = await scheduled([flaky('fake', 10)], { runRetries: 1 }, { alerts });
      await ended(1);
      // Failed, a retry pending: no alert yet.
      expect(jobs[0]!.status).toBe('failed');
      expect(posts).toEqual([]);
      pending[0]!.fire();
      await ended(2);
      await scheduler.stop();
      // The retry failed too, and no retry is left: now the night has failed.
      expect(posts).toHaveLength(1);
      expect(posts[0]!.text).toMatch(new RegExp(`^:rotating_light: verite alert: night failed: run ${jobs[1]!.runId} failed: fake\\.ticks: HTTP 503 Service Unavailable`));
    } finally {
      await hook.close();
      await wh.pool.query(`delete from ops.alert_state`);
    }
  });

  it('keeps the retry when the schedule fired first but was skipped, another process holding the run lock', async () => {
    const config = configSchema.parse({ schedules: [{ cron: '* * * * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const { timers, held: pending } = heldTimers();
    const skipped: RunJobResult[] = [];
    const scheduler = startScheduler({
      warehouse: wh, config, log: logger(), steps: [], timers, overlap: 'skip',
      resolve: () => [{ source: flaky('fake', 100), config: {} }],
      onJob: (r) => void (r.status === 'skipped' && skipped.push(r)),
    });
    // Another process's session, to hold the run lock as a backfill would.
    const other = await wh.pool.connect();
    try {
      // A failed run and its retry, pending.
      await waitUntil(() => pending.length >= 1);
      let locked = false;
      for (let i = 0; i < 600 && !locked; i++) {
        locked = (await other.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [RUN_LOCK.namespace, RUN_LOCK.id])).rows[0]!.ok;
        if (!locked) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Each firing now drops the pending retry and is skipped: the retry is planned again each
      // time (without that, no timer is set once the lock is held: no run fails any more).
      const before = pending.length;
      await waitUntil(() => skipped.length >= 1 && pending.length > before && !pending.at(-1)!.cleared);
      expect(skipped[0]!.status).toBe('skipped');
    } finally {
      await other.query('select pg_advisory_unlock_all()');
      other.release();
      await scheduler.stop();
    }
  });

  it('drops a pending retry when the scheduler stops', async () => {
    const { scheduler, pending, ended } = await scheduled([flaky('fake', 1)]);
    await ended(1);
    expect(pending[0]!.cleared).toBe(false);
    await scheduler.stop();
    expect(pending[0]!.cleared).toBe(true);
  });
});

/** Polls `done` until it holds (the cron task fires on the machine's clock). */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!done()) throw new Error('the schedule did not fire again');
}
