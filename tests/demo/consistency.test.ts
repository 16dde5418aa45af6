import { beforeAll, describe, expect, it } from 'vitest';
import { cents, cutoffOf, isCounted, problems, readDemo, records, utcDate, type DemoRead, type Rec } from './read-demo.ts';

const OPTIONS = { seed: 11, days: 60, ordersPerDay: 30, endDate: '2024-03-15' };
const CUTOFF = cutoffOf(OPTIONS.endDate);

let demo: DemoRead;
let orders: Rec[];
let counted: Rec[];
beforeAll(async () => {
  demo = await readDemo(OPTIONS);
  orders = records(demo, 'shopify.orders');
  counted = orders.filter(isCounted);
});

/** docs/metrics.md's default channel rules, written out again here (not taken from the transforms). */
function channelOf(source: string | null, medium: string | null, referrer: string | null): string {
  const s = source?.toLowerCase() || null;
  const m = medium?.toLowerCase() || null;
  const host = referrer ? new URL(referrer).host : null;
  if (m && ['cpc', 'ppc', 'paid', 'paidsearch', 'paid_search'].includes(m) && s?.includes('google')) return 'google_ads';
  if (s && ['facebook', 'fb', 'instagram', 'ig', 'meta'].includes(s) && m && ['cpc', 'paid', 'paid_social', 'paidsocial', 'social_paid'].includes(m)) return 'meta_ads';
  if (m === 'email') return 'email';
  if (m === 'organic' || (!s && !m && host && ['google.', 'bing.', 'duckduckgo.', 'yahoo.', 'ecosia.'].some((h) => host.includes(h)))) return 'organic_search';
  if (m === 'referral' || (!s && !m && host)) return 'referral';
  if (s || m) return 'other';
  return 'direct';
}

function orderChannel(o: Rec): string {
  const query = new URLSearchParams(String(o.landing_site ?? '').split('?')[1] ?? '');
  return channelOf(query.get('utm_source'), query.get('utm_medium'), o.referring_site || null);
}

const ga4Channel = (r: Rec) =>
  channelOf(['(direct)', '(not set)'].includes(r.sessionSource) ? null : r.sessionSource, ['(none)', '(not set)'].includes(r.sessionMedium) ? null : r.sessionMedium, null);

const share = (part: number, whole: number) => part / whole;

