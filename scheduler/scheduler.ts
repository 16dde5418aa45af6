import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import cron, { type ScheduledTask, type TaskContext } from 'node-cron';
import { loadConfig } from '../config/load.ts';
import type { ReportEntry, ScheduleEntry, VeriteConfig } from '../config/schema.ts';
import { ConfigError, errorMessage, isPermanent } from '../lib/errors.ts';
import { systemTimers, type Timers } from '../lib/timers.ts';
import { nextGapFiring, wallClock } from './dst-gap.ts';
import type { Logger } from '../lib/logger.ts';
import type { LockMode } from '../pipeline/lock.ts';
import type { KnownSources } from '../extractors/types.ts';
import { resolveSources, type ResolvedSource, type RunResult } from '../pipeline/run.ts';
import type { PostLoadStep } from '../pipeline/steps.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { alertRuleProblems } from '../metrics/alert-rules.ts';
import { channelOfPlace, deliverReport, entryPlaces, placeSetting, unreachedPlaces, type ReportDeliveryOptions, type ReportDeliveryResult, type UnreachedPlaces } from './report-delivery.ts';
import { recordSkippedRun, runJob, type RunJobResult } from './run-job.ts';

export interface SchedulerOptions {
  warehouse: Warehouse;
  config: VeriteConfig;
  log: Logger;
  /** The extractors the config's sources are resolved to (default: extractors/sources.ts). */
  known?: KnownSources;
  /** Resolves a schedule's sources (all enabled ones when `only` is undefined); default through {@link known}. */
  resolve?: (only?: string[]) => ResolvedSource[];
  /** Post-load steps of each run (default: the registered transform and metrics steps). */
  steps?: readonly PostLoadStep[];
  /** When another run holds the lock (default: `scheduleOverlap` of the config). */
  overlap?: LockMode;
  /** Told when a firing's job ends (tests, the command's summary). */
  onJob?: (result: RunJobResult) => void;
  /** Told when a scheduled report has been written and sent, or failed to be (`reports` of the config). */
  onReport?: (result: ReportDeliveryResult) => void;
  /** The clock of the reports (default the system's); the retry's pause and the secrets' environment. */
  now?: () => Date;
  reportDelivery?: Pick<ReportDeliveryOptions, 'sleep' | 'env'>;
  /** The timer of a failed run's retries and a failed report send's (`retries.runRetryMinutes`, `reportRetryMinutes`); default the system's. */
  timers?: Timers;
  /** The config file `config` was read from: a change to it is said at the next firing. */
  configFile?: string | null;
  /**
   * Fire at start what was missed while no scheduler ran (default `scheduleCatchUp` of the
   * config); false for a scheduler started in place of another by a reload, which missed nothing.
   */
  catchUp?: boolean;
  /**
   * The retries of failed report sends a scheduler replaced by a reload had pending, for entries
   * this configuration keeps ({@link keptReportRetries}): each fires at its time, as the retry it was.
   */
  reportRetries?: readonly PendingReportRetry[];
  /**
   * The retries of failed runs a scheduler replaced by a reload had pending, for schedules this
   * configuration keeps ({@link keptRunRetries}): each fires at its time, as the retry it was.
   */
  runRetries?: readonly PendingRunRetry[];
}

/** A failed run's retry, pending: which schedule (its index in `schedules`), which retry, of which sources, when. */
export interface PendingRunRetry {
  index: number;
  entry: ScheduleEntry;
  retry: RetryOf;
  due: Date;
}

/** A failed report send's retry, pending: which entry (its index in `reports`), which period, which retry, when. */
export interface PendingReportRetry {
  index: number;
  entry: ReportEntry;
  period: string;
  attempt: number;
  due: Date;
}

/** A firing that makes up for a failed run: which retry, after which run, of which sources. */
export interface RetryOf {
  attempt: number;
  runId: string;
  /** The sources to run again (those whose streams failed), or every source of the schedule. */
  sources: string[] | 'all';
}

/** One configured schedule, running. */
export interface ScheduleEntryStatus {
  cron: string;
  /** The sources it runs, or `all`. */
  sources: string[] | 'all';
  next: Date | null;
}

export interface Scheduler {
  readonly entries: readonly ScheduleEntryStatus[];
  /** Firings so far (each one leaves a row in `ops.runs`: a run, or a skip). */
  readonly firings: number;
  /**
   * The firings missed while no scheduler ran, fired at start (`scheduleCatchUp`): resolves once
   * they are found and fired (not finished).
   */
  readonly caughtUp: Promise<CaughtUpFiring[]>;
  /** The retries of failed report sends pending now. */
  readonly reportRetries: readonly PendingReportRetry[];
  /** The retries of failed runs pending now. */
  readonly runRetries: readonly PendingRunRetry[];
  /**
   * Stops taking firings, asks each run in progress to stop after the page it is landing
   * commits, and resolves once every job has ended (the warehouse can then be closed).
   */
  stop(reason?: string): Promise<void>;
  /**
   * Stops taking firings (a pending retry of a run or a report is dropped, saying so, but the
   * report retries of the entries in `handedOver` and the run retries of the schedules in
   * `runsHandedOver`, which the new scheduler fires) and lets the jobs in progress
   * finish: resolves once they have ended. For a scheduler replaced by one with a new
   * configuration ({@link startReloadableScheduler}); {@link stop} after it still stops them.
   */
  retire(handedOver?: ReadonlySet<number>, runsHandedOver?: ReadonlySet<number>): Promise<void>;
}

