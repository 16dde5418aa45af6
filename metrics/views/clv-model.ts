import type { MetricLog } from '../view.ts';

/**
 * `metrics.clv_model`: one row per fit of the CLV models, written by the fit (`verite clv fit`,
 * or a run whose orders changed) and kept, so the estimates and their hold-out checks can be
 * followed over time. Created by a migration; the refresh only describes its columns.
 */
export const clvModel: MetricLog = Object.freeze({
  name: 'clv_model',
  grain: 'one row per fit of the predicted-CLV models (BG/NBD and Gamma-Gamma), kept: the estimates, their log-likelihoods and the hold-out check',
  dimensions: ['date', 'fitted_at', 'calibration_end', 'holdout_end', 'orders_checksum'],
  leadingMetrics: ['clv_fit_customers', 'clv_fit_repeat_customers'],
});
