import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CharacterSet } from './font-characters.ts';
import { fallbackAdvice, fallbackFonts, mainFont, missingCharacters, type ChartFonts } from './chart-fonts.ts';

/**
 * A report as an e-mail. The page itself is the HTML body, with its charts as PNG images carried
 * in the message (`cid:` references): Gmail and Outlook show no inline SVG in a message, so the
 * page's charts were blank there. The charts are drawn from the page's own SVG by resvg (its
 * WebAssembly build: no native binary, no browser) with the DejaVu Sans font shipped in
 * `dejavu-fonts-ttf` (resvg reads no system font, so every machine draws Latin text the same),
 * at twice the page's size for high-density screens. A chart whose text has characters DejaVu
 * Sans has no glyph of (Chinese, Thai, Devanagari, …) is given fallback fonts that have them
 * (reports/chart-fonts.ts); without one those characters are boxes, and the e-mail says so. The
 * page is attached too, whole, to open in a browser. A chart that cannot be drawn keeps its SVG
 * (shown where SVG is), and the mail goes. The page's CSS custom properties are written out as
 * their values (Gmail keeps none).
 */

export interface EmailAttachment {
  filename: string;
  content: Buffer;
  contentType: string;
  /** Set for an image the body shows (`cid:`); the page's own copy is a plain attachment. */
  cid?: string;
  contentDisposition: 'inline' | 'attachment';
}

export interface ReportEmail {
  html: string;
  attachments: EmailAttachment[];
  /**
   * What the images do not show, with why (logged by the caller as warnings): a chart left as
   * SVG; or, with `characters`, the characters drawn as boxes for want of a font that has them,
   * one entry for the whole e-mail naming its charts (`channel_mix, products`).
   */
  notDrawn: { chart: string; reason: string; characters?: string }[];
}

/** The page's chart figures: the figure's opening, its name and title, and its SVG. */
const CHART = /(<figure class="chart" data-chart="([^"]+)"[^>]*><h3>([^<]*)<\/h3>)(<svg[\s\S]*?<\/svg>)/g;

const require = createRequire(import.meta.url);
type Resvg = typeof import('@resvg/resvg-wasm');
let renderer: Promise<{ resvg: Resvg; font: Uint8Array; characters: CharacterSet }> | undefined;

/** resvg and its font, loaded on the first chart drawn (about 2.5 MB of WebAssembly and 0.7 MB of font). */
function loadRenderer(): Promise<{ resvg: Resvg; font: Uint8Array; characters: CharacterSet }> {
  renderer ??= (async () => {
    const resvg = (await import('@resvg/resvg-wasm')) as Resvg;
    await resvg.initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
    const { data, characters } = await mainFont();
    return { resvg, font: data, characters };
  })();
  renderer.catch(() => (renderer = undefined));
  return renderer;
}

/**
 * A chart's SVG drawn as a PNG at `zoom` times its size, the characters of its text drawn as
 * boxes (those no font at hand has), and why the config's named fonts could not be used. DejaVu
 * Sans is the first font, the one every family names; resvg takes a glyph it lacks from the
 * first later font that has it.
 */
async function drawChart(svg: string, zoom: number, fonts: ChartFonts): Promise<{ png: Buffer; boxes: string[]; problems: string[] }> {
  const { resvg, font, characters } = await loadRenderer();
  const lacking = missingCharacters(svg, characters);
  const fallback = lacking.length > 0 ? await fallbackFonts(lacking, fonts) : null;
  const image = new resvg.Resvg(svg, {
    font: { fontBuffers: [font, ...(fallback?.buffers ?? [])], defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans', loadSystemFonts: false },
    fitTo: { mode: 'zoom', value: zoom },
    background: '#ffffff',
  });
  try {
    return { png: Buffer.from(image.render().asPng()), boxes: fallback?.missing ?? [], problems: fallback?.problems ?? [] };
  } finally {
    image.free();
  }
}

/** A chart's SVG drawn as a PNG at `zoom` times its size, what DejaVu Sans lacks with fallback fonts when found (`fonts`). */
export async function chartPng(svg: string, zoom = 2, fonts: ChartFonts = {}): Promise<Buffer> {
  return (await drawChart(svg, zoom, fonts)).png;
}

/** The SVG root's width and height attributes, for the `<img>` that stands for it. */
function svgSize(svg: string): { width: number; height: number } | null {
  const root = /^<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\bwidth="(\d+(?:\.\d+)?)"/.exec(root)?.[1]);
  const height = Number(/\bheight="(\d+(?:\.\d+)?)"/.exec(root)?.[1]);
  return width > 0 && height > 0 ? { width, height } : null;
}

