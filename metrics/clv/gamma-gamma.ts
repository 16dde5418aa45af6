import { minimize } from './bfgs.ts';
import { digamma, logGamma } from './gamma-function.ts';

/**
 * The Gamma-Gamma model of spend of Fader, Hardie & Lee, "RFM and CLV: using iso-value curves
 * for customer base analysis" (Journal of Marketing Research 42(4), 2005), as in Fader &
 * Hardie's note "The Gamma-Gamma model of monetary value" (2013): a customer's transaction
 * values are Gamma(p, ν) around their own mean p/ν, and ν ~ Gamma(q, γ) across customers. It is
 * fitted on the mean repeat transaction value `m` of customers with `x` > 0 repeat transactions.
 */
export interface GammaGammaParameters {
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

/** A repeat customer's spend: x repeat transactions of mean value m. */
export interface SpendHistory {
  readonly x: number;
  readonly m: number;
}

/** Repeat customers with the same (x, m), each once with how many share it: columns, like {@link HistoryGroups}. */
export interface SpendGroups {
  readonly size: number;
  readonly x: Float64Array;
  readonly m: Float64Array;
  readonly count: Float64Array;
}

/** Groups from columns (the warehouse groups them), checked: x ≥ 1 whole, m > 0. */
export function spendGroups(columns: { x: ArrayLike<number>; m: ArrayLike<number>; count: ArrayLike<number> }): SpendGroups {
  const size = columns.x.length;
  if (columns.m.length !== size || columns.count.length !== size) throw new RangeError('spend columns of different lengths');
  const groups = { size, x: Float64Array.from(columns.x), m: Float64Array.from(columns.m), count: Float64Array.from(columns.count) };
  for (let i = 0; i < size; i++) {
    const [x, m] = [groups.x[i]!, groups.m[i]!];
    if (!(Number.isInteger(x) && x >= 1 && m > 0 && Number.isFinite(m))) throw new RangeError(`not a repeat customer's spend: x ${x}, m ${m} (expected a whole x ≥ 1 and m > 0)`);
  }
  return groups;
}

/**
 * The log-density of a repeat customer's mean transaction value m given x:
 * ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + mx).
 */
export function gammaGammaLogLikelihood(params: GammaGammaParameters, spend: SpendHistory): number {
  const { p, q, gamma } = params;
  const { x, m } = spend;
  const px = p * x;
  return logGamma(px + q) - logGamma(px) - logGamma(q) + q * Math.log(gamma) + (px - 1) * Math.log(m) + px * Math.log(x) - (px + q) * Math.log(gamma + m * x);
}

/**
 * The log-likelihood summed over the groups, as a function of the parameters; given an array,
 * it also writes there the gradient with respect to (ln p, ln q, ln γ). Per customer:
 *   ∂/∂p = x (ψ(px+q) − ψ(px) + ln m + ln x − ln(γ + mx))
 *   ∂/∂q = ψ(px+q) − ψ(q) + ln γ − ln(γ + mx)
 *   ∂/∂γ = q/γ − (px+q)/(γ + mx)
 */
export function gammaGammaTotalLogLikelihood(groups: SpendGroups): (params: GammaGammaParameters, gradient?: Float64Array) => number {
  const [gx, gm, count, size] = [groups.x, groups.m, groups.count, groups.size];
  const logM = gm.map(Math.log);
  const xs = [...new Set(gx)];
  const xIndex = new Map(xs.map((x, k) => [x, k]));
  const index = Int32Array.from(gx, (x) => xIndex.get(x)!);
  const perX = new Float64Array(xs.length);
  const dpPerX = new Float64Array(xs.length);
  const dqPerX = new Float64Array(xs.length);
  const customersPerX = new Float64Array(xs.length);
  for (let i = 0; i < size; i++) customersPerX[index[i]!]! += count[i]!;
  return ({ p, q, gamma }, gradient) => {
    const base = -logGamma(q) + q * Math.log(gamma);
    const psiQ = digamma(q);
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k]!;
      const px = p * x;
      perX[k] = base + logGamma(px + q) - logGamma(px) + px * Math.log(x);
      if (gradient) {
        const psiPXQ = digamma(px + q);
        dpPerX[k] = x * (psiPXQ - digamma(px) + Math.log(x));
        dqPerX[k] = psiPXQ - psiQ;
      }
    }
    let total = 0;
    // Σ count·x (ln m − ln(γ+mx)), Σ count·ln(γ+mx), Σ count·(px+q)/(γ+mx).
    let sumXLog = 0;
    let sumLog = 0;
    let sumInv = 0;
    for (let i = 0; i < size; i++) {
      const x = gx[i]!;
      const px = p * x;
      const c = count[i]!;
      const inner = gamma + gm[i]! * x;
      const logInner = Math.log(inner);
      total += c * (perX[index[i]!]! + (px - 1) * logM[i]! - (px + q) * logInner);
      if (gradient) {
        sumXLog += c * x * (logM[i]! - logInner);
        sumLog += c * logInner;
        sumInv += (c * (px + q)) / inner;
      }
    }
    if (gradient) {
      let dp = sumXLog;
      let dq = -sumLog;
      let customers = 0;
      for (let k = 0; k < xs.length; k++) {
        dp += customersPerX[k]! * dpPerX[k]!;
        dq += customersPerX[k]! * dqPerX[k]!;
        customers += customersPerX[k]!;
      }
      dq += customers * Math.log(gamma);
      const dGamma = (customers * q) / gamma - sumInv;
      gradient[0] = p * dp;
      gradient[1] = q * dq;
      gradient[2] = gamma * dGamma;
    }
    return total;
  };
}

