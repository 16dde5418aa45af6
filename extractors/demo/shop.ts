/**
 * The demo shop's simulation: how many orders each day brings, and every order's whole life
 * (customer, basket, money, cancellation, refunds) decided the moment it is placed. Each
 * order slot (day, n-th order of the day) draws from its own generator, so an order never
 * depends on the window being generated; what a run may *see* of an order's later life is
 * decided when it is rendered, against the run's cut-off.
 */
import { Rng, tagOf, Weighted } from '../../lib/random.ts';
import {
  CHANNEL_CHOICE,
  CURRENCY_CHOICE,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  MARKETS,
  PRODUCT_CHOICE,
  PROSPECTING,
  TOUCHPOINT_CHOICE,
  prospectingCampaign,
  type Currency,
  type Market,
  type Product,
  type Region,
  type Touchpoint,
  type Variant,
} from './shop-data.ts';
import { DAY_MS, dayNumber, isoDay, thanksgiving, weekday } from './time.ts';

/** The shop's first trading day: order names count from here, so they do not depend on the window. */
export const SHOP_OPENED = '2015-01-01';
const OPENED_DAY = dayNumber(SHOP_OPENED);

const TAG = {
  count: tagOf('count'),
  slot: tagOf('slot'),
  customer: tagOf('customer'),
  guest: tagOf('guest'),
} as const;

/** The first draw of a slot decides who orders; fixed thresholds so any slot's kind is cheap to look up. */
const TEST_BELOW = 0.01;
const GUEST_BELOW = 0.09;
const RETURNING_BELOW = 0.44;
/** Of guest slots (second draw), the share that re-uses an earlier guest's e-mail. */
const REPEAT_GUEST_BELOW = 0.3;
/** Customers come back within a year, most within a few weeks (mean of the look-back, days). */
const RETURN_MEAN_DAYS = 40;
const GUEST_RETURN_MEAN_DAYS = 60;
/** A customer's orders all fall within this many days of their first (so a year of history holds them all). */
export const RETURN_WITHIN_DAYS = 365;
const CHECKPOINT_DAYS = 64;

export type SlotKind = 'test' | 'guest' | 'returning' | 'new';

/**
 * Ids are built from (day, slot), with room for 100,000 slots a day; a peak day brings about
 * three times the average, hence this cap on `ordersPerDay`.
 */
export const MAX_ORDERS_PER_DAY = 20_000;

/** The Shopify id of the customer whose first order was slot (day, seq). */
export function customerId(day: number, seq: number): number {
  return 7_012_000_000_000 + day * 100_000 + seq;
}

function kindOf(u: number): SlotKind {
  return u < TEST_BELOW ? 'test' : u < GUEST_BELOW ? 'guest' : u < RETURNING_BELOW ? 'returning' : 'new';
}

// Orders by UTC hour: American evenings and European days.
const HOURLY = [5.5, 5.5, 4.5, 3.2, 2, 1.2, 0.9, 1, 1.4, 1.8, 2.2, 2.6, 3, 3.6, 4.2, 4.6, 4.8, 5, 5.1, 5.2, 5.3, 5.6, 5.8, 5.7];
const HOURLY_TOTAL = HOURLY.reduce((s, w) => s + w, 0);
const HOURLY_CUMULATIVE: number[] = [];
for (let h = 0, sum = 0; h < 24; h++) HOURLY_CUMULATIVE.push((sum += HOURLY[h] as number) / HOURLY_TOTAL);

/** Seconds into the day at quantile `q` of the hourly profile. */
function secondOfDay(q: number): number {
  let before = 0;
  for (let h = 0; h < 24; h++) {
    const upTo = HOURLY_CUMULATIVE[h] as number;
    if (q < upTo || h === 23) return Math.min(86_399, Math.floor((h + (q - before) / (upTo - before)) * 3600));
    before = upTo;
  }
  return 86_399;
}

// Sunday … Saturday.
const WEEKDAY_FACTOR = [1.08, 1.05, 0.97, 0.95, 0.96, 0.93, 1.06];

const ASCII = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
const FIRST_ASCII = FIRST_NAMES.map(ASCII);
const LAST_ASCII = LAST_NAMES.map(ASCII);

