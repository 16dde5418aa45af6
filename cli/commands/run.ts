import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError, errorMessage } from '../../lib/errors.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { noSourceProblem, resolveSources, type ResolvedSource, type RunResult } from '../../pipeline/run.ts';
import { runJob } from '../../scheduler/run-job.ts';
import { action, commandContext, EXIT, interruptSignal, parseList, printError, withWarehouse, type GlobalOptions } from '../context.ts';
import { demoResolvedSources } from '../demo-sources.ts';
import { formatTable } from '../format.ts';
import { runSummaryText } from '../../metrics/summary.ts';
import { isSetAsideWarning } from '../../transforms/runner.ts';
import { redactString } from '../../lib/logger.ts';
import { createProgress } from '../../lib/progress.ts';
import { reportsFolder, writeReportsLines } from './report.ts';

export function registerRun(program: Command, known: KnownSources): void {
  program
    .command('run')
    .description('one full run: extract (incremental) → load → transform → metrics')
    .option('--sources <list>', 'only these sources, comma-separated (e.g. shopify,stripe)')
    // --demo is the global option (it also chooses the demo's warehouse), given after `run` as well.
    .option('--if-running <mode>', 'when another run holds the run lock: wait, or skip (default: scheduleOverlap of the config)')
    .option('--full', 'rebuild the staging, core and metric tables from the whole of raw, not from what changed')
    .addHelpText('after', '\nWith --demo (verite run --demo), the built-in demo shop stands in for every source, in a warehouse of its own.')
    .action(
      action(async (opts: { sources?: string; ifRunning?: string; full?: boolean }) => {
        const global = program.opts<GlobalOptions>();
        const demo = global.demo === true;
        if (opts.ifRunning !== undefined && opts.ifRunning !== 'wait' && opts.ifRunning !== 'skip') throw new UsageError(`--if-running ${opts.ifRunning}: expected wait or skip`);
        const only = parseList(opts.sources, '--sources');
        const ctx = await commandContext(global);
        const problem = demo ? null : noSourceProblem(ctx.config, { configFile: ctx.configFile, cwd: process.cwd() });
        if (problem) throw new UsageError(problem);
        // A source named in --sources that is not configured is said before the warehouse is started.
        if (!demo && only) resolveSources(ctx.config, only, known);
        const { signal, dispose } = interruptSignal(ctx.log);
        try {
          return await withWarehouse(
            ctx.log,
            async (warehouse) => {
              let sources: ResolvedSource[] | undefined;
              if (demo) {
                const shop = await demoResolvedSources(ctx.config, new Date());
                const { options, endDate } = shop;
                sources = shop.sources;
                process.stdout.write(`Demo shop: ${options.days} days to ${endDate}, about ${options.ordersPerDay} orders a day (seed ${options.seed}).\n`);
              }
              // One run at a time across processes: the run lock, then the alert check.
              const job = await runJob({
                warehouse, config: ctx.config, log: ctx.log, only, sources, known, signal, kind: demo ? 'demo' : 'run', full: opts.full === true,
                // A run of every source of the real shop pings the heartbeat (verite run from cron).
                heartbeat: !demo && !opts.sources,
                overlap: (opts.ifRunning as 'wait' | 'skip' | undefined) ?? ctx.config.scheduleOverlap,
                // Each stream's pages, records and dates reached, the transform's and the refresh's tables, on a terminal and in the logs.
                progress: createProgress({ log: ctx.log, out: process.stderr }),
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
              // The demo ends with its weekly and monthly reviews, so the first thing seen is a report of the demo shop.
              const reports =
                demo && result.steps.some((s) => s.name === 'metrics' && s.status === 'succeeded')
                  ? await writeReportsLines(warehouse.db, ctx.config, ['weekly', 'monthly'], reportsFolder(ctx.config, true), new Date())
                  : [];
              process.stdout.write(demo ? demoNextSteps(warehouse, reports) : queryHint(warehouse));
              if (result.status === 'failed' || result.status === 'interrupted') {
                printError(`verite: run ${result.runId} ${result.status}: ${result.error}`);
                return EXIT.failed;
              }
              // Warnings (records set aside, a cost missing …) do not fail the run: the rest is published, and they are named.
              if (result.status === 'succeeded with warnings') printError(`verite: run ${result.runId} succeeded with warnings: ${warningsNote(result)}`);
              return EXIT.ok;
            },
            // A real run refuses a warehouse holding the demo's data; the demo has its own.
            { lands: !demo },
          );
        } finally {
          dispose();
        }
      }),
    );
}

const QUERY = 'select * from metrics.kpi_daily order by date desc limit 7';

function queryHint(warehouse: Warehouse): string {
  return warehouse.embedded
    ? `Query it with: npx verite query "${QUERY}"\n(the embedded server runs while a verite command does; set DATABASE_URL to use a server of your own)\n`
    : `Query it with: npx verite query "${QUERY}", or any PostgreSQL client\n`;
}

/** What the demo's output ends with: how to look further, and how to go from the demo to a real shop. */
export function demoNextSteps(warehouse: Warehouse, reports: readonly string[] = []): string {
  const lines = [
    ...(reports.length
      ? ['', "The demo shop's weekly and monthly reviews (open them in a browser):", ...reports, '  npx verite --demo serve                   serves them, live views and the metric catalogue on http://127.0.0.1:8080/']
      : []),
    '',
    "The demo shop's data is in a warehouse of its own (above): add --demo to look at it.",
    `  npx verite --demo query "${QUERY}"`,
    '  npx verite --demo status                  runs, streams, freshness',
    '  npx verite metrics list                   every published metric (verite metrics describe NAME for one)',
    '',
    'Next steps:',
    '  1. Configure your real sources in verite.config.json (README, "Running against your real shop"; docs/sources/).',
    '  2. npx verite check                       checks the sources, secrets and credentials without landing anything',
    '  3. npx verite run                         lands them in the real warehouse, never mixed with the demo',
    '  4. npx verite bi grant --role looker_reader --password-env LOOKER_PASSWORD',
    '                                            a read-only login for a BI tool (docs/bi.md)',
  ];
  if (warehouse.embedded) lines.push('', '(the embedded server runs while a verite command does; set DATABASE_URL to use a server of your own)');
  return `${lines.join('\n')}\n`;
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
    // Set-aside records are one kind of warning among others (sold lines without a cost, a stream read only in part).
    const setAside = result.warnings.some(isSetAsideWarning);
    process.stdout.write(`\nWarnings${setAside ? ' (records set aside are left out of every metric: verite quarantine list, show, drop, retry)' : ''}:\n`);
    for (const warning of result.warnings) process.stdout.write(`  ${redactString(warning)}\n`);
  }
  if (result.silenced?.length) process.stdout.write(`Silenced by silenceWarnings (in the log only): ${result.silenced.join(', ')}\n`);
}

/** One line for stderr: how many warnings, and the first. */
function warningsNote(result: RunResult): string {
  const first = redactString(result.warnings[0] ?? '');
  return result.warnings.length > 1 ? `${first} (and ${result.warnings.length - 1} more warning${result.warnings.length === 2 ? '' : 's'} above)` : first;
}
