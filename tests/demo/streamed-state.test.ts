import { beforeAll, describe, expect, it } from 'vitest';
import { availableNets, chargeTransactions } from '../../extractors/demo/balance.ts';
import { CustomerLedger, demoCustomers } from '../../extractors/demo/customers.ts';
import { DemoShop, RETURN_WITHIN_DAYS, type OrderPlan } from '../../extractors/demo/shop.ts';
import { dayNumber } from '../../extractors/demo/time.ts';
import { cents, cutoffOf, problems, readDemo, records, type DemoRead, type Rec } from './read-demo.ts';

/** A demo shop that notes the furthest day whose orders were asked for, and calls `onDay` before each. */
class WatchedShop extends DemoShop {
  furthest = -Infinity;
  onDay: () => void = () => undefined;

  override ordersOn(day: number): OrderPlan[] {
    this.onDay();
    this.furthest = Math.max(this.furthest, day);
    return super.ordersOn(day);
  }
}

/** The day of a demo customer's first order, from their id (7012000000000 + day × 100000 + slot of that order). */
const acquiredDay = (customerId: number) => Math.floor((customerId - 7_012_000_000_000) / 100_000);

describe('demo customers', () => {
  // The shop opened on 2015-01-01: a read from that day holds every order of every customer.
  const END = '2016-06-30';
  let whole: DemoRead;
  let later: DemoRead;
  beforeAll(async () => {
    [whole, later] = await Promise.all([readDemo({ seed: 21, days: 547, ordersPerDay: 8, endDate: END }), readDemo({ seed: 21, days: 120, ordersPerDay: 8, endDate: END })]);
  });

  it('count every order of a customer up to the cut-off, those of the year before the window too, listed by id', () => {
    // Each customer's history worked out from the orders of the whole history.
    const expected = new Map<number, { count: number; spent: number; last: Rec; updatedMs: number }>();
    for (const o of records(whole, 'shopify.orders')) {
      if (!o.customer) continue;
      const h = expected.get(o.customer.id) ?? { count: 0, spent: 0, last: o, updatedMs: 0 };
      h.count += 1;
      if (!o.cancelled_at) h.spent += cents(o.total_price);
      if (Date.parse(o.created_at) >= Date.parse(h.last.created_at)) h.last = o;
      h.updatedMs = Math.max(h.updatedMs, Date.parse(o.created_at), o.cancelled_at ? Date.parse(o.cancelled_at) : 0);
      expected.set(o.customer.id, h);
    }
    const mismatch = (c: Rec) => {
      const h = expected.get(c.id);
      if (!h) return `customer ${c.id} has no order`;
      const got = [c.orders_count, cents(c.total_spent), c.last_order_id, c.last_order_name, Date.parse(c.updated_at)];
      const want = [h.count, h.spent, h.last.id, h.last.name, Math.max(Date.parse(c.created_at), h.updatedMs)];
      return JSON.stringify(got) !== JSON.stringify(want) && `customer ${c.id}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    };
    for (const read of [whole, later]) {
      const customers = records(read, 'shopify.customers');
      const ordered = new Set(records(read, 'shopify.orders').flatMap((o) => (o.customer ? [o.customer.id] : [])));
      expect(new Set(customers.map((c) => c.id))).toEqual(ordered);
      expect(problems(customers, mismatch)).toEqual([]);
      // By id, as the Admin API lists them.
      expect(problems(customers.keys(), (i) => i > 0 && !(customers[i]!.id > customers[i - 1]!.id) && `customer ${customers[i]!.id} out of order`)).toEqual([]);
    }
    // The 120-day window sees customers whose earlier orders came before it.
    const inWindow = new Map<number, number>();
    for (const o of records(later, 'shopify.orders')) if (o.customer) inWindow.set(o.customer.id, (inWindow.get(o.customer.id) ?? 0) + 1);
    expect(records(later, 'shopify.customers').filter((c) => c.orders_count > inWindow.get(c.id)!).length).toBeGreaterThan(20);
  });

  it('are given out within a year of their first order, not at the end of the window (landing memory grew with the shop)', () => {
    // Three years: a customer's orders all fall within RETURN_WITHIN_DAYS of their first, so
    // once the simulation is that far past it their record is final and need not be held.
    const last = dayNumber('2024-12-31');
    const first = last - 3 * 365 + 1;
    const cutoffMs = cutoffOf('2024-12-31');
    const shop = new WatchedShop(5, 20);
    const ledger = new CustomerLedger(shop, cutoffMs);
    let mostDaysHeld = 0;
    shop.onDay = () => (mostDaysHeld = Math.max(mostDaysHeld, ledger.daysHeld));
    const late: string[] = [];
    let listed = 0;
    for (const customer of demoCustomers(shop, first, last, cutoffMs, ledger)) {
      listed++;
      const acquired = acquiredDay(customer.id as number);
      if (shop.furthest > acquired + RETURN_WITHIN_DAYS && late.length < 5) late.push(`customer ${customer.id} (first order on day ${acquired}) given out on day ${shop.furthest}`);
    }
    expect(late).toEqual([]);
    // About 20 orders a day, more than a third of them by new customers: thousands listed.
    expect(listed).toBeGreaterThan(3 * 365 * 5);
    expect(shop.furthest).toBe(last);
    // The customers of one year and one day at most, however long the window.
    expect(mostDaysHeld).toBeGreaterThan(0);
    expect(mostDaysHeld).toBeLessThanOrEqual(RETURN_WITHIN_DAYS + 1);
    expect(ledger.daysHeld).toBe(0);
  });
});

describe('demo Stripe payouts', () => {
  it("keep a few sums of a day's transactions for their look-back, not the transactions (landing memory grew with the shop)", () => {
    const shop = new DemoShop(3, 2000);
    const transactions = chargeTransactions(shop, dayNumber('2024-05-06'), cutoffOf('2024-12-31'));
    const nets = availableNets(transactions);
    const expected = new Map<string, number>();
    for (const t of transactions) expected.set(`${t.available_on}|${t.currency}`, (expected.get(`${t.available_on}|${t.currency}`) ?? 0) + (t.net as number));
    expect(new Map(nets.map((n) => [`${n.available}|${n.currency}`, n.net]))).toEqual(expected);
    expect(nets.length).toBe(expected.size);
    // Three currencies; charges on the day or just after midnight, refunds up to 20 days later
    // (and past midnight): created on 22 days at most, each available two days on.
    expect(transactions.length).toBeGreaterThan(1000);
    expect(nets.length).toBeLessThanOrEqual(3 * 22);
  });
});

describe('demo stock', () => {
  it("reads what the day's orders sold from their baskets alone, which are each order's lines", () => {
    // The stock generates every order since the first day for its snapshots: it draws the baskets
    // alone (the same random draws as the orders, stopped at their lines). Over a few hundred
    // days of a busy shop, guests, returning customers and test orders included, they must be
    // the orders' own lines, in the same order.
    const shop = new DemoShop(11, 300);
    let orders = 0;
    let lines = 0;
    const kinds = new Set<string>();
    for (let day = dayNumber('2024-01-01'); day <= dayNumber('2024-04-30'); day += 3) {
      const baskets = shop.basketsOn(day);
      const placed = shop.ordersOn(day);
      expect(baskets.length, `day ${day}`).toBe(placed.length);
      placed.forEach((order, i) => {
        const basket = baskets[i]!;
        kinds.add(order.kind);
        expect(basket.test, order.id.toString()).toBe(order.test);
        expect(basket.createdMs, order.id.toString()).toBe(order.createdMs);
        expect(basket.lines.map((l) => [l.variant.id, l.quantity]), order.id.toString()).toEqual(order.lines.map((l) => [l.variant.id, l.quantity]));
        lines += order.lines.length;
      });
      orders += placed.length;
    }
    expect(orders).toBeGreaterThan(10_000);
    expect(lines).toBeGreaterThan(orders);
    expect([...kinds].sort()).toEqual(['guest', 'new', 'returning', 'test']);
  });
});
