import { now, sleep } from '../lib/http.ts';

/** How a long-running job on the provider's side (a bulk export, an async report) is polled. */
export interface PollOptions<T> {
  /** Asks for the job's state once; `n` counts the polls from 1. Throws to end polling with an error. */
  poll: (n: number) => Promise<T>;
  /** True when the state polled is final: it is returned. */
  finished: (state: T) => boolean;
  /** How long the job may take, counted from when this began waiting. */
  timeoutMs: number;
  /** The error to fail with once `timeoutMs` has passed, given the last state and the time waited. */
  timedOut: (state: T, elapsedMs: number) => Error;
  /** The first pause, doubled after each poll up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Pause before the first poll too (a job just started is never finished at once). */
  pauseFirst?: boolean;
  /** Told of each pause about to be taken, after an unfinished state (for logs). */
  onPause?: (state: T, pauseMs: number) => void;
  signal?: AbortSignal;
}

/**
 * Polls until the state is final, with a pause that doubles from `firstDelayMs` up to
 * `maxDelayMs`, never pausing past the time-out: the last pause is cut to what is left, and
 * the poll after it is the last. Time is the longer of the pauses asked of the shared sleep and
 * the shared clock's elapsed time, so a test's instant sleep still reaches the time-out and a
 * slow provider is not waited for twice as long.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<T> {
  const started = now();
  let waited = 0;
  let delay = options.firstDelayMs;
  const pause = async (ms: number) => {
    await sleep(ms, options.signal);
    waited += ms;
    delay = Math.min(options.maxDelayMs, delay * 2);
  };
  if (options.pauseFirst) await pause(Math.min(delay, options.timeoutMs));
  for (let n = 1; ; n++) {
    const state = await options.poll(n);
    if (options.finished(state)) return state;
    const elapsed = Math.max(now() - started, waited);
    const remaining = options.timeoutMs - elapsed;
    if (remaining <= 0) throw options.timedOut(state, elapsed);
    const ms = Math.min(delay, remaining);
    options.onPause?.(state, ms);
    await pause(ms);
  }
}
