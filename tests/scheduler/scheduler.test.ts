import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables } from '../support/fake-source.ts';
import { spawnScript, waitFor, type ScriptProcess } from '../support/spawn-script.ts';

let wh: Warehouse;
let dir: string;
beforeAll(async () => {
  wh = await createTestDatabase('scheduler');
  await createFakeTables(wh.db);
  dir = mkdtempSync(join(tmpdir(), 'verite-schedule-'));
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface RunRow {
  id: string;
  status: string;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  pid: number;
  error: string | null;
}

describe('verite schedule', () => {
  it('two schedulers on one warehouse, firing every second: runs never overlap and every firing is recorded', async () => {
    const config = join(dir, 'verite.config.json');
    // Seconds first: fires every second, in both processes.
    writeFileSync(config, JSON.stringify({ schedules: [{ cron: '* * * * * *' }], scheduleOverlap: 'skip', retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    // The first run to take the lock waits at this barrier before its first page: however fast
    // or slow the machine, firings then meet a run in progress, in the other process (the lock)
    // and in its own (the schedule still busy), until the test opens it.
    const barrier = join(dir, 'barrier-open');
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: config, FAKE_DELAY_MS: '0', FAKE_BARRIER: barrier };
    const schedulers: ScriptProcess[] = [spawnScript('scheduler-runner.ts', env), spawnScript('scheduler-runner.ts', env)];
    const fired = (p: ScriptProcess) => p.logLines().filter((l) => l.msg === 'schedule fired');
    const runs = async () => (await wh.pool.query<RunRow>(`select id, status, trigger, started_at, finished_at, pid, error from ops.runs where kind = 'run' order by started_at`)).rows;
    const inProgressElsewhere = (r: RunRow) => /^another run is in progress: run /.test(r.error ?? '');
    const previousNotFinished = (r: RunRow) => /^the previous firing of this schedule /.test(r.error ?? '');
    try {
      await waitFor('a run held at the barrier, skipped by the other scheduler and by its own', async () => {
        const rows = await runs();
        const holder = rows.find((r) => r.status === 'running');
        return (
          holder !== undefined &&
          rows.some((r) => r.status === 'skipped' && r.pid !== holder.pid && inProgressElsewhere(r)) &&
          rows.some((r) => r.status === 'skipped' && r.pid === holder.pid && previousNotFinished(r))
        );
      });
      writeFileSync(barrier, '');
      await waitFor('two runs to succeed', async () => (await runs()).filter((r) => r.status === 'succeeded').length >= 2);
    } finally {
      for (const p of schedulers) p.child.kill('SIGTERM');
    }
    const exits = await Promise.all(schedulers.map((p) => p.exited));
    expect(exits.map((e) => e.code), schedulers.map((p) => p.stderr()).join('\n')).toEqual([0, 0]);

    const rows = await runs();
    // Every firing of each process left exactly one row, carrying that process's id.
    const firings = schedulers.flatMap((p) => fired(p).map((l) => ({ runId: l.runId as string, pid: p.child.pid })));
    expect(rows.length).toBe(firings.length);
    for (const f of firings) expect(rows.find((r) => r.id === f.runId)?.pid).toBe(f.pid);
    for (const r of rows) expect(r.trigger).toBe('schedule * * * * * *');
    expect(rows.filter((r) => r.status === 'running')).toEqual([]);

    // The runs that ran (not skipped) follow one another: each starts after the previous ended.
    const ran = rows.filter((r) => r.status !== 'skipped');
    expect(ran.filter((r) => r.status === 'succeeded').length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < ran.length; i++) {
      expect(ran[i]!.started_at.getTime()).toBeGreaterThanOrEqual(ran[i - 1]!.finished_at!.getTime());
    }
    // Both ways of finding a run in progress were met, and each skip says why.
    const skipped = rows.filter((r) => r.status === 'skipped');
    expect(skipped.some((r) => /^another run is in progress: run [0-9a-f-]{36} \(run, schedule \* \* \* \* \* \*\) started .* pid \d+$/.test(r.error ?? ''))).toBe(true);
    expect(skipped.some((r) => /^the previous firing of this schedule \(run [0-9a-f-]{36}\) has not finished$/.test(r.error ?? ''))).toBe(true);
    // The runs that ran landed pages with their cursor: 3 pages of 2 records per succeeded run,
    // and one stopped by SIGTERM keeps the pages it committed.
    const landed = await wh.pool.query<{ n: number; page: number }>(`select count(*)::int as n, max((_record->>'page')::int) as page from raw.fake__ticks`);
    const state = await wh.pool.query<{ page: number }>(`select (state->>'page')::int as page from ops.stream_state where source = 'fake' and stream = 'ticks'`);
    expect(state.rows[0]!.page).toBeGreaterThanOrEqual(6);
    expect(landed.rows[0]!.n).toBe(state.rows[0]!.page * 2);
    expect(landed.rows[0]!.page).toBe(state.rows[0]!.page);
  });
});
