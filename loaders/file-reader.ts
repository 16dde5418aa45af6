import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { extname, basename } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { didYouMean } from '../lib/names.ts';
import { LocatedRecord, RawText, RejectedRecord } from './raw-text.ts';
import { byteCount, describeBytes, PREVIEW_BYTES, RECORD_LIMITS } from './record-limits.ts';

export type FileFormat = 'jsonl' | 'json' | 'csv' | 'xlsx';

/**
 * Why a file of no known type cannot be read, naming what it is when its extension says so: a
 * spreadsheet's workbook (`.xlsx`, `.xls`, `.ods`, `.numbers`) is the usual one, and is saved
 * as CSV to be read (its decimal marks are then read as docs/sources/costs.md says).
 */
export function unknownTypeReason(path: string): string {
  const ext = extname(path).toLowerCase();
  if (['.xlsm', '.xls', '.ods', '.numbers'].includes(ext)) {
    return `a spreadsheet workbook (${ext}), which verite does not read: save it as .xlsx, or the sheet as CSV (in Excel, File > Save As > "CSV UTF-8 (Comma delimited)"), and give that file`;
  }
  if (ext === '.tsv' || ext === '.txt') return `unknown file type ${ext} (expected .jsonl, .json, .csv or .xlsx: a tab-separated export saved as .csv is read, its delimiter found from its header)`;
  return `unknown file type${ext ? ` ${ext}` : ''} (expected .jsonl, .json, .csv or .xlsx)`;
}

export function formatOf(path: string): FileFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  if (ext === '.xlsx') return 'xlsx';
  return undefined;
}

/**
 * The file is not what its extension says (a `.json` holding JSON lines, a `.csv` holding
 * JSON, a binary file, UTF-16 text, an unknown extension). Raised before the first record
 * is read; the message names the file.
 */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
  readonly file: string;
  /** What is wrong, without the file's path. */
  readonly reason: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.file = file;
    this.reason = reason;
  }
}

/** Turns a CSV row (column → text) into a record, or says why it cannot. */
/** A CSV row as a record, told where the row is (`3pl.csv:7`); throws with the reason to refuse it. */
export type CsvRowMapper = (row: Record<string, string>, location: string) => Record<string, unknown>;

/** What is read to decide whether a file is what its extension says. */
const SNIFF_BYTES = 64 * 1024;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const LF = 0x0a;
const CR = 0x0d;

/**
 * Streams the records of a `.jsonl`, `.json` (an array) or `.csv` file in batches, never
 * holding the whole file: JSON records come as {@link RawText} (parsed, and quarantined when
 * broken, by the loader), CSV rows as {@link LocatedRecord} (through `mapCsvRow` when given; a
 * row it rejects becomes a {@link RejectedRecord}). Every record is located by file and line
 * (`orders.jsonl:12`; a JSON array element also by its number, `orders.json:3 (record 2)`).
 *
 * A file saved with a UTF-8 byte-order mark reads as one without. A record that is not valid
 * UTF-8, or larger than {@link RECORD_LIMITS}, becomes a {@link RejectedRecord} (never decoded
 * with replacement characters, never held past the limit). A file that is not what its
 * extension says throws {@link FileFormatError} before the first record; an empty file has
 * no records.
 */
export async function* readRecordsFile(
  path: string,
  options: {
    batchSize?: number;
    /** The text a batch holds before it is cut (see {@link BATCH_TEXT_LIMIT}). */
    batchText?: number;
    mapCsvRow?: CsvRowMapper;
    format?: FileFormat;
    sheet?: SheetChoice;
    /** Where a CSV's lines that are not UTF-8 are kept until their row is read (a test's seam: it sees what is kept). */
    utf8Lines?: Utf8Lines;
  } = {},
): AsyncGenerator<unknown[]> {
  const format = options.format ?? formatOf(path);
  if (!format) throw new FileFormatError(path, unknownTypeReason(path));
  const size = options.batchSize ?? 5000;
  const textLimit = options.batchText ?? BATCH_TEXT_LIMIT;
  const name = basename(path);
  let batch: unknown[] = [];
  let text = 0;
  const source =
    format === 'xlsx'
      ? workbookRows(path, name, options.sheet)
      : format === 'jsonl'
        ? jsonLines(fileBytes(path, format), name)
        : format === 'json'
          ? jsonArrayElements(fileBytes(path, format), path, name)
          : csvRows(fileBytes(path, format), path, name, options.mapCsvRow, options.utf8Lines);
  for await (const record of source) {
    batch.push(record);
    text += textLength(record);
    if (batch.length >= size || text >= textLimit) {
      yield batch;
      batch = [];
      text = 0;
    }
  }
  if (batch.length) yield batch;
}

/**
 * The text a batch of records holds, in characters, before it is cut, whatever its count: 5,000
 * records of up to 16 MiB each ({@link RECORD_LIMITS}) could otherwise make one batch of tens of
 * gigabytes. A batch reaches the limit with its last record, so it holds at most the limit and
 * one record.
 */
export const BATCH_TEXT_LIMIT = 64 * 1024 * 1024;

/**
 * The characters of a record's text as it is held: a line's or element's text, a CSV row's
 * values (its fields' text, a number or any other value counted as 8).
 */
