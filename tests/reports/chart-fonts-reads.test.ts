import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { chartPng } from '../../reports/email.ts';
import { GARUDA } from '../support/font-files.ts';

/**
 * What the e-mailed charts read of the font folders: nothing for a chart whose text DejaVu Sans
 * draws whole, and each font's character map once per process. The folder listing and the file
 * reads of `node:fs/promises` are watched (the real ones run).
 */
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  return { ...real, readdir: vi.fn(real.readdir), open: vi.fn(real.open), readFile: vi.fn(real.readFile) };
});

const label = (text: string) =>
  `<svg width="40" height="20" xmlns="http://www.w3.org/2000/svg"><text x="2" y="16" style="font-size:14px;font-family:sans-serif">${text}</text></svg>`;

let root: string;
let fonts: string;
const calls = (fn: unknown) => (fn as ReturnType<typeof vi.fn>).mock.calls.map((c) => String(c[0]));

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'verite-font-reads-'));
  fonts = path.join(root, 'fonts');
  mkdirSync(fonts);
  copyFileSync(GARUDA, path.join(fonts, 'thai.ttf'));
  await chartPng(label('Or'), 1, { folders: [] }); // resvg and DejaVu Sans, loaded once for the file.
});

beforeEach(() => vi.clearAllMocks());

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the font folders (a chart of Latin text reads none)', () => {
  it('are not listed, nor any font read, for a chart whose text DejaVu Sans has every glyph of', async () => {
    await chartPng(label('Organic 12% · Ünïcödé €100 — Ж'), 1, { folders: [fonts] });
    expect(calls(fs.readdir)).toEqual([]);
    expect(calls(fs.open)).toEqual([]);
    expect(calls(fs.readFile)).toEqual([]);
  });

  it('are listed for a chart with Thai text, the font\'s character map and contents read once per process', async () => {
    const thai = path.join(fonts, 'thai.ttf');
    const first = await chartPng(label('ก'), 1, { folders: [fonts] });
    expect(calls(fs.readdir)).toEqual([fonts]);
    expect(calls(fs.open)).toEqual([thai]);
    expect(calls(fs.readFile)).toEqual([thai]);
    vi.clearAllMocks();
    // Another character of the same font: the listing kept, nothing read again.
    const second = await chartPng(label('ข'), 1, { folders: [fonts] });
    expect(second.equals(first)).toBe(false);
    expect(calls(fs.readdir)).toEqual([]);
    expect(calls(fs.open)).toEqual([]);
    expect(calls(fs.readFile)).toEqual([]);
  });
});
