import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fontFaces, readFontFile, type CharacterSet, type FontFace } from './font-characters.ts';

/**
 * The fonts the e-mailed charts are drawn with. DejaVu Sans draws what it has a glyph for; a
 * character of the chart's text it lacks (by its character map: Chinese, Japanese, Korean,
 * Thai, the Indic scripts, Ethiopic, Khmer, …) is given a fallback font, which resvg takes
 * for each glyph DejaVu Sans lacks (docs/sources/fonts.md). The fallbacks are the files the
 * config names (`reportFonts`), then, for what those lack, a few fonts of the system's font
 * folders chosen by their character maps. A chart whose text DejaVu Sans draws whole reads no
 * folder and no other font; a font is read once per process (the CJK ones weigh 4 to 20 MB).
 */

/** Where the fallbacks come from; the folders are a seam for tests. */
export interface ChartFonts {
  /** Font files named by the config (`reportFonts`), all given to resvg, in order. */
  files?: readonly string[];
  /** Searched for fonts having what the named files lack; default `systemFontFolders()`. */
  folders?: readonly string[];
}

/** The fallback fonts of a chart: their files and contents, what could not be used, what none has. */
export interface FallbackFonts {
  /** The named files that could be read, then the system fonts chosen, in the order given to resvg. */
  files: string[];
  buffers: Uint8Array[];
  /** A named file that could not be read or is no font, with why. */
  problems: string[];
  /** The characters asked for that none of these fonts has: drawn as boxes. */
  missing: string[];
  /** Those of `files` that have a glyph of one of the characters asked for (a named file may have none). */
  drawing: string[];
}

const require = createRequire(import.meta.url);

/** The charts' font, shipped with verite (`dejavu-fonts-ttf`): every family names it. */
export const MAIN_FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

let main: Promise<{ data: Uint8Array; characters: CharacterSet }> | undefined;

/** DejaVu Sans and the characters it has, read once. */
export function mainFont(): Promise<{ data: Uint8Array; characters: CharacterSet }> {
  main ??= (async () => {
    const data = await readFile(MAIN_FONT_FILE);
    const faces = await fontFaces(data);
    if (!faces) throw new Error(`${MAIN_FONT_FILE}: not a TrueType font`);
    return { data, characters: faces[0]!.characters };
  })();
  main.catch(() => (main = undefined));
  return main;
}

/** The folders fontconfig reads by default on Linux (system, local, the user's two). */
export function systemFontFolders(home = os.homedir()): string[] {
  return ['/usr/share/fonts', '/usr/local/share/fonts', path.join(home, '.fonts'), path.join(home, '.local', 'share', 'fonts')];
}

/**
 * Well-known CJK fonts by file name: those with Chinese, Japanese and Korean first, then those
 * of one or two of them (Droid Sans Fallback has no Hangul syllables). The folder differs by
 * distribution (Debian's in brackets), so the name is looked for anywhere under the font folders.
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
 * Well-known fonts by file name, looked at before any other font under the folders: the CJK
 * ones, then sans-serif regular faces of other scripts DejaVu Sans lacks (Debian's packages in
 * brackets; fonts-noto-core's files are in truetype/noto/). Another font with the characters
 * is found all the same, by its character map: this list only puts these first.
 */
export const FALLBACK_FONT_FILES: readonly string[] = [
  ...CJK_FONT_FILES,
  'NotoSansThai-Regular.ttf', // fonts-noto-core
  'Garuda.ttf', // fonts-tlwg-garuda-ttf (truetype/tlwg/), in fonts-thai-tlwg
  'Garuda.otf', // fonts-tlwg-garuda-otf (opentype/tlwg/)
  'Loma.ttf', // fonts-tlwg-loma-ttf (truetype/tlwg/)
  'NotoSansDevanagari-Regular.ttf',
  'Lohit-Devanagari.ttf', // fonts-lohit-deva (truetype/lohit-devanagari/)
  'NotoSansBengali-Regular.ttf',
  'Lohit-Bengali.ttf', // fonts-lohit-beng-bengali (truetype/lohit-bengali/)
  'NotoSansTamil-Regular.ttf',
  'Lohit-Tamil.ttf', // fonts-lohit-taml (truetype/lohit-tamil/)
  'NotoSansGujarati-Regular.ttf',
  'NotoSansGurmukhi-Regular.ttf',
  'NotoSansKannada-Regular.ttf',
  'NotoSansMalayalam-Regular.ttf',
  'NotoSansTelugu-Regular.ttf',
  'NotoSansOriya-Regular.ttf',
  'NotoSansSinhala-Regular.ttf',
  'lklug.ttf', // fonts-lklug-sinhala (truetype/sinhala/)
  'NotoSansKhmer-Regular.ttf',
  'KhmerOS.ttf', // fonts-khmeros (truetype/khmeros/)
  'NotoSansLao-Regular.ttf',
  'Phetsarath_OT.ttf', // fonts-lao (truetype/lao/)
  'NotoSansMyanmar-Regular.ttf',
  'NotoSansEthiopic-Regular.ttf',
  'AbyssinicaSIL-Regular.ttf', // fonts-sil-abyssinica (truetype/abyssinica/)
  'NotoSansArabic-Regular.ttf',
  'NotoSansHebrew-Regular.ttf',
  'NotoSansArmenian-Regular.ttf',
  'NotoSansGeorgian-Regular.ttf',
  'NotoSansSymbols2-Regular.ttf',
  'NotoSansSymbols-Regular.ttf',
  // Emoji in outlines (fonts-symbola, truetype/ancient-scripts/). Colour emoji fonts are not
  // listed: resvg 0.34 draws no colour glyph, and Noto Color Emoji (CBDT bitmaps) has no outline.
  'Symbola_hint.ttf',
];

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