function textLength(record: unknown): number {
  if (record instanceof RawText || record instanceof RejectedRecord) return record.text.length;
  if (!(record instanceof LocatedRecord)) return 0;
  let length = 0;
  for (const value of Object.values(record.value)) {
    length += typeof value === 'string' ? value.length : value !== null && typeof value === 'object' ? JSON.stringify(value).length : 8;
  }
  return length;
}

/**
 * Checks that a file is what its extension says, from its first bytes, and throws
 * {@link FileFormatError} when it is not (see {@link readRecordsFile}, which checks the same
 * as it reads). For a command to refuse a file before it starts anything. Gives a CSV's header
 * names (none for an empty file or another format).
 */
export async function checkFileFormat(path: string, format = formatOf(path), sheet?: SheetChoice): Promise<string[] | undefined> {
  if (!format) throw new FileFormatError(path, unknownTypeReason(path));
  if (format === 'xlsx') return (await workbookSheet(path, sheet)).header;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    const head = buffer.subarray(0, bytesRead);
    const text = startsWith(head, UTF8_BOM) ? head.subarray(3) : head;
    checkHead(text, path, format);
    const first = firstNonBlank(text, 0);
    if (first !== -1) checkFirstByte(text[first]!, text, first, path, format);
    if (format === 'csv' && first !== -1) {
      // The header, as the reader will take it (a header longer than what was read is checked as the file is read).
      const names = await headerNames(text);
      return names && csvHeader(names, path);
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

/** The names of a CSV header among the first bytes of its file, as the reader takes them (none for an empty file). */
async function headerNames(text: Buffer): Promise<string[] | undefined> {
  const layout = csvLayout(text);
  const lastLine = text.lastIndexOf(LF);
  const whole = lastLine === -1 ? text : text.subarray(0, lastLine + 1);
  const rows = await new Promise<string[][]>((resolve, reject) =>
    parseCsv(
      whole,
      { delimiter: layout.delimiter, from_line: layout.fromLine, to: 1, skip_empty_lines: true, skip_records_with_empty_values: true, trim: true, relax_column_count: true, skip_records_with_error: true },
      (error, records: string[][]) => (error ? reject(error) : resolve(records)),
    ),
  );
  return rows[0];
}

/**
 * The columns of a file's records, from its first bytes: a CSV's header, the keys of the first
 * record of JSON lines or of a JSON array; undefined for an empty file or a first record that is
 * not a JSON object. For `verite check` to compare a file with the column mapping before a run.
 * Throws {@link FileFormatError} as {@link checkFileFormat} does.
 */
export async function fileColumns(path: string, sheet?: SheetChoice): Promise<string[] | undefined> {
  const header = await checkFileFormat(path, formatOf(path), sheet);
  const format = formatOf(path);
  if (format === 'csv' || format === 'xlsx') return header?.filter((name) => name !== '');
  const records = readRecordsFile(path, { batchSize: 1 });
  try {
    const first = (await records.next()).value?.[0];
    if (!(first instanceof RawText)) return undefined;
    const value: unknown = JSON.parse(first.text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : undefined;
  } catch {
    return undefined;
  } finally {
    await records.return(undefined);
  }
}

/** The file's bytes, the UTF-8 byte-order mark left out, checked to be text of its format. */
async function* fileBytes(path: string, format: FileFormat): AsyncGenerator<Buffer> {
  let head = true;
  let checkedFirst = false;
  for await (const read of createReadStream(path, { highWaterMark: 1 << 20 })) {
    let chunk = read as Buffer;
    if (head) {
      head = false;
      if (startsWith(chunk, UTF8_BOM)) chunk = chunk.subarray(3);
      checkHead(chunk.subarray(0, SNIFF_BYTES), path, format);
    }
    if (!checkedFirst) {
      const first = firstNonBlank(chunk, 0);
      if (first !== -1) {
        checkedFirst = true;
        checkFirstByte(chunk[first]!, chunk, first, path, format);
      }
    }
    yield chunk;
  }
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.subarray(0, prefix.length).equals(prefix);
}

/** Refuses what is not UTF-8 text at all: UTF-16 or UTF-32 text, and binary files. */
function checkHead(head: Buffer, path: string, format: FileFormat): void {
  const what = `a .${format} file`;
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new FileFormatError(path, `is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8`);
  }
  const signatures: [number[], string][] = [
    [[0x50, 0x4b, 0x03, 0x04], 'a ZIP archive (an Excel .xlsx workbook is one: name it .xlsx, or save the sheet as CSV)'],
    [[0x1f, 0x8b], 'a gzip archive (unpack it first)'],
    [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
    [[0xd0, 0xcf, 0x11, 0xe0], 'an old Office document (an Excel .xls workbook? save it as .xlsx, or the sheet as CSV)'],
  ];
  for (const [signature, kind] of signatures) {
    if (signature.every((b, i) => head[i] === b)) throw new FileFormatError(path, `is ${kind}, not ${what}`);
  }
  if (head.includes(0)) {
    throw new FileFormatError(path, `is not ${what}: it holds NUL bytes, so it is binary, or text in UTF-16 or UTF-32 (save it as UTF-8)`);
  }
}

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === LF || byte === CR;
}

function firstNonBlank(buffer: Buffer, from: number): number {
  for (let i = from; i < buffer.length; i++) if (!isBlank(buffer[i]!)) return i;
  return -1;
}

/** The first line of a file, shortened, to show in a message. */
function shown(buffer: Buffer, from: number): string {
  let end = buffer.indexOf(LF, from);
  if (end === -1) end = buffer.length;
  const line = buffer.toString('utf8', from, Math.min(end, from + 60)).trimEnd();
  return end - from > 60 ? `${line}…` : line;
}

/** Refuses a file whose first character says it holds another format than its extension's. */
function checkFirstByte(byte: number, buffer: Buffer, at: number, path: string, format: FileFormat): void {
  const start = JSON.stringify(shown(buffer, at));
  if (format === 'json' && byte !== 0x5b) {
    // An API's answer saved as it came holds its records under a key: {"orders": [ … ]}.
    const wrapped = byte === 0x7b ? /^\{\s*"([^"\\]{1,64})"\s*:\s*\[/.exec(buffer.toString('utf8', at, Math.min(buffer.length, at + 200)))?.[1] : undefined;
    const hint = wrapped
      ? `: one object holding the records under "${wrapped}", as an API's answer is saved? Take the array out (jq '.${wrapped}' ${basename(path)}) and import that`
      : byte === 0x7b
        ? ': a JSON object, or JSON lines (one record per line)? name a JSON lines file .jsonl'
        : '';
    throw new FileFormatError(path, `is not a JSON array of records: a .json file must start with "[", this one starts with ${start}${hint}`);
  }
  if (format === 'jsonl' && byte !== 0x7b) {
    const hint = byte === 0x5b ? ': a JSON array? name it .json' : '';
    throw new FileFormatError(path, `is not JSON lines: each line of a .jsonl file holds one JSON object, this one starts with ${start}${hint}`);
  }
  if (format === 'csv' && (byte === 0x7b || byte === 0x5b)) {
    throw new FileFormatError(path, `holds JSON, not CSV: it starts with ${start} (name JSON lines .jsonl and a JSON array .json)`);
  }
}

/**
 * Where the first byte that is not UTF-8 is, in bytes that `isUtf8` refused: the first lead
 * byte not followed by its continuation bytes, or a stray continuation byte, or an overlong
 * form, a surrogate or a code point past U+10FFFF.
 */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (!length || i + length > bytes.length) return i;
    const second = bytes[i + 1]!;
    const low = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const high = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    if (second < low || second > high) return i;
    for (let k = 2; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return -1;
}

/** The quarantine reason of bytes (a line, or a record of a JSON array) that are not UTF-8. */
function notUtf8(bytes: Uint8Array, of: 'line' | 'record', offset = firstInvalidUtf8(bytes)): string {
  const at = offset === -1 ? '' : ` (byte 0x${bytes[offset]!.toString(16).padStart(2, '0')} at byte ${offset + 1} of the ${of})`;
  return `not valid UTF-8 text${at}: was the file saved in another encoding, such as Latin-1 or Windows-1252? Save it as UTF-8`;
}

function tooLarge(bytes: number): string {
  return `too large: over the limit of ${describeBytes(RECORD_LIMITS.maxBytes)} per record (${byteCount(bytes)} read; its first ${describeBytes(PREVIEW_BYTES)} are kept here)`;
}

/**
 * The bytes of one record being read, kept up to the size limit: past it only a preview is
 * held and the rest is counted, so a broken file never fills the memory.
 */
class RecordBytes {
  private parts: Buffer[] = [];
  size = 0;

  add(bytes: Buffer): void {
    if (!bytes.length) return;
    if (this.size <= RECORD_LIMITS.maxBytes) {
      const room = Math.max(0, RECORD_LIMITS.maxBytes + 1 - this.size);
      // A slice of the read buffer would keep the whole buffer alive: copy what is held.
      this.parts.push(Buffer.from(bytes.subarray(0, room)));
    }
    this.size += bytes.length;
  }

  /**
   * Ends the record with its last bytes: its whole bytes (not copied when they are all in
   * `last`), or, past the size limit, the record rejected with its first bytes.
   */
  end(last: Buffer, location: string): Buffer | RejectedRecord {
    const size = this.size + last.length;
    const parts = this.parts;
    this.parts = [];
    this.size = 0;
    if (size > RECORD_LIMITS.maxBytes) {
      const start = Buffer.concat([...parts, last.subarray(0, PREVIEW_BYTES)]);
      return new RejectedRecord(start.toString('utf8', 0, Math.min(start.length, PREVIEW_BYTES)), tooLarge(size), location);
    }
    return parts.length ? Buffer.concat([...parts, last]) : last;
  }
}

/** A record's bytes as the loader gets them: text, or rejected with the reason. */
function recordOf(bytes: Buffer, location: string, of: 'line' | 'record'): RawText | RejectedRecord {
  if (!isUtf8(bytes)) return new RejectedRecord(bytes.toString('utf8'), notUtf8(bytes, of), location);
  return new RawText(bytes.toString('utf8'), location);
}

function trimmedEnd(bytes: Buffer): Buffer {
  let end = bytes.length;
  while (end > 0 && isBlank(bytes[end - 1]!)) end--;
  return bytes.subarray(0, end);
}

/**
 * One record per line; blank lines are skipped. A line ends at LF, CRLF, or a CR alone (as old
 * Mac files end lines): JSON text never holds a raw CR, so a CR inside a line is a line break.
 */
async function* jsonLines(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<RawText | RejectedRecord> {
  const pending = new RecordBytes();
  let line = 1;
  const record = (bytes: Buffer): RawText | RejectedRecord | undefined => {
    const location = `${name}:${line++}`;
    return firstNonBlank(bytes, 0) === -1 ? undefined : recordOf(bytes, location, 'line');
  };
  function* lines(last: Buffer): Generator<RawText | RejectedRecord> {
    const whole = pending.end(last, `${name}:${line}`);
    if (whole instanceof RejectedRecord) {
      line++;
      yield whole;
      return;
    }
    let from = 0;
    for (let cr = whole.indexOf(CR); cr !== -1; cr = whole.indexOf(CR, from)) {
      const found = record(whole.subarray(from, cr));
      if (found) yield found;
      from = cr + 1;
      // CRLF: the LF that follows ended the line already.
      if (from === whole.length) return;
    }
    const found = record(whole.subarray(from));
    if (found) yield found;
  }
  for await (const chunk of chunks) {
    let from = 0;
    for (let newline = chunk.indexOf(LF); newline !== -1; newline = chunk.indexOf(LF, from)) {
      yield* lines(chunk.subarray(from, newline));
      from = newline + 1;
    }
    pending.add(chunk.subarray(from));
  }
  yield* lines(Buffer.alloc(0));
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

/**
 * Splits a top-level JSON array into its elements' texts without parsing them, tracking
 * strings and nesting byte by byte (no byte of a multi-byte UTF-8 character is ASCII), so a
 * file larger than memory is imported element by element.
 */
async function* jsonArrayElements(chunks: AsyncIterable<Buffer>, path: string, name: string): AsyncGenerator<RawText | RejectedRecord> {
  let phase: 'before' | 'in' | 'after' = 'before';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let index = 0;
  // The element being read: where it started (line, number) and its bytes so far.
  let element: { line: number; number: number } | null = null;
  const pending = new RecordBytes();
  const finish = (last: Buffer): RawText | RejectedRecord => {
    const location = `${name}:${element!.line} (record ${element!.number})`;
    element = null;
    const bytes = pending.end(last, location);
    return bytes instanceof RejectedRecord ? bytes : recordOf(trimmedEnd(bytes), location, 'record');
  };
  for await (const chunk of chunks) {
    // Where, in this chunk, the bytes of the element being read start.
    let from = element ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === LF) line++;
      if (phase === 'in' && element) {
        if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) inString = false;
          continue;
        }
        if (b === QUOTE) inString = true;
        else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
        else if ((b === CLOSE_BRACE || b === CLOSE_BRACKET) && depth > 0) depth--;
        else if (depth === 0 && (b === COMMA || b === CLOSE_BRACKET)) {
          yield finish(chunk.subarray(from, i));
          from = -1;
          if (b === CLOSE_BRACKET) phase = 'after';
        }
        continue;
      }
      if (isBlank(b)) continue;
      if (phase === 'before') {
        // The file's first character was checked to be "[" (see checkFirstByte).
        phase = 'in';
      } else if (phase === 'after') {
        throw new Error(`${path}:${line}: content after the end of the JSON array (${JSON.stringify(shown(chunk, i))})`);
      } else if (b === CLOSE_BRACKET) {
        phase = 'after'; // `[]`, or a trailing comma before the end
      } else {
        // An element starts (an empty one, between two commas, is quarantined as broken JSON).
        element = { line, number: ++index };
        from = i;
        if (b === COMMA) {
          yield finish(Buffer.alloc(0));
          from = -1;
        } else i--; // read it again as part of the element
      }
    }
    if (element && from !== -1) pending.add(chunk.subarray(from));
  }
  if (phase === 'in') throw new Error(`${path}: the JSON array is not closed (is the file cut short?)`);
}

