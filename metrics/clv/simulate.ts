import { Rng } from '../../lib/random.ts';
import type { BgNbdParameters } from './bg-nbd.ts';
import type { GammaGammaParameters } from './gamma-gamma.ts';

/**
 * Customers drawn from the models' own generative processes, for the benchmark and for the
 * checks that a fit recovers the parameters it was given:
 *
 * - BG/NBD (Fader, Hardie & Lee 2005, assumptions i–v): a customer's purchase rate λ ~ Gamma(r,
 *   rate α) per week and drop-out probability p ~ Beta(a, b); while alive they buy as a Poisson
 *   process of rate λ, and after each repeat purchase they drop out with probability p.
 * - Gamma-Gamma: ν ~ Gamma(q, rate γ) per customer, each transaction's value ~ Gamma(p, rate ν).
 *
 * Each customer's first purchase is at a uniformly drawn day of `acquisitionDays` days before
 * the calibration end. With `days`, purchase times are cut to whole days as the warehouse sees
 * them (purchases on one day are one transaction), else they are kept exact.
 */
export interface SimulatedCustomer {
  x: number;
  /** Weeks. */
  tx: number;
  /** Weeks. */
  T: number;
  /** The mean value of the repeat transactions (0 when x = 0). */
  m: number;
}

/** Gamma(shape, rate 1) by Marsaglia & Tsang (2000), boosted by U^(1/shape) below shape 1. */
function gammaDraw(rng: Rng, shape: number): number {
  if (shape < 1) return gammaDraw(rng, shape + 1) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let z: number;
    let v: number;
    do {
      z = rng.normal();
      v = 1 + c * z;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function simulateCustomers(options: {
  customers: number;
  bgNbd: BgNbdParameters;
  gammaGamma: GammaGammaParameters;
  /** First purchases spread uniformly over this many days before the calibration end. */
  acquisitionDays: number;
  /** Cut purchase times to whole days (default true). */
  days?: boolean;
  seed?: number;
}): SimulatedCustomer[] {
  const { r, alpha, a, b } = options.bgNbd;
  const { p, q, gamma } = options.gammaGamma;
  const byDay = options.days ?? true;
  const rng = new Rng(options.seed ?? 1);
  const out: SimulatedCustomer[] = [];
  for (let i = 0; i < options.customers; i++) {
    const ageDays = byDay ? Math.floor(rng.next() * options.acquisitionDays) : rng.next() * options.acquisitionDays;
    const T = ageDays / 7;
    const lambda = gammaDraw(rng, r) / alpha;
    const ga = gammaDraw(rng, a);
    const dropout = ga / (ga + gammaDraw(rng, b));
    const nu = gammaDraw(rng, q) / gamma;
    let time = 0;
    let lastDay = 0;
    let x = 0;
    let tx = 0;
    let spend = 0;
    let daySpend = 0;
    for (;;) {
      time += -Math.log(1 - rng.next()) / lambda;
      if (!(time <= T)) break;
      const value = gammaDraw(rng, p) / nu;
      if (byDay) {
        const day = Math.floor(time * 7);
        // A purchase on the day of the previous one (or of the first) is part of that day's transaction.
        if (day === lastDay) {
          if (x > 0) daySpend += value;
        } else {
          spend += daySpend;
          daySpend = value;
          lastDay = day;
          x++;
          tx = day / 7;
        }
      } else {
        spend += value;
        x++;
        tx = time;
      }
      if (rng.next() < dropout) break;
    }
    spend += daySpend;
    out.push({ x, tx, T, m: x > 0 ? spend / x : 0 });
  }
  return out;
}
