import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { nextGapFiring } from '../../scheduler/dst-gap.ts';
import type { RunJobResult } from '../../scheduler/run-job.ts';
import { lastMissedTime, nextFiring, startScheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { heldTimers } from '../support/held-timers.ts';

/**
 * On the night clocks go forward, 02:00 to 03:00 does not exist in Paris or New York, and
 * node-cron never fired a schedule set in that hour: `0 2 * * *` skipped a night a year. Such a
 * firing is now made at the end of the gap, as the system's cron makes it.
 */

describe('firing times in a daylight-saving gap', () => {
  it('are found on the night the zone moves its clocks forward, at the end of the gap', () => {
    const from = new Date('2026-12-06T00:00:00Z');
    // Europe: the last Sunday of March 2027 is the 28th; 02:00 CET becomes 03:00 CEST, 01:00 UTC.
    expect(nextGapFiring('0 2 * * *', 'Europe/Paris', from)).toEqual({ at: new Date('2027-03-28T01:00:00Z'), nominal: '2027-03-28 02:00' });
    // A weekly run on Sundays at 02:00 falls in it too; one on Mondays never does.
    expect(nextGapFiring('0 2 * * 0', 'Europe/Paris', from)?.nominal).toBe('2027-03-28 02:00');
    expect(nextGapFiring('0 2 * * 1', 'Europe/Paris', from)).toBeNull();
    // New York: the second Sunday of March 2027 is the 14th; 03:00 EDT is 07:00 UTC.
    expect(nextGapFiring('30 2 * * *', 'America/New_York', from)).toEqual({ at: new Date('2027-03-14T07:00:00Z'), nominal: '2027-03-14 02:30' });
    // Lord Howe Island moves by half an hour (02:00 to 02:30, UTC+10:30 to +11) on the first Sunday of October, the 3rd.
    expect(nextGapFiring('15 2 * * *', 'Australia/Lord_Howe', from)).toEqual({ at: new Date('2027-10-02T15:30:00Z'), nominal: '2027-10-03 02:15' });
    // Times that exist every night, a zone without daylight saving, and an expression firing every minute.
    expect(nextGapFiring('0 3 * * *', 'Europe/Paris', from)).toBeNull();
    expect(nextGapFiring('0 2 * * *', 'UTC', from)).toBeNull();
    expect(nextGapFiring('* * * * *', 'Europe/Paris', from)).toBeNull();
    // A scheduler that was not running across the gap makes it up at start: the gap's end is the missed time.
    const lastFiring = new Date('2027-03-27T01:00:04Z'); // Saturday 02:00 CET
    expect(lastMissedTime('0 2 * * *', 'Europe/Paris', lastFiring, new Date('2027-03-28T09:00:00Z'))).toEqual(new Date('2027-03-28T01:00:00Z'));
    // Started on Monday morning: Monday 02:00 CEST (00:00 UTC) is the later missed time.
    expect(lastMissedTime('0 2 * * *', 'Europe/Paris', lastFiring, new Date('2027-03-29T09:00:00Z'))).toEqual(new Date('2027-03-29T00:00:00Z'));
    // Fired at the gap's end already: nothing missed.
    expect(lastMissedTime('0 2 * * *', 'Europe/Paris', new Date('2027-03-28T01:00:02Z'), new Date('2027-03-28T09:00:00Z'))).toBeNull();
    // The next firing: the gap's end when it comes before the next named time.
    expect(nextFiring('0 2 * * *', 'Europe/Paris', new Date('2027-03-27T12:00:00Z'))).toEqual(new Date('2027-03-28T01:00:00Z'));
    expect(nextFiring('0 2 * * *', 'Europe/Paris', new Date('2027-03-28T01:00:00Z'))).toEqual(new Date('2027-03-29T00:00:00Z'));
    expect(nextFiring('0 3 * * *', 'Europe/Paris', new Date('2027-03-27T12:00:00Z'))).toEqual(new Date('2027-03-28T01:00:00Z'));
    // From the end of a gap, the next is a year later.
    expect(nextGapFiring('0 2 * * *', 'Europe/Paris', new Date('2027-03-28T01:00:00Z'))?.nominal).toBe('2028-03-26 02:00');
  });
});

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('dst_gap');
  await createFakeTables(wh.db);
});
afterAll(async () => wh?.close());

describe('the scheduler on the night of a daylight-saving gap', () => {
  it('fires a schedule set in the gap at its end, records why, and plans the next year’s', async () => {
    const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', schedules: [{ cron: '0 2 * * *' }], retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const { timers, held } = heldTimers();
    let now = new Date('2027-03-27T12:00:00Z');
    const jobs: RunJobResult[] = [];
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const scheduler = startScheduler({
      warehouse: wh, config: { ...config, scheduleCatchUp: false }, log: logger(), steps: [], timers, now: () => now,
      resolve: () => [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }],
      onJob: (r) => void (jobs.push(r), ended()),
    });
    try {
      // Saturday noon UTC to the end of Sunday's gap, 01:00 UTC: 13 hours; it is the next firing said.
      expect(held.map((t) => t.ms)).toEqual([13 * 3_600_000]);
      expect(scheduler.entries[0]!.next).toEqual(new Date('2027-03-28T01:00:00Z'));
      now = new Date('2027-03-28T01:00:00Z');
      held[0]!.fire();
      await done;
      expect(jobs[0]!.status).toBe('succeeded');
      const rows = (await wh.pool.query<{ trigger: string }>(`select trigger from ops.runs where kind = 'run'`)).rows;
      expect(rows).toEqual([{ trigger: 'schedule 0 2 * * * (daylight saving: 2027-03-28 02:00 did not exist in Europe/Paris)' }]);
      // The next gap, 26 March 2028, is too far for one timer: one of 20 days, planned again when it fires.
      expect(held).toHaveLength(2);
      expect(held[1]!.ms).toBe(20 * 86_400_000);
      now = new Date('2027-04-17T01:00:00Z');
      held[1]!.fire();
      expect(jobs).toHaveLength(1);
      expect(held[2]!.ms).toBe(20 * 86_400_000);
    } finally {
      await scheduler.stop();
    }
    // Stopping clears the timer of the next gap.
    expect(held.at(-1)!.cleared).toBe(true);
  });
});