/**
 * Marks the lines of a byte stream that are not UTF-8 as it passes, so a CSV row on such a
 * line is quarantined instead of read with replacement characters. Whole chunks are checked
 * at once; only a chunk that fails is looked at line by line.
 */
export class Utf8Lines {
  /** Line number → the reason, for the lines whose row is not read yet ({@link Utf8Lines.forget}). */
  readonly bad = new Map<number, string>();
  private carry = Buffer.alloc(0);
  private line = 1;

  check(chunk: Buffer): void {
    const data = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const cut = completeLength(data);
    const body = data.subarray(0, cut);
    this.carry = Buffer.from(data.subarray(cut));
    if (!isUtf8(body)) {
      let from = 0;
      let line = this.line;
      while (from <= body.length) {
        let end = body.indexOf(LF, from);
        if (end === -1) end = body.length;
        const bytes = body.subarray(from, end);
        if (!isUtf8(bytes) && !this.bad.has(line)) this.bad.set(line, notUtf8(bytes, 'line'));
        from = end + 1;
        line++;
      }
    }
    for (let i = body.indexOf(LF); i !== -1; i = body.indexOf(LF, i + 1)) this.line++;
  }

  /** At the end of the stream: a character cut short there. */
  end(): void {
    if (this.carry.length) this.bad.set(this.line, notUtf8(this.carry, 'line', 0));
  }

