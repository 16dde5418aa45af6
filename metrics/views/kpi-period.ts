import { timeGrainView } from '../time-grain.ts';

/**
 * The views with the columns of kpi_daily per ISO week (Monday first, labelled by its Monday)
 * or per month (labelled by its first day): each additive measure summed over the period's days,
 * the distinct counts (customers, orders shipped) recounted over the period, and every ratio
 * recomputed from those, never averaged. Each row says how many of its days kpi_daily covers and
 * whether the period is complete. Generated from the base measures (metrics/time-grain.ts).
 */

/** `metrics.kpi_weekly`: kpi_daily by ISO week. */
export const kpiWeekly = timeGrainView({
  name: 'kpi_weekly',
  grain: 'one row per ISO week (Monday first), dated by its Monday',
  period: 'week',
  by: [],
  rollsUpFrom: 'metrics.kpi_daily',
  indexes: [{ columns: ['date'], unique: true }],
});

/** `metrics.kpi_monthly`: kpi_daily by month. */
export const kpiMonthly = timeGrainView({
  name: 'kpi_monthly',
  grain: 'one row per calendar month, dated by its first day',
  period: 'month',
  by: [],
  rollsUpFrom: 'metrics.kpi_daily',
  indexes: [{ columns: ['date'], unique: true }],
});
