import { setClock, setDeadline, setSleep } from '../../../lib/http.ts';

/**
 * The extractors' sleep, clock and request time-outs (lib/http.ts) replaced for a test
 * file: a sleep records its wait and moves the clock forward by it at once, so waits are asserted
 * exactly and none is really waited, and anything measured on the clock (a cost bucket's refill,
 * a poll's time-out, an HTTP-date Retry-After) comes out exact. A request's time-out fires only
 * when the test says that much time has passed ({@link FakeTime.advance}), never because a loaded
 * machine was slow: a test that exercises a time-out advances the clock once the server has the
 * request, and no other request is ever cut short.
 */
export interface FakeTime {
  /** Every wait asked of the sleep since the last {@link FakeTime.reset}, in ms. */
  readonly waits: number[];
  /** The clock now, in ms since the epoch. */
  now(): number;
  /**
   * Moves the clock by `ms` and fires the time-out of every request still under way whose
   * deadline that reaches.
   */
  advance(ms: number): void;
  /** Sets the clock and forgets the waits (and any request time-out still armed). */
  reset(at: number): void;
  /** Puts the real sleep and clock back. */
  restore(): void;
}

export function installFakeTime(start: number): FakeTime {
  let clock = start;
  const waits: number[] = [];
  const armed = new Set<{ at: number; controller: AbortController; ms: number }>();
  const restoreSleep = setSleep(async (ms) => {
    waits.push(ms);
    clock += ms;
  });
  const restoreClock = setClock(() => clock);
  const restoreDeadline = setDeadline((ms) => {
    const deadline = { at: clock + ms, controller: new AbortController(), ms };
    armed.add(deadline);
    return { signal: deadline.controller.signal, clear: () => void armed.delete(deadline) };
  });
  return {
    waits,
    now: () => clock,
    advance: (ms) => {
      clock += ms;
      for (const deadline of [...armed]) {
        if (deadline.at > clock) continue;
        armed.delete(deadline);
        deadline.controller.abort(new DOMException(`no answer within ${deadline.ms} ms`, 'TimeoutError'));
      }
    },
    reset: (at) => {
      clock = at;
      waits.length = 0;
      armed.clear();
    },
    restore: () => {
      restoreSleep();
      restoreClock();
      restoreDeadline();
    },
  };
}

/** Today's date in UTC, by the real clock (what a child process running the CLI sees). */
export const utcToday = (): string => new Date().toISOString().slice(0, 10);

/** `date` (YYYY-MM-DD) moved by `days`. */
export const shiftDate = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** Every date from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = shiftDate(d, 1)) out.push(d);
  return out;
}