/** Characters drawn as nothing whatever the font: spaces, controls, joiners and variation selectors. */
const INVISIBLE = /[\p{White_Space}\p{Cc}\p{Default_Ignorable_Code_Point}]/u;

/**
 * The characters of an SVG's text that `font` (DejaVu Sans' character map, `mainFont()`) has no
 * glyph for, each once, in order; spaces, control characters and default-ignorable ones (zero
 * width joiners, variation selectors), which draw nothing in any font, left out.
 */
export function missingCharacters(svg: string, font: CharacterSet): string[] {
  return missingTextCharacters(svgText(svg), font);
}

/** As {@link missingCharacters}, of a plain text (the channel names `verite check` looks at). */
export function missingTextCharacters(text: string, font: CharacterSet): string[] {
  const missing = new Set<string>();
  for (const character of text) if (!INVISIBLE.test(character) && !font.has(character.codePointAt(0)!)) missing.add(character);
  return [...missing];
}

/**
 * The faces of a font resvg would take a glyph from. Not one without outlines (a colour bitmap
 * font: resvg 0.34 draws nothing of it); not one whose style, weight and stretch all differ from
 * DejaVu Sans' (normal, 400, normal), which resvg's fallback skips.
 */
function usable(faces: FontFace[] | null): FontFace[] {
  return (faces ?? []).filter((f) => f.outlines && !(f.italic && f.weight !== 400 && f.width !== 5));
}

/** Whether one of `faces` has a glyph for `character`. */
const covers = (faces: readonly FontFace[], character: string) => faces.some((f) => f.characters.has(character.codePointAt(0)!));

/** How far a file's best face is from a regular one (0): of two fonts covering alike, the regular one is taken. */
const irregularity = (faces: FontFace[]) => Math.min(...faces.map((f) => Number(f.italic) + Number(f.weight !== 400) + Number(f.width !== 5)));

const characterMaps = new Map<string, Promise<FontFace[]>>();

/** The usable faces of a system font file, from its character map, read once per process; none for a file that is no font. */
function facesOf(file: string): Promise<FontFace[]> {
  let faces = characterMaps.get(file);
  if (!faces) {
    faces = readFontFile(file).then(usable, () => []);
    characterMaps.set(file, faces);
  }
  return faces;
}

const contents = new Map<string, Promise<Uint8Array>>();

/** A font file's contents, read once per process; a read that failed is not kept. */
function contentsOf(file: string): Promise<Uint8Array> {
  let data = contents.get(file);
  if (!data) {
    data = readFile(file);
    contents.set(file, data);
    data.catch(() => contents.delete(file));
  }
  return data;
}

/** Font files fontdb reads (TrueType, OpenType, collections); WOFF2 is for `reportFonts`. */
const FONT_FILE = /\.(ttf|otf|ttc|otc)$/i;

/** The font files under `folders`, by path. */
async function listFonts(folders: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const folder of folders) {
    let entries: string[];
    try {
      entries = await readdir(folder, { recursive: true });
    } catch {
      continue; // No such folder (most machines lack ~/.fonts).
    }
    for (const entry of entries) if (FONT_FILE.test(entry)) files.push(path.join(folder, entry));
  }
  return files.sort();
}

const listings = new Map<string, string[]>();

/**
 * Fonts of `files` covering `characters`, chosen greedily: the one having most of the
 * characters not yet covered, then the next, until none has any of those left. Of fonts covering
 * as many, the more regular (Garuda before Garuda Bold), then the earlier in `files`. The
 * character maps are read 16 files at a time.
 */
