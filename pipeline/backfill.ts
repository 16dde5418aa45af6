import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { VeriteConfig } from '../config/schema.ts';
import type { DateWindow } from '../extractors/types.ts';
import { didYouMean } from '../lib/names.ts';
import { UsageError, errorMessage } from '../lib/errors.ts';
import { isCalendarDate } from '../lib/dates.ts';
import type { Logger } from '../lib/logger.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { holdLiveness, markAbandonedRuns, withRunLock } from './lock.ts';
import { storedError } from './run-log.ts';
import { runPipeline, type ResolvedSource } from './run.ts';
import { postLoadSteps, type PostLoadStep } from './steps.ts';

/** One chunk of a backfill: an inclusive date window, numbered from 1 in date order. */
export interface BackfillChunk extends DateWindow {
  seq: number;
}

export interface BackfillOptions {
  warehouse: Warehouse;
  config: VeriteConfig;
  log: Logger;
  /** The source to re-extract, with its config entry. */
  source: ResolvedSource;
  /** One stream of it; default every stream. */
  stream?: string;
  from: string;
  to: string;
  chunkDays: number;
  /** Start over instead of resuming the unfinished backfill of the same request. */
  restart?: boolean;
  /** Steps run once every chunk is landed (default: the registered transform and metrics steps). */
  steps?: readonly PostLoadStep[];
  /** Stops between pages; the backfill is left resumable. */
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  backfillId: string;
  event: 'started' | 'chunk started' | 'chunk done' | 'chunk failed' | 'finished';
  /** Chunks in all, and chunks done (this run and before). */
  total: number;
  done: number;
  /** Records landed by the backfill's chunks so far. */
  landed: number;
  resumed: boolean;
  chunk?: BackfillChunk;
}

export interface BackfillResult {
  backfillId: string;
  status: 'succeeded' | 'failed' | 'interrupted';
  /** It went on from an unfinished backfill of the same request. */
  resumed: boolean;
  total: number;
  done: number;
  /** The chunks this invocation extracted. */
  ran: BackfillChunk[];
  landed: number;
  error?: string;
}

const DAY_MS = 86_400_000;

function toDay(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY_MS;
}

function fromDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Parses a chunk length: `7d` (days), `2w` (weeks) or a bare number of days.
 * Throws a {@link UsageError} otherwise.
 */
export function parseChunk(text: string): number {
  const m = /^\s*(\d+)\s*([dw]?)\s*$/i.exec(text);
  const days = m ? Number(m[1]) * (m[2]?.toLowerCase() === 'w' ? 7 : 1) : NaN;
  if (!Number.isInteger(days) || days < 1 || days > 366) {
    throw new UsageError(`--chunk ${text}: expected a length such as 7d, 2w or 1 (days, at most 366)`);
  }
  return days;
}

/** Splits `from`..`to` (inclusive) into consecutive windows of `chunkDays`, the last one shorter. */
export function planChunks(from: string, to: string, chunkDays: number): BackfillChunk[] {
  const problems = [
    ...(isCalendarDate(from) ? [] : [`--from ${from}: expected a date as YYYY-MM-DD`]),
    ...(isCalendarDate(to) ? [] : [`--to ${to}: expected a date as YYYY-MM-DD`]),
  ];
  if (problems.length) throw new UsageError(problems.join('; '));
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  const chunks: BackfillChunk[] = [];
  const last = toDay(to);
  for (let start = toDay(from), seq = 1; start <= last; start += chunkDays, seq++) {
    chunks.push({ seq, from: fromDay(start), to: fromDay(Math.min(start + chunkDays - 1, last)) });
  }
  return chunks;
}

/**
 * Re-extracts a date range of one source (or one stream), chunk by chunk, oldest first. Each
 * chunk is one run (`ops.runs`, kind `backfill`) under the run lock, reading exactly its dates;
 * the stream's incremental cursor is left where it is. Progress is kept in
 * `ops.backfills`/`ops.backfill_chunks`: the same request again resumes with the chunks not
 * yet done (`restart` starts over). Once every chunk is landed, the post-load steps run once.
 */
