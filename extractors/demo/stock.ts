/**
 * The demo shop's stock, one warehouse, as `shopify.inventory_levels` snapshots: one a day,
 * the `available` quantity of every variant at the end of the day. Each variant starts the
 * period with a few weeks of stock, sells what the day's orders take, and when it runs out is
 * restocked a few days later (a reorder's lead time), so some days show variants out of stock
 * (or oversold: the shop keeps selling while waiting for the delivery).
 */
import { inventoryItemId } from './catalogue.ts';
import { hashSeed, tagOf } from '../../lib/random.ts';
import type { DemoShop } from './shop.ts';
import { PRODUCTS } from './shop-data.ts';
import { DAY_MS, isoDay, shopTime } from './time.ts';

type Json = Record<string, unknown>;

const TAG_STOCK = tagOf('stock');
/** The shop's one warehouse. */
export const LOCATION_ID = 74_210_000_001;

interface Level {
  variantId: number;
  available: number;
  /** What a delivery fills the shelf back up to. */
  target: number;
  /** The day a delivery ordered comes, or null when none is on its way. */
  restockOn: number | null;
  /** Days between ordering more and its delivery. */
  leadDays: number;
  changedMs: number;
}

export class DemoStock {
  private day = Number.NEGATIVE_INFINITY;
  private levels: Level[] = [];

  private readonly shop: DemoShop;
  private readonly seed: number;
  private readonly firstDay: number;
  constructor(
    shop: DemoShop,
    seed: number,
    firstDay: number,
  ) {
    this.shop = shop;
    this.seed = seed;
    this.firstDay = firstDay;
  }

  /** The snapshot taken at the end of `day` (a day of the period), one record per variant. */
  snapshot(day: number): Json[] {
    // Days are asked for in order; an earlier one starts the simulation again.
    if (day < this.day) this.day = Number.NEGATIVE_INFINITY;
    if (this.day === Number.NEGATIVE_INFINITY) this.start();
    while (this.day < day) this.advance();
    return this.levels.map((l) => ({
      snapshot_date: isoDay(day),
      inventory_item_id: inventoryItemId(l.variantId),
      variant_id: l.variantId,
      location_id: LOCATION_ID,
      available: l.available,
      updated_at: shopTime(l.changedMs),
    }));
  }

  private start(): void {
    const edited = (this.firstDay - 1) * DAY_MS + 15 * 3_600_000;
    this.levels = PRODUCTS.flatMap((p) => p.variants).map((v, i) => {
      const h = hashSeed(this.seed, TAG_STOCK, i);
      const available = 3 + (h % 28);
      return { variantId: v.id, available, target: available + 12, restockOn: null, leadDays: 2 + ((h >>> 8) % 5), changedMs: edited };
    });
    this.day = this.firstDay - 1;
  }

  /** One more day: the morning's deliveries, the day's sales, more ordered for what ran out. */
  private advance(): void {
    const day = this.day + 1;
    const byVariant = new Map(this.levels.map((l) => [l.variantId, l]));
    for (const level of this.levels) {
      if (level.restockOn === day) {
        level.available = level.target;
        level.restockOn = null;
        level.changedMs = day * DAY_MS + 13 * 3_600_000;
      }
    }
    // The baskets alone: generating each whole order (its customer, discounts, landing page,
    // refunds) to read its lines cost the stock of one day some 4 s at a million orders.
    for (const order of this.shop.basketsOn(day)) {
      if (order.test) continue;
      for (const line of order.lines) {
        const level = byVariant.get(line.variant.id);
        if (!level) continue;
        level.available -= line.quantity;
        level.changedMs = Math.max(level.changedMs, order.createdMs);
      }
    }
    for (const level of this.levels) if (level.available <= 0 && level.restockOn === null) level.restockOn = day + level.leadDays;
    this.day = day;
  }
}
