import { randomUUID } from 'node:crypto';
import type { VeriteConfig } from '../config/schema.ts';
import { registeredSource } from '../extractors/registry.ts';
import type { DateWindow, Source } from '../extractors/types.ts';
import { UsageError, errorMessage, isPermanent } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { sleep } from '../extractors/http.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { extractStream, type StreamOutcome } from './extract.ts';
import { RunLockLost } from './lock.ts';
import { finishRun, finishStreamRun, startRun, startStreamRun } from './run-log.ts';
import { postLoadSteps, type PostLoadStep, type StepOutcome } from './steps.ts';

export interface RunOptions {
  warehouse: Warehouse;
  config: VeriteConfig;
  log: Logger;
  /** Only these sources (`--sources a,b`). */
  only?: string[];
  /** Only this stream of the (single) selected source. */
  stream?: string;
  /** The resolved sources with their config entries; default: the enabled sources of the config. */
  sources?: ResolvedSource[];
  kind?: string;
  trigger?: string;
  now?: Date;
  signal?: AbortSignal;
  /** A backfill window: read exactly these dates, leaving cursors alone. */
  window?: DateWindow | null;
  /** Steps after loading; default: the registered transform and metrics steps. `[]` to skip. */
  steps?: readonly PostLoadStep[];
  runId?: string;
}

export interface ResolvedSource {
  source: Source<any>;
  config: unknown;
}

export interface RunResult {
  runId: string;
  /**
   * `interrupted`: stopped early by a signal or the scheduler stopping; what was committed stays.
   * `succeeded with warnings`: everything ran and was published, and a step warned (records set
   * aside, named in `warnings`).
   */
  status: 'succeeded' | 'succeeded with warnings' | 'failed' | 'interrupted';
  streams: StreamOutcome[];
  steps: (StepOutcome & { name: string })[];
  landed: number;
  quarantined: number;
  /** The first failure, for the exit message. */
  error?: string;
  /** What the steps warned about (each record set aside), one line each. */
  warnings: string[];
}

/** The config's enabled sources, as registered extractors. */
export function resolveSources(config: VeriteConfig, only?: string[]): ResolvedSource[] {
  const entries = Object.entries(config.sources).filter(([name, entry]) => name !== 'demo' && entry && (entry as { enabled?: boolean }).enabled !== false);
  const known = new Set(entries.map(([name]) => name));
  const unknown = (only ?? []).filter((name) => !known.has(name));
  if (unknown.length) {
    throw new UsageError(`not configured or disabled: ${unknown.join(', ')} (configured: ${[...known].join(', ') || 'none'})`);
  }
  const resolved: ResolvedSource[] = [];
  for (const [name, entry] of entries) {
    if (only && !only.includes(name)) continue;
    const source = registeredSource(name);
    if (!source) throw new UsageError(`source ${name} has no extractor in this build of verite`);
    resolved.push({ source, config: entry });
  }
  return resolved;
}

/**
 * One run: extract every selected stream (each page committed with its cursor), then the
 * post-load steps (transform, metrics). A failed stream is retried with backoff, unless its
 * error is permanent (see `ExtractError.permanent`); if it still fails, the other streams' data
 * stays and the run fails naming it.
 */
