/**
 * Seeded randomness (the demo shop's, and the CLV model's simulations): mulberry32, seeded
 * through a murmur3-style hash of (seed, tag, a, b). Every draw the shop makes comes from a
 * generator keyed by what it is about (an order slot, a day's report, a customer), never from
 * one long shared sequence, so a day's records do not depend on which days were generated
 * before it.
 */

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed from a user seed (any safe integer) and up to three integer coordinates. */
export function hashSeed(seed: number, tag: number, a = 0, b = 0): number {
  // A seed beyond 32 bits keeps its high part: seeds 1 and 2^32 + 1 differ.
  let h = mix(0x9747b28c, seed | 0);
  h = mix(h, Math.floor(seed / 4294967296) | 0);
  h = mix(h, tag);
  h = mix(h, a | 0);
  h = mix(h, b | 0);
  return finish(h ^ 20);
}

/** A stable 32-bit tag for a name, so each kind of draw gets its own family of generators. */
export function tagOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A seeded pseudo-random generator (mulberry32) with the helpers the simulation needs. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** The generator for (seed, tag, a, b): the same coordinates always give the same draws. */
  static for(seed: number, tag: number, a = 0, b = 0): Rng {
    return new Rng(hashSeed(seed, tag, a, b));
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** `value` moved by up to ±`spread` of itself, uniformly. */
  jitter(value: number, spread: number): number {
    return value * (1 + spread * (2 * this.next() - 1));
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A Poisson count; exact (Knuth) for small means, the normal approximation above 60. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** `length` characters of [0-9A-Za-z], for API-style ids (`ch_3Pq…`). */
  base62(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += BASE62[Math.floor(this.next() * 62)];
    return out;
  }

  /** `length` decimal digits. */
  digits(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += String(Math.floor(this.next() * 10));
    return out;
  }
}

/** A fixed list of choices with weights, sampled in O(n) without allocating. */
export class Weighted<T> {
  private readonly items: T[];
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(entries: readonly (readonly [T, number])[]) {
    this.items = entries.map(([item]) => item);
    let sum = 0;
    this.cumulative = entries.map(([, weight]) => (sum += weight));
    this.total = sum;
    if (this.items.length === 0 || !(sum > 0)) throw new Error('a weighted choice needs at least one positive weight');
  }

  sample(rng: Rng): T {
    const u = rng.next() * this.total;
    for (let i = 0; i < this.cumulative.length; i++) {
      if (u < (this.cumulative[i] as number)) return this.items[i] as T;
    }
    return this.items[this.items.length - 1] as T;
  }
}