  /**
   * Lets go of the reasons of lines up to `line`, once the row ending there is read: a file of
   * a million Latin-1 lines would otherwise keep a million reasons. Lines are marked in order,
   * so the ones to go are the first ones kept.
   */
  forget(line: number): void {
    for (const marked of this.bad.keys()) {
      if (marked > line) return;
      this.bad.delete(marked);
    }
  }
}

/** The length of `data` without a multi-byte UTF-8 character cut short at its end. */
function completeLength(data: Buffer): number {
  for (let i = data.length - 1; i >= Math.max(0, data.length - 4); i--) {
    const b = data[i]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > data.length ? i : data.length;
  }
  return data.length;
}

/**
 * The largest workbook read: a workbook is read whole (its sheet is compressed XML), unlike a
 * CSV. 100,000 rows of six columns make 3.1 MiB and take some 180 MiB to read.
 */
const WORKBOOK_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * The most a workbook may unpack to: a workbook at {@link WORKBOOK_LIMIT_BYTES} of ordinary rows
 * unpacks to some 37 MiB (100,000 rows of six columns: 2.9 MiB, 26 MiB unpacked). A ZIP of a few
 * hundred KiB can unpack to gigabytes of blanks, which the reader would hold whole.
 */
const WORKBOOK_UNPACKED_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * What a ZIP archive (`zip`, the whole file) unpacks to, found by unpacking every entry, never
 * past `limit` + 1 bytes: as a streaming reader meets them, each local entry from the start of
 * the file (its header, its data, and a data descriptor after it when its header has no sizes),
 * then each entry its central directory lists that the walk did not reach, so neither sizes the archive declares nor entries
 * one of the two leaves out can hide what the reader would unpack. The total, or more than
 * `limit` when the archive unpacks past it; `unreadable` when an entry does not unpack (the
 * reader would fail on it too, or be led past what was measured).
 */
