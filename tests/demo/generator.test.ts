import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { catalog } from '../../catalog/catalog.ts';
import { generateShopifyOrders } from '../../extractors/demo/index.ts';
import { cents, problems, type Rec } from './read-demo.ts';

const run = promisify(execFile);

describe('generateShopifyOrders', () => {
  it('streams exactly `count` orders, named #1001 onwards, each with a key and adding up', () => {
    const orders = [...generateShopifyOrders(3000, 7)] as Rec[];
    expect(orders).toHaveLength(3000);
    expect(orders[0]!.name).toBe('#1001');
    expect(orders.at(-1)!.name).toBe('#4000');
    expect(new Set(orders.map((o) => catalog.shopify.orders.keyOf(o))).size).toBe(3000);
    const sum = (lines: Rec[], f: (l: Rec) => number) => lines.reduce((s, l) => s + f(l), 0);
    const wrong = problems(orders, (o) => {
      if (catalog.shopify.orders.versionOf!(o) === undefined) return `${o.name}: no version`;
      const gross = sum(o.line_items, (l) => cents(l.price) * l.quantity);
      const tax = sum(o.line_items, (l) => cents(l.tax_lines[0].price));
      const total = gross - cents(o.total_discounts) + cents(o.total_shipping_price_set.shop_money.amount) + tax;
      return cents(o.total_price) !== total && `${o.name}: total ${o.total_price}, lines say ${total / 100}`;
    });
    expect(wrong).toEqual([]);
  });

  it('is deterministic for a seed', () => {
    const a = JSON.stringify([...generateShopifyOrders(500, 7)]);
    expect(JSON.stringify([...generateShopifyOrders(500, 7)])).toBe(a);
    expect(JSON.stringify([...generateShopifyOrders(500, 8)])).not.toBe(a);
    // A shorter run is a prefix of a longer one.
    expect([...generateShopifyOrders(200, 7)]).toEqual((JSON.parse(a) as Rec[]).slice(0, 200));
  });

  it('is lazy: asking for a billion and taking three costs three', () => {
    // An eager generator would build a billion orders before the first one came out and never return.
    const taken: Rec[] = [];
    for (const order of generateShopifyOrders(1_000_000_000, 1)) {
      taken.push(order);
      if (taken.length === 3) break;
    }
    expect(taken).toHaveLength(3);
    expect(taken.map((o) => o.name)).toEqual(['#1001', '#1002', '#1003']);
  });

  // Its speed is a benchmark figure (`npm run bench` prints it), not a test assertion.
  it('generates orders in memory that does not grow with the count', async () => {
    const probe = fileURLToPath(new URL('./generator-probe.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { encoding: 'utf8' });
    const result = JSON.parse(stdout) as { orders: number; lines: number; heapGrowthMb: number };
    expect(result.lines).toBeGreaterThan(result.orders);
    expect(result.heapGrowthMb).toBeLessThan(2);
  });
});
