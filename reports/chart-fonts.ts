import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The fonts the e-mailed charts are drawn with besides DejaVu Sans, which has no Chinese,
 * Japanese or Korean glyph: a chart whose text holds one (a channel or product named in those
 * scripts) is given a fallback font, which resvg takes for each glyph DejaVu Sans lacks
 * (docs/sources/fonts.md). The fallback is the files the config names (`reportFonts`), else the
 * first well-known CJK font found in the system's font folders. It is read only for a chart that
 * needs it, and once per process: these fonts weigh 4 to 20 MB.
 */

/** Where the fallback comes from; the folders are a seam for tests. */
export interface ChartFonts {
  /** Font files named by the config (`reportFonts`), all given to resvg, in order. */
  files?: readonly string[];
  /** Searched for a well-known CJK font when no named file can be read; default `systemFontFolders()`. */
  folders?: readonly string[];
}

/** The fallback fonts of a chart: their files and contents, and what could not be used. */
export interface FallbackFonts {
  files: string[];
  buffers: Uint8Array[];
  /** A named file that could not be read or is no font, with why. */
  problems: string[];
}

/** The folders fontconfig reads by default on Linux (system, local, the user's two). */
export function systemFontFolders(home = os.homedir()): string[] {
  return ['/usr/share/fonts', '/usr/local/share/fonts', path.join(home, '.fonts'), path.join(home, '.local', 'share', 'fonts')];
}

/**
 * Well-known CJK fonts by file name, the first found taken: those with Chinese, Japanese and
 * Korean first, then those of one or two of them (Droid Sans Fallback has no Hangul syllables).
 * The folder differs by distribution (Debian's in brackets), so the name is looked for anywhere
 * under the font folders.
 */
export const CJK_FONT_FILES: readonly string[] = [
  'NotoSansCJK-Regular.ttc', // fonts-noto-cjk (opentype/noto/); Fedora, Arch alike
  'SourceHanSans-Regular.ttc', // Adobe's Source Han Sans, the same design (Arch adobe-source-han-sans-otc-fonts)
  'wqy-microhei.ttc', // fonts-wqy-microhei (truetype/wqy/)
  'wqy-zenhei.ttc', // fonts-wqy-zenhei (truetype/wqy/)
  'DroidSansFallbackFull.ttf', // fonts-droid-fallback (truetype/droid/): Chinese and Japanese
  'DroidSansFallback.ttf',
  'ipag.ttf', // fonts-ipafont-gothic (opentype/ipafont-gothic/): Japanese
  'ipaexg.ttf', // fonts-ipaexfont-gothic: Japanese
  'VL-Gothic-Regular.ttf', // fonts-vlgothic (truetype/vlgothic/): Japanese
  'NanumGothic.ttf', // fonts-nanum (truetype/nanum/): Korean
];

/**
 * Characters of the scripts DejaVu Sans has no glyph of: Hangul Jamo, CJK radicals and
 * description characters, CJK symbols and punctuation, kana, Bopomofo, Hangul compatibility
 * Jamo, Kanbun, CJK strokes, enclosed CJK and CJK compatibility, CJK ideographs with extension
 * A (U+4DC0–4DFF between them, the Yijing hexagrams, DejaVu Sans has), Hangul syllables and
 * Jamo extensions, CJK compatibility ideographs and forms, halfwidth and fullwidth forms, the
 * kana supplements, the enclosed ideographic supplement and the ideograph extensions B on.
 * Checked against DejaVu Sans 2.37's character map, which has none of these.
 */
const CJK =
  /[\u1100-\u11ff\u2e80-\u2fff\u3000-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u{1aff0}-\u{1b16f}\u{1f200}-\u{1f2ff}\u{20000}-\u{3ffff}]/gu;

