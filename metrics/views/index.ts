import type { MetricLog, MetricView } from '../view.ts';
import { clvModel } from './clv-model.ts';
import { clvSummary } from './clv-summary.ts';
import { cohortMonthly } from './cohort-monthly.ts';
import { customerKpis } from './customer-kpis.ts';
import { kpiChannelDaily } from './kpi-channel-daily.ts';
import { kpiDaily } from './kpi-daily.ts';
import { kpiMonthly, kpiWeekly } from './kpi-period.ts';
import { revenueReconciliationDaily } from './revenue-reconciliation-daily.ts';
import { productDaily } from './product-daily.ts';
import { inventoryDaily } from './inventory-daily.ts';

/** Every published view, each after the views it reads. */
export const metricViews: readonly MetricView[] = Object.freeze([
  kpiDaily,
  kpiWeekly,
  kpiMonthly,
  kpiChannelDaily,
  customerKpis,
  cohortMonthly,
  revenueReconciliationDaily,
  clvSummary,
  productDaily,
  inventoryDaily,
]);

/** The tables of schema `metrics` that keep a row per event, written outside the refresh. */
export const metricLogs: readonly MetricLog[] = Object.freeze([clvModel]);

export { kpiDaily, kpiWeekly, kpiMonthly, kpiChannelDaily, customerKpis, cohortMonthly, revenueReconciliationDaily, clvSummary, clvModel, productDaily, inventoryDaily };
