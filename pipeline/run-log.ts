import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import { WarehouseError, errorMessage } from '../lib/errors.ts';
import { redactString } from '../lib/logger.ts';
import { confirmedLoss, warehouseLoss } from '../warehouse/connection-loss.ts';
import type { Database } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import type { RunStatus } from '../warehouse/tables/ops.ts';
import { holdLiveness, keptByRun, type RunLiveness } from './lock.ts';

/** Liveness locks of the runs this process is recording, by run id, released when each finishes. */
const alive = new Map<string, RunLiveness>();

/**
 * Where a run is recorded: the warehouse (its row then carries a liveness lock held on a
 * session of the pool until {@link finishRun}, so that a dead process's row is recognised,
 * see `markAbandonedRuns`), or only the Kysely handle (no liveness lock).
 */
export type RunLogTarget = Kysely<Database> | Pick<Warehouse, 'db' | 'pool'>;

/**
 * Writes the run history in `ops.runs` and `ops.stream_runs`. Error texts are redacted before
 * they are stored: they may quote a provider's response body or a connection string.
 */
export async function startRun(target: RunLogTarget, run: { id: string; kind: string; trigger: string; sources: string[]; stage?: 'landing' }): Promise<void> {
  const { db, pool } = 'selectFrom' in target ? { db: target, pool: undefined } : target;
  const liveness = pool ? await holdLiveness(pool) : undefined;
  try {
    await db
      .insertInto('ops.runs')
      .values({
        id: run.id, kind: run.kind, trigger: run.trigger, status: 'running', sources: run.sources, started_at: new Date(), host: hostname(), pid: process.pid,
        error: null, finished_at: null, liveness_key: liveness?.key ?? null, stage: run.stage ?? null,
      })
      .execute();
  } catch (error) {
    await liveness?.release();
    throw error;
  }
  if (liveness) alive.set(run.id, liveness);
}

/** Records how a run ended, and lets go of its liveness lock (also when the row cannot be written). */
export async function finishRun(
  db: Kysely<Database>,
  id: string,
  outcome: { status: RunStatus; landed: number; quarantined: number; error?: string | null; warnings?: readonly string[] },
): Promise<void> {
  try {
    await db
      .updateTable('ops.runs')
      .set({
        status: outcome.status, finished_at: new Date(), records_landed: outcome.landed, records_quarantined: outcome.quarantined, error: storedError(outcome.error),
        warnings: outcome.warnings?.length ? storedError(outcome.warnings.join('\n')) : null,
      })
      .where('id', '=', id)
      .execute();
  } finally {
    const liveness = alive.get(id);
    alive.delete(id);
    await liveness?.release();
  }
}

/** Records that run `id` has begun `step` (a step after loading: `transform`, `metrics`, `clv`). */
async function recordStage(db: Kysely<Database>, id: string, step: string): Promise<void> {
  await db.updateTable('ops.runs').set({ stage: step }).where('id', '=', id).execute();
}

/**
 * Records that run `id` published `step`. A step calls it in its own transaction, just before
 * its commit (`StepOptions.beforeCommit`), so the record commits or rolls back with what the step
 * built; the run calls it again once the step returned, for a step that commits nothing of its
 * own (a CLV fit turned off), which changes nothing for the others.
 */
async function recordStepDone(db: Kysely<Database>, id: string, step: string): Promise<void> {
  await db
    .updateTable('ops.runs')
    .set({ steps_done: sql<string[]>`array_append(steps_done, ${step}::text)` })
    .where('id', '=', id)
    .where(sql<boolean>`not (${step}::text = any(steps_done))`)
    .execute();
}

/** An error text as it may be stored in an ops table: redacted, or null. */
export function storedError(error: string | null | undefined): string | null {
  return error ? redactString(error) : null;
}

