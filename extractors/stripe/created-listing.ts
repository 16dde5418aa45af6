import type { JsonValue, Page } from '../types.ts';
import type { StripeApi } from './stripe-api.ts';

/** Lists go window by window so each window's `created` filter stays small and resumable. */
export const WINDOW_SECONDS = 30 * 86_400;

/** How far a listing got: every object created up to `created_through` is landed. */
export interface ListingProgress {
  created_through: number;
  /** While a window is part-read: its bounds and the last id landed. */
  resume?: { gte: number; lte: number; starting_after: string };
}

export interface CreatedListing {
  api: StripeApi;
  /** First and last second (Unix, both included) of the creation times to list. */
  from: number;
  through: number;
  /** A part-read window to finish first (from a failed run's cursor). */
  resume?: { gte: number; lte: number; starting_after: string };
  /** The cursor a page commits, from how far the listing got. */
  stateOf: (progress: ListingProgress) => JsonValue;
}

/**
 * Lists the objects created in `from`..`through` in windows of {@link WINDOW_SECONDS},
 * oldest window first, one page per API page (100 objects, newest first within a window).
 * A page's cursor claims a window only once its last page is landed; until then it keeps the
 * window's bounds and the last id landed, so a failed run goes on after that id.
 */
export async function* listByCreated(listing: CreatedListing): AsyncGenerator<Page> {
  const { api, stateOf } = listing;
  let start = listing.from;
  let resume = listing.resume;
  if (resume) start = resume.gte;
  while (start <= listing.through || resume) {
    const gte = start;
    const lte = resume ? resume.lte : Math.min(start + WINDOW_SECONDS - 1, listing.through);
    let after = resume?.starting_after;
    resume = undefined;
    for (;;) {
      const page = await api.listCreated({ gte, lte }, after);
      const last = page.data.at(-1);
      // A page without objects cannot have more after it (and has no id to go on from).
      if (page.has_more && last) {
        after = last.id;
        yield { records: page.data, state: stateOf({ created_through: gte - 1, resume: { gte, lte, starting_after: after } }) };
        continue;
      }
      yield { records: page.data, state: stateOf({ created_through: lte }) };
      break;
    }
    start = lte + 1;
  }
}
