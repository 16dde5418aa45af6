import { randomUUID } from 'node:crypto';
import type { VeriteConfig } from '../config/schema.ts';
import { sourceSettings } from '../config/source-settings.ts';
import { knownSource, sources as allSources } from '../extractors/sources.ts';
import type { DateWindow, KnownSources, Source } from '../extractors/types.ts';
import { UsageError, WarehouseError, errorMessage, isPermanent } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { didYouMean } from '../lib/names.ts';
import { createProgress, type Progress } from '../lib/progress.ts';
import { confirmedLoss } from '../warehouse/connection-loss.ts';
import { sleep } from '../lib/http.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { lowDiskNote } from '../warehouse/embedded.ts';
import { migrationsTableIn, newerSchemaProblem } from '../warehouse/migrate.ts';
import { extractStream, type StreamOutcome, type StreamProgress } from './extract.ts';
import { keptByRun, RunLockLost } from './lock.ts';
import { finishRun, finishStreamRun, runRecordedStep, startRun, startStreamRun, type StepProgress } from './run-log.ts';
import { postLoadSteps, type PostLoadStep, type StepOutcome } from './steps.ts';
import { codedWarning, type WarningCode } from '../lib/warning-codes.ts';

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
  /** The extractors the config's sources are resolved to (default: extractors/sources.ts). */
  known?: KnownSources;
  kind?: string;
  trigger?: string;
  now?: Date;
  signal?: AbortSignal;
  /** A backfill window: read exactly these dates, leaving cursors alone. */
  window?: DateWindow | null;
  /** The steps rebuild from the whole of their inputs, not from what changed (`--full`). */
  full?: boolean;
  /** Steps after loading; default: the transform, metrics and CLV steps of pipeline/steps.ts. `[]` to skip. */
  steps?: readonly PostLoadStep[];
  runId?: string;
  /** Where progress goes (a terminal line, log lines); default: an info log line every 10 s per long step. */
  progress?: Progress;
}

export interface ResolvedSource {
  source: Source;
  config: unknown;
}

export interface RunResult {
  runId: string;
  /**
   * `interrupted`: stopped early by a signal or the scheduler stopping; what was committed stays.
   * `succeeded with warnings`: everything ran and was published, and a step warned (records set
   * aside, sold lines without a cost, a stream read in part …: named in `warnings`).
   */
  status: 'succeeded' | 'succeeded with warnings' | 'failed' | 'interrupted';
  streams: StreamOutcome[];
  steps: (StepOutcome & { name: string })[];
  landed: number;
  quarantined: number;
  /** The first failure, for the exit message. */
  error?: string;
  /**
   * Of a run a signal stopped (`interrupted`): the failures known before it stopped (a stream
   * that had failed, a step that failed), one line each, for the `run_failed` alert. Absent
   * when there were none.
   */
  failures?: string[];
  /** What the steps warned about (each record set aside, each warn check that failed …), one line each. */
  warnings: string[];
  /** The codes of the warnings that came up and were silenced by `silenceWarnings` (not in `warnings`). */
  silenced?: string[];
  /** The warehouse went away during the run (shut down, restarted, the connection cut). */
  warehouseLost: boolean;
}

/**
 * Why there is nothing to run: no source is configured (or every one is disabled). `verite run`
 * and `verite schedule` refuse that as a usage error saying how to configure one, rather than
 * "succeeding" with nothing read. Null when a source is configured.
 */
export function noSourceProblem(config: VeriteConfig, where?: { configFile: string | null; cwd: string }): string | null {
  const configured = Object.entries(config.sources).filter(([name, entry]) => name !== 'demo' && entry && sourceSettings(entry).enabled !== false);
  if (configured.length) return null;
  // Run from another folder (a cron line without its cd, a service without its working directory), no file is found.
  const noFile = where && where.configFile === null ? ` (no config file was found in ${where.cwd}: run verite from the folder that holds verite.config.json, or name it with --config or VERITE_CONFIG)` : '';
  return (
    `no source is configured${noFile}, so there is nothing to run. Add your shop's sources to verite.config.json ` +
    '(e.g. {"sources": {"shopify": {"shop": "my-shop.myshopify.com"}, "stripe": {}}}; each source\'s keys are in docs/sources/, ' +
    'the steps in the README\'s "Running against your real shop"), check them with `verite check`, then run again; ' +
    'or try the built-in demo shop with `verite run --demo`'
  );
}