const CARD_BRANDS = new Weighted<string>([
  ['visa', 55],
  ['mastercard', 30],
  ['amex', 12],
  ['discover', 3],
]);

export interface CardPlan {
  brand: string;
  last4: string;
  country: string;
  expMonth: number;
  expYear: number;
  funding: 'credit' | 'debit';
}

export interface Person {
  firstName: string;
  lastName: string;
  email: string;
}

/** A registered customer, identified by the slot of the order that made them one. */
export interface CustomerPlan extends Person {
  id: number;
  acquiredDay: number;
  acquiredSeq: number;
  /** The account is created at checkout, a little before that first order. */
  createdMs: number;
  currency: Currency;
  region: Region;
  zip: string;
  acceptsMarketing: boolean;
  /** Shopify `state`: most checkout accounts are never activated. */
  state: 'enabled' | 'disabled' | 'invited';
  stripeCustomerId: string;
  card: CardPlan;
}

export interface LinePlan {
  id: number;
  product: Product;
  variant: Variant;
  quantity: number;
  unitCents: number;
  discountCents: number;
  taxCents: number;
}

export interface RefundLinePlan {
  id: number;
  lineIndex: number;
  quantity: number;
  subtotalCents: number;
  taxCents: number;
}

export interface RefundPlan {
  id: number;
  atMs: number;
  note: string;
  restockType: 'return' | 'cancel' | 'no_restock';
  lines: RefundLinePlan[];
  shippingCents: number;
  amountCents: number;
  /** A first attempt that failed (status `failure`): it must never count as refunded. */
  failedFirst: boolean;
  transactionIds: readonly [failed: number, succeeded: number];
  reason: 'requested_by_customer' | 'fraudulent' | 'duplicate';
}

export interface OrderPlan {
  day: number;
  seq: number;
  id: number;
  number: number;
  createdMs: number;
  kind: SlotKind;
  test: boolean;
  customer: CustomerPlan | null;
  /** The e-mail as the buyer typed it (a returning guest's may differ in case and spaces). */
  email: string | null;
  buyer: { firstName: string; lastName: string };
  acceptsMarketing: boolean;
  currency: Currency;
  market: Market;
  region: Region;
  zip: string;
  touchpoint: Touchpoint;
  campaign: string;
  landingSite: string;
  referringSite: string | null;
  lines: LinePlan[];
  discountCode: { code: string; percent: number } | null;
  lineItemsCents: number;
  discountCents: number;
  subtotalCents: number;
  shippingCents: number;
  shippingTitle: string;
  taxCents: number;
  totalCents: number;
  grams: number;
  gateway: 'stripe' | 'paypal' | 'bogus';
  cancel: { atMs: number; reason: 'customer' | 'fraud' | 'inventory' | 'declined' | 'other' } | null;
  refunds: RefundPlan[];
}

/** An order slot: the `seq`-th order placed on `day`. */
interface Slot {
  day: number;
  seq: number;
}

/** What an order sold, without the rest of it (`DemoShop.basketsOn`, for the stock). */
export interface Basket {
  test: boolean;
  createdMs: number;
  lines: { variant: Variant; quantity: number }[];
}

/** The draws of an order slot up to its basket (`DemoShop.slotDraws`). */
interface SlotDraws {
  /** The slot's generator, where the rest of the order goes on drawing. */
  rng: Rng;
  kind: SlotKind;
  createdMs: number;
  /** The slot of the registered customer's first order, or null. */
  customer: Slot | null;
  /** A guest's: the slot of their first guest checkout. */
  guest: Slot | null;
  /** A returning guest's retyping of their e-mail (`retyped`), or null. */
  retype: number | null;
  keepsEmail: boolean;
  /** Drawn when there is no customer, whose own are used otherwise. */
  place: { currency: Currency; region: Region; zip: string } | null;
  basket: { product: Product; variant: Variant; quantity: number }[];
}

