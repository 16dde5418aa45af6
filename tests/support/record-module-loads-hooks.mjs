// The module hooks of record-module-loads.mjs: they run on node's hooks thread.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  appendFileSync(process.env.VERITE_TEST_LOADED_MODULES, `${url}\n`);
  return nextLoad(url, context);
}
