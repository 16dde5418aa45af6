import type { StripeConfig } from '../../config/schema.ts';
import type { Page, ReadContext } from '../types.ts';
import { listByCreated } from './created-listing.ts';
import { cursorState, parseCursor, type EventPosition } from './cursor.ts';
import { CLOCK_MARGIN_SECONDS, replayEvents } from './event-replay.ts';
import type { StripeObjectKind } from './object-kinds.ts';
import { createStripeApi, type StripeApi } from './stripe-api.ts';

const DAY_SECONDS = 86_400;

/** Stripe keeps events this long; an older position cannot be replayed. */
export const EVENT_RETENTION_DAYS = 30;

/**
 * Days listed again behind an events position that is too old to replay, when the config sets
 * no `lookbackDays`: objects created just before the position may have changed in the gap.
 */
export const FALLBACK_LOOKBACK_DAYS = 2;

/** A backfill date is a calendar day of some time zone: list the hours every zone's day spans. */
const ZONE_EDGE_SECONDS = 14 * 3600;

const unix = (ms: number) => Math.floor(ms / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * Reads one Stripe stream.
 *
 * - First run: lists every object created since `startDate` by creation time (windows of 30
 *   days), having first taken the events position, and ends by storing that position.
 * - Later runs: replay the events since the position, re-fetching each changed object by id.
 * - A position older than the 30 days Stripe keeps events: list by creation time again from
 *   the position minus the lookback, then go back to events.
 * - A backfill (`ctx.window`): lists the objects created on those dates; the cursor is left alone.
 */
export async function* readStripeStream(ctx: ReadContext<StripeConfig>, kind: StripeObjectKind): AsyncGenerator<Page> {
  const api = createStripeApi(ctx, kind);
  const now = unix(ctx.now.getTime());

  if (ctx.window) {
    const from = unix(Date.parse(`${ctx.window.from}T00:00:00Z`)) - ZONE_EDGE_SECONDS;
    const through = Math.min(now, unix(Date.parse(`${ctx.window.to}T00:00:00Z`)) + DAY_SECONDS - 1 + ZONE_EDGE_SECONDS);
    for await (const page of listByCreated({ api, from, through, stateOf: () => null })) yield { records: page.records };
    return;
  }

  const cursor = parseCursor(ctx.state, kind.stream);
  if (cursor === null) {
    const position = await eventPosition(api, now);
    const from = unix(Date.parse(`${ctx.startDate}T00:00:00Z`));
    ctx.log.info({ from: iso(from) }, `first run: listing ${kind.stream} by creation time`);
    yield* listThenFollowEvents(api, { from, through: now, position });
    return;
  }

  if (cursor.mode === 'created') {
    let position = cursor.events_from;
    if (position.last_event_created < now - EVENT_RETENTION_DAYS * DAY_SECONDS) {
      // The listing was left unfinished too long: its events position is gone too.
      ctx.log.warn(
        { since: iso(position.last_event_created) },
        `the ${kind.stream} listing left unfinished has outlived Stripe's ${EVENT_RETENTION_DAYS} days of events; changes to ${kind.stream} landed before ${iso(cursor.created_through)} since then are not seen (a backfill re-reads them)`,
      );
      position = await eventPosition(api, now);
    }
    yield* listThenFollowEvents(api, { from: cursor.created_through + 1, through: now, resume: cursor.resume, position });
    return;
  }

  if (cursor.last_event_created < now - EVENT_RETENTION_DAYS * DAY_SECONDS) {
    const lookbackDays = ctx.config.lookbackDays ?? FALLBACK_LOOKBACK_DAYS;
    const from = cursor.last_event_created - lookbackDays * DAY_SECONDS;
    ctx.log.warn(
      { position: iso(cursor.last_event_created), from: iso(from) },
      `the ${kind.stream} events position is older than the ${EVENT_RETENTION_DAYS} days Stripe keeps events: listing ${kind.stream} created since ${iso(from)} instead (changes in the gap to ${kind.stream} created earlier are not seen; a backfill re-reads them)`,
    );
    const position = await eventPosition(api, now);
    yield* listThenFollowEvents(api, { from, through: now, position });
    return;
  }

  yield* replayEvents({
    api,
    kind,
    position: cursor,
    now,
    log: ctx.log,
    stateOf: (p) => cursorState({ mode: 'events', ...p }),
  });
}

/**
 * Lists by creation time with the position carried in the cursor, then stores the position:
 * the next run replays every event since it, including those of changes made during the listing.
 */
async function* listThenFollowEvents(
  api: StripeApi,
  plan: { from: number; through: number; resume?: { gte: number; lte: number; starting_after: string }; position: EventPosition },
): AsyncGenerator<Page> {
  yield* listByCreated({
    api,
    from: plan.from,
    through: plan.through,
    resume: plan.resume,
    stateOf: (progress) => cursorState({ mode: 'created', ...progress, events_from: plan.position }),
  });
  yield { records: [], state: cursorState({ mode: 'events', ...plan.position }) };
}

/**
 * Where the events will be replayed from once the listing is done: the newest event of the
 * kind's types (handled: the listing sees its object), or the run's clock less the margin when
 * that is earlier, or when Stripe keeps no such event.
 */
async function eventPosition(api: StripeApi, now: number): Promise<EventPosition> {
  const newest = (await api.listEvents({ limit: 1 })).data[0];
  const settled = now - CLOCK_MARGIN_SECONDS;
  if (!newest) return { last_event_created: settled, handled_event_ids: [] };
  return { last_event_created: Math.min(newest.created, settled), handled_event_ids: [newest.id] };
}
