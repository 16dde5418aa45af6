import { fileURLToPath } from 'node:url';
import { logger, resetLogger, setLogger } from '../../lib/logger.ts';
import { spawnCli } from './spawn-script.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
  /**
   * In a child process of its own, started from `bin/verite.js` as a user starts it, instead of
   * in the test's process. Taken as well when the environment names a proxy (`lib/proxy.ts` sets
   * the process's HTTP client once, at start) or readable logs (written to the terminal's file
   * descriptor), or when `VERITE_TEST_CLI=process` is set (the whole
   * suite then runs every command line as a child process).
   */
  process?: boolean;
}

/**
 * Runs the real `verite` command line (`cli/program.ts`, every command registered, as
 * `cli/main.ts` runs it) with the given environment added (e.g. DATABASE_URL of the test
 * database, VERITE_CONFIG), logs at warn, and waits for its end.
 *
 * By default in the test's own process: a child process costs some two seconds of CPU to load
 * the command line's TypeScript, and the suite runs the command line a few hundred times. The
 * command sees its arguments, environment and working folder as in a process of its own; its
 * output and log lines are collected, and `process.exit` (commander's help and usage errors)
 * ends the command, not the test. Tests of what only a process shows (signals, the exit of a
 * killed run, start-up, the proxy) start one with `process: true` or {@link spawnCli}.
 */
export async function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = { VERITE_LOG_LEVEL: 'warn', ...options.env };
  const inProcess = options.process !== true && process.env.VERITE_TEST_CLI !== 'process' && !Object.keys(env).some((k) => /^(https?|all|no)_proxy$/i.test(k)) && env.VERITE_LOG_FORMAT !== 'pretty';
  if (inProcess) return runInProcess(args, env, options.cwd);
  const proc = spawnCli(args, env, { cwd: options.cwd });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 290_000);
  try {
    const { code, signal } = await proc.exited;
    return { code, signal, stdout: proc.stdout(), stderr: proc.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** The executable a user starts, as `process.argv[1]` names it. */
const BIN = fileURLToPath(new URL('../../bin/verite.js', import.meta.url));

/** Thrown in place of `process.exit` while a command runs in the test's process. */
class ProcessExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`process.exit(${code})`);
    this.code = code;
  }
}

/** One command at a time: they share the process's environment, output and exit code. */
let queue: Promise<unknown> = Promise.resolve();

function runInProcess(args: string[], env: Record<string, string>, cwd: string | undefined): Promise<CliResult> {
  const run = queue.then(() => runOne(args, env, cwd));
  queue = run.catch(() => undefined);
  return run;
}

async function runOne(args: string[], env: Record<string, string>, cwd: string | undefined): Promise<CliResult> {
  const { buildProgram, commandLine } = await import('../../cli/program.ts');
  let stdout = '';
  let stderr = '';
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const savedArgv = process.argv;
  const savedLogger = logger();
  const savedExitCode = process.exitCode;
  const savedExit = process.exit;
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  const collect = (into: 'out' | 'err') =>
    function write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), done?: (error?: Error | null) => void): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
      if (into === 'out') stdout += text;
      else stderr += text;
      const callback = typeof encoding === 'function' ? encoding : done;
      if (callback) queueMicrotask(() => callback(null));
      return true;
    };
  Object.assign(process.env, { VERITE_LOG_LEVEL: 'info', VERITE_LOG_FORMAT: 'json' }, env);
  if (cwd) process.chdir(cwd);
  process.argv = [process.execPath, BIN, ...args];
  process.exitCode = undefined;
  // Built by the command from its environment, as in a process of its own (a bad
  // VERITE_LOG_LEVEL is the command's configuration error); its lines go where a child's go: on
  // its stderr, in the order written.
  resetLogger({ write: (line: string) => void (stderr += line) });
  process.exit = ((code?: number | string | null) => {
    throw new ProcessExit(Number(code ?? process.exitCode ?? 0));
  }) as typeof process.exit;
  process.stdout.write = collect('out') as typeof process.stdout.write;
  process.stderr.write = collect('err') as typeof process.stderr.write;
  let code: number;
  try {
    await buildProgram().parseAsync(commandLine(process.argv));
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    if (!(error instanceof ProcessExit)) throw error;
    code = error.code;
  } finally {
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
    process.exit = savedExit;
    process.exitCode = savedExitCode;
    resetLogger();
    setLogger(savedLogger);
    process.argv = savedArgv;
    if (cwd) process.chdir(savedCwd);
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
  return { code, signal: null, stdout, stderr };
}
