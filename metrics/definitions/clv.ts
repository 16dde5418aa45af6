import { metric } from '../definition.ts';

/**
 * Predicted customer value: what the BG/NBD and Gamma-Gamma models, fitted on the shop's own
 * counted orders, expect customers to buy and spend (docs/metrics.md, "Predicted customer value";
 * docs/clv.md). `clv_summary` is rebuilt from the last fit's per-customer predictions;
 * `clv_model` keeps one row per fit.
 */

const ORDERS = ['shopify.orders', 'fx.rates'] as const;

/** Why a clv_model column is never summed over its rows. */
const ONE_FIT = "one fit's value: each row is a separate fit of the same shop's customers, never summed";

// customer_kpis: on the last as-of date, from the fit that published predictions as of that date.

export const predictedClv12mTotal = metric('clv', {
  name: 'predicted_clv_12m_total',
  label: 'Predicted 12-month value, all customers',
  description:
    "The sum over customers of their predicted_clv_12m (core.customer_predictions), on the last as-of date only, when the last published fit's calibration end is that date (NULL on " +
    'every other row, and until a fit is made): the numerator of predicted_clv_12m_avg.',
  formula: 'sum over customers of `predicted_clv_12m`, on the last as-of date',
  unit: 'currency',
  views: ['customer_kpis'],
  sources: [...ORDERS],
  additive: false,
  whyNotAdditive: "a snapshot as of the row's date, and the rows of customer_kpis overlap: read one row, never a sum of rows",
});

export const predictedClv12mAvg = metric('clv', {
  name: 'predicted_clv_12m_avg',
  label: 'Predicted 12-month value per customer',
  description:
    'What the average customer to date is predicted to spend over the next 12 months, discounted monthly (clv.monthlyDiscountRate), on the last as-of date; NULL elsewhere. ' +
    'Compare with historical_clv, what they have spent so far.',
  formula: 'mean over customers of `predicted_clv_12m`, on the last as-of date',
  unit: 'currency',
  views: ['customer_kpis'],
  sources: [...ORDERS],
  derivation: { kind: 'ratio', numerator: 'predicted_clv_12m_total', denominator: 'customers_to_date' },
});

// clv_summary: one row per first-order month × channel of the first order.

export const clvCustomers = metric('clv', {
  name: 'clv_customers',
  column: 'customers',
  label: 'Customers with a prediction',
  description: 'Customers of the last published fit whose first counted order is in the cohort month and came through the channel.',
  formula: 'customers of the last published fit whose first order is in the cohort month, through the channel',
  unit: 'count',
  views: ['clv_summary'],
  sources: [...ORDERS],
});

export const expectedPurchases365d = metric('clv', {
  name: 'expected_purchases_365d',
  label: 'Expected purchases in the next 365 days',
  description:
    "The sum over the row's customers of the purchases (purchase days) each is expected to make in the 365 days after the calibration end: " +
    'the BG/NBD conditional expectation, which already weighs in the chance that a customer is gone.',
  formula: 'sum of `expected_purchases_365d` of those customers (equation 10 of the BG/NBD paper, `t` = 365/7 weeks)',
  unit: 'count',
  sqlType: 'numeric',
  views: ['clv_summary'],
  sources: [...ORDERS],
});

export const predictedClv12m = metric('clv', {
  name: 'predicted_clv_12m',
  label: 'Predicted 12-month customer value',
  description:
    "The sum over the row's customers of what each is predicted to spend in the 12 months after the calibration end: expected purchases month by month times the " +
    'expected spend per purchase (Gamma-Gamma), month k discounted by (1 + clv.monthlyDiscountRate)^k. Revenue (total_price), before refunds, in the reporting currency.',
  formula:
    'sum over those customers of `predicted_clv_12m` = the sum over the next 12 months `k = 1..12` of (expected purchases by the end of month k − by the end of month k−1, ' +
    'months of 365/12 days) × `expected_spend` / (1 + `clv.monthlyDiscountRate`)^k',
  unit: 'currency',
  views: ['clv_summary'],
  sources: [...ORDERS],
});

export const expectedAliveCustomers = metric('clv', {
  name: 'expected_alive_customers',
  label: 'Customers expected to be still active',
  description: "The sum over the row's customers of their probability of being still alive (BG/NBD): how many of them the model expects still to buy. The numerator of avg_p_alive.",
  formula: 'sum of `p_alive` of those customers',
  unit: 'count',
  sqlType: 'numeric',
  views: ['clv_summary'],
  sources: [...ORDERS],
});

