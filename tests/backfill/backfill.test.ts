import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { progressReporter } from '../../cli/commands/backfill.ts';
import { configSchema } from '../../config/schema.ts';
import type { Page, ReadContext, Source, Stream } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import { UsageError } from '../../lib/errors.ts';
import { parseChunk, planChunks, runBackfill, type BackfillProgress } from '../../pipeline/backfill.ts';
import type { PostLoadStep } from '../../pipeline/steps.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { spawnScript } from '../support/spawn-script.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('backfill');
  await createFakeTables(wh.db);
});
afterAll(async () => wh?.close());
beforeEach(async () => {
  await wh.pool.query('delete from ops.backfills; delete from raw.fake__daily; delete from ops.stream_state');
});

const config = configSchema.parse({ retries: { streamAttempts: 1, backoffSeconds: 0 } });

/** The fake source's `daily` stream, recording the windows it reads and failing on the ones listed. */
function dailySource(failOn: string[] = []): { source: Source<unknown>; reads: string[] } {
  const reads: string[] = [];
  const daily = fakeSource({ streams: ['daily'] }).streams[0]!;
  const stream: Stream<unknown> = {
    ...daily,
    async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
      const window = `${ctx.window!.from}..${ctx.window!.to}`;
      reads.push(window);
      if (failOn.includes(window)) throw new Error(`HTTP 500 for ${window}`);
      yield* daily.read(ctx);
    },
  };
  return { source: { name: 'fake', streams: [stream] }, reads };
}

function backfill(source: Source<unknown>, extra: Partial<Parameters<typeof runBackfill>[0]> = {}) {
  return runBackfill({ warehouse: wh, config, log: logger(), source: { source, config: {} }, from: '2024-01-01', to: '2024-01-10', chunkDays: 4, steps: [], ...extra });
}

describe('backfill chunks', () => {
  it('parses chunk lengths in days or weeks', () => {
    expect([parseChunk('7d'), parseChunk('2w'), parseChunk('3'), parseChunk('1D')]).toEqual([7, 14, 3, 1]);
    for (const bad of ['0d', 'x', '7m', '-1', '400d']) expect(() => parseChunk(bad)).toThrow(UsageError);
  });

  it('splits a range into consecutive chunks, the last one shorter, across month ends and 29 February', () => {
    expect(planChunks('2024-01-30', '2024-02-02', 2)).toEqual([
      { seq: 1, from: '2024-01-30', to: '2024-01-31' },
      { seq: 2, from: '2024-02-01', to: '2024-02-02' },
    ]);
    expect(planChunks('2024-02-27', '2024-03-02', 2)).toEqual([
      { seq: 1, from: '2024-02-27', to: '2024-02-28' },
      { seq: 2, from: '2024-02-29', to: '2024-03-01' },
      { seq: 3, from: '2024-03-02', to: '2024-03-02' },
    ]);
    expect(planChunks('2024-05-05', '2024-05-05', 7)).toEqual([{ seq: 1, from: '2024-05-05', to: '2024-05-05' }]);
    expect(() => planChunks('2023-02-29', '2023-03-01', 1)).toThrow('--from 2023-02-29: expected a date as YYYY-MM-DD');
    expect(() => planChunks('2024-03-02', '2024-03-01', 1)).toThrow('--from 2024-03-02 is after --to 2024-03-01');
  });
});

