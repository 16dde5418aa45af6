import { describe, expect, it } from 'vitest';
import { withIdleTimeout } from '../../lib/idle-timeout.ts';
import { heldTimers } from '../support/held-timers.ts';

/** Held timers, and `fireAll()` to fire every one set and not cleared. */
function heldTimer() {
  const { timers: timer, held: set } = heldTimers();
  return { timer, set, fireAll: () => set.filter((t) => !t.cleared).forEach((t) => t.fire()) };
}

describe('withIdleTimeout', () => {
  it('passes every result through, a timer per wait, each cleared once its result came', async () => {
    async function* three() {
      yield 1;
      yield 2;
      yield 3;
    }
    const { timer, set } = heldTimer();
    const seen: number[] = [];
    for await (const n of withIdleTimeout(three(), 1000, () => new Error('idle'), timer)) seen.push(n);
    expect(seen).toEqual([1, 2, 3]);
    // Three results and the end: four waits, all cleared, none fired.
    expect(set.map((t) => [t.ms, t.cleared])).toEqual([[1000, true], [1000, true], [1000, true], [1000, true]]);
  });

  it("fails with onIdle's error when the next result does not come, and lets the stalled source go", async () => {
    let closed = false;
    const stalled: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => {
        let n = 0;
        return {
          next: () => (n++ === 0 ? Promise.resolve({ done: false, value: 7 }) : new Promise<IteratorResult<number>>(() => undefined)),
          return: async () => {
            closed = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const { timer, fireAll } = heldTimer();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const n of withIdleTimeout(stalled, 600_000, () => new Error('sent nothing for 600 s'), timer)) seen.push(n);
    })();
    // Let the first result through and the second wait begin, then let its time run out.
    await new Promise((resolve) => setImmediate(resolve));
    fireAll();
    await expect(reading).rejects.toThrow('sent nothing for 600 s');
    expect(seen).toEqual([7]);
    expect(closed).toBe(true);
  });

  it("does not count the consumer's time between results", async () => {
    async function* two() {
      yield 'a';
      yield 'b';
    }
    const { timer, set } = heldTimer();
    const seen: string[] = [];
    for await (const x of withIdleTimeout(two(), 50, () => new Error('idle'), timer)) {
      // While the consumer works, no timer of the source's is running.
      expect(set.filter((t) => !t.cleared)).toEqual([]);
      seen.push(x);
    }
    expect(seen).toEqual(['a', 'b']);
  });
});
