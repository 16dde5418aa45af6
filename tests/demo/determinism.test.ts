import { beforeAll, describe, expect, it } from 'vitest';
import { addDays, cutoffOf, problems, readDemo, records, utcDate, type DemoRead, type Rec } from './read-demo.ts';

const OPTIONS = { seed: 3, days: 30, ordersPerDay: 25, endDate: '2024-10-31' };
const NEXT = { ...OPTIONS, endDate: addDays(OPTIONS.endDate, 1) };
const FIRST_DATE = addDays(OPTIONS.endDate, -(OPTIONS.days - 1));
const CUTOFF = cutoffOf(OPTIONS.endDate);

let today: DemoRead;
let tomorrow: DemoRead;
beforeAll(async () => {
  [today, tomorrow] = await Promise.all([readDemo(OPTIONS), readDemo(NEXT)]);
});

const pagesJson = (read: DemoRead) => JSON.stringify([...read.streams].map(([name, s]) => [name, s.pages.map((p) => [p.records, p.state, p.dates])]));

/** The records of a report stream by date. */
function byDate(read: DemoRead, name: string): Map<string, Rec[]> {
  const { stream, records: recs } = read.streams.get(name)!;
  const out = new Map<string, Rec[]>();
  for (const r of recs) {
    const d = stream.dateOf!(r)!;
    out.set(d, [...(out.get(d) ?? []), r]);
  }
  return out;
}

describe('demo shop determinism', () => {
  it('gives byte-identical records for the same options, and other records for another seed', async () => {
    const again = await readDemo(OPTIONS);
    expect(pagesJson(again)).toBe(pagesJson(today));
    const other = await readDemo({ ...OPTIONS, seed: 4, days: 3 });
    const last3 = records(today, 'shopify.orders').filter((o) => utcDate(o.created_at) >= addDays(OPTIONS.endDate, -2));
    expect(records(other, 'shopify.orders').map((o) => o.total_price)).not.toEqual(last3.map((o) => o.total_price));
  });

  it('reproduces every shared day of the date reports when endDate moves on a day', () => {
    for (const name of ['ga4.traffic_daily', 'google_ads.campaign_daily', 'meta_ads.campaign_insights_daily']) {
      const a = byDate(today, name);
      const b = byDate(tomorrow, name);
      // The window slid: its first day left, a new last day came.
      expect(a.has(FIRST_DATE) && !b.has(FIRST_DATE), name).toBe(true);
      expect(!a.has(NEXT.endDate) && b.has(NEXT.endDate), name).toBe(true);
      let shared = 0;
      for (const [date, rows] of b) {
        if (date === NEXT.endDate) continue;
        expect(rows, `${name} ${date}`).toEqual(a.get(date));
        shared++;
      }
      expect(shared, name).toBe(OPTIONS.days - 1);
    }
    const rates = (read: DemoRead) => new Map(records(read, 'fx.rates').map((r) => [`${r.date}|${r.quote}`, r.rate]));
    const ra = rates(today);
    for (const [key, rate] of rates(tomorrow)) if (ra.has(key)) expect(rate, key).toBe(ra.get(key));
  });

  it('reproduces shared days of entities, except what their later life changed (with a newer updated_at)', () => {
    const entityChecks: [stream: string, key: (r: Rec) => string, dateOf: (r: Rec) => string][] = [
      ['shopify.orders', (r) => String(r.id), (r) => utcDate(r.created_at)],
      ['shipments.shipments', (r) => r.tracking_number, (r) => utcDate(r.shipped_at)],
    ];
    for (const [name, key, dateOf] of entityChecks) {
      const before = new Map(records(today, name).map((r) => [key(r), r]));
      let same = 0;
      let changed = 0;
      const wrong = problems(records(tomorrow, name), (r) => {
        const old = before.get(key(r));
        if (!old) {
          // New: placed on the new day, or (a shipment) leaving on it.
          const isNew = dateOf(r) === NEXT.endDate || (name === 'shipments.shipments' && Date.parse(r.shipped_at) >= CUTOFF);
          return !isNew && `${name} ${key(r)} appeared though it is dated ${dateOf(r)}`;
        }
        if (Date.parse(r.updated_at) < CUTOFF) {
          same++;
          return JSON.stringify(r) !== JSON.stringify(old) && `${name} ${key(r)} changed without a newer updated_at`;
        }
        changed++;
        return !(Date.parse(r.updated_at) > Date.parse(old.updated_at)) && `${name} ${key(r)}: updated_at did not move on`;
      }, 1_000_000);
      expect(wrong.slice(0, 10)).toEqual([]);
      expect(same, name).toBeGreaterThan(400);
      // Refunds, fulfilments, deliveries of the new day changed a few.
      expect(changed, name).toBeGreaterThan(0);
    }
    // Every order of a shared day is still there.
    const tomorrowIds = new Set(records(tomorrow, 'shopify.orders').map((o) => o.id));
    expect(problems(records(today, 'shopify.orders'), (o) => utcDate(o.created_at) !== FIRST_DATE && !tomorrowIds.has(o.id) && o.name)).toEqual([]);
  });

  it('keeps a charge as it was, but for the refunds that came since', () => {
    const before = new Map(records(today, 'stripe.charges').map((c) => [c.id, c]));
    let compared = 0;
    const wrong = problems(records(tomorrow, 'stripe.charges'), (c) => {
      const old = before.get(c.id);
      if (!old) return;
      compared++;
      const rest = (x: Rec) => JSON.stringify({ ...x, amount_refunded: 0, refunded: false });
      return (rest(c) !== rest(old) || c.amount_refunded < old.amount_refunded) && `${c.id} changed beyond its refunds`;
    }, 1_000_000);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(compared).toBeGreaterThan(400);
  });
});
