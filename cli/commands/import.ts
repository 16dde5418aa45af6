import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { catalogStreams, streamIdentity } from '../../catalog/catalog.ts';
import { wrongSheet } from '../../extractors/shipments/drop-files.ts';
import { doubtfulAmountWarning, fileDecimalMark, mapJsonItem } from '../../extractors/shipments/file-drop.ts';
import { knownSource } from '../../extractors/sources.ts';
import type { KnownSources, Page } from '../../extractors/types.ts';
import { errorMessage, UsageError } from '../../lib/errors.ts';
import { didYouMean } from '../../lib/names.ts';
import { plannedDateReplacement, removeRowsNotBrought, type DateReplacement } from '../../loaders/date-replacement.ts';
import { checkFileFormat, FileFormatError, formatOf, readRecordsFile, workbookFit, type SheetChoice } from '../../loaders/file-reader.ts';
import { landPages } from '../../loaders/raw-loader.ts';
import { whileHoldingRunLock } from '../../pipeline/lock.ts';
import { finishRun, finishStreamRun, startRun, startStreamRun } from '../../pipeline/run-log.ts';
import { action, commandContext, EXIT, ExitCode, interruptSignal, withWarehouse, type GlobalOptions } from '../context.ts';

/** Dates listed one per line in the output; past this, the rest are summed up. */
const DATES_SHOWN = 20;

