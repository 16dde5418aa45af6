import type { ShopifyConfig } from '../../config/schema.ts';
import { isoTimestamp } from '../../catalog/catalog.ts';
import { maxRetryAfterMs } from '../../lib/http.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import type { Connection } from './connections.ts';
import { shopifyClient, type ShopifyGraphql } from './graphql-client.ts';
import { DELETION_EVENTS, DELETION_EVENTS_PAGE_SIZE, deletionSearch } from './queries.ts';
import { reshapeEvent, type GqlEvent } from './reshape.ts';
import { planRead } from './stream-read.ts';

/** The deletions stream's cursor: every deletion event created at or before it is landed. */
interface DeletionsState {
  created_at: string | null;
}

function parseDeletionsState(state: JsonValue | null): DeletionsState {
  const s = state && typeof state === 'object' && !Array.isArray(state) ? (state as Record<string, JsonValue>) : {};
  return { created_at: typeof s.created_at === 'string' ? (isoTimestamp(s.created_at) ?? null) : null };
}

/** The later of two ISO timestamps (the first may be missing). */
const later = (a: string | null, b: string): string => (a && Date.parse(a) >= Date.parse(b) ? a : new Date(Date.parse(b)).toISOString());

/**
 * Reads the deletion notices of orders and customers: the `destroy` events of the `events`
 * query, by creation time, sorted ascending, in pages. The range is worked out as for the
 * other Shopify streams (the cursor less the lookback, else `startDate`, to now; a backfill's
 * dates in the reporting time zone), on the events' `created_at`. A deletion older than
 * Shopify's year of events is not seen.
 */
export async function* readDeletions(ctx: ReadContext<ShopifyConfig>, options: { client?: ShopifyGraphql } = {}): AsyncGenerator<Page> {
  const state = parseDeletionsState(ctx.state);
  // The same range as an orders read with this cursor; only its ends are used (always by creation time).
  const { range, backfill } = planRead({ ...ctx, state: { updated_at: state.created_at } });
  if (Date.parse(range.from) > Date.parse(range.to)) return;
  const client =
    options.client ??
    shopifyClient({ config: ctx.config, stream: 'deletions', now: ctx.now, log: ctx.log, signal: ctx.signal, secret: ctx.secret, warnOnce: ctx.warnOnce, maxRetryAfterMs: maxRetryAfterMs(ctx.global) });
  const query = deletionSearch(range.from, range.to);
  ctx.log.info({ from: range.from, to: range.to }, 'reading deletion events');
  let reached = state.created_at;
  let after: string | null = null;
  for (;;) {
    const data: { events: Connection<GqlEvent> } = await client.query('deletion events', DELETION_EVENTS, { first: DELETION_EVENTS_PAGE_SIZE, after, query });
    const records = data.events.nodes.map(reshapeEvent);
    for (const event of data.events.nodes) reached = later(reached, event.createdAt);
    const more = data.events.pageInfo.hasNextPage && data.events.pageInfo.endCursor !== null;
    yield { records, state: backfill ? undefined : { created_at: more ? reached : later(reached, range.to) } };
    if (!more) return;
    after = data.events.pageInfo.endCursor;
  }
}
