import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { configSchema, fxConfig } from '../../config/schema.ts';
import { fxSource } from '../../extractors/fx/index.ts';
import { mapRateRow } from '../../extractors/fx/rate-row.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * A rates file of the shop's own (docs/sources/fx.md): each row is read into the rate's shape,
 * and a row that cannot be a rate is quarantined with why. Staging reads only positive rates
 * with a date, so such a row used to land and then be dropped without a word.
 */
let wh: Warehouse;
let dir: string;
beforeAll(async () => {
  wh = await createTestDatabase('fx_file');
  dir = mkdtempSync(join(tmpdir(), 'verite-fx-file-'));
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a rates file', () => {
  it('lands rows under their names in any capitals, decimal commas read, and quarantines the rows that are no rate, saying why', async () => {
    // A spreadsheet's export: capitalised names, semicolons, decimal commas.
    writeFileSync(join(dir, 'a-rates.csv'), ['Date;Base;Quote;Rate;Source', '2024-03-01;EUR;USD;1,0845;bank', '2024-03-01;eur;gbp;0,8571;bank', '2024-03-04;EUR;USD;n/a;bank', '2024-03-04;EUR;GBP;0;bank'].join('\n') + '\n');
    writeFileSync(
      join(dir, 'b-rates.jsonl'),
      [JSON.stringify({ Date: '2024-03-05T00:00:00Z', BASE: 'EUR', quote: 'usd', rate: 1.09 }), JSON.stringify({ date: '2024-02-30', base: 'EUR', quote: 'USD', rate: 1.08 }), JSON.stringify({ day: '2024-03-06', rate: 1.1 })].join('\n') + '\n',
    );
    const config = configSchema.parse({ sources: { fx: { path: dir } }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const result = await runPipeline({ warehouse: wh, config, log: logger(), steps: [], sources: [{ source: fxSource, config: fxConfig.parse(config.sources.fx) }] });
    expect(result.status, result.error).toBe('succeeded');
    const landed = (await wh.pool.query(`select _key, _record from raw.fx__rates order by _key`)).rows;
    expect(landed).toEqual([
      { _key: 'EUR|GBP|2024-03-01', _record: { date: '2024-03-01', base: 'EUR', quote: 'GBP', rate: 0.8571, extra: { Source: 'bank' } } },
      { _key: 'EUR|USD|2024-03-01', _record: { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.0845, extra: { Source: 'bank' } } },
      { _key: 'EUR|USD|2024-03-05', _record: { date: '2024-03-05', base: 'EUR', quote: 'USD', rate: 1.09 } },
    ]);
    const quarantined = (await wh.pool.query(`select location, reason from ops.quarantine where source = 'fx' order by location`)).rows;
    expect(quarantined).toEqual([
      { location: 'a-rates.csv:4', reason: 'unparseable rate "n/a": expected a number such as 1.0845' },
      { location: 'a-rates.csv:5', reason: 'rate "0" is not positive: 1 EUR is worth rate GBP' },
      { location: 'b-rates.jsonl:2', reason: 'unparseable date "2024-02-30": expected a date such as 2024-03-01' },
      { location: 'b-rates.jsonl:3', reason: 'no column date, base, quote: a rate needs its date, base, quote and rate (the row has "day", "rate")' },
    ]);
  });

  it('leaves a rates workbook read on a sheet without rates unread, naming the sheet that has them, and reads that sheet once told', async () => {
    const book = join(dir, 'book');
    mkdirSync(book);
    await writeXlsxFile([
      { sheet: 'Notes', data: [[{ value: 'source' }, { value: 'comment' }], [{ value: 'bank' }, { value: 'daily' }]] },
      { sheet: 'Rates', data: [[{ value: 'date' }, { value: 'base' }, { value: 'quote' }, { value: 'rate' }], [{ value: '2024-04-02' }, { value: 'EUR' }, { value: 'CHF' }, { type: Number, value: 0.9782 }]] },
    ]).toFile(join(book, 'rates.xlsx'));
    const run = async (fx: Record<string, unknown>) => {
      const config = configSchema.parse({ sources: { fx: { path: book, ...fx } }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
      return runPipeline({ warehouse: wh, config, log: logger(), steps: [], sources: [{ source: fxSource, config: fxConfig.parse(config.sources.fx) }] });
    };
    const unread = await run({});
    expect(unread.status).toBe('succeeded with warnings');
    expect(unread.warnings).toEqual([
      'fx: rates.xlsx was not read: its sheet "Notes" has no column "date", "base", "quote", "rate", which its rows need to be read, and its sheet "Rates" has them: set "sheet": "Rates" in sources.fx',
    ]);
    expect((await wh.pool.query(`select count(*)::int as n from ops.quarantine where location like 'rates.xlsx%'`)).rows).toEqual([{ n: 0 }]);
    expect((await run({ sheet: 'Rates' })).status).toBe('succeeded');
    expect((await wh.pool.query(`select _record from raw.fx__rates where _key = 'EUR|CHF|2024-04-02'`)).rows).toEqual([{ _record: { date: '2024-04-02', base: 'EUR', quote: 'CHF', rate: 0.9782 } }]);
  });

  it('takes a timestamp for the date it writes, as a cost\'s valid_from, and passes over rows of only separators and the files a drop leaves out', async () => {
    const folder = join(dir, 'open');
    mkdirSync(folder);
    // Midnight in Paris is the day before in UTC, 23:30 in New York the day after.
    writeFileSync(join(folder, 'rates.csv'), 'date,base,quote,rate\r\n2024-06-01T00:00:00+01:00,EUR,USD,1.0812\r\n,,,\r\n2024-06-01T23:30:00-05:00,GBP,USD,1.2695\r\n,,,\r\n');
    // The owner file of rates.xlsx open in Excel, and a copy still being uploaded.
    writeFileSync(join(folder, '~$rates.xlsx'), 'owner');
    writeFileSync(join(folder, '.rates-2.csv'), 'date,base,quote,rate\n2024-06-01,EUR,CHF,0.95\n');
    const config = configSchema.parse({ sources: { fx: { path: folder } }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const result = await runPipeline({ warehouse: wh, config, log: logger(), steps: [], sources: [{ source: fxSource, config: fxConfig.parse(config.sources.fx) }] });
    expect(result.status, result.error).toBe('succeeded');
    expect((await wh.pool.query(`select _key, _record from raw.fx__rates where _key like '%|2024-05-%' or _key like '%|2024-06-%' order by _key`)).rows).toEqual([
      { _key: 'EUR|USD|2024-06-01', _record: { date: '2024-06-01', base: 'EUR', quote: 'USD', rate: 1.0812 } },
      { _key: 'GBP|USD|2024-06-01', _record: { date: '2024-06-01', base: 'GBP', quote: 'USD', rate: 1.2695 } },
    ]);
    expect((await wh.pool.query(`select location from ops.quarantine where location like 'rates.csv%' or location like '~$%'`)).rows).toEqual([]);
  });

  it('reads the same row the same way from a CSV and from JSON', () => {
    expect(mapRateRow({ ' Date ': '2024-03-01', base: 'eur', QUOTE: ' jpy ', Rate: '162,35' })).toEqual({ date: '2024-03-01', base: 'EUR', quote: 'JPY', rate: 162.35 });
    expect(mapRateRow({ date: '2024-03-01', base: 'EUR', quote: 'JPY', rate: 162.35 })).toEqual({ date: '2024-03-01', base: 'EUR', quote: 'JPY', rate: 162.35 });
    expect(() => mapRateRow({ date: '2024-03-01', base: 'EURO', quote: 'JPY', rate: 1 })).toThrow('unparseable base "EURO": expected an ISO 4217 code such as EUR');
    // 1,450 won to the euro, or 1.45? Refused rather than guessed; groupings that say which are read.
    expect(() => mapRateRow({ date: '2024-03-01', base: 'EUR', quote: 'KRW', rate: '1,450' })).toThrow(
      'ambiguous rate "1,450": a thousands separator or a decimal comma? Write it without one (1450) or with a point (1.45)',
    );
    expect(mapRateRow({ date: '2024-03-01', base: 'EUR', quote: 'KRW', rate: '1.450,25' })).toMatchObject({ rate: 1450.25 });
    expect(mapRateRow({ date: '2024-03-01', base: 'EUR', quote: 'KRW', rate: '1,450.25' })).toMatchObject({ rate: 1450.25 });
  });
});