export async function startStreamRun(db: Kysely<Database>, row: { runId: string; source: string; stream: string; attempt: number }): Promise<number> {
  const inserted = await db
    .insertInto('ops.stream_runs')
    .values({ run_id: row.runId, source: row.source, stream: row.stream, attempt: row.attempt, status: 'running', started_at: new Date(), finished_at: null, error: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return inserted.id;
}

export async function finishStreamRun(
  db: Kysely<Database>,
  id: number,
  outcome: { status: RunStatus; pages: number; landed: number; quarantined: number; error?: string | null },
): Promise<void> {
  await db
    .updateTable('ops.stream_runs')
    .set({ status: outcome.status, finished_at: new Date(), pages: outcome.pages, records_landed: outcome.landed, records_quarantined: outcome.quarantined, error: storedError(outcome.error) })
    .where('id', '=', id)
    .execute();
}

/** Where a run is (as `ops.runs.stage` and `steps_done` say), for the message of a run the warehouse left ({@link keptByRun}). */
export interface StepProgress {
  stage: string | null;
  stepsDone: string[];
}

/**
 * Runs step `name` of run `id` (a step after loading: `transform`, `metrics`, `clv`), recorded
 * as its stage when it begins; `go` runs it, handing its transaction the hook that records it
 * published just before the commit (`ops.runs.steps_done`), so a run killed after that commit
 * is closed as abandoned saying the step stayed published, and one killed before it that it
 * rolled back. A step that `succeeded` is recorded again outside, for one that commits nothing
 * of its own (a CLV fit turned off, a transform with nothing to build). `progress` follows.
 */
export async function runRecordedStep<S>(
  db: Kysely<Database>,
  id: string,
  progress: StepProgress,
  name: string,
  go: (beforeCommit: (trx: Kysely<Database>) => Promise<void>) => Promise<S>,
  succeeded: (result: S) => boolean,
): Promise<S> {
  await recordStage(db, id, name);
  progress.stage = name;
  const result = await go((trx) => recordStepDone(trx, id, name));
  if (succeeded(result)) {
    await recordStepDone(db, id, name);
    progress.stepsDone.push(name);
  }
  return result;
}

/** One step of a {@link recordedRun}: {@link runRecordedStep} on its row. */
export type RecordedStep = <S>(name: string, go: (beforeCommit: (trx: Kysely<Database>) => Promise<void>) => Promise<S>, succeeded: (result: S) => boolean) => Promise<S>;

/**
 * Runs a command that is not a pipeline run (`verite transform`, `verite metrics refresh`) as
 * one row of `ops.runs` of `kind`, so it leaves a trace like a run does: `running` with its
 * liveness lock while it goes on (a killed one is closed as abandoned by the next command),
 * then how it ended. `outcome` reads the status and error from `fn`'s result; a throw fails the
 * row and goes on up, as a {@link WarehouseError} naming the step and what was kept when the
 * warehouse went away.
 */
export async function recordedRun<T>(
  warehouse: Pick<Warehouse, 'db' | 'pool' | 'url'>,
  run: { kind: string; trigger?: string; step: string },
  fn: (step: RecordedStep) => Promise<T>,
  outcome: (value: T) => { status: 'succeeded' | 'failed'; error?: string },
): Promise<T> {
  const id = randomUUID();
  await startRun(warehouse, { id, kind: run.kind, trigger: run.trigger ?? 'cli', sources: [] });
  const progress: StepProgress = { stage: null, stepsDone: [] };
  const step: RecordedStep = (name, go, succeeded) => runRecordedStep(warehouse.db, id, progress, name, go, succeeded);
  let value: T;
  try {
    value = await fn(step);
  } catch (error) {
    const loss = await confirmedLoss(warehouse.url, error);
    const kept = keptByRun({ kind: run.kind, sources: 0, ...progress, landed: 0, quarantined: 0 });
    const message = loss ? `the warehouse went away during ${run.step} (${loss}). Kept: ${kept}. Run it again once the database is back` : errorMessage(error);
    await finishRun(warehouse.db, id, { status: 'failed', landed: 0, quarantined: 0, error: message }).catch(() => undefined);
    throw loss ? new WarehouseError(message, '', [], { cause: error }) : error;
  }
  const ended = outcome(value);
  const loss = ended.error ? warehouseLoss(ended.error) : null;
  // A refresh that failed because the warehouse went away cannot record it: the next command closes the row.
  await finishRun(warehouse.db, id, { status: ended.status, landed: 0, quarantined: 0, error: ended.error }).catch((error: unknown) => {
    if (!loss) throw error;
  });
  return value;
}