export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const { warehouse, config } = options;
  const runId = options.runId ?? randomUUID();
  const log = options.log.child({ runId });
  const now = options.now ?? new Date();
  let selected = options.sources ?? resolveSources(config, options.only);
  if (options.only && options.sources) selected = selected.filter((s) => options.only!.includes(s.source.name));
  await startRun(warehouse.db, { id: runId, kind: options.kind ?? 'run', trigger: options.trigger ?? 'cli', sources: selected.map((s) => s.source.name) });
  const warned = new Set<string>();
  const warnOnce = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    log.warn(message);
  };
  const outcomes: StreamOutcome[] = [];
  const attempts = config.retries.streamAttempts;
  try {
    for (const { source, config: sourceConfig } of selected) {
      const streams = options.stream ? source.streams.filter((s) => s.name === options.stream) : source.streams;
      if (options.stream && streams.length === 0) throw new UsageError(`source ${source.name} has no stream ${options.stream} (it has ${source.streams.map((s) => s.name).join(', ')})`);
      for (const stream of streams) {
        if (options.signal?.aborted) break;
        let outcome: StreamOutcome | undefined;
        const totals = { pages: 0, written: 0, unchanged: 0, quarantined: 0 };
        for (let attempt = 1; attempt <= attempts; attempt++) {
          const streamRunId = await startStreamRun(warehouse.db, { runId, source: source.name, stream: stream.name, attempt });
          const progress = { pages: 0, written: 0, quarantined: 0 };
          try {
            const result = await extractStream({
              pool: warehouse.pool, config, sourceConfig, source, stream, runId, log, now, signal: options.signal, window: options.window, warnOnce,
              onPage: (p) => Object.assign(progress, p),
            });
            totals.pages += result.pages;
            totals.written += result.written;
            totals.unchanged += result.unchanged;
            totals.quarantined += result.quarantined;
            await finishStreamRun(warehouse.db, streamRunId, { status: 'succeeded', pages: result.pages, landed: result.written, quarantined: result.quarantined });
            outcome = { source: source.name, stream: stream.name, status: 'succeeded', attempts: attempt, ...totals };
            break;
          } catch (error) {
            const message = errorMessage(error);
            // Pages committed before the failure stay landed; count them.
            totals.pages += progress.pages;
            totals.written += progress.written;
            totals.quarantined += progress.quarantined;
            const stopped = stopStatus(options.signal);
            await finishStreamRun(warehouse.db, streamRunId, { status: stopped ?? 'failed', pages: progress.pages, landed: progress.written, quarantined: progress.quarantined, error: message });
            // A refused credential, a shut-off API version or a spent quota fails the same way again: not retried.
            const permanent = isPermanent(error);
            if (attempt < attempts && !stopped && !permanent) {
              const delay = config.retries.backoffSeconds * 1000 * 2 ** (attempt - 1);
              log.warn({ source: source.name, stream: stream.name, attempt, delayMs: delay, err: message }, 'stream failed; retrying');
              await sleep(delay, options.signal).catch(() => undefined);
              continue;
            }
            log.error({ source: source.name, stream: stream.name, attempt, permanent, err: message }, permanent ? 'stream failed; not retried, as trying again cannot help' : 'stream failed');
            outcome = { source: source.name, stream: stream.name, status: stopped ?? 'failed', attempts: attempt, ...totals, error };
            break;
          }
        }
        if (outcome) outcomes.push(outcome);
      }
    }
  } catch (error) {
    await finishRun(warehouse.db, runId, { status: 'failed', landed: sum(outcomes, 'written'), quarantined: sum(outcomes, 'quarantined'), error: errorMessage(error) });
    throw error;
  }
  const stepOutcomes: (StepOutcome & { name: string })[] = [];
  const failedStreams = outcomes.filter((o) => o.status === 'failed');
  if (!options.signal?.aborted) {
    for (const step of options.steps ?? postLoadSteps()) {
      try {
        const result = await step.run(warehouse, config, log);
        stepOutcomes.push({ name: step.name, ...result });
        if (result.status === 'failed') break;
      } catch (error) {
        stepOutcomes.push({ name: step.name, status: 'failed', summary: errorMessage(error), error });
        break;
      }
    }
  }
  const failedStep = stepOutcomes.find((s) => s.status === 'failed');
  const stopped = stopStatus(options.signal);
  const failures = [
    // A stream stopped by the signal failed with its reason, which the message gives first.
    ...failedStreams.filter((o) => !stopped || o.error !== options.signal!.reason).map((o) => `${o.source}.${o.stream}: ${errorMessage(o.error)}`),
    ...(failedStep ? [`${failedStep.name}: ${failedStep.summary}`] : []),
  ];
  // Stopped early: the stream being read committed its last page with its cursor, the ones after
  // it and the transforms did not run; the next run goes on from there.
  const error = stopped
    ? [`${errorMessage(options.signal!.reason ?? 'interrupted')}; the pages committed stay, the next run goes on from their cursor`, ...failures].join('; ')
    : failures.length
      ? failures.join('; ')
      : undefined;
  const warnings = stepOutcomes.flatMap((s) => (s.status === 'succeeded' ? (s.warnings ?? []) : []));
  const status = stopped ?? (error ? 'failed' : warnings.length ? 'succeeded with warnings' : 'succeeded');
  const landed = sum(outcomes, 'written');
  const quarantined = sum(outcomes, 'quarantined');
  if (warnings.length) log.warn({ warnings }, 'run succeeded with warnings');
  await finishRun(warehouse.db, runId, { status, landed, quarantined, error, warnings });
  return { runId, status, streams: outcomes, steps: stepOutcomes, landed, quarantined, error, warnings };
}

/**
 * How a run stopped by `signal` ends: `interrupted` (a signal, the scheduler stopping), or
 * `failed` when the connection holding the run lock was lost; null when it was not stopped.
 */
function stopStatus(signal: AbortSignal | undefined): 'interrupted' | 'failed' | null {
  if (!signal?.aborted) return null;
  return signal.reason instanceof RunLockLost ? 'failed' : 'interrupted';
}

function sum(outcomes: StreamOutcome[], key: 'written' | 'quarantined'): number {
  return outcomes.reduce((n, o) => n + o[key], 0);
}
