import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cjkCharacters, fallbackFonts, findCjkFont, systemFontFolders } from '../../reports/chart-fonts.ts';
import { chartPng, reportEmail } from '../../reports/email.ts';

/**
 * Issue: the e-mailed charts drew Chinese, Japanese and Korean text as boxes. They were drawn
 * with DejaVu Sans alone, which has no CJK glyph, so every such character was its .notdef box:
 * a chart labelled 日 and one labelled 本 came out the same picture.
 *
 * Debian's fonts-droid-fallback (`.ci/run` installs it) is the CJK font here. Only the first
 * test looks in the machine's own font folders; the others are given folders of their own.
 */
const DROID = '/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf';

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
  if (!existsSync(DROID)) throw new Error(`no ${DROID}: install Debian's fonts-droid-fallback (apt-get install fonts-droid-fallback)`);
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
    const found = await findCjkFont([path.join(root, 'no-such-folder'), empty, folder, withDroid]);
    expect(found?.file).toBe(path.join(withDroid, 'truetype', 'droid', 'DroidSansFallbackFull.ttf'));
    expect(await findCjkFont([empty, folder])).toBeNull();
  });

  it('is read once and kept; a search that found none is not kept', async () => {
    const options = { folders: [withDroid] };
    const first = await fallbackFonts(options);
    const again = await fallbackFonts({ folders: [withDroid] });
    expect(again.buffers[0]).toBe(first.buffers[0]);
    const later = path.join(root, 'installed-later');
    mkdirSync(later);
    expect((await fallbackFonts({ folders: [later] })).files).toEqual([]);
    symlinkSync(DROID, path.join(later, 'DroidSansFallbackFull.ttf'));
    expect((await fallbackFonts({ folders: [later] })).files).toEqual([path.join(later, 'DroidSansFallbackFull.ttf')]);
  });

  it('is needed for CJK characters of the text only, each named once', () => {
    const svg =
      '<svg><title>売上</title><g aria-label="広告"><text>検索&#x5E83;&#21578; &amp; Organic</text><text><tspan>メール</tspan>・Ａ䷀𠀋</text>' +
      '<text>한국</text></g><text>Ünïcödé €100 — “Latin”</text></svg>';
    // 検索広告 (the last two as character references), メール, the katakana middle dot, the
    // fullwidth Ａ, 𠀋 (extension B) and 한국; not the title's nor an attribute's (not drawn),
    // nor ䷀ (a Yijing hexagram, in DejaVu Sans), nor the Latin text.
    expect(cjkCharacters(svg)).toEqual(['検', '索', '広', '告', 'メ', 'ー', 'ル', '・', 'Ａ', '𠀋', '한', '국']);
    expect(cjkCharacters(label('Organic 12%'))).toEqual([]);
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
