import { ExtractError } from '../../lib/errors.ts';
import type { JsonValue } from '../types.ts';

/**
 * Where the events of a stream are to be read from: every event of its types created at or
 * after `last_event_created`, except `last_event_id` itself (already handled). The id is null
 * when the stream had no event yet.
 */
export interface EventPosition {
  last_event_id: string | null;
  /** Unix seconds. */
  last_event_created: number;
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

function isPosition(v: unknown): v is EventPosition {
  return isObject(v) && (v.last_event_id === null || typeof v.last_event_id === 'string') && isInt(v.last_event_created);
}

/**
 * The stored cursor, checked. Null before the first run. A cursor of another shape (edited by
 * hand, or from another version) stops the stream rather than silently re-reading everything.
 */
export function parseCursor(state: JsonValue | null, stream: string): StripeCursor | null {
  if (state === null) return null;
  if (isObject(state)) {
    if (state.mode === 'events' && isPosition(state)) {
      return { mode: 'events', last_event_id: state.last_event_id, last_event_created: state.last_event_created };
    }
    if (state.mode === 'created' && isInt(state.created_through) && isPosition(state.events_from)) {
      const r = state.resume;
      const resume =
        isObject(r) && isInt(r.gte) && isInt(r.lte) && typeof r.starting_after === 'string'
          ? { gte: r.gte, lte: r.lte, starting_after: r.starting_after }
          : undefined;
      const { last_event_id, last_event_created } = state.events_from;
      return { mode: 'created', created_through: state.created_through, ...(resume ? { resume } : {}), events_from: { last_event_id, last_event_created } };
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
