import type { VeriteConfig } from '../config/schema.ts';
import { ConfigError, errorMessage, UsageError } from '../lib/errors.ts';
import { keptReportRetries, keptRunRetries, startScheduler, type PendingReportRetry, type PendingRunRetry, type ScheduleEntryStatus, type Scheduler, type SchedulerOptions } from './scheduler.ts';

/** What a reload did: the new configuration's schedules armed, or why the running ones stay. */
export type ReloadOutcome = { reloaded: true; config: VeriteConfig; entries: readonly ScheduleEntryStatus[] } | { reloaded: false; problems: string[] };

export interface ReloadableScheduler {
  /** The schedules armed now. */
  readonly entries: readonly ScheduleEntryStatus[];
  /** The configuration the schedules armed now were read from. */
  readonly config: VeriteConfig;
  /** Firings so far, of every configuration it ran under. */
  readonly firings: number;
  /**
   * Reads the configuration again (`reread`) and arms its schedules in place of the running
   * ones; the runs and reports in progress finish under the configuration they started with.
   * A failed report send's pending retry goes on if the new configuration keeps its entry
   * unchanged and still allows it ({@link keptReportRetries}), and so does a failed run's if it
   * keeps its schedule ({@link keptRunRetries}); the other retries are dropped.
   * A configuration that would be refused (a file that does not parse, an unknown source, an
   * alert rule that is not one) changes nothing: the schedules running go on, and the outcome
   * lists the problems. Reloads come one at a time, in the order asked.
   */
  reload(): Promise<ReloadOutcome>;
  /** Stops every scheduler, the one armed and those still finishing a job, as {@link Scheduler.stop} does. */
  stop(reason?: string): Promise<void>;
}

/**
 * {@link startScheduler}, able to take a new configuration without stopping (`verite schedule`
 * on SIGHUP, as systemd's `ExecReload` sends it): the runs in progress are not cut short, and
 * nothing is fired twice. The scheduler started by a reload does not look for missed firings:
 * the one it replaces was running. What it is started with other than the configuration (the
 * warehouse, the overlap given on the command line, the sources' resolution in tests) stays.
 */
export function startReloadableScheduler(options: SchedulerOptions & { reread: () => Promise<VeriteConfig> }): ReloadableScheduler {
  const { reread, ...first } = options;
  let config = first.config;
  let current: Scheduler = startScheduler(first);
  const all: Scheduler[] = [current];
  let queue: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const reloadOnce = async (): Promise<ReloadOutcome> => {
    if (stopped) return { reloaded: false, problems: ['the scheduler is stopping'] };
    let next: VeriteConfig;
    let armed: Scheduler;
    let kept: Map<number, PendingReportRetry>;
    let keptRuns: Map<number, PendingRunRetry>;
    try {
      next = await reread();
      if (stopped) return { reloaded: false, problems: ['the scheduler is stopping'] };
      // Armed before the running one lets go: a configuration refused here changes nothing. Both
      // armed for the moment in between, which no timer can fire in (this code does not wait),
      // and the old one fires nothing from then on.
      // A failed report send's or run's pending retry goes on when its entry or schedule does, unchanged.
      kept = keptReportRetries(current.reportRetries, next);
      keptRuns = keptRunRetries(current.runRetries, next);
      armed = startScheduler({ ...first, config: next, catchUp: false, reportRetries: [...kept.values()], runRetries: [...keptRuns.values()] });
    } catch (error) {
      return { reloaded: false, problems: error instanceof ConfigError ? error.problems : [error instanceof UsageError ? error.message : errorMessage(error)] };
    }
    void current.retire(new Set(kept.keys()), new Set(keptRuns.keys()));
    current = armed;
    config = next;
    all.push(armed);
    return { reloaded: true, config: next, entries: armed.entries };
  };

  return {
    get entries() {
      return current.entries;
    },
    get config() {
      return config;
    },
    get firings() {
      return all.reduce((n, s) => n + s.firings, 0);
    },
    reload() {
      const outcome = queue.then(reloadOnce);
      queue = outcome.catch(() => undefined);
      return outcome;
    },
    async stop(reason) {
      stopped = true;
      await queue;
      await Promise.all(all.map((s) => s.stop(reason)));
    },
  };
}
