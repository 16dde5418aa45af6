import { systemTimers, type Timers } from './timers.ts';

/**
 * A stream of results that stops with `onIdle()`'s error when the next result takes longer than
 * `ms` to come. For clients that give no time-out of their own and take no abort signal (the
 * Google Ads client streams its answer through axios without one): a connection that stalls
 * mid-answer would otherwise hold the run, and its run lock, for ever. Only the waits for the
 * source count, not the consumer's work between results. The stalled read cannot be cancelled:
 * it is let go, and the source asked to close once it can.
 */
export async function* withIdleTimeout<T>(source: AsyncIterable<T>, ms: number, onIdle: () => Error, timer: Timers = systemTimers): AsyncGenerator<T> {
  const results = source[Symbol.asyncIterator]();
  let stalled = false;
  try {
    for (;;) {
      let handle: unknown;
      const idle = new Promise<never>((_, reject) => {
        handle = timer.set(() => {
          stalled = true;
          reject(onIdle());
        }, ms);
      });
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([results.next(), idle]);
      } finally {
        timer.clear(handle);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // A source that ended or failed has closed itself; one left early (the consumer stopped, or
    // it stalled) is asked to, without waiting for a stalled read to give way.
    if (stalled) void Promise.resolve(results.return?.()).catch(() => undefined);
    else await results.return?.();
  }
}
