import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** One line of the CDNOW sample: a purchase (tests/clv/fixtures/README.md). */
export interface CdnowPurchase {
  /** The customer's id in the sample, 1 … 2357. */
  customer: number;
  /** YYYY-MM-DD. */
  date: string;
  cds: number;
  /** US dollars, as written (two decimals). */
  amount: string;
}

/** Every purchase of the CDNOW sample, in file order. */
export function cdnowPurchases(): CdnowPurchase[] {
  const text = gunzipSync(readFileSync(new URL('./fixtures/cdnow-sample.txt.gz', import.meta.url))).toString('utf8');
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [, customer, date, cds, amount] = line.trim().split(/\s+/);
      return { customer: Number(customer), date: `${date!.slice(0, 4)}-${date!.slice(4, 6)}-${date!.slice(6, 8)}`, cds: Number(cds), amount: amount! };
    });
}

const DAY_MS = 86_400_000;
const days = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / DAY_MS;

/**
 * Each customer's history as of `end`, written out here from docs/metrics.md's words, apart from the
 * warehouse's SQL: purchase days are the distinct dates up to `end` (a day's amounts summed),
 * x = purchase days − 1, t_x and T in days / 7, m = the mean of the repeat days' amounts; and
 * the purchase days after `end` up to `holdoutEnd`.
 */
export function cdnowHistories(end: string, holdoutEnd?: string): { customer: number; x: number; tx: number; T: number; m: number; holdout: number }[] {
  const byCustomer = new Map<number, Map<string, number>>();
  for (const p of cdnowPurchases()) {
    const daysOf = byCustomer.get(p.customer) ?? new Map<string, number>();
    daysOf.set(p.date, (daysOf.get(p.date) ?? 0) + Number(p.amount));
    byCustomer.set(p.customer, daysOf);
  }
  return [...byCustomer].map(([customer, amounts]) => {
    const all = [...amounts.keys()].sort();
    const calibration = all.filter((d) => d <= end);
    const first = calibration[0]!;
    const last = calibration[calibration.length - 1]!;
    const repeat = calibration.slice(1).map((d) => amounts.get(d)!);
    return {
      customer,
      x: calibration.length - 1,
      tx: days(first, last) / 7,
      T: days(first, end) / 7,
      m: repeat.length ? repeat.reduce((s, v) => s + v, 0) / repeat.length : 0,
      holdout: holdoutEnd ? all.filter((d) => d > end && d <= holdoutEnd).length : 0,
    };
  });
}

/**
 * The CDNOW sample as Shopify orders (the Admin API Order shape of docs/streams.md), one order per
 * line: the sample id as the customer, the date at noon UTC, the amount as `total_price` in USD.
 * Two lines of one customer on one day are two orders, which the models count as one purchase
 * day.
 */
export function cdnowShopifyOrders(): Record<string, unknown>[] {
  return cdnowPurchases().map((p, i) => ({
    id: i + 1,
    name: `#${1001 + i}`,
    created_at: `${p.date}T12:00:00Z`,
    updated_at: `${p.date}T12:00:00Z`,
    cancelled_at: null,
    test: false,
    currency: 'USD',
    total_price: p.amount,
    subtotal_price: p.amount,
    total_discounts: '0.00',
    total_tax: '0.00',
    customer: { id: p.customer, email: null },
    email: null,
    line_items: [],
    refunds: [],
    payment_gateway_names: ['manual'],
    landing_site: null,
    referring_site: null,
  }));
}
