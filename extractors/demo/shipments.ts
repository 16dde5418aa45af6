/**
 * Shipments of the demo shop's counted orders, as a carrier export or tracker feed gives them
 * (the `shipments` record of docs/streams.md). A shipment's whole journey is planned when the order
 * is placed; a run sees the events that happened before its cut-off.
 */
import { round } from './format.ts';
import { Rng, tagOf, Weighted } from '../../lib/random.ts';
import type { DemoShop, OrderPlan } from './shop.ts';
import { DAY_MS, utcTime } from './time.ts';

const TAG_SHIPMENT = tagOf('shipment');

interface Service {
  carrier: 'UPS' | 'USPS' | 'DHL';
  service: string;
  /** Planned days in transit (the promise), inclusive range. */
  transit: readonly [number, number];
  /** What the shop pays the carrier, USD. */
  cost: readonly [number, number];
  tracking: (rng: Rng, key: number) => string;
}

const ups = (code: string) => (_rng: Rng, key: number) => `1ZV8E392${code}${key.toString(36).toUpperCase().padStart(8, '0')}`;
const usps = (rng: Rng, key: number) => `9400${String(key).padStart(13, '0')}${rng.digits(5)}`;
const dhlExpress = (_rng: Rng, key: number) => String(key).padStart(10, '0');
const dhlEcommerce = (rng: Rng, key: number) => `GM${String(key).padStart(12, '0')}${rng.digits(4)}`;

const DOMESTIC = new Weighted<Service>([
  [{ carrier: 'UPS', service: 'Ground', transit: [3, 5], cost: [7.2, 11.9], tracking: ups('03') }, 40],
  [{ carrier: 'USPS', service: 'Ground Advantage', transit: [2, 5], cost: [4.8, 8.6], tracking: usps }, 35],
  [{ carrier: 'USPS', service: 'Priority Mail', transit: [2, 3], cost: [8.9, 13.5], tracking: usps }, 12],
  [{ carrier: 'DHL', service: 'eCommerce Expedited', transit: [3, 5], cost: [5.5, 9.2], tracking: dhlEcommerce }, 13],
]);
const DOMESTIC_EXPRESS = new Weighted<Service>([
  [{ carrier: 'UPS', service: '2nd Day Air', transit: [2, 2], cost: [16.5, 24.9], tracking: ups('02') }, 60],
  [{ carrier: 'USPS', service: 'Priority Mail Express', transit: [1, 2], cost: [24.5, 31], tracking: usps }, 40],
]);
const INTERNATIONAL = new Weighted<Service>([
  [{ carrier: 'DHL', service: 'Express Worldwide', transit: [3, 5], cost: [21, 34.5], tracking: dhlExpress }, 80],
  [{ carrier: 'UPS', service: 'Worldwide Saver', transit: [3, 5], cost: [24, 38], tracking: ups('65') }, 20],
]);
const SHIP_AFTER_DAYS = new Weighted<number>([
  [0, 35],
  [1, 40],
  [2, 18],
  [3, 7],
]);

export interface ShipmentPlan {
  orderRef: string;
  carrier: string;
  service: string;
  trackingNumber: string;
  shippedMs: number;
  /** The promised delivery; null when the carrier gave none. */
  promiseMs: number | null;
  deliveredMs: number | null;
  /** When a shipment that never arrives is declared lost. */
  lostMs: number | null;
  returnedMs: number | null;
  costCents: number;
}

/** A moment between 13:00 and 22:00 UTC of `day`: a US and European working day alike. */
function workingHours(rng: Rng, day: number): number {
  return day * DAY_MS + rng.int(13 * 3600, 22 * 3600 - 1) * 1000;
}

/**
 * The planned shipment of an order: none for test orders and orders that get cancelled.
 * About 86% arrive by the promised date, 12% late, 2% never (lost); 5% carry no promise;
 * 4% of delivered parcels come back 5–25 days later.
 */
