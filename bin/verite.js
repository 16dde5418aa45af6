#!/usr/bin/env node
// Runs the TypeScript command line through tsx's loader, so no build step is needed.

// `verite schedule` reads its configuration again on SIGHUP. One that came while the modules load
// (the first two or three seconds: `systemctl reload` right after a start) would end it, as
// SIGHUP does by default: it is noted from here on, before tsx itself is loaded, and handed to the
// command, which takes it once its schedules are armed; any other command's action gets it back
// as it would have come (cli/sighup-while-loading.ts), while a help or a usage error, which ends
// the process at once, drops it. Set only when the command line may be that command.
const TAKE = Symbol.for('verite.sighupWhileLoading');
if (process.argv.slice(2).includes('schedule')) {
  let came = false;
  const note = () => {
    came = true;
  };
  process.on('SIGHUP', note);
  globalThis[TAKE] = () => {
    process.off('SIGHUP', note);
    return came;
  };
}

// verite's own settings, wherever the command runs (tsx would otherwise look for a tsconfig.json
// from the working folder): they load Kysely and zod from their CommonJS builds (tsconfig.runtime.json).
const { register } = await import('tsx/esm/api');
const { fileURLToPath } = await import('node:url');
register({ tsconfig: fileURLToPath(new URL('../tsconfig.runtime.json', import.meta.url)) });
await import('../cli/main.ts');
