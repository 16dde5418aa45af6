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

// Node.js 22.1 and later can keep what they compiled of each module in a cache on the disk, keyed
// by the module's text: the next command starts from it. verite's goes in the user's own cache
// folder ($XDG_CACHE_HOME, else ~/.cache: verite/node-compile-cache), not in the shared temp folder
// Node.js would pick, where another user could have made the folder first; NODE_COMPILE_CACHE
// names another, NODE_DISABLE_COMPILE_CACHE=1 turns it off. A folder it cannot write leaves the
// cache off, nothing more.
const { enableCompileCache } = await import('node:module');
if (enableCompileCache && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  const { homedir } = await import('node:os');
  const { isAbsolute, join } = await import('node:path');
  // Only an absolute folder (a relative XDG_CACHE_HOME is to be ignored, and an empty home would
  // put the cache in the working folder).
  const absolute = (path) => (path && isAbsolute(path) ? path : undefined);
  let home;
  try {
    home = absolute(homedir());
  } catch {
    // no home folder to be found
  }
  const cache = absolute(process.env.XDG_CACHE_HOME) ?? (home && join(home, '.cache'));
  const folder = process.env.NODE_COMPILE_CACHE || (cache && join(cache, 'verite', 'node-compile-cache'));
  if (folder) enableCompileCache(folder);
}

// Node.js 24.3 and later strip TypeScript's types themselves without an experimental warning, and
// keep the stripped modules in that cache: there the sources run as they are, every module loaded
// natively (verite's sources use only syntax Node.js can erase: tsconfig.json's erasableSyntaxOnly).
// 22.18 and later strip types too, but gained nothing measurable here over tsx. Node.js will not
// strip files under node_modules, so an installed copy of verite, like an older Node.js, goes
// through tsx.
const [major, minor] = process.versions.node.split('.').map(Number);
const native = process.features.typescript && (major > 24 || (major === 24 && minor >= 3)) && !import.meta.url.includes('/node_modules/');
if (!native) {
  // verite's own settings, wherever the command runs (tsx would otherwise look for a tsconfig.json
  // from the working folder): they load Kysely and zod from their CommonJS builds (tsconfig.runtime.json).
  const { register } = await import('tsx/esm/api');
  const { fileURLToPath } = await import('node:url');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.runtime.json', import.meta.url)) });
}
await import('../cli/main.ts');
