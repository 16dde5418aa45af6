#!/usr/bin/env node
// Runs the TypeScript command line through tsx's loader, so no build step is needed.
import { register } from 'tsx/esm/api';

// `verite schedule` reads its configuration again on SIGHUP. One that came while the modules load
// (the first two or three seconds: `systemctl reload` right after a start) would end it, as
// SIGHUP does by default: it is noted from here on and handed to the command, which takes it
// once its schedules are armed; any other command gets it back as it would have come
// (cli/sighup-while-loading.ts). Set only when the command line may be that command.
if (process.argv.slice(2).includes('schedule')) {
  let came = false;
  const note = () => {
    came = true;
  };
  process.on('SIGHUP', note);
  globalThis[Symbol.for('verite.sighupWhileLoading')] = () => {
    process.off('SIGHUP', note);
    return came;
  };
}

register();
await import('../cli/main.ts');
