import { subtrahends, type MetricDefinition } from '../metrics/definition.ts';
import { metricByName } from '../metrics/definitions/index.ts';

/** A row of a metrics table as read: numerics arrive as strings, counts as numbers. */
export type MetricRow = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

/**
 * The value of a metric over some rows of one table, by its definition: one row gives its
 * published column; over several rows an additive metric is summed and a derived one rebuilt
 * from its parts (a ratio from summed parts, never averaged — docs/metrics.md). A metric that
 * is neither (a distinct count over several rows) has no value: null.
 */
export function metricValue(name: string, rows: readonly MetricRow[]): number | null {
  const m = metricByName(name);
  if (!m) throw new Error(`no metric ${name} (metrics/definitions)`);
  return valueOf(m, rows);
}

function valueOf(m: MetricDefinition, rows: readonly MetricRow[]): number | null {
  if (rows.length === 0) return null;
  if (rows.length === 1 && m.column in rows[0]!) return num(rows[0]![m.column]);
  const d = m.derivation;
  if (d) {
    const part = (n: string) => valueOf(metricByName(n)!, rows);
    if (d.kind === 'difference') {
      const values = [d.minuend, ...subtrahends(d)].map(part);
      if (values.some((v) => v === null)) return null;
      const [first, ...rest] = values as number[];
      return rest.reduce((a, b) => a - b, first!);
    }
    const n = part(d.numerator);
    const q = part(d.denominator);
    if (n === null || q === null || q === 0) return null;
    return d.complement ? 1 - n / q : n / q;
  }
  if (!m.additive) return null;
  let sum = 0;
  for (const r of rows) sum += num(r[m.column]) ?? 0;
  return sum;
}

/** The relative change from `before` to `now`; null when either is missing or `before` is 0. */
export function relativeChange(now: number | null, before: number | null): number | null {
  if (now === null || before === null || before === 0) return null;
  return (now - before) / Math.abs(before);
}
