import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, dailyRows } from '../support/fake-source.ts';
import { spawnScript, waitFor } from '../support/spawn-script.ts';

let interrupted: Warehouse;
let straight: Warehouse;
let abandoned: Warehouse;
let dir: string;
beforeAll(async () => {
  [interrupted, straight, abandoned] = await Promise.all([createTestDatabase('backfill_killed'), createTestDatabase('backfill_straight'), createTestDatabase('backfill_abandoned')]);
  for (const wh of [interrupted, straight, abandoned]) {
    await createFakeTables(wh.db);
    // An incremental run has already gone through 31 March.
    await wh.pool.query(`insert into ops.stream_state (source, stream, state, data_through, updated_at) values ('fake', 'daily', '{"date":"2024-03-31"}', '2024-04-01T00:00:00Z', now())`);
  }
  dir = mkdtempSync(join(tmpdir(), 'verite-backfill-'));
});
afterAll(async () => {
  await Promise.all([interrupted?.close(), straight?.close(), abandoned?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const range = { BACKFILL_FROM: '2024-01-01', BACKFILL_TO: '2024-01-20', BACKFILL_CHUNK_DAYS: '3' };
// 20 days in chunks of 3: seven chunks, the last one of 2 days.
const chunks = [
  ['2024-01-01', '2024-01-03'], ['2024-01-04', '2024-01-06'], ['2024-01-07', '2024-01-09'], ['2024-01-10', '2024-01-12'],
  ['2024-01-13', '2024-01-15'], ['2024-01-16', '2024-01-18'], ['2024-01-19', '2024-01-20'],
];

function windowsRead(file: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const { window } = JSON.parse(l) as { window: { from: string; to: string } };
    return [window.from, window.to];
  });
}

async function rawRows(wh: Warehouse) {
  return (await wh.pool.query(`select _key, _record, _report_date from raw.fake__daily order by _key`)).rows;
}

describe('verite backfill, interrupted', () => {
  it('a killed backfill, run again, does only the chunks left and ends with the rows of an uninterrupted one', async () => {
    const firstLog = join(dir, 'first.jsonl');
    const first = spawnScript('backfill-runner.ts', { ...range, DATABASE_URL: interrupted.url, FAKE_DELAY_MS: '150', FAKE_READ_LOG: firstLog });
    const doneChunks = async () =>
      (await interrupted.pool.query<{ seq: number }>(`select seq from ops.backfill_chunks where status = 'done' order by seq`)).rows.map((r) => r.seq);
    // Kill it in the middle of a chunk: two done, and the third one's read begun.
    await waitFor('two chunks done and the next begun', async () => {
      const done = (await doneChunks()).length;
      return done >= 2 && windowsRead(firstLog).length > done;
    });
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const doneBefore = await doneChunks();
    expect(doneBefore.length).toBeGreaterThanOrEqual(2);
    expect(doneBefore.length).toBeLessThan(chunks.length);
    // Chunks are done in date order.
    expect(doneBefore).toEqual(doneBefore.map((_, i) => i + 1));

    const secondLog = join(dir, 'second.jsonl');
    const second = spawnScript('backfill-runner.ts', { ...range, DATABASE_URL: interrupted.url, FAKE_READ_LOG: secondLog });
    const secondExit = await second.exited;
    expect(secondExit.code, second.stderr()).toBe(0);
    const result = JSON.parse(second.stdout()) as { status: string; resumed: boolean; done: number; total: number };
    expect(result).toMatchObject({ status: 'succeeded', resumed: true, done: 7, total: 7 });
    // The rerun read exactly the chunks that were not done, in order.
    expect(windowsRead(secondLog)).toEqual(chunks.slice(doneBefore.length));
    // The first process read the done chunks and (unless it finished it in the instant before the
    // kill) had begun the next one.
    const readByFirst = windowsRead(firstLog);
    expect(readByFirst).toEqual(chunks.slice(0, readByFirst.length));
    const cutShort = readByFirst.length - doneBefore.length;
    expect([0, 1]).toContain(cutShort);

    const third = spawnScript('backfill-runner.ts', { ...range, DATABASE_URL: straight.url });
    expect((await third.exited).code, third.stderr()).toBe(0);

    const expected = chunks
      .flatMap(([from, to]) => {
        const dates: string[] = [];
        for (let d = new Date(`${from}T00:00:00Z`); d.toISOString().slice(0, 10) <= to!; d.setUTCDate(d.getUTCDate() + 1)) dates.push(d.toISOString().slice(0, 10));
        return dates;
      })
      .flatMap((date) => dailyRows(date).map((r) => ({ _key: `${date}|${String(r.slot)}`, _record: r, _report_date: date })))
      .sort((a, b) => (a._key < b._key ? -1 : 1));
    expect(expected).toHaveLength(60);
    expect(await rawRows(interrupted)).toEqual(expected);
    expect(await rawRows(straight)).toEqual(expected);

    for (const wh of [interrupted, straight]) {
      // The incremental cursor did not move back to January.
      const state = await wh.pool.query(`select state, data_through from ops.stream_state where source = 'fake' and stream = 'daily'`);
      expect(state.rows[0]).toEqual({ state: { date: '2024-03-31' }, data_through: new Date('2024-04-01T00:00:00Z') });
      expect((await wh.pool.query(`select status from ops.backfills`)).rows).toEqual([{ status: 'succeeded' }]);
      expect((await wh.pool.query(`select count(*)::int as n from ops.backfill_chunks where status = 'done'`)).rows[0].n).toBe(7);
    }
    // The chunk run the kill cut short was closed as abandoned by the rerun; nothing is left running.
    const runs = (await interrupted.pool.query<{ status: string; error: string | null }>(`select status, error from ops.runs where kind = 'backfill' order by started_at`)).rows;
    expect(runs.filter((r) => r.status === 'running')).toEqual([]);
    expect(runs.filter((r) => r.status === 'failed').map((r) => r.error)).toEqual(Array.from({ length: cutShort }, () => expect.stringMatching(/^abandoned/)));
    expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(7);
  });
});

describe('a killed backfill in ops.backfills and verite status', () => {
  it('is closed as failed by the next command, saying to run it again, and the same command resumes the chunks not done', async () => {
    const firstLog = join(dir, 'abandoned-first.jsonl');
    const first = spawnScript('backfill-runner.ts', { ...range, DATABASE_URL: abandoned.url, FAKE_DELAY_MS: '150', FAKE_READ_LOG: firstLog });
    await waitFor('the first chunk done', async () => (await abandoned.pool.query(`select 1 from ops.backfill_chunks where status = 'done'`)).rows.length >= 1);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const done = (await abandoned.pool.query<{ n: number }>(`select count(*)::int as n from ops.backfill_chunks where status = 'done'`)).rows[0]!.n;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(chunks.length);

    // Any command that opens the warehouse: here `verite status`.
    const config = join(dir, 'abandoned.config.json');
    writeFileSync(config, JSON.stringify({ reportingTimezone: 'UTC' }));
    const status = await runCli(['status', '--format', 'json'], { env: { DATABASE_URL: abandoned.url, VERITE_CONFIG: config } });
    expect(status.code, status.stderr).toBe(0);
    const { backfills } = JSON.parse(status.stdout) as { backfills: { status: string; chunksDone: number; chunks: number; error: string }[] };
    const error = expect.stringMatching(
      /^abandoned: its process \(pid \d+ on [^)]+\) ended before it finished \(killed, or the machine stopped\); the chunks it finished stay, and its chunk in progress is read again: run the same command again to resume$/,
    );
    expect(backfills).toEqual([expect.objectContaining({ status: 'failed', chunksDone: done, chunks: 7, error })]);
    expect((await abandoned.pool.query(`select status, error, finished_at from ops.backfills`)).rows).toEqual([{ status: 'failed', error, finished_at: null }]);

    const secondLog = join(dir, 'abandoned-second.jsonl');
    const second = spawnScript('backfill-runner.ts', { ...range, DATABASE_URL: abandoned.url, FAKE_READ_LOG: secondLog });
    expect((await second.exited).code, second.stderr()).toBe(0);
    expect(JSON.parse(second.stdout())).toMatchObject({ status: 'succeeded', resumed: true, done: 7, total: 7 });
    // It read exactly the chunks the first process had not finished.
    expect(windowsRead(secondLog)).toEqual(chunks.slice(done));
    expect((await abandoned.pool.query(`select status, error from ops.backfills`)).rows).toEqual([{ status: 'succeeded', error: null }]);
  });
});
