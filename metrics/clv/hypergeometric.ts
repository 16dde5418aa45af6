import { gammaSign, logGamma } from './gamma-function.ts';

/**
 * Gauss's hypergeometric function 2F1(a, b; c; z) for real parameters and real z < 1, as the
 * BG/NBD conditional expectation needs it (Fader, Hardie & Lee 2005, equation 10).
 *
 * - |z| ≤ 1/2: the power series Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ (DLMF 15.2.1), whose terms shrink at
 *   least as fast as 2⁻ⁿ once n passes the parameters; above 1/2 too while it needs at most
 *   5,000 terms (a large c, or z not too near 1).
 * - 1/2 < z < 1 otherwise: the series converges too slowly there (like zⁿ, and not at all at 1),
 *   so the function is continued to 1 − z (Abramowitz & Stegun 15.3.6; DLMF 15.8.4 writes it with the
 *   regularized function), whose two series
 *   converge like (1 − z)ⁿ:
 *
 *     F(a,b;c;z) = Γ(c)Γ(c−a−b) / (Γ(c−a)Γ(c−b)) · F(a, b; a+b−c+1; 1−z)
 *                + (1−z)^(c−a−b) Γ(c)Γ(a+b−c) / (Γ(a)Γ(b)) · F(c−a, c−b; c−a−b+1; 1−z)
 *
 *   When c − a − b is an integer the two terms have poles that cancel (A&S 15.3.10–15.3.12 and
 *   DLMF 15.8.10 give the limit with digamma sums); here, within 2·10⁻³ of an integer m, the function is interpolated
 *   in c by the cubic through c − a − b = m ± 10⁻³ and m ± 2·10⁻³, where the formula holds. F is
 *   analytic in c, so the interpolation error is of order 10⁻¹² relative, about what the
 *   cancellation of two terms of size 10³ leaves: some 11 significant digits there, 15 elsewhere.
 * - z < 0: Pfaff's transformation F(a,b;c;z) = (1−z)^(−a) F(a, c−b; c; z/(z−1)) (DLMF 15.8.1)
 *   brings z into (0, 1).
 *
 * A polynomial (a or b a non-positive integer) is summed exactly for any z < 1. Throws a
 * RangeError when c is a non-positive integer (the function is not defined) or z ≥ 1.
 *
 * @example
 * hypergeometric2F1(1, 1, 2, 0.75); // −ln(1 − 0.75) / 0.75 = 1.8483924814931874
 */
