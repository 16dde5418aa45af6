import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import type { ReportDeliveryResult } from '../../scheduler/report-delivery.ts';
import type { RunJobResult } from '../../scheduler/run-job.ts';
import { lastCronTimeBetween, startScheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * `verite schedule` started after a firing time passed while no scheduler ran (a reboot at
 * 02:55, a deploy over the night): the missed run, and the missed report, are fired once at
 * start, on an injected clock.
 */

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('catch_up');
  await createFakeTables(wh.db);
});
afterAll(async () => wh?.close());
beforeEach(async () => {
  await wh.pool.query(`delete from ops.runs`);
  await wh.pool.query(`delete from ops.report_deliveries`);
});

async function pastRun(trigger: string, startedAt: string) {
  await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ($1, 'run', $2, 'succeeded', $3, $3)`, [`past-${startedAt}`, trigger, startedAt]);
}

const runs = async () => (await wh.pool.query<{ trigger: string; status: string }>(`select trigger, status from ops.runs where id not like 'past-%' order by started_at`)).rows;

/** Starts a scheduler on the clock `now`, waits for what it caught up to end, and stops it. */
async function startAt(now: string, top: Record<string, unknown>) {
  const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', retries: { streamAttempts: 1, backoffSeconds: 0 }, ...top });
  const jobs: RunJobResult[] = [];
  const reports: ReportDeliveryResult[] = [];
  let ended!: () => void;
  const allEnded = new Promise<void>((resolve) => (ended = resolve));
  let expected = Infinity;
  const tick = () => void (jobs.length + reports.length >= expected && ended());
  const scheduler = startScheduler({
    warehouse: wh, config, log: logger(), steps: [],
    resolve: () => [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }],
    now: () => new Date(now),
    onJob: (r) => void (jobs.push(r), tick()),
    onReport: (r) => void (reports.push(r), tick()),
    reportDelivery: { sleep: async () => undefined, env: {} },
  });
  const caught = await scheduler.caughtUp;
  expected = caught.length;
  tick();
  await allEnded;
  await scheduler.stop();
  return { caught, jobs, reports };
}

describe('missed firings', () => {
  it('finds the last cron time after the last firing, on the shop clock', () => {
    // 03:00 in Paris is 02:00 UTC in winter (CET) and 01:00 UTC in summer (CEST).
    expect(lastCronTimeBetween('0 3 * * *', 'Europe/Paris', new Date('2026-12-01T02:00:05Z'), new Date('2026-12-06T10:00:00Z'))?.toISOString()).toBe('2026-12-06T02:00:00.000Z');
    expect(lastCronTimeBetween('0 3 * * *', 'Europe/Paris', new Date('2026-07-01T01:00:05Z'), new Date('2026-07-04T00:30:00Z'))?.toISOString()).toBe('2026-07-03T01:00:00.000Z');
    // The last firing came after the last cron time: nothing missed.
    expect(lastCronTimeBetween('0 3 * * *', 'Europe/Paris', new Date('2026-12-06T02:00:05Z'), new Date('2026-12-06T10:00:00Z'))).toBeNull();
    // A firing due in the current minute is the cron task's, not a missed one.
    expect(lastCronTimeBetween('0 3 * * *', 'Europe/Paris', new Date('2026-12-05T02:00:05Z'), new Date('2026-12-06T02:00:40Z'))).toBeNull();
    // Monday 07:00 (a weekly report); the Sunday after: the Monday before it, 30 November.
    expect(lastCronTimeBetween('0 7 * * 1', 'Europe/Paris', new Date('2026-11-23T06:00:00Z'), new Date('2026-12-06T18:00:00Z'))?.toISOString()).toBe('2026-11-30T06:00:00.000Z');
    // Seconds first, once a minute at second 30.
    expect(lastCronTimeBetween('30 0 3 * * *', 'UTC', new Date('2026-12-05T03:00:31Z'), new Date('2026-12-06T10:00:00Z'))?.toISOString()).toBe('2026-12-06T03:00:30.000Z');
    // Several times a minute: fires again within seconds, nothing to catch up.
    expect(lastCronTimeBetween('*/20 * * * * *', 'UTC', new Date('2026-12-05T03:00:31Z'), new Date('2026-12-06T10:00:00Z'))).toBeNull();
  });

  it('fires a schedule missed while no scheduler ran once at start, recorded as caught up', async () => {
    // The nightly run fired on 4 December, then the machine was off until 6 December 10:00 UTC:
    // the firings of the 5th and the 6th at 03:00 Paris passed; one run makes up for both.
    await pastRun('schedule 0 3 * * *', '2026-12-04T02:00:03Z');
    const { caught, jobs } = await startAt('2026-12-06T10:00:00Z', { schedules: [{ cron: '0 3 * * *' }] });
    expect(caught.map((c) => [c.kind, c.cron, c.missed.toISOString(), c.lastFiring.toISOString()])).toEqual([['run', '0 3 * * *', '2026-12-06T02:00:00.000Z', '2026-12-04T02:00:03.000Z']]);
    expect(jobs.map((j) => j.status)).toEqual(['succeeded']);
    expect(await runs()).toEqual([{ trigger: 'schedule 0 3 * * * (caught up: missed 2026-12-06T02:00:00.000Z)', status: 'succeeded' }]);
  });

  it('counts a caught-up firing as a firing of its schedule the next time', async () => {
    await pastRun('schedule 0 3 * * * (caught up: missed 2026-12-06T02:00:00.000Z)', '2026-12-06T10:00:01Z');
    const { caught } = await startAt('2026-12-06T18:00:00Z', { schedules: [{ cron: '0 3 * * *' }] });
    expect(caught).toEqual([]);
  });

  it('fires nothing for a schedule that never fired, one whose firing was not missed, or with scheduleCatchUp off', async () => {
    // Another expression's runs do not count: the schedule changed, and starts with its next time.
    await pastRun('schedule 0 4 * * *', '2026-12-01T03:00:00Z');
    await pastRun('schedule 30 * * * *', '2026-12-06T09:30:02Z');
    const first = await startAt('2026-12-06T10:00:00Z', { schedules: [{ cron: '0 3 * * *' }, { cron: '30 * * * *' }] });
    expect(first.caught).toEqual([]);
    await pastRun('schedule 0 3 * * *', '2026-12-04T02:00:03Z');
    const off = await startAt('2026-12-06T10:00:00Z', { schedules: [{ cron: '0 3 * * *' }], scheduleCatchUp: false });
    expect(off.caught).toEqual([]);
    expect(await runs()).toEqual([]);
  });

  it('delivers a report missed while no scheduler ran, once, at start', async () => {
    // The weekly review went out on Monday 23 November at 07:00 Paris; the scheduler was down on
    // Monday 30 November and comes back on Sunday 6 December.
    await wh.pool.query(`insert into ops.report_deliveries (kind, period, file, channel, status, attempts, scheduled_for, finished_at) values ('weekly', '2026-W47', 'w.html', 'file', 'delivered', 1, '2026-11-23T06:00:00Z', '2026-11-23T06:00:09Z')`);
    const { caught, reports } = await startAt('2026-12-06T18:00:00Z', { schedules: [], reports: [{ cron: '0 7 * * 1', kind: 'weekly' }, { cron: '0 7 1 * *', kind: 'monthly' }] });
    // The monthly report never went out before: it starts with its next time.
    expect(caught.map((c) => [c.kind, c.index, c.missed.toISOString()])).toEqual([['report', 0, '2026-11-30T06:00:00.000Z']]);
    expect(reports).toHaveLength(1);
    const rows = (await wh.pool.query<{ kind: string; scheduled_for: Date }>(`select kind, scheduled_for from ops.report_deliveries where scheduled_for > '2026-11-24' order by id`)).rows;
    // Made on the clock of the start (this warehouse has no metrics: the attempt is recorded, failed).
    expect(rows).toEqual([{ kind: 'weekly', scheduled_for: new Date('2026-12-06T18:00:00Z') }]);
  });
});
