import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { ShipmentsConfig } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';
import { didYouMean } from '../../lib/names.ts';
import { formatOf, readRecordsFile, workbookFit, type SheetChoice } from '../../loaders/file-reader.ts';
import { LocatedRecord, RawText, RejectedRecord } from '../../loaders/raw-text.ts';
import type { ColumnMarks, FileRowCheck, Page, ReadContext } from '../types.ts';
import { decimalMarkOf, doubtfulAmount, missingColumns, shipmentMapper, shipmentSheetLacks, type DecimalMark, type RowMapper } from './column-mapping.ts';
import { listDropFiles, setSheetIn, wrongSheet, type DropFile } from './drop-files.ts';
import { parcelsOfOneFile } from './parcels.ts';

export interface FileDropOptions {
  /** Records per page (a page is one transaction); default the file reader's. */
  batchSize?: number;
}

interface Fingerprint {
  size: number;
  checksum: string;
  mtimeMs: number;
}

async function fingerprint(path: string): Promise<Fingerprint> {
  const before = await stat(path);
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return { size: before.size, checksum: hash.digest('hex'), mtimeMs: before.mtimeMs };
}

const landedKey = (name: string, size: number | string, checksum: string) => `${name}\u0000${size}\u0000${checksum}`;

/** What a file drop lands: which stream, from which files, through which mapping. */
export interface DropSpec {
  source: string;
  stream: string;
  /** A folder, a file, or a glob. */
  path: string;
  /**
   * A row of a file (CSV text, or a JSON object) as the stream's record; throws with the reason.
   * Its amounts are read with the file's decimal mark ({@link fileDecimalMark}).
   */
  mapRow: RowMapper;
  /** The columns the mapping names that a file's first row lacks. */
  missingColumns: (row: Record<string, unknown>) => string[];
  /** The sheet of a workbook to read (the source's `sheet`). */
  sheet?: SheetChoice;
  /** The source's `decimalMark`: its files' amounts are read with it, not with the mark they show. */
  decimalMark?: DecimalMark;
  /** What a workbook's sheet lacks to be read as this stream's (default {@link DropSpec.missingColumns}). */
  sheetLacks?: (row: Record<string, unknown>) => string[];
  /** A check of each file's mapped records, made anew for each file (the stream's {@link Stream.fileRowCheck}). */
  fileRowCheck?: () => FileRowCheck;
}

/** The shipments file drop (see {@link readDropFiles}). */
export function readFileDrop(ctx: ReadContext<ShipmentsConfig>, options: FileDropOptions = {}): AsyncGenerator<Page> {
  const config = ctx.config;
  const spec: DropSpec = {
    source: 'shipments',
    stream: 'shipments',
    path: config.path!,
    mapRow: shipmentMapper(config),
    missingColumns: (row) => missingColumns(row, config),
    sheetLacks: (row) => shipmentSheetLacks(row, config),
    sheet: config.sheet,
    decimalMark: config.decimalMark,
    fileRowCheck: parcelsOfOneFile,
  };
  return readDropFiles(ctx, spec, options);
}

/**
 * Reads the export files of the drop that were not landed before, each once: a file is known by
 * its name, size and SHA-256 in `ops.landed_files`, so a re-sent file with new content lands
 * again and an unchanged one is skipped. Each file's rows go through the column mapping (a row
 * that cannot be mapped is quarantined with the reason and its line); the last page of a file
 * records it in `ops.landed_files` in the same transaction as its rows.
 *
 * The first page holds no records: inside its transaction it reads which of the files were
 * landed before (a stream sees the warehouse only through the pages it yields), and the files
 * are read once that answer is in.
 */
