// The module hooks of hold-module-load.mjs: they run on node's hooks thread.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

let held = false;

export async function resolve(specifier, context, nextResolve) {
  if (!held && specifier === '../cli/main.ts' && context.parentURL?.endsWith('/bin/verite.js')) {
    held = true;
    writeFileSync(process.env.VERITE_TEST_HOLD_MARKER, 'loading\n');
    // Waits for the test's file, however long that takes: no bound on time.
    while (!existsSync(process.env.VERITE_TEST_HOLD_RELEASE)) await sleep(20);
  }
  return nextResolve(specifier, context);
}
