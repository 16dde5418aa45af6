import { describe, expect, it } from 'vitest';
import {
  bgNbdLogLikelihood,
  bgNbdTotalLogLikelihood,
  conditionalExpectedPurchases,
  expectedPurchasesIfAlive,
  fitBgNbd,
  probabilityAlive,
  type BgNbdParameters,
} from '../../metrics/clv/bg-nbd.ts';
import { discountedExpectedPurchases, predictGroups, predictedClv12m } from '../../metrics/clv/customer-value.ts';
import {
  conditionalExpectedSpend,
  fitGammaGamma,
  gammaGammaLogLikelihood,
  gammaGammaTotalLogLikelihood,
  populationMeanSpend,
  spendGroups,
} from '../../metrics/clv/gamma-gamma.ts';
import { logGamma } from '../../metrics/clv/gamma-function.ts';
import { groupHistories } from '../../metrics/clv/history-groups.ts';
import { simulateCustomers } from '../../metrics/clv/simulate.ts';
import { fitNotes } from '../../metrics/clv/fit.ts';
import { cdnowHistories } from './cdnow.ts';

/** Fader, Hardie & Lee (2005), the BG/NBD estimates on the CDNOW sample's 39-week calibration. */
const PUBLISHED: BgNbdParameters = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };

const within = (actual: number, expected: number, relative: number) =>
  expect(Math.abs(actual - expected) / Math.abs(expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(relative);

/** ln Σ of terms given as logarithms, by hand. */
const logOfSum = (...logs: number[]) => {
  const top = Math.max(...logs);
  return top + Math.log(logs.reduce((s, l) => s + Math.exp(l - top), 0));
};
/** Σ ln(v + k) for k = 0 … n − 1: ln Γ(v + n) − ln Γ(v), as a plain sum of logarithms. */
const logRising = (v: number, n: number) => Array.from({ length: n }, (_, k) => Math.log(v + k)).reduce((s, l) => s + l, 0);

describe('BG/NBD log-likelihood (the paper\'s equation 6)', () => {
  /** Equation 6 written out with rising products instead of ln Γ (x whole). */
  function byHand({ r, alpha, a, b }: BgNbdParameters, x: number, tx: number, T: number): number {
    // B(a, b + x)/B(a, b) = Γ(b + x) Γ(a + b) / (Γ(b) Γ(a + b + x)); Γ(r + x)/Γ(r) = r (r + 1) … (r + x − 1).
    const shared = logRising(b, x) - logRising(a + b, x) + logRising(r, x) + r * Math.log(alpha);
    const alive = shared - (r + x) * Math.log(alpha + T);
    if (x === 0) return alive;
    // B(a + 1, b + x − 1)/B(a, b) = the same × a/(b + x − 1).
    const dropped = shared + Math.log(a / (b + x - 1)) - (r + x) * Math.log(alpha + tx);
    return logOfSum(alive, dropped);
  }

  it('matches the equation written out by hand, for customers with 0 to 200 repeat purchases', () => {
    for (const [x, tx, T] of [[0, 0, 38.86], [1, 1.71, 38.86], [2, 30.43, 38.86], [7, 29.43, 35.71], [200, 38, 38.86]] as const) {
      within(bgNbdLogLikelihood(PUBLISHED, { x, tx, T }), byHand(PUBLISHED, x, tx, T), 1e-12);
    }
  });

  it('is finite for a customer with x = 200, where the raw formula overflows', () => {
    const ll = bgNbdLogLikelihood(PUBLISHED, { x: 200, tx: 38, T: 38.86 });
    expect(Number.isFinite(ll)).toBe(true);
    // What the log form avoids: (α + T)^(r + x) and Γ(r + x) are beyond the largest double.
    expect(Math.pow(PUBLISHED.alpha + 38.86, PUBLISHED.r + 200)).toBe(Infinity);
    expect(Math.exp(logGamma(PUBLISHED.r + 200))).toBe(Infinity);
  });

  it('sums over groups as over customers, and its gradient is the slope of the likelihood', () => {
    const customers = [
      { x: 0, tx: 0, T: 30 },
      { x: 0, tx: 0, T: 30 },
      { x: 3, tx: 20, T: 30 },
      { x: 1, tx: 5, T: 12 },
      { x: 3, tx: 20, T: 30 },
      { x: 12, tx: 11, T: 11.5 },
    ];
    const groups = groupHistories(customers);
    expect(groups.size).toBe(4);
    const total = bgNbdTotalLogLikelihood(groups);
    const params = { r: 0.4, alpha: 3, a: 1.7, b: 2.2 };
    within(total(params), customers.reduce((s, c) => s + bgNbdLogLikelihood(params, c), 0), 1e-13);
    const gradient = new Float64Array(4);
    total(params, gradient);
    const names = ['r', 'alpha', 'a', 'b'] as const;
    names.forEach((name, i) => {
      const h = 1e-6;
      const at = (f: number) => total({ ...params, [name]: params[name] * Math.exp(f) });
      within(gradient[i]!, (at(h) - at(-h)) / (2 * h), 1e-6);
    });
  });
});

describe('BG/NBD per customer', () => {
  it("expects about 1.226 purchases in the next 39 weeks from a customer with x = 2, t_x = 30.43, T = 38.86 (the paper's example)", () => {
    expect(conditionalExpectedPurchases(PUBLISHED, { x: 2, tx: 30.43, T: 38.86 }, 39)).toBeCloseTo(1.226, 3);
  });

  /**
   * Equation 10 without the hypergeometric function: alive at T, a customer with rate λ and
   * drop-out probability p buys (1 − e^(−λpt))/p in the next t weeks; their λ is then
   * Gamma(r + x, α + T) and p Beta(a, b + x), independently; λ integrates out to
   * ((α+T)/(α+T+pt))^(r+x), and p is integrated here numerically (Simpson, 20,000 steps, with
   * p = u^(1/a) so that the Beta density's p^(a−1) becomes constant).
   */
  function ifAliveByIntegration({ r, alpha, a, b }: BgNbdParameters, x: number, T: number, t: number): number {
    const logBeta = logGamma(a) + logGamma(b + x) - logGamma(a + b + x);
    const g = (u: number) => {
      const p = Math.pow(u, 1 / a);
      const bought = p === 0 ? ((r + x) * t) / (alpha + T) : (1 - Math.pow((alpha + T) / (alpha + T + p * t), r + x)) / p;
      return bought * Math.pow(1 - p, b + x - 1);
    };
    const n = 20_000;
    let sum = g(0) + g(1);
    for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * g(i / n);
    return (sum / (3 * n)) / (a * Math.exp(logBeta));
  }

  it('agrees with equation 10 integrated numerically, on both sides of the hypergeometric function\'s z = ½', () => {
    const cases = [
      [0, 38.86, 39], // z = 0.47: the power series
      [2, 38.86, 39],
      [0, 0, 52.14], // a customer who bought today, over a year: z = 0.92, the continuation to 1 − z
      [5, 3, 52.14],
      [50, 40, 200],
      [1, 10, 365 / 7 / 12], // a month
    ] as const;
    for (const [x, T, t] of cases) within(expectedPurchasesIfAlive(PUBLISHED, x, T, t), ifAliveByIntegration(PUBLISHED, x, T, t), 1e-7);
  });

  /**
   * The same integral for a ≥ 2 and b + x ≥ 2, where the Beta density vanishes at both ends:
   * Simpson over mean ± 14 standard deviations of p (all but 10⁻⁴⁰ of its mass).
   */
  function ifAliveByIntegrationAroundTheMean({ r, alpha, a, b }: BgNbdParameters, x: number, T: number, t: number): number {
    const B = b + x;
    const logBeta = logGamma(a) + logGamma(B) - logGamma(a + B);
    const mean = a / (a + B);
    const sd = Math.sqrt((a * B) / ((a + B) ** 2 * (a + B + 1)));
    const [lo, hi] = [Math.max(0, mean - 14 * sd), Math.min(1, mean + 14 * sd)];
    const f = (p: number) =>
      p <= 0 || p >= 1 ? 0 : ((1 - Math.pow((alpha + T) / (alpha + T + p * t), r + x)) / p) * Math.exp((a - 1) * Math.log(p) + (B - 1) * Math.log1p(-p) - logBeta);
    const n = 20_000;
    const h = (hi - lo) / n;
    let sum = f(lo) + f(hi);
    for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * f(lo + i * h);
    return (sum * h) / 3;
  }

  it('stays right when the drop-out probability hardly varies between customers (a and b large), with many purchases or none (the demo shop\'s fit)', () => {
    const cases = [
      [{ r: 0.3, alpha: 4.7, a: 30, b: 20 }, 50, 10, 52.14],
      [{ r: 0.3, alpha: 4.7, a: 100, b: 60 }, 5, 10, 52.14],
      [{ r: 0.24, alpha: 0.3, a: 500, b: 300 }, 0, 0, 200],
      [{ r: 2, alpha: 40, a: 3, b: 8 }, 400, 100, 13],
      [{ r: 0.3, alpha: 4.7, a: 1e4, b: 6e3 }, 300, 50, 52.14],
      [{ r: 0.23, alpha: 2.5, a: 7.4e6, b: 3.5e6 }, 3, 10, 52.14],
    ] as const;
    for (const [params, x, T, t] of cases) within(expectedPurchasesIfAlive(params, x, T, t), ifAliveByIntegrationAroundTheMean(params, x, T, t), 1e-6);
  });

  it('gives P(alive) = 1/(1 + a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x)) (equation 11), and 1 for x = 0', () => {
    const { r, alpha, a, b } = PUBLISHED;
    expect(probabilityAlive(PUBLISHED, { x: 0, tx: 0, T: 38.86 })).toBe(1);
    for (const [x, tx, T] of [[2, 30.43, 38.86], [1, 1.71, 38.86], [10, 5, 38]] as const) {
      within(probabilityAlive(PUBLISHED, { x, tx, T }), 1 / (1 + (a / (b + x - 1)) * Math.pow((alpha + T) / (alpha + tx), r + x)), 1e-12);
    }
    // Many purchases, then silence: nearly surely gone, without overflowing on the way.
    expect(probabilityAlive(PUBLISHED, { x: 200, tx: 1, T: 38.86 })).toBeLessThan(1e-100);
  });

  it('reproduces the published estimates on the CDNOW sample (r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4), each within 1%', () => {
    const fit = fitBgNbd(groupHistories(cdnowHistories('1997-09-30')));
    expect(fit.customers).toBe(2357);
    expect(fit.converged).toBe(true);
    within(fit.parameters.r, 0.243, 0.01);
    within(fit.parameters.alpha, 4.414, 0.01);
    within(fit.parameters.a, 0.793, 0.01);
    within(fit.parameters.b, 2.426, 0.01);
    within(fit.logLikelihood, -9582.4, 0.01);
    // Closer than 1%: the optimum of this data, to the published digits.
    expect(fit.logLikelihood).toBeCloseTo(-9582.4, 1);
  });

  it('recovers the parameters a population was drawn with (50,000 customers, purchase times exact)', () => {
    const truth = { r: 0.5, alpha: 6, a: 0.9, b: 3 };
    const customers = simulateCustomers({ customers: 50_000, bgNbd: truth, gammaGamma: { p: 6, q: 4, gamma: 15 }, acquisitionDays: 365, days: false, seed: 7 });
    const fit = fitBgNbd(groupHistories(customers));
    expect(fit.converged).toBe(true);
    // Sampling error with 50,000 customers is a few percent at most for these values.
    within(fit.parameters.r, truth.r, 0.05);
    within(fit.parameters.alpha, truth.alpha, 0.08);
    within(fit.parameters.a, truth.a, 0.1);
    within(fit.parameters.b, truth.b, 0.1);
  });
});

describe('Gamma-Gamma', () => {
  it('log-likelihood by hand: p = 2, q = 3, γ = 10, x = 2, m = 5 gives Γ(7)/(Γ(4)Γ(3)) · 10³ · 5³ · 2⁴ / 20⁷ = 0.09375', () => {
    // 720/(6 · 2) = 60; 60 · 1000 · 125 · 16 = 120,000,000; 20⁷ = 1,280,000,000.
    within(gammaGammaLogLikelihood({ p: 2, q: 3, gamma: 10 }, { x: 2, m: 5 }), Math.log(0.09375), 1e-13);
  });

  it('expects p(γ + mx)/(px + q − 1) per transaction: 2 · 20/6 for that customer, the population mean pγ/(q − 1) = 10 for x = 0', () => {
    const params = { p: 2, q: 3, gamma: 10 };
    within(conditionalExpectedSpend(params, { x: 2, m: 5 })!, 40 / 6, 1e-15);
    expect(conditionalExpectedSpend(params, { x: 0, m: 0 })).toBe(10);
    expect(populationMeanSpend({ p: 2, q: 0.8, gamma: 10 })).toBeNull();
  });

  it('has the gradient of its likelihood', () => {
    const groups = spendGroups({ x: [1, 2, 2, 7], m: [10, 15.5, 40, 12], count: [3, 1, 2, 1] });
    const total = gammaGammaTotalLogLikelihood(groups);
    const params = { p: 4, q: 2.5, gamma: 20 };
    const gradient = new Float64Array(3);
    total(params, gradient);
    (['p', 'q', 'gamma'] as const).forEach((name, i) => {
      const at = (f: number) => total({ ...params, [name]: params[name] * Math.exp(f) });
      within(gradient[i]!, (at(1e-6) - at(-1e-6)) / 2e-6, 1e-6);
    });
  });

  it('reproduces the published estimates on the CDNOW sample (p 6.25, q 3.74, γ 15.44), each within 1%', () => {
    const repeat = cdnowHistories('1997-09-30').filter((h) => h.x > 0);
    expect(repeat.length).toBe(946);
    const fit = fitGammaGamma(spendGroups({ x: repeat.map((h) => h.x), m: repeat.map((h) => h.m), count: repeat.map(() => 1) }));
    expect(fit.converged).toBe(true);
    within(fit.parameters.p, 6.25, 0.01);
    within(fit.parameters.q, 3.74, 0.01);
    within(fit.parameters.gamma, 15.44, 0.01);
  });
});

describe('predicted CLV over 12 months', () => {
  const history = { x: 2, tx: 30.43, T: 38.86 };

  it('without discounting is the expected spend times the purchases expected in 365 days (the months telescope)', () => {
    within(predictedClv12m(PUBLISHED, history, 20, 0)!, 20 * conditionalExpectedPurchases(PUBLISHED, history, 365 / 7), 1e-12);
  });

  it('discounts month k by (1 + d)^k, months of 365/12 days', () => {
    const monthEnd = (k: number) => conditionalExpectedPurchases(PUBLISHED, history, (k * 365) / 12 / 7);
    let byHand = 0;
    for (let k = 1; k <= 12; k++) byHand += (monthEnd(k) - monthEnd(k - 1)) / 1.01 ** k;
    within(discountedExpectedPurchases(PUBLISHED, history, 0.01), byHand, 1e-12);
    expect(predictedClv12m(PUBLISHED, history, null, 0.01)).toBeNull();
  });

  it('per group, as per customer', () => {
    const groups = groupHistories([history, { x: 0, tx: 0, T: 10 }, { x: 5, tx: 2, T: 10 }]);
    const out = predictGroups(PUBLISHED, groups, { monthlyDiscountRate: 0.01, holdoutWeeks: 39 });
    [history, { x: 0, tx: 0, T: 10 }, { x: 5, tx: 2, T: 10 }].forEach((h, i) => {
      within(out.pAlive[i]!, probabilityAlive(PUBLISHED, h), 1e-15);
      within(out.expectedPurchases90d[i]!, conditionalExpectedPurchases(PUBLISHED, h, 90 / 7), 1e-14);
      within(out.expectedPurchases365d[i]!, conditionalExpectedPurchases(PUBLISHED, h, 365 / 7), 1e-14);
      within(out.discountedPurchases12m[i]!, discountedExpectedPurchases(PUBLISHED, h, 0.01), 1e-14);
      within(out.expectedPurchasesHoldout![i]!, conditionalExpectedPurchases(PUBLISHED, h, 39), 1e-14);
    });
  });
});

describe('notes on a fit', () => {
  it('says when a and b grew without bound (one drop-out probability for all), and when the spend model has no finite mean', () => {
    expect(fitNotes(PUBLISHED, { p: 6.25, q: 3.74, gamma: 15.44 })).toEqual([]);
    // a/(a + b) = 7.4/10.9 = 0.679
    expect(fitNotes({ r: 0.23, alpha: 2.5, a: 7.4e6, b: 3.5e6 }, { p: 6.25, q: 0.8, gamma: 15.44 })).toEqual([
      'a and b grew without bound (a + b = 1.1e+7): customers drop out after a purchase with about the same probability, a/(a + b) = 0.679; only that ratio means something',
      'the Gamma-Gamma q is 0.800, at most 1: the spend model has no finite mean, so customers without a repeat purchase get no expected spend (NULL)',
    ]);
  });
});
