/**
 * A bulk stream of Shopify-shaped orders for benchmarks: the demo shop's simulation, rendered
 * one order at a time with nothing kept but a bounded cache of daily counts, so memory does
 * not grow with how many are asked for.
 */
import { shipmentPlan } from './shipments.ts';
import { DemoShop } from './shop.ts';
import { shopifyOrder } from './shopify.ts';
import { dayNumber } from './time.ts';

/** A busy shop, so a million orders span about a year and a half. */
const ORDERS_PER_DAY = 2000;
const FIRST_DAY = dayNumber('2023-01-01');

/**
 * `count` Admin API orders (names from `#1001`), deterministic for a `seed`. Each order's
 * whole life is visible (refunds, cancellations, fulfilment).
 *
 * @example
 *   for (const order of generateShopifyOrders(1_000_000, 7)) out.write(`${JSON.stringify(order)}\n`);
 */
export function* generateShopifyOrders(count: number, seed: number): Generator<Record<string, unknown>> {
  const shop = new DemoShop(seed, ORDERS_PER_DAY);
  let emitted = 0;
  for (let day = FIRST_DAY; emitted < count; day++) {
    const n = shop.orderCount(day);
    for (let seq = 0; seq < n && emitted < count; seq++) {
      const order = shop.order(day, seq, 1001 + emitted);
      emitted++;
      yield shopifyOrder(order, shipmentPlan(shop, order), Infinity);
    }
  }
}
