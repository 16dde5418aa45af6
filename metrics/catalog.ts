import { sql, type RawBuilder } from 'kysely';
import type { CatalogEntry } from './definition.ts';
import { catalogEntries } from './definitions/index.ts';
import type { MetricsCatalogTable } from '../warehouse/tables/metrics.ts';

/** The columns of `metrics.catalog`, in order, with their SQL types. */
export const CATALOG_COLUMNS = [
  ['metric', 'text'],
  ['kind', 'text'],
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
] as const satisfies readonly (readonly [keyof MetricsCatalogTable, string])[];

/** One catalogue row per metric and per dimension, from the definitions. */
export function catalogRows(entries: readonly CatalogEntry[] = catalogEntries): MetricsCatalogTable[] {
  return entries.map((e, i) => ({
    metric: e.name,
    kind: e.kind,
    area: e.kind === 'metric' ? e.area : null,
    column_name: e.column,
    label: e.label,
    description: e.description,
    formula: e.kind === 'metric' ? e.formula : null,
    unit: e.kind === 'metric' ? e.unit : null,
    views: e.views.join(', '),
    sources: e.sources.join(', '),
    additive: e.kind === 'metric' ? e.additive : null,
    numerator: e.kind === 'metric' ? (e.numerator ?? null) : null,
    denominator: e.kind === 'metric' ? (e.denominator ?? null) : null,
    sql_type: e.sqlType,
    position: i + 1,
  }));
}

/**
 * The SELECT that builds `metrics.catalog`: the rows as literals (a CREATE TABLE AS takes no
 * parameters), each value escaped, each column cast to its type.
 */
export function catalogQuery(entries: readonly CatalogEntry[] = catalogEntries): RawBuilder<MetricsCatalogTable> {
  const rows = catalogRows(entries);
  const literal = (v: string | number | boolean | null) => (v === null ? sql`null` : sql.lit(v));
  const values = sql.join(rows.map((r) => sql`(${sql.join(CATALOG_COLUMNS.map(([c]) => literal(r[c])))})`));
  const columns = sql.join(CATALOG_COLUMNS.map(([c, type]) => sql`cast(v.${sql.id(c)} as ${sql.raw(type)}) as ${sql.id(c)}`));
  return sql<MetricsCatalogTable>`select ${columns} from (values ${values}) as v(${sql.join(CATALOG_COLUMNS.map(([c]) => sql.id(c)))})`;
}