export function zipUnpackedSize(zip: Buffer, limit: number): number | 'unreadable' {
  let total = 0;
  const unpack = (start: number, method: number, packed: number | null): { size: number; consumed: number } | 'unreadable' => {
    if (method === 0) return packed === null || start + packed > zip.length ? 'unreadable' : { size: packed, consumed: packed };
    if (method !== 8) return 'unreadable';
    try {
      const input = packed === null ? zip.subarray(start) : zip.subarray(start, start + packed);
      const { buffer, engine } = inflateRawSync(input, { maxOutputLength: Math.max(1, limit - total + 1), info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      return { size: buffer.length, consumed: engine.bytesWritten };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { size: limit + 1, consumed: 0 };
      return 'unreadable';
    }
  };
  // The local entries, one after the other from the start; each is unpacked once.
  const visited = new Set<number>();
  for (let at = 0; at + 30 <= zip.length && zip.readUInt32LE(at) === 0x04034b50; ) {
    const flags = zip.readUInt16LE(at + 6);
    const described = (flags & 0x8) !== 0;
    const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
    visited.add(at);
    const got = unpack(start, zip.readUInt16LE(at + 8), described ? null : zip.readUInt32LE(at + 18));
    if (got === 'unreadable') return got;
    total += got.size;
    if (total > limit) return total;
    at = start + got.consumed;
    if (described) at += at + 4 <= zip.length && zip.readUInt32LE(at) === 0x08074b50 ? 16 : 12;
  }
  // The entries the central directory lists (found from the end-of-directory record, after a comment of up to 65,535 bytes).
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) return 'unreadable';
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let n = 0; n < entries; n++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== 0x02014b50) return 'unreadable';
    const local = zip.readUInt32LE(at + 42);
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== 0x04034b50) return 'unreadable';
    // An entry the walk above met is counted already; one it did not reach, only a reader of the directory unpacks.
    if (!visited.has(local)) {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const got = unpack(start, zip.readUInt16LE(at + 10), zip.readUInt32LE(at + 20));
      if (got === 'unreadable') return got;
      total += got.size;
      if (total > limit) return total;
    }
    at += 46 + zip.readUInt16LE(at + 28) + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return total;
}

/**
 * Which sheet of a workbook is read: its name, or its number counted from 1 (`sheet` in a file
 * source's config, `verite import --sheet`). Without one, the first sheet that holds a row.
 */
export type SheetChoice = string | number;

/** A workbook's sheets, as read-excel-file gives them: each sheet's name and its rows of cells. */
type Workbook = { sheet: string; data: unknown[][] }[];

const emptyRow = (cells: unknown[]) => cells.every((c) => c === null || c === undefined || (typeof c === 'string' && c.trim() === ''));

/**
 * The workbook read last, by its path, size and modification time: a file drop reads a
 * workbook's sheets, its decimal mark and its rows in turn, and parsing it is most of the cost.
 * Held weakly, so no workbook outlives its reading.
 */
let lastWorkbook: { version: string; book: WeakRef<Workbook> } | undefined;

/**
 * Every sheet of an `.xlsx` workbook, read whole (the same unchanged file once, {@link lastWorkbook}): a workbook over {@link WORKBOOK_LIMIT_BYTES}
 * is refused (saved as CSV, a sheet streams).
 */
