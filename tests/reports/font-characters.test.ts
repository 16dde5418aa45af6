import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN_FONT_FILE } from '../../reports/chart-fonts.ts';
import { cmapCharacters, fontFaces, readFontFaces, readFontFile, type CharacterSet } from '../../reports/font-characters.ts';
import { collection, DROID, GARUDA, LOHIT_DEVANAGARI, requireTestFonts, woff2 } from '../support/font-files.ts';

/**
 * The character maps of font files (reports/font-characters.ts), read from Debian's fonts that
 * `.ci/run` installs (fonts-droid-fallback, fonts-tlwg-garuda-ttf, fonts-lohit-deva) and the
 * DejaVu Sans shipped with verite. What each font has was checked by hand with fontconfig
 * (`fc-query --format='%{charset}'`), which reads the same tables through FreeType.
 */

const has = (characters: CharacterSet, text: string) => [...text].filter((c) => characters.has(c.codePointAt(0)!)).join('');

let root: string;

beforeAll(() => {
  requireTestFonts();
  root = mkdtempSync(path.join(tmpdir(), 'verite-cmap-'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a font file\'s character map', () => {
  it('says DejaVu Sans has é, Ж, the Yijing hexagram ䷀ and 😀, and no 日, 한, ก or क', async () => {
    const [face, ...more] = (await readFontFile(MAIN_FONT_FILE))!;
    expect(more).toEqual([]);
    expect(has(face!.characters, 'éЖ䷀😀日한กक')).toBe('éЖ䷀😀');
    expect(face).toMatchObject({ weight: 400, width: 5, italic: false, outlines: true });
  });

  it('says Droid Sans Fallback has 日 and 本 and the Hangul syllable 가, not 한 nor Latin letters', async () => {
    const [face] = (await readFontFile(DROID))!;
    expect(has(face!.characters, '日本가한éA')).toBe('日本가');
  });

  it('says Garuda has Thai and Lohit Devanagari has Devanagari, not the other', async () => {
    const [garuda] = (await readFontFile(GARUDA))!;
    const [lohit] = (await readFontFile(LOHIT_DEVANAGARI))!;
    expect(has(garuda!.characters, 'กขคक')).toBe('กขค');
    expect(has(lohit!.characters, 'กकखग')).toBe('कखग');
  });

  it('reads only the header, the table directory, cmap and OS/2 of a 4 MB font, not its glyphs', async () => {
    const handle = await open(DROID, 'r');
    let read = 0;
    try {
      const faces = await readFontFaces({
        size: statSync(DROID).size,
        async read(offset, length) {
          const buffer = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          read += bytesRead;
          return buffer.subarray(0, bytesRead);
        },
      });
      expect(faces).toHaveLength(1);
    } finally {
      await handle.close();
    }
    // Its header is 12 bytes (read twice: the file's, then the face's), its table directory
    // 16 × 19, its cmap 2,886 and the start of OS/2 64: 3,278 of its 4,033,420 bytes.
    expect(statSync(DROID).size).toBe(4_033_420);
    expect(read).toBe(12 + 12 + 16 * 19 + 2_886 + 64);
  });

  it('reads each face of a collection (ttcf)', async () => {
    const file = path.join(root, 'thai-and-devanagari.ttc');
    writeFileSync(file, collection([GARUDA, LOHIT_DEVANAGARI]));
    const faces = (await readFontFile(file))!;
    expect(faces.map((f) => has(f.characters, 'กक'))).toEqual(['ก', 'क']);
  });

  it('reads a WOFF2 font held in memory as its TrueType original', async () => {
    const [fromWoff2, ...more] = (await fontFaces(woff2(GARUDA)))!;
    const [fromTtf] = (await readFontFile(GARUDA))!;
    expect(more).toEqual([]);
    expect([...fromWoff2!.characters.ranges]).toEqual([...fromTtf!.characters.ranges]);
    expect(fromWoff2!.outlines).toBe(true);
  });

  it('is none for a file that is no font, nor for a truncated one', async () => {
    const text = path.join(root, 'README');
    writeFileSync(text, 'not a font, but longer than twelve bytes');
    expect(await readFontFile(text)).toBeNull();
    const truncated = path.join(root, 'DroidSansFallbackFull.ttf');
    copyFileSync(DROID, truncated);
    truncateSync(truncated, 1_000_000);
    expect(await readFontFile(truncated)).toBeNull();
    expect(await fontFaces(readFileSync(truncated))).toBeNull();
    expect(await fontFaces(woff2(GARUDA).subarray(0, 200))).toBeNull();
  });
});

describe('a cmap table, made by hand', () => {
  /**
   * Four subtables: Macintosh Roman (1, 0) format 6 with `Z`, Windows symbol (3, 0) with
   * U+F041, neither Unicode; Windows BMP (3, 1) format 4; Windows full repertoire (3, 10)
   * format 12.
   */
  function cmap(): Buffer {
    const u16 = (...values: number[]) => {
      const b = Buffer.alloc(2 * values.length);
      values.forEach((v, i) => b.writeUInt16BE(v & 0xffff, 2 * i));
      return b;
    };
    const u32 = (...values: number[]) => {
      const b = Buffer.alloc(4 * values.length);
      values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
      return b;
    };
    const mac = u16(6, 12, 0, 0x5a, 1, 3); // format 6: first code 'Z', one entry, glyph 3
    const symbol = Buffer.concat([u16(4, 32, 0, 4, 2, 0, 2), u16(0xf041, 0xffff), u16(0), u16(0xf041, 0xffff), u16(-0xf040, 1), u16(0, 0)]);
    // Format 4, four segments: endCode at 14, startCode at 24, idDelta at 32, idRangeOffset at 40, glyphIdArray at 48.
    const bmp = Buffer.concat([
      u16(4, 54, 0, 8, 8, 2, 0),
      u16(0x43, 0x102, 0x202, 0xffff), // endCode
      u16(0),
      u16(0x41, 0x100, 0x200, 0xffff), // startCode
      // A to C by delta (glyphs 4 to 6); U+0200 + delta wraps to glyph 0, U+0201 and U+0202 to 1 and 2.
      u16(-0x3d, 0, -0x200, 1),
      // U+0100 to U+0102 from glyphIdArray: idRangeOffset[1] sits at 42, the array at 48, so 6.
      u16(0, 6, 0, 0),
      u16(7, 0, 9), // U+0100 glyph 7, U+0101 .notdef, U+0102 glyph 9
    ]);
    // Format 12: 😀 and 😁 from glyph 10; U+10000 to glyph 0 alone; U+20000 to U+20002 from glyph 0.
    const full = Buffer.concat([u16(12, 0), u32(16 + 36, 0, 3), u32(0x1f600, 0x1f601, 10), u32(0x10000, 0x10000, 0), u32(0x20000, 0x20002, 0)]);
    const header = 4 + 8 * 4;
    const offsets = [header, header + mac.length, header + mac.length + symbol.length, header + mac.length + symbol.length + bmp.length];
    return Buffer.concat([u16(0, 4), u16(1, 0), u32(offsets[0]!), u16(3, 0), u32(offsets[1]!), u16(3, 1), u32(offsets[2]!), u16(3, 10), u32(offsets[3]!), mac, symbol, bmp, full]);
  }

  it('takes from the Unicode subtables the code points mapped to a glyph other than .notdef', () => {
    const characters = cmapCharacters(cmap());
    expect([...characters.ranges]).toEqual([0x41, 0x43, 0x100, 0x100, 0x102, 0x102, 0x201, 0x202, 0x1f600, 0x1f601, 0x20001, 0x20002]);
    expect(has(characters, 'ABCDZ\uf041ĀāĂ😀😁')).toBe('ABCĀĂ😀😁');
    expect(characters.has(0x200)).toBe(false);
    expect(characters.has(0x10000)).toBe(false);
    expect(characters.has(0x20000)).toBe(false);
  });

  it('reads no further than the table\'s end', () => {
    const whole = cmap();
    // Cut in the middle of the format 12 groups: the first group is still read, not the others.
    expect([...cmapCharacters(whole.subarray(0, whole.length - 20)).ranges]).toEqual([0x41, 0x43, 0x100, 0x100, 0x102, 0x102, 0x201, 0x202, 0x1f600, 0x1f601]);
    expect([...cmapCharacters(whole.subarray(0, 3)).ranges]).toEqual([]);
  });
});
