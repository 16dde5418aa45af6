import { loadConfig } from '../config/load.ts';
import type { VeriteConfig } from '../config/schema.ts';
import { ConfigError, UsageError, WarehouseError, errorMessage } from '../lib/errors.ts';
import { logger, redactString, type Logger } from '../lib/logger.ts';
import { markAbandonedRuns } from '../pipeline/lock.ts';
import { demoDataProblem } from '../pipeline/demo-data.ts';
import { openWarehouse, type Warehouse } from '../warehouse/connection.ts';

export interface GlobalOptions {
  config?: string;
  /** The demo shop's warehouse instead of the real one (`verite --demo …`, `verite run --demo`). */
  demo?: boolean;
}

/** Exit codes (README, "Exit codes"; docs/operations.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Thrown by a command to end with an exit code after printing its own message. */
export class ExitCode extends Error {
  readonly code: number;
  constructor(code: number, message = '') {
    super(message);
    this.code = code;
  }
}

export interface CommandContext {
  config: VeriteConfig;
  configFile: string | null;
  log: Logger;
  /** The command works on the demo shop's warehouse (the global `--demo`). */
  demo: boolean;
}

/**
 * Which warehouse the command opens: the real shop's, or with the global `--demo` the demo
 * shop's. Set once per process by {@link commandContext}, as the logger is, so every command
 * (those added later too) honours `--demo` through {@link withWarehouse}.
 */
let demoSelected = false;

export async function commandContext(options: GlobalOptions, overrides?: Record<string, unknown>): Promise<CommandContext> {
  const { config, file } = await loadConfig({ file: options.config, overrides });
  demoSelected = options.demo === true;
  return { config, configFile: file, log: logger(), demo: demoSelected };
}

export interface WithWarehouseOptions {
  migrate?: boolean;
  /**
   * The command lands a real shop's data (run, schedule, backfill, import): a real warehouse
   * that holds the demo shop's data is refused (see {@link demoDataProblem}).
   */
  lands?: boolean;
  /** The embedded server's port when this command starts it (`verite serve --warehouse-port`). */
  embeddedPort?: number;
}

/**
 * Opens the warehouse for the command's duration and always closes it (stopping an embedded
 * server): the demo's with `--demo`. Closes the runs left `running` by a process that is gone
 * first, so every command, `verite status` included, shows them for what they are.
 */
export async function withWarehouse<T>(log: Logger, fn: (warehouse: Warehouse) => Promise<T>, options: WithWarehouseOptions = {}): Promise<T> {
  const warehouse = await openWarehouse({ log, migrate: options.migrate, demo: demoSelected, embeddedPort: options.embeddedPort });
  try {
    if (options.migrate !== false) await markAbandonedRuns(warehouse.db, log).catch((error: unknown) => log.debug({ err: errorMessage(error) }, 'could not check for abandoned runs'));
    if (options.lands && !warehouse.demo) {
      const problem = await demoDataProblem(warehouse);
      if (problem) throw new UsageError(problem);
    }
    return await fn(warehouse);
  } finally {
    await warehouse.close();
  }
}

/**
 * Writes a message for the user on stderr, redacted: error texts quote URLs, SQL parameters and
 * providers' answers, which may hold a secret.
 */
export function printError(text: string): void {
  process.stderr.write(`${redactString(text)}\n`);
}

/**
 * Runs a command action and maps what it throws to an exit code: 2 for bad usage or config,
 * 1 for a failure, with one clear line on stderr.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (error) {
      if (error instanceof ExitCode) {
        if (error.message) printError(error.message);
        process.exitCode = error.code;
      } else if (error instanceof ConfigError || error instanceof UsageError) {
        printError(`verite: ${error.message}`);
        process.exitCode = EXIT.usage;
      } else {
        const detail = error instanceof WarehouseError && error.sql ? `\n  SQL: ${error.sql.trim().split('\n')[0]}` : '';
        printError(`verite: ${errorMessage(error)}${detail}`);
        process.exitCode = EXIT.failed;
      }
    }
  };
}

/**
 * A count option (`--runs`, `--limit`): a whole number from 1, written in digits. Anything else
 * (`abc`, `-5`, `0`, `2.5`) is a usage error, never the default taken without a word.
 */
export function countOption(name: string, value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`${name} ${value}: expected a whole number from 1`);
  return Number(value);
}

/**
 * A comma-separated option's names, or undefined when the option is not given. Given but
 * naming nothing (`--sources ""`, a shell variable left unset) is refused: it would otherwise
 * mean every source, or every model.
 */
export function parseList(value: string | undefined, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`${option} names nothing: give one or more names, comma-separated, or leave ${option} out`);
  return names;
}

/**
 * An abort signal raised by the first SIGINT or SIGTERM: the page being landed commits, then
 * the command stops. A second signal exits at once (the open transaction rolls back).
 */
export function interruptSignal(log: Logger): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    log.warn(`${name} received: finishing the current page, then stopping (send it again to stop at once)`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
