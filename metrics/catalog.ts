import { sql, type RawBuilder } from 'kysely';
import type { MetricDefinition } from './definition.ts';
import { metricDefinitions } from './definitions/index.ts';
import { measureText } from './measure.ts';
import { computedFromRow } from './over-a-range.ts';
import type { MetricsCatalogTable } from '../warehouse/tables/metrics.ts';

/** The columns of `metrics.catalog`, in order, with their SQL types. */
const CATALOG_COLUMNS = [
  ['metric', 'text'],
  ['area', 'text'],
  ['column_name', 'text'],
  ['label', 'text'],
  ['description', 'text'],
  ['formula', 'text'],
  ['unit', 'text'],
  ['views', 'text'],
  ['sources', 'text'],
  ['additive', 'boolean'],
  ['numerator', 'text'],
  ['denominator', 'text'],
  ['sql_type', 'text'],
  ['position', 'integer'],
  ['computed_as', 'text'],
] as const satisfies readonly (readonly [keyof MetricsCatalogTable, string])[];


/**
 * One catalogue row per published metric, from the definitions (docs/metrics.md: "one row per
 * published metric"). Dimension columns (date, channel …) are not metrics: their meaning is in
 * each table's column comments and in docs/metrics.md. A ratio's numerator and denominator are
 * given as the columns of its row, so SUM(numerator) / SUM(denominator) can be written from them.
 */
function catalogRows(entries: readonly MetricDefinition[] = metricDefinitions): MetricsCatalogTable[] {
  /** The column that publishes a ratio part, next to the ratio in the same views. */
  const columnOf = (name: string | undefined) => (name === undefined ? null : (entries.find((m) => m.name === name)?.column ?? name));
  return entries.map((m, i) => ({
    metric: m.name,
    area: m.area,
    column_name: m.column,
    label: m.label,
    description: m.description,
    formula: m.formula,
    unit: m.unit,
    views: m.views.join(', '),
    sources: m.sources.join(', '),
    additive: m.additive,
    numerator: columnOf(m.numerator),
    denominator: columnOf(m.denominator),
    sql_type: m.sqlType,
    position: i + 1,
    computed_as: computedAs(m),
  }));
}

/**
 * How a metric is computed, as the catalogue and docs/metrics.md show it: the SQL of its base
 * measure, or its derivation from the other columns of its row; undefined for a column its
 * table builds with a query of its own (customer_kpis, cohort_monthly, the reconciliation, CLV).
 */
export function computedAs(m: MetricDefinition): string | null {
  if (m.measure) return measureText(m.measure);
  return computedFromRow(m) ?? null;
}

/**
 * The SELECT that builds `metrics.catalog`: the rows as literals (a CREATE TABLE AS takes no
 * parameters), each value escaped, each column cast to its type.
 */
export function catalogQuery(entries: readonly MetricDefinition[] = metricDefinitions): RawBuilder<MetricsCatalogTable> {
  const rows = catalogRows(entries);
  const literal = (v: string | number | boolean | null) => (v === null ? sql`null` : sql.lit(v));
  const values = sql.join(rows.map((r) => sql`(${sql.join(CATALOG_COLUMNS.map(([c]) => literal(r[c])))})`));
  const columns = sql.join(CATALOG_COLUMNS.map(([c, type]) => sql`cast(v.${sql.id(c)} as ${sql.raw(type)}) as ${sql.id(c)}`));
  return sql<MetricsCatalogTable>`select ${columns} from (values ${values}) as v(${sql.join(CATALOG_COLUMNS.map(([c]) => sql.id(c)))})`;
}
