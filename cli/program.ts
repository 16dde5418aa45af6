import { Command } from 'commander';
import { registerImport } from './commands/import.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerQuery } from './commands/query.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerBackfill } from './commands/backfill.ts';
import { registerTransform } from './commands/transform.ts';
import { registerMetrics } from './commands/metrics.ts';
import { registerBi } from './commands/bi.ts';
import { registerQuarantine } from './commands/quarantine.ts';
import '../extractors/index.ts';
import '../pipeline/default-steps.ts';

/**
 * The `verite` command line, every command registered (`cli/main.ts` runs it). Exit codes: 0
 * success, 1 the run failed, 2 bad usage or config.
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('verite')
    .description('ELT pipeline and SQL metrics layer for online shops')
    .version('0.1.0')
    .option('-c, --config <file>', 'configuration file (default: verite.config.{json,yaml,ts} or VERITE_CONFIG)')
    .showHelpAfterError()
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, missing argument) exit 2, --help 0.
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2);
    });
  registerRun(program);
  registerImport(program);
  registerQuery(program);
  registerStatus(program);
  registerSchedule(program);
  registerBackfill(program);
  registerMigrate(program);
  registerTransform(program);
  registerMetrics(program);
  registerBi(program);
  registerQuarantine(program);
  return program;
}
