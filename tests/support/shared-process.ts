import { afterAll, beforeAll, vi } from 'vitest';
import { forgetSecrets, resetLogger } from '../../lib/logger.ts';

/**
 * Set-up of every test file of the `shared` project (vitest.config.ts), whose files run one
 * after another in a few processes that keep their loaded modules: each file starts with what a
 * process of its own would give it, and leaves nothing of its own behind.
 *
 * Before the file: no registered secret (they redact log lines), the logger built anew from the
 * environment. After it: the environment, working folder and exit code as they were, real
 * timers, spies restored. A module mock (`vi.mock`) cannot be undone here: a file using one is
 * isolated (tests/support/isolated-files.ts). A file that leaves a signal handler behind fails:
 * a handler outliving its command is a leak in the code under test (every command removes its
 * own), not the test's to clean up.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

let env: NodeJS.ProcessEnv;
let cwd: string;
let handlers: Map<string, number>;

beforeAll(() => {
  forgetSecrets();
  resetLogger();
  env = { ...process.env };
  cwd = process.cwd();
  handlers = new Map(SIGNALS.map((s) => [s, process.listenerCount(s)]));
});

afterAll(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
  Object.assign(process.env, env);
  if (process.cwd() !== cwd) process.chdir(cwd);
  process.exitCode = undefined;
  resetLogger();
  const left = SIGNALS.filter((s) => process.listenerCount(s) !== handlers.get(s));
  if (left.length) throw new Error(`this test file left ${left.join(', ')} handlers behind: a command did not remove its own`);
});
