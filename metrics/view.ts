import { sql, type Compilable, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';
import type { Completeness } from './data-status.ts';
import type { MetricDefinition, MetricLogName, MetricViewName } from './definition.ts';
import { metricDefinitions } from './definitions/index.ts';

/** What the view builders are given: the reporting conventions of the config, and what bounds the last complete day. */
export interface MetricsContext {
  reportingTimezone: string;
  reportingCurrency: string;
  churnAfterDays: number;
  /** For `is_complete` (see `lastCompleteDay` in data-status.ts). */
  completeness: Completeness;
  /** The metrics published (every definition, unless a caller gives its own): the time-grain tables are generated from their measures. */
  definitions: readonly MetricDefinition[];
  /**
   * An incremental refresh (docs/scale.md, "Metric tables: only the changed dates and periods"):
   * build only the rows of these dates, reading only the source rows of these dates (the filter
   * is applied before aggregating, so the rest of the history is not scanned).
   */
  only?: DateRestriction;
}

/**
 * The dates a view is rebuilt for: a table (a temporary one, of the refresh) with a `date`
 * column. A day table builds its rows of these dates; a week or month table is given every day
 * of the periods it rebuilds. `first` and `last` bound a table with a row for every day
 * (kpi_daily): its days from `first` to `last` only (null: no row at all).
 */
export interface DateRestriction {
  table: string;
  first?: string | null;
  last?: string | null;
}

/** `column in (the restriction's dates)`, or true when the view is built in full. */
export function onlyDates(ctx: Pick<MetricsContext, 'only'>, column: RawBuilder<unknown> | Expression<unknown>): RawBuilder<boolean> {
  return ctx.only ? sql<boolean>`${column} in (select date from ${sql.table(ctx.only.table)})` : sql<boolean>`true`;
}

export function metricsContext(config: VeriteConfig, completeness: Completeness, definitions: readonly MetricDefinition[] = metricDefinitions): MetricsContext {
  return { reportingTimezone: config.reportingTimezone, reportingCurrency: config.reportingCurrency, churnAfterDays: config.churnAfterDays, completeness, definitions };
}

/**
 * One published table of schema `metrics`. `build` returns a SELECT of the view's dimension
 * columns and of every metric published in it that is not derived (the sums and counts); the
 * refresh adds the derived metrics (ratios, differences) from their definitions, so a
 * formula is never written twice.
 */
export interface MetricView {
  readonly name: MetricViewName;
  /** What one row is. */
  readonly grain: string;
  /** The dimension columns, first in the table, in this order. */
  readonly dimensions: readonly string[];
  /** Metrics to list first, in this order (the others follow in definition order). */
  readonly leadingMetrics?: readonly string[];
  /** Indexes to build; the first unique one states the grain. */
  readonly indexes: readonly { readonly columns: readonly string[]; readonly unique?: boolean }[];
  build(db: Kysely<Database>, ctx: MetricsContext): Expression<unknown> & Compilable;
  /**
   * A table with a row for every day between its first and last day with data (kpi_daily): the
   * distinct dates on which its sources have rows, restricted by `ctx.only` when given. The
   * incremental refresh reads it to know where the table now starts and ends.
   */
  dataDates?(db: Kysely<Database>, ctx: MetricsContext): RawBuilder<{ date: string }>;
}

/** Freezes a view definition. */
export function defineView(view: MetricView): MetricView {
  return Object.freeze(view);
}

/**
 * A table of schema `metrics` that keeps a row per event (one per CLV fit) instead of being
 * rebuilt: what it is, and its columns. The refresh writes its column comments from the
 * definitions, as for the views.
 */
export interface MetricLog {
  readonly name: MetricLogName;
  readonly grain: string;
  /**
   * Every column, dimensions and metrics alike, in the order of the table its migrations made
   * (a migration, not a SELECT of the definitions, creates it): `verite metrics list --view`
   * and docs/metrics.md list them so.
   */
  readonly columns: readonly string[];
}