/** The text an SVG draws: its `<text>` elements' content, tags removed, character references read. */
function svgText(svg: string): string {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)]
    .map((m) => m[1]!.replace(/<[^>]*>/g, ''))
    .join(' ')
    .replace(/&#(x[0-9a-f]+|\d+);/gi, (whole, n: string) => {
      const code = n[0] === 'x' || n[0] === 'X' ? parseInt(n.slice(1), 16) : Number(n);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
}

/** The characters of an SVG's text that DejaVu Sans cannot draw (CJK), each once, in order. */
export function cjkCharacters(svg: string): string[] {
  return [...new Set(svgText(svg).match(CJK) ?? [])];
}

/** A file's first bytes say it is a font resvg reads: TrueType, OpenType, a collection, WOFF2. */
function isFont(data: Uint8Array): boolean {
  const tag = Buffer.from(data.subarray(0, 4)).toString('latin1');
  return ['\0\x01\0\0', 'OTTO', 'true', 'ttcf', 'wOF2'].includes(tag);
}

/** The first of `CJK_FONT_FILES` under `folders` that is a font, and its contents. */
export async function findCjkFont(folders: readonly string[]): Promise<{ file: string; data: Uint8Array } | null> {
  const found = new Map<string, string[]>();
  for (const folder of folders) {
    let entries: string[];
    try {
      entries = await readdir(folder, { recursive: true });
    } catch {
      continue; // No such folder (most machines lack ~/.fonts).
    }
    for (const entry of entries) {
      const name = path.basename(entry);
      if (CJK_FONT_FILES.includes(name)) found.set(name, [...(found.get(name) ?? []), path.join(folder, entry)]);
    }
  }
  for (const name of CJK_FONT_FILES) {
    for (const file of found.get(name) ?? []) {
      try {
        const data = await readFile(file);
        if (isFont(data)) return { file, data };
      } catch {
        // A dangling link or a file this user may not read: the next one.
      }
    }
  }
  return null;
}

async function loadFallback(options: ChartFonts): Promise<FallbackFonts> {
  const result: FallbackFonts = { files: [], buffers: [], problems: [] };
  for (const file of options.files ?? []) {
    try {
      const data = await readFile(file);
      if (!isFont(data)) throw new Error('not a TrueType, OpenType or WOFF2 font');
      result.files.push(file);
      result.buffers.push(data);
    } catch (error) {
      result.problems.push(`${file}: ${(error as Error).message}`);
    }
  }
  if (result.buffers.length > 0) return result;
  const found = await findCjkFont(options.folders ?? systemFontFolders());
  if (found) {
    result.files.push(found.file);
    result.buffers.push(found.data);
  }
  return result;
}

const loaded = new Map<string, Promise<FallbackFonts>>();

/**
 * The fallback fonts for `options`, read once per process and kept. When none is found the
 * answer is not kept: a font installed while `verite schedule` runs is found by the next chart.
 */
export function fallbackFonts(options: ChartFonts = {}): Promise<FallbackFonts> {
  const key = JSON.stringify([options.files ?? [], options.folders ?? null]);
  let fonts = loaded.get(key);
  if (!fonts) {
    fonts = loadFallback(options);
    loaded.set(key, fonts);
    void fonts.then(
      (f) => f.buffers.length === 0 && loaded.delete(key),
      () => loaded.delete(key),
    );
  }
  return fonts;
}

/** What the warning for characters drawn as boxes tells to do. */
export function fallbackAdvice(fonts: FallbackFonts, options: ChartFonts = {}): string {
  const folders = (options.folders ?? systemFontFolders()).join(', ');
  const named = fonts.problems.length > 0 ? `reportFonts could not be used (${fonts.problems.join('; ')}), and ` : '';
  return (
    `${named}no Chinese, Japanese or Korean font was found under ${folders}: install one ` +
    '(Debian, Ubuntu: apt-get install fonts-noto-cjk, or the smaller fonts-wqy-microhei, or fonts-droid-fallback for Chinese and Japanese only) ' +
    'or name its file in the config\'s reportFonts'
  );
}
