import { beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../catalog/catalog.ts';
import { defaultDemoEndDate, demoSources } from '../../extractors/demo/index.ts';
import { ConfigError } from '../../lib/errors.ts';
import { cents, cutoffOf, problems, readContext, readDemo, records, type DemoRead, type Rec } from './read-demo.ts';

// 60 days across the 2024-03-10 switch to daylight time, ending on a Friday.
const OPTIONS = { seed: 7, days: 60, ordersPerDay: 20, endDate: '2024-03-15' };
const FIRST_DATE = '2024-01-16';
const CUTOFF = cutoffOf(OPTIONS.endDate);

let demo: DemoRead;
beforeAll(async () => {
  demo = await readDemo(OPTIONS);
});

const EXPECTED_STREAMS = [
  'shopify.orders',
  'shopify.customers',
  'shopify.products',
  'shopify.inventory_levels',
  'stripe.charges',
  'stripe.refunds',
  'stripe.balance_transactions',
  'ga4.traffic_daily',
  'google_ads.campaign_daily',
  'meta_ads.campaign_insights_daily',
  'shipments.shipments',
  'fx.rates',
  // Issue 13: products, stock and profit.
  'costs.unit_costs',
];

describe('demo sources', () => {
  it('are the eight real sources with their catalogue streams, each with records', () => {
    const sources = demoSources(OPTIONS);
    expect(sources.map((s) => s.name)).toEqual(['shopify', 'stripe', 'ga4', 'google_ads', 'meta_ads', 'shipments', 'fx', 'costs']);
    expect([...demo.streams.keys()]).toEqual(EXPECTED_STREAMS);
    for (const source of sources) {
      for (const stream of source.streams) {
        const identity = (catalog as unknown as Record<string, Record<string, typeof stream>>)[source.name]![stream.name]!;
        // The catalogue's own identity functions, not look-alikes.
        expect(stream.keyOf).toBe(identity.keyOf);
        expect(stream.kind).toBe(identity.kind);
        expect(stream.dateOf).toBe(identity.dateOf);
        expect(stream.versionOf).toBe(identity.versionOf);
      }
    }
    for (const name of EXPECTED_STREAMS) expect(records(demo, name).length, name).toBeGreaterThan(0);
  });

  it('gives every record a key (and a report date) under the catalogue, unique within its stream', () => {
    for (const [name, { stream, records: recs }] of demo.streams) {
      expect(
        problems(recs, (r) =>
          stream.keyOf(r) === undefined
            ? `${name}: no key in ${JSON.stringify(r).slice(0, 200)}`
            : stream.kind === 'date-report' && stream.dateOf!(r) === undefined
              ? `${name}: no report date`
              : stream.versionOf && stream.versionOf(r) === undefined && `${name}: no version`,
        ),
      ).toEqual([]);
      expect(new Set(recs.map((r) => stream.keyOf(r))).size, `${name}: duplicate keys`).toBe(recs.length);
    }
  });

  it('pages at most 1000 records; a report page names its dates and holds all rows of them', () => {
    for (const [name, { stream, pages }] of demo.streams) {
      const datesSeen = new Set<string>();
      for (const page of pages) {
        expect(page.records.length, name).toBeLessThanOrEqual(1000);
        expect(page.state, name).toEqual({ through: OPTIONS.endDate });
        if (stream.kind !== 'date-report') continue;
        expect(page.dates?.length, name).toBeGreaterThan(0);
        expect(problems(page.records as Rec[], (r) => !page.dates!.includes(stream.dateOf!(r)!) && `${name}: a ${stream.dateOf!(r)} row in a page of ${page.dates}`)).toEqual([]);
        for (const d of page.dates!) {
          expect(datesSeen.has(d), `${name}: ${d} in two pages`).toBe(false);
          datesSeen.add(d);
        }
      }
    }
  });

  it('adds up every order to the cent from its line items', () => {
    const sum = <T>(items: T[], f: (item: T) => number) => items.reduce((s, x) => s + f(x), 0);
    const wrong = problems(records(demo, 'shopify.orders'), (o) => {
      const lines = o.line_items as Rec[];
      const gross = sum(lines, (l) => cents(l.price) * l.quantity);
      const discounts = sum(lines, (l) => cents(l.total_discount));
      const tax = sum(lines, (l) => sum(l.tax_lines as Rec[], (x) => cents(x.price)));
      const shipping = cents(o.total_shipping_price_set.shop_money.amount);
      const expected = {
        total_line_items_price: gross,
        total_discounts: discounts,
        subtotal_price: gross - discounts,
        total_tax: tax,
        total_price: gross - discounts + shipping + tax,
      };
      for (const [field, value] of Object.entries(expected)) if (cents(o[field]) !== value) return `${o.name} ${field} ${o[field]}, expected ${value / 100}`;
      if (lines.length === 0) return `${o.name} has no line items`;
      if (o.total_shipping_price_set.shop_money.currency_code !== o.currency) return `${o.name} shipping currency`;
      // A percentage code's amount is the order's discount.
      if ((o.discount_codes as Rec[]).some((c) => cents(c.amount) !== discounts)) return `${o.name} discount code amount`;
      // Refunds: what the lines and shipping give back is what the one successful transaction pays; never more than the order.
      let refunded = 0;
      for (const refund of o.refunds as Rec[]) {
        const back =
          sum(refund.refund_line_items as Rec[], (l) => cents(l.subtotal) + cents(l.total_tax)) +
          sum(refund.refund_shipping_lines as Rec[], (s) => cents(s.subtotal_amount) + cents(s.tax_amount));
        const ok = (refund.transactions as Rec[]).filter((t) => t.kind === 'refund' && t.status === 'success');
        if (ok.length !== 1 || cents(ok[0]!.amount) !== back) return `${o.name} refund ${refund.id} pays ${ok.map((t) => t.amount)} for ${back / 100}`;
        refunded += back;
      }
      return refunded > cents(o.total_price) && `${o.name} refunds ${refunded / 100} exceed the total`;
    });
    expect(wrong).toEqual([]);
  });

  it("gives each line item Shopify's current_quantity: its quantity less the units refunded (the shop edits no order)", () => {
    let refundedLines = 0;
    const wrong = problems(records(demo, 'shopify.orders'), (o) => {
      for (const l of o.line_items as Rec[]) {
        const refunded = (o.refunds as Rec[]).flatMap((r) => r.refund_line_items as Rec[]).filter((i) => i.line_item_id === l.id).reduce((s, i) => s + i.quantity, 0);
        if (refunded > 0) refundedLines++;
        if (l.current_quantity !== l.quantity - refunded) return `${o.name} line ${l.id}: current_quantity ${l.current_quantity}, quantity ${l.quantity}, ${refunded} refunded`;
      }
      return false;
    });
    expect(wrong).toEqual([]);
    expect(refundedLines).toBeGreaterThan(0);
  });

  it('writes money as two-decimal strings, ids as large numbers, names as #n', () => {
    const money = /^\d+\.\d{2}$/;
    const wrong = problems(records(demo, 'shopify.orders'), (o) =>
      ['total_price', 'subtotal_price', 'total_discounts', 'total_tax'].some((f) => !money.test(o[f])) || (o.line_items as Rec[]).some((l) => !money.test(l.price))
        ? `${o.name}: money not as 0.00`
        : !(Number.isSafeInteger(o.id) && o.id > 1e12)
          ? `${o.name}: id ${o.id}`
          : o.name !== `#${o.order_number}` && `${o.name} vs order_number ${o.order_number}`,
    );
    expect(wrong).toEqual([]);
  });

  it('writes Shopify times with the New York offset of that instant', () => {
    const zone = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', timeZoneName: 'longOffset' });
    const offset = (ms: number) => zone.formatToParts(ms).find((p) => p.type === 'timeZoneName')!.value.replace('GMT', '');
    const times = records(demo, 'shopify.orders').flatMap((o) => [o.created_at, o.updated_at] as string[]);
    expect(problems(times, (t) => (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[45]:00$/.test(t) || t.slice(-6) !== offset(Date.parse(t))) && t)).toEqual([]);
    expect([...new Set(times.map((t) => t.slice(-6)))].sort()).toEqual(['-04:00', '-05:00']);
  });

  it('dates nothing after endDate (a promised delivery may lie ahead; it is a promise, not an event)', () => {
    const earliest = Date.parse(`${FIRST_DATE}T00:00:00Z`) - 8 * 86_400_000;
    const times: [what: string, t: string | number | null | undefined][] = [];
    for (const o of records(demo, 'shopify.orders')) {
      for (const f of ['created_at', 'updated_at', 'processed_at', 'cancelled_at']) times.push([`order ${o.name} ${f}`, o[f]]);
      for (const r of o.refunds as Rec[]) {
        times.push([`refund ${r.id}`, r.created_at]);
        for (const t of r.transactions as Rec[]) times.push([`refund transaction ${t.id}`, t.created_at]);
      }
      for (const f of o.fulfillments as Rec[]) times.push([`fulfillment ${f.id}`, f.created_at]);
    }
    for (const c of records(demo, 'shopify.customers')) times.push([`customer ${c.id}`, c.updated_at]);
    for (const c of records(demo, 'stripe.charges')) times.push([`charge ${c.id}`, c.created]);
    for (const r of records(demo, 'stripe.refunds')) times.push([`stripe refund ${r.id}`, r.created]);
    for (const s of records(demo, 'shipments.shipments')) for (const f of ['shipped_at', 'delivered_at', 'returned_at', 'updated_at']) times.push([`shipment ${s.tracking_number} ${f}`, s[f]]);
    expect(times.length).toBeGreaterThan(5_000);
    const wrong = problems(times, ([what, t]) => {
      if (t === null || t === undefined) return;
      const ms = typeof t === 'number' ? t * 1000 : Date.parse(t);
      return !(ms < CUTOFF && ms >= earliest) && `${what} at ${t}`;
    });
    expect(wrong).toEqual([]);
    const dates = [
      ...records(demo, 'ga4.traffic_daily').map((r) => `${r.date.slice(0, 4)}-${r.date.slice(4, 6)}-${r.date.slice(6)}`),
      ...records(demo, 'google_ads.campaign_daily').map((r) => r.segments.date),
      ...records(demo, 'meta_ads.campaign_insights_daily').map((r) => r.date_start),
    ];
    expect(problems(dates, (d) => !(d >= FIRST_DATE && d <= OPTIONS.endDate) && d)).toEqual([]);
    expect(problems(records(demo, 'fx.rates'), (r) => r.date > OPTIONS.endDate && r.date)).toEqual([]);
  });

  it('publishes FX rates on business days only, from a week before the first order, EUR-based', () => {
    const rates = records(demo, 'fx.rates');
    const weekday = (date: string) => new Date(`${date}T12:00:00Z`).getUTCDay();
    expect(problems(rates, (r) => ([0, 6].includes(weekday(r.date)) ? `${r.date} is a weekend` : (r.base !== 'EUR' || typeof r.rate !== 'number') && JSON.stringify(r)))).toEqual([]);
    const dates = [...new Set(rates.map((r) => r.date))].sort();
    // 2024-01-09 (Tue) is seven days before the first order date; 2024-03-15 (Fri) is the end.
    expect(dates[0]).toBe('2024-01-09');
    expect(dates.at(-1)).toBe('2024-03-15');
    // Business days from Tue 2024-01-09 to Fri 2024-03-15: 17 in January, 21 in February, 11 in March.
    expect(dates).toHaveLength(49);
    const usd = rates.filter((r) => r.quote === 'USD').map((r) => r.rate);
    const gbp = rates.filter((r) => r.quote === 'GBP').map((r) => r.rate);
    expect(usd).toHaveLength(49);
    expect(Math.min(...usd)).toBeGreaterThan(0.98);
    expect(Math.max(...usd)).toBeLessThan(1.18);
    expect(Math.min(...gbp)).toBeGreaterThan(0.78);
    expect(Math.max(...gbp)).toBeLessThan(0.92);
    // Smooth: no business day moves EUR/USD by more than 1.5%.
    for (let i = 1; i < usd.length; i++) expect(Math.abs(usd[i]! / usd[i - 1]! - 1)).toBeLessThan(0.015);
  });

  it('publishes a rate for a reporting currency the shop does not trade in', async () => {
    const [fx] = demoSources({ ...OPTIONS, days: 3, reportingCurrency: 'CHF' }).filter((s) => s.name === 'fx');
    const quotes = new Set<string>();
    for await (const page of fx!.streams[0]!.read(readContext())) for (const r of page.records as Rec[]) quotes.add(r.quote);
    expect([...quotes].sort()).toEqual(['CHF', 'GBP', 'USD']);
  });

  it('reports Google Ads cost in integer micros, numbers as numbers; Meta numbers as strings in EUR', () => {
    const google = records(demo, 'google_ads.campaign_daily');
    expect(problems(google, (r) => !Number.isInteger(r.metrics.cost_micros) && `cost_micros ${r.metrics.cost_micros}`)).toEqual([]);
    expect(problems(google, (r) => !(Number.isInteger(r.metrics.clicks) && Number.isInteger(r.metrics.impressions) && typeof r.metrics.conversions === 'number') && JSON.stringify(r.metrics))).toEqual([]);
    expect(new Set(google.map((r) => JSON.stringify(r.customer)))).toEqual(new Set([JSON.stringify({ id: 1234567890, currency_code: 'USD', time_zone: 'America/New_York' })]));
    expect(new Set(google.map((r) => r.campaign.name))).toEqual(new Set(['brand_search', 'generic_search', 'shopping']));
    const meta = records(demo, 'meta_ads.campaign_insights_daily');
    expect(
      problems(meta, (r) =>
        r.account_currency !== 'EUR' || r.date_stop !== r.date_start || ['spend', 'impressions', 'reach', 'clicks'].some((f) => typeof r[f] !== 'string')
          ? JSON.stringify(r)
          : [...(r.actions ?? []), ...(r.action_values ?? [])].some((a: Rec) => typeof a.value !== 'string') && `${r.campaign_name} ${r.date_start}: action values not strings`,
      ),
    ).toEqual([]);
  });

  it('writes GA4 values as strings, with GA4 conventions for direct traffic', () => {
    const rows = records(demo, 'ga4.traffic_daily');
    const metrics = ['sessions', 'totalUsers', 'newUsers', 'addToCarts', 'checkouts', 'ecommercePurchases', 'purchaseRevenue'];
    const wrong = problems(rows, (r) =>
      metrics.some((m) => typeof r[m] !== 'string') || !/^\d{8}$/.test(r.date) || !['desktop', 'mobile', 'tablet'].includes(r.deviceCategory)
        ? JSON.stringify(r)
        : !(Number(r.addToCarts) >= Number(r.checkouts) && Number(r.checkouts) >= Number(r.ecommercePurchases)) && `funnel out of order: ${JSON.stringify(r)}`,
    );
    expect(wrong).toEqual([]);
    // The property's settings, as the GA4 extractor records them: revenue is in USD, whatever the reporting currency.
    expect(new Set(rows.map((r) => `${r.property_id} ${r.property_time_zone} ${r.property_currency_code}`))).toEqual(new Set(['123456789 America/New_York USD']));
    const direct = rows.filter((r) => r.sessionDefaultChannelGroup === 'Direct');
    expect(direct.length).toBeGreaterThan(0);
    expect(new Set(direct.map((r) => `${r.sessionSource} ${r.sessionMedium} ${r.sessionCampaignName}`))).toEqual(new Set(['(direct) (none) (not set)']));
  });

  it('keeps Stripe amounts in minor units with lower-case currencies', () => {
    const wrong = problems(records(demo, 'stripe.charges'), (c) => {
      if (!/^ch_/.test(c.id) || !['usd', 'eur', 'gbp'].includes(c.currency)) return `${c.id} ${c.currency}`;
      if (![c.amount, c.amount_captured, c.amount_refunded, c.created].every(Number.isInteger)) return `${c.id}: not integers`;
      if (c.status === 'failed') return !(c.paid === false && c.captured === false && c.amount_captured === 0 && typeof c.failure_code === 'string') && `${c.id}: failed charge shape`;
      return !(c.status === 'succeeded' && c.paid === true && c.amount_captured === c.amount) && `${c.id}: succeeded charge shape`;
    });
    expect(wrong).toEqual([]);
  });

  it('reads only the dates of a backfill window', async () => {
    const part = await readDemo(OPTIONS, { from: '2024-03-01', to: '2024-03-03' });
    // Whole days share a report page up to 1,000 rows (about fifty a day): the three days make one page.
    expect(part.streams.get('ga4.traffic_daily')!.pages.map((p) => p.dates)).toEqual([['2024-03-01', '2024-03-02', '2024-03-03']]);
    const days = new Set(records(part, 'shopify.orders').map((o) => new Date(Date.parse(o.created_at)).toISOString().slice(0, 10)));
    expect([...days].sort()).toEqual(['2024-03-01', '2024-03-02', '2024-03-03']);
    // The same records as the full read holds for those days.
    const full = new Map(records(demo, 'shopify.orders').map((o) => [o.id, o]));
    expect(problems(records(part, 'shopify.orders'), (o) => JSON.stringify(o) !== JSON.stringify(full.get(o.id)) && o.name)).toEqual([]);
    // The customers who ordered on those days, not every customer of the window: the same
    // records as the full read (their whole history, counted up to the same cut-off).
    const ordered = new Set(records(demo, 'shopify.orders').flatMap((o) => (o.customer && days.has(new Date(Date.parse(o.created_at)).toISOString().slice(0, 10)) ? [o.customer.id] : [])));
    const customers = records(part, 'shopify.customers');
    expect(ordered.size).toBeGreaterThan(0);
    expect(ordered.size).toBeLessThan(records(demo, 'shopify.customers').length / 10);
    expect(new Set(customers.map((c) => c.id))).toEqual(ordered);
    const fullCustomers = new Map(records(demo, 'shopify.customers').map((c) => [c.id, c]));
    expect(problems(customers, (c) => JSON.stringify(c) !== JSON.stringify(fullCustomers.get(c.id)) && `customer ${c.id}`)).toEqual([]);
  });

  it('refuses options it cannot honour, naming every problem', () => {
    let error: unknown;
    try {
      demoSources({ seed: 1.5, days: 0, ordersPerDay: -1, endDate: '2024-02-30' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(4);
    expect(() => demoSources({ seed: 1, days: 30, ordersPerDay: 5, endDate: '2014-12-01' })).toThrow(/opened on 2015-01-01/);
  });

  it('ends yesterday (UTC) by default', () => {
    expect(defaultDemoEndDate(new Date('2024-03-01T00:30:00+02:00'))).toBe('2024-02-28');
    expect(defaultDemoEndDate(new Date('2024-03-01T23:59:00Z'))).toBe('2024-02-29');
  });
});
