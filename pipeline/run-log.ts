import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { redactString } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';
import type { RunStatus } from '../warehouse/tables/ops.ts';

/**
 * Writes the run history in `ops.runs` and `ops.stream_runs`. Error texts are redacted before
 * they are stored: they may quote a provider's response body or a connection string.
 */
export async function startRun(db: Kysely<Database>, run: { id: string; kind: string; trigger: string; sources: string[] }): Promise<void> {
  await db
    .insertInto('ops.runs')
    .values({ id: run.id, kind: run.kind, trigger: run.trigger, status: 'running', sources: run.sources, started_at: new Date(), host: hostname(), pid: process.pid, error: null, finished_at: null })
    .execute();
}

export async function finishRun(
  db: Kysely<Database>,
  id: string,
  outcome: { status: RunStatus; landed: number; quarantined: number; error?: string | null; warnings?: readonly string[] },
): Promise<void> {
  await db
    .updateTable('ops.runs')
    .set({
      status: outcome.status, finished_at: new Date(), records_landed: outcome.landed, records_quarantined: outcome.quarantined, error: storedError(outcome.error),
      warnings: outcome.warnings?.length ? storedError(outcome.warnings.join('\n')) : null,
    })
    .where('id', '=', id)
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
