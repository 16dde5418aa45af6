/**
 * Minimisation of a smooth function with its gradient by BFGS (Nocedal & Wright, "Numerical
 * Optimization", 2nd ed., 2006: algorithm 6.1, the first inverse Hessian scaled by (6.20)), with
 * a line search meeting the strong Wolfe conditions (algorithms 3.5 and 3.6, c₁ = 10⁻⁴,
 * c₂ = 0.9). The CLV likelihoods have three or four parameters and exact gradients that cost
 * about as much as the likelihood itself, so BFGS needs some 30 to 60 evaluations where a
 * simplex method needs several hundred.
 */

/** The value of the function at a point, and its gradient there. */
export interface ValueAndGradient {
  value: number;
  gradient: number[];
}

export interface MinimizeOptions {
  /** Converged when every component of the gradient is at most this in size (default 1e−6). */
  gradientTolerance?: number;
  /** Iterations before giving up (default 500). */
  maxIterations?: number;
  /** The largest first step, in every coordinate (default 1). */
  maxStep?: number;
}

export interface MinimizeResult {
  /** The best point found. */
  x: number[];
  value: number;
  gradient: number[];
  /** The gradient met the tolerance. */
  converged: boolean;
  iterations: number;
  /** Evaluations of the function (each with its gradient). */
  evaluations: number;
  /** Why it stopped, when it did not converge. */
  reason?: string;
}

const C1 = 1e-4;
const C2 = 0.9;

const dot = (u: readonly number[], v: readonly number[]) => u.reduce((sum, ui, i) => sum + ui * v[i]!, 0);
const maxAbs = (v: readonly number[]) => v.reduce((m, vi) => Math.max(m, Math.abs(vi)), 0);

/**
 * Minimises `f` from `x0`. A point where the value or the gradient is not finite (a likelihood
 * that overflows, a parameter out of its domain) counts as +Infinity, so the line search
 * steps back from it.
 *
 * @example
 * const { x } = minimize(([u, v]) => ({ value: (u! - 1) ** 2 + 10 * (v! + 2) ** 2, gradient: [2 * (u! - 1), 20 * (v! + 2)] }), [0, 0]); // ≈ [1, −2]
 */
export function minimize(f: (x: readonly number[]) => ValueAndGradient, x0: readonly number[], options: MinimizeOptions = {}): MinimizeResult {
  const n = x0.length;
  if (n === 0) throw new RangeError('minimize needs at least one parameter');
  const gradientTolerance = options.gradientTolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  let evaluations = 0;
  const evaluate = (x: readonly number[]): ValueAndGradient => {
    evaluations++;
    const r = f(x);
    return Number.isFinite(r.value) && r.gradient.length === n && r.gradient.every(Number.isFinite) ? r : { value: Infinity, gradient: new Array<number>(n).fill(NaN) };
  };
  let x = [...x0];
  let current = evaluate(x);
  if (!Number.isFinite(current.value)) throw new RangeError(`the function is not finite at the starting point ${JSON.stringify(x0)}`);
  const identity = (): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  let H = identity();
  let first = true;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const g = current.gradient;
    if (maxAbs(g) <= gradientTolerance) return { x, ...current, converged: true, iterations, evaluations };
    let p = H.map((row) => -dot(row, g));
    if (!(dot(p, g) < 0)) {
      // Not a descent direction (rounding in H): start again from steepest descent.
      H = identity();
      p = g.map((gi) => -gi);
      first = true;
    }
    const initial = first ? Math.min(1, (options.maxStep ?? 1) / maxAbs(p)) : 1;
    const step = lineSearch(evaluate, x, current, p, initial);
    if (!step) return { x, ...current, converged: false, iterations, evaluations, reason: 'the line search found no point that decreases the function enough' };
    const s = p.map((pi) => step.alpha * pi);
    const y = step.point.gradient.map((gi, i) => gi - g[i]!);
    x = x.map((xi, i) => xi + s[i]!);
    current = step.point;
    const ys = dot(y, s);
    // The strong Wolfe conditions make y·s > 0; a step too small to measure it leaves H as it is.
    if (ys > 1e-300) {
      if (first) {
        const scale = ys / dot(y, y);
        H = H.map((row) => row.map((v) => v * scale));
        first = false;
      }
      const rho = 1 / ys;
      const Hy = H.map((row) => dot(row, y));
      const yHy = dot(y, Hy);
      H = H.map((row, i) => row.map((v, j) => v - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!) + (rho * rho * yHy + rho) * s[i]! * s[j]!));
    }
  }
  return { x, ...current, converged: false, iterations, evaluations, reason: `no convergence in ${maxIterations} iterations` };
}

interface Step {
  alpha: number;
  point: ValueAndGradient;
}

/** A step length along p meeting the strong Wolfe conditions, or null. */
function lineSearch(evaluate: (x: readonly number[]) => ValueAndGradient, x: readonly number[], at: ValueAndGradient, p: readonly number[], initial: number): Step | null {
  const phi0 = at.value;
  const dphi0 = dot(at.gradient, p);
  const probe = (alpha: number) => {
    const point = evaluate(x.map((xi, i) => xi + alpha * p[i]!));
    return { alpha, point, phi: point.value, dphi: dot(point.gradient, p) };
  };
  type Probe = ReturnType<typeof probe>;
  const zoom = (lo: Probe, hi: Probe): Step | null => {
    for (let j = 0; j < 60; j++) {
      // The minimum of the quadratic through φ(lo), φ′(lo), φ(hi), kept well inside the bracket; else its middle.
      const width = hi.alpha - lo.alpha;
      let alpha = lo.alpha + width / 2;
      if (Number.isFinite(hi.phi)) {
        const curvature = hi.phi - lo.phi - lo.dphi * width;
        if (curvature > 0) alpha = lo.alpha - (lo.dphi * width * width) / (2 * curvature);
      }
      const margin = 0.1 * Math.abs(width);
      const [low, high] = [Math.min(lo.alpha, hi.alpha) + margin, Math.max(lo.alpha, hi.alpha) - margin];
      if (!(alpha >= low && alpha <= high)) alpha = lo.alpha + width / 2;
      const trial = probe(alpha);
      if (trial.phi > phi0 + C1 * alpha * dphi0 || trial.phi >= lo.phi) {
        hi = trial;
      } else {
        if (Math.abs(trial.dphi) <= -C2 * dphi0) return trial;
        if (trial.dphi * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = trial;
      }
      if (Math.abs(hi.alpha - lo.alpha) <= 1e-16 * Math.max(1, Math.abs(lo.alpha))) break;
    }
    // The bracket closed without the curvature condition: take its low end if it decreased f.
    return lo.alpha > 0 && lo.phi < phi0 ? lo : null;
  };
  let previous: Probe = { alpha: 0, point: at, phi: phi0, dphi: dphi0 };
  let alpha = initial;
  for (let i = 0; i < 60; i++) {
    const trial = probe(alpha);
    if (trial.phi > phi0 + C1 * alpha * dphi0 || (i > 0 && trial.phi >= previous.phi)) return zoom(previous, trial);
    if (Math.abs(trial.dphi) <= -C2 * dphi0) return trial;
    if (trial.dphi >= 0) return zoom(trial, previous);
    previous = trial;
    alpha *= 2;
  }
  return null;
}