export async function runBackfill(options: BackfillOptions): Promise<BackfillResult> {
  const { warehouse, log, signal } = options;
  const { db } = warehouse;
  const source = options.source.source;
  if (options.stream && !source.streams.some((s) => s.name === options.stream)) {
    const names = source.streams.map((s) => s.name);
    throw new UsageError(`source ${source.name} has no stream ${options.stream}${didYouMean(options.stream, names)} (it has ${names.join(', ')})`);
  }
  const plan = planChunks(options.from, options.to, options.chunkDays);
  const request = { source: source.name, stream: options.stream ?? null, date_from: options.from, date_to: options.to, chunk_days: options.chunkDays };
  let existing = await db
    .selectFrom('ops.backfills')
    .select(['id'])
    .where('source', '=', request.source)
    .where((eb) => (request.stream === null ? eb('stream', 'is', null) : eb('stream', '=', request.stream)))
    .where('date_from', '=', request.date_from)
    .where('date_to', '=', request.date_to)
    .where('chunk_days', '=', request.chunk_days)
    .where('status', 'in', ['running', 'failed'])
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
  if (existing && options.restart) {
    await db.updateTable('ops.backfills').set({ status: 'cancelled', finished_at: new Date(), updated_at: new Date(), error: 'restarted' }).where('id', '=', existing.id).execute();
    log.info({ backfillId: existing.id }, 'unfinished backfill cancelled: starting over');
    existing = undefined;
  }
  const resumed = existing !== undefined;
  const backfillId = existing?.id ?? randomUUID();
  // Held until the backfill ends, between its chunks too: a row left `running` by a process that
  // is gone is closed by the next command (markAbandonedRuns), and resumed by the same one.
  const liveness = await holdLiveness(warehouse.pool);
  try {
    const mine = { status: 'running' as const, host: hostname(), pid: process.pid, error: null, liveness_key: liveness.key };
    if (!existing) {
      await db.transaction().execute(async (tx) => {
        await tx.insertInto('ops.backfills').values({ id: backfillId, ...request, ...mine, finished_at: null }).execute();
        await tx
          .insertInto('ops.backfill_chunks')
          .values(plan.map((c) => ({ backfill_id: backfillId, seq: c.seq, date_from: c.from, date_to: c.to, run_id: null, started_at: null, finished_at: null, error: null })))
          .execute();
      });
    } else {
      await db.updateTable('ops.backfills').set({ ...mine, updated_at: new Date() }).where('id', '=', backfillId).execute();
    }
    return await backfillChunks(options, { backfillId, resumed });
  } catch (error) {
    // Said in its row when it can be (the warehouse may be what failed): else the next command closes it as abandoned.
    await db
      .updateTable('ops.backfills')
      .set({ status: 'failed', updated_at: new Date(), error: storedError(`${errorMessage(error)}; run the same command again to resume`) })
      .where('id', '=', backfillId)
      .where('status', '=', 'running')
      .execute()
      .catch(() => undefined);
    throw error;
  } finally {
    await liveness.release();
  }
}