async function choose(files: readonly string[], characters: readonly string[]): Promise<{ chosen: string[]; left: string[] }> {
  const candidates: { file: string; faces: FontFace[] }[] = [];
  for (let i = 0; i < files.length; i += 16) {
    const batch = files.slice(i, i + 16);
    const faces = await Promise.all(batch.map(facesOf));
    batch.forEach((file, j) => faces[j]!.length > 0 && candidates.push({ file, faces: faces[j]! }));
  }
  const chosen: string[] = [];
  let left = [...characters];
  for (;;) {
    let best: { file: string; faces: FontFace[]; has: Set<string> } | undefined;
    for (const candidate of candidates) {
      if (chosen.includes(candidate.file)) continue;
      const has = new Set(left.filter((c) => covers(candidate.faces, c)));
      if (has.size === 0) continue;
      if (!best || has.size > best.has.size || (has.size === best.has.size && irregularity(candidate.faces) < irregularity(best.faces))) {
        best = { ...candidate, has };
      }
    }
    if (!best) return { chosen, left };
    chosen.push(best.file);
    left = left.filter((c) => !best.has.has(c));
  }
}

/**
 * System fonts under `folders` having `characters`: the well-known ones (`FALLBACK_FONT_FILES`,
 * by file name, in that order) first, then, for what they lack, any other font there, each
 * chosen greedily (few fonts for many characters). The folders' listing is kept for the
 * process, and made again when a character is left without a font, so a font installed while
 * `verite schedule` runs is found by the next chart.
 */
export async function systemFallback(characters: readonly string[], folders: readonly string[]): Promise<{ files: string[]; missing: string[] }> {
  const key = JSON.stringify(folders);
  const attempt = async (listing: readonly string[]) => {
    const rank = (file: string) => FALLBACK_FONT_FILES.indexOf(path.basename(file));
    const known = listing.filter((f) => rank(f) >= 0).sort((a, b) => rank(a) - rank(b));
    const first = await choose(known, characters);
    if (first.left.length === 0) return { files: first.chosen, missing: [] };
    const then = await choose(listing.filter((f) => rank(f) < 0), first.left);
    return { files: [...first.chosen, ...then.chosen], missing: then.left };
  };
  const kept = listings.get(key);
  if (kept) {
    const found = await attempt(kept);
    if (found.missing.length === 0) return found;
  }
  const listing = await listFonts(folders);
  listings.set(key, listing);
  return attempt(listing);
}

/** The fonts a named file holds, and why it cannot be used when it cannot. */
async function namedFont(file: string): Promise<{ data: Uint8Array; faces: FontFace[] } | { problem: string }> {
  try {
    const data = await contentsOf(file);
    const faces = await fontFaces(data);
    if (!faces) return { problem: `${file}: not a TrueType, OpenType or WOFF2 font` };
    return { data, faces: usable(faces) };
  } catch (error) {
    return { problem: `${file}: ${(error as Error).message}` };
  }
}

/**
 * Why a file named in `reportFonts` cannot give the charts a glyph, or undefined when it can:
 * it cannot be read, is not a TrueType, OpenType or WOFF2 font, or holds no outline face resvg
 * draws (a bitmap-only font). What `verite check` says of each file.
 */
export async function namedFontProblem(file: string): Promise<string | undefined> {
  const font = await namedFont(file);
  if ('problem' in font) return font.problem;
  if (font.faces.length === 0) return `${file}: holds no outline font (bitmap fonts are not drawn)`;
  return undefined;
}

/**
 * The fallback fonts for `characters` (those DejaVu Sans lacks): every file the config names,
 * in order; then, for the characters those lack, fonts of the system's folders
 * (`systemFallback`). Each file is read once per process.
 */
export async function fallbackFonts(characters: readonly string[], options: ChartFonts = {}): Promise<FallbackFonts> {
  const result: FallbackFonts = { files: [], buffers: [], problems: [], missing: [], drawing: [] };
  let left = [...characters];
  for (const file of options.files ?? []) {
    const font = await namedFont(file);
    if ('problem' in font) {
      result.problems.push(font.problem);
      continue;
    }
    result.files.push(file);
    result.buffers.push(font.data);
    if (left.some((c) => covers(font.faces, c))) result.drawing.push(file);
    left = left.filter((c) => !covers(font.faces, c));
  }
  if (left.length === 0) return result;
  const found = await systemFallback(left, options.folders ?? systemFontFolders());
  const drawn: FontFace[] = [];
  for (const file of found.files) {
    try {
      result.buffers.push(await contentsOf(file));
      result.files.push(file);
      result.drawing.push(file);
      drawn.push(...(await facesOf(file)));
    } catch {
      characterMaps.delete(file); // Removed since its character map was read: read again next time.
    }
  }
  result.missing = left.filter((c) => !covers(drawn, c));
  return result;
}

