import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { configSchema, type ShipmentsConfig } from '../../config/schema.ts';
import { readFileDrop } from '../../extractors/shipments/file-drop.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import { landPages } from '../../loaders/raw-loader.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

let wh: Warehouse;
let root: string;
beforeAll(async () => {
  wh = await createTestDatabase('shipments_drop');
  root = mkdtempSync(join(tmpdir(), 'verite-shipments-'));
});
afterAll(async () => {
  await wh?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A 3PL export with its own column names and day-first dates. */
const THREE_PL_COLUMNS = {
  'Order Ref': 'order_id',
  'Tracking #': 'tracking_number',
  Carrier: 'carrier',
  'Ship Date': 'shipped_at',
  Delivered: 'delivered_at',
  Cost: 'shipping_cost',
  Currency: 'currency',
} as const;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function rows(sql: string, params: unknown[] = []): Promise<Record<string, any>[]> {
  return (await wh.pool.query(sql, params)).rows;
}

async function record(key: string): Promise<Record<string, unknown> | undefined> {
  return (await rows('select _record from raw.shipments__shipments where _key = $1', [key]))[0]?._record;
}

describe('the shipments file drop, through `verite run`', () => {
  it('lands a CSV with a custom column mapping, quarantines a row with an unparseable date, then skips the file it landed', async () => {
    const drop = join(root, 'cli-drop');
    mkdirSync(drop);
    const file = join(drop, '3pl-2024-05-01.csv');
    writeFileSync(
      file,
      [
        'Order Ref,Tracking #,Carrier,Ship Date,Delivered,Cost,Currency,Warehouse',
        '#1001,1Z 001,UPS,01/05/2024,03/05/2024,"7,50",eur,Lyon',
        '#1002,1Z 002,UPS,31/04/2024,,"8,00",EUR,Lyon',
        '#1003,1Z 003,DHL,02/05/2024,,12.00,EUR,Lille',
      ].join('\n') + '\n',
    );
    const configFile = join(root, 'cli.config.json');
    const settings = { reportingCurrency: 'EUR', sources: { shipments: { path: drop, columns: THREE_PL_COLUMNS, dateFormat: 'DD/MM/YYYY' } }, retries: { streamAttempts: 1, backoffSeconds: 0 } };
    writeFileSync(configFile, JSON.stringify(settings));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };

    const first = await runCli(['run', '--sources', 'shipments'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/shipments\.shipments/);
    expect(await record('1Z001')).toEqual({
      order_id: '#1001',
      tracking_number: '1Z001',
      carrier: 'UPS',
      shipped_at: '2024-05-01',
      delivered_at: '2024-05-03',
      shipping_cost: 7.5,
      currency: 'EUR',
      extra: { Warehouse: 'Lyon' },
    });
    expect(await record('1Z003')).toMatchObject({ order_id: '#1003', shipped_at: '2024-05-02', delivered_at: null, shipping_cost: 12 });
    expect(await record('1Z002')).toBeUndefined();
    const quarantined = await rows(`select reason, location from ops.quarantine where source = 'shipments'`);
    expect(quarantined).toEqual([{ reason: 'unparseable shipped_at "31/04/2024" in column "Ship Date" (expected DD/MM/YYYY)', location: '3pl-2024-05-01.csv:3' }]);
    const landed = await rows(`select name, size::int as size, checksum, records from ops.landed_files where source = 'shipments'`);
    expect(landed).toEqual([{ name: '3pl-2024-05-01.csv', size: readFileSync(file).length, checksum: sha256(file), records: 3 }]);

    // Were the file read again, its row would put this back: it must stay as it is.
    await wh.pool.query(`update raw.shipments__shipments set _record = _record || '{"status": "edited by hand"}' where _key = '1Z001'`);
    const second = await runCli(['run', '--sources', 'shipments'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/shipments\.shipments/);
    expect(await record('1Z001')).toMatchObject({ status: 'edited by hand' });
    expect(await rows(`select count(*)::int as n from ops.landed_files`)).toEqual([{ n: 1 }]);
    const runs = await rows(`select status, records_landed::int as landed from ops.stream_runs where source = 'shipments' order by id`);
    expect(runs).toEqual([
      { status: 'succeeded', landed: 2 },
      { status: 'succeeded', landed: 0 },
    ]);

    // The 3PL sends the file again with a correction: same name, new content, landed again.
    writeFileSync(file, readFileSync(file, 'utf8').replace('31/04/2024', '30/04/2024'));
    const third = await runPipeline({ warehouse: wh, config: configSchema.parse(settings), log: logger(), only: ['shipments'], steps: [] });
    expect(third.status, third.error).toBe('succeeded');
    expect(await record('1Z002')).toMatchObject({ order_id: '#1002', shipped_at: '2024-04-30' });
    expect(await rows(`select count(*)::int as n from ops.landed_files where name = '3pl-2024-05-01.csv'`)).toEqual([{ n: 2 }]);
  });

  it('`verite import` maps a CSV with the same column mapping as the drop', async () => {
    const file = join(root, 'import.csv');
    writeFileSync(file, 'Order Ref,Tracking #,Carrier,Ship Date,Cost\n#2001,2Z 001,DHL,05/05/2024,"3,10"\n');
    const configFile = join(root, 'import.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { shipments: { path: join(root, 'unused'), columns: THREE_PL_COLUMNS, dateFormat: 'DD/MM/YYYY' } } }));
    const result = await runCli(['import', 'shipments', 'shipments', file], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(result.code).toBe(0);
    expect(await record('2Z001')).toEqual({ order_id: '#2001', tracking_number: '2Z001', carrier: 'DHL', shipped_at: '2024-05-05', shipping_cost: 3.1 });
  });

  it('a cost written with € or £ lands in that currency, not the reporting one; a currency column that says another quarantines the row, naming both', async () => {
    const configFile = join(root, 'signs.config.json');
    const columns = { 'Order Ref': 'order_id', 'Tracking #': 'tracking_number', Carrier: 'carrier', 'Ship Date': 'shipped_at', Cost: 'shipping_cost' };
    writeFileSync(configFile, JSON.stringify({ reportingCurrency: 'USD', sources: { shipments: { path: join(root, 'unused'), columns, dateFormat: 'DD/MM/YYYY' } } }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile };
    // No currency column: a cost without a sign has no currency (the reporting currency is assumed in core), as before.
    const file = join(root, '3pl.csv');
    writeFileSync(file, 'Order Ref;Tracking #;Carrier;Ship Date;Cost\n3001;EU3001;DHL;03/05/2024;€ 7,50\n3002;EU3002;Royal Mail;03/05/2024;£7.50\n3003;EU3003;DHL;03/05/2024;7,50\n3004;EU3004;UPS;03/05/2024;$7.50\n');
    const imported = await runCli(['import', 'shipments', 'shipments', file], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(await record('EU3001')).toEqual({ order_id: '3001', tracking_number: 'EU3001', carrier: 'DHL', shipped_at: '2024-05-03', shipping_cost: 7.5, currency: 'EUR' });
    expect(await record('EU3002')).toMatchObject({ shipping_cost: 7.5, currency: 'GBP' });
    expect(await record('EU3003')).toEqual({ order_id: '3003', tracking_number: 'EU3003', carrier: 'DHL', shipped_at: '2024-05-03', shipping_cost: 7.5 });
    expect(await record('EU3004')).not.toHaveProperty('currency');

    // With a currency column: a code agreeing with the sign lands; one that disagrees is held.
    writeFileSync(configFile, JSON.stringify({ reportingCurrency: 'USD', sources: { shipments: { path: join(root, 'unused'), columns: { ...columns, Currency: 'currency' }, dateFormat: 'DD/MM/YYYY' } } }));
    const priced = join(root, '3pl-priced.csv');
    writeFileSync(priced, 'Order Ref;Tracking #;Carrier;Ship Date;Cost;Currency\n3005;EU3005;DHL;03/05/2024;7,50 €;EUR\n3006;EU3006;DHL;03/05/2024;7,50 €;USD\n');
    const held = await runCli(['import', 'shipments', 'shipments', priced], { env });
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout).toContain('2 record(s) read, 1 written, 0 unchanged, 1 quarantined');
    expect(await record('EU3005')).toMatchObject({ shipping_cost: 7.5, currency: 'EUR' });
    expect(await record('EU3006')).toBeUndefined();
    expect(await rows(`select location, reason from ops.quarantine where location like '3pl-priced.csv%'`)).toEqual([
      {
        location: '3pl-priced.csv:3',
        reason: 'shipping_cost "7,50 €" in column "Cost" is in EUR by its sign €, but currency in column "Currency" is USD: correct the one that is wrong in the file and land it again',
      },
    ]);
  });
});

describe('the shipments file drop, read by the pipeline', () => {
  const config = (path: string, extra: Partial<ShipmentsConfig> = {}) =>
    configSchema.parse({ sources: { shipments: { path, ...extra } }, retries: { streamAttempts: 1, backoffSeconds: 0 } });

  it('lands JSONL files matched by a glob, through the mapping, in name order', async () => {
    const drop = join(root, 'jsonl-drop');
    mkdirSync(drop);
    writeFileSync(join(drop, 'b.jsonl'), '{"ref": 3001, "parcel": {"code": "J1"}, "shipped": "2024-05-02T10:00:00", "price": 4.2}\n');
    writeFileSync(join(drop, 'a.jsonl'), '{"ref": 3001, "parcel": {"code": "J1"}, "shipped": "2024-05-01T10:00:00", "price": 4.2}\n{"ref": "broken"\n');
    writeFileSync(join(drop, 'c.csv'), 'not,matched\n');
    const result = await runPipeline({
      warehouse: wh,
      config: config(join(drop, '*.jsonl'), { columns: { ref: 'order_id', 'parcel.code': 'tracking_number', shipped: 'shipped_at', price: 'shipping_cost' }, timeZone: 'Europe/Paris' }),
      log: logger(),
      only: ['shipments'],
      steps: [],
    });
    expect(result.status).toBe('succeeded');
    // b.jsonl lands after a.jsonl, so its version of J1 is the one kept; 10:00 in Paris in May is
    // 08:00 UTC. The nested object a dotted column reached into is kept whole under extra.
    expect(await record('J1')).toEqual({
      order_id: '3001',
      tracking_number: 'J1',
      shipped_at: '2024-05-02T08:00:00.000Z',
      shipping_cost: 4.2,
      extra: { parcel: { code: 'J1' } },
    });
    expect(await rows(`select location from ops.quarantine where location like 'a.jsonl%'`)).toEqual([{ location: 'a.jsonl:2' }]);
    expect((await rows(`select name from ops.landed_files where name like '%.jsonl' order by name`)).map((r) => r.name)).toEqual(['a.jsonl', 'b.jsonl']);
    expect(await rows(`select count(*)::int as n from ops.landed_files where name = 'c.csv'`)).toEqual([{ n: 0 }]);
  });

  it('reads the sheet of a workbook that holds the shipments, told by its key columns without a mapping; leaves the file unread until then', async () => {
    const drop = join(root, 'workbook-drop');
    mkdirSync(drop);
    // A 3PL's monthly workbook: totals first, the parcels second, named like the fields.
    await writeXlsxFile([
      { sheet: 'Totals', data: [[{ value: 'Month' }, { value: 'Parcels' }], [{ value: '2024-05' }, { type: Number, value: 1 }]] },
      {
        sheet: 'Parcels',
        data: [
          [{ value: 'order_id' }, { value: 'carrier' }, { value: 'shipped_at' }],
          [{ type: Number, value: 4001 }, { value: 'DHL' }, { value: '2024-05-03T09:00:00Z' }],
        ],
      },
    ]).toFile(join(drop, 'may.xlsx'));
    const read = async (extra: Partial<ShipmentsConfig>) => {
      const global = config(drop, extra);
      const warnings: string[] = [];
      const ctx: ReadContext<ShipmentsConfig> = {
        config: global.sources.shipments!, global, state: null, window: null, startDate: '2024-01-01', lookbackDays: 0, now: new Date('2024-06-01T00:00:00Z'),
        log: logger(), signal: new AbortController().signal, secret: () => '', warnOnce: (m) => void warnings.push(m),
      };
      await landPages(wh.pool, { source: 'shipments', stream: catalog.shipments.shipments, runId: `sheet-${Object.keys(extra).length}` }, readFileDrop(ctx));
      return warnings;
    };
    // No tracking number, nor an order and a carrier, on "Totals": a shipment's key cannot be made of it.
    expect(await read({})).toEqual([
      'shipments: may.xlsx was not read: its sheet "Totals" has no column "tracking_number", which its rows need to be read, and its sheet "Parcels" has them: set "sheet": "Parcels" in sources.shipments',
    ]);
    expect(await rows(`select count(*)::int as n from ops.landed_files where name = 'may.xlsx'`)).toEqual([{ n: 0 }]);
    expect(await read({ sheet: 'Parcels' })).toEqual([]);
    // Keyed by order and carrier, as the catalogue keys a shipment without a tracking number.
    expect(await record('4001|DHL')).toEqual({ order_id: '4001', carrier: 'DHL', shipped_at: '2024-05-03T09:00:00.000Z' });
  });

  it('passes over the rows of only separators a spreadsheet writes below its table, and the owner file of a workbook open in Excel', async () => {
    const drop = join(root, 'separators-drop');
    mkdirSync(drop);
    writeFileSync(join(drop, 'week-19.csv'), 'Order Ref;Tracking #;Carrier;Ship Date\r\n#5001;5Z 001;UPS;06/05/2024\r\n;;;\r\n ; ;\t;\r\n');
    writeFileSync(join(drop, '~$week-20.xlsx'), 'owner');
    const columns = { 'Order Ref': 'order_id', 'Tracking #': 'tracking_number', Carrier: 'carrier', 'Ship Date': 'shipped_at' } as const;
    const result = await runPipeline({ warehouse: wh, config: config(drop, { columns, dateFormat: 'DD/MM/YYYY' }), log: logger(), only: ['shipments'], steps: [] });
    expect(result.status, result.warnings.join('\n')).toBe('succeeded');
    expect(await record('5Z001')).toEqual({ order_id: '#5001', tracking_number: '5Z001', carrier: 'UPS', shipped_at: '2024-05-06' });
    // Lines 3 and 4 were a parcel without a key each, quarantined as "no key".
    expect(await rows(`select location from ops.quarantine where location like 'week-%'`)).toEqual([]);
    expect(await rows(`select name, records from ops.landed_files where name like 'week-%' or name like '~$%'`)).toEqual([{ name: 'week-19.csv', records: 1 }]);
  });

  it('refuses a second parcel of one order and carrier without a tracking number in a file, naming the first; a later file updates the parcel', async () => {
    const drop = join(root, 'parcels-drop');
    mkdirSync(drop);
    // Lines 2 and 5: two parcels of #1002 by DHL, 5.00 and 6.00, neither with a tracking number:
    // one key (#1002|DHL), so the second would have replaced the first, one parcel of 6.00. Lines 3
    // and 4 are one parcel twice (its tracking number): the later line wins, as before.
    writeFileSync(
      join(drop, 'parcels-1.csv'),
      'Order Ref,Tracking #,Carrier,Ship Date,Cost,Currency\n#1002,,DHL,04/03/2024,5.00,EUR\n#1003,3Z 003,UPS,04/03/2024,4.00,EUR\n#1003,3Z 003,UPS,05/03/2024,4.00,EUR\n#1002,,DHL,04/03/2024,6.00,EUR\n',
    );
    const columns = { 'Order Ref': 'order_id', 'Tracking #': 'tracking_number', Carrier: 'carrier', 'Ship Date': 'shipped_at', Cost: 'shipping_cost', Currency: 'currency' } as const;
    const settings = config(drop, { columns, dateFormat: 'DD/MM/YYYY' });
    const first = await runPipeline({ warehouse: wh, config: settings, log: logger(), only: ['shipments'], steps: [] });
    expect(first.status, first.warnings.join('\n')).toBe('succeeded');
    expect(await record('#1002|DHL')).toMatchObject({ order_id: '#1002', tracking_number: null, shipping_cost: 5 });
    expect(await record('3Z003')).toMatchObject({ shipped_at: '2024-03-05' });
    const held = await rows(`select location, reason, raw from ops.quarantine where location like 'parcels-%'`);
    expect(held).toEqual([
      {
        location: 'parcels-1.csv:5',
        reason:
          'line 5 has the same order #1002 and carrier DHL as line 2 and no tracking number: two parcels need a tracking number each to be told apart (docs/sources/shipments.md); the first is landed',
        // The row as the file wrote it, as for a row the mapping refuses.
        raw: JSON.stringify({ 'Order Ref': '#1002', 'Tracking #': '', Carrier: 'DHL', 'Ship Date': '04/03/2024', Cost: '6.00', Currency: 'EUR' }),
      },
    ]);
    // A later file naming the order and carrier again is the same parcel, updated.
    writeFileSync(join(drop, 'parcels-2.csv'), 'Order Ref,Tracking #,Carrier,Ship Date,Cost,Currency\n#1002,,DHL,04/03/2024,5.50,EUR\n');
    const second = await runPipeline({ warehouse: wh, config: settings, log: logger(), only: ['shipments'], steps: [] });
    expect(second.status, second.warnings.join('\n')).toBe('succeeded');
    expect(await record('#1002|DHL')).toMatchObject({ shipping_cost: 5.5 });
    expect(await rows(`select location from ops.quarantine where location like 'parcels-%'`)).toEqual([{ location: 'parcels-1.csv:5' }]);

    // `verite import` reads a file the same way.
    const file = join(root, 'parcels-import.jsonl');
    writeFileSync(file, '{"order_id": "#1004", "carrier": "DHL", "shipping_cost": 3}\n{"order_id": "#1004", "carrier": "DHL", "shipping_cost": 4}\n');
    const configFile = join(root, 'parcels.config.json');
    writeFileSync(configFile, JSON.stringify({ sources: { shipments: { path: join(root, 'unused') } } }));
    const imported = await runCli(['import', 'shipments', 'shipments', file], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(imported.code, imported.stderr).toBe(0);
    expect(await record('#1004|DHL')).toMatchObject({ shipping_cost: 3 });
    expect(await rows(`select location, reason from ops.quarantine where location like 'parcels-import%'`)).toEqual([
      {
        location: 'parcels-import.jsonl:2',
        reason:
          'line 2 has the same order #1004 and carrier DHL as line 1 and no tracking number: two parcels need a tracking number each to be told apart (docs/sources/shipments.md); the first is landed',
      },
    ]);
  });

  it('issue 17: names the file and line of a JSON line the mapping reads but the loader refuses', async () => {
    const drop = join(root, 'keyless-drop');
    mkdirSync(drop);
    // Line 2 has an order but neither a tracking number nor a carrier: no key.
    writeFileSync(join(drop, 'd.jsonl'), '{"ref": 4001, "parcel": {"code": "K1"}, "carrier": "UPS"}\n{"ref": 4002}\n');
    const result = await runPipeline({
      warehouse: wh,
      config: config(drop, { columns: { ref: 'order_id', 'parcel.code': 'tracking_number' } }),
      log: logger(),
      only: ['shipments'],
      steps: [],
    });
    expect(result.status, result.error).toBe('succeeded');
    expect(await rows(`select location, reason from ops.quarantine where location like 'd.jsonl%' or raw like '%4002%'`)).toEqual([
      { location: 'd.jsonl:2', reason: 'no key (tracking_number (else order + carrier))' },
    ]);
  });

  it('never marks a file landed without all its rows: a failure on its last page leaves it to be read again, whole', async () => {
    const drop = join(root, 'crash-drop');
    mkdirSync(drop);
    const lines = ['tracking_number,order_id,carrier'];
    for (let i = 1; i <= 5; i++) lines.push(`C${i},#${i},UPS`);
    writeFileSync(join(drop, 'five.csv'), lines.join('\n') + '\n');
    const parsed = config(drop).sources.shipments!;
    const ctx: ReadContext<ShipmentsConfig> = {
      config: parsed,
      global: config(drop),
      state: null,
      window: null,
      startDate: '2024-01-01',
      lookbackDays: 0,
      now: new Date('2024-06-01T00:00:00Z'),
      log: logger(),
      signal: new AbortController().signal,
      secret: () => '',
      warnOnce: () => undefined,
    };
    const target = { source: 'shipments', stream: catalog.shipments.shipments, runId: 'crash' };
    // Two rows a page: the probe page, then C1–C2, C3–C4, and C5 with the landed mark.
    const seen: number[] = [];
    async function* failingOnTheMark(pages: AsyncIterable<Page>) {
      for await (const page of pages) {
        seen.push(page.records.length);
        if (page.afterLand && page.records.length) {
          const mark = page.afterLand;
          yield { ...page, afterLand: async (...args: Parameters<typeof mark>) => (await mark(...args), Promise.reject(new Error('connection lost'))) };
        } else yield page;
      }
    }
    await expect(landPages(wh.pool, target, failingOnTheMark(readFileDrop(ctx, { batchSize: 2 })))).rejects.toThrow('connection lost');
    expect(seen).toEqual([0, 2, 2, 1]);
    const keys = async () => (await rows(`select _key from raw.shipments__shipments where _key like 'C%' order by _key`)).map((r) => r._key);
    expect(await keys()).toEqual(['C1', 'C2', 'C3', 'C4']);
    expect(await rows(`select count(*)::int as n from ops.landed_files where name = 'five.csv'`)).toEqual([{ n: 0 }]);

    const again = await landPages(wh.pool, target, readFileDrop(ctx, { batchSize: 2 }));
    expect(again).toMatchObject({ pages: 4, received: 5, written: 1, unchanged: 4 });
    expect(await keys()).toEqual(['C1', 'C2', 'C3', 'C4', 'C5']);
    expect(await rows(`select records from ops.landed_files where name = 'five.csv'`)).toEqual([{ records: 5 }]);
  });

  it('fails the stream, naming it, when the drop folder is missing', async () => {
    const result = await runPipeline({ warehouse: wh, config: config(join(root, 'no-such-folder')), log: logger(), only: ['shipments'], steps: [] });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^shipments\.shipments: \[shipments\.shipments\] the file drop cannot be read: .*no-such-folder does not exist/);
  });
});
