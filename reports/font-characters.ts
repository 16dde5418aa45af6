import { open } from 'node:fs/promises';
import { brotliDecompressSync } from 'node:zlib';

/**
 * Which characters a font file has a glyph for, read from its character map (the OpenType
 * `cmap` table; docs/sources/fonts.md cites the specification). Only the file's header, table
 * directory, `cmap` and `OS/2` are read, not the glyphs: the CJK fonts weigh 4 to 20 MB and the
 * font folders are searched by this. No dependency: the formats read are a few pages of the
 * specification.
 *
 * @example
 * const faces = await readFontFile('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf');
 * faces?.[0]?.characters.has(0x00e9); // true: é
 */

/** Code points mapped to a glyph other than `.notdef`, as sorted, disjoint, inclusive ranges. */
export interface CharacterSet {
  has(codePoint: number): boolean;
  /** Start and end of each range, flattened: `[start0, end0, start1, end1, …]`. */
  readonly ranges: Uint32Array;
}

/** One face of a font file (a collection, `.ttc`, holds several). */
export interface FontFace {
  characters: CharacterSet;
  /** `OS/2` weight class (400 regular, 700 bold), width class (5 normal) and italic or oblique: what fontdb reads. */
  weight: number;
  width: number;
  italic: boolean;
  /** Whether the face has outlines (`glyf`, `CFF `, `CFF2`): a colour-bitmap-only face (CBDT, sbix) has none resvg draws. */
  outlines: boolean;
}

/** Bytes of a font, read where asked: a file read piecewise, or a buffer. Fewer bytes than asked at its end. */
export interface ByteSource {
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Its size: a face whose tables do not all lie within it (a truncated download) is not taken. */
  size: number;
}

/** Bounds of what is believed of a header: a damaged file must not make this read megabytes. */
const MAX_FACES = 1024;
const MAX_TABLES = 1024;
const MAX_CMAP_BYTES = 16 * 1024 * 1024;

const tagOf = (data: Uint8Array, at: number) => String.fromCharCode(data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!);
const u16 = (data: Uint8Array, at: number) => (data[at]! << 8) | data[at + 1]!;
const u32 = (data: Uint8Array, at: number) => ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
const SFNT = new Set(['\0\x01\0\0', 'OTTO', 'true']);

class Ranges implements CharacterSet {
  readonly ranges: Uint32Array;
  constructor(ranges: Uint32Array) {
    this.ranges = ranges;
  }
  has(codePoint: number): boolean {
    let low = 0;
    let high = this.ranges.length / 2 - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (codePoint < this.ranges[2 * middle]!) high = middle - 1;
      else if (codePoint > this.ranges[2 * middle + 1]!) low = middle + 1;
      else return true;
    }
    return false;
  }
}

/** Ranges gathered in any order, overlapping or touching, as a `CharacterSet`. */
function characterSet(pairs: number[]): CharacterSet {
  const order = Array.from({ length: pairs.length / 2 }, (_, i) => i).sort((a, b) => pairs[2 * a]! - pairs[2 * b]!);
  const merged: number[] = [];
  for (const i of order) {
    const start = pairs[2 * i]!;
    const end = pairs[2 * i + 1]!;
    if (merged.length > 0 && start <= merged[merged.length - 1]! + 1) merged[merged.length - 1] = Math.max(merged[merged.length - 1]!, end);
    else merged.push(start, end);
  }
  return new Ranges(Uint32Array.from(merged));
}

/**
 * The code points a `cmap` table maps to a glyph, from its Unicode subtables: platform 0 (any
 * encoding but 5, variation sequences), platform 3 encoding 1 (BMP) and 10 (full repertoire),
 * the ones ttf-parser (resvg's) looks a character up in. Formats 0, 4, 6 and 12 are read;
 * format 13 (many characters to one glyph: the "last resort" fonts that draw a box per block)
 * and 14 (variation sequences) are not, nor 2, 8 and 10, which no Unicode font uses.
 */
export function cmapCharacters(cmap: Uint8Array): CharacterSet {
  const pairs: number[] = [];
  if (cmap.length < 4) return characterSet(pairs);
  const count = u16(cmap, 2);
  const seen = new Set<number>();
  for (let i = 0; i < count && 4 + 8 * i + 8 <= cmap.length; i++) {
    const platform = u16(cmap, 4 + 8 * i);
    const encoding = u16(cmap, 4 + 8 * i + 2);
    const offset = u32(cmap, 4 + 8 * i + 4);
    const unicode = (platform === 0 && encoding !== 5) || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode || seen.has(offset) || offset + 2 > cmap.length) continue;
    seen.add(offset);
    subtableCharacters(cmap.subarray(offset), pairs);
  }
  return characterSet(pairs);
}

