import { hypergeometric2F1, hypergeometricSeries, seriesTerms } from './hypergeometric.ts';
import type { HistoryGroups, PurchaseHistory } from './history-groups.ts';
import { minimize } from './bfgs.ts';
import { logGamma } from './gamma-function.ts';

/**
 * The BG/NBD model of Fader, Hardie & Lee, "Counting your customers the easy way: an
 * alternative to the Pareto/NBD model" (Marketing Science 24(2), 2005): while alive, a customer
 * buys as a Poisson process of rate λ ~ Gamma(r, α); after each purchase they drop out with
 * probability p ~ Beta(a, b). Time is in weeks.
 */
export interface BgNbdParameters {
  readonly r: number;
  readonly alpha: number;
  readonly a: number;
  readonly b: number;
}

/** ln(eᵘ + eᵛ) without overflow. */
function logSumExp(u: number, v: number): number {
  const high = Math.max(u, v);
  if (high === -Infinity) return -Infinity;
  return high + Math.log1p(Math.exp(Math.min(u, v) - high));
}

/**
 * The log-likelihood of one customer's history (the paper's equation 6), in logarithms
 * throughout: sums of ln Γ terms and a log-sum-exp of its two parts (alive at T, or dropped
 * out after the last purchase), never a Γ or a power on its own, so 200 purchases do not
 * overflow.
 */
export function bgNbdLogLikelihood(params: BgNbdParameters, history: PurchaseHistory): number {
  const { r, alpha, a, b } = params;
  const { x, tx, T } = history;
  const common = logGamma(r + x) - logGamma(r) + r * Math.log(alpha) + logGamma(a + b) + logGamma(b + x) - logGamma(b) - logGamma(a + b + x);
  const alive = -(r + x) * Math.log(alpha + T);
  if (x === 0) return common + alive;
  const dropped = Math.log(a) - Math.log(b + x - 1) - (r + x) * Math.log(alpha + tx);
  return common + logSumExp(alive, dropped);
}

/**
 * The index of each group's value among the distinct values of a column, so that a term of
 * one value (ln Γ of x, ln(α + T)) is computed once per evaluation, not once per group.
 */
function distinct(column: Float64Array): { values: Float64Array; index: Int32Array } {
  const at = new Map<number, number>();
  const values: number[] = [];
  const index = new Int32Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    let k = at.get(v);
    if (k === undefined) {
      k = values.length;
      at.set(v, k);
      values.push(v);
    }
    index[i] = k;
  }
  return { values: Float64Array.from(values), index };
}

/**
 * The log-likelihood of every customer, summed over the groups (each group's history once,
 * times its count), as a function of the parameters; given an array, it also writes there the
 * gradient with respect to (ln r, ln α, ln a, ln b). The terms that depend on x only, on T only
 * or on t_x only are computed once per distinct value, so a group costs one exponential and one
 * logarithm; the ln Γ differences of x are running sums of logarithms, the digamma differences
 * of the gradient running sums of reciprocals.
 *
 * With w the share of the likelihood of having dropped out after the last purchase (0 for
 * x = 0), the derivatives are, per customer:
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − (1−w) ln(α+T) − w ln(α+t_x)
 *   ∂/∂α = r/α − (r+x) ((1−w)/(α+T) + w/(α+t_x))
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x) + w/a
 *   ∂/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − w/(b+x−1)
 */
