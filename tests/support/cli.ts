import { spawnCli } from './spawn-script.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `verite` command line in a child process (as a user would), with the
 * given environment added (e.g. DATABASE_URL of the test database, VERITE_CONFIG), and waits
 * for its end: {@link spawnCli} with logs at warn and a time-out.
 */
export async function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const proc = spawnCli(args, { VERITE_LOG_LEVEL: 'warn', ...options.env }, { cwd: options.cwd });
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), options.timeoutMs ?? 290_000);
  try {
    const { code, signal } = await proc.exited;
    return { code, signal, stdout: proc.stdout(), stderr: proc.stderr() };
  } finally {
    clearTimeout(timer);
  }
}
