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
import { registerCheck } from './commands/check.ts';
import { registerClv } from './commands/clv.ts';
import { registerQuarantine } from './commands/quarantine.ts';
import { registerReport } from './commands/report.ts';
import { registerServe } from './commands/serve.ts';
import { giveBackSighupWhileLoading } from './sighup-while-loading.ts';
import { DEFAULT_CONFIG_FILES } from '../config/load.ts';
import { sources } from '../extractors/sources.ts';
import type { KnownSources } from '../extractors/types.ts';

/**
 * The `verite` command line, every command registered (`cli/main.ts` runs it). Exit codes: 0
 * success, 1 the run failed, 2 bad usage or config. `known`: the extractors its commands read
 * with (tests put a stand-in for one source here).
 */
export function buildProgram(known: KnownSources = sources): Command {
  const program = new Command();
  program
    .name('verite')
    .description('ELT pipeline and SQL metrics layer for online shops')
    .version('0.1.0')
    .option('-c, --config <file>', `configuration file (default: ${defaultConfigFiles()} or VERITE_CONFIG)`)
    .option('--demo', "the demo shop's warehouse, kept apart from the real shop's (`verite run --demo` fills it; e.g. `verite --demo query …`)")
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    // A SIGHUP bin/verite.js noted while the modules loaded is `verite schedule`'s to take; any
    // other command gets it back as it would have come (cli/sighup-while-loading.ts).
    .hook('preAction', async (_program, command) => {
      if (command.parent === program && command.name() === 'schedule') return;
      await giveBackSighupWhileLoading();
    })
    .exitOverride((err) => {
      // commander's own usage errors (unknown option, missing argument) exit 2, --help 0; help
      // shown because no command was given is a usage error too (commander gives it exit code 1).
      const help = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0);
      process.exit(help ? 0 : 2);
    });
  registerRun(program, known);
  registerImport(program, known);
  registerQuery(program);
  registerStatus(program);
  registerSchedule(program, known);
  registerBackfill(program, known);
  registerMigrate(program);
  registerTransform(program);
  registerMetrics(program);
  registerBi(program);
  registerCheck(program, known);
  registerClv(program);
  registerQuarantine(program, known);
  registerReport(program);
  registerServe(program);
  return program;
}

/**
 * The command line as commander is to read it. An argument that starts with `--` and white
 * space can never be an option, but commander takes it for one (`error: unknown option '--
 * orders per day…'`): SQL that opens with a comment, as `verite query "$(cat q.sql)"` gives. A
 * space before it makes it the argument it is (harmless to SQL); the options after it are read
 * as ever.
 */
export function commandLine(argv: readonly string[]): string[] {
  return argv.map((arg) => (/^--\s/.test(arg) ? ` ${arg}` : arg));
}

/** The default config files as the help names them: `verite.config.{json,yaml,yml,ts}`. */
function defaultConfigFiles(): string {
  const stem = 'verite.config.';
  return `${stem}{${DEFAULT_CONFIG_FILES.map((f) => f.slice(stem.length)).join(',')}}`;
}
