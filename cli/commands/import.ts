import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { streamIdentity } from '../../extractors/catalog.ts';
import { registeredSource } from '../../extractors/registry.ts';
import type { Page, Stream } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { landPages } from '../../loaders/raw-loader.ts';
import { readRecordsFile } from '../../loaders/file-reader.ts';
import { RawText } from '../../loaders/raw-text.ts';
import { finishRun, startRun } from '../../pipeline/run-log.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('land records from a .jsonl, .json (array) or .csv file exactly as the extractor would')
    .argument('<source>', 'source name, e.g. shopify')
    .argument('<stream>', 'stream name, e.g. orders')
    .argument('<file>', 'the file to land')
    .action(
      action(async (sourceName: string, streamName: string, file: string) => {
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const registered = registeredSource(sourceName)?.streams.find((s) => s.name === streamName) as Stream<unknown> | undefined;
        const identity = registered ?? streamIdentity(sourceName, streamName);
        if (!identity) throw new UsageError(`unknown stream ${sourceName}.${streamName} (see the stream catalogue in docs/streams.md)`);
        if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
        const sourceConfig = (ctx.config.sources as Record<string, unknown>)[sourceName];
        const mapCsvRow = registered?.mapCsvRow ? (row: Record<string, string>) => registered.mapCsvRow!(row, sourceConfig) : undefined;
        return withWarehouse(ctx.log, async (warehouse) => {
          const runId = randomUUID();
          await startRun(warehouse, { id: runId, kind: 'import', trigger: 'cli', sources: [sourceName] });
          try {
            const pages = (async function* (): AsyncGenerator<Page> {
              for await (const records of readRecordsFile(file, { mapCsvRow })) {
                const page: Page = { records };
                if (identity.kind === 'date-report' && identity.dateOf) {
                  // Like an extraction, the file replaces the rows of every date it holds.
                  const dates = new Set<string>();
                  for (const r of records) {
                    const value = r instanceof RawText ? safeParse(r.text) : r;
                    const d = value && typeof value === 'object' ? identity.dateOf(value as Record<string, unknown>) : undefined;
                    if (d) dates.add(d);
                  }
                  page.dates = [...dates];
                }
                yield page;
              }
            })();
            const result = await landPages(warehouse.pool, { source: sourceName, stream: identity, runId }, pages);
            await finishRun(warehouse.db, runId, { status: 'succeeded', landed: result.written, quarantined: result.quarantined });
            process.stdout.write(
              `${sourceName}.${streamName}: ${result.received} record(s) read, ${result.written} written, ${result.unchanged} unchanged, ${result.quarantined} quarantined\n`,
            );
            if (result.quarantined) process.stdout.write('Quarantined records are in ops.quarantine with their reason and location.\n');
            return EXIT.ok;
          } catch (error) {
            await finishRun(warehouse.db, runId, { status: 'failed', landed: 0, quarantined: 0, error: (error as Error).message });
            throw error;
          }
        }, { lands: true });
      }),
    );
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