export async function* readDropFiles(ctx: ReadContext<unknown>, spec: DropSpec, options: FileDropOptions = {}): AsyncGenerator<Page> {
  const { log } = ctx;
  const pattern = spec.path;
  let listing: { files: DropFile[]; ignored: string[] };
  try {
    listing = await listDropFiles(pattern);
  } catch (error) {
    throw new ExtractError(`the file drop cannot be read: ${(error as Error).message}`, { source: spec.source, stream: spec.stream }, { cause: error });
  }
  if (listing.ignored.length) {
    const shown = listing.ignored.slice(0, 5).join(', ');
    const workbook = listing.ignored.some((name) => /\.(xlsm|xls|ods|numbers)$/i.test(name)) ? ': save a spreadsheet as .xlsx or as CSV UTF-8 to have it read' : '';
    ctx.warnOnce(`${spec.source}: ${listing.ignored.length} file(s) of ${pattern} are not .csv, .jsonl, .json or .xlsx and are left alone (${shown}${listing.ignored.length > 5 ? ', …' : ''})${workbook}`, 'files-left-alone');
  }
  if (!listing.files.length) {
    log.info({ path: pattern }, 'no export files in the drop');
    return;
  }
  const landed = new Set<string>();
  let probed!: () => void;
  const probe = new Promise<void>((resolve) => (probed = resolve));
  yield {
    records: [],
    afterLand: async (tx, target) => {
      const res = await tx.query(
        'select name, size::text as size, checksum from ops.landed_files where source = $1 and stream = $2 and name = any($3::text[])',
        [target.source, target.stream, listing.files.map((f) => f.name)],
      );
      for (const row of res.rows) landed.add(landedKey(String(row.name), String(row.size), String(row.checksum)));
      probed();
    },
  };
  // The loader may ask for the next page while it still writes this one: wait for the answer.
  await untilAborted(probe, ctx.signal);
  for (const file of listing.files) {
    const print = await fingerprint(file.path);
    if (landed.has(landedKey(file.name, print.size, print.checksum))) {
      log.debug({ file: file.name }, 'already landed; skipped');
      continue;
    }
    // A workbook read on the wrong sheet would land its rows as records they are not: it is left
    // unlanded, so the next run reads it once `sheet` is set.
    const fit = await workbookFit(file.path, spec.sheet, spec.sheetLacks ?? spec.missingColumns);
    if (fit && fit.lacking.length && fit.others.length) {
      ctx.warnOnce(`${spec.source}: ${file.name} was not read: ${wrongSheet(fit, setSheetIn(spec.source))}`);
      continue;
    }
    // The config's decimal mark, when set, is the mapping's; else the file's amounts say it.
    const { mark: decimalMark, doubtful, columns: decimalMarks } = spec.decimalMark ? { mark: spec.decimalMark, doubtful: undefined, columns: undefined } : await fileDecimalMark(file.path, spec.mapRow.amountsOf, spec.sheet);
    if (doubtful) ctx.warnOnce(doubtfulAmountWarning(spec, file.name, doubtful));
    log.info({ file: file.name, bytes: print.size, ...(decimalMark ? { decimalMark } : {}) }, 'landing export file');
    let firstRow = true;
    const check = spec.fileRowCheck?.();
    const mapRow = (row: Record<string, unknown>, location?: string) => {
      if (firstRow) {
        firstRow = false;
        const missing = spec.missingColumns(row);
        if (missing.length) {
          // A column renamed in the export, or written with other capitals, is named beside the missing one.
          const columns = Object.keys(row);
          ctx.warnOnce(`${spec.source}: ${file.name} has no column ${missing.map((c) => `"${c}"${didYouMean(c, columns)}`).join(', ')}, which the columns mapping names`);
        }
      }
      const record = spec.mapRow(row, { decimalMark, typedDates: formatOf(file.path) === 'xlsx' });
      // Refused as the row itself, as a row the mapping refuses is.
      const refusal = check?.(record, location);
      if (refusal) throw new Error(refusal);
      return record;
    };
    let held: unknown[] | undefined;
    let records = 0;
    for await (const batch of readRecordsFile(file.path, { batchSize: options.batchSize, mapCsvRow: mapRow, sheet: spec.sheet })) {
      const mapped = batch.map((item) => mapJsonItem(item, mapRow));
      // One batch is held back so the file's last page is known: it carries the landed mark.
      if (held) yield { records: held, decimalMarks };
      held = mapped;
      records += mapped.length;
    }
    const after = await stat(file.path);
    if (after.size !== print.size || after.mtimeMs !== print.mtimeMs) {
      // Still being written: what was read stays landed, and the whole file is read again next run.
      ctx.warnOnce(`${spec.source}: ${file.name} changed while it was read; it will be read again on the next run`);
      if (held) yield { records: held, decimalMarks };
      continue;
    }
    yield {
      records: held ?? [],
      decimalMarks,
      afterLand: async (tx, target) => {
        await tx.query(
          `insert into ops.landed_files (source, stream, name, size, checksum, records, run_id)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
          [target.source, target.stream, file.name, print.size, print.checksum, records, target.runId],
        );
      },
    };
  }
}

/**
 * The decimal mark a file writes its amounts with, from a first reading of its amount cells
 * ({@link decimalMarkOf}): `,` when some show a decimal comma (`7,50`, `1.234,50`) and none a
 * decimal point, `.` the other way round, nothing when none shows one or they disagree. A
 * spreadsheet writes every cell of a file one way, so its `1.234` (1234 in a German sheet) and
 * `4,205` (4.205 there, 4205 in an English one) are read as the rest of the file says; alone,
 * `1.234` is 1.234 and `4,205` is refused as reading both ways. `doubtful` is the first amount
 * such as `1.234` (or `1.234 €`: {@link doubtfulAmount}) of a file whose mark is not found: it is
 * read as 1.234, which is for the caller to warn of. `columns` is the mark each column of the
 * file showed ({@link ColumnMarks}), whatever the mapping: kept with the rows the file
 * quarantines, it lets a row retried under another mapping be read as its file wrote it. A file
 * that cannot be read says so in the reading that lands it.
 */
export async function fileDecimalMark(
  path: string,
  amountsOf: (row: Record<string, unknown>) => string[],
  sheet?: SheetChoice,
): Promise<{ mark?: DecimalMark; doubtful?: string; columns?: ColumnMarks }> {
  let found: DecimalMark | undefined;
  let doubtful: string | undefined;
  let mixed = false;
  const columns = new Map<string, DecimalMark | null>();
  const see = (row: Record<string, unknown>) => {
    noteColumnMarks(columns, row);
    for (const amount of amountsOf(row)) {
      const mark = decimalMarkOf(amount);
      if (mark === undefined) {
        if (doubtful === undefined && doubtfulAmount(amount)) doubtful = amount.trim();
        continue;
      }
      if (found !== undefined && found !== mark) mixed = true;
      found = mark;
    }
  };
  try {
    const rows = readRecordsFile(path, {
      sheet,
      mapCsvRow: (row) => {
        see(row);
        return {};
      },
    });
    for await (const batch of rows) {
      for (const item of batch) {
        if (!(item instanceof RawText)) continue;
        try {
          const value: unknown = JSON.parse(item.text);
          if (value !== null && typeof value === 'object' && !Array.isArray(value)) see(value as Record<string, unknown>);
        } catch {
          // A broken record is quarantined by the reading that lands the file.
        }
      }
    }
  } catch {
    return {};
  }
  const marks = columns.size ? { columns: Object.fromEntries(columns) } : {};
  return mixed || found === undefined ? { doubtful, ...marks } : { mark: found, ...marks };
}

/**
 * Notes the decimal mark each text value of a row shows under its column (a nested JSON object's
 * values under their dotted names, as a mapping names them): a column that shows both is null.
 */
function noteColumnMarks(marks: Map<string, DecimalMark | null>, row: Record<string, unknown>, prefix = ''): void {
  for (const [name, value] of Object.entries(row)) {
    const column = prefix + name;
    if (typeof value === 'string') {
      // Most cells (names, dates, ids) are passed over before the patterns of an amount are tried.
      const mark = value.length < 40 && /\d[.,]/.test(value) ? decimalMarkOf(value) : undefined;
      const before = marks.get(column);
      if (mark !== undefined && before !== null) marks.set(column, before === undefined || before === mark ? mark : null);
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      noteColumnMarks(marks, value as Record<string, unknown>, `${column}.`);
    }
  }
}

/**
 * The warning for a file whose amounts show no decimal mark and hold one such as `1.234`, read
 * as 1.234: in a decimal-comma sheet it is 1234, and nothing in the file tells which.
 */
export function doubtfulAmountWarning(target: { source: string; stream: string }, file: string, doubtful: string): string {
  return (
    `${target.source}: ${file} shows no decimal mark in its amounts, and ${doubtful} was read with a decimal point: if it means ${doubtful.replace('.', '')}, ` +
    `set "decimalMark": "," in sources.${target.source} and land the file again (verite import ${target.source} ${target.stream} ${file})`
  );
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}

/** A JSON record of a `.jsonl`/`.json` export through the mapping; CSV rows are mapped by the reader. */
export function mapJsonItem(item: unknown, mapRow: (row: Record<string, unknown>, location?: string) => Record<string, unknown>): unknown {
  if (!(item instanceof RawText)) return item;
  let value: unknown;
  try {
    value = JSON.parse(item.text);
  } catch {
    return item; // the loader quarantines it with the parser's reason
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return item;
  try {
    return new LocatedRecord(mapRow(value as Record<string, unknown>, item.location), item.location);
  } catch (error) {
    return new RejectedRecord(item.text, (error as Error).message, item.location);
  }
}