/**
 * Characters DejaVu Sans lacks, by script, and Debian's packages with a font for them: CJK
 * (Hangul Jamo, CJK radicals to extension A, unified ideographs, Hangul, compatibility
 * ideographs and forms, halfwidth and fullwidth forms, kana supplements, enclosed ideographic
 * supplement, the ideograph planes), then the scripts by their Unicode script property.
 */
const SCRIPT_FONTS: readonly { name: string; characters: RegExp; install: string }[] = [
  {
    name: 'Chinese, Japanese or Korean',
    characters:
      /[\u1100-\u11ff\u2e80-\u2fff\u3000-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u{1aff0}-\u{1b16f}\u{1f200}-\u{1f2ff}\u{20000}-\u{3ffff}]/u,
    install: 'fonts-noto-cjk, or the smaller fonts-wqy-microhei, or fonts-droid-fallback for Chinese and Japanese only',
  },
  { name: 'Thai', characters: /\p{Script=Thai}/u, install: 'fonts-thai-tlwg, or only fonts-tlwg-garuda-ttf, or fonts-noto-core' },
  { name: 'Devanagari', characters: /\p{Script=Devanagari}/u, install: 'fonts-lohit-deva, or fonts-noto-core' },
  { name: 'Bengali', characters: /\p{Script=Bengali}/u, install: 'fonts-lohit-beng-bengali, or fonts-noto-core' },
  { name: 'Tamil', characters: /\p{Script=Tamil}/u, install: 'fonts-lohit-taml, or fonts-noto-core' },
  { name: 'Gujarati', characters: /\p{Script=Gujarati}/u, install: 'fonts-lohit-gujr, or fonts-noto-core' },
  { name: 'Gurmukhi', characters: /\p{Script=Gurmukhi}/u, install: 'fonts-lohit-guru, or fonts-noto-core' },
  { name: 'Kannada', characters: /\p{Script=Kannada}/u, install: 'fonts-lohit-knda, or fonts-noto-core' },
  { name: 'Malayalam', characters: /\p{Script=Malayalam}/u, install: 'fonts-lohit-mlym, or fonts-noto-core' },
  { name: 'Telugu', characters: /\p{Script=Telugu}/u, install: 'fonts-lohit-telu, or fonts-noto-core' },
  { name: 'Oriya', characters: /\p{Script=Oriya}/u, install: 'fonts-lohit-orya, or fonts-noto-core' },
  { name: 'Sinhala', characters: /\p{Script=Sinhala}/u, install: 'fonts-lklug-sinhala, or fonts-noto-core' },
  { name: 'Khmer', characters: /\p{Script=Khmer}/u, install: 'fonts-khmeros, or fonts-noto-core' },
  { name: 'Lao', characters: /\p{Script=Lao}/u, install: 'fonts-lao, or fonts-noto-core' },
  { name: 'Myanmar', characters: /\p{Script=Myanmar}/u, install: 'fonts-sil-padauk, or fonts-noto-core' },
  { name: 'Ethiopic', characters: /\p{Script=Ethiopic}/u, install: 'fonts-sil-abyssinica, or fonts-noto-core' },
  { name: 'emoji', characters: /\p{Extended_Pictographic}/u, install: 'fonts-symbola (colour emoji fonts are not drawn)' },
];

/**
 * What the warning for characters drawn as boxes tells to do: the named files that could not
 * be used, the folders searched, and Debian's packages with a font for the characters' scripts.
 */
export function fallbackAdvice(characters: readonly string[], problems: readonly string[], options: ChartFonts = {}): string {
  const folders = (options.folders ?? systemFontFolders()).join(', ');
  const named = problems.length > 0 ? `reportFonts could not be used (${problems.join('; ')}), and ` : '';
  const groups: { name: string; install: string; characters: string }[] = [];
  let rest = [...characters];
  for (const script of SCRIPT_FONTS) {
    const of = rest.filter((c) => script.characters.test(c));
    if (of.length > 0) groups.push({ name: script.name, install: script.install, characters: of.join('') });
    rest = rest.filter((c) => !of.includes(c));
  }
  if (rest.length > 0) groups.push({ name: '', install: 'fonts-noto-core, which has most scripts', characters: rest.join('') });
  if (groups.length === 1) {
    const [only] = groups;
    const font = only!.name ? `${only!.name} font` : 'font with them';
    return `${named}no ${font} was found under ${folders}: install one (Debian, Ubuntu: apt-get install ${only!.install}) or name its file in the config's reportFonts`;
  }
  const each = groups.map((g) => `${g.name || 'other'} (${g.characters}): apt-get install ${g.install}`).join('; ');
  return `${named}no font with some of them was found under ${folders}: install them (Debian, Ubuntu: ${each}) or name their files in the config's reportFonts`;
}
