/**
 * The test files that run each in a process of its own (vitest.config.ts, the `isolated`
 * project): a folder (ending in `/`) or one file. The others share their worker processes and
 * the modules loaded there (tests/support/shared-process.ts).
 *
 * A file belongs here when it tests what belongs to a process: what is read once per process,
 * the state a process starts with, or a module replaced by `vi.mock`, which only takes effect in
 * a process that has not loaded the module yet (tests/architecture/isolated-files.test.ts checks
 * that every file using it is listed). The scheduler's files drive timers and signals; they
 * share processes like the others (the shared set-up puts real timers back and fails a file that
 * leaves a signal handler behind), except the one that mocks node-cron.
 */
export const ISOLATED = ['tests/scheduler/report-retry.test.ts', 'tests/architecture/', 'tests/config/logger.test.ts', 'tests/reports/chart-fonts-reads.test.ts'];

/** Whether the test file at `path` (relative to the project, with `/`) is one of {@link ISOLATED}. */
export function isIsolated(path: string): boolean {
  return ISOLATED.some((entry) => (entry.endsWith('/') ? path.startsWith(entry) : path === entry));
}

/** {@link ISOLATED} as Vitest's globs. */
export const isolatedGlobs = ISOLATED.map((entry) => (entry.endsWith('/') ? `${entry}**/*.test.ts` : entry));