const LINE_COUNT = new Weighted<number>([
  [1, 55],
  [2, 28],
  [3, 12],
  [4, 5],
]);
const QUANTITY = new Weighted<number>([
  [1, 82],
  [2, 14],
  [3, 4],
]);
const CANCEL_REASON = new Weighted<NonNullable<OrderPlan['cancel']>['reason']>([
  ['customer', 50],
  ['fraud', 15],
  ['inventory', 15],
  ['declined', 10],
  ['other', 10],
]);

/**
 * The simulated shop. `seed` and `ordersPerDay` fix everything; the window a run looks at is
 * not part of it.
 */
export class DemoShop {
  private readonly counts = new Map<number, number>();
  /** The first order number of every 64th day since the opening. */
  private readonly checkpoints: number[] = [1001];

  readonly seed: number;
  readonly ordersPerDay: number;
  constructor(
    seed: number,
    ordersPerDay: number,
  ) {
    this.seed = seed;
    this.ordersPerDay = ordersPerDay;
  }

  /** The expected number of orders on a day: weekday rhythm, a winter peak, Black Friday / Cyber Monday. */
  expectedOrders(day: number): number {
    if (day < OPENED_DAY) return 0;
    const year = new Date(day * DAY_MS).getUTCFullYear();
    const dayOfYear = day - Math.floor(Date.UTC(year, 0, 1) / DAY_MS);
    const season = 1 + 0.1 * Math.cos((2 * Math.PI * (dayOfYear - 350)) / 365.25);
    const sinceThanksgiving = day - thanksgiving(year);
    const peak = [1.2, 2.4, 1.6, 1.4, 2.0][sinceThanksgiving] ?? 1;
    return this.ordersPerDay * (WEEKDAY_FACTOR[weekday(day)] as number) * season * peak;
  }

  /** How many orders a day has (a Poisson draw of its own). */
  orderCount(day: number): number {
    let n = this.counts.get(day);
    if (n === undefined) {
      n = Rng.for(this.seed, TAG.count, day).poisson(this.expectedOrders(day));
      // Bounded, so a long generator run does not grow memory with the days it passes.
      if (this.counts.size > 50_000) this.counts.clear();
      this.counts.set(day, n);
    }
    return n;
  }

  /** The number in the name (`#1001`) of the day's first order: every order since the shop opened counts. */
  firstNumberOn(day: number): number {
    if (day <= OPENED_DAY) return 1001;
    // Checkpoints every 64 days keep any day's number a short sum away, in whatever order days are asked.
    const k = Math.floor((day - OPENED_DAY) / CHECKPOINT_DAYS);
    while (this.checkpoints.length <= k) {
      const from = OPENED_DAY + (this.checkpoints.length - 1) * CHECKPOINT_DAYS;
      let first = this.checkpoints[this.checkpoints.length - 1] as number;
      for (let d = from; d < from + CHECKPOINT_DAYS; d++) first += this.orderCount(d);
      this.checkpoints.push(first);
    }
    let first = this.checkpoints[k] as number;
    for (let d = OPENED_DAY + k * CHECKPOINT_DAYS; d < day; d++) first += this.orderCount(d);
    return first;
  }

  /** Every order placed on a day, in the order they were placed. */
  ordersOn(day: number): OrderPlan[] {
    const n = this.orderCount(day);
    const first = this.firstNumberOn(day);
    const orders: OrderPlan[] = new Array(n);
    for (let seq = 0; seq < n; seq++) orders[seq] = this.order(day, seq, first + seq);
    return orders;
  }

  /**
   * When the slot's order is placed: the day's orders are spread over the hourly profile by
   * stratified quantiles, so times rise with the order number and each is computable alone.
   */
  slotTime(day: number, seq: number): number {
    const rng = Rng.for(this.seed, TAG.slot, day, seq);
    rng.next();
    rng.next();
    return this.timeAt(day, seq, rng.next());
  }

  private timeAt(day: number, seq: number, u: number): number {
    const n = Math.max(1, this.orderCount(day));
    return day * DAY_MS + secondOfDay((Math.min(seq, n - 1) + u) / n) * 1000;
  }