export function hypergeometric2F1(a: number, b: number, c: number, z: number): number {
  if (![a, b, c, z].every(Number.isFinite)) throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): every argument must be a finite number`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): c must not be 0 or a negative integer`);
  if (z >= 1) throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): z must be below 1`);
  if (z === 0 || a === 0 || b === 0) return 1;
  if (isPolynomial(a) || isPolynomial(b)) return summed(a, b, c, z);
  if (z < 0) return Math.pow(1 - z, -a) * hypergeometric2F1(a, c - b, c, z / (z - 1));
  if (z <= 0.5 || seriesTerms(a, b, c, z) <= DIRECT_TERMS) return summed(a, b, c, z);
  const s = c - a - b;
  const m = Math.round(s);
  // The terms carry (1 − z)^(±s): the nearer z is to 1, the faster they change with c, and the closer the points.
  const gap = INTEGER_GAP / Math.max(1, -Math.log(1 - z) / 2);
  if (Math.abs(s - m) >= 2 * gap) return nearOne(a, b, c, z);
  // c − a − b near the integer m: the cubic through four points around m, two on either side.
  const u = (s - m) / gap;
  const at = (k: number) => nearOne(a, b, c + (m + k * gap - s), z);
  const [f1, f2, f3, f4] = [at(-2), at(-1), at(1), at(2)];
  return (
    (-f1 * (u + 1) * (u - 1) * (u - 2)) / 12 +
    (f2 * (u + 2) * (u - 1) * (u - 2)) / 6 -
    (f3 * (u + 2) * (u + 1) * (u - 2)) / 6 +
    (f4 * (u + 2) * (u + 1) * (u - 1)) / 12
  );
}

/**
 * How close to an integer c − a − b may come before the connection formula is interpolated
 * (twice this), and the spacing of the points interpolated; narrower as z nears 1.
 */
const INTEGER_GAP = 1e-3;
/** Terms of a series beyond which it is said not to converge. */
const MAX_TERMS = 1_000_000;
/** Above z = 1/2, the power series is still summed directly when it needs at most this many terms. */
const DIRECT_TERMS = 5_000;
/** Sums and terms are rescaled by 10^−250 past 10^250, so a series whose terms overflow a double still sums. */
const RESCALE = 1e250;
const LOG_RESCALE = 250 * Math.LN10;

function isPolynomial(p: number): boolean {
  return p < 0 && Number.isInteger(p);
}

/**
 * About how many terms the power series of 2F1(a, b; c; z), 0 < z < 1, needs: the terms grow
 * while (a+n)(b+n)z > (c+n)(n+1), that is up to n ≈ ((a+b)z − c − 1)/(1 − z), then shrink by
 * about z a term, some 37/(−ln z) terms to lose 16 digits.
 */
export function seriesTerms(a: number, b: number, c: number, z: number): number {
  const peak = Math.max(0, ((a + b) * z - c - 1) / (1 - z));
  return peak + 37 / -Math.log(z);
}

/** A number as mantissa × e^logScale, so that it may exceed the largest double. */
export interface ScaledValue {
  mantissa: number;
  logScale: number;
}

/**
 * The power series Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ, summed until a term no longer changes the sum (and
 * the terms shrink), rescaled as it grows so that no term overflows. Exact for a polynomial (a
 * term becomes 0). Null when it has not converged within `maxTerms` terms.
 */
export function hypergeometricSeries(a: number, b: number, c: number, z: number, maxTerms = MAX_TERMS): ScaledValue | null {
  let term = 1;
  let sum = 1;
  let logScale = 0;
  for (let n = 0; n < maxTerms; n++) {
    const ratio = ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    term *= ratio;
    sum += term;
    if (term === 0) return { mantissa: sum, logScale };
    if (Math.abs(term) <= 1e-17 * Math.abs(sum) && Math.abs(ratio) < 1) return { mantissa: sum, logScale };
    if (Math.abs(sum) > RESCALE || Math.abs(term) > RESCALE) {
      sum /= RESCALE;
      term /= RESCALE;
      logScale += LOG_RESCALE;
    }
    if (!Number.isFinite(sum)) break;
  }
  return null;
}

/** The series' value, or a RangeError naming the function when it did not converge. */
function summed(a: number, b: number, c: number, z: number): number {
  const value = hypergeometricSeries(a, b, c, z);
  if (!value) throw new RangeError(`2F1(${a}, ${b}; ${c}; ${z}): the series did not converge`);
  return value.logScale === 0 ? value.mantissa : value.mantissa * Math.exp(value.logScale);
}

/**
 * Γ(n₁)Γ(n₂) / (Γ(d₁)Γ(d₂)) · w^s as sign · exp(log), so that neither a large Γ nor a tiny
 * power overflows on its own; 0 when a denominator argument is a pole (1/Γ is 0 there).
 */
function gammaRatio(n1: number, n2: number, d1: number, d2: number, w: number, s: number): number {
  if (d1 <= 0 && Number.isInteger(d1)) return 0;
  if (d2 <= 0 && Number.isInteger(d2)) return 0;
  const sign = gammaSign(n1) * gammaSign(n2) * gammaSign(d1) * gammaSign(d2);
  return sign * Math.exp(logGamma(n1) + logGamma(n2) - logGamma(d1) - logGamma(d2) + (s === 0 ? 0 : s * Math.log(w)));
}

/** The connection formula to 1 − z, for c − a − b not an integer. */
function nearOne(a: number, b: number, c: number, z: number): number {
  const w = 1 - z;
  const s = c - a - b;
  const first = gammaRatio(c, s, c - a, c - b, w, 0);
  const second = gammaRatio(c, -s, a, b, w, s);
  const left = first === 0 ? 0 : first * summed(a, b, 1 - s, w);
  const right = second === 0 ? 0 : second * summed(c - a, c - b, s + 1, w);
  return left + right;
}
