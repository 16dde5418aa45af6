import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { lastMissedTime, startScheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { heldTimers } from '../support/held-timers.ts';

/**
 * The real scheduler and node-cron on a fake clock whose wall time can move without its timers:
 * a process suspended over the firing time (a laptop asleep at 03:00), and the night clocks go
 * back, when 02:30 happens twice in Paris.
 */

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('wall_clock');
  await createFakeTables(wh.db);
});
afterAll(async () => wh?.close());
beforeEach(async () => {
  await wh.pool.query(`delete from ops.runs`);
});
afterEach(() => void vi.useRealTimers());

/** Runs a scheduler of one schedule in Paris from `startAt` through `drive`; the firings it logged (`scheduledFor`, trigger by run id) and the runs recorded. */
async function scenario(cronExpr: string, startAt: string, drive: () => Promise<void>) {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  vi.setSystemTime(new Date(startAt));
  const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', schedules: [{ cron: cronExpr }], scheduleCatchUp: true, retries: { streamAttempts: 1, backoffSeconds: 0, runRetries: 0 } });
  const fired: string[] = [];
  const log = createLogger(
    new Writable({
      write(chunk, _encoding, done) {
        const line = JSON.parse(String(chunk)) as { msg: string; scheduledFor?: string };
        if (line.msg === 'schedule fired') fired.push(line.scheduledFor!);
        done();
      },
    }),
    'info',
  );
  const scheduler = startScheduler({
    warehouse: wh, config, log, steps: [], timers: heldTimers().timers, now: () => new Date(),
    resolve: () => [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }],
  });
  await scheduler.caughtUp;
  await drive();
  await scheduler.stop();
  vi.useRealTimers();
  const rows = await wh.pool.query<{ trigger: string }>(`select trigger from ops.runs where kind = 'run' and id not like 'past-%' order by trigger`);
  return { fired, triggers: rows.rows.map((r) => r.trigger) };
}

/** Moves the fake clock, and its timers, on to `iso`. */
const advanceTo = async (iso: string) => {
  while (Date.now() < Date.parse(iso)) await vi.advanceTimersByTimeAsync(Math.min(600_000, Date.parse(iso) - Date.now()));
};

/** A suspend: the wall clock moves on, Node's timers (on the monotonic clock) do not. */
const sleepUntil = (iso: string) => vi.setSystemTime(new Date(iso));

describe('a scheduler process suspended over its firing time', () => {
  it('fires the missed night once on waking, then the next night as usual', async () => {
    // 0 3 * * * in Paris is 02:00 UTC in November (CET, UTC+1). Started Saturday 7 November
    // 12:00 UTC, asleep from 12:00:01 to Sunday 8 November 07:00 UTC: Sunday's 02:00 UTC passed
    // asleep. Then awake until Monday 03:00 UTC: Monday's 02:00 UTC fires on time.
    const { fired, triggers } = await scenario('0 3 * * *', '2026-11-07T12:00:00Z', async () => {
      await vi.advanceTimersByTimeAsync(1000);
      sleepUntil('2026-11-08T07:00:00Z');
      await advanceTo('2026-11-09T03:00:00Z');
    });
    expect(fired).toEqual(['2026-11-08T02:00:00.000Z', '2026-11-09T02:00:00.000Z']);
    expect(triggers).toEqual(['schedule 0 3 * * *', 'schedule 0 3 * * * (caught up: missed 2026-11-08T02:00:00.000Z)']);
  }, 120_000);

  it('makes one firing for several nights asleep, for the latest', async () => {
    // Asleep from Saturday 12:00:01 to Tuesday 10 November 07:00 UTC: 02:00 UTC of the 8th, 9th
    // and 10th passed; one run, for the 10th, then Wednesday's at 02:00 UTC on time.
    const { fired, triggers } = await scenario('0 3 * * *', '2026-11-07T12:00:00Z', async () => {
      await vi.advanceTimersByTimeAsync(1000);
      sleepUntil('2026-11-10T07:00:00Z');
      await advanceTo('2026-11-11T03:00:00Z');
    });
    expect(fired).toEqual(['2026-11-10T02:00:00.000Z', '2026-11-11T02:00:00.000Z']);
    expect(triggers).toEqual(['schedule 0 3 * * *', 'schedule 0 3 * * * (caught up: missed 2026-11-10T02:00:00.000Z)']);
  }, 120_000);
});

describe('a scheduler restarted on the night clocks go back', () => {
  it('does not catch up the first 02:30 when node-cron fires the second', async () => {
    // Sunday 25 October 2026 in Paris: 03:00 CEST (01:00 UTC) becomes 02:00 CET, so 02:30 comes
    // at 00:30 UTC (CEST, UTC+2) and again at 01:30 UTC (CET, UTC+1); node-cron fires the second.
    // Fired Saturday 02:30 CEST (00:30 UTC), restarted at 02:10 CET (01:10 UTC): the first 02:30
    // passed while down, the second comes in 20 minutes. One run, at 01:30 UTC.
    await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('past-1', 'run', 'schedule 30 2 * * *', 'succeeded', '2026-10-24T00:30:00Z', '2026-10-24T00:31:00Z')`);
    const { fired, triggers } = await scenario('30 2 * * *', '2026-10-25T01:10:00Z', () => advanceTo('2026-10-25T03:00:00Z'));
    expect(fired).toEqual(['2026-10-25T01:30:00.000Z']);
    expect(triggers).toEqual(['schedule 30 2 * * *']);
  }, 120_000);

  it('still catches up a missed time the cron task does not name again that night', () => {
    const saturday = new Date('2026-10-24T00:30:00Z');
    // Restarted at 02:40 CET (01:40 UTC), after both 02:30s: the second (01:30 UTC) was missed.
    expect(lastMissedTime('30 2 * * *', 'Europe/Paris', saturday, new Date('2026-10-25T01:40:00Z'))).toEqual(new Date('2026-10-25T01:30:00Z'));
    // New York, 1 November 2026: 01:30 comes at 05:30 UTC (EDT, UTC-4) and 06:30 UTC (EST,
    // UTC-5); node-cron fires the first, so restarted at 05:45 UTC its next is Monday 01:30 EST
    // (06:30 UTC): the first is caught up, the only firing of the night.
    expect(lastMissedTime('30 1 * * *', 'America/New_York', new Date('2026-10-31T05:30:00Z'), new Date('2026-11-01T05:45:00Z'))).toEqual(new Date('2026-11-01T05:30:00Z'));
    // An ordinary night: 03:00 Paris (02:00 UTC) missed, restarted at 02:10 UTC; the next is a day later.
    expect(lastMissedTime('0 3 * * *', 'Europe/Paris', new Date('2026-11-07T02:00:00Z'), new Date('2026-11-08T02:10:00Z'))).toEqual(new Date('2026-11-08T02:00:00Z'));
  });
});
