import type { BaseMeasure } from './measure.ts';
import type { StreamName } from '../catalog/catalog.ts';

/**
 * The shape of a metric definition: every KPI that verite publishes is one frozen object of
 * this type, written once (in `definitions/<area>.ts`). The metric tables, `metrics.catalog`,
 * `docs/metrics.md`, the run summary and the alerts all read these objects, so a formula
 * lives in exactly one place.
 */

/** The published tables of schema `metrics` (docs/metrics.md), `metrics.catalog` aside. */
export const METRIC_VIEWS = [
  'kpi_daily',
  'kpi_weekly',
  'kpi_monthly',
  'kpi_channel_daily',
  'customer_kpis',
  'cohort_monthly',
  'revenue_reconciliation_daily',
  'clv_summary',
  'product_daily',
  'inventory_daily',
] as const;
export type MetricViewName = (typeof METRIC_VIEWS)[number];

/**
 * Tables of schema `metrics` that keep a row per event instead of being rebuilt by the refresh
 * (one row per fit of the CLV models): their columns are metric definitions too, so the
 * catalogue and the column comments describe them.
 */
export const METRIC_LOGS = ['clv_model'] as const;
export type MetricLogName = (typeof METRIC_LOGS)[number];

/** Every table of schema `metrics` that publishes metrics (`metrics.catalog` aside). */
export const METRIC_TABLES = [...METRIC_VIEWS, ...METRIC_LOGS] as const;
export type MetricTableName = (typeof METRIC_TABLES)[number];

/** The three views with one row per day, ISO week and month, and the same columns. */
export const KPI_PERIOD_VIEWS = ['kpi_daily', 'kpi_weekly', 'kpi_monthly'] as const satisfies readonly MetricViewName[];

/** A stream a metric is computed from, as `source.stream` of the stream catalogue. */
export type SourceStream = StreamName;

export type MetricUnit = 'count' | 'currency' | 'ratio' | 'days';

export type MetricArea = 'sales' | 'profit' | 'customers' | 'marketing' | 'payments' | 'fulfilment' | 'reconciliation' | 'clv';

/** The SQL type of a published column. */
export type ColumnType = 'bigint' | 'numeric' | 'date' | 'text' | 'integer' | 'boolean' | 'timestamptz';

/**
 * How a metric is computed from other metrics of the same row. Only these two shapes exist:
 * a ratio is always rebuilt from its additive parts (so a BI tool computes it over any range as
 * SUM(numerator) / SUM(denominator)), never averaged.
 */
export type Derivation =
  /** `numerator / denominator` (`1 − numerator / denominator` with `complement`); NULL when the denominator is 0. */
  | { readonly kind: 'ratio'; readonly numerator: string; readonly denominator: string; readonly complement?: boolean }
  /**
   * `minuend − subtrahend`, or `minuend − a − b − …` for a list (a profit: sales less each of
   * its costs, every one a column of the row).
   */
  | { readonly kind: 'difference'; readonly minuend: string; readonly subtrahend: string | readonly string[] };

/** The metrics a difference takes off its minuend, in order. */
export function subtrahends(d: Extract<Derivation, { kind: 'difference' }>): readonly string[] {
  return typeof d.subtrahend === 'string' ? [d.subtrahend] : d.subtrahend;
}

/** The metrics a derivation is computed from: numerator and denominator, or minuend and subtrahends. */
export function derivationParts(d: Derivation): string[] {
  return d.kind === 'ratio' ? [d.numerator, d.denominator] : [d.minuend, ...subtrahends(d)];
}

