import { ExtractError } from '../../lib/errors.ts';
import type { JsonValue } from '../types.ts';

/**
 * Where the events of a stream are to be read from: every event of its types created at or
 * after `last_event_created` (Unix seconds), except those of `handled_event_ids`, handled by an
 * earlier run. Every event created before that second is handled.
 *
 * The position never passes the run's clock less `CLOCK_MARGIN_SECONDS` (event-replay.ts):
 * an event Stripe lists only some time after its `created` (a late one) still falls at or after
 * the next run's position, while the events already handled in that margin are named so that
 * they are not fetched again.
 */
export interface EventPosition {
  /** Unix seconds. */
  last_event_created: number;
  /** The events created at or after `last_event_created` that are already handled. */
  handled_event_ids: string[];
}

/**
 * The cursor of a Stripe stream in `ops.stream_state`.
 *
 * `created`: a listing by creation time is under way. Every object created up to
 * `created_through` (Unix seconds) is landed. `resume`, while a window is part-read, is where
 * its listing goes on (the window's bounds and the last id landed; lists are newest first, so
 * the rest of the window is what comes after that id). `events_from` is the events position
 * taken before the listing began: once it ends, the events since then are replayed, so a
 * change made during a long listing is not lost.
 *
 * `events`: the listing is done; later runs replay the events since the position.
 */
export type StripeCursor =
  | {
      mode: 'created';
      created_through: number;
      resume?: { gte: number; lte: number; starting_after: string };
      events_from: EventPosition;
    }
  | ({ mode: 'events' } & EventPosition);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A stored position, or undefined when it is not one. A position of the earlier shape (one
 * `last_event_id`, null before any event) reads as that one event handled.
 */
function positionOf(v: unknown): EventPosition | undefined {
  if (!isObject(v) || !isInt(v.last_event_created)) return undefined;
  if (Array.isArray(v.handled_event_ids) && v.handled_event_ids.every((id) => typeof id === 'string')) {
    return { last_event_created: v.last_event_created, handled_event_ids: [...(v.handled_event_ids as string[])] };
  }
  if (v.last_event_id === null || typeof v.last_event_id === 'string') {
    return { last_event_created: v.last_event_created, handled_event_ids: v.last_event_id === null ? [] : [v.last_event_id] };
  }
  return undefined;
}

/**
 * The stored cursor, checked. Null before the first run. A cursor of another shape (edited by
 * hand, or from another version) stops the stream rather than silently re-reading everything.
 */
export function parseCursor(state: JsonValue | null, stream: string): StripeCursor | null {
  if (state === null) return null;
  if (isObject(state)) {
    const position = positionOf(state);
    if (state.mode === 'events' && position) return { mode: 'events', ...position };
    const eventsFrom = positionOf(state.events_from);
    if (state.mode === 'created' && isInt(state.created_through) && eventsFrom) {
      const r = state.resume;
      const resume =
        isObject(r) && isInt(r.gte) && isInt(r.lte) && typeof r.starting_after === 'string'
          ? { gte: r.gte, lte: r.lte, starting_after: r.starting_after }
          : undefined;
      return { mode: 'created', created_through: state.created_through, ...(resume ? { resume } : {}), events_from: eventsFrom };
    }
  }
  throw new ExtractError(
    `the stored cursor is not one this version understands: ${JSON.stringify(state)} (delete the row of ops.stream_state to start again from startDate)`,
    { source: 'stripe', stream },
  );
}

/** Cursor → the JSON stored with a page. */
export function cursorState(cursor: StripeCursor): JsonValue {
  return cursor as unknown as JsonValue;
}