export function shipmentPlan(shop: DemoShop, order: OrderPlan): ShipmentPlan | null {
  if (order.test || order.cancel) return null;
  const rng = Rng.for(shop.seed, TAG_SHIPMENT, order.day, order.seq);
  const key = order.day * 100_000 + order.seq;
  const express = order.shippingTitle === 'Express';
  const service = (order.market.currency !== 'USD' ? INTERNATIONAL : express ? DOMESTIC_EXPRESS : DOMESTIC).sample(rng);
  const shipDay = order.day + SHIP_AFTER_DAYS.sample(rng);
  // Never before the order was placed: a same-day shipment leaves at least 45 minutes later.
  const shippedMs = Math.max(workingHours(rng, shipDay), order.createdMs + rng.int(45 * 60, 4 * 3600) * 1000);
  const shippedDay = Math.floor(shippedMs / DAY_MS);
  const transit = rng.int(service.transit[0], service.transit[1]);
  const promiseDay = rng.chance(0.05) ? null : shippedDay + Math.max(2, transit);
  const fate = rng.next();
  let deliveredMs: number | null = null;
  let lostMs: number | null = null;
  if (fate < 0.02) {
    lostMs = ((promiseDay ?? shippedDay + 5) + 10) * DAY_MS + 12 * 3_600_000;
  } else if (promiseDay === null) {
    deliveredMs = workingHours(rng, shippedDay + rng.int(2, 6));
  } else if (fate < 0.14) {
    deliveredMs = workingHours(rng, promiseDay + rng.int(1, 4));
  } else {
    deliveredMs = workingHours(rng, rng.int(shippedDay + 1, promiseDay));
  }
  const returnedMs = deliveredMs !== null && rng.chance(0.04) ? deliveredMs + rng.int(5 * 86_400, 25 * 86_400) * 1000 : null;
  const refStyle = rng.next();
  return {
    // Carriers and 3PLs quote the order either by Shopify id or by its name.
    orderRef: refStyle < 0.7 ? String(order.id) : refStyle < 0.95 ? `#${order.number}` : String(order.number),
    carrier: service.carrier,
    service: service.service,
    trackingNumber: service.tracking(rng, key),
    shippedMs,
    promiseMs: promiseDay === null ? null : promiseDay * DAY_MS + 20 * 3_600_000,
    deliveredMs,
    lostMs,
    returnedMs,
    costCents: Math.round(round(rng.between(service.cost[0], service.cost[1]), 2) * 100),
  };
}

/** The shipment record as of the cut-off, or null when it has not shipped yet. */
export function shipmentRecord(plan: ShipmentPlan, cutoffMs: number): Record<string, unknown> | null {
  if (plan.shippedMs >= cutoffMs) return null;
  const seen = (ms: number | null): ms is number => ms !== null && ms < cutoffMs;
  const delivered = seen(plan.deliveredMs);
  const returned = seen(plan.returnedMs);
  const lost = seen(plan.lostMs);
  const status = returned ? 'returned' : delivered ? 'delivered' : lost ? 'lost' : 'in_transit';
  const updatedMs = Math.max(plan.shippedMs, delivered ? plan.deliveredMs! : 0, returned ? plan.returnedMs! : 0, lost ? plan.lostMs! : 0);
  return {
    order_id: plan.orderRef,
    tracking_number: plan.trackingNumber,
    carrier: plan.carrier,
    service: plan.service,
    shipped_at: utcTime(plan.shippedMs),
    estimated_delivery_at: plan.promiseMs === null ? null : utcTime(plan.promiseMs),
    delivered_at: delivered ? utcTime(plan.deliveredMs!) : null,
    returned_at: returned ? utcTime(plan.returnedMs!) : null,
    status,
    shipping_cost: plan.costCents / 100,
    currency: 'USD',
    updated_at: utcTime(updatedMs),
  };
}