function subtableCharacters(table: Uint8Array, pairs: number[]): void {
  const format = u16(table, 0);
  const add = (start: number, end: number) => pairs.push(start, end);
  if (format === 0 && table.length >= 6 + 256) {
    for (let code = 0; code < 256; code++) if (table[6 + code] !== 0) add(code, code);
  } else if (format === 6 && table.length >= 10) {
    const first = u16(table, 6);
    const entries = u16(table, 8);
    for (let i = 0; i < entries && 10 + 2 * i + 2 <= table.length; i++) if (u16(table, 10 + 2 * i) !== 0) add(first + i, first + i);
  } else if (format === 4 && table.length >= 14) {
    // Segments: endCode[], a pad, startCode[], idDelta[], idRangeOffset[], then glyphIdArray[].
    const segments = u16(table, 6) / 2;
    const ends = 14;
    const starts = ends + 2 * segments + 2;
    const deltas = starts + 2 * segments;
    const rangeOffsets = deltas + 2 * segments;
    if (rangeOffsets + 2 * segments > table.length) return;
    for (let s = 0; s < segments; s++) {
      const start = u16(table, starts + 2 * s);
      const end = u16(table, ends + 2 * s);
      const delta = u16(table, deltas + 2 * s);
      const rangeOffset = u16(table, rangeOffsets + 2 * s);
      if (start > end) continue;
      if (rangeOffset === 0) {
        // glyph = (code + idDelta) mod 65536: .notdef for one code at most, the one that wraps to 0.
        const zero = (0x10000 - delta) & 0xffff;
        if (zero < start || zero > end) add(start, end);
        else {
          if (zero > start) add(start, zero - 1);
          if (zero < end) add(zero + 1, end);
        }
      } else {
        // glyph = *(&idRangeOffset[s] + idRangeOffset[s]/2 + (code - startCode[s])), then + idDelta when not 0.
        for (let code = start; code <= end; code++) {
          const at = rangeOffsets + 2 * s + rangeOffset + 2 * (code - start);
          if (at + 2 > table.length) break;
          const glyph = u16(table, at);
          if (glyph !== 0 && ((glyph + delta) & 0xffff) !== 0) add(code, code);
        }
      }
    }
  } else if (format === 12 && table.length >= 16) {
    const groups = u32(table, 12);
    for (let g = 0; g < groups && 16 + 12 * g + 12 <= table.length; g++) {
      const start = u32(table, 16 + 12 * g);
      const end = Math.min(u32(table, 16 + 12 * g + 4), 0x10ffff);
      const glyph = u32(table, 16 + 12 * g + 8);
      if (start > end) continue;
      if (glyph !== 0) add(start, end);
      else if (start < end) add(start + 1, end);
    }
  }
}

/** What a face's `OS/2` table says of its style; a face without one is taken as regular, as fontdb does. */
function os2Style(os2: Uint8Array | undefined): Pick<FontFace, 'weight' | 'width' | 'italic'> {
  if (!os2 || os2.length < 8) return { weight: 400, width: 5, italic: false };
  const selection = os2.length >= 64 ? u16(os2, 62) : 0;
  return { weight: u16(os2, 4), width: u16(os2, 6), italic: (selection & 0x0201) !== 0 };
}

interface TableRecord {
  offset: number;
  length: number;
}

/** A face's tables by tag, from the table directory at `at`; null when one lies past the end of the source. */
async function tableDirectory(source: ByteSource, at: number): Promise<Map<string, TableRecord> | null> {
  const header = await source.read(at, 12);
  if (header.length < 12 || !SFNT.has(tagOf(header, 0))) return null;
  const count = u16(header, 4);
  if (count > MAX_TABLES) return null;
  const records = await source.read(at + 12, 16 * count);
  if (records.length < 16 * count) return null;
  const tables = new Map<string, TableRecord>();
  for (let i = 0; i < count; i++) {
    const table = { offset: u32(records, 16 * i + 8), length: u32(records, 16 * i + 12) };
    if (table.offset + table.length > source.size) return null;
    tables.set(tagOf(records, 16 * i), table);
  }
  return tables;
}

/**
 * The faces of the font in `source` and the characters each has, or null when it is no
 * TrueType or OpenType font or collection (nor WOFF2: see `fontFaces`).
 */
export async function readFontFaces(source: ByteSource): Promise<FontFace[] | null> {
  const head = await source.read(0, 12);
  if (head.length < 12) return null;
  let directories = [0];
  if (tagOf(head, 0) === 'ttcf') {
    const count = u32(head, 8);
    if (count === 0 || count > MAX_FACES) return null;
    const offsets = await source.read(12, 4 * count);
    if (offsets.length < 4 * count) return null;
    directories = Array.from({ length: count }, (_, i) => u32(offsets, 4 * i));
  } else if (!SFNT.has(tagOf(head, 0))) return null;
  const faces: FontFace[] = [];
  const cmaps = new Map<number, CharacterSet>(); // The faces of a collection often share one cmap.
  for (const at of directories) {
    const tables = await tableDirectory(source, at);
    const cmap = tables?.get('cmap');
    if (!tables || !cmap || cmap.length > MAX_CMAP_BYTES) continue;
    let characters = cmaps.get(cmap.offset);
    if (!characters) {
      characters = cmapCharacters(await source.read(cmap.offset, cmap.length));
      cmaps.set(cmap.offset, characters);
    }
    const os2 = tables.get('OS/2');
    const style = os2Style(os2 ? await source.read(os2.offset, Math.min(os2.length, 64)) : undefined);
    faces.push({ characters, ...style, outlines: tables.has('glyf') || tables.has('CFF ') || tables.has('CFF2') });
  }
  return faces.length > 0 ? faces : null;
}