describe('runBackfill', () => {
  it('stops at a failing chunk, keeps what the earlier chunks landed, and the same request resumes from it', async () => {
    // 1–10 January in chunks of 4: 1–4, 5–8, 9–10.
    const failing = dailySource(['2024-01-05..2024-01-08']);
    const events: string[] = [];
    const first = await backfill(failing.source, { onProgress: (p) => events.push(`${p.event} ${p.done}/${p.total}${p.chunk ? ` #${p.chunk.seq}` : ''}`) });
    expect(first).toMatchObject({ status: 'failed', resumed: false, total: 3, done: 1, landed: 12 });
    expect(first.error).toBe('chunk 2/3 (2024-01-05 to 2024-01-08) failed: fake.daily: HTTP 500 for 2024-01-05..2024-01-08; rerun the same command to resume from it');
    expect(failing.reads).toEqual(['2024-01-01..2024-01-04', '2024-01-05..2024-01-08']);
    expect(events).toEqual(['started 0/3', 'chunk started 0/3 #1', 'chunk done 1/3 #1', 'chunk started 1/3 #2', 'chunk failed 1/3 #2', 'finished 1/3']);
    // 4 dates × 3 rows landed by chunk 1.
    expect((await wh.pool.query('select count(*)::int as n from raw.fake__daily')).rows[0].n).toBe(12);

    const fixed = dailySource();
    const second = await backfill(fixed.source);
    expect(second).toMatchObject({ backfillId: first.backfillId, status: 'succeeded', resumed: true, total: 3, done: 3, landed: 30 });
    expect(fixed.reads).toEqual(['2024-01-05..2024-01-08', '2024-01-09..2024-01-10']);
    expect(second.ran.map((c) => c.seq)).toEqual([2, 3]);
    expect((await wh.pool.query('select count(*)::int as n from raw.fake__daily')).rows[0].n).toBe(30);
    const chunks = await wh.db.selectFrom('ops.backfill_chunks').select(['seq', 'status', 'records_landed']).where('backfill_id', '=', first.backfillId).orderBy('seq').execute();
    expect(chunks).toEqual([
      { seq: 1, status: 'done', records_landed: 12 },
      { seq: 2, status: 'done', records_landed: 12 },
      { seq: 3, status: 'done', records_landed: 6 },
    ]);
    // The backfill's pages carried cursors; none was stored.
    expect((await wh.pool.query(`select state from ops.stream_state where source = 'fake' and stream = 'daily'`)).rows).toEqual([{ state: null }]);
  });

  it('--restart starts over; a finished backfill run again is a new one', async () => {
    const first = await backfill(dailySource(['2024-01-09..2024-01-10']).source);
    expect(first).toMatchObject({ status: 'failed', done: 2 });
    const restarted = dailySource();
    const second = await backfill(restarted.source, { restart: true });
    expect(second).toMatchObject({ status: 'succeeded', resumed: false, done: 3 });
    expect(second.backfillId).not.toBe(first.backfillId);
    expect(restarted.reads).toHaveLength(3);
    const again = dailySource();
    const third = await backfill(again.source);
    expect(third).toMatchObject({ status: 'succeeded', resumed: false });
    expect(again.reads).toHaveLength(3);
    const rows = await wh.db.selectFrom('ops.backfills').select(['id', 'status', 'error']).orderBy('created_at').execute();
    expect(rows).toEqual([
      { id: first.backfillId, status: 'cancelled', error: 'restarted' },
      { id: second.backfillId, status: 'succeeded', error: null },
      { id: third.backfillId, status: 'succeeded', error: null },
    ]);
  });

  it('runs the post-load steps once, after the last chunk; when they fail, a rerun only retries them', async () => {
    const calls: string[] = [];
    let fail = true;
    const step: PostLoadStep = {
      name: 'transform',
      run: async () => {
        calls.push('transform');
        return fail ? { status: 'failed', summary: 'core.orders: missing FX rate' } : { status: 'succeeded', summary: 'built' };
      },
    };
    const source = dailySource();
    const first = await backfill(source.source, { steps: [step] });
    expect(first.status).toBe('failed');
    expect(first.error).toBe('every chunk is landed, but transform: core.orders: missing FX rate; rerun the same command to retry');
    expect(calls).toEqual(['transform']);
    fail = false;
    const second = await backfill(source.source, { steps: [step] });
    expect(second).toMatchObject({ status: 'succeeded', resumed: true, ran: [] });
    expect(calls).toEqual(['transform', 'transform']);
    expect(source.reads).toHaveLength(3);
  });

  it('a signal between its post-load steps leaves the backfill interrupted, not succeeded, and a rerun does the steps', async () => {
    const calls: string[] = [];
    let controller = new AbortController();
    const steps: PostLoadStep[] = ['transform', 'metrics'].map((name) => ({
      name,
      run: async () => {
        calls.push(name);
        // The signal comes during the first transform only.
        if (calls.length === 1) controller.abort(new Error('interrupted by SIGTERM'));
        return { status: 'succeeded', summary: `${name} done` };
      },
    }));
    const source = dailySource();
    const first = await backfill(source.source, { steps, signal: controller.signal });
    expect(first).toMatchObject({ status: 'interrupted', done: 3, total: 3, error: 'interrupted before the transform, metrics and CLV steps were done; rerun the same command to finish' });
    expect(calls).toEqual(['transform']);
    controller = new AbortController();
    const second = await backfill(source.source, { steps, signal: controller.signal });
    expect(second).toMatchObject({ status: 'succeeded', resumed: true, ran: [] });
    expect(calls).toEqual(['transform', 'transform', 'metrics']);
    // 1 to 10 January in chunks of 4 days: three windows, each read once.
    expect(source.reads).toHaveLength(3);
  });

  it('refuses a stream the source does not have', async () => {
    await expect(backfill(dailySource().source, { stream: 'nope' })).rejects.toThrow('source fake has no stream nope (it has daily)');
  });
});

describe('progress', () => {
  it('draws a bar in place on a terminal and nothing elsewhere (the log lines say it there)', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const report = progressReporter(tty);
    const base: BackfillProgress = { backfillId: 'b', event: 'chunk started', total: 4, done: 1, landed: 12, resumed: false, chunk: { seq: 2, from: '2024-01-05', to: '2024-01-08' } };
    report(base);
    report({ ...base, event: 'finished', done: 4, landed: 40, chunk: undefined });
    expect(written).toEqual([
      `\r\x1b[2K[${'#'.repeat(8)}${'-'.repeat(22)}] 1/4 chunks  12 records  chunk 2: 2024-01-05..2024-01-08`,
      `\r\x1b[2K[${'#'.repeat(30)}] 4/4 chunks  40 records\n`,
    ]);
    const plain: string[] = [];
    progressReporter({ isTTY: false, write: (s: string) => plain.push(s) } as unknown as NodeJS.WriteStream)(base);
    expect(plain).toEqual([]);
  });
});

describe('verite backfill (command line)', () => {
  it('is a command, and names every problem of its arguments with exit code 2', async () => {
    const env = { DATABASE_URL: wh.url };
    // Four command lines at once: each starts the whole CLI, which takes a moment.
    const [help, badDate, badChunk, unknown] = await Promise.all([
      runCli(['backfill', '--help'], { env }),
      runCli(['backfill', '--source', 'fx', '--from', '2024-02-30', '--to', '2024-03-01'], { env }),
      runCli(['backfill', '--source', 'fx', '--from', '2024-02-01', '--to', '2024-03-01', '--chunk', 'soon'], { env }),
      runCli(['backfill', '--source', 'shopify', '--from', '2024-02-01', '--to', '2024-03-01'], { env }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--chunk <length>');
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--from 2024-02-30: expected a date as YYYY-MM-DD');
    expect(badChunk.code).toBe(2);
    expect(badChunk.stderr).toContain('--chunk soon: expected a length such as 7d, 2w or 1');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('not configured or disabled: shopify');
  });
});

// Audit of issue 7: off a terminal, the progress is the backfill's log lines; they were never asserted.
describe('verite backfill, off a terminal', () => {
  it('says how far it got in one log line per chunk, and draws no bar', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verite-backfill-cli-'));
    const config = join(dir, 'verite.config.json');
    writeFileSync(config, JSON.stringify({ sources: { fx: {} } }));
    // The real command line, the fx source standing in (tests/support/cli-slow-fx.ts): one page
    // of two rates per date. 1–5 January in chunks of 2 days: 1–2, 3–4, 5.
    const proc = spawnScript('cli-slow-fx.ts', { DATABASE_URL: wh.url, VERITE_CONFIG: config }, {
      args: ['backfill', '--source', 'fx', '--from', '2024-01-01', '--to', '2024-01-05', '--chunk', '2d', '--no-transform'],
    });
    const exit = await proc.exited;
    rmSync(dir, { recursive: true, force: true });
    expect(exit.code, proc.stderr()).toBe(0);
    const lines = proc.logLines().filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('backfill'));
    const backfillId = lines[0]?.backfillId as string;
    expect(lines.map(({ level, msg, backfillId: id, source, chunk, of, from, to, landed, chunks, done, resumed }) => ({ level, msg, id, source, chunk, of, from, to, landed, chunks, done, resumed }))).toEqual([
      { level: 30, msg: 'backfill started', id: backfillId, source: 'fx', from: '2024-01-01', to: '2024-01-05', chunks: 3, done: 0, resumed: false },
      { level: 30, msg: 'backfill chunk done', id: backfillId, source: 'fx', chunk: 1, of: 3, from: '2024-01-01', to: '2024-01-02', landed: 4 },
      { level: 30, msg: 'backfill chunk done', id: backfillId, source: 'fx', chunk: 2, of: 3, from: '2024-01-03', to: '2024-01-04', landed: 4 },
      { level: 30, msg: 'backfill chunk done', id: backfillId, source: 'fx', chunk: 3, of: 3, from: '2024-01-05', to: '2024-01-05', landed: 2 },
      { level: 30, msg: 'backfill finished', id: backfillId, source: 'fx', chunks: 3, landed: 10 },
    ]);
    // No bar: nothing redrawn in place on a stderr that is not a terminal.
    expect(proc.stderr()).not.toContain('\r');
    expect(proc.stdout()).toBe(`Backfill ${backfillId} (fx 2024-01-01 to 2024-01-05): succeeded, 3/3 chunks done, 10 records landed.\n`);
  });
});

// The demo shop's sources read a window as the real ones do: `verite --demo backfill` tries a
// backfill without any account, into the demo's warehouse.
describe('verite --demo backfill', () => {
  it("re-reads one stream of the demo shop over the range, into the demo's warehouse, and names a source or stream it lacks", async () => {
    const demo = await createTestDatabase('backfill_demo');
    const dir = mkdtempSync(join(tmpdir(), 'verite-backfill-demo-'));
    try {
      const config = join(dir, 'verite.config.json');
      // A small shop whose days end on 2026-11-30, so the range below is inside it.
      writeFileSync(config, JSON.stringify({ sources: { demo: { days: 30, ordersPerDay: 20, endDate: '2026-11-30' } } }));
      const env = { DATABASE_URL: wh.url, VERITE_DEMO_DATABASE_URL: demo.url, VERITE_CONFIG: config };
      const args = ['--demo', 'backfill', '--source', 'shopify', '--stream', 'orders', '--from', '2026-11-20', '--to', '2026-11-25', '--chunk', '3d', '--no-transform'];
      const res = await runCli(args, { env });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^Backfill [0-9a-f-]+ \(shopify\.orders 2026-11-20 to 2026-11-25\): succeeded, 2\/2 chunks done, \d+ records landed\.\n$/);
      const landed = (await demo.pool.query<{ orders: number; first: string; last: string }>(
        `select count(*)::int as orders, min(((_record->>'created_at')::timestamptz at time zone 'UTC')::date)::text as first, max(((_record->>'created_at')::timestamptz at time zone 'UTC')::date)::text as last from raw.shopify__orders`,
      )).rows[0]!;
      // Some 20 orders a day for 6 days, all inside the range: the demo's days are UTC days (its
      // Shopify writes New York times, so an evening order reads as the day before there).
      expect(landed.orders).toBeGreaterThan(60);
      expect([landed.first, landed.last]).toEqual(['2026-11-20', '2026-11-25']);
      expect(Number(/(\d+) records landed/.exec(res.stdout)![1])).toBe(landed.orders);
      // The real shop's warehouse got nothing.
      expect((await wh.pool.query(`select count(*)::int as n from ops.backfills where source = 'shopify'`)).rows[0].n).toBe(0);
      const [typo, stream, notDemo] = await Promise.all([
        runCli(['--demo', 'backfill', '--source', 'shopfy', '--from', '2026-11-20', '--to', '2026-11-25'], { env }),
        runCli(['--demo', 'backfill', '--source', 'shopify', '--stream', 'order', '--from', '2026-11-20', '--to', '2026-11-25'], { env }),
        runCli(['backfill', '--source', 'demo', '--from', '2026-11-20', '--to', '2026-11-25'], { env }),
      ]);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toBe('verite: the demo shop has no source shopfy (did you mean shopify?) (it has shopify, stripe, ga4, google_ads, meta_ads, shipments, fx, costs)\n');
      expect(stream.code).toBe(2);
      expect(stream.stderr).toBe('verite: source shopify has no stream order (did you mean orders?) (it has orders, customers, products, inventory_levels)\n');
      expect(notDemo.code).toBe(2);
      expect(notDemo.stderr).toContain('the demo shop is not a source: it runs with --demo (verite run --demo; verite --demo backfill --source shopify …)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await demo.close();
    }
  });
});
