import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chartPng, reportEmail, withoutCustomProperties } from '../../reports/email.ts';

/** The report e-mail's parts, on pages written by hand. */
const figure = (name: string, svg: string) => `<figure class="chart" data-chart="${name}" data-points="1"><h3>${name} title</h3>${svg}<figcaption>c</figcaption></figure>`;
const square = '<svg width="40" height="20" xmlns="http://www.w3.org/2000/svg"><rect x="0" y="0" width="40" height="20" fill="#2f5fb3"/></svg>';

describe('the report e-mail', () => {
  it('draws a chart as a PNG twice its size, shown by cid, and keeps the SVG of one that cannot be drawn', async () => {
    const page = `<html><head><style>:root { --ink: #1d2330; } p { color: var(--ink); }</style></head><body>${figure('revenue', square)}${figure('broken', '<svg width="10" height="10"><rect x=1></svg>')}</body></html>`;
    const mail = await reportEmail(page, '/reports/weekly-2026-W48.html');
    expect(mail.notDrawn.map((n) => n.chart)).toEqual(['broken']);
    expect(mail.html).toContain('<h3>revenue title</h3><img src="cid:revenue.chart@verite" alt="revenue title" width="40" height="20" style="display:block;max-width:100%;height:auto">');
    expect(mail.html).toContain('<h3>broken title</h3><svg width="10" height="10"><rect x=1></svg>');
    expect(mail.html).toContain('p { color: #1d2330; }');
    expect(mail.attachments.map((a) => [a.filename, a.contentType, a.cid, a.contentDisposition])).toEqual([
      ['revenue.png', 'image/png', 'revenue.chart@verite', 'inline'],
      ['weekly-2026-W48.html', 'text/html; charset=utf-8', undefined, 'attachment'],
    ]);
    const png = mail.attachments[0]!.content;
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([80, 40]);
    expect(mail.attachments[1]!.content.toString('utf8')).toBe(page);
  });

  it('fills the drawing: the square is the colour it was given', async () => {
    const png = await chartPng(square, 1);
    // PNG signature, then IHDR of 40 × 20, 8 bits of RGBA (colour type 6).
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([40, 20, 8, 6]);
    // The image data (its IDAT chunks, inflated): each row a filter byte then its pixels. The first
    // pixel of the first row reads as it is whatever the filter: #2f5fb3, opaque.
    const idat: Buffer[] = [];
    for (let at = 8; at < png.length; ) {
      const length = png.readUInt32BE(at);
      if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
      at += 12 + length;
    }
    const pixels = inflateSync(Buffer.concat(idat));
    expect([...pixels.subarray(1, 5)]).toEqual([0x2f, 0x5f, 0xb3, 0xff]);
  });

  it('writes custom properties out, and leaves an unknown one as it is', () => {
    expect(withoutCustomProperties('<style>:root { --a: red; --b: 1px; } x { color: var(--a); margin: var(--b); top: var(--c); }</style>')).toBe(
      '<style>:root { } x { color: red; margin: 1px; top: var(--c); }</style>',
    );
  });
});
