/**
 * The demo shop as verite sources: the eight real source names with their real streams (the
 * catalogue's identity functions), reading the simulation instead of an API, so
 * `verite run --demo` lands the same raw tables as a real run.
 */
import { ConfigError } from '../../lib/errors.ts';
import { catalog, type StreamIdentity } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import { googleAdsRows, metaInsightsRows } from './ads.ts';
import { availableNets, chargeTransactions, payoutTransactions, type AvailableNet } from './balance.ts';
import { productRecords, unitCostRecords } from './catalogue.ts';
import { DemoFx } from './fx.ts';
import { shipmentPlan, shipmentRecord } from './shipments.ts';
import { demoCustomers } from './customers.ts';
import { DemoShop, MAX_ORDERS_PER_DAY, SHOP_OPENED, type OrderPlan } from './shop.ts';
import { shopifyOrder } from './shopify.ts';
import { invoiceCharges, stripeRecords } from './stripe.ts';
import { DemoStock } from './stock.ts';
import { DAY_MS, dayNumber, isoDay, yesterdayUtc } from './time.ts';
import { dayTraffic, ga4Rows } from './traffic.ts';

/** What the demo shop generates. */
export interface DemoOptions {
  seed: number;
  /** How many days of data, ending on `endDate`. */
  days: number;
  /** The average number of orders a day. */
  ordersPerDay: number;
  /** The last day of data (YYYY-MM-DD, inclusive); nothing after its end (UTC) is visible. */
  endDate: string;
  /** Rates for it are published too, so amounts convert into it. */
  reportingCurrency?: string;
}

/** The demo's default `endDate`: yesterday in UTC, the last complete day. */
export function defaultDemoEndDate(now: Date): string {
  return yesterdayUtc(now);
}

const PAGE_SIZE = 1000;
/** FX rows start this many days before the first order, so the first days have a rate to carry. */
const FX_LEAD_DAYS = 7;

interface Window {
  first: number;
  last: number;
  cutoffMs: number;
  endDate: string;
}

type Rec = Record<string, unknown>;

function validate(options: DemoOptions): Window {
  const problems: string[] = [];
  if (!Number.isSafeInteger(options.seed)) problems.push(`demo.seed: expected an integer, got ${options.seed}`);
  if (!Number.isInteger(options.days) || options.days < 1) problems.push(`demo.days: expected a whole number of days ≥ 1, got ${options.days}`);
  if (!(options.ordersPerDay > 0) || options.ordersPerDay > MAX_ORDERS_PER_DAY) {
    problems.push(`demo.ordersPerDay: expected a number above 0 and at most ${MAX_ORDERS_PER_DAY}, got ${options.ordersPerDay}`);
  }
  const validDate = /^\d{4}-\d{2}-\d{2}$/.test(options.endDate) && isoDay(dayNumber(options.endDate)) === options.endDate;
  if (!validDate) problems.push(`demo.endDate: expected a date as YYYY-MM-DD, got ${options.endDate}`);
  const last = validDate ? dayNumber(options.endDate) : 0;
  const first = last - Math.max(1, Math.floor(options.days)) + 1;
  if (validDate && first < dayNumber(SHOP_OPENED)) problems.push(`demo: the demo shop opened on ${SHOP_OPENED}; ${options.days} days to ${options.endDate} start before that`);
  if (problems.length) throw new ConfigError(problems);
  return { first, last, cutoffMs: (last + 1) * DAY_MS, endDate: options.endDate };
}

/** The days of the window a read covers: all of it, or its overlap with a backfill's window. */
function daysToRead(win: Window, ctx: ReadContext<unknown>, leadDays = 0): number[] {
  const from = Math.max(win.first - leadDays, ctx.window ? dayNumber(ctx.window.from) : -Infinity);
  const to = Math.min(win.last, ctx.window ? dayNumber(ctx.window.to) : Infinity);
  const days: number[] = [];
  for (let d = from; d <= to; d++) days.push(d);
  return days;
}

/** Records in pages of at most {@link PAGE_SIZE}, each carrying the cursor. */
async function* pages(records: Iterable<Rec>, win: Window): AsyncGenerator<Page> {
  let page: Rec[] = [];
  for (const record of records) {
    page.push(record);
    if (page.length === PAGE_SIZE) {
      yield { records: page, state: { through: win.endDate } };
      page = [];
    }
  }
  if (page.length) yield { records: page, state: { through: win.endDate } };
}

/**
 * A date report: pages of whole days, each naming its dates, so the loader replaces exactly
 * those days. Consecutive days share a page up to {@link PAGE_SIZE} rows (a page a day made two
 * years of three report streams some 2,200 transactions).
 */
async function* reportPages(days: readonly number[], rowsOf: (day: number) => Rec[], win: Window): AsyncGenerator<Page> {
  let records: Rec[] = [];
  let dates: string[] = [];
  for (const day of days) {
    const rows = rowsOf(day);
    // A page must hold every row of the dates it names; a demo day has about fifty.
    if (rows.length > PAGE_SIZE) throw new Error(`demo: ${rows.length} report rows on ${isoDay(day)} exceed a page`);
    if (records.length + rows.length > PAGE_SIZE) {
      yield { records, state: { through: win.endDate }, dates };
      records = [];
      dates = [];
    }
    records = records.concat(rows);
    dates.push(isoDay(day));
  }
  if (dates.length) yield { records, state: { through: win.endDate }, dates };
}