  /** The registered customer whose first order was slot (day, seq). */
  customer(day: number, seq: number): CustomerPlan {
    const rng = Rng.for(this.seed, TAG.customer, day, seq);
    const person = this.person(rng);
    const currency = CURRENCY_CHOICE.sample(rng);
    const market = MARKETS[currency];
    const region = market.regions.sample(rng);
    return {
      firstName: person.firstName,
      lastName: person.lastName,
      email: person.email,
      id: customerId(day, seq),
      acquiredDay: day,
      acquiredSeq: seq,
      createdMs: this.slotTime(day, seq) - rng.int(60, 1800) * 1000,
      currency,
      region,
      zip: rng.pick(region.zips),
      acceptsMarketing: rng.chance(0.45),
      state: rng.chance(0.3) ? 'enabled' : rng.chance(0.1) ? 'invited' : 'disabled',
      stripeCustomerId: `cus_${rng.base62(14)}`,
      card: this.card(rng, region),
    };
  }

  /** A card as Stripe describes it; `rng` decides. */
  card(rng: Rng, region: Region): CardPlan {
    const brand = region.countryCode === 'US' ? CARD_BRANDS.sample(rng) : rng.chance(0.6) ? 'visa' : 'mastercard';
    return {
      brand,
      last4: rng.digits(4),
      country: region.countryCode,
      expMonth: rng.int(1, 12),
      expYear: 2026 + rng.int(0, 5),
      funding: rng.chance(0.7) ? 'credit' : 'debit',
    };
  }

  private person(rng: Rng): Person {
    const f = rng.int(0, FIRST_NAMES.length - 1);
    const l = rng.int(0, LAST_NAMES.length - 1);
    const first = FIRST_ASCII[f] as string;
    const last = LAST_ASCII[l] as string;
    const style = rng.next();
    // Most people add digits, which keeps unrelated customers' addresses apart.
    const local = style < 0.2 ? `${first}.${last}` : style < 0.7 ? `${first}.${last}${rng.int(1, 999)}` : `${first[0]}${last}${rng.int(10, 99)}`;
    return { firstName: FIRST_NAMES[f] as string, lastName: LAST_NAMES[l] as string, email: `${local}@${rng.pick(EMAIL_DOMAINS)}` };
  }

  /** A guest's identity, drawn from the slot of their first guest checkout. */
  private guest(day: number, seq: number): Person {
    return this.person(Rng.for(this.seed, TAG.guest, day, seq));
  }

  /** An earlier slot, `mean` days back on average, whose first draws satisfy `accept`; null after a few misses. */
  private findEarlier(rng: Rng, day: number, mean: number, accept: (r: Rng) => boolean): { day: number; seq: number } | null {
    for (let attempt = 0; attempt < 12; attempt++) {
      const back = 1 + Math.floor(-Math.log(1 - rng.next()) * mean);
      const seqDraw = rng.next();
      if (back > RETURN_WITHIN_DAYS) continue;
      const n = this.orderCount(day - back);
      if (n === 0) continue;
      const seq = Math.floor(seqDraw * n);
      if (accept(Rng.for(this.seed, TAG.slot, day - back, seq))) return { day: day - back, seq };
    }
    return null;
  }

  /**
   * Who placed slot (day, seq), without the rest of the order: the registered customer (or
   * null), and the kind after resolution. Cheap, for scanning history.
   */
  buyerOf(day: number, seq: number): { kind: SlotKind; customer: { day: number; seq: number } | null } {
    const rng = Rng.for(this.seed, TAG.slot, day, seq);
    const kind = kindOf(rng.next());
    rng.next();
    rng.next();
    if (kind === 'new') return { kind, customer: { day, seq } };
    if (kind !== 'returning') return { kind, customer: null };
    const earlier = this.findEarlier(rng, day, RETURN_MEAN_DAYS, (r) => kindOf(r.next()) === 'new');
    return earlier ? { kind, customer: earlier } : { kind: 'new', customer: { day, seq } };
  }

