import type { Command } from 'commander';
import { demoConfig } from '../../config/schema.ts';
import { UsageError, errorMessage } from '../../lib/errors.ts';
import { type ResolvedSource, type RunResult } from '../../pipeline/run.ts';
import { runJob } from '../../scheduler/run-job.ts';
import { action, commandContext, EXIT, interruptSignal, parseList, printError, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { runSummaryText } from '../../metrics/summary.ts';
import { redactString } from '../../lib/logger.ts';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('one full run: extract (incremental) → load → transform → metrics')
    .option('--sources <list>', 'only these sources, comma-separated (e.g. shopify,stripe)')
    .option('--demo', 'use the built-in demo shop instead of real sources')
    .option('--if-running <mode>', 'when another run holds the run lock: wait, or skip (default: scheduleOverlap of the config)')
    .action(
      action(async (opts: { sources?: string; demo?: boolean; ifRunning?: string }) => {
        const global = program.opts<GlobalOptions>();
        const ctx = await commandContext(global);
        const { signal, dispose } = interruptSignal(ctx.log);
        try {
          return await withWarehouse(ctx.log, async (warehouse) => {
            let sources: ResolvedSource[] | undefined;
            if (opts.demo) {
              const { defaultDemoEndDate, demoSources } = await import('../../extractors/demo/index.ts');
              const demo = demoConfig.parse(ctx.config.sources.demo ?? {});
              const endDate = demo.endDate ?? defaultDemoEndDate(new Date());
              sources = demoSources({ seed: demo.seed, days: demo.days, ordersPerDay: demo.ordersPerDay, endDate, reportingCurrency: ctx.config.reportingCurrency }).map(
                (source) => ({ source, config: demo }),
              );
              process.stdout.write(`Demo shop: ${demo.days} days to ${endDate}, about ${demo.ordersPerDay} orders a day (seed ${demo.seed}).\n`);
            }
            if (opts.ifRunning !== undefined && opts.ifRunning !== 'wait' && opts.ifRunning !== 'skip') throw new UsageError(`--if-running ${opts.ifRunning}: expected wait or skip`);
            // One run at a time across processes: the run lock, then the alert check.
            const job = await runJob({
              warehouse, config: ctx.config, log: ctx.log, only: parseList(opts.sources), sources, signal, kind: opts.demo ? 'demo' : 'run',
              overlap: opts.ifRunning ?? ctx.config.scheduleOverlap,
            });
            if (job.status === 'skipped') {
              printError(`verite: run skipped: ${job.reason}`);
              return EXIT.ok;
            }
            const result = job.run;
            printRun(result);
            // The headline KPIs, once the metric tables are fresh.
            if (result.steps.some((s) => s.name === 'metrics' && s.status === 'succeeded')) process.stdout.write(await runSummaryText(warehouse.db, ctx.config, ctx.log));
            process.stdout.write(`\nWarehouse: ${warehouse.describe}\n`);
            process.stdout.write(
              warehouse.embedded
                ? 'Query it with: npx verite query "select * from metrics.kpi_daily order by date desc limit 7"\n' +
                    '(the embedded server runs while a verite command does; set DATABASE_URL to use a server of your own)\n'
                : 'Query it with: npx verite query "select * from metrics.kpi_daily order by date desc limit 7", or any PostgreSQL client\n',
            );
            if (result.status === 'failed' || result.status === 'interrupted') {
              printError(`verite: run ${result.runId} ${result.status}: ${result.error}`);
              return EXIT.failed;
            }
            // Records set aside do not fail the run: the rest is published, and they are named.
            if (result.status === 'succeeded with warnings') printError(`verite: run ${result.runId} succeeded with warnings: ${setAsideNote(result)}`);
            return EXIT.ok;
          });
        } finally {
          dispose();
        }
      }),
    );
}

export function printRun(result: RunResult): void {
  const rows = result.streams.map((s) => ({
    stream: `${s.source}.${s.stream}`,
    status: s.status,
    pages: s.pages,
    written: s.written,
    unchanged: s.unchanged,
    quarantined: s.quarantined,
    error: s.error ? redactString(errorMessage(s.error)).slice(0, 120) : '',
  }));
  process.stdout.write(`\nRun ${result.runId}: ${result.status}\n`);
  if (rows.length) process.stdout.write(formatTable(rows));
  for (const step of result.steps) process.stdout.write(`${step.name}: ${step.status}, ${redactString(step.summary)}\n`);
  if (result.quarantined > 0) {
    process.stdout.write(`${result.quarantined} record(s) quarantined: see ops.quarantine (verite quarantine list).\n`);
  }
  if (result.warnings.length) {
    process.stdout.write(`\nWarnings: records set aside, left out of every metric (verite quarantine list, show, drop, retry):\n`);
    for (const warning of result.warnings) process.stdout.write(`  ${redactString(warning)}\n`);
  }
}

/** One line for stderr: how many warnings, and the first. */
function setAsideNote(result: RunResult): string {
  const first = redactString(result.warnings[0] ?? '');
  return result.warnings.length > 1 ? `${first} (and ${result.warnings.length - 1} more warning${result.warnings.length === 2 ? '' : 's'} above)` : first;
}