export function registerImport(program: Command, known: KnownSources): void {
  program
    .command('import')
    .description('land records from a .jsonl, .json (array), .csv or .xlsx file exactly as the extractor would')
    .argument('<source>', 'source name, e.g. shopify (or source.stream, e.g. shopify.orders, with the stream left out)')
    .argument('<stream>', 'stream name, e.g. orders')
    .argument('[file]', 'the file to land')
    .option('--replace-dates', 'report streams: replace every date the file holds, removing the rows of those dates that are not in the file')
    .option('--sheet <name|number>', "an .xlsx workbook's sheet to read, by name or number from 1 (default: the source's \"sheet\", else the first sheet that holds a row)")
    .action(
      action(async (sourceArg: string, streamArg: string, fileArg: string | undefined, options: { replaceDates?: boolean; sheet?: string }) => {
        // `verite import shopify.orders FILE`, the stream's name as the catalogue writes it.
        const dotted = fileArg === undefined ? /^([a-z0-9_]+)\.([a-z0-9_]+)$/.exec(sourceArg) : null;
        if (fileArg === undefined && !dotted) throw new UsageError(`missing the file: verite import SOURCE STREAM FILE (or SOURCE.STREAM FILE)`);
        const [sourceName, streamName, file] = dotted ? [dotted[1]!, dotted[2]!, streamArg] : [sourceArg, streamArg, fileArg!];
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const registered = knownSource(sourceName, known)?.streams.find((s) => s.name === streamName);
        const identity = registered ?? streamIdentity(sourceName, streamName);
        if (!identity) {
          const names = [...new Set([...catalogStreams().map((c) => c.name), ...Object.values(known).flatMap((src) => src.streams.map((st) => `${src.name}.${st.name}`))])];
          throw new UsageError(`unknown stream ${sourceName}.${streamName}${didYouMean(`${sourceName}.${streamName}`, names)} (see the stream catalogue in docs/streams.md)`);
        }
        const label = `${sourceName}.${streamName}`;
        if (options.replaceDates && identity.kind !== 'date-report') {
          throw new UsageError(`--replace-dates is for report streams; ${label} merges records by key and never removes rows`);
        }
        if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
        if (!statSync(file).isFile()) throw new UsageError(`${file} is not a file`);
        const sourceConfig = (ctx.config.sources as Record<string, unknown>)[sourceName];
        if (options.sheet !== undefined && formatOf(file) !== 'xlsx') throw new UsageError(`--sheet is for .xlsx workbooks; ${basename(file)} is not one`);
        // The sheet given, else the one the source's file drop reads.
        const configured = (sourceConfig as { sheet?: SheetChoice } | undefined)?.sheet;
        // As text: a sheet named `2024` is that sheet, `2` the second when none is named so.
        const sheetChoice: SheetChoice | undefined = options.sheet ?? configured;
        let header: string[] | undefined;
        try {
          header = await checkFileFormat(file, formatOf(file), sheetChoice);
        } catch (error) {
          throw error instanceof FileFormatError ? new UsageError(error.message) : error;
        }
        // A workbook read on a sheet that is not the stream's, while another sheet is: nothing lands.
        const fit = registered?.sheetLacks ? await workbookFit(file, sheetChoice, (row) => registered.sheetLacks!(row, sourceConfig)) : undefined;
        if (fit && fit.lacking.length && fit.others.length) {
          throw new UsageError(`${label}: ${basename(file)} was not read: ${wrongSheet(fit, (sheet) => `give --sheet ${sheet}`)}`);
        }
        // A column the file source's rows need that the header lacks (renamed in the export), as its file drop warns.
        const columns = header?.filter((c) => c !== '');
        const lacking = columns && registered?.sheetLacks ? registered.sheetLacks(Object.fromEntries(columns.map((c) => [c, ''])), sourceConfig) : [];
        if (lacking.length) {
          process.stderr.write(
            `verite: warning: ${label}: ${basename(file)} has no column ${lacking.map((c) => `"${c}"${didYouMean(c, columns!)}`).join(', ')}, which its rows need to be read: they will be quarantined or lack those fields\n`,
          );
        }
        // A file source's amounts are read with the file's decimal mark, as its file drop reads them.
        // (The source's own `decimalMark`, when set, is read by its mapping instead.)
        const configuredMark = (sourceConfig as { decimalMark?: string } | undefined)?.decimalMark;
        const amounts = registered?.amountsOf && !configuredMark ? await fileDecimalMark(file, (row) => registered.amountsOf!(row, sourceConfig), sheetChoice) : {};
        if (amounts.doubtful) process.stderr.write(`verite: warning: ${doubtfulAmountWarning({ source: sourceName, stream: streamName }, basename(file), amounts.doubtful)}\n`);
        const sheet = registered?.amountsOf ? { decimalMark: amounts.mark, typedDates: formatOf(file) === 'xlsx' } : undefined;
        const read = async function* () {
          // The file's rows are checked together (two parcels under one key), each reading anew.
          const check = registered?.fileRowCheck?.();
          const checked = (record: Record<string, unknown>, location: string | undefined) => {
            const refusal = check?.(record, location);
            if (refusal) throw new Error(refusal);
            return record;
          };
          const mapCsvRow = registered?.mapCsvRow ? (row: Record<string, string>, location: string) => checked(registered.mapCsvRow!(row, sourceConfig, sheet), location) : undefined;
          // A file source's JSON objects go through its mapping too, as its run reads them.
          const mapJson = registered?.mapJsonRecord
            ? (row: Record<string, unknown>, location?: string) => checked(registered.mapJsonRecord!(row, sourceConfig, sheet), location)
            : undefined;
          for await (const records of readRecordsFile(file, { mapCsvRow, sheet: sheetChoice })) yield mapJson ? records.map((item) => mapJsonItem(item, mapJson)) : records;
        };
        const name = basename(file);
        // Ctrl-C or SIGTERM: the page being landed commits, and the import stops there (a second signal stops at once).
        const { signal, dispose } = interruptSignal(ctx.log);
        try {
          return await withWarehouse(ctx.log, async (warehouse) => {
            // A report stream's file replaces the dates it holds, as a re-extraction would: said
            // before anything lands, and only with --replace-dates when rows would go.
            const dates = await plannedDateReplacement(warehouse.pool, sourceName, identity, read());
            const losing = dates.filter((d) => d.removed > 0);
            if (losing.length && !options.replaceDates) throw new UsageError(refusal(label, name, losing));
            if (signal.aborted) throw new ExitCode(EXIT.failed, `verite: ${label}: ${errorMessage(signal.reason)} before anything of ${name} was landed`);
            const runId = randomUUID();
            const batchId = randomUUID();
            await startRun(warehouse, { id: runId, kind: 'import', trigger: 'cli', sources: [sourceName], stage: 'landing' });
            let result;
            try {
              // A quarantined row keeps the decimal marks its file's columns showed, for a retry under another mapping.
              const pages = (async function* (): AsyncGenerator<Page> {
                for await (const records of read()) {
                  if (signal.aborted) return;
                  yield { records, decimalMarks: amounts.columns };
                }
              })();
              // Under the run lock, as every landing: the incremental transform reads the change log
              // under it, so no page may be in flight then (docs/scale.md, "Watermark"). A report
              // stream's pages merge by key, and the rows of the file's dates it did not bring go
              // last, in one transaction, once every page landed: a file stopped half-way removes nothing.
              result = await whileHoldingRunLock(warehouse.pool, async () => {
                const landed = await landPages(warehouse.pool, { source: sourceName, stream: identity, runId, batchId }, pages);
                if (!signal.aborted) await removeRowsNotBrought(warehouse.pool, { source: sourceName, stream: identity, runId, batchId }, dates.map((d) => d.date));
                return landed;
              });
            } catch (error) {
              await finishRun(warehouse.db, runId, { status: 'failed', landed: 0, quarantined: 0, error: (error as Error).message });
              throw error;
            }
            if (signal.aborted) {
              const stopped = `${errorMessage(signal.reason)} after ${result.pages} page(s) of ${name}: the ${result.written} record(s) written stay; no row of its dates was removed. Import the file again to finish`;
              await finishRun(warehouse.db, runId, { status: 'interrupted', landed: result.written, quarantined: result.received - result.written - result.unchanged, error: stopped });
              throw new ExitCode(EXIT.failed, `verite: ${label}: ${stopped}`);
            }
            // Quarantined here: every record refused this time, even one already in the quarantine.
            const refused = result.received - result.written - result.unchanged;
            const nothing =
              result.written + result.unchanged > 0
                ? null
                : result.received === 0
                  ? `${name} holds no records: nothing was landed`
                  : // The first record's reason often says what is wrong with the whole file (the stream it was given to).
                    `nothing of ${name} was landed: all its ${result.received} record(s) were quarantined${result.firstReason ? ` (the first: ${result.firstReason})` : ''}`;
            await finishRun(warehouse.db, runId, { status: nothing ? 'failed' : 'succeeded', landed: result.written, quarantined: refused, error: nothing });
            // A sparse stream (unit costs, a catalogue) is fresh while it is read; a file imported by
            // hand is how some shops deliver it, so a successful import counts as its read. Not for
            // a stream of the daily business: an import of history says nothing of yesterday.
            if (!nothing && identity.sparse) {
              const read = await startStreamRun(warehouse.db, { runId, source: sourceName, stream: identity.name, attempt: 1 });
              await finishStreamRun(warehouse.db, read, { status: 'succeeded', pages: 1, landed: result.written, quarantined: refused });
            }
            process.stdout.write(`${label}: ${result.received} record(s) read, ${result.written} written, ${result.unchanged} unchanged, ${refused} quarantined\n`);
            const replaced = dates.filter((d) => d.held > 0);
            if (replaced.length) process.stdout.write(replacedDates(replaced));
            if (refused) {
              process.stdout.write(
                `Quarantined records are in ops.quarantine with their reason and line: verite query "select location, reason from ops.quarantine where run_id = '${runId}' order by quarantined_at"\n`,
              );
            }
            if (nothing) throw new ExitCode(EXIT.failed, `verite: ${label}: ${nothing}`);
            return EXIT.ok;
          }, { lands: true });
        } finally {
          dispose();
        }
      }),
    );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Lists dates one per line, the ones past {@link DATES_SHOWN} summed up on a last line. */
function dateLines(dates: DateReplacement[], line: (d: DateReplacement) => string): string {
  const shown = dates.slice(0, DATES_SHOWN).map((d) => `  ${d.date}: ${line(d)}\n`);
  const rest = dates.slice(DATES_SHOWN);
  if (rest.length) {
    const removed = rest.reduce((n, d) => n + d.removed, 0);
    shown.push(`  … and ${plural(rest.length, 'more date')}, ${plural(removed, 'row')} removed from them\n`);
  }
  return shown.join('');
}

function refusal(label: string, name: string, losing: DateReplacement[]): string {
  const removed = losing.reduce((n, d) => n + d.removed, 0);
  return (
    `${label}: ${name} would replace ${plural(losing.length, 'date')} holding rows that are not in the file, removing ${plural(removed, 'row')}:\n` +
    dateLines(losing, (d) => `${d.removed} of its ${d.held} rows would go (the file brings ${d.incoming})`) +
    'Nothing was landed. To replace these dates with the rows of the file, import it again with --replace-dates; to keep their rows, add them to the file.'
  );
}

function replacedDates(dates: DateReplacement[]): string {
  return (
    `${plural(dates.length, 'date')} replaced:\n` +
    dateLines(dates, (d) => `${plural(d.held, 'row')} replaced by the file's ${d.incoming} (${d.removed} not in the file removed)`)
  );
}
