import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { checkFileFormat, fileColumns, FileFormatError, readRecordsFile, Utf8Lines, workbookFit, zipUnpackedSize } from '../../loaders/file-reader.ts';
import { LocatedRecord, RawText, RejectedRecord } from '../../loaders/raw-text.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verite-reader-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function all(path: string, options: Parameters<typeof readRecordsFile>[1] = {}): Promise<unknown[]> {
  const records: unknown[] = [];
  for await (const batch of readRecordsFile(path, options)) records.push(...batch);
  return records;
}

/** What the loader gets, in a form to compare: text or value, location, and a rejection's reason. */
function shape(record: unknown): Record<string, unknown> {
  if (record instanceof RawText) return { text: record.text, at: record.location };
  if (record instanceof RejectedRecord) return { rejected: record.reason, at: record.location };
  if (record instanceof LocatedRecord) return { value: record.value, at: record.location };
  return { other: record };
}

describe('reading an import file', () => {
  it('issue 17: reads a file saved with a UTF-8 byte-order mark as one without (JSON lines, JSON array, CSV)', async () => {
    const jsonl = file('bom.jsonl', Buffer.concat([BOM, Buffer.from('{"id":1}\n{"id":2}\n')]));
    expect((await all(jsonl)).map(shape)).toEqual([
      { text: '{"id":1}', at: 'bom.jsonl:1' },
      { text: '{"id":2}', at: 'bom.jsonl:2' },
    ]);
    const json = file('bom.json', Buffer.concat([BOM, Buffer.from('[{"id":1}]')]));
    expect((await all(json)).map(shape)).toEqual([{ text: '{"id":1}', at: 'bom.json:1 (record 1)' }]);
    const csv = file('bom.csv', Buffer.concat([BOM, Buffer.from('id,name\n1,a\n')]));
    expect((await all(csv)).map(shape)).toEqual([{ value: { id: '1', name: 'a' }, at: 'bom.csv:2' }]);
  });

  it('takes the lines of one cell above a table as its title, not its header, in a CSV and in a workbook', async () => {
    // A sheet saved as CSV with its title, a blank line and a date line above the table.
    const titled = file('titled.csv', 'Supplier costs\r\n\r\n"Updated 1 May, 2024"\r\nsku;unit_cost;currency\r\nTEE;4,20;EUR\r\nMUG;3;EUR\r\n');
    expect(await checkFileFormat(titled)).toEqual(['sku', 'unit_cost', 'currency']);
    expect((await all(titled)).map(shape)).toEqual([
      { value: { sku: 'TEE', unit_cost: '4,20', currency: 'EUR' }, at: 'titled.csv:5' },
      { value: { sku: 'MUG', unit_cost: '3', currency: 'EUR' }, at: 'titled.csv:6' },
    ]);
    // Excel writes the title row's empty cells as separators.
    const padded = file('padded.csv', 'Einkaufspreise;;;\nSKU;Kosten;Währung;Gültig ab\nTEE;4,20;EUR;01.03.2024\n');
    expect((await all(padded)).map(shape)).toEqual([{ value: { SKU: 'TEE', Kosten: '4,20', Währung: 'EUR', 'Gültig ab': '01.03.2024' }, at: 'padded.csv:3' }]);
    // A file of one column has no title: its first line is its header.
    const single = file('single.csv', 'sku\nTEE\nMUG\n');
    expect((await all(single)).map(shape)).toEqual([
      { value: { sku: 'TEE' }, at: 'single.csv:2' },
      { value: { sku: 'MUG' }, at: 'single.csv:3' },
    ]);
    const book = join(dir, 'titled.xlsx');
    await writeXlsxFile([
      [{ value: 'Supplier costs' }, null, null],
      [null, null, null],
      [{ value: 'Updated' }, null, null],
      [{ value: 'sku' }, { value: 'unit_cost' }, { value: 'currency' }],
      [{ value: 'TEE' }, { type: Number, value: 4.2 }, { value: 'EUR' }],
    ]).toFile(book);
    expect(await fileColumns(book)).toEqual(['sku', 'unit_cost', 'currency']);
    expect(((await all(book)) as RawText[]).map((r) => [r.location, JSON.parse(r.text)])).toEqual([['titled.xlsx:5', { sku: 'TEE', unit_cost: 4.2, currency: 'EUR' }]]);
  });

  it('reads the CSV of a decimal-comma spreadsheet: columns separated by semicolons, by tabs, or by what a first line sep= names', async () => {
    // Excel in German saves "Comma separated" files with semicolons, since the comma is the decimal mark.
    const semicolons = file('kosten.csv', 'SKU;Kosten;Gültig ab\r\nTEE-M;4,20;01.03.2024\r\n"TEE;L";"1.234,50";02.03.2024\r\n');
    expect((await all(semicolons)).map(shape)).toEqual([
      { value: { SKU: 'TEE-M', Kosten: '4,20', 'Gültig ab': '01.03.2024' }, at: 'kosten.csv:2' },
      { value: { SKU: 'TEE;L', Kosten: '1.234,50', 'Gültig ab': '02.03.2024' }, at: 'kosten.csv:3' },
    ]);
    const tabs = file('tabs.csv', 'sku\tunit_cost\tnote\nTEE-M\t4.20\t a, b \n');
    expect((await all(tabs)).map(shape)).toEqual([{ value: { sku: 'TEE-M', unit_cost: '4.20', note: 'a, b' }, at: 'tabs.csv:2' }]);
    // Excel's own hint names the separator and is not the header; rows keep their lines.
    const hinted = file('hinted.csv', 'sep=;\r\nsku;note\r\nA;x,y\r\n\r\nB;z\r\n');
    expect((await all(hinted)).map(shape)).toEqual([
      { value: { sku: 'A', note: 'x,y' }, at: 'hinted.csv:3' },
      { value: { sku: 'B', note: 'z' }, at: 'hinted.csv:5' },
    ]);
    // A comma-separated header wins over a semicolon inside quotes, and one column is one column.
    const commas = file('commas.csv', 'sku,"note; free text"\nA,"b;c"\n');
    expect((await all(commas)).map(shape)).toEqual([{ value: { sku: 'A', 'note; free text': 'b;c' }, at: 'commas.csv:2' }]);
    const single = file('single.csv', 'sku\nA;B\n');
    expect((await all(single)).map(shape)).toEqual([{ value: { sku: 'A;B' }, at: 'single.csv:2' }]);
  });

  it('refuses a CSV header naming a column twice or not in UTF-8, before any row, and quarantines a row with more values than the header', async () => {
    // Two columns "cost": a row's value under the name would be one of them, the other lost.
    const twice = file('twice.csv', '\n\nsku;cost;note;cost\nA;1;x;2\n');
    const reason = 'columns 2 and 4 of the header are both named "cost": rename one, as a row\'s value under that name would be one of the two and the other lost';
    await expect(checkFileFormat(twice)).rejects.toThrow(new FileFormatError(twice, reason));
    await expect(all(twice)).rejects.toThrow(new FileFormatError(twice, reason));
    // "4,20" unquoted in a comma-separated file shifts the row by one; empty values past the header
    // (a sheet's trailing separators) and columns without a name are read as before.
    const shifted = file('shifted.csv', 'sku,cost,currency\nA,4,20,EUR\nB,3.10,EUR,\nC,\t,EUR,,,\n');
    expect((await all(shifted)).map(shape)).toEqual([
      { rejected: 'has 4 values for the 3 columns of the header: a value holding a "," outside quotes? Its values cannot be matched to their columns', at: 'shifted.csv:2' },
      { value: { sku: 'B', cost: '3.10', currency: 'EUR' }, at: 'shifted.csv:3' },
      { value: { sku: 'C', cost: '', currency: 'EUR' }, at: 'shifted.csv:4' },
    ]);
    // "Gültig ab" as Windows-1252 writes it (ü is the one byte 0xFC): no column of the mapping could be found.
    const latin = file('latin-head.csv', Buffer.concat([Buffer.from('sku;G'), Buffer.from([0xfc]), Buffer.from('ltig ab\nA;01.03.2024\n')]));
    const notUtf8 = 'its header is not UTF-8 text (a column reads "G\uFFFDltig ab"): was the file saved in another encoding, such as Windows-1252 or Latin-1? Save it as UTF-8';
    await expect(checkFileFormat(latin)).rejects.toThrow(new FileFormatError(latin, notUtf8));
    await expect(all(latin)).rejects.toThrow(new FileFormatError(latin, notUtf8));
    const unnamed = file('unnamed.csv', 'sku,,cost\nA,x,1\nB,,2\n');
    expect((await all(unnamed)).map(shape)).toEqual([
      { value: { sku: 'A', 'column 2': 'x', cost: '1' }, at: 'unnamed.csv:2' },
      { value: { sku: 'B', cost: '2' }, at: 'unnamed.csv:3' },
    ]);
  });

  it('passes over a CSV row whose every value is empty or blank, as a blank line: Excel writes ";;;" for a row of empty cells it formatted', async () => {
    const path = file('separators.csv', 'sku;unit_cost;currency;valid_from\r\nTEE-M;4,20;EUR;2024-03-01\r\n;;;\r\n;;;\r\n ; "" ;\t;" "\r\nMUG;;EUR;2024-03-01\r\n;;;\r\n');
    // Lines 3 to 5 and 7 hold no value; MUG's empty cost is a value of a row that has others.
    expect((await all(path)).map(shape)).toEqual([
      { value: { sku: 'TEE-M', unit_cost: '4,20', currency: 'EUR', valid_from: '2024-03-01' }, at: 'separators.csv:2' },
      { value: { sku: 'MUG', unit_cost: '', currency: 'EUR', valid_from: '2024-03-01' }, at: 'separators.csv:6' },
    ]);
    // Above the header of a file of two columns (where no title is looked for), it is not the header.
    const above = file('separators-above.csv', ';\nsku;note\nA;x\n');
    expect(await checkFileFormat(above)).toEqual(['sku', 'note']);
    expect((await all(above)).map(shape)).toEqual([{ value: { sku: 'A', note: 'x' }, at: 'separators-above.csv:3' }]);
  });

  it('issue 17: rejects a line that is not UTF-8 with its file and line, and reads its neighbours', async () => {
    // Line 2 holds "é" as Latin-1 writes it (one byte, 0xE9), which is not UTF-8.
    const path = file(
      'latin1.jsonl',
      Buffer.concat([Buffer.from('{"id":1,"name":"Zoé"}\n{"id":2,"name":"Ren'), Buffer.from([0xe9]), Buffer.from('"}\r\n\n{"id":3}')]),
    );
    const records = (await all(path)).map(shape);
    expect(records[0]).toEqual({ text: '{"id":1,"name":"Zoé"}', at: 'latin1.jsonl:1' });
    expect(records[1]).toMatchObject({ at: 'latin1.jsonl:2' });
    // "{"id":2,"name":"Ren" is 19 bytes: the bad byte is the 20th.
    expect(records[1]!.rejected).toBe(
      'not valid UTF-8 text (byte 0xe9 at byte 20 of the line): was the file saved in another encoding, such as Latin-1 or Windows-1252? Save it as UTF-8',
    );
    // A CRLF line ending is not part of the record; the blank line 3 is skipped.
    expect(records[2]).toEqual({ text: '{"id":3}', at: 'latin1.jsonl:4' });
    expect(records).toHaveLength(3);
  });

  it('reads lines ended by CR alone, as old Mac files end them, like LF and CRLF', async () => {
    const path = file('mac.jsonl', '{"id":1}\r{"id":2}\r\n{"id":3}\n\r{"id":5}\r');
    expect((await all(path)).map(shape)).toEqual([
      { text: '{"id":1}', at: 'mac.jsonl:1' },
      { text: '{"id":2}', at: 'mac.jsonl:2' },
      { text: '{"id":3}', at: 'mac.jsonl:3' },
      // Line 4 is empty (LF, then CR).
      { text: '{"id":5}', at: 'mac.jsonl:5' },
    ]);
  });

  it('issue 17: rejects a CSV row that is not UTF-8 with its line, counting a value that spans lines, and reads the rest', async () => {
    const path = file(
      'latin1.csv',
      Buffer.concat([
        Buffer.from('sku,title\n\nA1,"two\nlines"\nB2,caf'),
        Buffer.from([0xe9]),
        Buffer.from('\nC3,ok\n'),
      ]),
    );
    const records = (await all(path)).map(shape);
    expect(records).toEqual([
      // Line 1 is the header, line 2 is blank, A1's value runs over lines 3 and 4.
      { value: { sku: 'A1', title: 'two\nlines' }, at: 'latin1.csv:3' },
      // "B2,caf" is 6 bytes: the bad byte is the 7th of line 5.
      { rejected: expect.stringMatching(/^not valid UTF-8 text \(byte 0xe9 at byte 7 of the line\)/), at: 'latin1.csv:5' },
      { value: { sku: 'C3', title: 'ok' }, at: 'latin1.csv:6' },
    ]);
  });

  it('bounded memory: the reason of a line that is not UTF-8 is let go once its row is read, and each row still gets its own line\'s reason', async () => {
    // Lines 2, 3, 6 and 7 each hold "é" as Latin-1 writes it (0xE9); line 4 is blank, line 5 a good row.
    const latin = (text: string) => Buffer.concat([Buffer.from(text), Buffer.from([0xe9]), Buffer.from('\n')]);
    const path = file(
      'latin1-many.csv',
      Buffer.concat([Buffer.from('sku,city\n'), latin('A,Mont'), latin('B,Gen'), Buffer.from('\nC,ok\n'), latin('D,Orl'), latin('E,Nimes ')]),
    );
    const lines = new Utf8Lines();
    const seen: { at: unknown; kept: number[]; reason?: string }[] = [];
    for await (const [record] of readRecordsFile(path, { batchSize: 1, utf8Lines: lines })) {
      const r = shape(record);
      seen.push({ at: r.at, kept: [...lines.bad.keys()], ...(r.rejected ? { reason: String(r.rejected).slice(0, 46) } : {}) });
    }
    // The file is one read: lines 2, 3, 6 and 7 are marked at once. After each row, those up to
    // its line are gone: after line 2, {3, 6, 7}; after 3, {6, 7}; after 5, {6, 7}; after 6, {7}; after 7, none.
    // 0xE9 follows "A,Mont" (6 bytes): byte 7 of line 2; "B,Gen" and "D,Orl" (5): byte 6; "E,Nimes " (8): byte 9.
    expect(seen).toEqual([
      { at: 'latin1-many.csv:2', kept: [3, 6, 7], reason: 'not valid UTF-8 text (byte 0xe9 at byte 7 of t' },
      { at: 'latin1-many.csv:3', kept: [6, 7], reason: 'not valid UTF-8 text (byte 0xe9 at byte 6 of t' },
      { at: 'latin1-many.csv:5', kept: [6, 7] },
      { at: 'latin1-many.csv:6', kept: [7], reason: 'not valid UTF-8 text (byte 0xe9 at byte 6 of t' },
      { at: 'latin1-many.csv:7', kept: [], reason: 'not valid UTF-8 text (byte 0xe9 at byte 9 of t' },
    ]);
  });

  it('bounded memory: a batch is cut at its text limit as well as at its count of records', async () => {
    // Lines of {"id":N,"x":"…"}: 15 characters around the padding (with a one-digit id).
    const line = (id: number, pad: number) => `{"id":${id},"x":"${'a'.repeat(pad)}"}`;
    // Texts of 40, 30, 50, 20, 10 and 45 characters: paddings of 25, 15, 35, 5 and 30, and {"id":555}.
    const texts = [line(1, 25), line(2, 15), line(3, 35), line(4, 5), '{"id":555}', line(6, 30)];
    expect(texts.map((t) => t.length)).toEqual([40, 30, 50, 20, 10, 45]);
    const path = file('sized.jsonl', texts.map((t) => `${t}\n`).join(''));
    const batches: number[][] = [];
    for await (const batch of readRecordsFile(path, { batchText: 64 })) batches.push(batch.map((r) => (r as RawText).text.length));
    // A batch is cut once its text reaches 64: 40 + 30 = 70; 50 + 20 = 70; 10 + 45 = 55, the end.
    expect(batches).toEqual([[40, 30], [50, 20], [10, 45]]);
    // The count still cuts first where it comes first: 3 records, 40 + 30 + 50 = 120 under 1,000.
    const counted: number[] = [];
    for await (const batch of readRecordsFile(path, { batchText: 1000, batchSize: 3 })) counted.push(batch.length);
    expect(counted).toEqual([3, 3]);
    // A CSV row counts its values: "ab" and "cdef" are 6, so rows of 6 make batches of 2 at a limit of 12.
    const csv = file('sized.csv', 'k,v\nab,cdef\nab,cdef\nab,cdef\n');
    const rows: number[] = [];
    for await (const batch of readRecordsFile(csv, { batchText: 12 })) rows.push(batch.length);
    expect(rows).toEqual([2, 1]);
  });

  it('issue 17: a character split between two reads of the file is not taken for bad UTF-8', async () => {
    // The file is read 1 MiB at a time: put a two-byte "é" across that boundary.
    const head = 'sku,title\n';
    const filler = 'x'.repeat(1024 * 1024 - head.length - 'A1,'.length - 1);
    const path = file('boundary.csv', `${head}A1,${filler}é\nB2,ok\n`);
    const records = (await all(path)).map(shape);
    expect(records.map((r) => r.at)).toEqual(['boundary.csv:2', 'boundary.csv:3']);
    expect(records.every((r) => 'value' in r)).toBe(true);
    expect((records[0]!.value as { title: string }).title.endsWith('xé')).toBe(true);
  });

  it('issue 17: rejects a line past the size limit, keeping only its start, and reads the next one', async () => {
    const limit = 16 * 1024 * 1024;
    const big = `{"id":1,"pad":"${'a'.repeat(limit)}"}`;
    const path = file('big.jsonl', `${big}\n{"id":2}\n`);
    const records = await all(path);
    expect(records).toHaveLength(2);
    const rejected = records[0] as RejectedRecord;
    expect(rejected).toBeInstanceOf(RejectedRecord);
    expect(rejected.location).toBe('big.jsonl:1');
    // {"id":1,"pad":"…"}: 16 MiB (16,777,216 bytes) of padding and 17 other bytes.
    expect(rejected.reason).toBe('too large: over the limit of 16 MiB per record (16,777,233 bytes read; its first 64 KiB are kept here)');
    expect(rejected.text).toBe(big.slice(0, 64 * 1024));
    expect(shape(records[1])).toEqual({ text: '{"id":2}', at: 'big.jsonl:2' });
  });

  it('issue 17: locates each element of a JSON array by line and number; an empty file or [] has no records', async () => {
    const path = file('orders.json', '[\n  {"id": 1, "note": "a, [b] and \\"c\\""},\n  {"id": 2,\n   "tags": [1, 2]}, {"id": 3}\n]\n');
    expect((await all(path)).map(shape)).toEqual([
      { text: '{"id": 1, "note": "a, [b] and \\"c\\""}', at: 'orders.json:2 (record 1)' },
      { text: '{"id": 2,\n   "tags": [1, 2]}', at: 'orders.json:3 (record 2)' },
      { text: '{"id": 3}', at: 'orders.json:4 (record 3)' },
    ]);
    expect(await all(file('empty.json', ''))).toEqual([]);
    expect(await all(file('blank.json', ' \n'))).toEqual([]);
    expect(await all(file('none.json', '[ ]'))).toEqual([]);
  });

  it('fails a JSON array that is not closed or has something after it, naming the file', async () => {
    const cut = file('cut.json', '[{"id": 1}, {"id": 2');
    await expect(all(cut)).rejects.toThrow(`${cut}: the JSON array is not closed (is the file cut short?)`);
    const two = file('two.json', '[{"id": 1}]\n[{"id": 2}]');
    await expect(all(two)).rejects.toThrow(`${two}:2: content after the end of the JSON array ("[{\\"id\\": 2}]")`);
  });

  it('issue 17: refuses a file that is not what its extension says, naming it, before reading a record', async () => {
    const cases: [string, string | Buffer, string][] = [
      ['answer.json', '{ "orders": [{"id":1}, {"id":2}] }', 'is not a JSON array of records: a .json file must start with "[", this one starts with "{ \\"orders\\": [{\\"id\\":1}, {\\"id\\":2}] }": one object holding the records under "orders", as an API\'s answer is saved? Take the array out (jq \'.orders\' answer.json) and import that'],
      ['lines.json', '{"id":1}\n{"id":2}\n', 'is not a JSON array of records: a .json file must start with "[", this one starts with "{\\"id\\":1}": a JSON object, or JSON lines (one record per line)? name a JSON lines file .jsonl'],
      ['array.jsonl', '[{"id":1}]', 'is not JSON lines: each line of a .jsonl file holds one JSON object, this one starts with "[{\\"id\\":1}]": a JSON array? name it .json'],
      ['table.jsonl', 'id,name\n1,a\n', 'is not JSON lines: each line of a .jsonl file holds one JSON object, this one starts with "id,name"'],
      ['json.csv', '  [{"id":1}]', 'holds JSON, not CSV: it starts with "[{\\"id\\":1}]" (name JSON lines .jsonl and a JSON array .json)'],
      ['book.csv', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]), 'is a ZIP archive (an Excel .xlsx workbook is one: name it .xlsx, or save the sheet as CSV), not a .csv file'],
      ['wide.csv', Buffer.from('\ufeffid,name\n', 'utf16le'), 'is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8'],
      ['blob.jsonl', Buffer.from([0x7b, 0x00, 0x01, 0x02]), 'is not a .jsonl file: it holds NUL bytes, so it is binary, or text in UTF-16 or UTF-32 (save it as UTF-8)'],
      ['orders.txt', '{"id":1}', 'unknown file type .txt (expected .jsonl, .json, .csv or .xlsx: a tab-separated export saved as .csv is read, its delimiter found from its header)'],
      ['orders.xml', '<orders/>', 'unknown file type .xml (expected .jsonl, .json, .csv or .xlsx)'],
      // A workbook of a kind verite does not read: what to do with it.
      ['costs.ods', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]), 'a spreadsheet workbook (.ods), which verite does not read: save it as .xlsx, or the sheet as CSV (in Excel, File > Save As > "CSV UTF-8 (Comma delimited)"), and give that file'],
      // A file named .xlsx that is not one, and a ZIP that is no workbook.
      ['costs.xlsx', 'Article,Cost\n', 'is not an .xlsx workbook (an .xlsx file is a ZIP archive): was another file renamed .xlsx? Save the sheet from the spreadsheet as .xlsx or as CSV'],
    ];
    for (const [name, content, reason] of cases) {
      const path = file(name, content);
      const checked = checkFileFormat(path);
      await expect(checked, name).rejects.toBeInstanceOf(FileFormatError);
      await expect(checked, name).rejects.toThrow(`${path}: ${reason}`);
      // Reading it says the same.
      await expect(all(path), name).rejects.toThrow(`${path}: ${reason}`);
    }
  });
});