/**
 * The demo shop's sources: `shopify` (orders, customers, products, inventory_levels), `stripe`
 * (charges, refunds, balance_transactions), `ga4` (traffic_daily), `google_ads`
 * (campaign_daily), `meta_ads` (campaign_insights_daily), `shipments` (shipments), `fx` (rates)
 * and `costs` (unit_costs), all for `days` days to `endDate`.
 *
 * @example
 *   const sources = demoSources({ seed: 42, days: 730, ordersPerDay: 12, endDate: defaultDemoEndDate(new Date()) });
 */
export function demoSources(options: DemoOptions): Source[] {
  const win = validate(options);
  const shop = new DemoShop(options.seed, options.ordersPerDay);
  const fx = new DemoFx(options.seed, options.reportingCurrency);

  function* ordersOf(days: readonly number[]): Generator<OrderPlan> {
    for (const day of days) yield* shop.ordersOn(day);
  }
  const stream = (identity: StreamIdentity, read: (ctx: ReadContext<unknown>) => AsyncIterable<Page>): Stream => ({ ...identity, read });

  const orders = stream(catalog.shopify.orders, (ctx) =>
    pages(
      (function* () {
        for (const order of ordersOf(daysToRead(win, ctx))) yield shopifyOrder(order, shipmentPlan(shop, order), win.cutoffMs);
      })(),
      win,
    ),
  );
  // The customers who ordered in the days read, as they are at the end of the data: a backfill's
  // window (or the benchmark's nightly day) lists those days' customers, not every customer of
  // the window again (611,645 of them for one day at 1,400 orders a day over two years).
  const customers = stream(catalog.shopify.customers, (ctx) => {
    const days = daysToRead(win, ctx);
    return pages(days.length ? demoCustomers(shop, days[0]!, days[days.length - 1]!, win.cutoffMs, undefined, win.last) : [], win);
  });

  const stripeOf = (ctx: ReadContext<unknown>, part: 'charges' | 'refunds') =>
    pages(
      (function* () {
        for (const day of daysToRead(win, ctx)) {
          for (const order of shop.ordersOn(day)) yield* stripeRecords(shop, order, win.cutoffMs)[part];
          if (part === 'charges') yield* invoiceCharges(shop, day, win.cutoffMs);
        }
      })(),
      win,
    );
  const charges = stream(catalog.stripe.charges, (ctx) => stripeOf(ctx, 'charges'));
  const refunds = stream(catalog.stripe.refunds, (ctx) => stripeOf(ctx, 'refunds'));

  const trafficOf = (day: number) => dayTraffic(shop, fx, day, shop.ordersOn(day));
  const ga4 = stream(catalog.ga4.traffic_daily, (ctx) => reportPages(daysToRead(win, ctx), (day) => ga4Rows(shop, trafficOf(day)), win));
  const googleAds = stream(catalog.google_ads.campaign_daily, (ctx) => reportPages(daysToRead(win, ctx), (day) => googleAdsRows(shop, trafficOf(day)), win));
  const metaAds = stream(catalog.meta_ads.campaign_insights_daily, (ctx) =>
    reportPages(daysToRead(win, ctx), (day) => metaInsightsRows(shop, fx, trafficOf(day)), win),
  );

  const shipments = stream(catalog.shipments.shipments, (ctx) =>
    pages(
      (function* () {
        for (const order of ordersOf(daysToRead(win, ctx))) {
          const plan = shipmentPlan(shop, order);
          const record = plan && shipmentRecord(plan, win.cutoffMs);
          if (record) yield record;
        }
      })(),
      win,
    ),
  );

  const rates = stream(catalog.fx.rates, (ctx) =>
    pages(
      (function* () {
        for (const day of daysToRead(win, ctx, FX_LEAD_DAYS)) yield* fx.records(day);
      })(),
      win,
    ),
  );

  const products = stream(catalog.shopify.products, () => pages(productRecords(win.first), win));
  const stock = new DemoStock(shop, options.seed, win.first);
  const inventoryLevels = stream(catalog.shopify.inventory_levels, (ctx) => reportPages(daysToRead(win, ctx), (day) => stock.snapshot(day), win));

  // A day's transactions are read on their day; the payouts of the weeks after it need only
  // their sums, kept for the look-back (not the transactions: they grew with the shop).
  const netsByDay = new Map<number, readonly AvailableNet[]>();
  const netsOf = (day: number): readonly AvailableNet[] => {
    let found = netsByDay.get(day);
    if (!found) netsByDay.set(day, (found = availableNets(chargeTransactions(shop, day, win.cutoffMs))));
    return found;
  };
  const balanceTransactions = stream(catalog.stripe.balance_transactions, (ctx) =>
    pages(
      (function* () {
        for (const day of daysToRead(win, ctx)) {
          const transactions = chargeTransactions(shop, day, win.cutoffMs);
          netsByDay.set(day, availableNets(transactions));
          yield* transactions;
          yield* payoutTransactions(day, win.first, win.cutoffMs, netsOf);
          netsByDay.delete(day - 40);
        }
      })(),
      win,
    ),
  );

  const unitCosts = stream(catalog.costs.unit_costs, () => pages(unitCostRecords(win.first, win.last), win));

  return [
    { name: 'shopify', streams: [orders, customers, products, inventoryLevels] },
    { name: 'stripe', streams: [charges, refunds, balanceTransactions] },
    { name: 'ga4', streams: [ga4] },
    { name: 'google_ads', streams: [googleAds] },
    { name: 'meta_ads', streams: [metaAds] },
    { name: 'shipments', streams: [shipments] },
    { name: 'fx', streams: [rates] },
    { name: 'costs', streams: [unitCosts] },
  ];
}
