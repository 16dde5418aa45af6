import type { MetricDefinition } from '../metrics/definition.ts';
import { metricByName, metricDefinitions } from '../metrics/definitions/index.ts';
import { summable, whyNotSummable } from '../metrics/over-a-range.ts';

/**
 * How an alert reads a metric of `metrics.kpi_daily` over several days. docs/metrics.md publishes the
 * additive parts next to every ratio, so a ratio over a window is SUM(numerator) /
 * SUM(denominator), never an average of daily ratios. The parts come from the metric
 * definitions (`metrics/definitions/`), where every formula is written once.
 */
export type MetricParts =
  /** An additive column: its sum over the window. */
  | { kind: 'sum'; column: string }
  /** A ratio of two additive columns; `complement` gives 1 − ratio (abandonment rates). */
  | { kind: 'ratio'; numerator: string; denominator: string; complement?: boolean };

/** The built-in conditions that are not `kpi_daily` metrics. */
export const BUILT_IN_ALERT_METRICS = ['stream_freshness_hours', 'run_failed', 'records_set_aside'] as const;

const DAILY = 'kpi_daily';

/** The parts of a metric as sums of kpi_daily columns, or undefined when it has none. */
function partsOf(m: MetricDefinition): MetricParts | undefined {
  if (!m.views.includes(DAILY) || !summable(m)) return undefined;
  const d = m.derivation;
  // A difference of additive columns is published as a column and is additive itself.
  if (!d || d.kind === 'difference') return { kind: 'sum', column: m.column };
  // A part that is a column summed over days: a base measure, or a difference of them (gross_profit).
  const column = (name: string) => {
    const p = metricByName(name);
    return p && (!p.derivation || p.derivation.kind === 'difference') && p.views.includes(DAILY) && summable(p) ? p.column : undefined;
  };
  const numerator = column(d.numerator);
  const denominator = column(d.denominator);
  if (!numerator || !denominator) return undefined;
  return { kind: 'ratio', numerator, denominator, ...(d.complement ? { complement: true } : {}) };
}

/** Every metric an alert can watch over a window, by name. */
const ALERTABLE = new Map(
  metricDefinitions.flatMap((m) => {
    const parts = partsOf(m);
    return parts ? [[m.name, parts] as const] : [];
  }),
);

/** The parts of a `kpi_daily` metric an alert sums over its window, or why it cannot. */
export function metricParts(metric: string): MetricParts | { error: string } {
  const parts = ALERTABLE.get(metric);
  if (parts) return parts;
  const m = metricByName(metric);
  if (m?.views.includes(DAILY) && !summable(m)) return { error: `${metric} cannot be alerted on over a window: ${whyNotSummable(m)}` };
  return {
    error: `unknown alert metric ${metric} (expected ${BUILT_IN_ALERT_METRICS.join(', ')}, or a kpi_daily metric: ${[...ALERTABLE.keys()].sort().join(', ')})`,
  };
}
