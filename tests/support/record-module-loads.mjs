// Given to node with --import: records every module the process loads, one a line, in the file
// named by VERITE_TEST_LOADED_MODULES (tests/architecture/start-up.test.ts). ES modules are
// recorded by the load hook as they load; CommonJS modules, which `require` (and `createRequire`)
// loads without passing the hooks, are listed from the require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./record-module-loads-hooks.mjs', import.meta.url);

const required = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const files = Object.keys(required);
  if (files.length > 0) appendFileSync(process.env.VERITE_TEST_LOADED_MODULES, `${files.join('\n')}\n`);
});
