// The module hooks of hold-module-load.mjs: they run on node's hooks thread.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long the load is held at most: longer than a test may run (vitest.config.ts), so a test
 * never sees it; only a child whose test died without letting it go stops waiting, and ends.
 */
const AT_MOST_MS = 600_000;

let held = false;

export async function resolve(specifier, context, nextResolve) {
  if (!held && specifier === '../cli/main.ts' && context.parentURL?.endsWith('/bin/verite.js')) {
    held = true;
    writeFileSync(process.env.VERITE_TEST_HOLD_MARKER, 'loading\n');
    const until = Date.now() + AT_MOST_MS;
    while (!existsSync(process.env.VERITE_TEST_HOLD_RELEASE)) {
      if (Date.now() > until) throw new Error('hold-module-load: never let go');
      await sleep(20);
    }
  }
  return nextResolve(specifier, context);
}
