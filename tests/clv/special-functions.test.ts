import { describe, expect, it } from 'vitest';
import { digamma, gammaSign, logGamma } from '../../metrics/clv/gamma-function.ts';
import { hypergeometric2F1 as F } from '../../metrics/clv/hypergeometric.ts';

/** |actual − expected| at most `relative` × |expected| (or `relative` itself, for an expected value below 1). */
function close(actual: number, expected: number, relative = 1e-12): void {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(relative * Math.max(1, Math.abs(expected)));
}

describe('logGamma', () => {
  it('is ln((n − 1)!) at whole numbers, summed by hand', () => {
    let logFactorial = 0;
    for (let n = 1; n <= 170; n++) {
      close(logGamma(n), logFactorial, 1e-13);
      logFactorial += Math.log(n);
    }
  });

  it('gives Γ(1/2) = √π, Γ(3/2) = √π/2 and, through reflection, Γ(−1/2) = −2√π (DLMF 5.4.6, 5.5.1)', () => {
    close(logGamma(0.5), 0.5 * Math.log(Math.PI));
    close(logGamma(1.5), 0.5 * Math.log(Math.PI) - Math.log(2));
    close(logGamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)));
    expect(gammaSign(-0.5)).toBe(-1);
    expect(gammaSign(-1.5)).toBe(1);
    expect(gammaSign(2.5)).toBe(1);
  });

  it('stays finite far past where Γ overflows (171), by Stirling: ln Γ(x) ≈ (x − ½) ln x − x + ½ ln 2π + 1/(12x)', () => {
    for (const x of [200.25, 1e4, 1e6]) close(logGamma(x), (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3), 1e-14);
    expect(logGamma(0)).toBe(Infinity);
    expect(logGamma(-3)).toBe(Infinity);
  });
});

describe('digamma', () => {
  const EULER = 0.5772156649015329;
  it('gives ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2 (DLMF 5.4.12, 5.4.13) and ψ(n + 1) = H_n − γ', () => {
    close(digamma(1), -EULER, 1e-14);
    close(digamma(0.5), -EULER - 2 * Math.log(2), 1e-14);
    let harmonic = 0;
    for (let n = 1; n <= 60; n++) {
      harmonic += 1 / n;
      close(digamma(n + 1), harmonic - EULER, 1e-14);
    }
  });

  it('is the derivative of logGamma, and reflects below 0: ψ(1 − x) − ψ(x) = π cot(πx)', () => {
    for (const x of [0.2426, 3.7, 45.5, 1200]) close(digamma(x), (logGamma(x + 1e-5) - logGamma(x - 1e-5)) / 2e-5, 1e-7);
    for (const x of [-0.3, -2.6]) close(digamma(1 - x) - digamma(x), Math.PI / Math.tan(Math.PI * x), 1e-12);
    expect(digamma(-2)).toBeNaN();
  });
});

describe('hypergeometric2F1 against the closed forms of DLMF §15.4', () => {
  it('2F1(1, 1; 2; z) = −ln(1 − z)/z (15.4.1), on the series side and on the 1 − z side, where c − a − b = 0 is an integer', () => {
    for (const z of [0.1, 0.3, 0.5, 0.51, 0.75, 0.9, 0.99, 0.999999]) close(F(1, 1, 2, z), -Math.log(1 - z) / z, 1e-10);
  });

  it('2F1(a, b; b; z) = (1 − z)^(−a) (15.4.6), with c − a − b = −a integer and not', () => {
    for (const a of [0.3, 2.5, 3, 3 + 1e-7, 3 + 1.5e-3, 7.25]) {
      for (const z of [0.2, 0.6, 0.95, 0.9999]) close(F(a, 1.3, 1.3, z), Math.pow(1 - z, -a), 1e-10);
    }
  });

  it('2F1(½, ½; 3/2; z²) = arcsin(z)/z (15.4.4) and 2F1(½, 1; 3/2; z²) = artanh(z)/z (15.4.2)', () => {
    for (const z of [0.3, 0.7, 0.9, 0.99, 0.9999]) {
      close(F(0.5, 0.5, 1.5, z * z), Math.asin(z) / z, 1e-12);
      close(F(0.5, 1, 1.5, z * z), Math.atanh(z) / z, 1e-10);
    }
  });

  it('2F1(a, ½ + a; ½; z²) = ((1 + z)^(−2a) + (1 − z)^(−2a))/2 (15.4.11)', () => {
    for (const a of [0.3, 1.7]) {
      for (const z of [0.4, 0.8, 0.97]) close(F(a, 0.5 + a, 0.5, z * z), (Math.pow(1 + z, -2 * a) + Math.pow(1 - z, -2 * a)) / 2, 1e-12);
    }
  });

  it('2F1(a, 1 − a; 3/2; sin²x) = sin((2a − 1)x)/((2a − 1) sin x) (15.4.16)', () => {
    for (const a of [0.2, 2.35]) {
      for (const x of [0.4, 1.2, 1.55]) close(F(a, 1 - a, 1.5, Math.sin(x) ** 2), Math.sin((2 * a - 1) * x) / ((2 * a - 1) * Math.sin(x)), 1e-12);
    }
  });

  it('takes negative z through Pfaff: 2F1(½, 1; 3/2; −z²) = arctan(z)/z (15.4.3)', () => {
    for (const z of [0.5, 1, 3, 10]) close(F(0.5, 1, 1.5, -z * z), Math.atan(z) / z, 1e-12);
  });

  it('sums a polynomial exactly: 2F1(−2, b; c; z) = 1 − 2bz/c + b(b + 1)z²/(c(c + 1))', () => {
    const [b, c] = [1.5, 2.5];
    for (const z of [0.3, 0.9, -4]) close(F(-2, b, c, z), 1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1)), 1e-14);
  });

  it('refuses c a non-positive integer and z ≥ 1', () => {
    expect(() => F(1, 1, -2, 0.5)).toThrow(/c must not be 0 or a negative integer/);
    expect(() => F(1, 1, 2, 1)).toThrow(/z must be below 1/);
  });
});
