import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { ConfigError, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { LOCKED_RUN_KINDS, markAbandonedRuns, withRunLock, type LockHolder, type LockMode } from '../pipeline/lock.ts';
import { runPipeline, type RunOptions, type RunResult } from '../pipeline/run.ts';
import { storedError } from '../pipeline/run-log.ts';
import type { Database } from '../warehouse/database.ts';
import { alertRuleProblems } from '../metrics/alert-rules.ts';
import { checkAlerts, type AlertOutcome } from './alerts.ts';
import { pingHeartbeat } from './heartbeat.ts';

export interface RunJobOptions extends RunOptions {
  /** What to do when another run holds the lock. */
  overlap: LockMode;
  /** Check the alert rules after the run (default true). */
  alerts?: boolean;
  /**
   * Ping the heartbeat (`alerts.heartbeatUrl`) when the run succeeds: for runs of every source
   * (a schedule without `sources`, `verite run` without `--sources`, and their retries).
   */
  heartbeat?: boolean;
  /** Whether a failed run will be tried again (the scheduler's retries): its `run_failed` alert then waits for the retry. */
  retryPlanned?: (run: RunResult) => boolean;
}

export type RunJobResult =
  | { status: 'skipped'; runId: string; reason: string }
  | { status: RunResult['status']; runId: string; run: RunResult; alerts: AlertOutcome[] };

/**
 * One pipeline run as the scheduler and `verite run` fire it: under the run lock (so runs never
 * overlap across processes and machines), followed by the alert check. When the lock is held
 * and `overlap` is `skip`, the firing is recorded in `ops.runs` as `skipped` with the reason,
 * so every firing leaves a row; a signal that stops it while it waits for the lock records it
 * `interrupted`, as any run a signal stops (nothing of it ran).
 *
 * A run a signal stopped (`interrupted`) pings no heartbeat and has its alert rules left as
 * they were, but for `run_failed` when a stream or step had already failed before the signal:
 * that failure is alerted now rather than at the next run, which may be hours away.
 */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const { warehouse, log, signal } = options;
  const problems = options.alerts === false ? [] : alertRuleProblems(options.config.alerts.rules);
  if (problems.length) throw new ConfigError(problems);
  const runId = options.runId ?? randomUUID();
  const outcome = await withRunLock(warehouse.pool, { mode: options.overlap, signal }, async (runSignal) => {
    await markAbandonedRuns(warehouse.db, log, { holdingRunLock: true });
    if (signal?.aborted) return null;
    // Losing the lock's connection stops the run as an interruption does, but fails it.
    const run = await runPipeline({ ...options, runId, signal: runSignal });
    let alerts: AlertOutcome[] = [];
    // A run that succeeded with warnings succeeded: the records it set aside are the
    // `records_set_aside` rule's business, not `run_failed`'s.
    const succeeded = run.status === 'succeeded' || run.status === 'succeeded with warnings';
    // A signal that came during the run's last step left nothing undone: the webhooks are
    // still called (an aborted signal would refuse them at once), as for any run that ended.
    const calls = signal?.aborted ? undefined : signal;
    if (options.alerts !== false) {
      try {
        if (run.status !== 'interrupted') {
          const status = succeeded ? 'succeeded' : 'failed';
          const retrying = status === 'failed' && options.retryPlanned?.(run) === true;
          alerts = await checkAlerts({ warehouse, config: options.config, log, run: { runId, status, error: run.error, retrying }, signal: calls });
        } else if (run.failures?.length) {
          // Stopped before it could say anything of the data, but after a failure it knows of:
          // run_failed only, and its webhook is called though the signal came (bounded by its
          // time-outs; a second signal exits at once).
          const error = `${run.failures.join('; ')} (the run was then stopped: ${errorMessage(signal?.reason ?? runSignal.reason ?? 'interrupted')})`;
          alerts = await checkAlerts({ warehouse, config: options.config, log, run: { runId, status: 'failed', error }, only: (rule) => rule.metric === 'run_failed' });
        }
      } catch (error) {
        log.error({ runId, err: errorMessage(error) }, 'alert check failed');
      }
    }
    if (options.heartbeat && succeeded) await pingHeartbeat({ config: options.config, log, signal: calls });
    return { run, alerts };
  });
  if (outcome.acquired && outcome.value) {
    return { status: outcome.value.run.status, runId, run: outcome.value.run, alerts: outcome.value.alerts };
  }
  const row = { id: runId, kind: options.kind ?? 'run', trigger: options.trigger ?? 'cli', sources: options.sources?.map((s) => s.source.name) ?? options.only ?? [] };
  if (outcome.acquired || outcome.reason === 'aborted') {
    // A signal while it waited for the lock (or just as it got it): a run stopped, not a firing
    // skipped; `verite run` exits 1 for it, as for any run a signal stops.
    const error = `${errorMessage(signal?.reason ?? 'interrupted')} while it waited for the run lock: nothing was run`;
    await recordUnstartedRun(warehouse.db, { ...row, status: 'interrupted', reason: error });
    log.info({ runId, trigger: options.trigger, reason: error }, 'run interrupted before it started');
    const run: RunResult = { runId, status: 'interrupted', streams: [], steps: [], landed: 0, quarantined: 0, error, warnings: [], warehouseLost: false };
    return { status: 'interrupted', runId, run, alerts: [] };
  }
  const reason = await describeHolder(warehouse.db, outcome.holder);
  await recordSkippedRun(warehouse.db, { ...row, reason });
  log.info({ runId, trigger: options.trigger, reason }, 'run skipped');
  return { status: 'skipped', runId, reason };
}

