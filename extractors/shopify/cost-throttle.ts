import { now as clock, sleep } from '../../lib/http.ts';

/** `extensions.cost` of a GraphQL Admin API answer. */
export interface QueryCost {
  requestedQueryCost?: number | null;
  actualQueryCost?: number | null;
  throttleStatus?: { maximumAvailable?: number; currentlyAvailable?: number; restoreRate?: number } | null;
}

/**
 * Shopify's cost-based rate limit, seen from the client: a bucket of points per app and shop
 * that refills at `restoreRate` a second; a query needs its requested cost available up front.
 * Each answer says how full the bucket is; before the next query of the same kind this waits
 * until the bucket has refilled enough for it, so the API rarely has to answer THROTTLED.
 */
export class CostThrottle {
  private available: number | undefined;
  private restoreRate = 0;
  private maximum = Infinity;
  private seenAt = 0;
  private readonly lastCost = new Map<string, number>();

  /** `now` defaults to the shared clock of http.ts, which tests replace along with the sleep. */
  private readonly now: () => number;
  constructor(now: () => number = clock) {
    this.now = now;
  }

  /** Records the bucket reported by an answer to a query of kind `kind`. */
  observe(kind: string, cost: QueryCost | null | undefined): void {
    const status = cost?.throttleStatus;
    if (cost?.requestedQueryCost != null) this.lastCost.set(kind, cost.requestedQueryCost);
    if (!status || status.currentlyAvailable == null) return;
    this.available = status.currentlyAvailable;
    this.restoreRate = status.restoreRate ?? this.restoreRate;
    this.maximum = status.maximumAvailable ?? this.maximum;
    this.seenAt = this.now();
  }

  /** How long to wait before a query of kind `kind` (0 when its last cost is available). */
  delayFor(kind: string): number {
    const needed = Math.min(this.lastCost.get(kind) ?? 0, this.maximum);
    if (this.available === undefined || needed === 0 || this.restoreRate <= 0) return 0;
    const refilled = Math.min(this.maximum, this.available + ((this.now() - this.seenAt) / 1000) * this.restoreRate);
    return refilled >= needed ? 0 : Math.ceil(((needed - refilled) / this.restoreRate) * 1000);
  }

  /** Waits (through the shared, test-replaceable sleep) until a query of kind `kind` fits. */
  async beforeQuery(kind: string, signal?: AbortSignal): Promise<number> {
    const delay = this.delayFor(kind);
    if (delay > 0) await sleep(delay, signal);
    return delay;
  }
}

/**
 * How long a THROTTLED answer asks to wait: the missing points over the restore rate, in ms
 * (at least a second when the answer does not say).
 */
export function throttledDelay(cost: QueryCost | null | undefined): number {
  const requested = cost?.requestedQueryCost ?? 0;
  const available = cost?.throttleStatus?.currentlyAvailable ?? 0;
  const rate = cost?.throttleStatus?.restoreRate ?? 0;
  if (rate <= 0 || requested <= available) return 1000;
  return Math.ceil(((requested - available) / rate) * 1000);
}
