import { beforeAll, describe, expect, it } from 'vitest';
import { readDemo, records, type DemoRead, type Rec } from './read-demo.ts';

/**
 * Issue 13: the demo shop's products, costs, stock and Stripe fees hang together with its
 * orders. 120 days to a Sunday, enough for variants to run out and be restocked.
 */
const OPTIONS = { seed: 42, days: 120, ordersPerDay: 12, endDate: '2024-05-12' };

let demo: DemoRead;
beforeAll(async () => {
  demo = await readDemo(OPTIONS);
});

const DAY = 86_400;
const dayOf = (unix: number) => Math.floor(unix / DAY);

describe('the demo catalogue and costs', () => {
  it('lists every variant sold, with a unit cost except for a few, and their SKUs as the orders have them', () => {
    const products = records(demo, 'shopify.products');
    const variants = new Map<number, Rec>(products.flatMap((p) => p.variants.map((v: Rec) => [v.id, { ...v, product: p }] as const)));
    expect(products.length).toBeGreaterThanOrEqual(18);
    const uncosted = [...variants.values()].filter((v) => v.unit_cost === null);
    expect(uncosted.length).toBeGreaterThan(0);
    expect(uncosted.length).toBeLessThan(variants.size / 4);
    for (const order of records(demo, 'shopify.orders')) {
      for (const line of order.line_items) {
        const variant = variants.get(line.variant_id);
        expect(variant, `line ${line.id}`).toBeDefined();
        expect([variant!.product.id, variant!.sku]).toEqual([line.product_id, line.sku]);
      }
      // A refund line names a line of its order.
      for (const refund of order.refunds) for (const rl of refund.refund_line_items) expect(order.line_items.map((l: Rec) => l.id)).toContain(rl.line_item_id);
    }
    // Costs are a share of the price a shop makes a margin on: under 60 % of it.
    for (const v of variants.values()) if (v.unit_cost) expect(Number(v.unit_cost.amount) / Number(v.price)).toBeLessThan(0.6);
  });

  it('changes one cost during the period through the cost file, the new cost being Shopify\'s current one', () => {
    const costs = records(demo, 'costs.unit_costs');
    const bySku = new Map<string, Rec[]>();
    for (const c of costs) bySku.set(c.sku, [...(bySku.get(c.sku) ?? []), c]);
    const changed = [...bySku.values()].filter((rows) => rows.length === 2);
    expect(changed.length).toBeGreaterThan(0);
    const variants = new Map<string, Rec>(records(demo, 'shopify.products').flatMap((p) => p.variants.map((v: Rec) => [v.sku, v] as const)));
    for (const [before, after] of changed) {
      // 120 days from 14 January: the change on the 61st, 14 March.
      expect([before!.valid_from, after!.valid_from]).toEqual(['2024-01-14', '2024-03-14']);
      expect(after!.unit_cost).toBeGreaterThan(before!.unit_cost);
      expect(Number(variants.get(after!.sku)!.unit_cost.amount)).toBe(after!.unit_cost);
    }
  });
});

describe('the demo stock', () => {
  it('snapshots every variant every day, sales taking units off and deliveries putting them back', () => {
    const levels = records(demo, 'shopify.inventory_levels');
    const dates = [...new Set(levels.map((l) => l.snapshot_date))].sort();
    expect(dates).toHaveLength(120);
    const variants = records(demo, 'shopify.products').flatMap((p) => p.variants);
    for (const date of dates) expect(levels.filter((l) => l.snapshot_date === date)).toHaveLength(variants.length);
    // Units sold per variant per date, from the orders.
    const sold = new Map<string, number>();
    for (const order of records(demo, 'shopify.orders')) {
      if (order.test) continue;
      const date = new Date(Date.parse(order.created_at)).toISOString().slice(0, 10);
      for (const line of order.line_items) sold.set(`${line.variant_id}|${date}`, (sold.get(`${line.variant_id}|${date}`) ?? 0) + line.quantity);
    }
    const byVariant = new Map<number, Rec[]>();
    for (const l of levels) byVariant.set(l.variant_id, [...(byVariant.get(l.variant_id) ?? []), l]);
    let outOfStock = 0;
    let restocked = 0;
    for (const [variant, series] of byVariant) {
      series.sort((a, b) => a.snapshot_date.localeCompare(b.snapshot_date));
      for (let i = 1; i < series.length; i++) {
        const change = series[i]!.available - series[i - 1]!.available;
        const units = sold.get(`${variant}|${series[i]!.snapshot_date}`) ?? 0;
        // A day without a delivery loses exactly its units sold; a delivery day gains.
        if (change !== -units) {
          expect(series[i - 1]!.available, `${variant} on ${series[i]!.snapshot_date}`).toBeLessThanOrEqual(0);
          restocked++;
        }
      }
      if (series.some((l) => l.available <= 0)) outOfStock++;
    }
    expect(outOfStock).toBeGreaterThan(0);
    expect(restocked).toBeGreaterThan(0);
  });
});

describe('the demo Stripe balance', () => {
  it('takes a fee of about 1.5–3.5 % from each succeeded charge, none back on a refund', () => {
    const transactions = records(demo, 'stripe.balance_transactions');
    const charges = new Map(records(demo, 'stripe.charges').map((c) => [c.id, c]));
    const ofCharges = transactions.filter((t) => t.type === 'charge');
    expect(ofCharges.length).toBe([...charges.values()].filter((c) => c.status === 'succeeded').length);
    let fees = 0;
    let amounts = 0;
    for (const t of ofCharges) {
      const charge = charges.get(t.source)!;
      expect([t.id, t.amount, t.currency, t.created]).toEqual([charge.balance_transaction, charge.amount, charge.currency, charge.created]);
      expect(t.net).toBe(t.amount - t.fee);
      expect(t.fee_details).toEqual([{ amount: t.fee, application: null, currency: t.currency, description: 'Stripe processing fees', type: 'stripe_fee' }]);
      fees += t.fee;
      amounts += t.amount;
    }
    expect(fees / amounts).toBeGreaterThan(0.015);
    expect(fees / amounts).toBeLessThan(0.035);
    const refunds = new Map(records(demo, 'stripe.refunds').map((r) => [r.id, r]));
    for (const t of transactions.filter((x) => x.type === 'refund')) {
      expect(refunds.get(t.source)).toMatchObject({ status: 'succeeded', balance_transaction: t.id, amount: -t.amount });
      expect(t.fee).toBe(0);
    }
  });

  it('pays out each Monday, per currency, the net that became available in the week before', () => {
    const transactions = records(demo, 'stripe.balance_transactions');
    const payouts = transactions.filter((t) => t.type === 'payout');
    const mondays = new Set(payouts.map((p) => dayOf(p.created)));
    // 120 days from Sunday 14 January to Sunday 12 May: Mondays from 15 January to 6 May, but
    // funds become available two days after a charge, so nothing is available on 15 January
    // yet: 16 Mondays, from 22 January.
    expect(mondays.size).toBe(16);
    expect(Math.min(...mondays)).toBe(Date.parse('2024-01-22') / 1000 / DAY);
    for (const day of mondays) expect(new Date(day * DAY * 1000).getUTCDay()).toBe(1);
    for (const payout of payouts) {
      const monday = dayOf(payout.created);
      const week = transactions.filter(
        (t) => t.type !== 'payout' && t.currency === payout.currency && t.available_on >= (monday - 7) * DAY && t.available_on < monday * DAY,
      );
      expect(payout.amount).toBe(-week.reduce((s, t) => s + t.net, 0));
      expect(payout.amount).toBeLessThan(0);
    }
  });
});