export function bgNbdTotalLogLikelihood(groups: HistoryGroups): (params: BgNbdParameters, gradient?: Float64Array) => number {
  const xs = distinct(groups.x);
  const Ts = distinct(groups.T);
  const txs = distinct(groups.tx);
  const [xValues, TValues, txValues] = [xs.values, Ts.values, txs.values];
  const [xIndex, TIndex, txIndex] = [xs.index, Ts.index, txs.index];
  const [gx, count, size] = [groups.x, groups.count, groups.size];
  const common = new Float64Array(xValues.length);
  const dropFactor = new Float64Array(xValues.length);
  const logAlphaT = new Float64Array(TValues.length);
  const logAlphaTx = new Float64Array(txValues.length);
  const invAlphaT = new Float64Array(TValues.length);
  const invAlphaTx = new Float64Array(txValues.length);
  // Customers per distinct x; the distinct x in increasing order, for the running sums below.
  const perX = new Float64Array(xValues.length);
  for (let i = 0; i < size; i++) perX[xIndex[i]!]! += count[i]!;
  const ascending = [...xValues.keys()].sort((i, j) => xValues[i]! - xValues[j]!);
  // Σ_{j<x} 1/(r+j), 1/(b+j), 1/(a+b+j): ψ(r+x) − ψ(r) and the like, per distinct x.
  const [psiR, psiB, psiAB] = [new Float64Array(xValues.length), new Float64Array(xValues.length), new Float64Array(xValues.length)];
  return ({ r, alpha, a, b }, gradient) => {
    // ln Γ(r+x) − ln Γ(r) = Σ_{j<x} ln(r + j), and so for b and a + b: running sums over j, exact
    // where differences of ln Γ of large arguments (a and b in the millions) would lose digits.
    const logA = Math.log(a);
    const logAlpha = Math.log(alpha);
    let [sumR, sumB, sumAB, invR, invB, invAB] = [0, 0, 0, 0, 0, 0];
    let j = 0;
    for (const k of ascending) {
      const x = xValues[k]!;
      for (; j < x; j++) {
        sumR += Math.log(r + j);
        sumB += Math.log(b + j);
        sumAB += Math.log(a + b + j);
        if (gradient) {
          invR += 1 / (r + j);
          invB += 1 / (b + j);
          invAB += 1 / (a + b + j);
        }
      }
      common[k] = r * logAlpha + sumR + sumB - sumAB;
      dropFactor[k] = x > 0 ? logA - Math.log(b + x - 1) : -Infinity;
      psiR[k] = invR;
      psiB[k] = invB;
      psiAB[k] = invAB;
    }
    for (let k = 0; k < TValues.length; k++) {
      logAlphaT[k] = Math.log(alpha + TValues[k]!);
      invAlphaT[k] = 1 / (alpha + TValues[k]!);
    }
    for (let k = 0; k < txValues.length; k++) {
      logAlphaTx[k] = Math.log(alpha + txValues[k]!);
      invAlphaTx[k] = 1 / (alpha + txValues[k]!);
    }
    let total = 0;
    // Σ count·w, Σ count·w/(b+x−1), Σ count·((1−w) ln(α+T) + w ln(α+t_x)), Σ count·(r+x)((1−w)/(α+T) + w/(α+t_x)).
    let sumW = 0;
    let sumWOverB = 0;
    let sumLog = 0;
    let sumInv = 0;
    for (let i = 0; i < size; i++) {
      const k = xIndex[i]!;
      const rx = r + gx[i]!;
      const tI = TIndex[i]!;
      const alive = -rx * logAlphaT[tI]!;
      let ll = alive;
      let w = 0;
      if (gx[i]! > 0) {
        // Both parts, as a log-sum-exp: the larger plus ln(1 + e^(smaller − larger)).
        const xI = txIndex[i]!;
        const dropped = dropFactor[k]! - rx * logAlphaTx[xI]!;
        if (alive > dropped) {
          const e = Math.exp(dropped - alive);
          ll = alive + Math.log(1 + e);
          w = e / (1 + e);
        } else {
          const e = Math.exp(alive - dropped);
          ll = dropped + Math.log(1 + e);
          w = 1 / (1 + e);
        }
        if (gradient) {
          const c = count[i]!;
          sumW += c * w;
          sumWOverB += (c * w) / (b + gx[i]! - 1);
          sumLog += c * (w * logAlphaTx[xI]! - w * logAlphaT[tI]!);
          sumInv += c * rx * (w * invAlphaTx[xI]! - w * invAlphaT[tI]!);
        }
      }
      if (gradient) {
        sumLog += count[i]! * logAlphaT[tI]!;
        sumInv += count[i]! * rx * invAlphaT[tI]!;
      }
      total += count[i]! * (common[k]! + ll);
    }
    if (gradient) {
      let dr = 0;
      let da = 0;
      let db = 0;
      for (let k = 0; k < xValues.length; k++) {
        const n = perX[k]!;
        dr += n * psiR[k]!;
        da -= n * psiAB[k]!;
        db += n * (psiB[k]! - psiAB[k]!);
      }
      const customers = perX.reduce((sum, v) => sum + v, 0);
      dr += customers * Math.log(alpha) - sumLog;
      const dAlpha = (customers * r) / alpha - sumInv;
      da += sumW / a;
      db -= sumWOverB;
      // With respect to the logarithms of the parameters: ∂/∂ln θ = θ ∂/∂θ.
      gradient[0] = r * dr;
      gradient[1] = alpha * dAlpha;
      gradient[2] = a * da;
      gradient[3] = b * db;
    }
    return total;
  };
}

export interface BgNbdFit {
  parameters: BgNbdParameters;
  /** The summed log-likelihood at the parameters. */
  logLikelihood: number;
  customers: number;
  converged: boolean;
  iterations: number;
  evaluations: number;
  /** Why the optimiser stopped short, when it did. */
  reason?: string;
}

/**
 * Maximum-likelihood estimates, found by BFGS on the logarithms of the four parameters (so they
 * stay positive without bounds) from r = α = a = b = 1, minimising the mean negative
 * log-likelihood per customer (so the tolerance does not depend on the shop's size).
 */