describe('demo shop: the sources tell one story', () => {
  it('mixes channels as a shop does: 25/20/20/10/8/17 ± 5 points, by the METRICS rules', () => {
    const byChannel = new Map<string, number>();
    for (const o of counted) byChannel.set(orderChannel(o), (byChannel.get(orderChannel(o)) ?? 0) + 1);
    const expected = { google_ads: 0.25, meta_ads: 0.2, organic_search: 0.2, email: 0.1, referral: 0.08, direct: 0.17 };
    expect([...byChannel.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [channel, target] of Object.entries(expected)) expect(Math.abs(share(byChannel.get(channel)!, counted.length) - target), channel).toBeLessThan(0.05);
  });

  it('has returning customers, guests, and a guest who types the same e-mail differently', () => {
    // docs/metrics.md: the customer id, else the lower-cased trimmed e-mail, else the order itself.
    const keyOf = (o: Rec) => (o.customer ? `id:${o.customer.id}` : o.email?.trim() ? `email:${o.email.trim().toLowerCase()}` : `order:${o.id}`);
    const seen = new Set<string>();
    let returning = 0;
    for (const o of [...counted].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))) {
      if (seen.has(keyOf(o))) returning++;
      seen.add(keyOf(o));
    }
    // Within a 60-day window part of the history is cut off, so the visible share is a little lower.
    expect(share(returning, counted.length)).toBeGreaterThan(0.15);
    expect(share(returning, counted.length)).toBeLessThan(0.4);
    expect(share(seen.size, counted.length)).toBeGreaterThan(0.6);
    const guests = orders.filter((o) => !o.test && o.customer === null);
    expect(share(guests.length, orders.length)).toBeGreaterThan(0.05);
    expect(share(guests.length, orders.length)).toBeLessThan(0.12);
    const spellings = new Map<string, Set<string>>();
    for (const o of guests.filter((g) => g.email)) {
      const k = o.email.trim().toLowerCase();
      spellings.set(k, (spellings.get(k) ?? new Set()).add(o.email));
    }
    expect([...spellings.values()].some((s) => s.size > 1)).toBe(true);
  });

  it('lists each customer who ordered in the window, with at least the orders seen', () => {
    const customers = records(demo, 'shopify.customers');
    const inWindow = new Map<number, number>();
    for (const o of orders) if (o.customer) inWindow.set(o.customer.id, (inWindow.get(o.customer.id) ?? 0) + 1);
    expect(new Set(customers.map((c) => c.id))).toEqual(new Set(inWindow.keys()));
    expect(
      problems(customers, (c) =>
        (c.orders_count < inWindow.get(c.id)! || Date.parse(c.created_at) > Date.parse(c.updated_at) || !/^\d+\.\d{2}$/.test(c.total_spent)) && JSON.stringify(c).slice(0, 300),
      ),
    ).toEqual([]);
    const byId = new Map(customers.map((c) => [c.id, c]));
    expect(problems(orders, (o) => o.customer && o.customer.email !== byId.get(o.customer.id)!.email && `${o.name}: e-mail differs from the customer's`)).toEqual([]);
  });

  it('has a test, cancellation, refund and currency mix close to the brief', () => {
    const rate = (pred: (o: Rec) => boolean, of: Rec[] = orders) => share(of.filter(pred).length, of.length);
    expect(rate((o) => o.test)).toBeLessThan(0.025);
    expect(rate((o) => o.test)).toBeGreaterThan(0.002);
    expect(rate((o) => !!o.cancelled_at)).toBeGreaterThan(0.005);
    expect(rate((o) => !!o.cancelled_at)).toBeLessThan(0.04);
    expect(problems(orders, (o) => !!o.cancelled_at && !o.cancel_reason && o.name)).toEqual([]);
    expect(rate((o) => o.refunds.length > 0, counted)).toBeGreaterThan(0.025);
    expect(rate((o) => o.refunds.length > 0, counted)).toBeLessThan(0.1);
    // Some refund transactions fail; they must be there to be ignored.
    expect(orders.some((o) => o.refunds.some((r: Rec) => r.transactions.some((t: Rec) => t.status === 'failure')))).toBe(true);
    expect(rate((o) => o.currency === 'USD')).toBeGreaterThan(0.6);
    expect(rate((o) => o.currency === 'EUR')).toBeGreaterThan(0.12);
    expect(rate((o) => o.currency === 'GBP')).toBeGreaterThan(0.05);
    expect(rate((o) => o.payment_gateway_names[0] === 'paypal')).toBeGreaterThan(0.05);
    expect(rate((o) => o.payment_gateway_names[0] === 'paypal')).toBeLessThan(0.15);
  });

  it('charges every counted Stripe order exactly once, for its total in minor units and currency', () => {
    const charges = records(demo, 'stripe.charges');
    const byRef = new Map<string, Rec>();
    for (const o of orders) {
      byRef.set(String(o.id), o);
      byRef.set(o.name, o);
      byRef.set(o.name.replace('#', ''), o);
    }
    // Matched as docs/metrics.md says: metadata.order_id (id or name), then the payment intent of a matched charge.
    const orderOf = new Map<string, Rec>();
    for (const c of charges) {
      const o = c.metadata.order_id ? byRef.get(String(c.metadata.order_id)) : undefined;
      if (o) orderOf.set(c.id, o);
    }
    const byIntent = new Map<string, Rec>();
    for (const c of charges) if (orderOf.has(c.id)) byIntent.set(c.payment_intent, orderOf.get(c.id)!);
    let throughIntent = 0;
    for (const c of charges) {
      if (!orderOf.has(c.id) && byIntent.has(c.payment_intent)) {
        orderOf.set(c.id, byIntent.get(c.payment_intent)!);
        throughIntent++;
      }
    }
    expect(throughIntent).toBeGreaterThan(0);

    const succeededFor = new Map<number, Rec[]>();
    for (const c of charges.filter((x) => x.status === 'succeeded')) {
      const o = orderOf.get(c.id);
      if (o) succeededFor.set(o.id, [...(succeededFor.get(o.id) ?? []), c]);
    }
    let checked = 0;
    const wrong = problems(counted, (o) => {
      const paid = succeededFor.get(o.id) ?? [];
      if (o.payment_gateway_names[0] !== 'stripe') return paid.length > 0 && `${o.name} (${o.payment_gateway_names}) has a Stripe charge`;
      // A charge lands up to two minutes after the order: the very last orders may not be charged yet.
      if (Date.parse(o.created_at) > CUTOFF - 120_000) return;
      checked++;
      if (paid.length !== 1) return `${o.name} has ${paid.length} succeeded charges`;
      const refunded = (o.refunds as Rec[]).flatMap((r) => r.transactions as Rec[]).filter((t) => t.status === 'success').reduce((s, t) => s + cents(t.amount), 0);
      const c = paid[0]!;
      return (c.amount !== cents(o.total_price) || c.currency !== o.currency.toLowerCase() || c.amount_refunded !== refunded) &&
        `${o.name} ${o.total_price} ${o.currency} refunded ${refunded / 100}: charge ${c.amount} ${c.currency} refunded ${c.amount_refunded}`;
    }, 1_000_000);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(checked).toBeGreaterThan(counted.length * 0.8);
    const succeeded = charges.filter((c) => c.status === 'succeeded');
    const orphans = succeeded.filter((c) => !orderOf.has(c.id));
    expect(share(orphans.length, succeeded.length)).toBeGreaterThan(0.005);
    expect(share(orphans.length, succeeded.length)).toBeLessThan(0.05);
    const failed = charges.filter((c) => c.status === 'failed');
    expect(share(failed.length, charges.length)).toBeGreaterThan(0.04);
    expect(share(failed.length, charges.length)).toBeLessThan(0.16);
  });

  it('mirrors every Shopify refund transaction of a Stripe order as a Stripe refund', () => {
    const stripeRefunds = records(demo, 'stripe.refunds');
    const txs = orders
      .filter((o) => o.payment_gateway_names[0] === 'stripe')
      .flatMap((o) => (o.refunds as Rec[]).map((r) => ({ o, r })))
      .flatMap(({ o, r }) => (r.transactions as Rec[]).map((t) => ({ order: o.id, refund: r.id, status: t.status, amount: cents(t.amount) })));
    expect(stripeRefunds).toHaveLength(txs.length);
    const key = (order: unknown, refund: unknown, status: string, amount: number) => `${order}|${refund}|${status}|${amount}`;
    expect(new Set(stripeRefunds.map((r) => key(r.metadata.order_id, r.metadata.shopify_refund_id, r.status === 'succeeded' ? 'success' : 'failure', r.amount)))).toEqual(
      new Set(txs.map((t) => key(String(t.order), String(t.refund), t.status, t.amount))),
    );
  });

  it('has GA4 purchases within ±15% of counted orders, by channel too, at a 2–3% conversion rate', () => {
    const rows = records(demo, 'ga4.traffic_daily');
    const purchases = rows.reduce((s, r) => s + Number(r.ecommercePurchases), 0);
    const sessions = rows.reduce((s, r) => s + Number(r.sessions), 0);
    expect(Math.abs(purchases / counted.length - 1)).toBeLessThan(0.15);
    expect(counted.length / sessions).toBeGreaterThan(0.018);
    expect(counted.length / sessions).toBeLessThan(0.035);
    const addToCarts = rows.reduce((s, r) => s + Number(r.addToCarts), 0);
    const checkouts = rows.reduce((s, r) => s + Number(r.checkouts), 0);
    expect(addToCarts / sessions).toBeGreaterThan(0.06);
    expect(addToCarts / sessions).toBeLessThan(0.1);
    expect(checkouts / addToCarts).toBeGreaterThan(0.35);
    expect(checkouts / addToCarts).toBeLessThan(0.6);
    const gaByChannel = new Map<string, number>();
    for (const r of rows) gaByChannel.set(ga4Channel(r), (gaByChannel.get(ga4Channel(r)) ?? 0) + Number(r.ecommercePurchases));
    const ordersByChannel = new Map<string, number>();
    for (const o of counted) ordersByChannel.set(orderChannel(o), (ordersByChannel.get(orderChannel(o)) ?? 0) + 1);
    for (const [channel, n] of ordersByChannel) expect(Math.abs(share(gaByChannel.get(channel) ?? 0, purchases) - share(n, counted.length)), channel).toBeLessThan(0.04);
    // Per day, too: GA4 sees most of each day's orders.
    const perDay = new Map<string, number>();
    for (const o of counted) perDay.set(utcDate(o.created_at).replace(/-/g, ''), (perDay.get(utcDate(o.created_at).replace(/-/g, '')) ?? 0) + 1);
    const gaPerDay = new Map<string, number>();
    for (const r of rows) gaPerDay.set(r.date, (gaPerDay.get(r.date) ?? 0) + Number(r.ecommercePurchases));
    expect(gaPerDay.size).toBe(OPTIONS.days);
    expect(problems(perDay, ([date, n]) => Math.abs((gaPerDay.get(date) ?? 0) - n) > Math.max(4, 0.3 * n) && `${date}: ${n} orders, GA4 ${gaPerDay.get(date)}`)).toEqual([]);
  });

  it('has ad platforms claim more than they brought: Google ~1.3×, Meta ~1.5×', () => {
    const byChannel = (channel: string) => counted.filter((o) => orderChannel(o) === channel).length;
    const google = records(demo, 'google_ads.campaign_daily');
    const googleConversions = google.reduce((s, r) => s + r.metrics.conversions, 0);
    expect(googleConversions / byChannel('google_ads')).toBeGreaterThan(1.15);
    expect(googleConversions / byChannel('google_ads')).toBeLessThan(1.45);
    const cost = google.reduce((s, r) => s + r.metrics.cost_micros, 0) / 1e6;
    const clicks = google.reduce((s, r) => s + r.metrics.clicks, 0);
    expect(cost / clicks).toBeGreaterThan(0.6);
    expect(cost / clicks).toBeLessThan(1.2);
    // Clicks follow paid-search sessions (×1.1).
    const paidSearchSessions = records(demo, 'ga4.traffic_daily').filter((r) => ga4Channel(r) === 'google_ads').reduce((s, r) => s + Number(r.sessions), 0);
    expect(clicks / paidSearchSessions).toBeGreaterThan(1.0);
    expect(clicks / paidSearchSessions).toBeLessThan(1.2);
    const meta = records(demo, 'meta_ads.campaign_insights_daily');
    const metaPurchases = meta.reduce((s, r) => s + Number((r.actions as Rec[]).find((a) => a.action_type === 'purchase')?.value ?? 0), 0);
    expect(metaPurchases / byChannel('meta_ads')).toBeGreaterThan(1.3);
    expect(metaPurchases / byChannel('meta_ads')).toBeLessThan(1.7);
    // Each purchase entry holds the default windows, 7-day click and 1-day view, adding up to
    // its value (the default setting), so staging's sum over the windows counts the value.
    const entries = meta.flatMap((r) => [...(r.actions as Rec[]), ...((r.action_values as Rec[] | undefined) ?? [])]).filter((a) => a.action_type !== 'link_click');
    expect(entries.length).toBeGreaterThan(0);
    const cents = (v: string) => Math.round(Number(v) * 100);
    expect(entries.filter((a) => cents(a['7d_click']) + cents(a['1d_view']) !== cents(a.value))).toEqual([]);
    expect(entries.some((a) => Number(a['1d_view']) > 0)).toBe(true);
  });

  it('ships counted orders only, with a consistent status and a promise most meet', () => {
    const shipments = records(demo, 'shipments.shipments');
    const byRef = new Map<string, Rec>();
    for (const o of orders) for (const ref of [String(o.id), o.name, o.name.slice(1)]) byRef.set(ref, o);
    const shippedOrders = new Set<number>();
    const wrong = problems(shipments, (s) => {
      const o = byRef.get(s.order_id);
      if (!o) return `${s.tracking_number}: no order ${s.order_id}`;
      shippedOrders.add(o.id);
      if (!isCounted(o)) return `${s.tracking_number}: ships ${o.name}, which does not count`;
      if (!(Date.parse(s.shipped_at) > Date.parse(o.created_at))) return `${s.tracking_number} shipped before ${o.name} was placed`;
      if (!['UPS', 'USPS', 'DHL'].includes(s.carrier) || s.currency !== 'USD' || typeof s.shipping_cost !== 'number') return JSON.stringify(s);
      const status = s.returned_at ? 'returned' : s.delivered_at ? 'delivered' : s.status === 'lost' ? 'lost' : 'in_transit';
      if (s.status !== status) return `${s.tracking_number}: status ${s.status}, expected ${status}`;
      if (s.delivered_at && !(Date.parse(s.delivered_at) > Date.parse(s.shipped_at))) return `${s.tracking_number} delivered before shipped`;
      if (s.returned_at && !(Date.parse(s.returned_at) > Date.parse(s.delivered_at))) return `${s.tracking_number} returned before delivered`;
      const latest = Math.max(...[s.shipped_at, s.delivered_at, s.returned_at].filter(Boolean).map(Date.parse));
      return Date.parse(s.updated_at) < latest && `${s.tracking_number}: updated_at before its last event`;
    }, 1_000_000);
    expect(wrong.slice(0, 10)).toEqual([]);
    // Everything ordered more than four days before the end has left the warehouse.
    expect(problems(counted, (o) => Date.parse(o.created_at) < CUTOFF - 4 * 86_400_000 && !shippedOrders.has(o.id) && `${o.name} not shipped`)).toEqual([]);
    const promised = shipments.filter((s) => s.delivered_at && s.estimated_delivery_at);
    const onTime = promised.filter((s) => s.delivered_at.slice(0, 10) <= s.estimated_delivery_at.slice(0, 10));
    expect(share(onTime.length, promised.length)).toBeGreaterThan(0.8);
    expect(share(onTime.length, promised.length)).toBeLessThan(0.95);
    expect(shipments.some((s) => s.estimated_delivery_at === null)).toBe(true);
    expect(shipments.some((s) => s.status === 'in_transit')).toBe(true);
    expect(shipments.some((s) => s.status === 'returned')).toBe(true);
  });
});