  /**
   * The draws of slot (day, seq) up to its basket, in the order {@link order} makes them: who
   * placed it (by slot: the registered customer and a guest are not generated here), what the
   * buyer's e-mail becomes, the currency, region and zip drawn when there is no customer, and
   * the basket. `rng` then goes on with the rest of the order. The stock reads these alone.
   */
  private slotDraws(day: number, seq: number): SlotDraws {
    const rng = Rng.for(this.seed, TAG.slot, day, seq);
    let kind = kindOf(rng.next());
    const guestDraw = rng.next();
    const createdMs = this.timeAt(day, seq, rng.next());

    let customer: Slot | null = null;
    if (kind === 'returning') {
      customer = this.findEarlier(rng, day, RETURN_MEAN_DAYS, (r) => kindOf(r.next()) === 'new');
      if (!customer) kind = 'new';
    }
    if (kind === 'new') customer = { day, seq };
    let guest: Slot | null = null;
    let retype: number | null = null;
    let keepsEmail = true;
    if (!customer && kind === 'guest') {
      const earlier =
        guestDraw < REPEAT_GUEST_BELOW
          ? this.findEarlier(rng, day, GUEST_RETURN_MEAN_DAYS, (r) => {
              const u = r.next();
              return u >= TEST_BELOW && u < GUEST_BELOW && r.next() >= REPEAT_GUEST_BELOW;
            })
          : null;
      guest = earlier ?? { day, seq };
      // A returning guest types their address a little differently; the lower-cased, trimmed e-mail still matches.
      if (earlier) retype = rng.int(0, 4);
      // Now and then a checkout leaves no e-mail at all (a phone-only order).
      keepsEmail = !rng.chance(0.03);
    } else if (!customer) {
      keepsEmail = rng.chance(0.9);
    }

    let place: SlotDraws['place'] = null;
    if (!customer) {
      const currency = CURRENCY_CHOICE.sample(rng);
      const region = MARKETS[currency].regions.sample(rng);
      place = { currency, region, zip: rng.pick(region.zips) };
    }

    const basket: SlotDraws['basket'] = [];
    const lineCount = LINE_COUNT.sample(rng);
    for (let i = 0; i < lineCount; i++) {
      const product = PRODUCT_CHOICE.sample(rng);
      basket.push({ product, variant: rng.pick(product.variants), quantity: QUANTITY.sample(rng) });
    }
    return { rng, kind, createdMs, customer, guest, retype, keepsEmail, place, basket };
  }

  /** What the day's orders sold, in the order they were placed, without the rest of each order: for the stock. */
  basketsOn(day: number): Basket[] {
    const n = this.orderCount(day);
    const out = new Array<Basket>(n);
    for (let seq = 0; seq < n; seq++) {
      const d = this.slotDraws(day, seq);
      out[seq] = { test: d.kind === 'test', createdMs: d.createdMs, lines: d.basket };
    }
    return out;
  }

