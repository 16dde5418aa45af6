import { open } from 'node:fs/promises';
import { ExtractError } from '../../lib/errors.ts';

/** A top-level object of a bulk export with the lines of its nested connections (in file order). */
export interface BulkObject {
  node: Record<string, unknown>;
  children: Record<string, unknown>[];
}

const NEWLINE = 0x0a;

/** The lines of a file from the last to the first, read in chunks (never the whole file at once). */
async function* linesBackward(file: string, chunkSize = 1 << 16): AsyncGenerator<string> {
  const handle = await open(file, 'r');
  try {
    let position = (await handle.stat()).size;
    let rest = Buffer.alloc(0);
    while (position > 0) {
      const length = Math.min(chunkSize, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      const buffer = Buffer.concat([chunk, rest]);
      // A newline byte never occurs inside a UTF-8 sequence, so splitting the bytes on it is safe.
      let end = buffer.length;
      for (let i = buffer.length - 1; i >= 0; i--) {
        if (buffer[i] !== NEWLINE) continue;
        yield buffer.toString('utf8', i + 1, end);
        end = i;
      }
      rest = Buffer.from(buffer.subarray(0, end));
    }
    if (rest.length) yield rest.toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Reads a bulk operation's JSONL export back into objects with their children. Shopify writes
 * each nested connection's nodes as lines of their own, carrying `__parentId`, somewhere after
 * their parent; reading the file backwards meets every child before its parent, so an object is
 * complete the moment its own line is read and only children still waiting for their parent
 * are held in memory. Objects come out in reverse file order, the same order on every reading.
 */
export async function* readBulkObjects(file: string, where: { source: string; stream: string }): AsyncGenerator<BulkObject> {
  const waiting = new Map<string, Record<string, unknown>[]>();
  let line = 0;
  for await (const text of linesBackward(file)) {
    if (!text.trim()) continue;
    line++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ExtractError(`line ${line} from the end of the bulk export is not JSON: ${text.slice(0, 200)}`, where, { cause: error });
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    const parent = record.__parentId;
    if (typeof parent === 'string') {
      const list = waiting.get(parent) ?? [];
      list.push(record);
      waiting.set(parent, list);
      continue;
    }
    const id = typeof record.id === 'string' ? record.id : undefined;
    const children = id ? (waiting.get(id) ?? []) : [];
    if (id) waiting.delete(id);
    yield { node: record, children: children.reverse() };
  }
  if (waiting.size) {
    throw new ExtractError(`the bulk export has lines for ${waiting.size} parent(s) it does not contain (e.g. ${[...waiting.keys()][0]})`, where);
  }
}
