import { createReadStream } from 'node:fs';
import { extname, basename } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { RawText, RejectedRecord } from './raw-text.ts';

export type FileFormat = 'jsonl' | 'json' | 'csv';

export function formatOf(path: string): FileFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  return undefined;
}

/** Turns a CSV row (column → text) into a record, or says why it cannot. */
export type CsvRowMapper = (row: Record<string, string>) => Record<string, unknown>;

/**
 * Streams the records of a `.jsonl`, `.json` (an array) or `.csv` file in batches, never
 * holding the whole file: JSON records come as {@link RawText} (parsed, and quarantined when
 * broken, by the loader), CSV rows as objects (through `mapCsvRow` when given; a row it
 * rejects becomes a {@link RejectedRecord}).
 */
export async function* readRecordsFile(
  path: string,
  options: { batchSize?: number; mapCsvRow?: CsvRowMapper; format?: FileFormat } = {},
): AsyncGenerator<unknown[]> {
  const format = options.format ?? formatOf(path);
  const size = options.batchSize ?? 5000;
  const name = basename(path);
  let batch: unknown[] = [];
  const source =
    format === 'jsonl' ? jsonLines(path, name) : format === 'json' ? jsonArrayElements(path, name) : format === 'csv' ? csvRows(path, name, options.mapCsvRow) : null;
  if (!source) throw new Error(`${path}: unknown file type (expected .jsonl, .json or .csv)`);
  for await (const record of source) {
    batch.push(record);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* jsonLines(path: string, name: string): AsyncGenerator<unknown> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    yield new RawText(line, `${name}:${n}`);
  }
}

/**
 * Splits a top-level JSON array into its elements' texts without parsing them, tracking
 * strings and nesting, so a file larger than memory can be imported element by element.
 */
async function* jsonArrayElements(path: string, name: string): AsyncGenerator<unknown> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let started = false;
  let current = '';
  let index = 0;
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    let from = 0;
    const text = chunk as string;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (!started) {
        if (c === '[') {
          started = true;
          from = i + 1;
        } else if (!/\s/.test(c!)) {
          throw new Error(`${path}: a .json file must hold an array of records`);
        }
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0 && c === ']') {
          current += text.slice(from, i);
          if (current.trim()) yield new RawText(current.trim(), `${name}[${index}]`);
          return;
        }
        depth--;
      } else if (c === ',' && depth === 0) {
        current += text.slice(from, i);
        yield new RawText(current.trim(), `${name}[${index++}]`);
        current = '';
        from = i + 1;
      }
    }
    current += text.slice(from);
  }
  if (started) throw new Error(`${path}: the JSON array is not closed`);
}

async function* csvRows(path: string, name: string, map?: CsvRowMapper): AsyncGenerator<unknown> {
  const parser = createReadStream(path).pipe(parseCsv({ columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: true }));
  let n = 1;
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    n++;
    if (!map) {
      yield row;
      continue;
    }
    try {
      yield map(row);
    } catch (error) {
      yield new RejectedRecord(JSON.stringify(row), (error as Error).message, `${name}:${n}`);
    }
  }
}
