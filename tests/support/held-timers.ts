import type { Timers } from '../../lib/timers.ts';

/** A timer set through {@link heldTimers}: when it would fire, whether it was cleared. */
export interface HeldTimer {
  fire: () => void;
  ms: number;
  cleared: boolean;
}

/** Timers that wait for the test: each one set is kept in `held`, to fire (or not) when the test says. */
export function heldTimers(): { timers: Timers; held: HeldTimer[] } {
  const held: HeldTimer[] = [];
  const timers: Timers = {
    set: (fire, ms) => {
      const t = { fire, ms, cleared: false };
      held.push(t);
      return t;
    },
    clear: (handle) => void ((handle as HeldTimer).cleared = true),
  };
  return { timers, held };
}
