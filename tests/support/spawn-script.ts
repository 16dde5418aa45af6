import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** tsx's loader by its full address, so a child started in another working folder finds it. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** A TypeScript script running in a child process, its output collected as it comes. */
export interface ScriptProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The JSON log lines written so far on stderr. */
  logLines: () => Record<string, unknown>[];
  /** Resolves with the exit code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Arguments after the script (a command line for a script that runs the CLI). */
  args?: string[];
  cwd?: string;
  /**
   * A process group of its own, led by the child, so the test can signal the whole group as a
   * terminal's Ctrl-C does: `process.kill(-child.pid, 'SIGINT')`.
   */
  ownGroup?: boolean;
  /**
   * For `spawnCli`: the load of the command line's modules held (`hold-module-load.mjs`): the
   * file `marker` is written when `bin/verite.js` begins to import them, and they load once the
   * file `release` exists.
   */
  holdModuleLoad?: { marker: string; release: string };
}

/**
 * Starts `tests/support/<script>` with tsx, as `verite` itself runs, with JSON logs at info on
 * stderr and the given environment added.
 */
export function spawnScript(script: string, env: Record<string, string>, options: SpawnOptions = {}): ScriptProcess {
  return spawnNode(['--import', TSX, fileURLToPath(new URL(`./${script}`, import.meta.url)), ...(options.args ?? [])], env, options);
}

/** The real `verite` command line in a child process that the test can signal (`runCli` in cli.ts waits for the end). */
export function spawnCli(args: string[], env: Record<string, string>, options: SpawnOptions = {}): ScriptProcess {
  const bin = fileURLToPath(new URL('../../bin/verite.js', import.meta.url));
  const hold = options.holdModuleLoad;
  if (!hold) return spawnNode([bin, ...args], env, options);
  const hooks = new URL('./hold-module-load.mjs', import.meta.url).href;
  return spawnNode(['--import', hooks, bin, ...args], { ...env, VERITE_TEST_HOLD_MARKER: hold.marker, VERITE_TEST_HOLD_RELEASE: hold.release }, options);
}

function spawnNode(args: string[], env: Record<string, string>, options: SpawnOptions = {}): ScriptProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, VERITE_LOG_LEVEL: 'info', VERITE_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    detached: options.ownGroup === true,
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const logLines = () =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  return { child, stdout: () => out, stderr: () => err, logLines, exited };
}

/**
 * Polls `check` every 50 ms until it returns true. It sets no deadline of its own: how long a
 * child process takes depends on the machine's load, and a wait that never ends is caught by
 * the test's time-out (vitest.config.ts), which names the test; `what` names the wait in the
 * message of an error thrown by `check`.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    let done: boolean;
    try {
      done = await check();
    } catch (error) {
      throw new Error(`while waiting for ${what}: ${(error as Error).message}`, { cause: error });
    }
    if (done) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
