/**
 * The SIGHUP `bin/verite.js` notes while the command line's modules load, for `verite schedule`
 * (a SIGHUP then would otherwise end the process, as it does by default, before the command could
 * set its own handler).
 */
const KEY = Symbol.for('verite.sighupWhileLoading');

/**
 * Removes the handler `bin/verite.js` set, if it set one, and says whether a SIGHUP came while it
 * was set. False in a process that did not start from `bin/verite.js` (the tests' own).
 */
export function takeSighupWhileLoading(): boolean {
  const take = holder()[KEY];
  if (!take) return false;
  delete holder()[KEY];
  return take();
}

/** Where `bin/verite.js` leaves what takes its handler back. */
function holder(): Record<symbol, (() => boolean) | undefined> {
  return globalThis as unknown as Record<symbol, (() => boolean) | undefined>;
}

/**
 * For a command other than `verite schedule`: the handler removed, and a SIGHUP that came while
 * the modules loaded raised again, so it ends the process as it would have without the handler.
 *
 * Node 22 and later may load every module without one turn of the event loop, and a signal
 * reaches its handler only when the loop polls for events: removed before that, the handler never
 * hears of a SIGHUP already received, which is then lost and the command runs on. So the loop
 * polls once first.
 */
export async function giveBackSighupWhileLoading(): Promise<void> {
  if (!holder()[KEY]) return;
  // An immediate set from a timer's callback runs after the loop's next poll for events, where a
  // signal already received is handed to its handler.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setImmediate(resolve));
  if (takeSighupWhileLoading()) process.kill(process.pid, 'SIGHUP');
}