  /** Order slot (day, seq), named `#number`, with its whole planned life. */
  order(day: number, seq: number, number: number): OrderPlan {
    const draws = this.slotDraws(day, seq);
    const { rng, kind, createdMs } = draws;
    const key = day * 100_000 + seq;

    const customer = draws.customer ? this.customer(draws.customer.day, draws.customer.seq) : null;
    let email: string | null;
    let buyer: Person;
    if (customer) {
      email = customer.email;
      buyer = customer;
    } else if (kind === 'guest') {
      buyer = this.guest(draws.guest!.day, draws.guest!.seq);
      email = draws.retype === null ? buyer.email : retyped(buyer.email, draws.retype);
      if (!draws.keepsEmail) email = null;
    } else {
      buyer = { firstName: 'Store', lastName: 'QA', email: 'qa@northwind-outfitters.example' };
      email = draws.keepsEmail ? buyer.email : null;
    }
    const test = kind === 'test';

    const currency = customer ? customer.currency : draws.place!.currency;
    const market = MARKETS[currency];
    const region = customer ? customer.region : draws.place!.region;
    const zip = customer ? customer.zip : draws.place!.zip;

    // The basket, in integer cents of the order's currency.
    const lines: LinePlan[] = [];
    let lineItemsCents = 0;
    let grams = 0;
    for (const [i, { product, variant, quantity }] of draws.basket.entries()) {
      const unitCents = product.prices[currency];
      lines.push({ id: 13_400_000_000_000 + key * 10 + i, product, variant, quantity, unitCents, discountCents: 0, taxCents: 0 });
      lineItemsCents += unitCents * quantity;
      grams += product.grams * quantity;
    }

    const touchpoint = TOUCHPOINT_CHOICE.get(CHANNEL_CHOICE.sample(rng).channel)!.sample(rng);
    const campaign = touchpoint.campaign === PROSPECTING ? prospectingCampaign(isoDay(day)) : touchpoint.campaign;
    const discountCode = chooseDiscount(rng, kind, campaign, day);
    let discountCents = 0;
    let taxCents = 0;
    for (const line of lines) {
      const gross = line.unitCents * line.quantity;
      // Shopify allocates a percentage discount to each line; the order's discount is their sum.
      line.discountCents = discountCode ? Math.round((gross * discountCode.percent) / 100) : 0;
      line.taxCents = Math.round((gross - line.discountCents) * region.taxRate);
      discountCents += line.discountCents;
      taxCents += line.taxCents;
    }
    const subtotalCents = lineItemsCents - discountCents;
    const express = rng.chance(0.12);
    const shippingCents = express ? market.expressShippingCents : subtotalCents >= market.freeShippingFromCents ? 0 : market.standardShippingCents;
    const totalCents = subtotalCents + shippingCents + taxCents;

    const landing = landingPath(rng, touchpoint, lines[0]!.product.handle);
    const landingSite = touchpoint.tagged ? `${landing}?${utmQuery(rng, touchpoint, campaign)}` : landing;
    const referringSite = touchpoint.referrer ?? (rng.chance(0.5) ? '' : null);

    const gateway = test ? 'bogus' : rng.chance(0.1) ? 'paypal' : 'stripe';
    const cancel = !test && rng.chance(0.02) ? { atMs: createdMs + rng.int(600, 30 * 3600) * 1000, reason: CANCEL_REASON.sample(rng) } : null;

    const order: OrderPlan = {
      day,
      seq,
      id: 5_400_000_000_000 + day * 1_000_000 + seq * 10 + rng.int(0, 9),
      number,
      createdMs,
      kind,
      test,
      customer,
      email,
      buyer: { firstName: buyer.firstName, lastName: buyer.lastName },
      acceptsMarketing: customer ? customer.acceptsMarketing : rng.chance(0.3),
      currency,
      market,
      region,
      zip,
      touchpoint,
      campaign,
      landingSite,
      referringSite,
      lines,
      discountCode,
      lineItemsCents,
      discountCents,
      subtotalCents,
      shippingCents,
      shippingTitle: express ? 'Express' : shippingCents === 0 ? 'Free Shipping' : 'Standard',
      taxCents,
      totalCents,
      grams,
      gateway,
      cancel,
      refunds: [],
    };
    if (cancel) order.refunds.push(fullRefund(order, key, 0, cancel.atMs + rng.int(5, 60) * 1000, 'Order cancelled', 'cancel', rng.chance(0.12), cancel.reason === 'fraud' ? 'fraudulent' : 'requested_by_customer'));
    else if (!test && rng.chance(0.06)) order.refunds.push(laterRefund(order, key, rng));
    return order;
  }
}

/** The same address typed again: other capitals, stray spaces; `style` (0–4, drawn by the order) says which. */
function retyped(email: string, style: number): string {
  const [local = '', domain = ''] = email.split('@');
  if (style === 0) return email;
  if (style === 1) return `${local.charAt(0).toUpperCase()}${local.slice(1).replace(/\.(.)/, (_, c: string) => `.${c.toUpperCase()}`)}@${domain}`;
  if (style === 2) return ` ${email} `;
  if (style === 3) return `${local}@${domain.toUpperCase()}`;
  return `${email.toUpperCase()}  `;
}

