import { describe, expect, it } from 'vitest';
import { minimize } from '../../metrics/clv/bfgs.ts';

describe('minimize (BFGS)', () => {
  it("finds Rosenbrock's minimum at (1, 1) from the classic start (−1.2, 1)", () => {
    const result = minimize(([x, y]) => ({
      value: 100 * (y! - x! * x!) ** 2 + (1 - x!) ** 2,
      gradient: [-400 * x! * (y! - x! * x!) - 2 * (1 - x!), 200 * (y! - x! * x!)],
    }), [-1.2, 1]);
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(1, 6);
    expect(result.x[1]).toBeCloseTo(1, 6);
    expect(result.evaluations).toBeLessThan(100);
  });

  it('solves a badly scaled quadratic in four dimensions: the minimum of Σ kᵢ (xᵢ − cᵢ)² is c', () => {
    const k = [1, 100, 0.01, 7];
    const c = [3, -2, 50, 0.5];
    const result = minimize((x) => ({
      value: x.reduce((s, xi, i) => s + k[i]! * (xi - c[i]!) ** 2, 0),
      gradient: x.map((xi, i) => 2 * k[i]! * (xi - c[i]!)),
    }), [0, 0, 0, 0], { gradientTolerance: 1e-10 });
    expect(result.converged).toBe(true);
    result.x.forEach((xi, i) => expect(xi).toBeCloseTo(c[i]!, 6));
  });

  it('steps back from points where the function is not finite', () => {
    // (x − 1)² − ln(x)/1000: from x = 3 the first step (−4) lands on x = −1, where ln is NaN.
    // Its minimum solves 2x² − 2x − 1/1000 = 0: x = (2 + √4.008)/4.
    const result = minimize(([x]) => ({ value: (x! - 1) ** 2 - Math.log(x!) / 1000, gradient: [2 * (x! - 1) - 1 / (1000 * x!)] }), [3], { maxStep: 5 });
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo((2 + Math.sqrt(4.008)) / 4, 6);
  });

  it('says why it stopped when it cannot converge, and refuses a start where the function is not finite', () => {
    const capped = minimize(([x]) => ({ value: Math.exp(-x!), gradient: [-Math.exp(-x!)] }), [0], { maxIterations: 3 });
    expect(capped.converged).toBe(false);
    expect(capped.reason).toBe('no convergence in 3 iterations');
    expect(() => minimize(() => ({ value: NaN, gradient: [0] }), [0])).toThrow(/not finite at the starting point/);
  });
});
