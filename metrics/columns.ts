import { sql, type RawBuilder } from 'kysely';
import { subtrahends, type CatalogEntry, type ColumnType, type MetricDefinition, type MetricTableName, type MetricViewName } from './definition.ts';
import { dimensionDefinitions, metricDefinitions } from './definitions/index.ts';
import type { MetricView } from './view.ts';

/**
 * The columns of a view, in table order: its dimensions, its leading metrics, then every
 * other metric published in it, in definition order.
 */
export function viewColumns(
  view: Pick<MetricView, 'dimensions' | 'leadingMetrics'> & { readonly name: MetricTableName },
  definitions: readonly MetricDefinition[] = metricDefinitions,
): CatalogEntry[] {
  const dims = view.dimensions.map((name) => {
    const d = dimensionDefinitions.find((x) => x.name === name && x.views.includes(view.name));
    if (!d) throw new Error(`view ${view.name} has dimension ${name}, which is not defined for it in metrics/definitions/dimensions.ts`);
    return d;
  });
  const metrics = definitions.filter((m) => m.views.includes(view.name));
  const leading = (view.leadingMetrics ?? []).map((name) => {
    const m = metrics.find((x) => x.name === name);
    if (!m) throw new Error(`view ${view.name} lists ${name} first, which is not published in it`);
    return m;
  });
  return [...dims, ...leading, ...metrics.filter((m) => !leading.includes(m))];
}

const SQL_TYPES: Record<ColumnType, RawBuilder<unknown>> = {
  bigint: sql`bigint`,
  numeric: sql`numeric`,
  date: sql`date`,
  text: sql`text`,
  integer: sql`integer`,
  boolean: sql`boolean`,
  timestamptz: sql`timestamptz`,
};

/**
 * The SQL of a metric in a view, over the base row `alias`: the base column itself, or its
 * derivation spelled out from its parts (recursively: `ltv_to_cac` is a ratio of two ratios).
 * A ratio is NULL when its denominator is 0 (or NULL); nothing is rounded.
 */
export function metricExpression(view: MetricViewName, metric: MetricDefinition, alias: string, definitions: readonly MetricDefinition[] = metricDefinitions): RawBuilder<unknown> {
  const d = metric.derivation;
  if (!d) return sql.ref(`${alias}.${metric.column}`);
  const part = (name: string) => {
    const p = definitions.find((m) => m.name === name);
    if (!p || !p.views.includes(view)) throw new Error(`${metric.name} needs ${name} in ${view}`);
    return metricExpression(view, p, alias, definitions);
  };
  if (d.kind === 'difference') return sql`(${sql.join([part(d.minuend), ...subtrahends(d).map(part)], sql` - `)})`;
  const ratio = sql`(${part(d.numerator)})::numeric / nullif((${part(d.denominator)})::numeric, 0)`;
  return d.complement ? sql`(1 - ${ratio})` : sql`(${ratio})`;
}

/** The SELECT list of the published table: every column cast to its declared SQL type. */
export function publishedSelection(
  view: Pick<MetricView, 'name' | 'dimensions' | 'leadingMetrics'>,
  alias: string,
  definitions: readonly MetricDefinition[] = metricDefinitions,
): RawBuilder<unknown> {
  const items = viewColumns(view, definitions).map((e) => {
    const value = e.kind === 'metric' ? metricExpression(view.name, e, alias, definitions) : sql.ref(`${alias}.${e.column}`);
    return sql`cast(${value} as ${SQL_TYPES[e.sqlType]}) as ${sql.id(e.column)}`;
  });
  return sql.join(items, sql`, `);
}
