import type { MetricLog } from '../view.ts';

/**
 * `metrics.clv_model`: one row per fit of the CLV models, written by the fit (`verite clv fit`,
 * or a run whose orders changed) and kept, so the estimates and their hold-out checks can be
 * followed over time. Created by a migration; the refresh only describes its columns.
 */
export const clvModel: MetricLog = Object.freeze({
  name: 'clv_model',
  grain: 'one row per fit of the predicted-CLV models (BG/NBD and Gamma-Gamma), kept: the estimates, their log-likelihoods and the hold-out check',
  // As migration 0011 creates the table: the hold-out check and the checksum come last.
  columns: [
    'date', 'fitted_at', 'calibration_end', 'customers', 'repeat_customers',
    'r', 'alpha', 'a', 'b', 'bgnbd_log_likelihood', 'p', 'q', 'gamma', 'gamma_gamma_log_likelihood',
    'holdout_end', 'holdout_actual_repeat_transactions', 'holdout_predicted_repeat_transactions', 'holdout_correlation',
    'orders_checksum',
  ],
});
