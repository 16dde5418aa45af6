// Given to node with --import: holds the load of the command line's modules (the import of
// cli/main.ts by bin/verite.js) until the test lets it go, so a test can signal `verite` while
// its modules load (tests/scheduler/reload.test.ts). The hooks write the file
// VERITE_TEST_HOLD_MARKER names when the import begins, and wait for the file
// VERITE_TEST_HOLD_RELEASE names.
import { register } from 'node:module';

register('./hold-module-load-hooks.mjs', import.meta.url);
