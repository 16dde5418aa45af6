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
  const holder = globalThis as unknown as Record<symbol, (() => boolean) | undefined>;
  const take = holder[KEY];
  if (!take) return false;
  delete holder[KEY];
  return take();
}

/**
 * For a command other than `verite schedule`: the handler removed, and a SIGHUP that came while
 * the modules loaded raised again, so it ends the process as it would have without the handler.
 */
export function giveBackSighupWhileLoading(): void {
  if (takeSighupWhileLoading()) process.kill(process.pid, 'SIGHUP');
}