export const avgPAlive = metric('clv', {
  name: 'avg_p_alive',
  label: 'Average probability of being active',
  description: "The mean over the row's customers of their probability of being still alive at the calibration end (BG/NBD, the paper's equation 11).",
  formula: '`expected_alive_customers / customers`',
  unit: 'ratio',
  display: 'percent',
  views: ['clv_summary'],
  sources: [...ORDERS],
  derivation: { kind: 'ratio', numerator: 'expected_alive_customers', denominator: 'clv_customers' },
});

export const cohortAdSpend = metric('clv', {
  name: 'cohort_ad_spend',
  column: 'ad_spend',
  label: "Channel's ad spend in the cohort month",
  description:
    "Google Ads or Meta spend of the row's channel in the cohort month, converted: what it cost to bring these customers in (blended: the month's spend, whatever it bought). " +
    'NULL for a channel without spend (direct, organic, email …).',
  formula: "that channel's spend in that month; NULL for a channel without spend",
  unit: 'currency',
  views: ['clv_summary'],
  sources: ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
});

export const predictedLtvToCac = metric('clv', {
  name: 'predicted_ltv_to_cac',
  label: 'Predicted LTV to CAC',
  description:
    "The predicted 12-month value of the customers a paid channel brought in a month per unit of that month's spend on the channel: predicted CLV over CAC. NULL for a channel " +
    'without spend. Over several rows, sum predicted_clv_12m over the rows of paid channels only, or the unpaid ones inflate it.',
  formula:
    '`predicted_clv_12m / ad_spend` (the predicted 12-month value of the customers a paid channel brought in a month, per unit of its spend that month: predicted CLV over CAC)',
  unit: 'ratio',
  display: 'multiple',
  views: ['clv_summary'],
  sources: ['shopify.orders', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'predicted_clv_12m', denominator: 'cohort_ad_spend' },
});

// clv_model: one row per fit.

const fitMetric = (input: { name: string; column: string; label: string; description: string; formula: string; unit: 'count' | 'currency' | 'ratio'; sqlType?: 'numeric' | 'bigint' }) =>
  metric('clv', { ...input, views: ['clv_model'], sources: [...ORDERS], additive: false, whyNotAdditive: ONE_FIT });

export const fitCustomers = fitMetric({
  name: 'clv_fit_customers',
  column: 'customers',
  label: 'Customers in the fit',
  description: 'Customers whose first purchase day is on or before the calibration end: the customers the BG/NBD model was fitted on.',
  formula: 'customers whose first purchase day is on or before the calibration end',
  unit: 'count',
});

export const fitRepeatCustomers = fitMetric({
  name: 'clv_fit_repeat_customers',
  column: 'repeat_customers',
  label: 'Repeat customers in the fit',
  description: 'Of those, the customers with x > 0: two or more purchase days up to the calibration end (two orders on one day are one transaction).',
  formula: 'of those, customers with `x > 0`',
  unit: 'count',
});

/** A parameter has no unit of the catalogue's: 'ratio' stands for a plain number, and the description says what it measures. */
const parameter = (model: 'BG/NBD' | 'Gamma-Gamma', name: string, column: string, label: string, description: string, unit: 'ratio' | 'currency' = 'ratio') =>
  fitMetric({
    name,
    column,
    label,
    description,
    formula:
      model === 'BG/NBD'
        ? `the BG/NBD \`${column}\` that maximises the sum over customers of the log-likelihood of the paper (its equation 6)`
        : `the Gamma-Gamma \`${column}\` that maximises the likelihood of the customers with \`x > 0\` and \`m > 0\``,
    unit,
  });

export const bgNbdR = parameter('BG/NBD', 'bgnbd_r', 'r', 'BG/NBD r', 'Shape of the gamma distribution of purchase rates across customers (a plain number): the smaller, the more customers differ in how often they buy.');
export const bgNbdAlpha = parameter(
  'BG/NBD',
  'bgnbd_alpha',
  'alpha',
  'BG/NBD alpha',
  'Scale of that distribution, in weeks (a plain number of weeks, not a ratio): r/alpha is the mean purchase rate per week of a customer while active.',
);
export const bgNbdA = parameter('BG/NBD', 'bgnbd_a', 'a', 'BG/NBD a', 'First shape of the beta distribution of the drop-out probability after a purchase (a plain number): a/(a + b) is its mean.');
export const bgNbdB = parameter('BG/NBD', 'bgnbd_b', 'b', 'BG/NBD b', 'Second shape of the beta distribution of the drop-out probability (a plain number).');

