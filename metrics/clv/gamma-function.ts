/**
 * The gamma function in logarithms, and its derivative, for the likelihoods, their gradients
 * and the hypergeometric function: the models need ln Γ of arguments from about 0.01 to many
 * thousands (a customer with hundreds of purchases), where Γ itself overflows past 171.
 */

/** Lanczos' approximation with g = 7 and 9 coefficients (Godfrey's): about 15 significant digits. */
const G = 7;
const COEFFICIENTS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln |Γ(x)| for any real x that is not 0 or a negative integer (there Γ has a pole and the
 * result is +Infinity). Below 1/2, through the reflection formula Γ(x) Γ(1 − x) = π / sin(πx).
 *
 * @example
 * logGamma(0.5); // ln √π = 0.5723649429247001
 * logGamma(101); // ln 100!
 */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0.5) {
    if (Number.isInteger(x)) return Infinity;
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const y = x - 1;
  let sum = COEFFICIENTS[0]!;
  for (let i = 1; i < COEFFICIENTS.length; i++) sum += COEFFICIENTS[i]! / (y + i);
  const t = y + G + 0.5;
  return HALF_LOG_TWO_PI + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The sign of Γ(x): 1 for x > 0; for a negative x, (−1)^⌈−x⌉; NaN at a pole. */
export function gammaSign(x: number): number {
  if (x > 0) return 1;
  if (Number.isInteger(x) || Number.isNaN(x)) return NaN;
  return Math.ceil(-x) % 2 === 0 ? 1 : -1;
}

/**
 * The digamma function ψ(x) = d/dx ln Γ(x), for the gradients of the likelihoods: the
 * recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
 * ln x − 1/(2x) − Σ B₂ₖ / (2k x²ᵏ) to x⁻¹² (DLMF 5.11.2), about 15 significant digits; below 0,
 * the reflection ψ(x) = ψ(1 − x) − π cot(πx) (DLMF 5.5.4). NaN at the poles (0, −1, −2 …).
 *
 * @example
 * digamma(1); // −0.5772156649015329 (minus the Euler–Mascheroni constant)
 */
export function digamma(x: number): number {
  if (Number.isNaN(x) || (x <= 0 && Number.isInteger(x))) return NaN;
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  let shift = 0;
  while (x < 10) {
    shift -= 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  const tail = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 * (1 / 132 - (inv2 * 691) / 32760)))));
  return shift + Math.log(x) - 0.5 / x - tail;
}
