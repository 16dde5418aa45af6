import { setClock, setSleep } from '../../../extractors/http.ts';

/**
 * The extractors' sleep and clock (extractors/http.ts) replaced for a test file: a sleep records
 * its wait and moves the clock forward by it at once, so waits are asserted exactly and none is
 * really waited, and anything measured on the clock (a cost bucket's refill, a poll's time-out,
 * an HTTP-date Retry-After) comes out exact.
 */
export interface FakeTime {
  /** Every wait asked of the sleep since the last {@link FakeTime.reset}, in ms. */
  readonly waits: number[];
  /** The clock now, in ms since the epoch. */
  now(): number;
  /** Sets the clock and forgets the waits. */
  reset(at: number): void;
  /** Puts the real sleep and clock back. */
  restore(): void;
}

export function installFakeTime(start: number): FakeTime {
  let clock = start;
  const waits: number[] = [];
  const restoreSleep = setSleep(async (ms) => {
    waits.push(ms);
    clock += ms;
  });
  const restoreClock = setClock(() => clock);
  return {
    waits,
    now: () => clock,
    reset: (at) => {
      clock = at;
      waits.length = 0;
    },
    restore: () => {
      restoreSleep();
      restoreClock();
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
