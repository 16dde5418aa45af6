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

/** An expression and what binds it loosest, so that it is bracketed where it stands inside another. */
interface Expression {
  text: string;
  /** `sum`: one SUM(…); `ratio`: a / b; `difference`: a − b (a complement, 1 − a / b, is one). */
  loosest: 'sum' | 'ratio' | 'difference';
}

/**
 * The SQL of a metric over several rows from its columns' sums (denominators guarded), bracketed
 * as its derivation nests: `SUM(revenue) − SUM(refunds) − (SUM(tax) − SUM(refunded_tax))`,
 * `(SUM(product_sales) − SUM(cogs)) / NULLIF(SUM(product_sales), 0)`.
 */
function sumExpression(m: MetricDefinition): Expression {
  const d = m.derivation;
  if (!d) return { text: `SUM(${m.column})`, loosest: 'sum' };
  const inner = (name: string) => sumExpression(part(name));
  const bracketed = (e: Expression) => (e.loosest === 'difference' ? `(${e.text})` : e.text);
  if (d.kind === 'difference') {
    // The first term stands as it is (a − b − c reads left to right); a difference taken away is bracketed.
    const [first, ...rest] = [d.minuend, ...subtrahends(d)].map(inner);
    return { text: [first!.text, ...rest.map(bracketed)].join(' − '), loosest: 'difference' };
  }
  const ratio = `${bracketed(inner(d.numerator))} / NULLIF(${inner(d.denominator).text}, 0)`;
  return d.complement ? { text: `1 − ${ratio}`, loosest: 'difference' } : { text: ratio, loosest: 'ratio' };
}

/**
 * How to compute the metric over a range of rows, e.g. `SUM(revenue) / NULLIF(SUM(orders), 0)`,
 * `across cohorts at one months_since_first_order: …`, or `not summed: …` with the reason.
 */
export function overARange(m: MetricDefinition): string {
  if (summable(m)) return sumExpression(m).text;
  const across = summableAcross(m);
  if (across) return `across ${across}: ${sumExpression(m).text}`;
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