/** Why the lock is taken, for the skipped run's row: the run in progress, else the session holding it. */
export async function describeHolder(db: Kysely<Database>, holder?: LockHolder | null): Promise<string> {
  const running = await db
    .selectFrom('ops.runs')
    .select(['id', 'kind', 'trigger', 'started_at', 'host', 'pid'])
    .where('status', '=', 'running')
    .where('kind', 'in', [...LOCKED_RUN_KINDS])
    .orderBy('started_at', 'desc')
    .executeTakeFirst();
  if (running) {
    return `another run is in progress: run ${running.id} (${running.kind}, ${running.trigger}) started ${running.started_at.toISOString()} on ${running.host ?? '?'} pid ${running.pid ?? '?'}`;
  }
  if (holder) {
    const who = [`PostgreSQL backend ${holder.pid}`, holder.role ? `role ${holder.role}` : null, holder.applicationName || null].filter(Boolean).join(', ');
    return `another session holds the run lock (${who}${holder.clientAddress ? ` from ${holder.clientAddress}` : ''}); no verite run is recorded as going on: if that session is not one, end it with SELECT pg_terminate_backend(${holder.pid})`;
  }
  return 'another session held the run lock';
}

/** Writes a firing that did not run: a row of status `skipped` with the reason in `error`. */
export async function recordSkippedRun(
  db: Kysely<Database>,
  row: { id: string; kind: string; trigger: string; sources: string[]; reason: string },
): Promise<void> {
  await recordUnstartedRun(db, { ...row, status: 'skipped' });
}

/** Writes a run that ended before it started (skipped, or stopped while it waited), with the reason in `error`. */
async function recordUnstartedRun(
  db: Kysely<Database>,
  row: { id: string; kind: string; trigger: string; sources: string[]; reason: string; status: 'skipped' | 'interrupted' },
): Promise<void> {
  const now = new Date();
  await db
    .insertInto('ops.runs')
    .values({ id: row.id, kind: row.kind, trigger: row.trigger, status: row.status, sources: row.sources, started_at: now, finished_at: now, error: storedError(row.reason), host: hostname(), pid: process.pid })
    .execute();
}