/**
 * The page's CSS with each custom property (`var(--ink)`) written as its value from `:root`:
 * Gmail keeps no custom property, and drops a whole `<style>` block it cannot read, which left
 * the message without any of the page's styles.
 */
export function withoutCustomProperties(page: string): string {
  const root = /:root\s*\{([^}]*)\}/.exec(page)?.[1] ?? '';
  const values = new Map([...root.matchAll(/--([\w-]+)\s*:\s*([^;]+);?/g)].map((m) => [m[1]!, m[2]!.trim()]));
  return page.replace(/<style>([\s\S]*?)<\/style>/g, (_, css: string) => {
    const plain = css.replace(/var\(--([\w-]+)\)/g, (whole, name: string) => values.get(name) ?? whole).replace(/\s*--[\w-]+\s*:\s*[^;}]+;?/g, '');
    return `<style>${plain}</style>`;
  });
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The e-mail of a report page written to `file`: the page with each chart as a PNG shown by
 * `cid:`, the PNGs, and the page itself attached. `fonts` says where fallback fonts for what
 * DejaVu Sans lacks are found (the config's `reportFonts`, then the system's font folders).
 */
export async function reportEmail(page: string, file: string, fonts: ChartFonts = {}): Promise<ReportEmail> {
  const attachments: EmailAttachment[] = [];
  const notDrawn: ReportEmail['notDrawn'] = [];
  const drawn = new Map<string, string>();
  const boxes = { charts: [] as string[], characters: new Set<string>(), problems: new Set<string>() };
  for (const match of page.matchAll(CHART)) {
    const [, , name, title, svg] = match;
    try {
      const { png, boxes: missing, problems } = await drawChart(svg!, 2, fonts);
      if (missing.length > 0) {
        boxes.charts.push(name!);
        for (const c of missing) boxes.characters.add(c);
        for (const p of problems) boxes.problems.add(p);
      }
      const cid = `${name}.chart@verite`;
      const size = svgSize(svg!);
      const dimensions = size ? ` width="${size.width}" height="${size.height}"` : '';
      attachments.push({ filename: `${name}.png`, content: png, contentType: 'image/png', cid, contentDisposition: 'inline' });
      drawn.set(name!, `<img src="cid:${cid}" alt="${escapeAttribute(title!)}"${dimensions} style="display:block;max-width:100%;height:auto">`);
    } catch (error) {
      notDrawn.push({ chart: name!, reason: (error as Error).message });
    }
  }
  if (boxes.charts.length > 0) {
    const characters = [...boxes.characters];
    const shown = characters.length > 20 ? `${characters.slice(0, 20).join('')}… (${characters.length} in all)` : characters.join('');
    const advice = fallbackAdvice(characters, [...boxes.problems], fonts);
    notDrawn.push({ chart: boxes.charts.join(', '), characters: characters.join(''), reason: `${shown} drawn as boxes: ${advice}` });
  }
  const html = withoutCustomProperties(page).replace(CHART, (whole, opening: string, name: string) => (drawn.has(name) ? `${opening}${drawn.get(name)}` : whole));
  attachments.push({ filename: path.basename(file), content: Buffer.from(page, 'utf8'), contentType: 'text/html; charset=utf-8', contentDisposition: 'attachment' });
  return { html, attachments, notDrawn };
}
