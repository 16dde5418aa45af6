import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { ConfigError, UsageError } from '../../lib/errors.ts';
import { logger } from '../../lib/logger.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeSource } from '../support/fake-source.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('schedules');
});
afterAll(async () => wh?.close());

/** Hour and minute of a time in a zone, as a clock on the wall there shows them. */
function wallClock(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
}

describe('schedules', () => {
  it('defaults to nightly at 03:00 in the reporting time zone; a per-source schedule runs only its sources', async () => {
    expect(configSchema.parse({}).schedules).toEqual([{ cron: '0 3 * * *' }]);
    const config = configSchema.parse({
      reportingTimezone: 'Europe/Paris',
      schedules: [{ cron: '0 3 * * *' }, { cron: '*/15 * * * *', sources: ['stripe'] }],
    });
    const asked: (string[] | undefined)[] = [];
    const scheduler = startScheduler({
      warehouse: wh, config, log: logger(), steps: [],
      resolve: (only) => {
        asked.push(only);
        return [{ source: fakeSource({ streams: ['ticks'] }), config: {} }];
      },
    });
    await scheduler.stop();
    expect(asked).toEqual([undefined, ['stripe']]);
    expect(scheduler.entries.map((e) => [e.cron, e.sources])).toEqual([
      ['0 3 * * *', 'all'],
      ['*/15 * * * *', ['stripe']],
    ]);
    // 03:00 on a Paris wall clock, whatever the machine's zone.
    expect(wallClock(scheduler.entries[0]!.next!, 'Europe/Paris')).toBe('03:00');
    expect(['00', '15', '30', '45']).toContain(wallClock(scheduler.entries[1]!.next!, 'Europe/Paris').slice(3));
    expect(scheduler.firings).toBe(0);
  });

  it('refuses at start what would fail at 03:00: a bad cron expression, an unknown source, an alert it cannot check', () => {
    const parsed = configSchema.safeParse({ schedules: [{ cron: '0 3 * *' }, { cron: '61 * * * *' }] });
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['schedules.0.cron', 'schedules.1.cron']);
    expect(parsed.error?.issues[0]?.message).toBe('not a cron expression (e.g. "0 3 * * *", or "*/30 * * * * *" with seconds)');

    const unknownSource = configSchema.parse({ schedules: [{ cron: '0 3 * * *', sources: ['shopify'] }] });
    expect(() => startScheduler({ warehouse: wh, config: unknownSource, log: logger() })).toThrow(UsageError);
    expect(() => startScheduler({ warehouse: wh, config: unknownSource, log: logger() })).toThrow('not configured or disabled: shopify');

    const badAlert = configSchema.parse({ alerts: { rules: [{ metric: 'profit', op: '>', threshold: 1 }] } });
    expect(() => startScheduler({ warehouse: wh, config: badAlert, log: logger(), resolve: () => [] })).toThrow(ConfigError);
  });
});