async function readWorkbook(path: string): Promise<Workbook> {
  const handle = await open(path, 'r');
  let version: string;
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4 || !(head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)) {
      throw new FileFormatError(path, 'is not an .xlsx workbook (an .xlsx file is a ZIP archive): was another file renamed .xlsx? Save the sheet from the spreadsheet as .xlsx or as CSV');
    }
    const { size, mtimeMs } = await handle.stat();
    if (size > WORKBOOK_LIMIT_BYTES) {
      throw new FileFormatError(path, `is a workbook of ${Math.round(size / 1024 / 1024)} MiB, which is read whole: save the sheet as CSV, which is read as it streams`);
    }
    version = `${path}\u0000${size}\u0000${mtimeMs}`;
    const kept = lastWorkbook?.version === version ? lastWorkbook.book.deref() : undefined;
    if (kept) return kept;
    // Unpacked once, with a cap, before the reader unpacks it whole.
    const zip = Buffer.alloc(size);
    await handle.read(zip, 0, size, 0);
    const unpacked = zipUnpackedSize(zip, WORKBOOK_UNPACKED_LIMIT_BYTES);
    if (unpacked === 'unreadable') {
      throw new FileFormatError(path, 'cannot be read as an .xlsx workbook: a part of its ZIP archive does not unpack (a damaged file?): save the sheet from the spreadsheet again, as .xlsx or as CSV');
    }
    if (unpacked > WORKBOOK_UNPACKED_LIMIT_BYTES) {
      throw new FileFormatError(path, `unpacks to more than ${WORKBOOK_UNPACKED_LIMIT_BYTES / 1024 / 1024} MiB (a workbook is read whole, and at most that is read): save the sheet as CSV, which is read as it streams`);
    }
  } finally {
    await handle.close();
  }
  try {
    const { default: readXlsxFile } = await import('read-excel-file/node');
    const book = (await readXlsxFile(path)) as Workbook;
    lastWorkbook = { version, book: new WeakRef(book) };
    return book;
  } catch (error) {
    throw new FileFormatError(path, `cannot be read as an .xlsx workbook: ${(error as Error).message}`);
  }
}

const quotedNames = (book: Workbook) => book.map((s) => JSON.stringify(s.sheet)).join(', ');

/**
 * The sheet of a workbook that `choice` names: by number, or by name (as written, else the one
 * sheet of that name in other capitals or with blanks around it, as Excel does not tell them
 * apart; a name of digits that no sheet has is its number); without a choice, the first sheet
 * that holds a row (the first sheet of an empty workbook). A choice that names no sheet is
 * refused, listing the sheets.
 */
function pickSheet(path: string, book: Workbook, choice: SheetChoice | undefined): Workbook[number] | undefined {
  if (choice === undefined) return book.find((s) => s.data.some((cells) => !emptyRow(cells))) ?? book[0];
  if (typeof choice === 'number') {
    const sheet = book[choice - 1];
    if (!sheet) throw new FileFormatError(path, `has no sheet ${choice}: it has ${book.length} (${quotedNames(book)})`);
    return sheet;
  }
  const folded = (name: string) => name.trim().toLowerCase();
  const exact = book.find((s) => s.sheet === choice);
  if (exact) return exact;
  const loose = book.filter((s) => folded(s.sheet) === folded(choice));
  if (loose.length === 1) return loose[0];
  // `--sheet 2`: a number given as text is the sheet's number when no sheet has it as its name (`2024`).
  if (/^[1-9][0-9]*$/.test(choice.trim())) return pickSheet(path, book, Number(choice));
  throw new FileFormatError(path, `has no sheet ${JSON.stringify(choice)}${didYouMean(choice, book.map((s) => s.sheet))}: its sheets are ${quotedNames(book)}`);
}

/**
 * The index of a sheet's header row: its first row that is not empty, or, when the sheet opens
 * on a title (rows of one cell at most, such as `Supplier costs` and `Updated 1 May`), the first
 * row of two cells or more among its first {@link TITLE_LOOKAHEAD} rows that are not empty; -1
 * for an empty sheet.
 */
function headerRow(data: unknown[][]): number {
  const filled = (cells: unknown[]) => cells.filter((c) => !emptyRow([c])).length;
  const first = data.findIndex((cells) => !emptyRow(cells));
  if (first === -1 || filled(data[first]!) >= 2) return first;
  let seen = 0;
  for (let i = first; i < data.length && seen < TITLE_LOOKAHEAD; i++) {
    if (emptyRow(data[i]!)) continue;
    seen++;
    if (filled(data[i]!) >= 2) return i;
  }
  return first;
}

/** A sheet's header ({@link headerRow}, as text) and its rows after it, located by row number. */
function sheetTable(path: string, data: unknown[][]): { header: string[]; rows: { line: number; cells: unknown[] }[] } {
  const first = headerRow(data);
  if (first === -1) return { header: [], rows: [] };
  const header = csvHeader(data[first]!.map((c) => (c === null || c === undefined ? '' : String(c).trim())), path);
  const rows = data.slice(first + 1).map((cells, i) => ({ line: first + i + 2, cells })).filter((r) => !emptyRow(r.cells));
  return { header, rows };
}

/**
 * The sheet of an `.xlsx` workbook that `choice` names ({@link pickSheet}): its name, header and
 * rows, and whether the workbook has other sheets (its rows are then located with the sheet's
 * name). Read whole, so a workbook over {@link WORKBOOK_LIMIT_BYTES} is refused.
 */
async function workbookSheet(
  path: string,
  choice?: SheetChoice,
): Promise<{ name: string; several: boolean; header: string[]; rows: { line: number; cells: unknown[] }[] }> {
  const book = await readWorkbook(path);
  const sheet = pickSheet(path, book, choice);
  if (!sheet) return { name: '', several: false, header: [], rows: [] };
  return { name: sheet.sheet, several: book.length > 1, ...sheetTable(path, sheet.data) };
}

/**
 * How a workbook's sheets fit a column mapping (`missing` gives the columns a row lacks): the
 * sheet `choice` reads, the columns it lacks, and the other sheets whose header has them all;
 * undefined for a file that is not a workbook or cannot be read (its reading says why).
 */
