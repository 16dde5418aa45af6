import type { Logger } from '../../lib/logger.ts';
import type { JsonValue, Page } from '../types.ts';
import type { EventPosition } from './cursor.ts';
import type { StripeObjectKind } from './object-kinds.ts';
import type { StripeApi, StripeEventRef, StripeRecord } from './stripe-api.ts';

/**
 * How far behind the run's clock the events position always stays. Stripe does not promise that
 * an event is listed the moment it is `created` (and the clocks of verite's machine and Stripe's
 * differ a little): an event that shows up late must still be at or after the next run's
 * position. The events handled inside the margin are kept in the position, so they are listed
 * again but not fetched again.
 */
export const CLOCK_MARGIN_SECONDS = 300;

const EVENTS_PER_PAGE = 100;

/** The first API version whose accounts get `refund.*` events for refunds of charges too (Stripe changelog "refund-webhook-update"). */
const REFUND_EVENTS_FOR_CHARGES_SINCE = '2024-10-28';

/** An event reduced to where it sits and what it asks to fetch again. */
interface ChangeRef {
  id: string;
  created: number;
  /** Ids of objects of the stream's kind the event announces. */
  objectIds: string[];
  /** A charge whose refunds are to be listed: a `charge.refunded` event that does not carry them all. */
  refundsOfCharge?: string;
  /** Handled by an earlier run (inside the position's margin): listed again, not fetched again. */
  done: boolean;
}

/**
 * What an event asks the stream to fetch. Its own object when it is of the stream's kind. For
 * refunds, a `charge.refunded` event of an account older than 2024-10-28.acacia (the only
 * announcement of a refund of a charge there): the refunds in the charge's `refunds` list when
 * the event carries it whole (API versions before 2022-11-15), else every refund of the charge.
 * On newer accounts a `refund.*` event announces each such refund, so the charge's is skipped.
 */
function changeRef(e: StripeEventRef, kind: StripeObjectKind, done: boolean): ChangeRef {
  const ref: ChangeRef = { id: e.id, created: e.created, objectIds: [], done };
  const object = e.data?.object;
  if (!object?.id) return ref;
  if (object.object === kind.object) {
    ref.objectIds.push(object.id);
  } else if (kind.object === 'refund' && e.type === 'charge.refunded' && object.object === 'charge') {
    if (e.api_version && e.api_version.slice(0, 10) >= REFUND_EVENTS_FOR_CHARGES_SINCE) return ref;
    const list = object.refunds;
    if (list && Array.isArray(list.data) && list.has_more === false) {
      for (const refund of list.data) if (typeof refund?.id === 'string') ref.objectIds.push(refund.id);
    } else {
      ref.refundsOfCharge = object.id;
    }
  }
  return ref;
}

export interface EventReplay {
  api: StripeApi;
  kind: StripeObjectKind;
  position: EventPosition;
  /** The run's clock, Unix seconds. */
  now: number;
  log: Logger;
  stateOf: (position: EventPosition) => JsonValue;
}

/**
 * The position after handling every listed event up to `upTo` (an index in `listed`, oldest
 * first): at that event's second, but never past the clock less the margin nor back before
 * where the replay began; with the ids of every handled event at or after it.
 */
function positionAfter(listed: ChangeRef[], upTo: number, since: number, settled: number): EventPosition {
  const last = upTo >= 0 ? listed[upTo]!.created : since;
  const at = Math.max(since, Math.min(last, settled));
  const handled = listed.filter((e, i) => e.created >= at && (i <= upTo || e.done)).map((e) => e.id);
  return { last_event_created: at, handled_event_ids: handled };
}

/**
 * Replays the events of the kind's types since the position: lists them (Stripe lists newest
 * first, so the whole span is listed before anything lands), then walks them oldest first, a
 * page per 100 events, fetching each changed object again and landing it as it is now. Each
 * page's cursor is where it got (see {@link positionAfter}), so a failed run replays only what
 * it had not landed, and the position keeps its margin behind the clock on every run.
 *
 * The object is re-fetched rather than taken from the event because an event holds the object
 * as it was then, in the account's default API version; the re-fetched one is current and in
 * the version the `stripe` package pins, like every other record of the stream.
 */
export async function* replayEvents(replay: EventReplay): AsyncGenerator<Page> {
  const { api, kind, position, log, stateOf } = replay;
  const since = position.last_event_created;
  const settled = replay.now - CLOCK_MARGIN_SECONDS;
  const handledBefore = new Set(position.handled_event_ids);
  // Only what is needed of each event is kept: an event carries a whole object, and a busy
  // account can have many thousands since the last run.
  const listed: ChangeRef[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await api.listEvents({ since, startingAfter: after, limit: EVENTS_PER_PAGE });
    for (const e of page.data) listed.push(changeRef(e, kind, handledBefore.has(e.id)));
    const last = page.data.at(-1);
    if (!page.has_more || !last) break;
    after = last.id;
  }
  listed.reverse();
  const todo = listed.map((e, i) => ({ e, i })).filter(({ e }) => !e.done);
  log.info({ events: todo.length, since: new Date(since * 1000).toISOString() }, `replaying ${kind.stream} events`);

  const fetched = new Set<string>();
  let state = JSON.stringify(stateOf(position));
  for (let c = 0; c < todo.length; c += EVENTS_PER_PAGE) {
    const chunk = todo.slice(c, c + EVENTS_PER_PAGE);
    const records: StripeRecord[] = [];
    for (const { e: event } of chunk) {
      // An object fetched earlier in this run is already newer than this event.
      for (const id of event.objectIds) {
        if (fetched.has(id)) continue;
        fetched.add(id);
        const current = await api.retrieve(id);
        if (current) records.push(current);
        else log.warn({ id, event: event.id }, `${kind.object} ${id} of event ${event.id} no longer exists; skipped`);
      }
      if (event.refundsOfCharge) {
        for await (const refund of refundsOf(api, event.refundsOfCharge)) {
          if (fetched.has(refund.id)) continue;
          fetched.add(refund.id);
          records.push(refund);
        }
      }
    }
    const next = stateOf(positionAfter(listed, chunk.at(-1)!.i, since, settled));
    state = JSON.stringify(next);
    yield { records, state: next };
  }

  // Every listed event is handled: the position moves up to the clock less the margin, even
  // with no event since, so a stream that rarely changes does not fall 30 days behind and into
  // a listing by creation time.
  const final = stateOf(positionAfter(listed, listed.length - 1, Math.max(since, settled), settled));
  if (JSON.stringify(final) !== state) yield { records: [], state: final };
}

/** Every refund of a charge, as it is now. */
async function* refundsOf(api: StripeApi, chargeId: string): AsyncGenerator<StripeRecord> {
  let after: string | undefined;
  for (;;) {
    const page = await api.listRefundsOfCharge(chargeId, after);
    yield* page.data;
    const last = page.data.at(-1);
    if (!page.has_more || !last) return;
    after = last.id;
  }
}
