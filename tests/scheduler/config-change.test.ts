import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * An edit of the config file while `verite schedule` runs is not taken (a scheduler does not
 * change its schedules under a run), but it is said at the next firing, with whether the new
 * file would be taken at a restart. The firing is a missed one made up at start, on an injected
 * clock: the file is changed between the start and that firing.
 */

let wh: Warehouse;
let dir: string;
beforeAll(async () => {
  wh = await createTestDatabase('config_change');
  await createFakeTables(wh.db);
  dir = mkdtempSync(join(tmpdir(), 'verite-config-change-'));
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await wh.pool.query(`delete from ops.runs`);
  await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('past', 'run', 'schedule 0 3 * * *', 'succeeded', '2026-12-04T03:00:02Z', '2026-12-04T03:00:09Z')`);
});

async function startThenEdit(edited: string) {
  const file = join(dir, 'verite.config.json');
  const text = JSON.stringify({ schedules: [{ cron: '0 3 * * *' }] });
  writeFileSync(file, text);
  const lines: { msg: string; problems?: string[]; file?: string }[] = [];
  const log = createLogger({ write: (line: string) => void lines.push(JSON.parse(line)) }, 'warn');
  let ended!: () => void;
  const job = new Promise<void>((resolve) => (ended = resolve));
  const scheduler = startScheduler({
    warehouse: wh, config: configSchema.parse(JSON.parse(text)), configFile: file, log, steps: [],
    resolve: () => [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }],
    now: () => new Date('2026-12-06T10:00:00Z'),
    onJob: () => ended(),
  });
  // Before the made-up firing (it waits for the warehouse's answer to fire).
  writeFileSync(file, edited);
  await job;
  await scheduler.stop();
  // The new file is read for the message after the firing: give it the turns it takes.
  for (let i = 0; i < 200 && !lines.some((l) => /config file changed/.test(l.msg)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return { lines: lines.filter((l) => /config file changed/.test(l.msg)), file };
}

describe('the config file changed under verite schedule', () => {
  it('is said at the next firing, once, with the new file taken at a restart', async () => {
    const { lines, file } = await startThenEdit(JSON.stringify({ schedules: [{ cron: '0 4 * * *' }] }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ file, msg: 'the config file changed since the scheduler started; the runs go on with the config read then: send verite schedule SIGHUP (or restart it) to use the new one' });
  });

  it('names the problems of a new file that would be refused', async () => {
    const { lines } = await startThenEdit('{ "schedules": [{ "cron": "0 3 * *" }] }');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toBe('the config file changed since the scheduler started, and the new one would be refused (problems listed); the runs go on with the config read at start');
    expect(lines[0]!.problems).toEqual(['schedules.0.cron: not a cron expression (e.g. "0 3 * * *", or "*/30 * * * * *" with seconds)']);
  });
});