/** The config's enabled sources, as the extractors of `known`. */
export function resolveSources(config: VeriteConfig, only?: string[], extractors: KnownSources = allSources): ResolvedSource[] {
  const entries = Object.entries(config.sources).filter(([name, entry]) => name !== 'demo' && entry && sourceSettings(entry).enabled !== false);
  const known = new Set(entries.map(([name]) => name));
  const unknown = (only ?? []).filter((name) => !known.has(name));
  if (unknown.length) {
    const named = unknown.map((name) => `${name}${didYouMean(name, [...known])}`);
    // The demo shop is several sources under its own option, not a source of the config.
    const demo = unknown.includes('demo') ? '; the demo shop is not a source: it runs with --demo (verite run --demo; verite --demo backfill --source shopify …)' : '';
    throw new UsageError(`not configured or disabled: ${named.join(', ')} (configured: ${[...known].join(', ') || 'none'})${demo}`);
  }
  const resolved: ResolvedSource[] = [];
  for (const [name, entry] of entries) {
    if (only && !only.includes(name)) continue;
    const source = knownSource(name, extractors);
    if (!source) throw new UsageError(`source ${name} has no extractor in this build of verite`);
    resolved.push({ source, config: entry });
  }
  return resolved;
}

/**
 * One run: extract every selected stream (each page committed with its cursor), then the
 * post-load steps (transform, metrics). A failed stream is retried with backoff, unless its
 * error is permanent (see `ExtractError.permanent`); if it still fails, the other streams' data
 * stays and the run fails naming it. When the warehouse itself goes away (shut down, restarted,
 * connection cut), the run stops there and its error names the step it was in and what was kept.
 * An abort of `signal` stops it too: between two pages (the page being landed commits), or
 * between two steps (the step running finishes); it is then `interrupted`, its error saying what
 * was left for the next run, unless it came during the last step and nothing was left.
 * Progress (pages, records, the dates reached) goes to `progress`, by default an info log line
 * every 10 s per long step.
 */