export function fitBgNbd(groups: HistoryGroups): BgNbdFit {
  let customers = 0;
  for (let i = 0; i < groups.size; i++) customers += groups.count[i]!;
  if (!(customers > 0)) throw new RangeError('fitting the BG/NBD model needs at least one customer');
  const total = bgNbdTotalLogLikelihood(groups);
  const toParams = (v: readonly number[]): BgNbdParameters => ({ r: Math.exp(v[0]!), alpha: Math.exp(v[1]!), a: Math.exp(v[2]!), b: Math.exp(v[3]!) });
  const gradient = new Float64Array(4);
  const result = minimize((v) => {
    const value = -total(toParams(v), gradient) / customers;
    return { value, gradient: Array.from(gradient, (g) => -g / customers) };
  }, [0, 0, 0, 0]);
  const parameters = toParams(result.x);
  return {
    parameters,
    logLikelihood: total(parameters),
    customers,
    converged: result.converged,
    iterations: result.iterations,
    evaluations: result.evaluations,
    ...(result.reason ? { reason: result.reason } : {}),
  };
}

/**
 * The probability that a customer with this history is still alive at T (the paper's
 * equation 11): 1 for a customer who never came back (the model lets a customer drop out only
 * after a purchase).
 */
export function probabilityAlive(params: BgNbdParameters, history: PurchaseHistory): number {
  const { r, alpha, a, b } = params;
  const { x, tx, T } = history;
  if (x === 0) return 1;
  const odds = Math.exp(Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx)));
  return 1 / (1 + odds);
}

/** Within this of a = 1 (or of a + b + x = 1), where the formula is 0/0, the two sides are averaged. */
const A_NEAR_ONE = 1e-6;
/** A power series needing more terms than this is left for the continuation to 1 − z. */
const DIRECT_TERMS = 20_000;

/**
 * E[Y(t) | x, t_x, T] without the probability of being alive: what a customer alive at T is
 * expected to buy in the next t weeks. The paper's equation 10 is this times P(alive):
 *
 *   (a + b + x − 1)/(a − 1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r + x, b + x; a + b + x − 1; z)],  z = t/(α+T+t).
 *
 * Euler's transformation (DLMF 15.8.1) writes the same product as
 * (1 − z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z), whose parameters do not grow with x. Which form
 * sums better depends on the customer and the fit: the paper's when a and b are large (a shop
 * whose drop-out probability hardly varies between customers), Euler's when x is large. The
 * power series of the form likely to need fewer terms is summed directly (then the other), its
 * size kept as a logarithm so that neither the series nor the power overflows; only when both
 * need more than 20,000 terms (z very near 1: a large t against a small α + T, and small a and
 * b) is the continuation to 1 − z of {@link hypergeometric2F1} used, on Euler's form.
 */
export function expectedPurchasesIfAlive(params: BgNbdParameters, x: number, T: number, t: number): number {
  const { r, alpha, a, b } = params;
  if (t === 0) return 0;
  // At a = 1, and at a + b + x − 1 = 0 (a pole of 2F1 that its factor cancels), the limit: the mean of the two sides.
  if (Math.abs(a - 1) < A_NEAR_ONE || Math.abs(a + b + x - 1) < A_NEAR_ONE) {
    return (expectedPurchasesIfAlive({ ...params, a: a - 2 * A_NEAR_ONE }, x, T, t) + expectedPurchasesIfAlive({ ...params, a: a + 2 * A_NEAR_ONE }, x, T, t)) / 2;
  }
  const z = t / (alpha + T + t);
  const logOneMinusZ = Math.log((alpha + T) / (alpha + T + t));
  const c = a + b + x - 1;
  const forms = [
    { p: r + x, q: b + x, power: r + x },
    { p: a + b - 1 - r, q: a - 1, power: a - 1 },
  ].map((f) => ({ ...f, terms: seriesTerms(f.p, f.q, c, z) }));
  // The estimate is pessimistic for a series that shrinks fast before its parameters are passed: try both, likelier first.
  forms.sort((u, v) => u.terms - v.terms);
  let product: number | undefined;
  for (const form of forms) {
    const f = hypergeometricSeries(form.p, form.q, c, z, DIRECT_TERMS);
    if (!f) continue;
    product = Math.sign(f.mantissa) * Math.exp(form.power * logOneMinusZ + f.logScale + Math.log(Math.abs(f.mantissa)));
    break;
  }
  product ??= Math.exp((a - 1) * logOneMinusZ) * hypergeometric2F1(a + b - 1 - r, a - 1, c, z);
  return (c / (a - 1)) * (1 - product);
}

/**
 * E[Y(t) | x, t_x, T]: the purchases (purchase days) a customer with this history is expected
 * to make in the next t weeks (the paper's equation 10).
 *
 * @example
 * // The paper's CDNOW estimates, a customer with 2 repeat purchases: about 1.226 in the next 39 weeks.
 * conditionalExpectedPurchases({ r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }, { x: 2, tx: 30.43, T: 38.86 }, 39);
 */
export function conditionalExpectedPurchases(params: BgNbdParameters, history: PurchaseHistory, t: number): number {
  return expectedPurchasesIfAlive(params, history.x, history.T, t) * probabilityAlive(params, history);
}
