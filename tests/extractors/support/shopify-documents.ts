import { configSchema, shopifyConfig } from '../../../config/schema.ts';
import { checkShopify } from '../../../extractors/shopify/check.ts';
import { shopifySource } from '../../../extractors/shopify/source.ts';
import type { ReadContext } from '../../../extractors/types.ts';
import { logger } from '../../../lib/logger.ts';
import { fakeCustomer, fakeDeletion, fakeInventoryItem, fakeOrder, fakeProduct, fakeRefundLine, fakeRefundShippingLine, startFakeShopify } from './shopify-server.ts';
import { installFakeTime } from './time.ts';

const NOW = '2026-11-20T12:00:00Z';

/**
 * Every GraphQL document the shopify source sends, by name (the operation's name; `bulk query
 * of orders` … for the queries a bulk operation runs): each stream is read against the
 * stand-in in every way it can go (paged with follow-up queries for long orders, refunds and
 * address books; in bulk windows, one cancelled after a time-out; deletions), and `verite
 * check`'s query, and each distinct
 * document it sent is kept. The extractors' clock and sleep are replaced while it runs.
 */
export async function documentsSent(): Promise<Map<string, string>> {
  const time = installFakeTime(Date.parse(NOW));
  const fake = await startFakeShopify();
  process.env.VERITE_SHOPIFY_DOCUMENTS_TOKEN = fake.token;
  try {
    // An order with 12 line items and a refund of 11 transactions; a customer with 5 addresses.
    const long = fakeOrder(1, '2026-11-10T10:00:00Z', undefined, { lines: 12, refund: '1.00' });
    const refund = long.refunds[0]!;
    refund.transactions = Array.from({ length: 11 }, (_, i) => ({ ...refund.transactions[0]!, id: `gid://shopify/OrderTransaction/${90_100 + i}` }));
    // Seven refunded lines: five with the refund, two by a follow-up query.
    refund.refundLineItems = long.lineItems.slice(0, 7).map((line, i) => fakeRefundLine(i, String(line.id), 1, '10.00'));
    // Three refunded shipping lines: two with the refund, one by a follow-up query.
    refund.refundShippingLines = [0, 1, 2].map((i) => fakeRefundShippingLine(i, '5.00', '1.00'));
    // A product of 12 variants (10 with the page, 2 by a follow-up), one of 1; an item stocked at 12 locations.
    fake.products.push(fakeProduct(1, '2026-11-10T10:00:00Z', undefined, { variants: 12 }), fakeProduct(2, '2026-09-10T10:00:00Z'), fakeProduct(3, '2026-09-11T10:00:00Z'));
    fake.inventoryItems.push(fakeInventoryItem(7100, 7100, Array.from({ length: 12 }, () => 3)), fakeInventoryItem(7200, 7200, [0]));
    fake.orders.push(long, fakeOrder(2, '2026-09-10T10:00:00Z'), fakeOrder(3, '2026-09-11T10:00:00Z'));
    fake.customers.push(fakeCustomer(1, '2026-11-10T10:00:00Z', undefined, { addresses: 5 }), fakeCustomer(2, '2026-09-10T10:00:00Z', undefined, { addresses: 1 }));
    fake.events.push(fakeDeletion(1, 'ORDER', 1009, '2026-11-12T10:00:00Z'));
    // An export of more than one order (or product) runs past the time-out: it is cancelled.
    fake.bulkStallObjects = 1;
    const global = configSchema.parse({ reportingCurrency: 'EUR' });
    const config = shopifyConfig.parse({
      shop: 'verite-test.myshopify.com', apiBaseUrl: fake.url, accessTokenEnv: 'VERITE_SHOPIFY_DOCUMENTS_TOKEN', bulkTimeoutMinutes: 0.1,
    });
    for (const startDate of ['2026-11-01', '2026-08-01']) {
      for (const stream of shopifySource.streams) {
        const ctx: ReadContext<typeof config> = {
          config, global, state: null, window: null, startDate, lookbackDays: 2, now: new Date(NOW), log: logger(),
          signal: new AbortController().signal, secret: (name) => process.env[name] ?? '', warnOnce: () => undefined,
        };
        for await (const _page of stream.read(ctx)) void _page;
      }
    }
    // `verite check`'s one query.
    await checkShopify({
      config, global, state: null, window: null, startDate: '2026-11-01', lookbackDays: 2, now: new Date(NOW), asOf: new Date(NOW), log: logger(),
      signal: new AbortController().signal, secret: (name) => process.env[name] ?? '', warnOnce: () => undefined,
    });
    const documents = new Map<string, string>();
    for (const request of fake.requests) {
      if (request.operation === 'download') continue;
      documents.set(request.operation, request.query);
      if (request.operation === 'VeriteBulkRun') {
        const root = /^\{ (\w+)/.exec(String(request.variables.query))![1];
        documents.set(`bulk query of ${root}`, String(request.variables.query));
      }
    }
    return documents;
  } finally {
    delete process.env.VERITE_SHOPIFY_DOCUMENTS_TOKEN;
    await fake.close();
    time.restore();
  }
}
