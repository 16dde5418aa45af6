/**
 * ECB-style reference rates for the demo shop: EUR base, business days only, each rate a
 * smooth function of its date (slow waves plus a little daily noise), so any date's rate is
 * the same whichever window asks for it.
 */
import { round } from './format.ts';
import { Rng, tagOf } from '../../lib/random.ts';
import { isoDay, isWeekend } from './time.ts';

const TAG_FX = tagOf('fx');
const TAG_FX_DAILY = tagOf('fx-daily');

/** Rough EUR rates of common reporting currencies, so a demo reporting in them has rates. */
const EUR_RATES: Readonly<Record<string, number>> = {
  USD: 1.08, GBP: 0.85, CHF: 0.95, JPY: 160, CAD: 1.47, AUD: 1.63, NZD: 1.78, SEK: 11.4, NOK: 11.6, DKK: 7.46,
  PLN: 4.3, CZK: 25, HUF: 395, SGD: 1.45, HKD: 8.45, CNY: 7.8, INR: 90, BRL: 5.9, MXN: 19.5, ZAR: 20, KRW: 1450,
};

/** The ECB's precision: 4 significant decimals for most, 5 for GBP, 2 for large-unit currencies. */
function decimals(quote: string, base: number): number {
  if (quote === 'GBP') return 5;
  return base >= 100 ? 2 : 4;
}

interface Pair {
  quote: string;
  base: number;
  phases: readonly [number, number, number];
  noise: number;
}

/** EUR reference rates of the demo, and the conversions the other demo sources need from them. */
export class DemoFx {
  private readonly pairs: readonly Pair[];

  /** USD and GBP always; the reporting currency too when it is neither EUR nor one of those. */
  private readonly seed: number;
  constructor(
    seed: number,
    reportingCurrency?: string,
  ) {
    this.seed = seed;
    const quotes = ['USD', 'GBP'];
    const extra = reportingCurrency?.toUpperCase();
    if (extra && extra !== 'EUR' && !quotes.includes(extra)) quotes.push(extra);
    this.pairs = quotes.map((quote) => {
      const rng = Rng.for(seed, TAG_FX, tagOf(quote));
      const tau = 2 * Math.PI;
      // An unknown currency gets 1.0: the demo only needs a rate to exist.
      return { quote, base: EUR_RATES[quote] ?? 1, phases: [rng.next() * tau, rng.next() * tau, rng.next() * tau], noise: tagOf(quote) };
    });
  }

  private value(pair: Pair, day: number): number {
    const tau = 2 * Math.PI;
    const wave =
      0.03 * Math.sin((tau * day) / 365 + pair.phases[0]) + 0.015 * Math.sin((tau * day) / 97 + pair.phases[1]) + 0.006 * Math.sin((tau * day) / 23 + pair.phases[2]);
    const daily = 0.0015 * Rng.for(this.seed, TAG_FX_DAILY, pair.noise, day).normal();
    return round(pair.base * Math.exp(wave + daily), decimals(pair.quote, pair.base));
  }

  /** EUR → quote on the last business day on or before `day` (what the transforms carry forward). */
  eurRate(quote: string, day: number): number {
    if (quote === 'EUR') return 1;
    const pair = this.pairs.find((p) => p.quote === quote);
    if (!pair) throw new Error(`the demo publishes no EUR/${quote} rate`);
    let d = day;
    while (isWeekend(d)) d--;
    return this.value(pair, d);
  }

  /** What one unit of `currency` is worth in USD on `day`. */
  usdPer(currency: string, day: number): number {
    return this.eurRate('USD', day) / this.eurRate(currency, day);
  }

  /** The published rows of a day: none on Saturdays and Sundays. */
  records(day: number): Record<string, unknown>[] {
    if (isWeekend(day)) return [];
    const date = isoDay(day);
    return this.pairs.map((pair) => ({ date, base: 'EUR', quote: pair.quote, rate: this.value(pair, day) }));
  }
}
