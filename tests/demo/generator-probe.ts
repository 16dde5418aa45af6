/**
 * Runs `generateShopifyOrders` in a process of its own (plain Node with tsx, where the heap can
 * be collected on demand): the line items of a stream, and heap growth over a long stream.
 * Run with `node --expose-gc --import tsx`; prints one JSON line.
 */
import { generateShopifyOrders } from '../../extractors/demo/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const n = 20_000;
let lines = 0;
for (const order of generateShopifyOrders(n, 7)) lines += (order.line_items as unknown[]).length;

// One long stream, sampled after 10k and after 50k orders: what it holds must not grow with what it gave.
const stream = generateShopifyOrders(1_000_000, 5);
const take = (k: number) => {
  for (let i = 0; i < k; i++) stream.next();
};
take(10_000);
const early = heapAfterGc();
take(40_000);
const late = heapAfterGc();

process.stdout.write(
  `${JSON.stringify({ orders: n, lines, heapGrowthMb: (late - early) / 2 ** 20 })}\n`,
);
