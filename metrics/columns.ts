import { sql, type RawBuilder } from 'kysely';
import { subtrahends, type CatalogEntry, type ColumnType, type MetricDefinition, type MetricTableName, type MetricViewName } from './definition.ts';
import { dimensionDefinitions, metricDefinitions } from './definitions/index.ts';
import type { MetricLog, MetricView } from './view.ts';

/** A metric table as {@link viewColumns} reads it: a view's dimensions and leading metrics, or a log's columns. */
export type ColumnsOf = (Pick<MetricView, 'dimensions' | 'leadingMetrics'> | Pick<MetricLog, 'columns'>) & { readonly name: MetricTableName };

/**
 * The columns of a metric table, in table order. A view's: its dimensions, its leading
 * metrics, then every other metric published in it, in definition order (the order its SELECT
 * is generated in). A log's: the columns it lists, as its migration made them; a metric
 * published in it that it does not list is an error, as is a column no definition describes.
 */
export function viewColumns(view: ColumnsOf, definitions: readonly MetricDefinition[] = metricDefinitions): CatalogEntry[] {
  if ('columns' in view) return logColumns(view, definitions);
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

function logColumns(log: Pick<MetricLog, 'columns'> & { readonly name: MetricTableName }, definitions: readonly MetricDefinition[]): CatalogEntry[] {
  const metrics = definitions.filter((m) => m.views.includes(log.name));
  const entries = log.columns.map((column): CatalogEntry => {
    const entry = dimensionDefinitions.find((d) => d.column === column && d.views.includes(log.name)) ?? metrics.find((m) => m.column === column);
    if (!entry) throw new Error(`table ${log.name} lists column ${column}, which no dimension or metric of metrics/definitions/ publishes in it`);
    return entry;
  });
  const unlisted = metrics.filter((m) => !log.columns.includes(m.column));
  if (unlisted.length) throw new Error(`table ${log.name} does not list the column of ${unlisted.map((m) => m.name).join(', ')}, published in it: add it where its migration puts it`);
  return entries;
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
