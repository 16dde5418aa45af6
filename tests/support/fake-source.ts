import { appendFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { sleep } from '../../lib/http.ts';
import type { DateWindow, Page, ReadContext, Source, Stream } from '../../extractors/types.ts';
import { createRawTable } from '../../warehouse/migrations/0001-init.ts';

/**
 * A source that behaves like a real one without any API: `ticks` (an entity stream paging
 * slowly, its cursor the page number) and `daily` (a date report honouring a backfill window,
 * with the same deterministic rows for a date every time it is read).
 */
export interface FakeSourceOptions {
  /** Wait between pages, so a run lasts long enough to overlap with a firing. */
  delayMs?: number;
  /** `ticks`: pages per run and records per page. */
  pages?: number;
  perPage?: number;
  /** Appends one JSON line per `daily` read (its window or cursor) to this file. */
  readLog?: string;
  /** Which streams it has (default both). */
  streams?: ('ticks' | 'daily')[];
  /** `ticks`: awaited before each page (a test's barrier); given the run's signal. */
  beforePage?: (signal: AbortSignal) => Promise<void>;
}

export const FAKE_SOURCE = 'fake';

/** The rows `daily` holds for a date: three slots whose values depend on the date only. */
export function dailyRows(date: string): Record<string, unknown>[] {
  const day = Number(date.replace(/-/g, ''));
  return [1, 2, 3].map((slot) => ({ date, slot, value: (day % 97) * 10 + slot }));
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function fakeSource(options: FakeSourceOptions = {}): Source<unknown> {
  const delay = options.delayMs ?? 0;
  const ticks: Stream<unknown> = {
    name: 'ticks',
    kind: 'entity',
    keyDescription: 'id',
    cursorDescription: 'page',
    defaultLookbackDays: 0,
    keyOf: (r) => (r.id === undefined ? undefined : String(r.id)),
    async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
      const start = ((ctx.state as { page?: number } | null)?.page ?? 0) + 1;
      const pages = options.pages ?? 3;
      const perPage = options.perPage ?? 2;
      for (let page = start; page < start + pages; page++) {
        await options.beforePage?.(ctx.signal);
        await sleep(delay, ctx.signal).catch(() => undefined);
        yield {
          records: Array.from({ length: perPage }, (_, i) => ({ id: `${page}-${i + 1}`, page })),
          state: { page },
        };
      }
    },
  };
  const daily: Stream<unknown> = {
    name: 'daily',
    kind: 'date-report',
    keyDescription: 'date + slot',
    cursorDescription: 'date',
    defaultLookbackDays: 0,
    keyOf: (r) => (r.date === undefined || r.slot === undefined ? undefined : `${String(r.date)}|${String(r.slot)}`),
    dateOf: (r) => (typeof r.date === 'string' ? r.date : undefined),
    async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
      const window: DateWindow = ctx.window ?? {
        from: (ctx.state as { date?: string } | null)?.date ? addDays((ctx.state as { date: string }).date, 1) : ctx.startDate,
        to: addDays(ctx.now.toISOString().slice(0, 10), -1),
      };
      if (options.readLog) appendFileSync(options.readLog, `${JSON.stringify({ window: ctx.window, from: window.from, to: window.to, pid: process.pid })}\n`);
      for (let date = window.from; date <= window.to; date = addDays(date, 1)) {
        await sleep(delay, ctx.signal).catch(() => undefined);
        // The cursor claims this date: a backfill must drop it, an incremental run keeps it.
        yield { records: dailyRows(date), dates: [date], state: { date } };
      }
    },
  };
  const streams = options.streams ?? ['ticks', 'daily'];
  return { name: FAKE_SOURCE, streams: [ticks, daily].filter((s) => streams.includes(s.name as 'ticks' | 'daily')) };
}

/** Creates the landing tables of the fake source's streams in a test database. */
export async function createFakeTables(db: Kysely<any>): Promise<void> {
  await createRawTable(db, FAKE_SOURCE, 'ticks');
  await createRawTable(db, FAKE_SOURCE, 'daily');
}
