import type { Logger } from '../../lib/logger.ts';
import type { JsonValue, Page } from '../types.ts';
import type { EventPosition } from './cursor.ts';
import type { StripeObjectKind } from './object-kinds.ts';
import type { StripeApi, StripeEventRef, StripeRecord } from './stripe-api.ts';

/**
 * Events younger than this are not trusted to be all listed yet (clocks of verite's machine and
 * Stripe's differ a little), so a position never moves past `now` minus this without an event.
 */
export const CLOCK_MARGIN_SECONDS = 300;

const EVENTS_PER_PAGE = 100;

/** An event reduced to where it sits and what changed. */
interface ChangeRef {
  id: string;
  created: number;
  objectId: string | undefined;
  objectType: string | undefined;
}

const changeRef = (e: StripeEventRef): ChangeRef => ({ id: e.id, created: e.created, objectId: e.data?.object?.id, objectType: e.data?.object?.object });

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
 * Replays the events of the kind's types since the position: lists them (Stripe lists newest
 * first, so the whole span is listed before anything lands), then walks them oldest first, a
 * page per 100 events, re-fetching each changed object by id and landing it as it is now.
 * Each page's cursor is its newest event, so a failed run replays only what it had not landed.
 *
 * The object is re-fetched rather than taken from the event because an event holds the object
 * as it was then, in the account's default API version; the re-fetched one is current and in
 * the version the `stripe` package pins, like every other record of the stream.
 */
export async function* replayEvents(replay: EventReplay): AsyncGenerator<Page> {
  const { api, kind, position, log, stateOf } = replay;
  // Only what is needed of each event is kept: an event carries a whole object, and a busy
  // account can have many thousands since the last run.
  const events: ChangeRef[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await api.listEvents({ since: position.last_event_created, startingAfter: after, limit: EVENTS_PER_PAGE });
    for (const e of page.data) {
      // Events of the position's second come again; the position's own event is already handled.
      if (e.id !== position.last_event_id) events.push(changeRef(e));
    }
    const last = page.data.at(-1);
    if (!page.has_more || !last) break;
    after = last.id;
  }
  events.reverse();
  log.info({ events: events.length, since: new Date(position.last_event_created * 1000).toISOString() }, `replaying ${kind.stream} events`);

  const fetched = new Set<string>();
  let newest: ChangeRef | undefined;
  for (let i = 0; i < events.length; i += EVENTS_PER_PAGE) {
    const chunk = events.slice(i, i + EVENTS_PER_PAGE);
    const records: StripeRecord[] = [];
    for (const event of chunk) {
      // An object fetched earlier in this run is already newer than this event.
      if (event.objectType !== kind.object || !event.objectId || fetched.has(event.objectId)) continue;
      fetched.add(event.objectId);
      const current = await api.retrieve(event.objectId);
      if (current) records.push(current);
      else log.warn({ id: event.objectId, event: event.id }, `${kind.object} ${event.objectId} of event ${event.id} no longer exists; skipped`);
    }
    newest = chunk.at(-1)!;
    yield { records, state: stateOf({ last_event_id: newest.id, last_event_created: newest.created }) };
  }

  // With no event since, the position still moves up to (almost) now, so a stream that rarely
  // changes does not fall 30 days behind and into a listing by creation time.
  const settled = replay.now - CLOCK_MARGIN_SECONDS;
  const reached = newest?.created ?? position.last_event_created;
  if (settled > reached) yield { records: [], state: stateOf({ last_event_id: null, last_event_created: settled }) };
}
