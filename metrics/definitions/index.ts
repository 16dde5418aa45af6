import type { CatalogEntry, DimensionDefinition, MetricDefinition, MetricTableName } from '../definition.ts';
import { derivationParts, METRIC_TABLES } from '../definition.ts';
import { clvMetrics } from './clv.ts';
import { customerMetrics } from './customers.ts';
import { dimensions } from './dimensions.ts';
import { fulfilmentMetrics } from './fulfilment.ts';
import { marketingMetrics } from './marketing.ts';
import { paymentMetrics } from './payments.ts';
import { reconciliationMetrics } from './reconciliation.ts';
import { productMetrics } from './products.ts';
import { profitMetrics } from './profit.ts';
import { salesMetrics } from './sales.ts';

/** Every published metric, area by area. */
export const metricDefinitions: readonly MetricDefinition[] = Object.freeze([
  ...salesMetrics,
  ...profitMetrics,
  ...productMetrics,
  ...customerMetrics,
  ...marketingMetrics,
  ...paymentMetrics,
  ...fulfilmentMetrics,
  ...reconciliationMetrics,
  ...clvMetrics,
]);

/** Every non-metric column (date, channel, cohort …). */
export const dimensionDefinitions: readonly DimensionDefinition[] = Object.freeze([...dimensions]);

/** Every column of the views: the dimensions, then the metrics (`metrics.catalog` holds the metrics only). */
export const catalogEntries: readonly CatalogEntry[] = Object.freeze([...dimensionDefinitions, ...metricDefinitions]);

const byName = new Map(metricDefinitions.map((m) => [m.name, m]));

/** The metric of that name, or undefined. */
export function metricByName(name: string): MetricDefinition | undefined {
  return byName.get(name);
}

/**
 * The entry (metric or dimension) published as `column` in `view`, or undefined. Names and
 * columns differ only where one column name means two things in two views (`customers`).
 */
export function entryForColumn(view: MetricTableName, column: string): CatalogEntry | undefined {
  return catalogEntries.find((e) => e.column === column && e.views.includes(view));
}

/**
 * Finds an entry by metric name, by `view.column`, or by a column name that means one thing
 * wherever it is published.
 */
export function findEntry(name: string): CatalogEntry | undefined {
  const metric = byName.get(name);
  if (metric) return metric;
  const dot = name.indexOf('.');
  if (dot > 0) {
    const view = name.slice(0, dot) as MetricTableName;
    return METRIC_TABLES.includes(view) ? entryForColumn(view, name.slice(dot + 1)) : undefined;
  }
  const matches = catalogEntries.filter((e) => e.name === name || e.column === name);
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * What is wrong with the definitions, all at once: duplicate names, a column that means two
 * things in one view, a derivation whose parts are not published next to it, a metric that is
 * not additive without saying why, a measure that rolls up against its metric's additivity.
 */
export function definitionProblems(entries: readonly CatalogEntry[] = catalogEntries): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) problems.push(`${e.name} is defined twice`);
    names.add(e.name);
    if (e.views.length === 0) problems.push(`${e.name} is published in no view`);
  }
  for (const view of METRIC_TABLES) {
    const columns = new Map<string, string>();
    for (const e of entries.filter((x) => x.views.includes(view))) {
      const other = columns.get(e.column);
      if (other) problems.push(`${view}.${e.column} is both ${other} and ${e.name}`);
      columns.set(e.column, e.name);
    }
  }
  const find = (name: string) => entries.find((e) => e.kind === 'metric' && e.name === name) as MetricDefinition | undefined;
  for (const m of entries) {
    if (m.kind !== 'metric') continue;
    if (!m.derivation && !m.additive && !m.whyNotAdditive) problems.push(`${m.name} is not additive: say why in whyNotAdditive`);
    if (m.additive && m.additiveAcross) problems.push(`${m.name} is additive over every row, yet has additiveAcross`);
    if (m.measure && m.derivation) problems.push(`${m.name} is derived, yet has a measure: a ratio or difference is computed from its parts`);
    if (m.measure?.rollUp === 'sum' && !m.additive) problems.push(`${m.name} is not additive, yet its measure is summed over days: say rollUp 'recount'`);
    if (m.measure?.rollUp === 'recount' && m.additive) problems.push(`${m.name} is additive, yet its measure is recounted over a period`);
    if (m.measure?.rollUp === 'last' && m.additive) problems.push(`${m.name} is additive, yet its measure is a snapshot taken on a period's last day`);
    if (!m.derivation) continue;
    for (const part of derivationParts(m.derivation)) {
      const p = find(part);
      if (!p) problems.push(`${m.name} is computed from ${part}, which is not a metric`);
      else for (const view of m.views) if (!p.views.includes(view)) problems.push(`${m.name} is published in ${view} without its part ${part}`);
    }
  }
  return problems;
}
