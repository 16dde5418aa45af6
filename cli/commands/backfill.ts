import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { parseChunk, planChunks, runBackfill, type BackfillProgress } from '../../pipeline/backfill.ts';
import { resolveSources } from '../../pipeline/run.ts';
import { demoSourceNamed } from '../demo-sources.ts';
import { action, commandContext, EXIT, interruptSignal, printError, withWarehouse, type GlobalOptions } from '../context.ts';

export function registerBackfill(program: Command, known: KnownSources): void {
  program
    .command('backfill')
    .description('re-extracts a date range in chunks, resumable, with a progress bar on a terminal')
    .requiredOption('--source <name>', 'the source to re-extract (e.g. ga4)')
    .option('--stream <name>', 'only this stream of the source')
    .requiredOption('--from <date>', 'first date, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last date, YYYY-MM-DD (inclusive)')
    .option('--chunk <length>', 'chunk length: 7d, 2w, or days', '7d')
    .option('--restart', 'start over instead of resuming an unfinished backfill of the same range')
    .option('--no-transform', 'do not run the transforms and metrics refresh at the end')
    .addHelpText('after', '\nWith --demo (verite --demo backfill --source shopify …), the demo shop\'s sources are read again over the range, into its own warehouse.')
    .action(
      action(async (opts: { source: string; stream?: string; from: string; to: string; chunk: string; restart?: boolean; transform: boolean }) => {
        const chunkDays = parseChunk(opts.chunk);
        planChunks(opts.from, opts.to, chunkDays); // bad dates are a usage error before anything starts
        const ctx = await commandContext(program.opts<GlobalOptions>());
        // With --demo, the demo shop's sources, which read a window as the real ones do, into the demo's warehouse.
        const [source] = ctx.demo ? [await demoSourceNamed(ctx.config, opts.source, new Date())] : resolveSources(ctx.config, [opts.source], known);
        if (!source) throw new UsageError(`source ${opts.source} is not configured`);
        const { signal, dispose } = interruptSignal(ctx.log);
        const bar = progressReporter(process.stderr);
        try {
          return await withWarehouse(ctx.log, async (warehouse) => {
            const result = await runBackfill({
              warehouse, config: ctx.config, log: ctx.log, source, stream: opts.stream, from: opts.from, to: opts.to, chunkDays,
              restart: opts.restart, steps: opts.transform ? undefined : [], signal, onProgress: bar,
            });
            const what = `${opts.source}${opts.stream ? `.${opts.stream}` : ''} ${opts.from} to ${opts.to}`;
            process.stdout.write(
              `Backfill ${result.backfillId} (${what}): ${result.status}, ${result.done}/${result.total} chunks done` +
                `${result.resumed ? ` (resumed; ${result.ran.length} run now)` : ''}, ${result.landed} records landed.\n`,
            );
            if (result.status === 'succeeded') return EXIT.ok;
            printError(`verite: backfill ${result.status}: ${result.error}`);
            return EXIT.failed;
          }, { lands: true });
        } finally {
          dispose();
        }
      }),
    );
}

/**
 * A progress bar redrawn in place (`\r`) on a terminal; elsewhere the backfill's own log lines
 * (one per chunk) say how far it got, so nothing is drawn.
 */
export function progressReporter(out: NodeJS.WriteStream): (p: BackfillProgress) => void {
  if (!out.isTTY) return () => undefined;
  return (p) => {
    const width = 30;
    const filled = p.total ? Math.round((p.done / p.total) * width) : width;
    const current = p.event === 'chunk started' && p.chunk ? `  chunk ${p.chunk.seq}: ${p.chunk.from}..${p.chunk.to}` : '';
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} chunks  ${p.landed} records${current}`;
    out.write(`\r\x1b[2K${line}${p.event === 'finished' ? '\n' : ''}`);
  };
}