/**
 * Fires `verite run` on the cron expressions of `schedules` (in `reportingTimezone`; 6 fields
 * means seconds first), each with its own sources. Every firing goes through the run lock, so
 * runs never overlap across processes; a firing that finds the lock taken waits or is skipped
 * (`scheduleOverlap`) and is recorded either way. A schedule whose previous firing is still
 * running or waiting in this process is skipped, so firings never pile up.
 *
 * So that a night's run happens even when the night does not go to plan: at start, a run or a
 * report whose time passed while no scheduler ran is fired once (`scheduleCatchUp`); a run that
 * failed for a reason that may pass is fired again later for its failed sources
 * (`retries.runRetries`, `runRetryMinutes`), and so is a report whose send failed, for the places
 * it did not reach (`retries.reportRetries`, `reportRetryMinutes`); a run of every source that
 * succeeded pings the heartbeat (`alerts.heartbeatUrl`); an edit of the config file is said at the next firing.
 *
 * @example
 * const scheduler = startScheduler({ warehouse, config, log });
 * process.once('SIGTERM', () => void scheduler.stop('SIGTERM').then(() => warehouse.close()));
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { warehouse, config, log } = options;
  const overlap = options.overlap ?? config.scheduleOverlap;
  const resolve = options.resolve ?? ((only?: string[]) => resolveSources(config, only, options.known));
  const problems = alertRuleProblems(config.alerts.rules);
  if (problems.length) throw new ConfigError(problems);
  // Resolved up front: a schedule naming an unknown source fails at start, not at 03:00.
  const plan = config.schedules.map((entry) => ({ entry, sources: resolve(entry.sources) }));
  const controller = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const busy = new Map<number, string>();
  let firings = 0;
  let stopping = false;
  const cronLog = {
    info: (m: string) => log.debug({ component: 'node-cron' }, m),
    warn: (m: string) => log.warn({ component: 'node-cron' }, m),
    error: (m: string | Error) => log.error({ component: 'node-cron', err: errorMessage(m) }, 'scheduler error'),
    debug: (m: string | Error) => log.debug({ component: 'node-cron' }, errorMessage(m)),
  };

  const timers = options.timers ?? systemTimers;
  const clock = options.now ?? (() => new Date());
  const configChange = options.configFile ? watchConfigFile(options.configFile, log) : () => undefined;
  // A failed run's next retry, by schedule: dropped when the schedule fires first.
  const retries = new Map<number, { handle: unknown; retry: RetryOf; due: Date }>();
  /** Whether a run that is the `attempt`-th of its firing may still be tried again. */
  const retriesLeft = (attempt: number) => attempt <= config.retries.runRetries;
  const planRetry = (index: number, failed: RetryOf) => {
    const { runRetries, runRetryMinutes } = config.retries;
    const { entry } = plan[index]!;
    if (stopping) return;
    if (!retriesLeft(failed.attempt)) {
      if (runRetries > 0) log.warn({ schedule: entry.cron, runId: failed.runId, retries: runRetries }, 'scheduled run failed again; no retry left: the schedule fires again at its next time');
      return;
    }
    log.info({ schedule: entry.cron, runId: failed.runId, retry: failed.attempt, of: runRetries, inMinutes: runRetryMinutes, sources: failed.sources }, 'scheduled run failed; firing it again later');
    armRetry(index, failed, runRetryMinutes * 60_000);
  };
  const armRetry = (index: number, retry: RetryOf, delay: number) => {
    const handle = timers.set(() => {
      retries.delete(index);
      fire(index, new Date(), undefined, retry);
    }, delay);
    retries.set(index, { handle, retry, due: new Date(clock().getTime() + delay) });
  };

  /** `late`: why the firing comes off its cron time (`caught up: missed …`, a daylight-saving gap), for its trigger. */
  const fire = (index: number, scheduledFor: Date, late?: string, retry?: RetryOf) => {
    if (stopping) return;
    configChange();
    const { entry } = plan[index]!;
    // The schedule's own firing comes before a pending retry: it runs every source anyway.
    const pending = retries.get(index);
    let dropped: RetryOf | undefined;
    if (!retry && pending !== undefined) {
      timers.clear(pending.handle);
      retries.delete(index);
      dropped = pending.retry;
      log.info({ schedule: entry.cron }, 'the retry of a failed run is dropped: the schedule fired first');
    }
    const sources = retry && retry.sources !== 'all' ? plan[index]!.sources.filter((s) => (retry.sources as string[]).includes(s.source.name)) : plan[index]!.sources;
    firings++;
    const runId = randomUUID();
    const trigger = late
      ? `${scheduleTrigger(entry.cron)} (${late})`
      : retry
        ? `${scheduleTrigger(entry.cron)} (retry ${retry.attempt} of ${config.retries.runRetries} after failed run ${retry.runId})`
        : scheduleTrigger(entry.cron);
    const names = sources.map((s) => s.source.name);
    const attempt = (retry?.attempt ?? 0) + 1;
    /** The retry of this failed run, if one may help: its sources, or undefined. */
    const retryAfter = (run: RunResult): RetryOf | undefined => {
      // A source down at 03:00, or the warehouse in its maintenance window, is often back within the hour.
      if (run.warehouseLost) return { attempt, runId, sources: 'all' };
      const transient = run.streams.filter((s) => s.status === 'failed' && !isPermanent(s.error));
      return transient.length ? { attempt, runId, sources: [...new Set(transient.map((s) => s.source))] } : undefined;
    };
    log.info({ runId, schedule: entry.cron, sources: entry.sources ?? 'all', scheduledFor: scheduledFor.toISOString(), firing: firings }, 'schedule fired');
    const previous = busy.get(index);
    let job: Promise<RunJobResult>;
    if (previous) {
      job = (async () => {
        const reason = `the previous firing of this schedule (run ${previous}) has not finished`;
        await recordSkippedRun(warehouse.db, { id: runId, kind: 'run', trigger, sources: names, reason });
        log.info({ runId, schedule: entry.cron, reason }, 'run skipped');
        return { status: 'skipped' as const, runId, reason };
      })();
    } else {
      busy.set(index, runId);
      // A schedule of every source (or its retry) tells the monitor the night's run is done.
      const heartbeat = entry.sources === undefined;
      // A failed run about to be tried again is not yet a failed night: the run_failed alert waits for the retry.
      const retryPlanned = (run: RunResult) => retriesLeft(attempt) && retryAfter(run) !== undefined;
      job = runJob({ warehouse, config, log, sources, steps: options.steps, signal: controller.signal, overlap, kind: 'run', trigger, runId, heartbeat, retryPlanned });
    }
    let ended: RunJobResult | undefined;
    let again: RetryOf | undefined;
    const tracked = job
      .then((result) => {
        ended = result;
        if (result.status !== 'skipped') {
          log.info({ runId, schedule: entry.cron, status: result.status, landed: result.run.landed, error: result.run.error }, 'scheduled run finished');
        }
        // Skipped (another process holds the run lock): the dropped retry still has its sources to bring.
        if (result.status === 'skipped' && dropped) again = dropped;
        if (result.status === 'failed') {
          again = retryAfter(result.run);
          if (!again) log.info({ runId, schedule: entry.cron }, 'scheduled run failed; not retried, as trying again cannot help (a refused credential, or a step that failed on the data)');
        }
      })
      .catch((error: unknown) => {
        log.error({ runId, schedule: entry.cron, err: errorMessage(error) }, 'scheduled run could not be carried out');
        again = { attempt, runId, sources: 'all' };
      })
      // The schedule is free again before its retry is planned and the job told of.
      .finally(() => {
        if (busy.get(index) === runId) busy.delete(index);
        inFlight.delete(tracked);
        if (again) planRetry(index, again);
        try {
          if (ended) options.onJob?.(ended);
        } catch (error) {
          log.error({ runId, err: errorMessage(error) }, 'the job listener failed');
        }
      });
    inFlight.add(tracked);
  };

  const tasks: ScheduledTask[] = plan.map(({ entry }, index) =>
    cron.schedule(
      entry.cron,
      // Returns at once: the job is tracked here, so node-cron never sees an overlap of its own.
      (context) => void fire(index, context.date),
      { timezone: config.reportingTimezone, name: `verite ${index + 1}: ${entry.cron}`, logger: cronLog },
    ),
  );
  // A report firing's next retry after a failed send, by report entry: dropped when the entry fires on its own cron first.
  const reportRetries = new Map<number, { handle: unknown; period: string; attempt: number; due: Date }>();
  // How many times each report entry has fired, retries included: a firing plans a retry only if
  // it is still the entry's latest when its send has failed.
  const reportFirings = config.reports.map(() => 0);
  /**
   * After a report firing that was the `attempt`-th of its firing (1: the firing itself) and the
   * `firing`-th of its entry: when a send failed for a reason that may pass, the entry is fired
   * again for the same period, for the places not reached (`retries.reportRetries`,
   * `reportRetryMinutes`). Never a period whose failed places {@link MAKE_UP_FIRINGS} firings were
   * to reach: the retries count as firings of the period, as the made-up firing at start does, so
   * that together they stay within it. Nor when the entry fired again while this firing was under
   * way (in the 30-s pause of a send, or waiting for the period's lock), for the reason a pending
   * retry is dropped when the cron fires: the newer firing sends its period where it did not go,
   * and a retry of this one would send an older period after a newer one.
   */
  const planReportRetry = async (index: number, result: ReportDeliveryResult, attempt: number, firing: number) => {
    // Not a report that could not be made (nothing was sent), nor a retired webhook (it takes nothing, ever).
    const failed = result.outcomes.filter((o) => o.channel !== 'file' && o.status === 'failed' && !o.permanent);
    if (stopping || !result.period || !failed.length) return;
    const period = result.period;
    const entry = config.reports[index]!;
    const { reportRetries: allowed, reportRetryMinutes } = config.retries;
    const channels = [...new Set(failed.map((o) => o.channel))];
    const what = { report: entry.kind, schedule: entry.cron, period, channels };
    /** Whether the entry fired again since this firing began; said once, as the reason no retry is planned. */
    const superseded = () => {
      if (reportFirings[index] === firing) return false;
      log.info(what, 'the retry of a failed report send is dropped: the report fired again while the failed firing was under way');
      return true;
    };
    if (superseded()) return;
    if (attempt > allowed) {
      if (allowed > 0) log.warn({ ...what, retries: allowed }, 'scheduled report send failed again; no retry left while the scheduler runs');
      return;
    }
    try {
      const found = await unreachedPlaces(warehouse.db, entry.kind);
      if (found?.period === period) {
        const { due, spent } = placesLeft(entry, found, options.reportDelivery?.env ?? process.env, channels);
        if (!due.length && spent.length) {
          log.warn({ ...what, firings: firingsOf(found, spent) }, spentMessage('not fired again'));
          return;
        }
      }
    } catch (error) {
      // The retry's own firing records how it went.
      log.warn({ ...what, err: errorMessage(error) }, 'the firings of a report period could not be counted; firing it again later anyway');
    }
    // The entry may have fired while the period's firings were counted.
    if (stopping || superseded()) return;
    log.info({ ...what, retry: attempt, of: allowed, inMinutes: reportRetryMinutes }, 'scheduled report send failed; firing it again later');
    armReportRetry(index, period, attempt, new Date(clock().getTime() + reportRetryMinutes * 60_000));
  };
  const armReportRetry = (index: number, period: string, attempt: number, due: Date) => {
    const pending = reportRetries.get(index);
    if (pending) timers.clear(pending.handle);
    const handle = timers.set(() => {
      reportRetries.delete(index);
      fireReport(index, `retry ${attempt} of ${config.retries.reportRetries} after a failed send`, period, attempt);
    }, Math.max(0, due.getTime() - clock().getTime()));
    reportRetries.set(index, { handle, period, attempt, due });
  };

  // Reports on their own cron: a report that cannot be made or sent is recorded, never a run's failure.
  // `period`: the period of a firing made up for the places it did not reach (default the last complete one);
  // `retry`: which retry of a failed send the firing is.
  const fireReport = (index: number, late?: string, period?: string, retry?: number) => {
    if (stopping) return;
    configChange();
    const entry = config.reports[index]!;
    // The entry's own firing comes before a pending retry: it sends the period it makes to every place not reached.
    const pending = reportRetries.get(index);
    if (retry === undefined && pending) {
      timers.clear(pending.handle);
      reportRetries.delete(index);
      log.info({ report: entry.kind, schedule: entry.cron, period: pending.period }, 'the retry of a failed report send is dropped: the report schedule fired first');
    }
    // A retry counts as a firing too. It cancels nothing: it begins after the firing that planned
    // it has finished, and a firing still under way then began before that one, so plans nothing
    // already. The cron firing during a retry leaves that retry no retry of its own.
    const firing = ++reportFirings[index]!;
    log.info({ report: entry.kind, schedule: entry.cron, ...(late ? { late } : {}), ...(period ? { period } : {}) }, 'report schedule fired');
    const tracked = deliverReport({ warehouse, config, log, entry, now: clock(), signal: controller.signal, period, ...options.reportDelivery })
      .then(async (result) => {
        await planReportRetry(index, result, (retry ?? 0) + 1, firing);
        options.onReport?.(result);
      })
      .catch((error: unknown) => log.error({ report: entry.kind, err: errorMessage(error) }, 'scheduled report could not be carried out'))
      .finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  tasks.push(
    ...config.reports.map((entry, index) =>
      cron.schedule(entry.cron, () => void fireReport(index), { timezone: config.reportingTimezone, name: `verite report ${index + 1}: ${entry.kind} ${entry.cron}`, logger: cronLog }),
    ),
  );
  // A firing time that passed while the process was suspended (a laptop asleep at 03:00) or its
  // event loop blocked: node-cron's timer then comes late, beyond its tolerance of a second, and
  // node-cron drops the time as missed. It is fired once now, as a caught-up firing at start is;
  // the times missed in one wake-up (several nights asleep) make one firing, for the latest.
  const missedNow = new Map<string, Date>();
  const onMissed = (key: string, what: Record<string, string>, fireIt: (missed: Date, late: string) => void) => (context: TaskContext) => {
    if (stopping) return;
    const pending = missedNow.get(key);
    if (pending) {
      if (context.date > pending) missedNow.set(key, context.date);
      return;
    }
    missedNow.set(key, context.date);
    // node-cron reports the missed times of one wake-up one after another, synchronously.
    queueMicrotask(() => {
      const missed = missedNow.get(key)!;
      missedNow.delete(key);
      if (stopping) return;
      log.warn({ ...what, missed: missed.toISOString(), timezone: config.reportingTimezone }, 'a firing time passed while the scheduler was suspended or blocked: firing it now');
      fireIt(missed, `caught up: missed ${missed.toISOString()}`);
    });
  };
  plan.forEach(({ entry }, index) => tasks[index]!.on('execution:missed', onMissed(`run ${index}`, { schedule: entry.cron }, (missed, late) => fire(index, missed, late))));
  config.reports.forEach((entry, index) =>
    tasks[plan.length + index]!.on('execution:missed', onMissed(`report ${index}`, { report: entry.kind, schedule: entry.cron }, (_missed, late) => fireReport(index, late))),
  );
  for (const kept of options.runRetries ?? []) {
    const what = { schedule: kept.entry.cron, runId: kept.retry.runId, retry: kept.retry.attempt, due: kept.due.toISOString() };
    // The failed sources the schedule still runs: a source taken out of the configuration is not run again.
    const names = new Set(plan[kept.index]!.sources.map((s) => s.source.name));
    const sources = kept.retry.sources === 'all' ? 'all' : kept.retry.sources.filter((name) => names.has(name));
    if (sources !== 'all' && !sources.length) {
      log.warn({ ...what, sources: kept.retry.sources }, 'the retry of a failed run is dropped: the new configuration has none of its sources');
      continue;
    }
    log.info({ ...what, sources }, 'the retry of a failed run is kept through the reload: its schedule is unchanged');
    armRetry(kept.index, { ...kept.retry, sources }, Math.max(0, kept.due.getTime() - clock().getTime()));
  }
  for (const kept of options.reportRetries ?? []) {
    const entry = config.reports[kept.index]!;
    log.info({ report: entry.kind, schedule: entry.cron, period: kept.period, retry: kept.attempt, due: kept.due.toISOString() }, 'the retry of a failed report send is kept through the reload: its entry is unchanged');
    armReportRetry(kept.index, kept.period, kept.attempt, kept.due);
  }
  // Times a daylight-saving gap skips (02:00 on the night clocks go forward): fired at its end.
  const gapTimers = new Set<unknown>();
  const planGap = (expression: string, from: Date, fireIt: (late: string) => void): void => {
    if (stopping) return;
    const next = nextGapFiring(expression, config.reportingTimezone, from);
    if (!next) return;
    const delay = Math.max(0, next.at.getTime() - clock().getTime());
    // setTimeout holds at most 24.8 days: a later gap is planned again nearer the time.
    const far = delay > GAP_TIMER_MAX_MS;
    const handle = timers.set(
      () => {
        gapTimers.delete(handle);
        if (far) return planGap(expression, from, fireIt);
        log.info({ schedule: expression, nominal: next.nominal, timezone: config.reportingTimezone }, 'a firing time did not exist tonight (daylight saving): firing at the end of the gap');
        fireIt(`daylight saving: ${next.nominal} did not exist in ${config.reportingTimezone}`);
        planGap(expression, next.at, fireIt);
      },
      far ? GAP_TIMER_MAX_MS : delay,
    );
    gapTimers.add(handle);
  };
  plan.forEach(({ entry }, index) => planGap(entry.cron, clock(), (late) => fire(index, clock(), late)));
  config.reports.forEach((entry, index) => planGap(entry.cron, clock(), (late) => fireReport(index, late)));
  const entries = plan.map(({ entry }) => ({ cron: entry.cron, sources: entry.sources ?? ('all' as const), next: nextFiring(entry.cron, config.reportingTimezone, clock()) }));
  for (const e of entries) log.info({ schedule: e.cron, sources: e.sources, next: e.next?.toISOString(), timezone: config.reportingTimezone, overlap }, 'schedule armed');

  // Firings missed while no scheduler ran, and report firings that did not reach every place: each fired once, now.
  const caughtUp = (options.catchUp ?? config.scheduleCatchUp)
    ? missedFirings(warehouse, config, clock(), { env: options.reportDelivery?.env, log })
        .then((missed) => {
          for (const m of missed) {
            const what = { [m.kind === 'run' ? 'schedule' : 'report']: m.kind === 'run' ? m.cron : config.reports[m.index]!.kind, missed: m.missed.toISOString(), lastFiring: m.lastFiring.toISOString() };
            if (m.unfinished) {
              log.info({ ...what, period: m.unfinished.period, channels: m.unfinished.channels }, 'a report firing did not reach every place it sends to (the scheduler stopped during it, or a send failed): firing it again now for the places not reached');
              fireReport(m.index, `caught up: the firing of ${m.missed.toISOString()} did not reach ${m.unfinished.channels.join(' and ')}`, m.unfinished.period);
              continue;
            }
            log.info(what, 'a firing was missed while no scheduler ran: firing it now');
            const late = `caught up: missed ${m.missed.toISOString()}`;
            if (m.kind === 'run') fire(m.index, m.missed, late);
            else fireReport(m.index, late);
          }
          return missed;
        })
        .catch((error: unknown) => {
          log.error({ err: errorMessage(error) }, 'missed firings could not be looked for');
          return [];
        })
    : Promise.resolve([]);
  const looking = caughtUp.then(() => undefined).finally(() => inFlight.delete(looking));
  inFlight.add(looking);

  return {
    entries,
    get firings() {
      return firings;
    },
    caughtUp,
    get reportRetries() {
      return [...reportRetries].map(([index, { period, attempt, due }]) => ({ index, entry: config.reports[index]!, period, attempt, due }));
    },
    get runRetries() {
      return [...retries].map(([index, { retry, due }]) => ({ index, entry: config.schedules[index]!, retry, due }));
    },
    async stop(reason = 'stopped') {
      if (!stopping) {
        for (const [index, pending] of reportRetries) {
          const entry = config.reports[index]!;
          log.info({ report: entry.kind, schedule: entry.cron, period: pending.period, retry: pending.attempt }, 'the retry of a failed report send is dropped as the scheduler stops: its next start makes it up (scheduleCatchUp)');
        }
      }
      await halt();
      if (!controller.signal.aborted) {
        controller.abort(new Error(`scheduler ${reason}`));
        if (inFlight.size) log.info({ jobs: inFlight.size }, 'waiting for the run in progress to commit its page and stop');
      }
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
    async retire(handedOver = new Set<number>(), runsHandedOver = new Set<number>()) {
      for (const [index, pending] of retries) {
        if (runsHandedOver.has(index)) continue;
        log.warn({ schedule: plan[index]!.entry.cron, runId: pending.retry.runId, sources: pending.retry.sources }, 'the retry of a failed run is dropped with the configuration it was planned under: the schedule fires again at its next time');
      }
      for (const [index, pending] of reportRetries) {
        if (handedOver.has(index)) continue;
        const entry = config.reports[index]!;
        log.warn({ report: entry.kind, schedule: entry.cron, period: pending.period, retry: pending.attempt }, 'the retry of a failed report send is dropped with the configuration it was planned under: the report fires again at its next time');
      }
      await halt();
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };

  /** Takes no more firings: the cron tasks, the retries (of runs and of reports) and the gap timers let go. At once: `fire` looks at `stopping` first. */
  async function halt(): Promise<void> {
    if (stopping) return;
    stopping = true;
    for (const pending of retries.values()) timers.clear(pending.handle);
    retries.clear();
    for (const pending of reportRetries.values()) timers.clear(pending.handle);
    reportRetries.clear();
    for (const handle of gapTimers) timers.clear(handle);
    gapTimers.clear();
    for (const task of tasks) await task.destroy();
  }
}

/**
 * The pending report retries a scheduler armed with `next` takes over at a reload, by the index
 * of their entry in `next.reports` (the old index is the key): those whose entry `next` still has,
 * the same kind, cron and places (`to`), while `next` still allows that many retries. Each keeps
 * its period, its attempt and its time. Two alike entries take the retries of two alike entries in turn.
 */
export function keptReportRetries(pending: readonly PendingReportRetry[], next: Pick<VeriteConfig, 'reports' | 'retries'>): Map<number, PendingReportRetry> {
  return handedOver(pending, next.reports, (r) => r.attempt <= next.retries.reportRetries, (a, b) => a.kind === b.kind && a.cron === b.cron && isDeepStrictEqual(a.to, b.to));
}

/**
 * The pending run retries a scheduler armed with `next` takes over at a reload, by the index of
 * their schedule in `next.schedules` (the old index is the key): those whose schedule `next`
 * still has, the same cron and sources, while `next` still allows that many retries. Each keeps
 * its run, its attempt and its time. Two alike schedules take the retries of two alike schedules in turn.
 */
export function keptRunRetries(pending: readonly PendingRunRetry[], next: Pick<VeriteConfig, 'schedules' | 'retries'>): Map<number, PendingRunRetry> {
  return handedOver(pending, next.schedules, (r) => r.retry.attempt <= next.retries.runRetries, (a, b) => a.cron === b.cron && isDeepStrictEqual(a.sources, b.sources));
}

/**
 * The pending retries (`allowed` still) whose entry `entries` has `alike`, each re-keyed to the
 * first alike entry not yet taken, by its old index: the one hand-over rule of {@link keptReportRetries} and {@link keptRunRetries}.
 */
function handedOver<E, P extends { index: number; entry: E }>(pending: readonly P[], entries: readonly E[], allowed: (retry: P) => boolean, alike: (a: E, b: E) => boolean): Map<number, P> {
  const kept = new Map<number, P>();
  const taken = new Set<number>();
  for (const retry of pending) {
    if (!allowed(retry)) continue;
    const index = entries.findIndex((e, i) => !taken.has(i) && alike(e, retry.entry));
    if (index < 0) continue;
    taken.add(index);
    kept.set(retry.index, { ...retry, index, entry: entries[index]! });
  }
  return kept;
}

/** How a schedule's firings are named in `ops.runs.trigger`. */
function scheduleTrigger(cron: string): string {
  return `schedule ${cron}`;
}

/** A firing missed while no scheduler ran, as found at start. */
export interface CaughtUpFiring {
  kind: 'run' | 'report';
  /** The index of the entry in `schedules` or `reports`. */
  index: number;
  cron: string;
  /** The last firing time that passed unfired. */
  missed: Date;
  /** The entry's last firing before it (`ops.runs.started_at`, or the report's `scheduled_for`). */
  lastFiring: Date;
  /**
   * A report firing that did not reach every place it was to send to (its process died after the
   * report was written, or a send failed), with `missed` its time: the period to make again, and
   * the channels not reached. The places already reached are not sent to again, nor those whose
   * last send was refused for good.
   */
  unfinished?: { period: string; channels: ('webhook' | 'email')[] };
}

export interface MissedFiringsOptions {
  /** Where a report's webhook variable is read, to tell its place (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Told of a report period given up on at a place (fired {@link MAKE_UP_FIRINGS} times without reaching it, or its last send refused for good). */
  log?: Logger;
}

/**
 * How many firings of a period may leave a place unreached before neither the starts nor the
 * retries of a failed send (`retries.reportRetries`) fire it again: the firing and two more,
 * made up at a start or retried while the scheduler runs. A report whose making or sending kills the process (memory
 * running out drawing the charts) would otherwise kill every start until the next period.
 */
export const MAKE_UP_FIRINGS = 3;

/** The channels of places, each once. */
const channelsOf = (places: readonly string[]) => [...new Set(places.map(channelOfPlace))];

/**
 * The places of `entry` (of `channels` only, when given) that no firing of `found`'s period
 * reached: those a firing may still be made for (`due`), those {@link MAKE_UP_FIRINGS} firings of
 * the period were already to reach (`spent`), and those whose last send of the period was refused
 * for good (`refused`: a retired Teams connector), which takes nothing however often it is tried.
 * The one reckoning of both the catch-up at start and the retry of a failed send.
 */
function placesLeft(entry: ReportEntry, found: UnreachedPlaces, env: NodeJS.ProcessEnv, channels?: readonly string[]): { due: string[]; spent: string[]; refused: string[] } {
  const left = entryPlaces(entry, env).filter((p) => found.places.has(p) && (!channels || channels.includes(channelOfPlace(p))));
  const open = left.filter((p) => !found.refused.has(p));
  return {
    due: open.filter((p) => found.places.get(p)! < MAKE_UP_FIRINGS),
    spent: open.filter((p) => found.places.get(p)! >= MAKE_UP_FIRINGS),
    refused: left.filter((p) => found.refused.has(p)),
  };
}

/** The most firings of the period among `places`. */
const firingsOf = (found: UnreachedPlaces, places: readonly string[]) => Math.max(...places.map((p) => found.places.get(p)!));

/** The warning for a place that refused the last send of a period for good, said at start (a retired connector is the one such refusal). */
const REFUSED_PLACE_MESSAGE =
  'a report place refused its last send for good (a retired Teams Office 365 connector): not made up at start; create a Workflows webhook in Teams ("Post to a channel when a webhook request is received") and set its URL in the place named';

/** The warning for a period given up on at a place, ending with what is not done (`not made up again`). */
const spentMessage = (notDone: string) => `a report did not reach every place it sends to after ${MAKE_UP_FIRINGS} firings of its period: ${notDone} (the next period goes out at its time)`;

/** The longest timer set for a daylight-saving gap (setTimeout holds at most 24.8 days). */
const GAP_TIMER_MAX_MS = 20 * 86_400_000;

/** How far back a missed firing is looked for: a schedule fires at least monthly or it is not nightly data. */
const CATCH_UP_LOOKBACK_DAYS = 35;

/**
 * The schedules and reports whose last firing time before `now` passed after their last
 * recorded firing: missed while no scheduler ran. Only entries that have fired before (the
 * same cron expression in `ops.runs.trigger`, the same kind of report in
 * `ops.report_deliveries`): a new schedule starts with its next time, as before. A firing in
 * the current minute is left to the cron task.
 *
 * A report whose last time was fired comes too, with its period (`unfinished`), when a place
 * it sends to that a firing of the latest period was to reach was not reached (the process died
 * during the send, or the send failed); a place the entry gained since (a new address, a rotated
 * webhook URL) does not make a firing. A place that {@link MAKE_UP_FIRINGS} firings of the
 * period were to reach and did not is left, with a warning on `options.log`; so is a place whose
 * last send of the period was refused for good (a retired Teams connector), the warning saying
 * what to put in its place.
 */
export async function missedFirings(
  warehouse: Pick<Warehouse, 'db'>,
  config: Pick<VeriteConfig, 'schedules' | 'reports' | 'reportingTimezone'>,
  now: Date,
  options: MissedFiringsOptions = {},
): Promise<CaughtUpFiring[]> {
  const out: CaughtUpFiring[] = [];
  const consider = (kind: CaughtUpFiring['kind'], index: number, cron: string, lastValue: unknown): Date | null => {
    const last = lastValue ? new Date(lastValue as Date) : null;
    const missed = last && lastMissedTime(cron, config.reportingTimezone, last, now);
    if (last && missed) out.push({ kind, index, cron, missed, lastFiring: last });
    return missed ? null : last;
  };
  for (const [index, entry] of config.schedules.entries()) {
    const trigger = scheduleTrigger(entry.cron);
    const row = await warehouse.db
      .selectFrom('ops.runs')
      .select((eb) => eb.fn.max('started_at').as('last'))
      .where('kind', '=', 'run')
      .where((eb) => eb.or([eb('trigger', '=', trigger), eb(eb.fn('starts_with', ['trigger', eb.val(`${trigger} (`)]), '=', true)]))
      .executeTakeFirst();
    consider('run', index, entry.cron, row?.last);
  }
  const unreached = new Map<string, UnreachedPlaces | null>();
  const warned = new Set<string>();
  for (const [index, entry] of config.reports.entries()) {
    const row = await warehouse.db
      .selectFrom('ops.report_deliveries')
      .select((eb) => eb.fn.max('scheduled_for').as('last'))
      .where('kind', '=', entry.kind)
      .executeTakeFirst();
    // Its time was fired: done only if every place it was to reach was reached.
    const last = consider('report', index, entry.cron, row?.last);
    if (!last) continue;
    if (!unreached.has(entry.kind)) unreached.set(entry.kind, await unreachedPlaces(warehouse.db, entry.kind));
    const found = unreached.get(entry.kind);
    if (!found) continue;
    const { due, spent: given, refused } = placesLeft(entry, found, options.env ?? process.env);
    const spent = given.filter((p) => !warned.has(p));
    if (spent.length && options.log) {
      for (const p of spent) warned.add(p);
      options.log.warn({ report: entry.kind, period: found.period, channels: channelsOf(spent), firings: firingsOf(found, spent) }, spentMessage('not made up again'));
    }
    for (const p of refused.filter((r) => !warned.has(r))) {
      warned.add(p);
      options.log?.warn({ report: entry.kind, schedule: entry.cron, place: placeSetting(entry, index, p), period: found.period, err: found.refused.get(p) ?? undefined }, REFUSED_PLACE_MESSAGE);
    }
    if (due.length) out.push({ kind: 'report', index, cron: entry.cron, missed: found.firing, lastFiring: last, unfinished: { period: found.period, channels: channelsOf(due) } });
  }
  return out;
}

/**
 * The latest firing of the expression after `after` and before the minute of `now` that did not
 * come: a time it names ({@link lastCronTimeBetween}), or the end of a daylight-saving gap in
 * which it names a time that did not exist ({@link nextGapFiring}); null when none. Null too when
 * the cron task fires the same local time again within two hours: on the night clocks go back,
 * started between the two 02:30s, the first is not missed, as node-cron fires the second (in
 * zones east of UTC) and the night would run twice.
 */
export function lastMissedTime(expression: string, timeZone: string, after: Date, now: Date): Date | null {
  const named = lastCronTimeBetween(expression, timeZone, after, now);
  const floor = Math.max(after.getTime(), now.getTime() - CATCH_UP_LOOKBACK_DAYS * 86_400_000);
  const days = Math.ceil((now.getTime() - floor) / 86_400_000) + 1;
  const gap = nextGapFiring(expression, timeZone, new Date(floor), days);
  const currentMinute = Math.floor(now.getTime() / 60_000) * 60_000;
  const skipped = gap && gap.at.getTime() < currentMinute ? gap.at : null;
  const missed = !skipped ? named : named && named > skipped ? named : skipped;
  if (!missed) return null;
  const next = nextCronTime(expression, timeZone, now);
  const repeated = next !== null && next.getTime() - missed.getTime() <= REPEATED_TIME_MS && wallClock(next.getTime(), timeZone) === wallClock(missed.getTime(), timeZone);
  return repeated ? null : missed;
}

/** How far apart the two occurrences of a local time may be on the night clocks go back (an hour; half an hour on Lord Howe Island). */
const REPEATED_TIME_MS = 2 * 3_600_000;

/**
 * The latest time the cron expression names after `after` and before the minute of `now`
 * (looked for at most {@link CATCH_UP_LOOKBACK_DAYS} back), or null; null too for an
 * expression that fires several times a minute.
 */
export function lastCronTimeBetween(expression: string, timeZone: string, after: Date, now: Date): Date | null {
  const seconds = cron.parse(expression).second;
  // An expression firing several times a minute fires again within seconds: nothing to catch up.
  if (seconds.length > 1) return null;
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    const minute = 60_000;
    const floor = Math.max(after.getTime(), now.getTime() - CATCH_UP_LOOKBACK_DAYS * 86_400_000);
    for (let m = Math.floor(now.getTime() / minute) * minute - minute; m >= floor - minute; m -= minute) {
      const t = m + seconds[0]! * 1000;
      if (t > after.getTime() && task.match(new Date(t))) return new Date(t);
    }
    return null;
  } finally {
    void task.destroy();
  }
}

/**
 * Says, once per change, that the config file changed since the scheduler read it: the runs go
 * on with the config read at start (a scheduler does not change its schedules under a run), and
 * an edit made for the next night would otherwise be silently ignored until a restart. Whether
 * the new file would be taken is said too, so that it is fixed before the restart.
 */
function watchConfigFile(file: string, log: Logger): () => void {
  const digest = () => {
    try {
      return createHash('sha256').update(readFileSync(file)).digest('hex');
    } catch {
      return 'unreadable';
    }
  };
  const atStart = digest();
  let said = atStart;
  return () => {
    const now = digest();
    if (now === said) return;
    said = now;
    if (now === atStart) return;
    void loadConfig({ file }).then(
      () => log.warn({ file }, 'the config file changed since the scheduler started; the runs go on with the config read then: send verite schedule SIGHUP (or restart it) to use the new one'),
      (error: unknown) =>
        log.warn(
          { file, problems: error instanceof ConfigError ? error.problems : [errorMessage(error)] },
          'the config file changed since the scheduler started, and the new one would be refused (problems listed); the runs go on with the config read at start',
        ),
    );
  };
}

/**
 * When a schedule or report next fires after `from`: the cron expression's next time, or the end
 * of a daylight-saving gap before it in which the expression names a time that does not exist
 * (it fires then, {@link nextGapFiring}); null when neither comes within 92 days.
 */
export function nextFiring(expression: string, timeZone: string, from: Date): Date | null {
  const named = nextCronTime(expression, timeZone, from);
  const gap = nextGapFiring(expression, timeZone, from, 92)?.at ?? null;
  return gap && (!named || gap < named) ? gap : named;
}

/** The first time the cron expression names after `from` (within 92 days: a quarterly report), or null. */
export function nextCronTime(expression: string, timeZone: string, from: Date): Date | null {
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    // node-cron's own matcher finds the next time at once; scanned minute by minute if a
    // release of the package no longer exposes it.
    const matcher = (task as unknown as { timeMatcher?: { getNextMatch?(date: Date): Date } }).timeMatcher;
    if (typeof matcher?.getNextMatch === 'function') return matcher.getNextMatch(from);
    const minute = 60_000;
    const second = cron.parse(expression).second[0] ?? 0;
    const start = Math.floor(from.getTime() / minute) * minute + minute;
    for (let m = start; m < start + 92 * 86_400_000; m += minute) {
      if (task.match(new Date(m + second * 1000))) return new Date(m + second * 1000);
    }
    return null;
  } finally {
    void task.destroy();
  }
}
