import type { PostLoadStep } from '../warehouse/post-load-step.ts';
import { refreshMetrics, type MetricsRefreshResult } from './refresh.ts';

/** What the run summary says of the tables: how many of each were rebuilt, by date or not at all. */
function howRefreshed(result: MetricsRefreshResult): string {
  if (result.fullRefreshReason !== undefined) return '';
  const count = (modes: string[]) => result.tables.filter((t) => modes.includes(t.mode)).length;
  return `; incremental: ${count(['incremental'])} by date, ${count(['refilled', 'created'])} in full, ${count(['unchanged'])} unchanged`;
}

/**
 * The metrics refresh as the step `verite run` takes after the transforms: the metric tables
 * brought up to date in one transaction (incrementally unless `full`), or none (the previous set
 * stays) with the failing table named. The refresh's warnings (shipments matched to no order,
 * left out of the fulfilment metrics; shipments without a shipped date, whose cost is in no
 * day's shipping_cost) follow the summary, so the run's output says them too, not only the log.
 */
export function metricsRefreshStep(options: { full?: boolean } = {}): PostLoadStep {
  return {
    name: 'metrics',
    // Full when the step is built so (postLoadSteps({ full })) or the run asks it (`verite run --full`).
    run: async (warehouse, config, log, progress, runOptions) => {
      const full = options.full === true || runOptions?.full === true;
      const result = await refreshMetrics(warehouse, config, log, { progress, ...(full ? { full: true } : {}), beforeCommit: runOptions?.beforeCommit });
      if (result.status === 'failed') return { status: 'failed', summary: result.error ?? 'failed', error: result };
      const daily = result.tables.find((t) => t.table === 'metrics.kpi_daily');
      const summary = `${result.tables.length} metric tables refreshed (kpi_daily: ${daily?.rows ?? 0} days${howRefreshed(result)})`;
      return { status: 'succeeded', summary: [summary, ...(result.warnings ?? [])].join('; ') };
    },
  };
}

/** The metrics step of every run: incremental (docs/scale.md, "Metric tables: only the changed dates and periods"). */
export const metricsStep: PostLoadStep = metricsRefreshStep();