export async function workbookFit(
  path: string,
  choice: SheetChoice | undefined,
  missing: (row: Record<string, unknown>) => string[],
): Promise<{ sheet: string; lacking: string[]; others: string[] } | undefined> {
  if (formatOf(path) !== 'xlsx') return undefined;
  try {
    const book = await readWorkbook(path);
    const read = pickSheet(path, book, choice);
    if (!read) return undefined;
    const lacks = (data: unknown[][]) => {
      const { header } = sheetTable(path, data);
      return header.length ? missing(Object.fromEntries(header.filter((c) => c !== '').map((c) => [c, '']))) : undefined;
    };
    const others = book.filter((s) => s !== read && lacks(s.data)?.length === 0).map((s) => s.sheet);
    return { sheet: read.sheet, lacking: lacks(read.data) ?? [], others };
  } catch {
    return undefined;
  }
}

/**
 * A cell as JSON: a number, a boolean or text as it is; a date cell (which holds no time zone)
 * as its date, `2024-03-01`, or its local date and time, `2024-03-01T14:30:00`, for the
 * mapping to read in its zone.
 */
function cellValue(cell: unknown): unknown {
  if (!(cell instanceof Date)) return cell ?? null;
  const iso = cell.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, iso.endsWith('.000Z') ? 19 : 23);
}

/**
 * The rows of a workbook's sheet as JSON records keyed by its header, located by row
 * (`costs.xlsx:3`; `costs.xlsx:3 (sheet "Costs")` in a workbook of several sheets). A cell under
 * a column without a name, or past the header's last name, is kept as `column N` where it holds
 * something, as a CSV's is: nothing of a row is dropped. A cell cannot shift into the next column
 * as a CSV value holding a separator does, so no row is refused for its width (nor could one be
 * told: the reader gives every row, the header's too, the width of the sheet's widest, as Excel
 * pads every row of a sheet it saves as CSV).
 */
async function* workbookRows(path: string, name: string, choice?: SheetChoice): AsyncGenerator<RawText> {
  const { name: sheet, several, header, rows } = await workbookSheet(path, choice);
  const where = several ? ` (sheet ${JSON.stringify(sheet)})` : '';
  for (const { line, cells } of rows) {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < Math.max(header.length, cells.length); i++) {
      const column = header[i] ?? '';
      if (column !== '') record[column] = cellValue(cells[i]);
      else if (!emptyRow([cells[i]])) record[`column ${i + 1}`] = cellValue(cells[i]);
    }
    yield new RawText(JSON.stringify(record), `${name}:${line}${where}`);
  }
}

/**
 * The column names of a CSV header row. A header that is not UTF-8 is refused (no column could
 * be matched, and every row would be set aside for it). Two columns of one name are refused,
 * naming them: a row's value under that name would be one of the two, the other lost. Columns
 * without a name are `column N` (counted from 1).
 */
function csvHeader(names: string[], path: string): string[] {
  // Bytes that are not UTF-8 read as U+FFFD: no column name of the file could be matched.
  const garbled = names.find((name) => name.includes('\uFFFD'));
  if (garbled !== undefined) {
    throw new FileFormatError(path, `its header is not UTF-8 text (a column reads ${JSON.stringify(garbled)}): was the file saved in another encoding, such as Windows-1252 or Latin-1? Save it as UTF-8`);
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '') continue;
    const before = seen.get(name);
    if (before !== undefined) {
      throw new FileFormatError(path, `columns ${before + 1} and ${i + 1} of the header are both named "${name}": rename one, as a row's value under that name would be one of the two and the other lost`);
    }
    seen.set(name, i);
  }
  return names;
}

/** The characters a CSV file's columns may be separated by, the first winning a tie. */
const CSV_DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * How a CSV file is laid out, from its first line: the character between its columns, and the
 * line its header is on. A spreadsheet saved as CSV where the decimal separator is a comma
 * (Excel in most of Europe) separates columns with a semicolon, and "Text (tab delimited)"
 * with tabs; a first line `sep=;` is Excel's own way to name the separator, and is not the
 * header. Otherwise the separator is the one of `, ; TAB |` that the header line holds most
 * often outside quotes (a comma on a tie, and for a header of one column).
 */
