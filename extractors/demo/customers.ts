/**
 * The demo shop's Shopify customers: every registered customer who ordered in a window, with
 * their history up to the cut-off, listed by id as the Admin API lists them.
 *
 * A customer's orders all fall within {@link RETURN_WITHIN_DAYS} of their first, so once the
 * simulation has passed that horizon nothing can change their record: it is given out then and
 * forgotten. What is held at any time is a few numbers for each customer acquired in the last
 * year, whatever the length of the window (a map of every customer of the window, kept to its
 * end, made the landing's memory grow with the shop).
 */
import { DemoShop, RETURN_WITHIN_DAYS, type OrderPlan } from './shop.ts';
import { shopifyCustomer } from './shopify.ts';

/** The histories of the customers acquired on one day, by the slot of their first order. */
interface DayHistories {
  ordersCount: Int32Array;
  spentCents: Float64Array;
  lastOrderId: Float64Array;
  lastOrderNumber: Float64Array;
  lastOrderMs: Float64Array;
  updatedMs: Float64Array;
  /** 1 when the customer ordered in the window: only they are listed. */
  inWindow: Uint8Array;
}

function dayHistories(slots: number): DayHistories {
  return {
    ordersCount: new Int32Array(slots),
    spentCents: new Float64Array(slots),
    lastOrderId: new Float64Array(slots),
    lastOrderNumber: new Float64Array(slots),
    lastOrderMs: new Float64Array(slots),
    updatedMs: new Float64Array(slots),
    inWindow: new Uint8Array(slots),
  };
}

/**
 * The open histories: each order of a registered customer is added in the order the orders
 * were placed (day by day, slot by slot), and a day's customers are closed once no later order
 * can be theirs.
 */
export class CustomerLedger {
  private readonly open = new Map<number, DayHistories>();

  private readonly shop: DemoShop;
  private readonly cutoffMs: number;
  constructor(
    shop: DemoShop,
    cutoffMs: number,
  ) {
    this.shop = shop;
    this.cutoffMs = cutoffMs;
  }

  /** How many days of customers are held (at most a year and a day while reading forward). */
  get daysHeld(): number {
    return this.open.size;
  }

  /** Adds an order of a registered customer; `inWindow` when the order falls in the window read. */
  add(order: OrderPlan, inWindow: boolean): void {
    const customer = order.customer;
    if (!customer) return;
    let day = this.open.get(customer.acquiredDay);
    if (!day) this.open.set(customer.acquiredDay, (day = dayHistories(this.shop.orderCount(customer.acquiredDay))));
    const i = customer.acquiredSeq;
    const cancelled = order.cancel !== null && order.cancel.atMs < this.cutoffMs;
    day.ordersCount[i]! += 1;
    if (!cancelled) day.spentCents[i]! += order.totalCents;
    // Orders come in the order they were placed; of two placed at the same moment, the later slot is the last.
    if (day.ordersCount[i] === 1 || order.createdMs >= day.lastOrderMs[i]!) {
      day.lastOrderId[i] = order.id;
      day.lastOrderNumber[i] = order.number;
      day.lastOrderMs[i] = order.createdMs;
    }
    day.updatedMs[i] = Math.max(day.updatedMs[i]!, order.createdMs, cancelled ? order.cancel!.atMs : 0);
    if (inWindow) day.inWindow[i] = 1;
  }

  /** The records of the customers acquired on days up to `through` who ordered in the window, by id; they are forgotten. */
  *close(through: number): Generator<Record<string, unknown>> {
    const days = [...this.open.keys()].filter((day) => day <= through).sort((a, b) => a - b);
    for (const acquired of days) {
      const day = this.open.get(acquired)!;
      this.open.delete(acquired);
      for (let seq = 0; seq < day.inWindow.length; seq++) {
        if (!day.inWindow[seq]) continue;
        yield shopifyCustomer({
          customer: this.shop.customer(acquired, seq),
          ordersCount: day.ordersCount[seq]!,
          spentCents: day.spentCents[seq]!,
          lastOrder: { id: day.lastOrderId[seq]!, number: day.lastOrderNumber[seq]!, createdMs: day.lastOrderMs[seq]! },
          updatedMs: day.updatedMs[seq]!,
        });
      }
    }
  }
}

/**
 * The Admin API Customers of everyone who ordered from `first` to `last` (day numbers), their
 * orders counted up to `cutoffMs`, in order of id. Their earlier orders lie in the year before
 * `first`, which is read first (without listing the customers who ordered only then); their
 * later ones up to `through` (the last day of the data, `last` unless a backfill reads an
 * earlier window: the API gives a customer as they are now). A `ledger` passed in can be
 * watched for what is held.
 */
export function* demoCustomers(
  shop: DemoShop,
  first: number,
  last: number,
  cutoffMs: number,
  ledger = new CustomerLedger(shop, cutoffMs),
  through = last,
): Generator<Record<string, unknown>> {
  const end = Math.max(last, through);
  for (let day = first - RETURN_WITHIN_DAYS; day <= end; day++) {
    for (const order of shop.ordersOn(day)) ledger.add(order, day >= first && day <= last);
    // A customer acquired a year ago today can order no more.
    yield* ledger.close(day - RETURN_WITHIN_DAYS);
  }
  yield* ledger.close(end);
}