export const bgNbdLogLikelihood = fitMetric({
  name: 'bgnbd_log_likelihood',
  column: 'bgnbd_log_likelihood',
  label: 'BG/NBD log-likelihood',
  description: 'The log-likelihood of every customer at the estimates: higher is a better fit of the same data; it does not compare across shops or calibration ends.',
  formula: 'the sum over customers of the log-likelihood of the paper (its equation 6) at the estimates',
  unit: 'ratio',
});

export const gammaGammaP = parameter('Gamma-Gamma', 'gamma_gamma_p', 'p', 'Gamma-Gamma p', "Shape of each transaction's value around the customer's own mean (a plain number).");
export const gammaGammaQ = parameter(
  'Gamma-Gamma',
  'gamma_gamma_q',
  'q',
  'Gamma-Gamma q',
  'Shape of the distribution of the customers\' mean spend (a plain number); the population mean spend p·gamma/(q − 1) exists only for q > 1.',
);
export const gammaGammaGamma = parameter(
  'Gamma-Gamma',
  'gamma_gamma_gamma',
  'gamma',
  'Gamma-Gamma gamma',
  'Scale of that distribution, in the reporting currency: p·gamma/(q − 1) is the mean spend per transaction across customers.',
  'currency',
);

export const gammaGammaLogLikelihood = fitMetric({
  name: 'gamma_gamma_log_likelihood',
  column: 'gamma_gamma_log_likelihood',
  label: 'Gamma-Gamma log-likelihood',
  description: 'The log-likelihood of the repeat customers\' mean transaction values at the estimates.',
  formula: 'the sum over the customers with `x > 0` and `m > 0` of the log-likelihood of their `m` at the estimates',
  unit: 'ratio',
});

export const holdoutActual = fitMetric({
  name: 'holdout_actual_repeat_transactions',
  column: 'holdout_actual_repeat_transactions',
  label: 'Hold-out: actual repeat transactions',
  description: 'With a hold-out end H (verite clv fit --holdout-end): the purchase days between the calibration end and H of the customers the model was fitted on. NULL without one.',
  formula: 'purchase days after `E` up to `H` of the customers whose first purchase day is ≤ `E`',
  unit: 'count',
  sqlType: 'bigint',
});

export const holdoutPredicted = fitMetric({
  name: 'holdout_predicted_repeat_transactions',
  column: 'holdout_predicted_repeat_transactions',
  label: 'Hold-out: predicted repeat transactions',
  description: 'What the model, fitted up to the calibration end, expected those customers to buy up to H: compare with the actual count. NULL without a hold-out.',
  formula: 'the sum of their conditional expectations for `t` = weeks from `E` to `H`',
  unit: 'count',
  sqlType: 'numeric',
});

export const holdoutCorrelation = fitMetric({
  name: 'holdout_correlation',
  column: 'holdout_correlation',
  label: 'Hold-out: correlation per customer',
  description: 'How well the model ranks customers: the Pearson correlation, over customers, of their actual hold-out purchase days with their predicted ones. NULL without a hold-out.',
  formula: 'Pearson, per customer, actual against predicted',
  unit: 'ratio',
});

/** Every predicted-CLV metric, in table order. */
export const clvMetrics = [
  predictedClv12mTotal,
  predictedClv12mAvg,
  clvCustomers,
  expectedPurchases365d,
  predictedClv12m,
  expectedAliveCustomers,
  avgPAlive,
  cohortAdSpend,
  predictedLtvToCac,
  fitCustomers,
  fitRepeatCustomers,
  bgNbdR,
  bgNbdAlpha,
  bgNbdA,
  bgNbdB,
  bgNbdLogLikelihood,
  gammaGammaP,
  gammaGammaQ,
  gammaGammaGamma,
  gammaGammaLogLikelihood,
  holdoutActual,
  holdoutPredicted,
  holdoutCorrelation,
];