export async function runPipeline(options: RunOptions): Promise<RunResult> {
  const { warehouse, config } = options;
  const runId = options.runId ?? randomUUID();
  const log = options.log.child({ runId });
  const progress = options.progress ?? createProgress({ log });
  const now = options.now ?? new Date();
  let selected = options.sources ?? resolveSources(config, options.only, options.known);
  if (options.only && options.sources) selected = selected.filter((s) => options.only!.includes(s.source.name));
  const kind = options.kind ?? 'run';
  await startRun(warehouse, { id: runId, kind, trigger: options.trigger ?? 'cli', sources: selected.map((s) => s.source.name), stage: 'landing' });
  // A newer release may have migrated the warehouse since this process opened it (a scheduler
  // left on the older release): the run fails saying so, before it lands anything, and the
  // run_failed alert carries it.
  const newer = await newerSchemaProblem(warehouse.db, (await migrationsTableIn(warehouse.db)) ?? 'ops');
  if (newer) {
    const error = `${newer}. This process opened the warehouse before that: restart it on the newer release`;
    log.error({ err: error }, 'run refused');
    await finishRun(warehouse.db, runId, { status: 'failed', landed: 0, quarantined: 0, error });
    return { runId, status: 'failed', streams: [], steps: [], landed: 0, quarantined: 0, error, warnings: [], warehouseLost: false };
  }
  const warned = new Set<string>();
  /** The codes of the warnings silenced by the config (`silenceWarnings`) that came up: logged, not recorded. */
  const silenced = new Set<WarningCode>();
  const warnOnce = (message: string, code?: WarningCode) => {
    if (code && (config.silenceWarnings ?? []).includes(code)) {
      if (!silenced.has(code)) log.info({ code }, `${message} (silenced by silenceWarnings)`);
      silenced.add(code);
      return;
    }
    const text = codedWarning(message, code);
    if (warned.has(text)) return;
    warned.add(text);
    log.warn(text);
  };
  const outcomes: StreamOutcome[] = [];
  /** A signal left a stream unread (or stopped one half-way): the run was cut short while landing. */
  let landingCut = false;
  const attempts = config.retries.streamAttempts;
  /** Set once the warehouse went away: what the run was doing, and the driver's words. */
  let lost: { during: string; detail: string } | null = null;
  /** Where the run is (as in ops.runs.stage: `landing`, then each step as it begins) and the steps it published, for the message of a run the warehouse left. */
  const at: StepProgress = { stage: 'landing', stepsDone: [] };
  const kept = () => keptByRun({ kind, sources: selected.length, ...at, landed: sum(outcomes, 'written'), quarantined: sum(outcomes, 'quarantined') });
  /** Writes to ops.* after the warehouse went away are attempted, never allowed to hide why. */
  const record = async (write: Promise<unknown>) => {
    if (!lost) return void (await write);
    await write.catch(() => undefined);
  };
  try {
    for (const { source, config: sourceConfig } of selected) {
      const streams = options.stream ? source.streams.filter((s) => s.name === options.stream) : source.streams;
      if (options.stream && streams.length === 0) throw new UsageError(`source ${source.name} has no stream ${options.stream} (it has ${source.streams.map((s) => s.name).join(', ')})`);
      for (const stream of streams) {
        if (lost) break;
        if (options.signal?.aborted) {
          landingCut = true;
          break;
        }
        let outcome: StreamOutcome | undefined;
        const totals = { pages: 0, written: 0, unchanged: 0, quarantined: 0 };
        const key = `${source.name}.${stream.name}`;
        for (let attempt = 1; attempt <= attempts; attempt++) {
          const streamRunId = await startStreamRun(warehouse.db, { runId, source: source.name, stream: stream.name, attempt });
          const landed: StreamProgress = { pages: 0, received: 0, written: 0, quarantined: 0, from: null, to: null };
          try {
            const result = await extractStream({
              pool: warehouse.pool, config, sourceConfig, source, stream, runId, streamRunId, log, now, signal: options.signal, window: options.window, warnOnce,
              onPage: (p) => {
                Object.assign(landed, p);
                progress.update(key, streamProgressText(key, totals, p), { pages: totals.pages + p.pages, records: totals.written + totals.unchanged + totals.quarantined + p.received, from: p.from, to: p.to });
              },
            });
            progress.done(key);
            totals.pages += result.pages;
            totals.written += result.written;
            totals.unchanged += result.unchanged;
            totals.quarantined += result.quarantined;
            await finishStreamRun(warehouse.db, streamRunId, { status: 'succeeded', pages: result.pages, landed: result.written, quarantined: result.quarantined });
            outcome = { source: source.name, stream: stream.name, status: 'succeeded', attempts: attempt, ...totals };
            break;
          } catch (error) {
            progress.done(key);
            // Pages committed before the failure stay landed; count them.
            totals.pages += landed.pages;
            totals.written += landed.written;
            totals.quarantined += landed.quarantined;
            const loss = (await confirmedLoss(warehouse.url, error)) ?? (options.signal?.reason instanceof RunLockLost ? await confirmedLoss(warehouse.url, options.signal.reason) : null);
            if (loss) lost = { during: `landing ${key} (${totals.pages} page(s) of it committed)`, detail: loss };
            const message = lost ? `the warehouse went away: ${loss}` : errorMessage(error);
            const stopped = lost ? 'failed' : stopStatus(options.signal);
            if (stopStatus(options.signal)) landingCut = true;
            await record(finishStreamRun(warehouse.db, streamRunId, { status: stopped ?? 'failed', pages: landed.pages, landed: landed.written, quarantined: landed.quarantined, error: message }));
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
    const loss = lost ? null : await confirmedLoss(warehouse.url, error);
    if (loss) lost = { during: 'recording the run in ops', detail: loss };
    const message = lost ? lostMessage(lost, kept(), warehouse) : errorMessage(error);
    await record(finishRun(warehouse.db, runId, { status: 'failed', landed: sum(outcomes, 'written'), quarantined: sum(outcomes, 'quarantined'), error: message }));
    if (lost) throw new WarehouseError(`run ${runId}: ${message}`, '', [], { cause: error });
    throw error;
  }
  // The run lock's connection ended between two streams: the warehouse went away then.
  const lockLoss = !lost && options.signal?.reason instanceof RunLockLost ? await confirmedLoss(warehouse.url, options.signal.reason) : null;
  if (lockLoss) lost = { during: outcomes.length ? `the landing, after ${outcomes.at(-1)!.source}.${outcomes.at(-1)!.stream}` : 'the landing', detail: lockLoss };
  const stepOutcomes: (StepOutcome & { name: string })[] = [];
  const failedStreams = outcomes.filter((o) => o.status === 'failed');
  /** The steps a signal kept from starting: the one running when it came finished (each commits or rolls back whole). */
  const notRun: string[] = [];
  if (!lost) {
    const steps = options.steps ?? postLoadSteps();
    for (const [index, step] of steps.entries()) {
      if (options.signal?.aborted) {
        notRun.push(...steps.slice(index).map((s) => s.name));
        break;
      }
      try {
        // The step records in its own transaction that it was published (see runRecordedStep).
        const result = await runRecordedStep(
          warehouse.db, runId, at, step.name,
          (beforeCommit) => step.run(warehouse, config, log, progress, { full: options.full, beforeCommit }),
          (r) => r.status === 'succeeded',
        );
        stepOutcomes.push({ name: step.name, ...result });
        const loss = result.status === 'failed' ? await confirmedLoss(warehouse.url, result.summary) : null;
        if (loss) lost = { during: `the ${step.name} step`, detail: loss };
        if (result.status === 'failed') break;
      } catch (error) {
        const loss = await confirmedLoss(warehouse.url, error);
        if (loss) lost = { during: `the ${step.name} step`, detail: loss };
        stepOutcomes.push({ name: step.name, status: 'failed', summary: errorMessage(error), error });
        break;
      } finally {
        progress.done(step.name);
      }
    }
  }
  const failedStep = stepOutcomes.find((s) => s.status === 'failed');
  // Stopped only when the signal left something undone: one that came during the last step,
  // which finished, leaves the run as it ended.
  const stopped = lost || (!landingCut && notRun.length === 0) ? null : stopStatus(options.signal);
  const failures = [
    // A stream stopped by the signal failed with its reason, which the message gives first.
    ...failedStreams.filter((o) => !stopped || o.error !== options.signal!.reason).map((o) => `${o.source}.${o.stream}: ${errorMessage(o.error)}`),
    ...(failedStep ? [`${failedStep.name}: ${failedStep.summary}`] : []),
  ];
  // Stopped early: the stream being read committed its last page with its cursor, the ones after
  // it and the steps did not run; or, every stream read, the steps after the one running did
  // not start. The next run goes on from there.
  const error = lost
    ? lostMessage(lost, kept(), warehouse)
    : stopped
      ? [`${errorMessage(options.signal!.reason ?? 'interrupted')}; ${landingCut ? 'the pages committed stay, the next run goes on from their cursor' : stepsNotRun(notRun, stepOutcomes)}`, ...failures].join('; ')
      : failures.length
        ? failures.join('; ')
        : undefined;
  // What the extractors warned of (a file left unread, sampled GA4 data, a test key …) is the
  // run's warning too, recorded with it: a nightly run's log is seldom read.
  const warnings = [...warned, ...stepOutcomes.flatMap((s) => (s.status === 'succeeded' ? (s.warnings ?? []) : []))];
  for (const s of stepOutcomes) for (const code of s.status === 'succeeded' ? (s.silenced ?? []) : []) silenced.add(code as WarningCode);
  const status = stopped ?? (error ? 'failed' : warnings.length ? 'succeeded with warnings' : 'succeeded');
  const landed = sum(outcomes, 'written');
  const quarantined = sum(outcomes, 'quarantined');
  if (warnings.length) log.warn({ warnings }, 'run succeeded with warnings');
  try {
    await finishRun(warehouse.db, runId, { status, landed, quarantined, error, warnings });
  } catch (failure) {
    if (!lost) throw failure;
    // The next command that reaches the warehouse closes the row as abandoned (its liveness lock went with the session).
    log.warn({ err: errorMessage(failure) }, "could not record the run's end: the warehouse is gone");
  }
  return {
    runId, status, streams: outcomes, steps: stepOutcomes, landed, quarantined, error, ...(stopped && failures.length ? { failures } : {}), warnings,
    ...(silenced.size ? { silenced: [...silenced] } : {}), warehouseLost: lost !== null,
  };
}

/** What a run stopped between its steps did and left: `the metrics and clv steps did not run, the next run does them (…)`. */
function stepsNotRun(notRun: readonly string[], ran: readonly { name: string }[]): string {
  const names = (list: readonly string[]) => (list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`);
  const step = (list: readonly unknown[]) => (list.length === 1 ? 'step' : 'steps');
  const before = ran.length ? `, and the ${names(ran.map((s) => s.name))} ${step(ran)} ran` : '';
  return `the ${names(notRun)} ${step(notRun)} did not run, the next run does them (every stream was read${before})`;
}

/** A stream's progress line: its pages, records and the dates of the data read so far. */
function streamProgressText(key: string, before: { pages: number; written: number; unchanged: number; quarantined: number }, now: StreamProgress): string {
  const pages = before.pages + now.pages;
  const records = before.written + before.unchanged + before.quarantined + now.received;
  const dates = now.from && now.to ? `, data ${now.from === now.to ? now.from : `${now.from} to ${now.to}`}` : '';
  return `${key}: ${pages} page${pages === 1 ? '' : 's'}, ${records.toLocaleString('en-US')} record${records === 1 ? '' : 's'}${dates}`;
}

/**
 * The message of a run whose warehouse went away: the step it was in, the driver's words, what
 * was kept, and what to do.
 */
function lostMessage(lost: { during: string; detail: string }, kept: string, warehouse?: Pick<Warehouse, 'embedded'>): string {
  const disk = warehouse?.embedded ? lowDiskNote(warehouse.embedded.dataDir) : '';
  return (
    `the warehouse went away during ${lost.during} (${lost.detail}). Kept: ${kept}. ` +
    `Run again once the database is back: nothing is landed twice${disk ? `.${disk}` : ''}`
  );
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
