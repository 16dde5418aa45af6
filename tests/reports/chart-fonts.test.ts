import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallbackFonts, mainFont, missingCharacters, systemFallback, systemFontFolders } from '../../reports/chart-fonts.ts';
import { chartPng, reportEmail } from '../../reports/email.ts';
import { collection, DROID, GARUDA, LOHIT_DEVANAGARI, requireTestFonts, rewritten, woff2 } from '../support/font-files.ts';

/**
 * Issue: the e-mailed charts drew Chinese, Japanese and Korean text as boxes. They were drawn
 * with DejaVu Sans alone, which has no CJK glyph, so every such character was its .notdef box:
 * a chart labelled 日 and one labelled 本 came out the same picture.
 *
 * Issue: Thai and Devanagari text (and any other script DejaVu Sans lacks) was still drawn as
 * boxes once CJK text had a fallback font, and no warning said so: only CJK characters were
 * looked for, by fixed ranges. A shop in Thailand or India got boxes for its channels' names.
 *
 * Debian's fonts-droid-fallback, fonts-tlwg-garuda-ttf and fonts-lohit-deva (`.ci/run` installs
 * them) are the fonts here. Only the tests that say so look in the machine's own font folders;
 * the others are given folders of their own.
 */

/** A 40 × 20 picture of `text` at 14 px in the charts' sans-serif (DejaVu Sans), and more SVG after it. */
const label = (text: string, more = '') =>
  `<svg width="40" height="20" xmlns="http://www.w3.org/2000/svg"><text x="2" y="16" style="font-size:14px;font-family:sans-serif">${text}</text>${more}</svg>`;

/** A PNG's image data inflated (each row its filter byte, then 4 bytes a pixel), with its width. */
function imageData(png: Buffer): { width: number; data: Buffer } {
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  return { width: png.readUInt32BE(16), data: inflateSync(Buffer.concat(idat)) };
}

let root: string;
let empty: string;
let withDroid: string;