describe('an .xlsx workbook', () => {
  it('reads its first sheet as records keyed by its header, typed: numbers, text, dates as ISO; each located by its row', async () => {
    const path = join(dir, 'costs.xlsx');
    await writeXlsxFile([
      [null, null, null, null],
      [{ value: 'Article' }, { value: 'Cost price' }, { value: 'Cur' }, { value: 'Valid from' }],
      [{ value: 'TEE-M' }, { type: Number, value: 4.2 }, { value: 'EUR' }, { type: Date, value: new Date(Date.UTC(2024, 2, 1)), format: 'dd/mm/yyyy' }],
      [null, null, null, null],
      [{ type: Number, value: 4006381333931 }, { value: '1.234,50' }, { value: 'EUR' }, { type: Date, value: new Date(Date.UTC(2024, 2, 15, 14, 30)), format: 'dd/mm/yyyy hh:mm' }],
    ]).toFile(path);
    expect(await checkFileFormat(path)).toEqual(['Article', 'Cost price', 'Cur', 'Valid from']);
    expect(await fileColumns(path)).toEqual(['Article', 'Cost price', 'Cur', 'Valid from']);
    const records = (await all(path)) as RawText[];
    // Row 1 is empty, row 2 the header, row 4 empty: rows 3 and 5 are records.
    expect(records.map((r) => [r.location, JSON.parse(r.text)])).toEqual([
      ['costs.xlsx:3', { Article: 'TEE-M', 'Cost price': 4.2, Cur: 'EUR', 'Valid from': '2024-03-01' }],
      ['costs.xlsx:5', { Article: 4006381333931, 'Cost price': '1.234,50', Cur: 'EUR', 'Valid from': '2024-03-15T14:30:00' }],
    ]);
  });

  it('keeps a cell under a column without a name, or past the header\'s last name, as `column N`, as a CSV row keeps one', async () => {
    const path = join(dir, 'notes.xlsx');
    // A buyer's note under the blank column after the table, another a column further on.
    await writeXlsxFile([
      [{ value: 'sku' }, { value: 'unit_cost' }, { value: 'currency' }, { value: 'valid_from' }, null],
      [{ value: 'TEE-M' }, { type: Number, value: 4.2 }, { value: 'EUR' }, { value: '2024-03-01' }, { value: 'supplier: Atelier' }],
      [{ value: 'MUG' }, { type: Number, value: 3.1 }, { value: 'EUR' }, { value: '2024-03-01' }, null, { value: 'discontinued' }],
      [{ value: 'CUP' }, null, { value: 'EUR' }, { value: '2024-03-01' }],
    ]).toFile(path);
    expect(await fileColumns(path)).toEqual(['sku', 'unit_cost', 'currency', 'valid_from']);
    // A named column is there empty (CUP's cost); a column without a name only where it holds something.
    expect(((await all(path)) as RawText[]).map((r) => [r.location, JSON.parse(r.text)])).toEqual([
      ['notes.xlsx:2', { sku: 'TEE-M', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01', 'column 5': 'supplier: Atelier' }],
      ['notes.xlsx:3', { sku: 'MUG', unit_cost: 3.1, currency: 'EUR', valid_from: '2024-03-01', 'column 6': 'discontinued' }],
      ['notes.xlsx:4', { sku: 'CUP', unit_cost: null, currency: 'EUR', valid_from: '2024-03-01' }],
    ]);
    const between = join(dir, 'between.xlsx');
    await writeXlsxFile([
      [{ value: 'sku' }, null, { value: 'cost' }],
      [{ value: 'A' }, { value: 'x' }, { type: Number, value: 1 }],
    ]).toFile(between);
    expect(((await all(between)) as RawText[]).map((r) => JSON.parse(r.text))).toEqual([{ sku: 'A', 'column 2': 'x', cost: 1 }]);
  });

  it('refuses a workbook over 4 MiB, which would be read whole, before reading it', async () => {
    const path = file('huge.xlsx', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(4 * 1024 * 1024)]));
    await expect(checkFileFormat(path)).rejects.toThrow(`${path}: is a workbook of 4 MiB, which is read whole: save the sheet as CSV, which is read as it streams`);
  });

  it('refuses a workbook whose parts unpack to more than 64 MiB before unpacking it (a ZIP bomb of a few hundred KiB)', async () => {
    // A ZIP written by hand (PKWARE APPNOTE 4.3: local headers, central directory, end record), each part deflated.
    const table = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      return c >>> 0;
    });
    const crc32 = (data: Buffer): number => {
      let c = 0xffffffff;
      for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    };
    // `lie`: the sizes the central directory declares are 1,000 bytes at most; `unlisted`: parts the directory leaves out.
    const zipOf = (parts: [string, Buffer][], options: { lie?: boolean; unlisted?: string[] } = {}): Buffer => {
      const locals: Buffer[] = [];
      const central: Buffer[] = [];
      let offset = 0;
      for (const [name, data] of parts) {
        const packed = deflateRawSync(data, { level: 9 });
        const crc = crc32(data);
        const nameBytes = Buffer.from(name);
        const local = Buffer.alloc(30);
        local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
        local.writeUInt32LE(crc, 14); local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBytes.length, 26);
        const entry = Buffer.alloc(46);
        entry.writeUInt32LE(0x02014b50, 0); entry.writeUInt16LE(20, 4); entry.writeUInt16LE(20, 6); entry.writeUInt16LE(8, 10);
        entry.writeUInt32LE(crc, 16); entry.writeUInt32LE(packed.length, 20); entry.writeUInt32LE(options.lie ? Math.min(data.length, 1000) : data.length, 24); entry.writeUInt16LE(nameBytes.length, 28); entry.writeUInt32LE(offset, 42);
        locals.push(local, nameBytes, packed);
        if (!options.unlisted?.includes(name)) central.push(entry, nameBytes);
        offset += 30 + nameBytes.length + packed.length;
      }
      const dir = Buffer.concat(central);
      const end = Buffer.alloc(22);
      const listed = parts.length - (options.unlisted?.length ?? 0);
      end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(listed, 8); end.writeUInt16LE(listed, 10); end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
      return Buffer.concat([...locals, dir, end]);
    };
    const ns = 'http://schemas.openxmlformats.org';
    const workbookOf = (sheet: Buffer, options: { lie?: boolean; extra?: [string, Buffer] } = {}) => zipOf([
      ...(options.extra ? [options.extra] : []),
      ['[Content_Types].xml', Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Types xmlns="${ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`)],
      ['_rels/.rels', Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships"><Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`)],
      ['xl/workbook.xml', Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${ns}/spreadsheetml/2006/main" xmlns:r="${ns}/officeDocument/2006/relationships"><sheets><sheet name="Costs" sheetId="1" r:id="rId1"/></sheets></workbook>`)],
      ['xl/_rels/workbook.xml.rels', Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="${ns}/package/2006/relationships"><Relationship Id="rId1" Type="${ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`)],
      ['xl/worksheets/sheet1.xml', sheet],
    ], { lie: options.lie, unlisted: options.extra ? [options.extra[0]] : [] });
    const rowsXml = '<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c><c r="B1" t="inlineStr"><is><t>unit_cost</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>TEE-M</t></is></c><c r="B2"><v>4.2</v></c></row>';
    const sheetOf = (padding: number) => Buffer.concat([
      Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${ns}/spreadsheetml/2006/main"><sheetData>${rowsXml}`),
      Buffer.alloc(padding, 0x20),
      Buffer.from('</sheetData></worksheet>'),
    ]);
    // The ZIP written by hand is a workbook the reader reads, with a little blank space in its sheet.
    const small = file('small.xlsx', workbookOf(sheetOf(1000)));
    expect(((await all(small)) as RawText[]).map((r) => JSON.parse(r.text))).toEqual([{ sku: 'TEE-M', unit_cost: 4.2 }]);
    // Each part counted once, whether a streaming reader or a reader of the directory meets it: a
    // workbook that unpacks to exactly the limit is within it.
    const smallZip = workbookOf(sheetOf(1000));
    const unpacked = zipUnpackedSize(smallZip, 1_000_000) as number;
    expect(unpacked).toBeGreaterThan(sheetOf(1000).length);
    expect(zipUnpackedSize(smallZip, unpacked)).toBe(unpacked);
    expect(zipUnpackedSize(smallZip, unpacked - 1)).toBeGreaterThan(unpacked - 1);
    // The same with 80 MiB of blanks: under 1 MiB on disk, refused once 64 MiB are unpacked, before the reader unpacks it whole.
    const refused = (path: string) => `${path}: unpacks to more than 64 MiB (a workbook is read whole, and at most that is read): save the sheet as CSV, which is read as it streams`;
    const bomb = file('bomb.xlsx', workbookOf(sheetOf(80 * 1024 * 1024)));
    expect(statSync(bomb).size).toBeLessThan(1024 * 1024);
    await expect(checkFileFormat(bomb)).rejects.toThrow(refused(bomb));
    // Its central directory declaring 1,000 bytes a part: what it unpacks to counts, not what it says.
    const lying = file('lying.xlsx', workbookOf(sheetOf(80 * 1024 * 1024), { lie: true }));
    await expect(checkFileFormat(lying)).rejects.toThrow(refused(lying));
    // A bomb among the local entries that the directory does not list, which a streaming reader still unpacks.
    const hidden = file('hidden.xlsx', workbookOf(sheetOf(1000), { extra: ['xl/media/blank.xml', Buffer.alloc(80 * 1024 * 1024, 0x20)] }));
    await expect(checkFileFormat(hidden)).rejects.toThrow(refused(hidden));
    // A part that does not unpack: refused as damaged, not handed to the reader.
    const damaged = Buffer.from(workbookOf(sheetOf(1000)));
    const sheetAt = damaged.indexOf('xl/worksheets/sheet1.xml') + 'xl/worksheets/sheet1.xml'.length;
    damaged.fill(0xff, sheetAt, sheetAt + 8);
    const broken = file('damaged.xlsx', damaged);
    await expect(checkFileFormat(broken)).rejects.toThrow(`${broken}: cannot be read as an .xlsx workbook: a part of its ZIP archive does not unpack (a damaged file?)`);
  });

  it('refuses a header naming a column twice, as a CSV header', async () => {
    const path = join(dir, 'twice.xlsx');
    await writeXlsxFile([[{ value: 'sku' }, { value: 'cost' }, { value: 'sku' }], [{ value: 'A' }, { type: Number, value: 1 }, { value: 'B' }]]).toFile(path);
    await expect(checkFileFormat(path)).rejects.toThrow(`${path}: columns 1 and 3 of the header are both named "sku"`);
  });
});

describe('a workbook of several sheets', () => {
  /** A shop's cost workbook: an empty cover sheet, a summary, the costs, and notes. */
  const workbook = async (name: string) => {
    const path = join(dir, name);
    await writeXlsxFile([
      { sheet: 'Cover', data: [[null]] },
      { sheet: 'Summary', data: [[{ value: 'Supplier' }, { value: 'Total' }], [{ value: 'Acme' }, { type: Number, value: 1200 }]] },
      { sheet: 'Costs', data: [[{ value: 'sku' }, { value: 'unit_cost' }], [{ value: 'TEE-M' }, { type: Number, value: 4.2 }], [{ value: 'MUG' }, { type: Number, value: 3 }]] },
      { sheet: 'Notes', data: [[{ value: 'note' }], [{ value: 'prices net of VAT' }]] },
    ]).toFile(path);
    return path;
  };
  const read = async (path: string, sheet?: string | number) => ((await all(path, { sheet })) as RawText[]).map((r) => [r.location, JSON.parse(r.text)]);

  it('reads the first sheet that holds a row unless told which, and locates each row with its sheet', async () => {
    const path = await workbook('book.xlsx');
    // "Cover" holds no row: "Summary" is read.
    expect(await read(path)).toEqual([['book.xlsx:2 (sheet "Summary")', { Supplier: 'Acme', Total: 1200 }]]);
    expect(await fileColumns(path)).toEqual(['Supplier', 'Total']);
    const costs = [
      ['book.xlsx:2 (sheet "Costs")', { sku: 'TEE-M', unit_cost: 4.2 }],
      ['book.xlsx:3 (sheet "Costs")', { sku: 'MUG', unit_cost: 3 }],
    ];
    // By name, by name in other capitals and blanks, by number from 1.
    expect(await read(path, 'Costs')).toEqual(costs);
    expect(await read(path, ' costs ')).toEqual(costs);
    expect(await read(path, 3)).toEqual(costs);
    expect(await read(path, '3')).toEqual(costs);
    expect(await fileColumns(path, 'Costs')).toEqual(['sku', 'unit_cost']);
    expect(await checkFileFormat(path, 'xlsx', 4)).toEqual(['note']);
  });

  it('reads a sheet named by digits by its name, and digits no sheet is named as its number', async () => {
    const path = join(dir, 'years.xlsx');
    await writeXlsxFile([
      { sheet: '2023', data: [[{ value: 'sku' }], [{ value: 'OLD' }]] },
      { sheet: '2024', data: [[{ value: 'sku' }], [{ value: 'NEW' }]] },
    ]).toFile(path);
    expect(await read(path, '2024')).toEqual([['years.xlsx:2 (sheet "2024")', { sku: 'NEW' }]]);
    expect(await read(path, '1')).toEqual([['years.xlsx:2 (sheet "2023")', { sku: 'OLD' }]]);
  });

  it('refuses a sheet it does not have, listing those it has', async () => {
    const path = await workbook('named.xlsx');
    await expect(checkFileFormat(path, 'xlsx', 'Cost')).rejects.toThrow(
      `${path}: has no sheet "Cost" (did you mean Costs?): its sheets are "Cover", "Summary", "Costs", "Notes"`,
    );
    await expect(all(path, { sheet: 5 })).rejects.toThrow(`${path}: has no sheet 5: it has 4 ("Cover", "Summary", "Costs", "Notes")`);
  });

  it('finds the other sheets that have the columns a mapping wants', async () => {
    const path = await workbook('hint.xlsx');
    const wantsCost = (row: Record<string, unknown>) => ['sku', 'unit_cost'].filter((c) => !(c in row));
    expect(await workbookFit(path, undefined, wantsCost)).toEqual({ sheet: 'Summary', lacking: ['sku', 'unit_cost'], others: ['Costs'] });
    // The sheet read is not named again; a CSV is no workbook.
    expect(await workbookFit(path, 'Costs', wantsCost)).toEqual({ sheet: 'Costs', lacking: [], others: [] });
    expect(await workbookFit(file('plain.csv', 'sku\nA\n'), undefined, wantsCost)).toBeUndefined();
    // No sheet has a "barcode" column.
    expect(await workbookFit(path, undefined, (row) => ('barcode' in row ? [] : ['barcode']))).toEqual({ sheet: 'Summary', lacking: ['barcode'], others: [] });
  });
});
