import type { Command } from 'commander';
import { runTransforms } from '../../transforms/runner.ts';
import { redactString } from '../../lib/logger.ts';
import { createProgress } from '../../lib/progress.ts';
import { whileHoldingRunLock } from '../../pipeline/lock.ts';
import { recordedRun } from '../../pipeline/run-log.ts';
import { action, commandContext, EXIT, parseList, printError, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

export function registerTransform(program: Command): void {
  program
    .command('transform')
    .description('bring the staging and core tables up to date with what is in raw (only what changed; --full rebuilds everything)')
    .option('--select <models>', 'only these models, comma-separated (e.g. core.orders), rebuilt in full; the next build rebuilds in full the models reading them')
    .option('--full', 'rebuild every model from the whole of raw, not from what changed since its last build')
    .action(
      action(async (opts: { select?: string; full?: boolean }) => {
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          const progress = createProgress({ log: ctx.log, out: process.stderr });
          // Recorded in ops.runs (kind transform), so a killed transform leaves a trace too.
          const result = await recordedRun(
            warehouse,
            { kind: 'transform', step: 'the transform' },
            // Under the run lock: no page lands while the transform reads what changed (docs/scale.md, "Watermark").
            (step) =>
              whileHoldingRunLock(warehouse.pool, () =>
                step(
                  'transform',
                  (beforeCommit) => runTransforms(warehouse, ctx.config, { select: parseList(opts.select, '--select'), log: ctx.log, progress, full: opts.full === true, beforeCommit }),
                  (r) => r.status === 'succeeded',
                ),
              ),
            (r) => ({ status: r.status, error: r.error }),
          ).finally(() => progress.done('transform'));
          process.stdout.write(
            formatTable(result.results.map((r) => ({ model: r.model, status: r.status, build: r.mode ?? '', rows: r.rows ?? '', ms: r.ms ?? '', note: redactString(r.error ?? r.reason ?? '') }))),
          );
          const failedChecks = result.checks.filter((c) => !c.passed);
          process.stdout.write(`${result.checks.length - failedChecks.length} of ${result.checks.length} data checks passed\n`);
          for (const c of failedChecks) {
            process.stdout.write(`check failed: ${c.model}: ${c.check}${c.message ? ` — ${c.message}` : ''}\n  sample: ${JSON.stringify(c.sample.slice(0, 3))}\n`);
          }
          for (const note of result.notes) process.stdout.write(`Warning: ${redactString(note)}\n`);
          if (result.warnings.length) {
            process.stdout.write('Set aside (left out of every metric; verite quarantine list, show, drop, retry):\n');
            for (const warning of result.warnings) process.stdout.write(`  ${redactString(warning)}\n`);
          }
          if (result.status === 'failed') {
            const failed = result.results.find((r) => r.status === 'failed');
            if (failed?.sql) printError(`SQL of ${failed.model}:\n${failed.sql}`);
            printError(`verite: transform failed, the previous build is kept: ${result.error}`);
            return EXIT.failed;
          }
          return EXIT.ok;
        });
      }),
    );
}
