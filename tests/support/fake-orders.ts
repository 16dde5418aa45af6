import { catalog } from '../../catalog/catalog.ts';
import type { Source, Stream } from '../../extractors/types.ts';

export const FAKE_TOTAL = 12_000;
export const FAKE_PAGE = 1_000;

/** Record i of the deterministic fake order stream; every 997th record has no id (quarantined). */
export function fakeOrder(i: number): Record<string, unknown> {
  const base = Date.UTC(2024, 0, 1);
  const order: Record<string, unknown> = {
    id: 1_000_000 + i,
    name: `#${i}`,
    updated_at: new Date(base + i * 1000).toISOString(),
    created_at: new Date(base + i * 1000).toISOString(),
    total_price: (i % 97).toFixed(2),
    line_items: [{ id: i, title: `item ${i}`, quantity: 1 + (i % 3), price: '9.99' }],
  };
  if (i % 997 === 7) delete order.id;
  return order;
}

/**
 * A `shopify.orders` stream over {@link fakeOrder}: resumes from its cursor `{ offset }`, one
 * page of {@link FAKE_PAGE} records at a time, and calls `onRequested(n)` when the loader asks
 * for the page after page n. The loader prepares a page while the one before it is written,
 * so by then pages 1 … n − 1 are committed.
 */
export function fakeOrdersSource(onRequested: (pages: number) => void = () => undefined): Source<unknown> {
  const stream: Stream<unknown> = {
    ...catalog.shopify.orders,
    async *read(ctx) {
      let offset = (ctx.state as { offset?: number } | null)?.offset ?? 0;
      let pages = 0;
      while (offset < FAKE_TOTAL) {
        const records = [];
        for (let i = offset; i < Math.min(offset + FAKE_PAGE, FAKE_TOTAL); i++) records.push(fakeOrder(i));
        offset += records.length;
        yield { records, state: { offset } };
        onRequested(++pages);
      }
    },
  };
  return { name: 'shopify', streams: [stream] };
}
