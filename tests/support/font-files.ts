import { existsSync, readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';

/**
 * Font files made from the machine's real fonts, for the formats no Debian package of the tests
 * installs: a TrueType collection (`ttcf`) and a WOFF2 file. Both written from the OpenType
 * table directory (docs/sources/fonts.md cites the specifications), each table copied as it is.
 */

/** Debian's fonts the chart-font tests use (`.ci/run` installs their packages). */
export const DROID = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf'; // fonts-droid-fallback
export const GARUDA = '/usr/share/fonts/truetype/tlwg/Garuda.ttf'; // fonts-tlwg-garuda-ttf: Thai
export const LOHIT_DEVANAGARI = '/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf'; // fonts-lohit-deva

/** Fails saying which Debian package to install when one of the fonts above is missing (.ci/run installs them). */
export function requireTestFonts(): void {
  for (const [file, pkg] of [
    [DROID, 'fonts-droid-fallback'],
    [GARUDA, 'fonts-tlwg-garuda-ttf'],
    [LOHIT_DEVANAGARI, 'fonts-lohit-deva'],
  ] as const) {
    if (!existsSync(file)) throw new Error(`no ${file}: install Debian's ${pkg} (apt-get install ${pkg})`);
  }
}

interface Table {
  tag: string;
  data: Buffer;
}

/** The tables of a single-font file, in its directory's order (sorted by tag). */
export function fontTables(file: string): { flavor: Buffer; tables: Table[] } {
  const font = readFileSync(file);
  const count = font.readUInt16BE(4);
  const tables: Table[] = [];
  for (let i = 0; i < count; i++) {
    const at = 12 + 16 * i;
    const offset = font.readUInt32BE(at + 8);
    tables.push({ tag: font.toString('latin1', at, at + 4), data: font.subarray(offset, offset + font.readUInt32BE(at + 12)) });
  }
  return { flavor: font.subarray(0, 4), tables };
}

/** A table directory: its header (searchRange and the like left 0: no reader here uses them) and records. */
function directory(flavor: Buffer, tables: Table[], offsets: number[]): Buffer {
  const head = Buffer.alloc(12 + 16 * tables.length);
  flavor.copy(head, 0);
  head.writeUInt16BE(tables.length, 4);
  tables.forEach((t, i) => {
    head.write(t.tag, 12 + 16 * i, 'latin1');
    head.writeUInt32BE(offsets[i]!, 12 + 16 * i + 8);
    head.writeUInt32BE(t.data.length, 12 + 16 * i + 12);
  });
  return head;
}

const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

/** A TrueType collection of `files`' fonts, one face each, in order: the TTC header, each directory, then the tables. */
export function collection(files: readonly string[]): Buffer {
  const fonts = files.map(fontTables);
  const header = Buffer.alloc(12 + 4 * fonts.length);
  header.write('ttcf', 0, 'latin1');
  header.writeUInt32BE(0x00010000, 4);
  header.writeUInt32BE(fonts.length, 8);
  let at = header.length;
  const directoryAt = fonts.map((f) => {
    const here = at;
    at += 12 + 16 * f.tables.length;
    return here;
  });
  directoryAt.forEach((offset, i) => header.writeUInt32BE(offset, 12 + 4 * i));
  const parts: Buffer[] = [header];
  const data: Buffer[] = [];
  for (const font of fonts) {
    const offsets = font.tables.map((t) => {
      const here = at;
      const padded = pad4(t.data);
      data.push(padded);
      at += padded.length;
      return here;
    });
    parts.push(directory(font.flavor, font.tables, offsets));
  }
  return Buffer.concat([...parts, ...data]);
}

/**
 * A single-font file of `file`'s tables, some left out (`drop`: `['glyf', 'loca']` makes a font
 * with no outline, as a colour bitmap font has none) or its `OS/2` style changed.
 */
export function rewritten(file: string, change: { drop?: readonly string[]; weight?: number; width?: number; italic?: boolean }): Buffer {
  const { flavor, tables } = fontTables(file);
  const kept = tables
    .filter((t) => !change.drop?.includes(t.tag))
    .map((t) => {
      if (t.tag !== 'OS/2') return t;
      const data = Buffer.from(t.data);
      if (change.weight !== undefined) data.writeUInt16BE(change.weight, 4);
      if (change.width !== undefined) data.writeUInt16BE(change.width, 6);
      if (change.italic !== undefined) data.writeUInt16BE((data.readUInt16BE(62) & ~0x0201) | (change.italic ? 1 : 0), 62);
      return { tag: t.tag, data };
    });
  let at = 12 + 16 * kept.length;
  const offsets = kept.map((t) => {
    const here = at;
    at += pad4(t.data).length;
    return here;
  });
  return Buffer.concat([directory(flavor, kept, offsets), ...kept.map((t) => pad4(t.data))]);
}

/** A UIntBase128 (WOFF2): 7 bits a byte, most significant first, the high bit set on all but the last. */
function base128(value: number): number[] {
  const bytes = [value & 0x7f];
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
  return bytes;
}

/**
 * A WOFF2 file of a single font: every table untransformed (glyf and loca with transform
 * version 3, the others 0), each with its tag written out (flags 63), one Brotli stream.
 */
export function woff2(file: string): Buffer {
  const { flavor, tables } = fontTables(file);
  const entries: number[] = [];
  for (const t of tables) {
    const version = t.tag === 'glyf' || t.tag === 'loca' ? 3 : 0;
    entries.push((version << 6) | 63, ...Buffer.from(t.tag, 'latin1'), ...base128(t.data.length));
  }
  const stream = brotliCompressSync(Buffer.concat(tables.map((t) => t.data)), { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
  const header = Buffer.alloc(48);
  header.write('wOF2', 0, 'latin1');
  flavor.copy(header, 4);
  const length = 48 + entries.length + stream.length;
  header.writeUInt32BE(length + ((4 - (length % 4)) % 4), 8);
  header.writeUInt16BE(tables.length, 12);
  header.writeUInt32BE(12 + 16 * tables.length + tables.reduce((n, t) => n + pad4(t.data).length, 0), 16); // totalSfntSize
  header.writeUInt32BE(stream.length, 20);
  header.writeUInt16BE(1, 24); // majorVersion
  return pad4(Buffer.concat([header, Buffer.from(entries), stream]));
}
