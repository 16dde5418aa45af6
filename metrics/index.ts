/**
 * The metrics layer: metric definitions written once, the tables of schema `metrics` built from
 * them, the catalogue, the run summary and the read-only BI role.
 */
export {
  METRIC_VIEWS,
  METRIC_LOGS,
  METRIC_TABLES,
  KPI_PERIOD_VIEWS,
  metric,
  dimension,
  type MetricDefinition,
  type DimensionDefinition,
  type CatalogEntry,
  type MetricViewName,
  type MetricTableName,
  type MetricUnit,
  type MetricArea,
  type SourceStream,
  type Derivation,
} from './definition.ts';
export { metricDefinitions, dimensionDefinitions, catalogEntries, metricByName, findEntry, entryForColumn, definitionProblems } from './definitions/index.ts';
export { metricViews, metricLogs } from './views/index.ts';
export { viewColumns, metricExpression } from './columns.ts';
export { overARange, computedFromRow, summable, whyNotSummable } from './over-a-range.ts';
export { refreshMetrics, unmatchedShipmentsWarning, type MetricsRefreshResult, type TableRefresh } from './refresh.ts';
export { metricsStep } from './step.ts';
export { headlineSummary, formatRunSummary, runSummaryText, HEADLINE_METRICS, type RunSummary } from './summary.ts';
export { grantBiRole, BiRoleWritableError, type BiGrantOptions, type BiGrantResult } from './bi-role.ts';
export { renderMetricsDoc } from './generate-docs.ts';
export type { MetricView, MetricLog, MetricsContext } from './view.ts';