export function csvLayout(head: Buffer): { delimiter: string; fromLine: number } {
  // Blank lines before the header are skipped, as the parser skips them.
  let start = 0;
  let line = 1;
  for (;;) {
    const end = head.indexOf(LF, start);
    if (end === -1 || firstNonBlank(head.subarray(start, end), 0) !== -1) break;
    start = end + 1;
    line++;
  }
  let end = head.indexOf(LF, start);
  if (end === -1) end = head.length;
  const first = head.toString('utf8', start, end).replace(/\r$/, '');
  const hint = /^"?sep=(.)"?[,;\t|]*$/i.exec(first);
  if (hint) return { delimiter: hint[1]!, fromLine: line + 1 };
  // A sheet's title above its table (`Supplier costs`, `Einkaufspreise;;;`) is not its header.
  const header = titleLinesSkipped(head, start, line) ?? { text: first, line };
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of header.text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (CSV_DELIMITERS as readonly string[]).includes(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let delimiter: string = CSV_DELIMITERS[0];
  for (const candidate of CSV_DELIMITERS) if ((counts.get(candidate) ?? 0) > (counts.get(delimiter) ?? 0)) delimiter = candidate;
  return { delimiter, fromLine: header.line };
}

/** The lines looked at for a title above a table's header. */
const TITLE_LOOKAHEAD = 12;

/** The most cells that are not blank a CSV line holds, split at any one of the delimiters (quotes kept together). */
function filledCells(text: string): number {
  let most = 0;
  for (const delimiter of CSV_DELIMITERS) {
    let filled = 0;
    let cell = '';
    let quoted = false;
    for (const ch of `${text}${delimiter}`) {
      if (ch === '"') quoted = !quoted;
      if (!quoted && ch === delimiter) {
        if (cell.replace(/"/g, '').trim() !== '') filled++;
        cell = '';
      } else cell += ch;
    }
    most = Math.max(most, filled);
  }
  return most;
}

/**
 * The header of a CSV whose first lines are a title (each holding one cell at most, blank lines
 * between them passed over) above a line of three cells or more, among the first
 * {@link TITLE_LOOKAHEAD} complete lines of `head` from `start` (line number `line`); undefined
 * when the first line is no title, or no such line follows. Three, not two: in a file of one
 * column, a value holding another file's separator (`A;B` under `sku`) reads as two cells, and a
 * file of one column is the case a title cannot be told from; a table of the file sources has
 * three columns or more.
 */
function titleLinesSkipped(head: Buffer, start: number, line: number): { text: string; line: number } | undefined {
  let pos = start;
  let number = line;
  for (let seen = 0; seen < TITLE_LOOKAHEAD; number++) {
    const end = head.indexOf(LF, pos);
    if (end === -1) return undefined;
    const text = head.toString('utf8', pos, end).replace(/\r$/, '');
    pos = end + 1;
    if (text.trim() === '') continue;
    seen++;
    const filled = filledCells(text);
    if (filled >= 2) return number === line || filled < 3 ? undefined : { text, line: number };
  }
  return undefined;
}

async function* csvRows(
  chunks: AsyncIterable<Buffer>,
  path: string,
  name: string,
  map?: CsvRowMapper,
  utf8 = new Utf8Lines(),
): AsyncGenerator<LocatedRecord | RejectedRecord> {
  const reader = chunks[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  // The first lines are read first: they say where the header is (a title may stand above it)
  // and which character separates the columns.
  let lines = 0;
  while (headBytes < SNIFF_BYTES) {
    const next = await reader.next();
    if (next.done) break;
    head.push(next.value);
    headBytes += next.value.length;
    for (let at = next.value.indexOf(LF); at !== -1; at = next.value.indexOf(LF, at + 1)) lines++;
    if (lines > TITLE_LOOKAHEAD) break;
  }
  const layout = csvLayout(Buffer.concat(head));
  const checked = (async function* () {
    for (const chunk of head) {
      utf8.check(chunk);
      yield chunk;
    }
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      utf8.check(next.value);
      yield next.value;
    }
    utf8.end();
  })();
  // A row past the size limit stops the file: in CSV it almost always means a quote left open,
  // after which the following rows cannot be told apart. A row of only separators (`;;;`, which
  // Excel writes for a row whose empty cells are formatted) is no record, as a blank line is not,
  // nor is one whose every value is blank: a workbook's empty rows are passed over alike.
  const parser = parseCsv({
    delimiter: layout.delimiter,
    from_line: layout.fromLine,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    trim: true,
    relax_column_count: true,
    info: true,
    max_record_size: RECORD_LIMITS.maxBytes,
  });
  const input = Readable.from(checked);
  // `pipe` does not pass on the reader's errors (a file that is not CSV, a read error).
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  let header: string[] | undefined;
  try {
    for await (const { record: values, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = csvHeader(values, path);
        utf8.forget(info.lines);
        continue;
      }
      // `lines` is where the row ends; a quoted value may span several lines.
      let newlines = 0;
      for (const value of values) for (let i = value.indexOf('\n'); i !== -1; i = value.indexOf('\n', i + 1)) newlines++;
      const first = info.lines - newlines;
      const location = `${name}:${first}`;
      const row: Record<string, string> = {};
      for (let i = 0; i < Math.min(values.length, header.length); i++) {
        // A column without a name is kept only where it holds something (a sheet's empty columns are not).
        if (header[i] !== '' || values[i] !== '') row[header[i] || `column ${i + 1}`] = values[i]!;
      }
      let invalid: string | undefined;
      for (let l = first; l <= info.lines && !invalid; l++) invalid = utf8.bad.get(l);
      // Lines before the row (blank ones, which the parser skips) and the row's own are read now.
      utf8.forget(info.lines);
      if (invalid) {
        yield new RejectedRecord(JSON.stringify(row), invalid, location);
        continue;
      }
      // Values past the header's columns (empty ones are trailing separators): the row's values
      // have shifted, most often from a separator inside a value that is not in quotes.
      if (values.length > header.length && values.slice(header.length).some((v) => v !== '')) {
        const shown = layout.delimiter === '\t' ? 'tab' : `"${layout.delimiter}"`;
        yield new RejectedRecord(
          JSON.stringify(values),
          `has ${values.length} values for the ${header.length} columns of the header: a value holding a ${shown} outside quotes? Its values cannot be matched to their columns`,
          location,
        );
        continue;
      }
      if (!map) {
        yield new LocatedRecord(row, location);
        continue;
      }
      try {
        yield new LocatedRecord(map(row, location), location);
      } catch (error) {
        yield new RejectedRecord(JSON.stringify(row), (error as Error).message, location);
      }
    }
  } catch (error) {
    if (error instanceof FileFormatError) throw error;
    throw new Error(`${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    input.destroy();
  }
}
