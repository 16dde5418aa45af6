import type { StripeConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import type { JsonValue, Page, ReadContext } from '../types.ts';
import { listByCreated, type ListingProgress } from './created-listing.ts';
import { BALANCE_TRANSACTIONS } from './object-kinds.ts';
import { createStripeApi } from './stripe-api.ts';

const DAY_SECONDS = 86_400;
/** A backfill date is a calendar day of some time zone: list the hours every zone's day spans. */
const ZONE_EDGE_SECONDS = 14 * 3600;

const unix = (ms: number) => Math.floor(ms / 1000);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored cursor, checked: null before the first run; another shape stops the stream rather than re-reading everything. */
export function parseListingCursor(state: JsonValue | null): ListingProgress | null {
  if (state === null) return null;
  if (isObject(state) && isInt(state.created_through)) {
    const r = state.resume;
    if (r === undefined) return { created_through: state.created_through };
    if (isObject(r) && isInt(r.gte) && isInt(r.lte) && typeof r.starting_after === 'string') {
      return { created_through: state.created_through, resume: { gte: r.gte, lte: r.lte, starting_after: r.starting_after } };
    }
  }
  throw new ExtractError(
    `the stored cursor is not one this version understands: ${JSON.stringify(state)} (delete the row of ops.stream_state to start again from startDate)`,
    { source: 'stripe', stream: BALANCE_TRANSACTIONS.stream },
  );
}

/**
 * Reads `/v1/balance_transactions` by creation time (windows of 30 days, 100 a page, see
 * `listByCreated`): a first run from `startDate`, later runs from the cursor less the lookback
 * (default 7 days), so a transaction that was `pending` when it was first landed lands again
 * once `available` (Stripe sends no event for that change). A read stopped part way through a
 * window goes on after the last id it landed. A backfill lists its dates, leaving the cursor.
 * The cursor never moves back: a lookback window's progress keeps the furthest point reached.
 */
export async function* readBalanceTransactions(ctx: ReadContext<StripeConfig>): AsyncGenerator<Page> {
  const api = createStripeApi(ctx, BALANCE_TRANSACTIONS);
  const now = unix(ctx.now.getTime());
  if (ctx.window) {
    const from = unix(Date.parse(`${ctx.window.from}T00:00:00Z`)) - ZONE_EDGE_SECONDS;
    const through = Math.min(now, unix(Date.parse(`${ctx.window.to}T00:00:00Z`)) + DAY_SECONDS - 1 + ZONE_EDGE_SECONDS);
    for await (const page of listByCreated({ api, from, through, stateOf: () => null })) yield { records: page.records };
    return;
  }
  const cursor = parseListingCursor(ctx.state);
  const reached = cursor?.created_through ?? null;
  const from = reached === null ? unix(Date.parse(`${ctx.startDate}T00:00:00Z`)) : reached + 1 - ctx.lookbackDays * DAY_SECONDS;
  ctx.log.info({ from: new Date(from * 1000).toISOString(), resume: cursor?.resume }, 'listing balance transactions by creation time');
  yield* listByCreated({
    api,
    from,
    through: now,
    resume: cursor?.resume,
    stateOf: (progress) => {
      const state: Record<string, JsonValue> = { created_through: Math.max(progress.created_through, reached ?? progress.created_through) };
      if (progress.resume) state.resume = progress.resume;
      return state;
    },
  });
}