/** The chunks of a recorded backfill not yet done, then its post-load steps (see {@link runBackfill}). */
async function backfillChunks(options: BackfillOptions, { backfillId, resumed }: { backfillId: string; resumed: boolean }): Promise<BackfillResult> {
  const { warehouse, log, signal } = options;
  const { db } = warehouse;
  const source = options.source.source;
  const blog = log.child({ backfillId, source: source.name, stream: options.stream });
  const chunkRows = await db.selectFrom('ops.backfill_chunks').selectAll().where('backfill_id', '=', backfillId).orderBy('seq').execute();
  const total = chunkRows.length;
  let done = chunkRows.filter((c) => c.status === 'done').length;
  let landed = chunkRows.reduce((n, c) => n + c.records_landed, 0);
  const ran: BackfillChunk[] = [];
  const progress = (event: BackfillProgress['event'], chunk?: BackfillChunk) =>
    options.onProgress?.({ backfillId, event, total, done, landed, resumed, chunk });
  blog.info({ from: options.from, to: options.to, chunks: total, done, resumed }, resumed ? 'resuming backfill' : 'backfill started');
  progress('started');

  const finish = async (status: BackfillResult['status'], error?: string): Promise<BackfillResult> => {
    await db
      .updateTable('ops.backfills')
      .set({ status: status === 'succeeded' ? 'succeeded' : 'failed', error: storedError(error), updated_at: new Date(), finished_at: status === 'succeeded' ? new Date() : null })
      .where('id', '=', backfillId)
      .execute();
    progress('finished');
    return { backfillId, status, resumed, total, done, ran, landed, error };
  };

  for (const row of chunkRows) {
    if (row.status === 'done') continue;
    const chunk: BackfillChunk = { seq: row.seq, from: row.date_from, to: row.date_to };
    if (signal?.aborted) break;
    const runId = randomUUID();
    // A lock per chunk: a nightly run waiting for it gets its turn between chunks of a long backfill.
    const outcome = await withRunLock(warehouse.pool, { mode: 'wait', signal }, async (runSignal) => {
      await markAbandonedRuns(db, blog, { holdingRunLock: true });
      // Another process resuming the same backfill may have done this chunk while we waited.
      const current = await db.selectFrom('ops.backfill_chunks').select('status').where('backfill_id', '=', backfillId).where('seq', '=', chunk.seq).executeTakeFirst();
      if (current?.status === 'done' || signal?.aborted) return { skipped: true as const };
      await db.updateTable('ops.backfill_chunks').set({ run_id: runId, started_at: new Date(), finished_at: null, error: null }).where('backfill_id', '=', backfillId).where('seq', '=', chunk.seq).execute();
      progress('chunk started', chunk);
      const run = await runPipeline({
        warehouse, config: options.config, log, sources: [options.source], stream: options.stream, window: { from: chunk.from, to: chunk.to },
        steps: [], kind: 'backfill', trigger: `backfill ${backfillId} chunk ${chunk.seq}/${total}`, runId, signal: runSignal,
      });
      return { skipped: false as const, run };
    });
    if (!outcome.acquired) break; // aborted while waiting for the lock
    if (outcome.value.skipped) {
      if (signal?.aborted) break;
      done++;
      continue;
    }
    const { run } = outcome.value;
    if (run.status === 'succeeded' || run.status === 'succeeded with warnings') {
      done++;
      landed += run.landed;
      ran.push(chunk);
      await db.updateTable('ops.backfill_chunks').set({ status: 'done', records_landed: run.landed, finished_at: new Date() }).where('backfill_id', '=', backfillId).where('seq', '=', chunk.seq).execute();
      await db.updateTable('ops.backfills').set({ updated_at: new Date() }).where('id', '=', backfillId).execute();
      blog.info({ chunk: chunk.seq, of: total, from: chunk.from, to: chunk.to, landed: run.landed }, 'backfill chunk done');
      progress('chunk done', chunk);
      continue;
    }
    landed += run.landed;
    ran.push(chunk);
    // Rows a failed chunk landed stay (each page committed); the chunk is redone on resume.
    await db
      .updateTable('ops.backfill_chunks')
      .set({ status: signal?.aborted ? 'pending' : 'failed', records_landed: run.landed, finished_at: new Date(), error: storedError(run.error) })
      .where('backfill_id', '=', backfillId)
      .where('seq', '=', chunk.seq)
      .execute();
    progress('chunk failed', chunk);
    if (signal?.aborted) break;
    const error = `chunk ${chunk.seq}/${total} (${chunk.from} to ${chunk.to}) failed: ${run.error ?? 'unknown error'}`;
    blog.error({ chunk: chunk.seq, err: run.error }, 'backfill chunk failed');
    return finish('failed', `${error}; rerun the same command to resume from it`);
  }
  if (done < total) {
    return finish('interrupted', `interrupted after ${done} of ${total} chunks; rerun the same command to resume`);
  }
  const steps = options.steps ?? postLoadSteps();
  if (steps.length > 0) {
    const outcome = await withRunLock(warehouse.pool, { mode: 'wait', signal }, () =>
      runPipeline({ warehouse, config: options.config, log, sources: [], steps, kind: 'backfill', trigger: `backfill ${backfillId} transform`, signal }),
    );
    // Stopped while waiting, or between two steps: every chunk is landed, the steps are done again on the rerun.
    if (!outcome.acquired || outcome.value.status === 'interrupted') return finish('interrupted', 'interrupted before the transform, metrics and CLV steps were done; rerun the same command to finish');
    if (outcome.value.status === 'failed') return finish('failed', `every chunk is landed, but ${outcome.value.error}; rerun the same command to retry`);
  }
  blog.info({ chunks: total, landed }, 'backfill finished');
  return finish('succeeded');
}
