import { derivationParts, subtrahends, type MetricDefinition } from './definition.ts';
import { metricByName } from './definitions/index.ts';

/**
 * How a metric is read over several rows (a month of days, several channels, several cohorts),
 * in the columns a reader actually sees: the one wording that `docs/metrics.md`, `verite
 * metrics describe` and the alerts share.
 */

function part(name: string): MetricDefinition {
  const p = metricByName(name);
  if (!p) throw new Error(`${name} is not a metric`);
  return p;
}

function parts(m: MetricDefinition): MetricDefinition[] {
  const d = m.derivation;
  return d ? derivationParts(d).map(part) : [];
}

/** Whether a metric over several rows of any kind is computed from the sums of its columns. */
export function summable(m: MetricDefinition): boolean {
  // A base measure says how it rolls up over days; the definitions check that this agrees with `additive`.
  if (!m.derivation) return m.measure ? m.measure.rollUp === 'sum' : m.additive;
  return m.additive || parts(m).every(summable);
}

/** The rows a metric may be summed across when it is not summable over every row, if any. */
function summableAcross(m: MetricDefinition): string | undefined {
  if (!m.derivation) return m.additiveAcross;
  const across = new Set(parts(m).filter((p) => !summable(p)).map(summableAcross));
  const [only] = [...across];
  return across.size === 1 && only !== undefined ? only : undefined;
}

/** Why a metric cannot be summed over rows: its own reason, else that of its first part that cannot. */
export function whyNotSummable(m: MetricDefinition): string {
  if (m.whyNotAdditive) return m.whyNotAdditive;
  const p = parts(m).find((x) => !summable(x));
  return p ? whyNotSummable(p) : 'it is not additive';
}

/** The SQL of a metric over several rows from its columns' sums (denominators guarded). */
function sumExpression(m: MetricDefinition): string {
  const d = m.derivation;
  if (!d) return `SUM(${m.column})`;
  if (d.kind === 'difference') return [d.minuend, ...subtrahends(d)].map((p) => sumExpression(part(p))).join(' − ');
  const ratio = `${sumExpression(part(d.numerator))} / NULLIF(${sumExpression(part(d.denominator))}, 0)`;
  return d.complement ? `1 − ${ratio}` : ratio;
}

/**
 * How to compute the metric over a range of rows, e.g. `SUM(revenue) / NULLIF(SUM(orders), 0)`,
 * `across cohorts at one months_since_first_order: …`, or `not summed: …` with the reason.
 */
export function overARange(m: MetricDefinition): string {
  if (summable(m)) return sumExpression(m);
  const across = summableAcross(m);
  if (across) return `across ${across}: ${sumExpression(m)}`;
  return `not summed: ${whyNotSummable(m)}`;
}

/**
 * How a derived metric is computed from the other columns of its row, in column names
 * (`churned_customers / customers`), or undefined for a column that is not derived.
 */
export function computedFromRow(m: MetricDefinition): string | undefined {
  const d = m.derivation;
  if (!d) return undefined;
  const col = (name: string) => part(name).column;
  if (d.kind === 'difference') return [d.minuend, ...subtrahends(d)].map(col).join(' − ');
  const ratio = `${col(d.numerator)} / ${col(d.denominator)}`;
  return `${d.complement ? `1 − ${ratio}` : ratio} (NULL when ${col(d.denominator)} is 0)`;
}