beforeAll(() => {
  requireTestFonts();
  root = mkdtempSync(path.join(tmpdir(), 'verite-fonts-'));
  empty = path.join(root, 'empty');
  mkdirSync(empty);
  // Laid out as /usr/share/fonts is, the font linked in, beside a file that is no font.
  withDroid = path.join(root, 'share-fonts');
  mkdirSync(path.join(withDroid, 'truetype', 'droid'), { recursive: true });
  symlinkSync(DROID, path.join(withDroid, 'truetype', 'droid', 'DroidSansFallbackFull.ttf'));
  writeFileSync(path.join(withDroid, 'truetype', 'README'), 'not a font');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('CJK text in the e-mailed charts (issue: drawn as boxes)', () => {
  it('draws 日 and 本 alike when no CJK font is at hand: both the .notdef box', async () => {
    const [sun, book] = await Promise.all([chartPng(label('日'), 1, { folders: [empty] }), chartPng(label('本'), 1, { folders: [empty] })]);
    expect(sun.equals(book)).toBe(true);
  });

  it('draws them apart with the CJK font installed in the system\'s font folders', async () => {
    expect(systemFontFolders('/home/shop')).toEqual(['/usr/share/fonts', '/usr/local/share/fonts', '/home/shop/.fonts', '/home/shop/.local/share/fonts']);
    const [sun, book, box] = await Promise.all([chartPng(label('日'), 1), chartPng(label('本'), 1), chartPng(label('日'), 1, { folders: [empty] })]);
    expect(sun.equals(book)).toBe(false);
    expect(sun.equals(box)).toBe(false);
  });

  it('draws them with a font file the config names, before any folder is searched', async () => {
    const named = { files: [DROID], folders: [empty] };
    const [sun, book] = await Promise.all([chartPng(label('日'), 1, named), chartPng(label('本'), 1, named)]);
    expect(sun.equals(book)).toBe(false);
    // The same glyph as the font found in a folder draws.
    expect(sun.equals(await chartPng(label('日'), 1, { folders: [withDroid] }))).toBe(true);
  });

  it('leaves Latin text to DejaVu Sans: the same pixels with or without a CJK font', async () => {
    const latin = label('Or 12');
    expect((await chartPng(latin, 1, { folders: [withDroid] })).equals(await chartPng(latin, 1, { folders: [empty] }))).toBe(true);
    // With the CJK font loaded for a label below it (y 30 to 40 of a 40 px tall picture), the
    // Latin label's rows (the first 20) are drawn as without it.
    const tall = (more: string) => label('Or 12', more).replace('height="20"', 'height="40"');
    const alone = imageData(await chartPng(tall(''), 1, { folders: [withDroid] }));
    const mixed = imageData(await chartPng(tall('<text x="2" y="38" style="font-size:14px">日</text>'), 1, { folders: [withDroid] }));
    const rows = 20 * (1 + 4 * alone.width);
    expect(mixed.data.subarray(0, rows).equals(alone.data.subarray(0, rows))).toBe(true);
    expect(mixed.data.equals(alone.data)).toBe(false);
  });
});

describe('the fallback font', () => {
  it('is found by its file name anywhere under the folders, the first well-known one that is a font', async () => {
    const folder = path.join(root, 'preferred');
    mkdirSync(path.join(folder, 'opentype', 'noto'), { recursive: true });
    // Noto Sans CJK comes first, but this one is no font: the next name found is taken.
    writeFileSync(path.join(folder, 'opentype', 'noto', 'NotoSansCJK-Regular.ttc'), 'truncated download');
    const found = await systemFallback(['日'], [path.join(root, 'no-such-folder'), empty, folder, withDroid]);
    expect(found).toEqual({ files: [path.join(withDroid, 'truetype', 'droid', 'DroidSansFallbackFull.ttf')], missing: [] });
    expect(await systemFallback(['日'], [empty, folder])).toEqual({ files: [], missing: ['日'] });
  });

  it('is read once and kept; a search that found none is not kept', async () => {
    const options = { folders: [withDroid] };
    const first = await fallbackFonts(['日'], options);
    const again = await fallbackFonts(['本'], { folders: [withDroid] });
    expect(again.buffers[0]).toBe(first.buffers[0]);
    const later = path.join(root, 'installed-later');
    mkdirSync(later);
    expect(await fallbackFonts(['日'], { folders: [later] })).toEqual({ files: [], buffers: [], problems: [], missing: ['日'], drawing: [] });
    symlinkSync(DROID, path.join(later, 'DroidSansFallbackFull.ttf'));
    expect((await fallbackFonts(['日'], { folders: [later] })).files).toEqual([path.join(later, 'DroidSansFallbackFull.ttf')]);
  });

  it('is needed for the characters of the text DejaVu Sans has no glyph for, each named once', async () => {
    const { characters } = await mainFont();
    const svg =
      '<svg><title>売上</title><g aria-label="広告"><text>検索&#x5E83;&#21578; &amp; Organic</text><text><tspan>メール</tspan>・Ａ䷀𠀋</text>' +
      '<text>한국</text></g><text>Ünïcödé €100 — “Latin”</text><text>ร้าน\u200dค้า&#x200B;\t\u3000हिन्दी</text></svg>';
    // 検索広告 (the last two as character references), メール, the katakana middle dot, the
    // fullwidth Ａ, 𠀋 (extension B) and 한국; Thai ร, the tone mark ้, า, น and ค; Devanagari ह,
    // the vowel sign ि, न, the virama ्, द and ी. Not the title's nor an attribute's (not drawn),
    // nor ䷀ (a Yijing hexagram, in DejaVu Sans), nor the Latin text, nor the zero width joiner
    // and space, the tab or the ideographic space (nothing to draw in any font).
    expect(missingCharacters(svg, characters)).toEqual([
      ...['検', '索', '広', '告', 'メ', 'ー', 'ル', '・', 'Ａ', '𠀋', '한', '국'],
      ...['ร', '\u0e49', 'า', 'น', 'ค'],
      ...['ह', '\u093f', 'न', '\u094d', 'द', '\u0940'],
    ]);
    expect(missingCharacters(label('Organic 12% · Ünïcödé'), characters)).toEqual([]);
  });
});

describe('the e-mail of a page with CJK text', () => {
  const figure = (name: string, svg: string) => `<figure class="chart" data-chart="${name}"><h3>${name}</h3>${svg}<figcaption>c</figcaption></figure>`;
  const page = `<html><body>${figure('trend', label('Or 12'))}${figure('channel_mix', label('日本'))}${figure('products', label('本語'))}</body></html>`;

  it('draws every chart and warns once, naming the characters, when no CJK font is found', async () => {
    const mail = await reportEmail(page, '/reports/weekly-2026-W48.html', { files: [path.join(root, 'missing.ttf')], folders: [empty] });
    expect(mail.attachments.map((a) => a.filename)).toEqual(['trend.png', 'channel_mix.png', 'products.png', 'weekly-2026-W48.html']);
    expect(mail.notDrawn).toHaveLength(1);
    expect(mail.notDrawn[0]).toMatchObject({ chart: 'channel_mix, products', characters: '日本語' });
    expect(mail.notDrawn[0]!.reason).toContain(`reportFonts could not be used (${path.join(root, 'missing.ttf')}: ENOENT`);
    expect(mail.notDrawn[0]!.reason).toContain(`no Chinese, Japanese or Korean font was found under ${empty}`);
    expect(mail.notDrawn[0]!.reason).toContain('apt-get install fonts-noto-cjk');
  });

  it('warns of nothing when one is found', async () => {
    const mail = await reportEmail(page, '/reports/weekly-2026-W48.html', { folders: [withDroid] });
    expect(mail.notDrawn).toEqual([]);
    expect(mail.attachments).toHaveLength(4);
  });
});

describe('Thai and Devanagari text in the e-mailed charts (issue: drawn as boxes, without a warning)', () => {
  const none = { folders: [] as string[] };

  it('draws ก and ข, क and ख, all alike when no font of theirs is at hand: the .notdef box', async () => {
    const [ko, kho, ka, kha, sun] = await Promise.all(['ก', 'ข', 'क', 'ख', '日'].map((c) => chartPng(label(c), 1, { folders: [empty] })));
    expect(ko!.equals(kho!)).toBe(true);
    expect(ka!.equals(kha!)).toBe(true);
    expect(ko!.equals(ka!)).toBe(true);
    expect(ko!.equals(sun!)).toBe(true);
  });

  it('draws them apart with Garuda and Lohit Devanagari installed in the system\'s font folders', async () => {
    const [ko, kho, ka, kha] = await Promise.all(['ก', 'ข', 'क', 'ख'].map((c) => chartPng(label(c), 1)));
    const box = await chartPng(label('ก'), 1, { folders: [empty] });
    expect(ko!.equals(kho!)).toBe(false);
    expect(ka!.equals(kha!)).toBe(false);
    expect(ko!.equals(box)).toBe(false);
    expect(ka!.equals(box)).toBe(false);
    // The glyphs are those of the installed fonts: the same pixels as with each file named.
    expect(ko!.equals(await chartPng(label('ก'), 1, { files: [GARUDA], ...none }))).toBe(true);
    expect(ka!.equals(await chartPng(label('क'), 1, { files: [LOHIT_DEVANAGARI], ...none }))).toBe(true);
  });

  it('leaves the Latin label beside a Thai one to DejaVu Sans', async () => {
    const tall = (more: string) => label('Or 12', more).replace('height="20"', 'height="40"');
    const alone = imageData(await chartPng(tall(''), 1));
    const mixed = imageData(await chartPng(tall('<text x="2" y="38" style="font-size:14px">ร้าน</text>'), 1));
    const rows = 20 * (1 + 4 * alone.width);
    expect(mixed.data.subarray(0, rows).equals(alone.data.subarray(0, rows))).toBe(true);
    expect(mixed.data.equals(alone.data)).toBe(false);
  });
});

describe('fallback fonts chosen by their character maps', () => {
  /** A folder of `files`, each a name and its contents or the font file it is a copy of. */
  function folder(name: string, files: Record<string, string | Buffer>): string {
    const dir = path.join(root, name);
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      if (typeof content === 'string') copyFileSync(content, path.join(dir, file));
      else writeFileSync(path.join(dir, file), content);
    }
    return dir;
  }

  it('finds a font of any name under the folders by its character map', async () => {
    const shop = folder('any-name', { 'brand/shop-thai.ttf': GARUDA, 'brand/notes.txt': Buffer.from('no font') });
    expect(await systemFallback(['ก', 'ข'], [shop])).toEqual({ files: [path.join(shop, 'brand', 'shop-thai.ttf')], missing: [] });
    const [fromFolder, named, box] = await Promise.all([
      chartPng(label('ก'), 1, { folders: [shop] }),
      chartPng(label('ก'), 1, { files: [GARUDA], folders: [empty] }),
      chartPng(label('ก'), 1, { folders: [empty] }),
    ]);
    expect(fromFolder.equals(named)).toBe(true);
    expect(fromFolder.equals(box)).toBe(false);
  });

  it('chooses the fewest fonts having the most characters, the well-known ones first', async () => {
    const several = folder('several', {
      'a-thai.ttf': GARUDA,
      'b-thai-devanagari.ttc': collection([GARUDA, LOHIT_DEVANAGARI]),
      'c-devanagari.ttf': LOHIT_DEVANAGARI,
    });
    const at = (file: string) => path.join(several, file);
    // One font for both scripts rather than two, though the Thai one comes first by name.
    expect(await systemFallback(['ก', 'क'], [several])).toEqual({ files: [at('b-thai-devanagari.ttc')], missing: [] });
    // For Thai alone two have it as much: the first by name.
    expect(await systemFallback(['ก'], [several])).toEqual({ files: [at('a-thai.ttf')], missing: [] });
    // A well-known font (Droid Sans Fallback, by its file name) is taken before the others, then
    // the one having most of what it lacks; 𓀀 (an Egyptian hieroglyph) none has.
    expect(await systemFallback(['ก', '日', 'क', '𓀀'], [several, withDroid])).toEqual({
      files: [path.join(withDroid, 'truetype', 'droid', 'DroidSansFallbackFull.ttf'), at('b-thai-devanagari.ttc')],
      missing: ['𓀀'],
    });
    const known = folder('well-known', { 'tlwg/Garuda.ttf': GARUDA, 'b-thai-devanagari.ttc': collection([GARUDA, LOHIT_DEVANAGARI]) });
    expect((await systemFallback(['ก', 'क'], [known])).files).toEqual([path.join(known, 'tlwg', 'Garuda.ttf'), path.join(known, 'b-thai-devanagari.ttc')]);
    // And the chart draws both scripts, as with the collection named.
    const both = label('กक');
    expect((await chartPng(both, 1, { folders: [several] })).equals(await chartPng(both, 1, { files: [at('b-thai-devanagari.ttc')], folders: [empty] }))).toBe(true);
  });

  it('takes no font without outlines (a colour bitmap font), nor a face resvg would skip, and the regular one of two', async () => {
    const faces = folder('faces', {
      'a-bitmap.ttf': rewritten(GARUDA, { drop: ['glyf', 'loca'] }),
      'b-bold-oblique-condensed.ttf': rewritten(GARUDA, { weight: 700, width: 3, italic: true }),
    });
    expect(await systemFallback(['ก'], [faces])).toEqual({ files: [], missing: ['ก'] });
    const two = folder('bold-and-regular', { 'a-bold.ttf': rewritten(GARUDA, { weight: 700 }), 'b-regular.ttf': GARUDA });
    expect((await systemFallback(['ก'], [two])).files).toEqual([path.join(two, 'b-regular.ttf')]);
  });

  it('takes the named files first, all of them, and the folders for what they lack', async () => {
    const devanagari = folder('devanagari-only', { 'deva.ttf': LOHIT_DEVANAGARI });
    const named = { files: [GARUDA, DROID], folders: [devanagari] };
    expect(await fallbackFonts(['ก', 'क'], named)).toMatchObject({ files: [GARUDA, DROID, path.join(devanagari, 'deva.ttf')], problems: [], missing: [] });
    expect((await fallbackFonts(['ก'], named)).files).toEqual([GARUDA, DROID]);
  });

  it('reads the character map of a named WOFF2 file', async () => {
    const file = path.join(root, 'garuda.woff2');
    writeFileSync(file, woff2(GARUDA));
    expect(await fallbackFonts(['ก'], { files: [file], folders: [empty] })).toMatchObject({ files: [file], problems: [], missing: [] });
    const [fromWoff2, fromTtf] = await Promise.all([chartPng(label('ก'), 1, { files: [file], folders: [empty] }), chartPng(label('ก'), 1, { files: [GARUDA], folders: [empty] })]);
    expect(fromWoff2.equals(fromTtf)).toBe(true);
  });
});

describe('the e-mail of a page with text no font at hand has', () => {
  const figure = (name: string, svg: string) => `<figure class="chart" data-chart="${name}"><h3>${name}</h3>${svg}<figcaption>c</figcaption></figure>`;

  it('warns once, naming the characters no font has and the packages for their scripts', async () => {
    const thaiOnly = path.join(root, 'thai-only');
    mkdirSync(thaiOnly);
    copyFileSync(GARUDA, path.join(thaiOnly, 'thai.ttf'));
    const page = `<html><body>${figure('channel_mix', label('ร้าน'))}${figure('products', label('कሀ'))}${figure('trend', label('हि'))}</body></html>`;
    const mail = await reportEmail(page, '/reports/weekly-2026-W48.html', { folders: [thaiOnly] });
    expect(mail.attachments.map((a) => a.filename)).toEqual(['channel_mix.png', 'products.png', 'trend.png', 'weekly-2026-W48.html']);
    expect(mail.notDrawn).toHaveLength(1);
    // The Thai is drawn; Devanagari and Ethiopic have no font there.
    expect(mail.notDrawn[0]).toMatchObject({ chart: 'products, trend', characters: 'कሀह\u093f' });
    expect(mail.notDrawn[0]!.reason).toContain(`no font with some of them was found under ${thaiOnly}`);
    expect(mail.notDrawn[0]!.reason).toContain('Devanagari (कह\u093f): apt-get install fonts-lohit-deva, or fonts-noto-core');
    expect(mail.notDrawn[0]!.reason).toContain('Ethiopic (ሀ): apt-get install fonts-sil-abyssinica, or fonts-noto-core');
  });

  it('names the Thai packages when no Thai font is found', async () => {
    const mail = await reportEmail(`<html><body>${figure('channel_mix', label('ร้าน'))}</body></html>`, '/reports/weekly-2026-W48.html', { folders: [empty] });
    expect(mail.notDrawn).toEqual([
      {
        chart: 'channel_mix',
        characters: 'ร\u0e49าน',
        reason:
          `ร\u0e49าน drawn as boxes: no Thai font was found under ${empty}: install one ` +
          "(Debian, Ubuntu: apt-get install fonts-thai-tlwg, or only fonts-tlwg-garuda-ttf, or fonts-noto-core) or name its file in the config's reportFonts",
      },
    ]);
  });
});