/** The faces of a font file (`readFontFaces`), reading only its header, directory, `cmap` and `OS/2`; null when it is no font. */
export async function readFontFile(file: string): Promise<FontFace[] | null> {
  const handle = await open(file, 'r');
  try {
    return await readFontFaces({
      size: (await handle.stat()).size,
      async read(offset, length) {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await handle.read(buffer, 0, length, offset);
        return buffer.subarray(0, bytesRead);
      },
    });
  } finally {
    await handle.close();
  }
}

/** A buffer as a `ByteSource`. */
export function bufferSource(data: Uint8Array): ByteSource {
  return { size: data.length, read: async (offset, length) => data.subarray(offset, offset + length) };
}

/** WOFF2's known table tags, by the index its table directory gives (W3C WOFF2, 5.1). */
const WOFF2_TAGS = (
  'cmap head hhea hmtx maxp name OS/2 post cvt_ fpgm glyf loca prep CFF_ VORG EBDT EBLC gasp hdmx kern LTSH PCLT VDMX vhea vmtx BASE ' +
  'GDEF GPOS GSUB EBSC JSTF MATH CBDT CBLC COLR CPAL SVG_ sbix acnt avar bdat bloc bsln cvar fdsc feat fmtx fvar gvar hsty just lcar ' +
  'mort morx opbd prop trak Zapf Silf Glat Gloc Feat Sill'
)
  .split(' ')
  .map((tag) => tag.replace('_', ' '));

/**
 * The faces of a WOFF2 font (W3C WOFF2): its tables are one Brotli stream, decompressed whole
 * (a named file is read whole anyway, to be given to resvg); `cmap` and `OS/2` are never
 * transformed, so they are read as they are. Null when the file is damaged.
 */
function woff2Faces(data: Uint8Array): FontFace[] | null {
  if (data.length < 48) return null;
  const flavor = tagOf(data, 4);
  const count = u16(data, 12);
  const compressedSize = u32(data, 20);
  let at = 48;
  const byte = () => (at < data.length ? data[at++]! : NaN);
  const base128 = () => {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const b = byte();
      value = value * 128 + (b & 0x7f);
      if (!(b & 0x80)) return value;
    }
    return NaN;
  };
  const uint255 = () => {
    const code = byte();
    if (code === 253) return byte() * 256 + byte();
    if (code === 255) return byte() + 253;
    if (code === 254) return byte() + 506;
    return code;
  };
  const tables: { tag: string; start: number; length: number }[] = [];
  let stream = 0;
  for (let i = 0; i < count; i++) {
    const flags = byte();
    let tag = WOFF2_TAGS[flags & 0x3f]!;
    if ((flags & 0x3f) === 63) {
      tag = tagOf(data, at);
      at += 4;
    }
    const length = base128();
    const version = flags >> 6;
    // glyf and loca are transformed unless version 3; any other table when its version is not 0.
    const transformed = tag === 'glyf' || tag === 'loca' ? version !== 3 : version !== 0;
    const stored = transformed ? base128() : length;
    if (!Number.isFinite(stored)) return null;
    tables.push({ tag, start: stream, length: stored });
    stream += stored;
  }
  let faces: number[][] = [tables.map((_, i) => i)];
  if (flavor === 'ttcf') {
    at += 4; // The collection's version.
    const fonts = uint255();
    faces = [];
    for (let f = 0; f < fonts && f < MAX_FACES; f++) {
      const tableCount = uint255();
      at += 4; // The face's flavor.
      faces.push(Array.from({ length: tableCount }, () => uint255()));
    }
  }
  if (at > data.length) return null;
  let tableData: Uint8Array;
  try {
    tableData = brotliDecompressSync(data.subarray(at, at + compressedSize));
  } catch {
    return null;
  }
  if (tableData.length < stream) return null;
  const result: FontFace[] = [];
  for (const indices of faces) {
    const own = indices.map((i) => tables[i]).filter((t) => t !== undefined);
    const table = (tag: string) => {
      const t = own.find((x) => x.tag === tag);
      return t ? tableData.subarray(t.start, t.start + t.length) : undefined;
    };
    const cmap = table('cmap');
    if (!cmap) continue;
    result.push({ characters: cmapCharacters(cmap), ...os2Style(table('OS/2')), outlines: own.some((t) => ['glyf', 'CFF ', 'CFF2'].includes(t.tag)) });
  }
  return result.length > 0 ? result : null;
}

/** The faces of a font held in memory: TrueType, OpenType, a collection or WOFF2; null when it is none of them. */
export async function fontFaces(data: Uint8Array): Promise<FontFace[] | null> {
  if (data.length >= 4 && tagOf(data, 0) === 'wOF2') return woff2Faces(data);
  return readFontFaces(bufferSource(data));
}
