import type { PostLoadStep } from '../warehouse/post-load-step.ts';
import { refreshMetrics } from './refresh.ts';

/**
 * The metrics refresh as the step `verite run` takes after the transforms: every metric table
 * rebuilt in one transaction, or none (the previous set stays) with the failing table named.
 * The refresh's warnings (shipments matched to no order, left out of the fulfilment metrics)
 * follow the summary, so the run's output says them too, not only the log.
 */
export const metricsStep: PostLoadStep = {
  name: 'metrics',
  run: async (warehouse, config, log, progress) => {
    const result = await refreshMetrics(warehouse, config, log, { progress });
    if (result.status === 'failed') return { status: 'failed', summary: result.error ?? 'failed', error: result };
    const daily = result.tables.find((t) => t.table === 'metrics.kpi_daily');
    const summary = `${result.tables.length} metric tables refreshed (kpi_daily: ${daily?.rows ?? 0} days)`;
    return { status: 'succeeded', summary: [summary, ...(result.warnings ?? [])].join('; ') };
  },
};
