// Given to node with --import: records the address of every ES module the process loads, one a
// line, in the file named by VERITE_TEST_LOADED_MODULES (tests/architecture/start-up.test.ts).
import { register } from 'node:module';

register('./record-module-loads-hooks.mjs', import.meta.url);