/** One KPI. */
export interface MetricDefinition {
  readonly kind: 'metric';
  /** Unique name; `verite metrics describe NAME`. */
  readonly name: string;
  /** The column that publishes it (default: the name). */
  readonly column: string;
  readonly area: MetricArea;
  readonly label: string;
  /** What it means, in a sentence or two, including the choices made. */
  readonly description: string;
  /** The formula as written in docs/metrics.md. */
  readonly formula: string;
  readonly unit: MetricUnit;
  /** How a ratio is best shown (a rate as a percentage, MER and ROAS as a multiple). */
  readonly display?: 'percent' | 'multiple';
  /** The views that publish it. */
  readonly views: readonly MetricTableName[];
  /** The source streams it is computed from. */
  readonly sources: readonly SourceStream[];
  /**
   * Whether summing it over rows (days, channels) gives the value for their union. Ratios and
   * distinct counts are not additive; a period view recomputes them.
   */
  readonly additive: boolean;
  /**
   * For a metric that is not additive: why it cannot be summed over rows, and what to read
   * instead (required when it is not derived; a derived one defaults to its part's reason).
   * Shown by the docs, `verite metrics describe` and the alerts.
   */
  readonly whyNotAdditive?: string;
  /**
   * For a metric that is not additive over every row but is over some: which rows it may be
   * summed across (cohort_monthly's counts sum across cohorts at one months_since_first_order).
   */
  readonly additiveAcross?: string;
  /** Set when the metric is computed from other metrics of the same row. */
  readonly derivation?: Derivation;
  /**
   * Set for a base measure: its aggregate, the rows it reads and the date that places it on the
   * time axis. The time-grain tables (kpi_daily, kpi_weekly, kpi_monthly, kpi_channel_daily) are
   * generated from these; a metric without one is built by its table's own query.
   */
  readonly measure?: BaseMeasure;
  /** Ratio parts, repeated from `derivation` for readers (alerts, docs, BI). */
  readonly numerator?: string;
  readonly denominator?: string;
  readonly sqlType: ColumnType;
}

/** A column of a view that is not a metric (a date, a channel, a cohort). */
export interface DimensionDefinition {
  readonly kind: 'dimension';
  readonly name: string;
  readonly column: string;
  readonly label: string;
  readonly description: string;
  readonly views: readonly MetricTableName[];
  readonly sources: readonly SourceStream[];
  readonly sqlType: ColumnType;
}

export type CatalogEntry = MetricDefinition | DimensionDefinition;

type MetricInput = Omit<MetricDefinition, 'kind' | 'column' | 'numerator' | 'denominator' | 'sqlType' | 'additive' | 'area'> & {
  column?: string;
  sqlType?: ColumnType;
  /** Default: true for a metric that is not derived, false for a ratio. */
  additive?: boolean;
};

/**
 * Defines a metric of an area and freezes it. The SQL type follows the unit (a count is a
 * bigint, anything else numeric) unless given.
 *
 * @example
 * const aov = metric('sales', {
 *   name: 'aov', label: 'Average order value', unit: 'currency', formula: '`revenue / orders`',
 *   description: '…', views: ['kpi_daily'], sources: ['shopify.orders'],
 *   derivation: { kind: 'ratio', numerator: 'revenue', denominator: 'orders' },
 * });
 */
export function metric(area: MetricArea, input: MetricInput): MetricDefinition {
  const derivation = input.derivation ? Object.freeze({ ...input.derivation }) : undefined;
  const additive = input.additive ?? (derivation === undefined || derivation.kind === 'difference');
  return Object.freeze({
    kind: 'metric' as const,
    ...input,
    area,
    column: input.column ?? input.name,
    views: Object.freeze([...input.views]),
    sources: Object.freeze([...input.sources]),
    additive,
    derivation,
    ...(derivation?.kind === 'ratio' ? { numerator: derivation.numerator, denominator: derivation.denominator } : {}),
    sqlType: input.sqlType ?? (input.unit === 'count' ? 'bigint' : 'numeric'),
  });
}

/**
 * The base measure of a metric, for a table built by a query of its own that publishes the
 * same measure (cohort_monthly's orders and revenue), so its SQL is still written once.
 */
export function measureOf(m: MetricDefinition): BaseMeasure {
  if (!m.measure) throw new Error(`${m.name} has no base measure: it is derived or built by its own table's query`);
  return m.measure;
}

/** Defines a non-metric column and freezes it. */
export function dimension(input: Omit<DimensionDefinition, 'kind' | 'column'> & { column?: string }): DimensionDefinition {
  return Object.freeze({
    kind: 'dimension' as const,
    ...input,
    column: input.column ?? input.name,
    views: Object.freeze([...input.views]),
    sources: Object.freeze([...input.sources]),
  });
}
