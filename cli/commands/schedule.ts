import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { noSourceProblem } from '../../pipeline/run.ts';
import { loadConfig } from '../../config/load.ts';
import type { VeriteConfig } from '../../config/schema.ts';
import { startReloadableScheduler } from '../../scheduler/reload.ts';
import type { ScheduleEntryStatus } from '../../scheduler/scheduler.ts';
import { action, commandContext, EXIT, interruptSignal, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { allowedHostsOption, portOption, serveReports, type ServeOptions } from './serve.ts';
import { takeSighupWhileLoading } from '../sighup-while-loading.ts';

export function registerSchedule(program: Command, known: KnownSources): void {
  program
    .command('schedule')
    .description('runs in the foreground and fires runs on the configured cron expressions (SIGTERM/SIGINT: finish the current page, then stop; SIGHUP: read the configuration again)')
    .option('--if-running <mode>', 'when another run holds the run lock: wait, or skip (default: scheduleOverlap of the config)')
    .option('--serve', 'also serve the reports, live views and the metric catalogue, read-only, as `verite serve` does (docs/reports.md)')
    .option('--port <port>', 'with --serve: port of the pages', '8080')
    .option('--host <address>', 'with --serve: address of the pages (default loopback)', '127.0.0.1')
    .option('--bi-role <name>', 'with --serve: the role of `verite bi grant` named in the connection string', 'verite_bi')
    .option('--allowed-host <names>', 'with --serve: names (comma-separated) a reverse proxy on this machine passes on in Host (docs/reports.md)')
    .action(
      action(async (opts: { ifRunning?: string; serve?: boolean } & ServeOptions) => {
        // A SIGHUP while the scheduler starts (`systemctl reload` right after a start) would end the
        // process, as SIGHUP does by default: noted, and the configuration read again once the
        // schedules are armed. One that came earlier, while the modules loaded, bin/verite.js noted.
        let hungUpWhileStarting = false;
        const whileStarting = () => void (hungUpWhileStarting = true);
        process.on('SIGHUP', whileStarting);
        if (takeSighupWhileLoading()) hungUpWhileStarting = true;
        try {
          return await schedule(opts, hungUp);
        } finally {
          process.off('SIGHUP', whileStarting);
        }
        /** Once the schedules are armed and the real handler set: whether a SIGHUP came before, which is then taken. */
        function hungUp(): boolean {
          process.off('SIGHUP', whileStarting);
          return hungUpWhileStarting;
        }
      }),
    );

  async function schedule(opts: { ifRunning?: string; serve?: boolean } & ServeOptions, hungUpWhileStarting: () => boolean): Promise<number> {
    if (opts.ifRunning !== undefined && opts.ifRunning !== 'wait' && opts.ifRunning !== 'skip') throw new UsageError(`--if-running ${opts.ifRunning}: expected wait or skip`);
    // Checked before anything starts (serveReports checks it too, once the scheduler runs).
    if (opts.serve) {
      portOption('--port', opts.port);
      allowedHostsOption(opts.allowedHost);
    }
    const ctx = await commandContext(program.opts<GlobalOptions>());
    // The scheduler runs the config's sources: into the demo's warehouse they would mix a real shop with the demo.
    if (ctx.demo) throw new UsageError('the demo shop is not scheduled: `verite run --demo` builds it whole (again, when run again); `verite schedule` runs the real shop\'s sources, into its own warehouse');
    const problem = noSourceProblem(ctx.config, { configFile: ctx.configFile, cwd: process.cwd() });
    if (problem) throw new UsageError(problem);
    const { signal, dispose } = interruptSignal(ctx.log);
    try {
      return await withWarehouse(ctx.log, async (warehouse) => {
        const overlap = (opts.ifRunning as 'wait' | 'skip' | undefined) ?? ctx.config.scheduleOverlap;
        const globals = program.opts<GlobalOptions>();
        // SIGHUP reads the configuration again: the same file, or the one the folder and VERITE_CONFIG name now.
        const reread = async () => {
          const { config, file } = await loadConfig({ file: globals.config });
          const problem = noSourceProblem(config, { configFile: file, cwd: process.cwd() });
          if (problem) throw new UsageError(problem);
          return config;
        };
        const scheduler = startReloadableScheduler({ warehouse, config: ctx.config, configFile: ctx.configFile, log: ctx.log, known, overlap: opts.ifRunning ? overlap : undefined, reread });
        process.stdout.write(`Scheduling runs on ${warehouse.describe} (times in ${ctx.config.reportingTimezone}; stop with Ctrl-C or SIGTERM, read the configuration again with SIGHUP)\n`);
        printSchedules(scheduler.entries, ctx.config);
        // The pages (--serve) follow a reload too, once they are up.
        let server: Awaited<ReturnType<typeof serveReports>> | null = null;
        const onHangUp = () => {
          ctx.log.info('SIGHUP received: reading the configuration again');
          void scheduler.reload().then((outcome) => {
            if (!outcome.reloaded) {
              ctx.log.error({ problems: outcome.problems }, 'the configuration was not reloaded (problems listed): the schedules running go on as they were');
              return;
            }
            ctx.log.info({ schedules: outcome.entries.length, reports: outcome.config.reports.length }, 'configuration reloaded: the runs in progress finish as they began, the next firings follow the new schedules');
            server?.useConfig(outcome.config);
            process.stdout.write(`Configuration reloaded (times in ${outcome.config.reportingTimezone}):\n`);
            printSchedules(outcome.entries, outcome.config);
          });
        };
        process.on('SIGHUP', onHangUp);
        if (hungUpWhileStarting()) {
          ctx.log.info('a SIGHUP came while the scheduler was starting');
          onHangUp();
        }
        try {
          // Pages that cannot be served (the port taken) stop the scheduler too: else the error is said and the scheduler runs on, the command never ending.
          server = opts.serve ? await serveReports(warehouse, scheduler.config, ctx.log, opts).catch(async (error: unknown) => {
            await scheduler.stop('the pages could not be served');
            throw error;
          }) : null;
          // A reload that ended while the pages started (a SIGHUP at start) is theirs too.
          server?.useConfig(scheduler.config);
          await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
          await server?.closeAll();
        } finally {
          // Removed however the command ends, the pages refused included: a SIGHUP after it reloads nothing.
          process.off('SIGHUP', onHangUp);
        }
        await scheduler.stop(signal.reason instanceof Error ? signal.reason.message : 'stopped');
        process.stdout.write(`Scheduler stopped after ${scheduler.firings} firing(s).\n`);
        return EXIT.ok;
      }, { lands: true });
    } finally {
      dispose();
    }
  }
}

/** The schedules armed, and the reports, as `verite schedule` lists them at start and after a reload. */
function printSchedules(entries: readonly ScheduleEntryStatus[], config: VeriteConfig): void {
  process.stdout.write(formatTable(entries.map((e) => ({ cron: e.cron, sources: e.sources === 'all' ? 'all' : e.sources.join(','), next: e.next }))));
  for (const r of config.reports) process.stdout.write(`Report ${r.kind} on ${r.cron}, into ${config.reportsDir}\n`);
}
