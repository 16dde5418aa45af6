import type { ShopifyConfig } from '../../config/schema.ts';
import { localDate } from '../../lib/dates.ts';
import { maxRetryAfterMs } from '../../lib/http.ts';
import type { Page, ReadContext } from '../types.ts';
import { allNodes, type Connection } from './connections.ts';
import { QueryCostError, shopifyClient, type ShopifyGraphql } from './graphql-client.ts';
import { INVENTORY_ITEM_LEVELS, INVENTORY_ITEMS_PAGE, INVENTORY_ITEMS_PAGE_SIZE } from './queries.ts';
import { legacyId } from './reshape.ts';

/** An inventory level as the query selects it. */
interface GqlInventoryLevel {
  id: string;
  updatedAt?: string | null;
  location?: { id: string } | null;
  quantities?: { name: string; quantity: number }[] | null;
}

interface GqlInventoryItem {
  id: string;
  tracked?: boolean | null;
  variants?: { nodes: { id: string; product?: { status?: string | null } | null }[] } | null;
  inventoryLevels: Connection<GqlInventoryLevel>;
}

/**
 * Reads the stock as it is now: every inventory item with its `available` quantity at each
 * location, as one record per item and location, dated by the run's date in the reporting
 * time zone (`snapshot_date`). Shopify keeps no history of levels, so history builds up one
 * snapshot a day. Each record carries the status the item's variant's product has as it is read
 * (`product_status`), for the same reason: a product archived later leaves the past snapshots
 * as they were. A second run on the same date replaces that date's rows: its pages merge
 * level by level (the later reading wins), and its last page names the date, so the rows of
 * the date this read did not bring again (an item deleted since) go, in the same transaction.
 * Only the last page names it: a date-report page removes the date's rows of other reads, and
 * the snapshot spans many pages. A run that stops part way leaves the date's earlier readings
 * with the pages it landed merged in; the next run reads the snapshot again whole, nothing
 * landed twice (a record's key holds its date). A backfill cannot read past stock: it reads
 * nothing.
 */
export async function* readInventoryLevels(ctx: ReadContext<ShopifyConfig>, options: { client?: ShopifyGraphql } = {}): AsyncGenerator<Page> {
  if (ctx.window) {
    ctx.log.info('Shopify keeps no history of stock levels: a backfill reads none (each run snapshots the levels of its date)');
    return;
  }
  const date = localDate(ctx.now, ctx.global.reportingTimezone);
  const client =
    options.client ??
    shopifyClient({ config: ctx.config, stream: 'inventory_levels', now: ctx.now, log: ctx.log, signal: ctx.signal, secret: ctx.secret, warnOnce: ctx.warnOnce, maxRetryAfterMs: maxRetryAfterMs(ctx.global) });
  ctx.log.info({ snapshot_date: date }, 'reading the stock levels');
  let first = INVENTORY_ITEMS_PAGE_SIZE;
  let after: string | null = null;
  for (;;) {
    let data: { inventoryItems: Connection<GqlInventoryItem> };
    try {
      data = await client.query('inventory items page', INVENTORY_ITEMS_PAGE, { first, after });
    } catch (error) {
      // Items stocked at many locations can push a page over the single-query cost limit.
      if (error instanceof QueryCostError && first > 1) {
        first = Math.ceil(first / 2);
        ctx.log.warn({ first }, 'the inventory items query cost too much; asking for fewer per page');
        continue;
      }
      throw error;
    }
    const records: Record<string, unknown>[] = [];
    for (const item of data.inventoryItems.nodes) {
      const levels = await allNodes(item.inventoryLevels, async (next) => {
        const more = await client.query<{ node: { inventoryLevels: Connection<GqlInventoryLevel> } | null }>('inventory item levels', INVENTORY_ITEM_LEVELS, { id: item.id, after: next });
        return more.node?.inventoryLevels ?? null;
      });
      for (const level of levels) records.push(levelRecord(date, item, level));
    }
    const more = data.inventoryItems.pageInfo.hasNextPage && data.inventoryItems.pageInfo.endCursor !== null;
    // The cursor says which date was last snapshot whole; it is not read back (every run snapshots).
    yield more ? { records } : { records, dates: [date], state: { snapshot_date: date } };
    if (!more) return;
    after = data.inventoryItems.pageInfo.endCursor;
  }
}

/** One level as the `shopify.inventory_levels` record of the stream catalogue. */
function levelRecord(date: string, item: GqlInventoryItem, level: GqlInventoryLevel): Record<string, unknown> {
  const available = level.quantities?.find((q) => q.name === 'available')?.quantity;
  return {
    snapshot_date: date,
    inventory_item_id: legacyId(item.id),
    variant_id: legacyId(item.variants?.nodes[0]?.id),
    location_id: legacyId(level.location?.id),
    available: available ?? null,
    tracked: item.tracked ?? null,
    // Lower case, as the products stream lands a product's status (REST's spelling).
    product_status: item.variants?.nodes[0]?.product?.status?.toLowerCase() ?? null,
    updated_at: level.updatedAt ?? null,
  };
}
