/**
 * Sets and clears a timer: the system's by default; a test passes timers it fires itself, so
 * that nothing in the suite waits for time to pass.
 */
export interface Timers {
  set(fire: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set: (fire, ms) => setTimeout(fire, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