function chooseDiscount(rng: Rng, kind: SlotKind, campaign: string, day: number): OrderPlan['discountCode'] {
  const u = rng.next();
  if (kind === 'new' && u < 0.3) return { code: 'WELCOME10', percent: 10 };
  if (campaign === 'weekly' && u < 0.25) return { code: 'NEWSLETTER10', percent: 10 };
  if (campaign === 'abandoned_cart' && u < 0.4) return { code: 'COMEBACK15', percent: 15 };
  if (kind === 'returning' && u < 0.12) return { code: 'LOYAL15', percent: 15 };
  if (u > 0.95) {
    const month = new Date(day * DAY_MS).getUTCMonth();
    if (month >= 10) return { code: 'HOLIDAY20', percent: 20 };
    return { code: month < 2 ? 'WINTER15' : month < 5 ? 'SPRING15' : month < 8 ? 'SUMMER15' : 'FALL15', percent: 15 };
  }
  return null;
}

function landingPath(rng: Rng, touchpoint: Touchpoint, handle: string): string {
  if (touchpoint.campaign === 'shopping' || touchpoint.campaign === 'retargeting_dpa') return `/products/${handle}`;
  if (touchpoint.campaign === 'brand_search') return rng.chance(0.7) ? '/' : '/collections/all';
  const u = rng.next();
  return u < 0.35 ? '/' : u < 0.55 ? '/collections/all' : u < 0.65 ? '/collections/new-arrivals' : `/products/${handle}`;
}

function utmQuery(rng: Rng, touchpoint: Touchpoint, campaign: string): string {
  const utm = `utm_source=${touchpoint.source}&utm_medium=${touchpoint.medium}&utm_campaign=${campaign}`;
  if (touchpoint.clickId === 'gclid') return `${utm}&gclid=Cj0KCQ${rng.base62(20)}`;
  if (touchpoint.clickId === 'fbclid') return `${utm}&fbclid=IwAR${rng.base62(20)}`;
  return utm;
}

function refundIds(key: number, k: number): Pick<RefundPlan, 'id' | 'transactionIds'> {
  const base = key * 10 + k;
  return { id: 9_100_000_000_000 + base, transactionIds: [6_200_000_000_000 + base * 2, 6_200_000_000_000 + base * 2 + 1] };
}

/** Everything back: every line, the tax and the shipping. */
function fullRefund(
  order: OrderPlan,
  key: number,
  k: number,
  atMs: number,
  note: string,
  restockType: RefundPlan['restockType'],
  failedFirst: boolean,
  reason: RefundPlan['reason'],
): RefundPlan {
  const ids = refundIds(key, k);
  return {
    id: ids.id,
    transactionIds: ids.transactionIds,
    atMs,
    note,
    restockType,
    lines: order.lines.map((line, lineIndex) => ({
      id: ids.id * 10 + lineIndex,
      lineIndex,
      quantity: line.quantity,
      subtotalCents: line.unitCents * line.quantity - line.discountCents,
      taxCents: line.taxCents,
    })),
    shippingCents: order.shippingCents,
    amountCents: order.totalCents,
    failedFirst,
    reason,
  };
}

/** A refund 2–20 days after the order: one unit of one line (60%), or everything. */
function laterRefund(order: OrderPlan, key: number, rng: Rng): RefundPlan {
  const atMs = order.createdMs + Math.floor(rng.between(2, 20) * 86_400) * 1000;
  const failedFirst = rng.chance(0.12);
  if (rng.chance(0.4)) return fullRefund(order, key, 1, atMs, rng.pick(['Returned', 'Damaged in transit', 'Not as described']), 'return', failedFirst, 'requested_by_customer');
  const lineIndex = rng.int(0, order.lines.length - 1);
  const line = order.lines[lineIndex]!;
  // One unit of the line: its share of the discounted price and of the tax.
  const subtotalCents = Math.round((line.unitCents * line.quantity - line.discountCents) / line.quantity);
  const taxCents = Math.round(line.taxCents / line.quantity);
  const ids = refundIds(key, 1);
  return {
    id: ids.id,
    transactionIds: ids.transactionIds,
    atMs,
    note: rng.pick(['Returned one item', 'Wrong size', 'Item damaged']),
    restockType: 'return',
    lines: [{ id: ids.id * 10 + lineIndex, lineIndex, quantity: 1, subtotalCents, taxCents }],
    shippingCents: 0,
    amountCents: subtotalCents + taxCents,
    failedFirst,
    reason: 'requested_by_customer',
  };
}