export interface GammaGammaFit {
  parameters: GammaGammaParameters;
  logLikelihood: number;
  customers: number;
  converged: boolean;
  iterations: number;
  evaluations: number;
  /** Why the optimiser stopped short, when it did. */
  reason?: string;
}

/** Maximum-likelihood estimates: BFGS on ln p, ln q, ln γ from p = q = γ = 1, as for BG/NBD. */
export function fitGammaGamma(groups: SpendGroups): GammaGammaFit {
  let customers = 0;
  for (let i = 0; i < groups.size; i++) customers += groups.count[i]!;
  if (!(customers > 0)) throw new RangeError('fitting the Gamma-Gamma model needs at least one repeat customer');
  const total = gammaGammaTotalLogLikelihood(groups);
  const toParams = (v: readonly number[]): GammaGammaParameters => ({ p: Math.exp(v[0]!), q: Math.exp(v[1]!), gamma: Math.exp(v[2]!) });
  const gradient = new Float64Array(3);
  const result = minimize((v) => {
    const value = -total(toParams(v), gradient) / customers;
    return { value, gradient: Array.from(gradient, (g) => -g / customers) };
  }, [0, 0, 0]);
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
 * The population's mean transaction value p·γ/(q − 1): what a customer without repeat
 * transactions is expected to spend per transaction. Undefined (null) when q ≤ 1, where the
 * model's mean is infinite.
 */
export function populationMeanSpend(params: GammaGammaParameters): number | null {
  return params.q > 1 ? (params.p * params.gamma) / (params.q - 1) : null;
}

/**
 * E[M | x, m]: a customer's expected transaction value, the population mean and their own
 * mean m weighted by how much x repeat transactions say: p(γ + m x) / (p x + q − 1). For x = 0, the population mean. Null where the model's mean is
 * infinite (p x + q ≤ 1).
 */
export function conditionalExpectedSpend(params: GammaGammaParameters, spend: SpendHistory): number | null {
  const { p, q, gamma } = params;
  if (spend.x === 0) return populationMeanSpend(params);
  const denominator = p * spend.x + q - 1;
  return denominator > 0 ? (p * (gamma + spend.m * spend.x)) / denominator : null;
}
