import { expectedPurchasesIfAlive, probabilityAlive, type BgNbdParameters } from './bg-nbd.ts';
import type { HistoryGroups, PurchaseHistory } from './history-groups.ts';

/** The end of month k after the calibration end, in weeks, months of 365/12 days (docs/metrics.md: `predicted_clv_12m`); month 12 ends at exactly 365/7. */
function monthEnd(k: number): number {
  return (k * 365) / 12 / 7;
}

/**
 * The purchases expected in each of the next `months` months, each discounted by
 * (1 + monthlyDiscountRate)^k: Σₖ (E[Y(month k)] − E[Y(month k − 1)]) / (1 + d)^k. Times the
 * expected spend per purchase, it is docs/metrics.md's `predicted_clv_12m`.
 */
export function discountedExpectedPurchases(params: BgNbdParameters, history: PurchaseHistory, monthlyDiscountRate: number, months = 12): number {
  const alive = probabilityAlive(params, history);
  let total = 0;
  let previous = 0;
  for (let k = 1; k <= months; k++) {
    const expected = alive * expectedPurchasesIfAlive(params, history.x, history.T, monthEnd(k));
    total += (expected - previous) / Math.pow(1 + monthlyDiscountRate, k);
    previous = expected;
  }
  return total;
}

/**
 * The predicted value of a customer over the next 12 months (docs/metrics.md): discounted expected
 * purchases times the expected spend per purchase; null when the spend is (the spend model's
 * mean is infinite).
 */
export function predictedClv12m(params: BgNbdParameters, history: PurchaseHistory, expectedSpend: number | null, monthlyDiscountRate: number): number | null {
  return expectedSpend === null ? null : expectedSpend * discountedExpectedPurchases(params, history, monthlyDiscountRate);
}

/** What the model predicts for each group of customers with one history (columns in group order). */
export interface GroupPredictions {
  pAlive: Float64Array;
  expectedPurchases90d: Float64Array;
  expectedPurchases365d: Float64Array;
  /** Σ over the next 12 months of the month's expected purchases, discounted: times the expected spend, the predicted 12-month CLV. */
  discountedPurchases12m: Float64Array;
  /** E[Y(holdoutWeeks)], when a hold-out was asked for. */
  expectedPurchasesHoldout?: Float64Array;
}

/**
 * The predictions of every group. The expensive part, E[Y(t)] for a customer alive at T (a
 * hypergeometric function per horizon), depends on x and T only, so it is computed once per
 * (x, T) and scaled by each group's P(alive).
 */
export function predictGroups(params: BgNbdParameters, groups: HistoryGroups, options: { monthlyDiscountRate: number; holdoutWeeks?: number }): GroupPredictions {
  const horizons = [90 / 7, ...Array.from({ length: 12 }, (_, i) => monthEnd(i + 1)), ...(options.holdoutWeeks === undefined ? [] : [options.holdoutWeeks])];
  const discount = Array.from({ length: 12 }, (_, i) => Math.pow(1 + options.monthlyDiscountRate, -(i + 1)));
  const cache = new Map<string, Float64Array>();
  const out: GroupPredictions = {
    pAlive: new Float64Array(groups.size),
    expectedPurchases90d: new Float64Array(groups.size),
    expectedPurchases365d: new Float64Array(groups.size),
    discountedPurchases12m: new Float64Array(groups.size),
    ...(options.holdoutWeeks === undefined ? {} : { expectedPurchasesHoldout: new Float64Array(groups.size) }),
  };
  for (let i = 0; i < groups.size; i++) {
    const history = { x: groups.x[i]!, tx: groups.tx[i]!, T: groups.T[i]! };
    const key = `${history.x}|${history.T}`;
    let ifAlive = cache.get(key);
    if (!ifAlive) {
      ifAlive = Float64Array.from(horizons, (t) => expectedPurchasesIfAlive(params, history.x, history.T, t));
      cache.set(key, ifAlive);
    }
    const alive = probabilityAlive(params, history);
    out.pAlive[i] = alive;
    out.expectedPurchases90d[i] = alive * ifAlive[0]!;
    out.expectedPurchases365d[i] = alive * ifAlive[12]!;
    let total = 0;
    let previous = 0;
    for (let k = 1; k <= 12; k++) {
      const expected = alive * ifAlive[k]!;
      total += (expected - previous) * discount[k - 1]!;
      previous = expected;
    }
    out.discountedPurchases12m[i] = total;
    if (out.expectedPurchasesHoldout) out.expectedPurchasesHoldout[i] = alive * ifAlive[13]!;
  }
  return out;
}
