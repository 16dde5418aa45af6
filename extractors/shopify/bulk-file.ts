import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ExtractError } from '../../lib/errors.ts';

/** A top-level object of a bulk export with the lines of its nested connections (in file order). */
export interface BulkObject {
  node: Record<string, unknown>;
  children: Record<string, unknown>[];
}

export interface BulkReadOptions {
  /**
   * About how many bytes of the export one part holds, and so how much is held in memory at
   * once (as text). Tests make it small to exercise many parts on a small file.
   */
  partBytes?: number;
}

/** 16 MiB of JSONL a part: a few tens of MB of memory while a part is grouped. */
const PART_BYTES = 16 * 1024 * 1024;
/** Parts open for writing at once (one file handle each); past it, parts simply grow. */
const MAX_PARTS = 256;
/** Text buffered per part before it is appended to its file. */
const FLUSH_BYTES = 64 * 1024;

/** FNV-1a: a fast, stable hash, so the same export is always split the same way. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

async function* lines(file: string): AsyncGenerator<string> {
  const input = createReadStream(file, { encoding: 'utf8' });
  try {
    yield* createInterface({ input, crlfDelay: Infinity });
  } finally {
    input.destroy();
  }
}

/**
 * Reads a bulk operation's JSONL export back into objects with their children, whatever the
 * order of its lines. Shopify writes each nested connection's nodes as lines of their own
 * carrying `__parentId`; since API version 2026-01 (`groupObjects: false`, the default) such a
 * line may come anywhere, before its parent or far after it. So the file is read in two
 * passes, never whole: the first copies each line into one of a few part files chosen by the
 * id of the object it belongs to (its own, or its `__parentId`), so an object and all its
 * children land in the same part; the second reads one part at a time and gives its objects,
 * each with its children in file order. Objects come out part by part, in the order each
 * object was first met in its part: the same order on every reading of the same file, which is
 * what lets an interrupted read skip the objects it landed before.
 *
 * One level of nesting is read (a parent and its children), which is what verite's bulk
 * queries ask for; a line whose parent is not in the file fails the read, naming it.
 */
export async function* readBulkObjects(file: string, where: { source: string; stream: string }, options: BulkReadOptions = {}): AsyncGenerator<BulkObject> {
  const { size } = await stat(file);
  const count = Math.min(MAX_PARTS, Math.max(1, Math.ceil(size / (options.partBytes ?? PART_BYTES))));
  const dir = `${file}.parts`;
  await mkdir(dir, { recursive: true });
  try {
    await splitIntoParts(file, dir, count, where);
    for (let part = 0; part < count; part++) yield* objectsOfPart(join(dir, `${part}.txt`), where);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The first pass: each line of the export, prefixed with the id of the object it belongs to,
 * whether it is that object (`o`) or one of its children (`c`), and tabs (ids hold no tab),
 * appended to the part of that id.
 */
async function splitIntoParts(file: string, dir: string, count: number, where: { source: string; stream: string }): Promise<void> {
  const handles: FileHandle[] = [];
  const buffers: string[] = new Array<string>(count).fill('');
  const flush = async (part: number) => {
    if (!buffers[part]) return;
    handles[part] ??= await open(join(dir, `${part}.txt`), 'a');
    await handles[part]!.appendFile(buffers[part]!, 'utf8');
    buffers[part] = '';
  };
  try {
    let n = 0;
    for await (const text of lines(file)) {
      n++;
      if (!text.trim()) continue;
      const { owner, child } = ownerOf(text, n, where);
      const part = count === 1 ? 0 : hash(owner) % count;
      buffers[part] += `${owner}\t${child ? 'c' : 'o'}\t${text}\n`;
      if (buffers[part]!.length >= FLUSH_BYTES) await flush(part);
    }
    for (let part = 0; part < count; part++) await flush(part);
  } finally {
    await Promise.all(handles.filter(Boolean).map((h) => h.close()));
  }
}

/** The id a line belongs to: its `__parentId` (a child), else its own `id`, else its line number. */
function ownerOf(text: string, n: number, where: { source: string; stream: string }): { owner: string; child: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExtractError(`line ${n} of the bulk export is not JSON: ${text.slice(0, 200)}`, where, { cause: error });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ExtractError(`line ${n} of the bulk export is not a JSON object: ${text.slice(0, 200)}`, where);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.__parentId === 'string') return { owner: record.__parentId, child: true };
  // An object without an id (a query that does not select it) has no children to meet.
  return { owner: typeof record.id === 'string' ? record.id : `line:${n}`, child: false };
}

interface Group {
  node?: string;
  children: string[];
}

/** The second pass over one part: its objects with their children, checked complete before any is given. */
async function* objectsOfPart(partFile: string, where: { source: string; stream: string }): AsyncGenerator<BulkObject> {
  const groups = new Map<string, Group>();
  if (!(await stat(partFile).catch(() => null))) return; // no line fell in this part
  for await (const line of lines(partFile)) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const owner = line.slice(0, tab);
    const text = line.slice(tab + 3);
    let group = groups.get(owner);
    if (!group) groups.set(owner, (group = { children: [] }));
    if (line[tab + 1] === 'c') group.children.push(text);
    else group.node = text;
  }
  const orphans = [...groups].filter(([, g]) => g.node === undefined).map(([id]) => id);
  if (orphans.length) {
    throw new ExtractError(`the bulk export has lines for ${orphans.length} parent(s) it does not contain (e.g. ${orphans[0]})`, where);
  }
  for (const group of groups.values()) {
    yield { node: JSON.parse(group.node!) as Record<string, unknown>, children: group.children.map((c) => JSON.parse(c) as Record<string, unknown>) };
  }
}
