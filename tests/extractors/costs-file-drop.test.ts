import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { configSchema, type CostsConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import { costSheetLacks, mapCostRow } from '../../extractors/costs/cost-mapping.ts';
import { unitCostsStream } from '../../extractors/costs/source.ts';
import type { Page, ReadContext } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import { landPages } from '../../loaders/raw-loader.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * The `costs` file source (issue 13): unit costs from CSV/JSONL files of a spreadsheet or an
 * ERP, landed like the shipments file drop (each file once, by name, size and checksum) and
 * through `verite import costs unit_costs FILE`.
 */
let wh: Warehouse;
let root: string;
beforeAll(async () => {
  wh = await createTestDatabase('costs_drop');
  root = mkdtempSync(join(tmpdir(), 'verite-costs-'));
});
afterAll(async () => {
  await wh?.close();
  rmSync(root, { recursive: true, force: true });
});

/** An ERP export with its own column names, decimal commas and day-first dates. */
const ERP_COLUMNS = { Article: 'sku', 'Cost price': 'unit_cost', Cur: 'currency', 'Valid from': 'valid_from' } as const;

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, any>[]> {
  return (await wh.pool.query(sql, params)).rows;
}
const record = async (key: string) => (await rows('select _record from raw.costs__unit_costs where _key = $1', [key]))[0]?._record;

describe('unit costs through `verite run` and `verite import`', () => {
  it('lands a CSV through the column mapping, quarantines a row without a currency, skips the landed file, and lands a corrected one over it', async () => {
    const drop = join(root, 'erp');
    mkdirSync(drop);
    const file = join(drop, 'costs-2024-03.csv');
    writeFileSync(
      file,
      ['Article,Cost price,Cur,Valid from,Supplier', 'TEE-M,"4,20",eur,01/03/2024,Atelier', 'TEE-L,"4,60",,01/03/2024,Atelier', 'MUG, 3.10 ,EUR,15/03/2024,Kiln'].join('\n') + '\n',
    );
    const configFile = join(root, 'run.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop, columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };

    const first = await runCli(['run', '--sources', 'costs'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^costs\.unit_costs\s+succeeded\s+\d+\s+2\s+0\s+1\s*$/m);
    // The key is sku + valid_from; "4,20" is 4.2, the currency upper case, the date day-first.
    expect(await record('TEE-M|2024-03-01')).toEqual({ sku: 'TEE-M', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01', extra: { Supplier: 'Atelier' } });
    expect(await record('MUG|2024-03-15')).toEqual({ sku: 'MUG', unit_cost: 3.1, currency: 'EUR', valid_from: '2024-03-15', extra: { Supplier: 'Kiln' } });
    expect(await rows(`select reason, location from ops.quarantine where source = 'costs'`)).toEqual([
      { reason: 'no currency (column "Cur"): a unit cost needs its sku, unit_cost, currency and valid_from', location: 'costs-2024-03.csv:3' },
    ]);

    // Landed once: a second run does not read the file again.
    const second = await runCli(['run', '--sources', 'costs'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^costs\.unit_costs\s+succeeded\s+\d+\s+0\s+0\s+0\s*$/m);

    // The ERP sends the file again corrected (TEE-M's cost was wrong, TEE-L has its currency)
    // and a change of cost from April: the correction replaces the row, the change adds one.
    writeFileSync(
      file,
      ['Article,Cost price,Cur,Valid from,Supplier', 'TEE-M,"4,25",EUR,01/03/2024,Atelier', 'TEE-L,"4,60",EUR,01/03/2024,Atelier', 'MUG,3.10,EUR,15/03/2024,Kiln', 'TEE-M,"4,80",EUR,01/04/2024,Atelier'].join('\n') + '\n',
    );
    const third = await runCli(['run', '--sources', 'costs'], { env });
    expect(third.code, third.stderr).toBe(0);
    expect(await record('TEE-M|2024-03-01')).toMatchObject({ unit_cost: 4.25 });
    expect(await record('TEE-M|2024-04-01')).toMatchObject({ unit_cost: 4.8, valid_from: '2024-04-01' });
    expect(await record('TEE-L|2024-03-01')).toMatchObject({ unit_cost: 4.6, currency: 'EUR' });
    expect(await rows('select _key from raw.costs__unit_costs order by _key')).toEqual([
      { _key: 'MUG|2024-03-15' },
      { _key: 'TEE-L|2024-03-01' },
      { _key: 'TEE-M|2024-03-01' },
      { _key: 'TEE-M|2024-04-01' },
    ]);
  });

  it('lands the costs sheet of a German Excel: semicolons between columns, decimal commas, thousands with dots, dates with dots', async () => {
    const drop = join(root, 'excel-de');
    mkdirSync(drop);
    // What "CSV (Trennzeichen-getrennt)" writes: a byte-order mark, semicolons, CRLF.
    // BENCH's 1.234 and CUP's 4,205 read both ways alone; the sheet's other amounts write a decimal comma.
    const sheet = ['Artikel;Einstandspreis;Währung;Gültig ab', 'TEE-M;4,20;EUR;01.03.2024', 'SOFA;1.234,50 €;EUR;15.03.2024', 'LAMP;;EUR;15.03.2024', 'BENCH;1.234;EUR;15.03.2024', 'CUP;4,205;EUR;15.03.2024'].join('\r\n') + '\r\n';
    writeFileSync(join(drop, 'einkauf.csv'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sheet)]));
    const configFile = join(root, 'excel-de.config.json');
    const columns = { Artikel: 'sku', Einstandspreis: 'unit_cost', Währung: 'currency', 'Gültig ab': 'valid_from' };
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop, columns, dateFormat: 'DD.MM.YYYY' } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    const result = await runCli(['run', '--sources', 'costs'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(result.code, result.stderr).toBe(0);
    expect(await record('TEE-M|2024-03-01')).toEqual({ sku: 'TEE-M', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01' });
    expect(await record('SOFA|2024-03-15')).toEqual({ sku: 'SOFA', unit_cost: 1234.5, currency: 'EUR', valid_from: '2024-03-15' });
    expect(await record('BENCH|2024-03-15')).toMatchObject({ unit_cost: 1234 });
    expect(await record('CUP|2024-03-15')).toMatchObject({ unit_cost: 4.205 });
    expect(await rows(`select reason, location from ops.quarantine where location like 'einkauf.csv%'`)).toEqual([
      { reason: 'no unit_cost (column "Einstandspreis"): a unit cost needs its sku, unit_cost, currency and valid_from', location: 'einkauf.csv:4' },
    ]);
  });

  it('reads an .xlsx workbook, in the drop and through verite import: typed numbers and dates, text dates by dateFormat', async () => {
    const sheet = (rows: [string | number, number | string, string, Date | string][]) =>
      writeXlsxFile([
        [{ value: 'Article' }, { value: 'Cost price' }, { value: 'Cur' }, { value: 'Valid from' }],
        ...rows.map((r) => r.map((v) => (v instanceof Date ? { type: Date, value: v, format: 'dd/mm/yyyy' } : typeof v === 'number' ? { type: Number, value: v } : { value: v }))),
      ]);
    const drop = join(root, 'workbooks');
    mkdirSync(drop);
    // A date cell is a date whatever dateFormat says; a date typed as text follows dateFormat; an EAN typed as a number is the SKU's text.
    await sheet([
      ['MUG-XL', 6.35, 'EUR', new Date(Date.UTC(2024, 4, 1))],
      ['LAMP-S', '12,40', 'EUR', '15/05/2024'],
      [4006381333931, 2.1, 'eur', new Date(Date.UTC(2024, 4, 2))],
    ]).toFile(join(drop, 'costs-2024-05.xlsx'));
    const configFile = join(root, 'workbooks.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop, columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    const run = await runCli(['run', '--sources', 'costs'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^costs\.unit_costs\s+succeeded\s+\d+\s+3\s+0\s+0\s*$/m);
    expect(await record('MUG-XL|2024-05-01')).toEqual({ sku: 'MUG-XL', unit_cost: 6.35, currency: 'EUR', valid_from: '2024-05-01' });
    expect(await record('LAMP-S|2024-05-15')).toEqual({ sku: 'LAMP-S', unit_cost: 12.4, currency: 'EUR', valid_from: '2024-05-15' });
    expect(await record('4006381333931|2024-05-02')).toEqual({ sku: '4006381333931', unit_cost: 2.1, currency: 'EUR', valid_from: '2024-05-02' });
    // The same sheet through verite import, a bad row quarantined with its row.
    const file = join(root, 'import.xlsx');
    await sheet([['DESK-L', 180, 'EUR', new Date(Date.UTC(2024, 5, 1))], ['DESK-M', 'free', 'EUR', new Date(Date.UTC(2024, 5, 1))]]).toFile(file);
    const imported = await runCli(['import', 'costs', 'unit_costs', file], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(await record('DESK-L|2024-06-01')).toEqual({ sku: 'DESK-L', unit_cost: 180, currency: 'EUR', valid_from: '2024-06-01' });
    expect(await rows(`select reason from ops.quarantine where location = 'import.xlsx:3'`)).toEqual([
      { reason: 'unparseable unit_cost "free" (column "Cost price"): expected a number such as 4.20' },
    ]);
  });

  it('retries the rows of a workbook and of JSON lines quarantined for want of a column mapping, once the mapping is set', async () => {
    const workbook = join(root, 'unmapped.xlsx');
    await writeXlsxFile([
      [{ value: 'Article' }, { value: 'Cost price' }, { value: 'Cur' }, { value: 'Valid from' }],
      [{ value: 'STOOL' }, { type: Number, value: 22.5 }, { value: 'EUR' }, { type: Date, value: new Date(Date.UTC(2024, 6, 1)), format: 'dd/mm/yyyy' }],
    ]).toFile(workbook);
    const lines = join(root, 'unmapped.jsonl');
    writeFileSync(lines, `${JSON.stringify({ Article: 'BENCH-S', 'Cost price': '31,75', Cur: 'EUR', 'Valid from': '02/07/2024' })}\n`);
    const configFile = join(root, 'unmapped.config.json');
    // No columns mapping yet: the rows name no sku.
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), dateFormat: 'DD/MM/YYYY' } } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    for (const file of [workbook, lines]) expect((await runCli(['import', 'costs', 'unit_costs', file], { env })).code).toBe(1);
    const held = await rows(`select id::text, location from ops.quarantine where location in ('unmapped.xlsx:2', 'unmapped.jsonl:1') order by location desc`);
    expect(held.map((r) => r.location)).toEqual(['unmapped.xlsx:2', 'unmapped.jsonl:1']);
    // The mapping set, the rows go through it again: the workbook's date cell is a date whatever dateFormat says.
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const retried = await runCli(['quarantine', 'retry', ...held.map((r) => `q${r.id}`), '--no-transform'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^q${held[0]!.id}\\s+quarantined\\s+landed as costs\\.unit_costs:STOOL\\|2024-07-01$`, 'm'));
    expect(retried.stdout).toMatch(new RegExp(`^q${held[1]!.id}\\s+quarantined\\s+landed as costs\\.unit_costs:BENCH-S\\|2024-07-02$`, 'm'));
    expect(await record('STOOL|2024-07-01')).toEqual({ sku: 'STOOL', unit_cost: 22.5, currency: 'EUR', valid_from: '2024-07-01' });
    expect(await record('BENCH-S|2024-07-02')).toEqual({ sku: 'BENCH-S', unit_cost: 31.75, currency: 'EUR', valid_from: '2024-07-02' });
  });

  it('leaves a workbook it does not read in the drop alone, saying to save it as .xlsx or CSV', async () => {
    const drop = join(root, 'with-workbook');
    mkdirSync(drop);
    writeFileSync(join(drop, 'costs.ods'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]));
    writeFileSync(join(drop, 'costs.csv'), 'Article,Cost price,Cur,Valid from\nBELT,"5,10",EUR,01/05/2024\n');
    const configFile = join(root, 'workbook.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop, columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const result = await runCli(['run', '--sources', 'costs'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`costs: 1 file(s) of ${drop} are not .csv, .jsonl, .json or .xlsx and are left alone (costs.ods): save a spreadsheet as .xlsx or as CSV UTF-8 to have it read`);
    expect(await record('BELT|2024-05-01')).toMatchObject({ unit_cost: 5.1 });
  });

  it('leaves the owner file Excel keeps beside an open workbook, and the lock and system files of a folder, alone: the run and `verite check` see the costs file only', async () => {
    const drop = join(root, 'open-in-excel');
    mkdirSync(drop);
    writeFileSync(join(drop, 'costs.csv'), 'sku,unit_cost,currency,valid_from\nBAG,12.50,EUR,2024-06-01\n');
    // ~$costs.xlsx is the few bytes Excel (and OneDrive) keep while costs.xlsx is open: no workbook.
    for (const name of ['~$costs.xlsx', '.~lock.costs.xlsx#', '.DS_Store', 'Thumbs.db', 'desktop.ini']) writeFileSync(join(drop, name), 'owner');
    const configFile = join(root, 'open-in-excel.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    const run = await runCli(['run', '--sources', 'costs'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^costs\.unit_costs\s+succeeded\s+\d+\s+1\s+0\s+0\s*$/m);
    expect(run.stderr).not.toContain('left alone');
    expect(await record('BAG|2024-06-01')).toEqual({ sku: 'BAG', unit_cost: 12.5, currency: 'EUR', valid_from: '2024-06-01' });
    const check = await runCli(['check', '--sources', 'costs'], { env });
    expect(check.code, check.stdout).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^costs\\s+ok\\s+cost files ${drop.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 1 file\\s*$`, 'm'));
  });

  it('keeps what a workbook holds under a column without a name, or past its header, as the same CSV keeps it, and passes over a CSV\'s rows of only separators', async () => {
    const drop = join(root, 'stray-cells');
    mkdirSync(drop);
    await writeXlsxFile([
      [{ value: 'sku' }, { value: 'unit_cost' }, { value: 'currency' }, { value: 'valid_from' }, null],
      [{ value: 'TOTE' }, { type: Number, value: 4.2 }, { value: 'EUR' }, { value: '2024-03-01' }, { value: 'supplier: Atelier' }],
      [{ value: 'CANDLE' }, { type: Number, value: 3.1 }, { value: 'EUR' }, { value: '2024-03-01' }, null, { value: 'discontinued' }],
    ]).toFile(join(drop, 'stray.xlsx'));
    // What Excel in German writes for a sheet whose empty rows below the table were formatted.
    writeFileSync(join(drop, 'stray.csv'), 'sku;unit_cost;currency;valid_from\r\nTOTE-L;4,20;EUR;2024-03-01\r\n;;;\r\n;;;\r\n');
    const configFile = join(root, 'stray-cells.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    const run = await runCli(['run', '--sources', 'costs'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^costs\.unit_costs\s+succeeded\s+\d+\s+3\s+0\s+0\s*$/m);
    expect(await record('TOTE|2024-03-01')).toEqual({ sku: 'TOTE', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01', extra: { 'column 5': 'supplier: Atelier' } });
    expect(await record('CANDLE|2024-03-01')).toEqual({ sku: 'CANDLE', unit_cost: 3.1, currency: 'EUR', valid_from: '2024-03-01', extra: { 'column 6': 'discontinued' } });
    expect(await record('TOTE-L|2024-03-01')).toEqual({ sku: 'TOTE-L', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01' });
    expect(await rows(`select location from ops.quarantine where location like 'stray.%'`)).toEqual([]);
  });

  it('reads the sheet of a workbook that `sheet` names; a workbook whose first sheet is not the costs is left unread, naming the sheet that is', async () => {
    // A buyer's workbook: a summary first, the costs on the second sheet (columns named like the fields).
    const book = (path: string, sku: string) =>
      writeXlsxFile([
        { sheet: 'Summary', data: [[{ value: 'Supplier' }, { value: 'Total' }], [{ value: 'Acme' }, { type: Number, value: 1200 }]] },
        {
          sheet: 'Costs',
          data: [
            [{ value: 'sku' }, { value: 'unit_cost' }, { value: 'currency' }, { value: 'valid_from' }],
            [{ value: sku }, { type: Number, value: 9.9 }, { value: 'EUR' }, { type: Date, value: new Date(Date.UTC(2024, 7, 1)), format: 'dd/mm/yyyy' }],
          ],
        },
      ]).toFile(path);
    const drop = join(root, 'sheets');
    mkdirSync(drop);
    await book(join(drop, 'costs-2024-08.xlsx'), 'SCARF');
    const configFile = join(root, 'sheets.config.json');
    const configure = (costs: Record<string, unknown>) => writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: drop, ...costs } }, retries: { streamAttempts: 1, backoffSeconds: 0 } }));
    configure({});
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    const said =
      'costs-2024-08.xlsx was not read: its sheet "Summary" has no column "sku", "unit_cost", "currency", "valid_from", which its rows need to be read, and its sheet "Costs" has them: set "sheet": "Costs" in sources.costs';
    const check = await runCli(['check', '--sources', 'costs'], { env });
    expect(check.stdout.replace(/\s+/g, ' ')).toContain(said.replace('was not read', 'would not be read'));
    const first = await runCli(['run', '--sources', 'costs'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`costs: ${said}`);
    // The extractor's warning is the run's, recorded with it.
    const runId = /^Run ([0-9a-f-]{36}): succeeded with warnings$/m.exec(first.stdout)?.[1];
    expect(await rows(`select status, warnings from ops.runs where id = $1`, [runId])).toEqual([{ status: 'succeeded with warnings', warnings: `costs: ${said}` }]);
    // verite status gives the last run's warnings whole (its table cuts them to a line).
    const status = await runCli(['status'], { env });
    expect(status.stdout).toContain(`\nWarnings of the last run (${runId!.slice(0, 8)}, succeeded with warnings):\n  costs: ${said}\n`);
    // Nothing of the summary landed or was quarantined, and the file is not marked landed.
    expect(await rows(`select count(*)::int as n from ops.quarantine where location like 'costs-2024-08.xlsx%'`)).toEqual([{ n: 0 }]);
    expect(await rows(`select count(*)::int as n from ops.landed_files where name = 'costs-2024-08.xlsx'`)).toEqual([{ n: 0 }]);
    // Told which sheet, the next run reads it.
    configure({ sheet: 'Costs' });
    const second = await runCli(['run', '--sources', 'costs'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('was not read');
    expect(await record('SCARF|2024-08-01')).toEqual({ sku: 'SCARF', unit_cost: 9.9, currency: 'EUR', valid_from: '2024-08-01' });
    // verite import: --sheet by number; the source's sheet when not given; a sheet it lacks, and --sheet for a CSV, refused.
    const other = join(root, 'gloves.xlsx');
    await book(other, 'GLOVES');
    configure({});
    // Without --sheet, the summary is read: refused, naming the sheet to give; nothing lands.
    const unnamed = await runCli(['import', 'costs', 'unit_costs', other], { env });
    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toContain(
      'costs.unit_costs: gloves.xlsx was not read: its sheet "Summary" has no column "sku", "unit_cost", "currency", "valid_from", which its rows need to be read, and its sheet "Costs" has them: give --sheet "Costs"',
    );
    expect(await record('GLOVES|2024-08-01')).toBeUndefined();
    const bySheet = await runCli(['import', 'costs', 'unit_costs', other, '--sheet', '2'], { env });
    expect(bySheet.code, bySheet.stderr).toBe(0);
    expect(await record('GLOVES|2024-08-01')).toMatchObject({ unit_cost: 9.9 });
    const missing = await runCli(['import', 'costs', 'unit_costs', other, '--sheet', 'Cost'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${other}: has no sheet "Cost" (did you mean Costs?): its sheets are "Summary", "Costs"`);
    const csv = join(root, 'plain-costs.csv');
    writeFileSync(csv, 'sku,unit_cost,currency,valid_from\nBELT,5,EUR,2024-08-01\n');
    const notBook = await runCli(['import', 'costs', 'unit_costs', csv, '--sheet', 'Costs'], { env });
    expect(notBook.code).toBe(2);
    expect(notBook.stderr).toContain('--sheet is for .xlsx workbooks; plain-costs.csv is not one');
    await book(other, 'MITTENS');
    configure({ sheet: 'Costs' });
    const configured = await runCli(['import', 'costs', 'unit_costs', other], { env });
    expect(configured.code, configured.stderr).toBe(0);
    expect(await record('MITTENS|2024-08-01')).toMatchObject({ unit_cost: 9.9 });
  });

  it('`verite import` reads an amount that reads both ways as the rest of the file writes amounts, or as the source\'s decimalMark says; alone, 4,205 is refused and 1.234 read with a warning', async () => {
    const configFile = join(root, 'marks.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    // An English sheet: 1,234.50 and 7.50 write a decimal point, so "4,205" is four thousand two hundred and five.
    const english = join(root, 'english.csv');
    writeFileSync(english, 'Article,Cost price,Cur,Valid from\nDESK,"4,205",USD,01/02/2024\nCHAIR,"1,234.50",USD,01/02/2024\nPEN,7.50,USD,01/02/2024\n');
    expect((await runCli(['import', 'costs', 'unit_costs', english], { env })).code).toBe(0);
    expect(await record('DESK|2024-02-01')).toMatchObject({ unit_cost: 4205 });
    expect(await record('PEN|2024-02-01')).toMatchObject({ unit_cost: 7.5 });
    // A file whose amounts say nothing of their mark: "4,205" still reads both ways, and is refused.
    const alone = join(root, 'alone.csv');
    writeFileSync(alone, 'Article,Cost price,Cur,Valid from\nRUG,"4,205",USD,01/02/2024\nMAT,12,USD,01/02/2024\n');
    expect((await runCli(['import', 'costs', 'unit_costs', alone], { env })).code).toBe(0);
    expect(await record('RUG|2024-02-01')).toBeUndefined();
    expect(await rows(`select reason from ops.quarantine where location = 'alone.csv:2'`)).toEqual([
      { reason: 'unparseable unit_cost "4,205" (column "Cost price"): expected a number such as 4.20; 4,205 may be 4205 or 4.205: write it without the comma, or with a point, or set the source\'s "decimalMark"' },
    ]);
    // A file written both ways: each amount alone.
    const both = join(root, 'both.csv');
    writeFileSync(both, 'Article,Cost price,Cur,Valid from\nBOX,"4,205",USD,01/02/2024\nBAG,"7,50",USD,01/02/2024\nTAPE,1.50,USD,01/02/2024\n');
    expect((await runCli(['import', 'costs', 'unit_costs', both], { env })).code).toBe(0);
    expect(await record('BOX|2024-02-01')).toBeUndefined();
    expect(await record('BAG|2024-02-01')).toMatchObject({ unit_cost: 7.5 });
    // A German sheet of whole amounts shows no mark: "1.234" is read as 1.234, and said.
    const whole = join(root, 'whole.csv');
    writeFileSync(whole, 'Article;Cost price;Cur;Valid from\nSOFA;1.234;EUR;01/02/2024\nLAMP;12;EUR;01/02/2024\nBED;2.500;EUR;01/02/2024\n');
    const doubtful = await runCli(['import', 'costs', 'unit_costs', whole], { env });
    expect(doubtful.code, doubtful.stderr).toBe(0);
    expect(doubtful.stderr).toContain(
      'verite: warning: costs: whole.csv shows no decimal mark in its amounts, and 1.234 was read with a decimal point: if it means 1234, set "decimalMark": "," in sources.costs and land the file again (verite import costs unit_costs whole.csv)',
    );
    expect(await record('SOFA|2024-02-01')).toMatchObject({ unit_cost: 1.234 });
    // The source's decimalMark is read instead of the file's: the same file again, and a quarantined row retried.
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY', decimalMark: ',' } } }));
    const again = await runCli(['import', 'costs', 'unit_costs', whole], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('decimal mark');
    expect(await record('SOFA|2024-02-01')).toMatchObject({ unit_cost: 1234 });
    expect(await record('BED|2024-02-01')).toMatchObject({ unit_cost: 2500 });
    const [held] = await rows(`select id::text from ops.quarantine where location = 'alone.csv:2'`);
    const retried = await runCli(['quarantine', 'retry', `q${held!.id}`, '--no-transform'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    // "4,205" with a decimal comma: four point two oh five.
    expect(await record('RUG|2024-02-01')).toMatchObject({ unit_cost: 4.205 });
  });

  it('a cost written with € is in EUR, which a currency of USD contradicts: the row is quarantined naming both; an empty currency is the sign\'s', async () => {
    const configFile = join(root, 'signs.config.json');
    const columns = { Artikel: 'sku', Einstandspreis: 'unit_cost', Währung: 'currency', 'Gültig ab': 'valid_from' };
    writeFileSync(configFile, JSON.stringify({ reportingCurrency: 'USD', sources: { costs: { path: join(root, 'unused'), columns } } }));
    const file = join(root, 'zeichen.csv');
    writeFileSync(file, 'Artikel;Einstandspreis;Währung;Gültig ab\nPLAID;4,20 €;USD;2024-03-01\nDECKE;4,20 €;;2024-03-01\nVASE;EUR 7,50;eur;2024-03-01\nLEUCHTE;3.10 CHF;;2024-03-01\nSTUHL;$4.20;;2024-03-01\n');
    const imported = await runCli(['import', 'costs', 'unit_costs', file], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('5 record(s) read, 3 written, 0 unchanged, 2 quarantined');
    expect(await record('PLAID|2024-03-01')).toBeUndefined();
    expect(await record('DECKE|2024-03-01')).toEqual({ sku: 'DECKE', unit_cost: 4.2, currency: 'EUR', valid_from: '2024-03-01' });
    expect(await record('VASE|2024-03-01')).toEqual({ sku: 'VASE', unit_cost: 7.5, currency: 'EUR', valid_from: '2024-03-01' });
    expect(await record('LEUCHTE|2024-03-01')).toEqual({ sku: 'LEUCHTE', unit_cost: 3.1, currency: 'CHF', valid_from: '2024-03-01' });
    expect(await rows(`select location, reason from ops.quarantine where location like 'zeichen.csv%' order by location`)).toEqual([
      {
        location: 'zeichen.csv:2',
        reason: 'unit_cost "4,20 €" (column "Einstandspreis") is in EUR by its sign €, but currency (column "Währung") is USD: correct the one that is wrong in the file and land it again',
      },
      // $ stands for several currencies: it gives none, and a unit cost needs one.
      { location: 'zeichen.csv:6', reason: 'no currency (column "Währung"): a unit cost needs its sku, unit_cost, currency and valid_from' },
    ]);
  });

  it('whole German amounts with a € sign are said to be doubtful as without it, and read with decimalMark', async () => {
    const configFile = join(root, 'whole-sign.config.json');
    const columns = { Artikel: 'sku', Einstandspreis: 'unit_cost', Währung: 'currency', 'Gültig ab': 'valid_from' };
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns } } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    const file = join(root, 'moebel-euro.csv');
    writeFileSync(file, 'Artikel;Einstandspreis;Währung;Gültig ab\nSOFA;1.234 €;EUR;2024-03-01\nTISCH;2.500 €;EUR;2024-03-01\n');
    const doubtful = await runCli(['import', 'costs', 'unit_costs', file], { env });
    expect(doubtful.code, doubtful.stderr).toBe(0);
    expect(doubtful.stderr).toContain(
      'verite: warning: costs: moebel-euro.csv shows no decimal mark in its amounts, and 1.234 € was read with a decimal point: if it means 1234 €, set "decimalMark": "," in sources.costs and land the file again (verite import costs unit_costs moebel-euro.csv)',
    );
    expect(await record('SOFA|2024-03-01')).toMatchObject({ unit_cost: 1.234 });
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns, decimalMark: ',' } } }));
    const told = await runCli(['import', 'costs', 'unit_costs', file], { env });
    expect(told.code, told.stderr).toBe(0);
    expect(told.stderr).not.toContain('decimal mark');
    expect(await record('SOFA|2024-03-01')).toEqual({ sku: 'SOFA', unit_cost: 1234, currency: 'EUR', valid_from: '2024-03-01' });
    expect(await record('TISCH|2024-03-01')).toEqual({ sku: 'TISCH', unit_cost: 2500, currency: 'EUR', valid_from: '2024-03-01' });
  });

  it('`verite import` names a mapped column the file lacks, with the file\'s column close to it, as the drop does', async () => {
    const configFile = join(root, 'renamed-import.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const file = join(root, 'renamed-import.csv');
    writeFileSync(file, 'Article,Cost Price,Cur,Valid from\nCAP,2.05,EUR,01/03/2024\n');
    const imported = await runCli(['import', 'costs', 'unit_costs', file], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    // Its one row has no unit cost: quarantined, and nothing lands.
    expect(imported.code).toBe(1);
    expect(imported.stderr).toContain(
      'verite: warning: costs.unit_costs: renamed-import.csv has no column "Cost price" (did you mean Cost Price?), which its rows need to be read: they will be quarantined or lack those fields',
    );
  });

  it('`verite import costs unit_costs` maps a CSV, and JSON lines, with the same column mapping', async () => {
    const since = (await rows('select now() as t'))[0]!.t as Date;
    const file = join(root, 'import.csv');
    writeFileSync(file, 'Article,Cost price,Cur,Valid from\nCAP,"2,05",usd,01/02/2024\n');
    const configFile = join(root, 'import.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(root, 'unused'), columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const result = await runCli(['import', 'costs', 'unit_costs', file], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(result.code, result.stderr).toBe(0);
    expect(await record('CAP|2024-02-01')).toEqual({ sku: 'CAP', unit_cost: 2.05, currency: 'USD', valid_from: '2024-02-01' });
    // Unit costs are sparse (fresh while read): a successful import counts as their read.
    const imports = `select s.source, s.stream, s.status from ops.stream_runs s join ops.runs r on r.id = s.run_id where r.kind = 'import' and r.started_at >= $1`;
    expect(await rows(imports, [since])).toEqual([{ source: 'costs', stream: 'unit_costs', status: 'succeeded' }]);
    // Rates are not: an import of rates (history, as often as not) is no read of the stream.
    const rates = join(root, 'rates.csv');
    writeFileSync(rates, 'date,base,quote,rate\n2024-02-01,EUR,USD,1.08\n');
    expect((await runCli(['import', 'fx', 'rates', rates], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } })).code).toBe(0);
    expect(await rows(imports, [since])).toEqual([{ source: 'costs', stream: 'unit_costs', status: 'succeeded' }]);
    // The ERP's JSON lines, with its own names: mapped as the drop maps them, a bad row quarantined.
    const jsonl = join(root, 'import.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ Article: 'HAT', 'Cost price': '3,10', Cur: 'eur', 'Valid from': '01/02/2024' })}\n${JSON.stringify({ Article: 'SCARF', 'Cost price': 'free', Cur: 'EUR', 'Valid from': '01/02/2024' })}\n`);
    const fromJson = await runCli(['import', 'costs', 'unit_costs', jsonl], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(fromJson.code, fromJson.stderr).toBe(0);
    expect(await record('HAT|2024-02-01')).toEqual({ sku: 'HAT', unit_cost: 3.1, currency: 'EUR', valid_from: '2024-02-01' });
    expect(await rows(`select reason from ops.quarantine where location = 'import.jsonl:2'`)).toEqual([
      { reason: 'unparseable unit_cost "free" (column "Cost price"): expected a number such as 4.20' },
    ]);
  });
});

describe('unit costs read by the pipeline', () => {
  const config = (path: string, extra: Partial<CostsConfig> = {}) => configSchema.parse({ sources: { costs: { path, ...extra } }, retries: { streamAttempts: 1, backoffSeconds: 0 } });

  it('lands JSONL files in name order, a timestamp read for its date, a negative cost quarantined', async () => {
    const drop = join(root, 'jsonl');
    mkdirSync(drop);
    writeFileSync(join(drop, 'a.jsonl'), '{"sku": "SOCK", "unit_cost": 1.5, "currency": "GBP", "valid_from": "2024-05-01T00:00:00Z"}\n{"sku": "HAT", "unit_cost": -2, "currency": "GBP", "valid_from": "2024-05-01"}\n');
    writeFileSync(join(drop, 'b.jsonl'), '{"sku": "SOCK", "unit_cost": 1.75, "currency": "GBP", "valid_from": "2024-05-01"}\n');
    const result = await runPipeline({ warehouse: wh, config: config(drop), log: logger(), only: ['costs'], steps: [] });
    expect(result.status, result.error).toBe('succeeded');
    // b.jsonl lands after a.jsonl: its cost for the same sku and date is the one kept.
    expect(await record('SOCK|2024-05-01')).toEqual({ sku: 'SOCK', unit_cost: 1.75, currency: 'GBP', valid_from: '2024-05-01' });
    expect(await rows(`select location, reason from ops.quarantine where location like 'a.jsonl%'`)).toEqual([
      { location: 'a.jsonl:2', reason: 'unparseable unit_cost -2: a unit cost cannot be negative' },
    ]);
  });

  it('takes a timestamp\'s valid_from for the date it writes, whatever its offset, as a rate\'s date is taken', async () => {
    const drop = join(root, 'offsets');
    mkdirSync(drop);
    // Midnight in Paris is 23:00 UTC the day before; 23:30 in New York is 04:30 UTC the day after.
    writeFileSync(join(drop, 'costs.csv'), 'sku,unit_cost,currency,valid_from\nGLOVE,4.20,EUR,2024-03-01T00:00:00+01:00\nAPRON,3.10,EUR,2024-03-01T23:30:00-05:00\n');
    const result = await runPipeline({ warehouse: wh, config: config(drop), log: logger(), only: ['costs'], steps: [] });
    expect(result.status, result.error).toBe('succeeded');
    expect(await rows(`select _key, _record->>'valid_from' as valid_from from raw.costs__unit_costs where _key like 'GLOVE|%' or _key like 'APRON|%' order by _key`)).toEqual([
      { _key: 'APRON|2024-03-01', valid_from: '2024-03-01' },
      { _key: 'GLOVE|2024-03-01', valid_from: '2024-03-01' },
    ]);
    // The same with a dateFormat that writes an offset; a time that is none is still refused.
    const row = (valid_from: string) => ({ sku: 'A', unit_cost: '1', currency: 'EUR', valid_from });
    expect(mapCostRow(row('01/03/2024 23:30 -05:00'), { columns: {}, dateFormat: 'DD/MM/YYYY HH:mm Z' })).toMatchObject({ valid_from: '2024-03-01' });
    expect(mapCostRow(row('2024-03-01 00:15+02:00'), undefined)).toMatchObject({ valid_from: '2024-03-01' });
    expect(() => mapCostRow(row('2024-03-01T24:30:00+01:00'), undefined)).toThrow('unparseable valid_from "2024-03-01T24:30:00+01:00": expected a date such as 2024-03-01');
  });

  it('names a column of the mapping the file lacks, and the columns of the file close to it', async () => {
    const drop = join(root, 'renamed');
    mkdirSync(drop);
    // The ERP's export now writes "Cost Price" and "Valid From"; "Cur" is gone.
    writeFileSync(join(drop, 'march.csv'), 'Article,Cost Price,Currency,Valid From\nCAP,"2,05",EUR,01/03/2024\n');
    const global = config(drop, { columns: ERP_COLUMNS, dateFormat: 'DD/MM/YYYY' });
    const warnings: string[] = [];
    const ctx: ReadContext<CostsConfig> = {
      config: global.sources.costs!, global, state: null, window: null, startDate: '2024-01-01', lookbackDays: 0, now: new Date('2024-06-01T00:00:00Z'),
      log: logger(), signal: new AbortController().signal, secret: () => '', warnOnce: (m) => void warnings.push(m),
    };
    await landPages(wh.pool, { source: 'costs', stream: catalog.costs.unit_costs, runId: 'renamed' }, unitCostsStream.read(ctx));
    expect(warnings).toEqual([
      'costs: march.csv has no column "Cost price" (did you mean Cost Price?), "Cur" (did you mean Currency?), "Valid from" (did you mean Valid From?), which the columns mapping names',
    ]);
  });

  it('warns of a file whose amounts show no decimal mark and hold a 1.234; reads the config\'s decimalMark instead of guessing', async () => {
    const read = async (folder: string, extra: Partial<CostsConfig>) => {
      const global = config(folder, { columns: ERP_COLUMNS, dateFormat: 'DD.MM.YYYY', ...extra });
      const warnings: string[] = [];
      const ctx: ReadContext<CostsConfig> = {
        config: global.sources.costs!, global, state: null, window: null, startDate: '2024-01-01', lookbackDays: 0, now: new Date('2024-06-01T00:00:00Z'),
        log: logger(), signal: new AbortController().signal, secret: () => '', warnOnce: (m) => void warnings.push(m),
      };
      await landPages(wh.pool, { source: 'costs', stream: catalog.costs.unit_costs, runId: `marks-${folder.length}` }, unitCostsStream.read(ctx));
      return warnings;
    };
    const guessed = join(root, 'whole-guessed');
    mkdirSync(guessed);
    writeFileSync(join(guessed, 'moebel.csv'), 'Article;Cost price;Cur;Valid from\nTABLE;3.450;EUR;01.03.2024\nSTOOL;45;EUR;01.03.2024\n');
    expect(await read(guessed, {})).toEqual([
      'costs: moebel.csv shows no decimal mark in its amounts, and 3.450 was read with a decimal point: if it means 3450, set "decimalMark": "," in sources.costs and land the file again (verite import costs unit_costs moebel.csv)',
    ]);
    expect(await record('TABLE|2024-03-01')).toMatchObject({ unit_cost: 3.45 });
    const told = join(root, 'whole-told');
    mkdirSync(told);
    writeFileSync(join(told, 'moebel-april.csv'), 'Article;Cost price;Cur;Valid from\nTABLE;3.450;EUR;01.04.2024\nCHEST;7,25;EUR;01.04.2024\n');
    expect(await read(told, { decimalMark: ',' })).toEqual([]);
    expect(await record('TABLE|2024-04-01')).toMatchObject({ unit_cost: 3450 });
    expect(await record('CHEST|2024-04-01')).toMatchObject({ unit_cost: 7.25 });
    // Careless-input probe: the same with a € sign, which the check read past.
    const signed = join(root, 'whole-signed');
    mkdirSync(signed);
    writeFileSync(join(signed, 'moebel-mai.csv'), 'Article;Cost price;Cur;Valid from\nTABLE;3.450 €;EUR;01.05.2024\nSTOOL;45 €;EUR;01.05.2024\n');
    expect(await read(signed, {})).toEqual([
      'costs: moebel-mai.csv shows no decimal mark in its amounts, and 3.450 € was read with a decimal point: if it means 3450 €, set "decimalMark": "," in sources.costs and land the file again (verite import costs unit_costs moebel-mai.csv)',
    ]);
    expect(await record('TABLE|2024-05-01')).toMatchObject({ unit_cost: 3.45 });
  });

  it('after a failure on a file\'s last page, reads the file again whole and lands nothing twice', async () => {
    const drop = join(root, 'crash');
    mkdirSync(drop);
    const lines = ['sku,unit_cost,currency,valid_from'];
    for (let i = 1; i <= 5; i++) lines.push(`K${i},${i}.00,EUR,2024-01-0${i}`);
    writeFileSync(join(drop, 'five.csv'), lines.join('\n') + '\n');
    const global = config(drop);
    const ctx: ReadContext<CostsConfig> = {
      config: global.sources.costs!, global, state: null, window: null, startDate: '2024-01-01', lookbackDays: 0, now: new Date('2024-06-01T00:00:00Z'),
      log: logger(), signal: new AbortController().signal, secret: () => '', warnOnce: () => undefined,
    };
    const target = { source: 'costs', stream: catalog.costs.unit_costs, runId: 'crash' };
    async function* failingOnTheMark(pages: AsyncIterable<Page>) {
      for await (const page of pages) {
        if (page.afterLand && page.records.length) {
          const mark = page.afterLand;
          yield { ...page, afterLand: async (...args: Parameters<typeof mark>) => (await mark(...args), Promise.reject(new Error('connection lost'))) };
        } else yield page;
      }
    }
    // A file this small is one page, carrying its landed mark: the failure takes back its rows too.
    await expect(landPages(wh.pool, target, failingOnTheMark(unitCostsStream.read(ctx)))).rejects.toThrow('connection lost');
    const keys = async () => (await rows(`select _key from raw.costs__unit_costs where _key like 'K%' order by _key`)).map((r) => r._key);
    expect(await keys()).toEqual([]);
    const again = await landPages(wh.pool, target, unitCostsStream.read(ctx));
    expect(again).toMatchObject({ received: 5, written: 5, unchanged: 0 });
    expect(await keys()).toEqual(['K1|2024-01-01', 'K2|2024-01-02', 'K3|2024-01-03', 'K4|2024-01-04', 'K5|2024-01-05']);
    const third = await landPages(wh.pool, target, unitCostsStream.read(ctx));
    expect(third).toMatchObject({ received: 0, written: 0 });
  });

  it('says what a sheet lacks to be the costs: the mapped columns, and the fields no column is mapped to', () => {
    const header = (...names: string[]) => Object.fromEntries(names.map((n) => [n, '']));
    const mapped = { columns: { Article: 'sku', 'Cost price': 'unit_cost' } as CostsConfig['columns'], dateFormat: undefined };
    // Article and Cost price stand for sku and unit_cost; currency and valid_from go by their names.
    expect(costSheetLacks(header('Supplier', 'Total'), mapped)).toEqual(['Article', 'Cost price', 'currency', 'valid_from']);
    expect(costSheetLacks(header('Article', 'Cost price', 'currency', 'valid_from'), mapped)).toEqual([]);
    expect(costSheetLacks(header('sku', 'unit_cost', 'currency'), undefined)).toEqual(['valid_from']);
  });

  it('refuses a row it cannot apply, saying why', () => {
    expect(() => mapCostRow({ sku: 'A', unit_cost: 'abc', currency: 'EUR', valid_from: '2024-01-01' }, undefined)).toThrow('unparseable unit_cost "abc": expected a number such as 4.20');
    expect(() => mapCostRow({ sku: 'A', unit_cost: '1', currency: 'EUR', valid_from: '2024-02-30' }, undefined)).toThrow('unparseable valid_from "2024-02-30": expected a date such as 2024-03-01');
    expect(() => mapCostRow({ unit_cost: '1', currency: 'EUR', valid_from: '2024-01-01' }, undefined)).toThrow('no sku');
    expect(() => mapCostRow({ sku: 'A', unit_cost: '1', currency: '£', valid_from: '2024-01-01' }, undefined)).toThrow('unparseable currency "£": expected an ISO 4217 code such as EUR; £ is GBP');
    // An EAN of 13 digits used as the SKU, opened in Excel and saved: only six digits are left.
    expect(() => mapCostRow({ sku: '4.00639E+12', unit_cost: '1', currency: 'EUR', valid_from: '2024-01-01' }, undefined)).toThrow(
      'unparseable sku "4.00639E+12": a long number a spreadsheet rounded and wrote in scientific notation, its other digits lost: format the column as text in the sheet, or export from the source again',
    );
    expect(mapCostRow({ sku: '4006381333931', unit_cost: '1', currency: 'EUR', valid_from: '2024-01-01' }, undefined)).toMatchObject({ sku: '4006381333931' });
  });
});
