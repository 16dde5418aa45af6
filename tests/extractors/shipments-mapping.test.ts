import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shipmentsConfig } from '../../config/schema.ts';
import { compileDateParser } from '../../extractors/shipments/date-parse.ts';
import { columnsMark, decimalMarkOf, doubtfulAmount, mapShipmentRow, parseAmount, sheetDecimalMark, type MappingConfig } from '../../extractors/shipments/column-mapping.ts';
import { listDropFiles } from '../../extractors/shipments/drop-files.ts';
import { trackerToShipment } from '../../extractors/shipments/easypost-map.ts';
import { listWindows } from '../../extractors/shipments/easypost-read.ts';

const utc = (columns: MappingConfig['columns'] = {}, dateFormat?: string, timeZone = 'UTC'): MappingConfig => ({ columns, dateFormat, timeZone });

describe('dates of an export', () => {
  it('reads ISO 8601 by default; a date without a time stays a calendar date', () => {
    const parse = compileDateParser(undefined, 'UTC');
    expect(parse('2024-05-01')).toBe('2024-05-01');
    expect(parse('2024-05-01T14:30:00Z')).toBe('2024-05-01T14:30:00.000Z');
    expect(parse('2024-05-01 14:30')).toBe('2024-05-01T14:30:00.000Z');
    // 14:30 at +02:00 is 12:30 UTC.
    expect(parse('2024-05-01T14:30:00+02:00')).toBe('2024-05-01T12:30:00.000Z');
  });

  it('refuses what it would have to guess, and dates that do not exist', () => {
    const parse = compileDateParser(undefined, 'UTC');
    expect(parse('05/01/2024')).toBeUndefined();
    expect(parse('2024-02-30')).toBeUndefined();
    expect(parse('2024-05-01T25:00')).toBeUndefined();
    expect(parse('soon')).toBeUndefined();
  });

  it('reads a dateFormat strictly, in the configured zone', () => {
    // Paris is at +02:00 in July: 14:30 there is 12:30 UTC.
    expect(compileDateParser('DD/MM/YYYY HH:mm', 'Europe/Paris')('01/07/2024 14:30')).toBe('2024-07-01T12:30:00.000Z');
    // New York is at -05:00 in January: 09:00 there is 14:00 UTC.
    expect(compileDateParser('MM/DD/YYYY h:mm A', 'America/New_York')('01/15/2024 9:00 AM')).toBe('2024-01-15T14:00:00.000Z');
    expect(compileDateParser('D MMM YYYY', 'UTC')('3 May 2024')).toBe('2024-05-03');
    expect(compileDateParser('DD/MM/YYYY', 'UTC')('31/02/2024')).toBeUndefined();
    expect(compileDateParser('DD/MM/YYYY', 'UTC')('2024-02-01')).toBeUndefined();
  });

  it('reads a time in the spring-forward gap with the offset before the change', () => {
    // 02:30 does not exist in Paris on 2024-03-31; at the winter offset (+01:00) it is 01:30 UTC.
    expect(compileDateParser('YYYY-MM-DD HH:mm', 'Europe/Paris')('2024-03-31 02:30')).toBe('2024-03-31T01:30:00.000Z');
  });
});

describe('the column mapping', () => {
  it('maps their columns to shipment fields and keeps unmapped columns under extra', () => {
    const record = mapShipmentRow(
      { 'Order Ref': '#1001', 'Tracking #': '1Z 999 AA1 01', 'Ship Date': '01/05/2024', Cost: '7,50', Curr: 'eur', status: 'Delivered', Weight: '2kg' },
      utc({ 'Order Ref': 'order_id', 'Tracking #': 'tracking_number', 'Ship Date': 'shipped_at', Cost: 'shipping_cost', Curr: 'currency' }, 'DD/MM/YYYY'),
    );
    expect(record).toEqual({
      order_id: '#1001',
      tracking_number: '1Z999AA101',
      shipped_at: '2024-05-01',
      status: 'Delivered',
      shipping_cost: 7.5,
      currency: 'EUR',
      extra: { Weight: '2kg' },
    });
  });

  it('takes empty cells as null and the first non-empty of several columns mapped to one field', () => {
    const record = mapShipmentRow(
      { 'Delivered On': '', 'Delivery Date': '2024-05-04', Tracking: 'X1', Returned: '' },
      utc({ 'Delivered On': 'delivered_at', 'Delivery Date': 'delivered_at', Tracking: 'tracking_number', Returned: 'returned_at' }),
    );
    expect(record).toEqual({ tracking_number: 'X1', delivered_at: '2024-05-04', returned_at: null });
  });

  it('reaches into nested JSON with a dotted column and keeps JSON numbers as numbers', () => {
    const record = mapShipmentRow({ order: { id: 5001 }, tracking: { number: 'T9' }, cost: 12.25 }, utc({ 'order.id': 'order_id', 'tracking.number': 'tracking_number', cost: 'shipping_cost' }));
    expect(record).toMatchObject({ order_id: '5001', tracking_number: 'T9', shipping_cost: 12.25 });
  });

  it('names the field, the value and the column of what it cannot read', () => {
    const config = utc({ 'Ship Date': 'shipped_at', Cost: 'shipping_cost' }, 'DD/MM/YYYY');
    expect(() => mapShipmentRow({ 'Ship Date': '2024-13-01' }, config)).toThrow('unparseable shipped_at "2024-13-01" in column "Ship Date" (expected DD/MM/YYYY)');
    expect(() => mapShipmentRow({ Cost: 'free' }, config)).toThrow(/^unparseable shipping_cost "free"/);
    expect(() => mapShipmentRow({ currency: 'euros' }, config)).toThrow(/^unparseable currency "euros"/);
    // A sign that stands for one currency says which code to write; one that stands for several says so.
    expect(() => mapShipmentRow({ currency: '€' }, config)).toThrow('unparseable currency "€" (expected an ISO 4217 code such as USD; € is EUR)');
    expect(() => mapShipmentRow({ currency: ' zł ' }, config)).toThrow('unparseable currency " zł " (expected an ISO 4217 code such as USD; zł is PLN)');
    expect(() => mapShipmentRow({ currency: '$' }, config)).toThrow('unparseable currency "$" (expected an ISO 4217 code such as USD; $ stands for several currencies: write the code)');
  });

  it('refuses an id a spreadsheet rounded into scientific notation, or a JSON number too long to be exact, saying why', () => {
    const config = utc({ 'Order ID': 'order_id', Tracking: 'tracking_number' });
    // A 13-digit Shopify order id and an 18-digit tracking number, opened in Excel and saved.
    expect(() => mapShipmentRow({ 'Order ID': '5.12346E+12' }, config)).toThrow(
      'unparseable order_id "5.12346E+12" in column "Order ID" (a long number a spreadsheet rounded and wrote in scientific notation, its other digits lost: format the column as text in the sheet, or export from the source again)',
    );
    expect(() => mapShipmentRow({ Tracking: '1,23457E+17' }, config)).toThrow(/^unparseable tracking_number "1,23457E\+17" in column "Tracking" \(a long number a spreadsheet rounded/);
    expect(() => mapShipmentRow({ order_id: 12345678901234567890 }, undefined)).toThrow(/^unparseable order_id 12345678901234567000 \(a number past 2\^53/);
    // Ids that only look alike are kept: a short exponent, letters around it, an exact JSON number.
    expect(mapShipmentRow({ 'Order ID': '1E+5', Tracking: '1Z999AA10123456784' }, config)).toMatchObject({ order_id: '1E+5', tracking_number: '1Z999AA10123456784' });
    expect(mapShipmentRow({ order_id: 5123456789012 }, undefined)).toMatchObject({ order_id: '5123456789012' });
  });

  it('reads amounts as spreadsheets write them, refusing the ambiguous', () => {
    expect(parseAmount('1,234.50')).toBe(1234.5);
    expect(parseAmount('$7.5')).toBe(7.5);
    expect(parseAmount('7,50')).toBe(7.5);
    expect(parseAmount('12.00 EUR')).toBe(12);
    expect(parseAmount('12.00 EURO')).toBeUndefined();
    // Decimal-comma locales, where the grouping says which mark is the decimal one.
    expect(parseAmount('1.234,50')).toBe(1234.5);
    expect(parseAmount('1.234.567')).toBe(1234567);
    expect(parseAmount('-12.345,6 €')).toBe(-12345.6);
    expect(parseAmount('1 234,50')).toBe(1234.5);
    expect(parseAmount('1\u00a0234,50')).toBe(1234.5);
    expect(parseAmount('12\u202f345')).toBe(12345);
    expect(parseAmount("1'234.50")).toBe(1234.5);
    // A decimal comma with any number of decimals but an ambiguous three: 0,125 and 1234,567 are no grouping.
    expect(parseAmount('0,125')).toBe(0.125);
    expect(parseAmount('4,2050')).toBe(4.205);
    expect(parseAmount('1234,567')).toBe(1234.567);
    expect(parseAmount('12,345,678')).toBe(12345678);
    // 4,205 is 4205 or 4.205 (a semicolon-separated sheet writes decimal commas): refused, saying so.
    expect(parseAmount('4,205')).toBeUndefined();
    // With the sheet's decimal mark, the amounts that read both ways are read as the sheet writes them.
    expect(parseAmount('4,205', ',')).toBe(4.205);
    expect(parseAmount('4,205', '.')).toBe(4205);
    expect(parseAmount('1.234', ',')).toBe(1234);
    expect(parseAmount('1.234', '.')).toBe(1.234);
    expect(parseAmount('1.234', undefined)).toBe(1.234);
    expect(parseAmount('12.345.678', ',')).toBe(12345678);
    expect(parseAmount('0,125', '.')).toBe(0.125);
    expect(() => mapShipmentRow({ shipping_cost: '4,205' }, utc())).toThrow(
      'unparseable shipping_cost "4,205" (expected a number such as 7.50; 4,205 may be 4205 or 4.205: write it without the comma, or with a point, or set the source\'s "decimalMark")',
    );
    // The source's decimalMark is read instead of the mark a file shows (a sheet's own, here a point).
    expect(mapShipmentRow({ shipping_cost: '4,205' }, { ...utc(), decimalMark: ',' })).toMatchObject({ shipping_cost: 4.205 });
    expect(mapShipmentRow({ shipping_cost: '1.234' }, { ...utc(), decimalMark: ',' }, { decimalMark: '.' })).toMatchObject({ shipping_cost: 1234 });
    // Marks that fit no locale's grouping are refused.
    expect(parseAmount('1.23,50')).toBeUndefined();
    expect(parseAmount('1 23,5')).toBeUndefined();
    expect(parseAmount('1.234,50.1')).toBeUndefined();
  });

  it('a cost written with the sign or code of one currency is in that currency; a currency column that says another is refused, naming both', () => {
    // The 3PL's export has no currency column: the reporting currency would be assumed.
    const columns = { 'Order Ref': 'order_id', 'Tracking #': 'tracking_number', Cost: 'shipping_cost' } as const;
    const row = (cost: string) => mapShipmentRow({ 'Order Ref': '3001', 'Tracking #': 'EU3001', Cost: cost }, utc(columns));
    expect(row('€ 7,50')).toEqual({ order_id: '3001', tracking_number: 'EU3001', shipping_cost: 7.5, currency: 'EUR' });
    expect(row('£7.50')).toMatchObject({ shipping_cost: 7.5, currency: 'GBP' });
    expect(row('EUR 7,50')).toMatchObject({ shipping_cost: 7.5, currency: 'EUR' });
    expect(row('7.50 CHF')).toMatchObject({ shipping_cost: 7.5, currency: 'CHF' });
    expect(row('7,50 zł')).toMatchObject({ shipping_cost: 7.5, currency: 'PLN' });
    expect(row('R$ 12,90')).toMatchObject({ shipping_cost: 12.9, currency: 'BRL' });
    // Without a sign, or with one that stands for several currencies, the record has no currency, as before.
    expect(row('7,50')).toEqual({ order_id: '3001', tracking_number: 'EU3001', shipping_cost: 7.5 });
    expect(row('$7.50')).toEqual({ order_id: '3001', tracking_number: 'EU3001', shipping_cost: 7.5 });
    expect(row('¥500')).toEqual({ order_id: '3001', tracking_number: 'EU3001', shipping_cost: 500 });
    expect(() => row('7,50 kr')).toThrow(/^unparseable shipping_cost "7,50 kr" in column "Cost" \(expected a number such as 7.50\)$/);
    // Three letters that are no currency's code are no code.
    expect(() => row('7.50 XYZ')).toThrow(/^unparseable shipping_cost "7.50 XYZ"/);

    const withCurrency = utc({ ...columns, Curr: 'currency' });
    const priced = (cost: string, currency: string) => mapShipmentRow({ 'Order Ref': '3001', 'Tracking #': 'EU3001', Cost: cost, Curr: currency }, withCurrency);
    // The currency column agrees, or is empty: the sign's currency.
    expect(priced('€ 7,50', 'eur')).toMatchObject({ shipping_cost: 7.5, currency: 'EUR' });
    expect(priced('€ 7,50', '')).toMatchObject({ shipping_cost: 7.5, currency: 'EUR' });
    expect(priced('$7.50', 'CAD')).toMatchObject({ shipping_cost: 7.5, currency: 'CAD' });
    expect(() => priced('€ 7,50', 'USD')).toThrow(
      'shipping_cost "€ 7,50" in column "Cost" is in EUR by its sign €, but currency in column "Curr" is USD: correct the one that is wrong in the file and land it again',
    );
    expect(() => priced('7.50 CHF', 'EUR')).toThrow(
      'shipping_cost "7.50 CHF" in column "Cost" is in CHF by its code, but currency in column "Curr" is EUR: correct the one that is wrong in the file and land it again',
    );
    // A JSON number carries no sign.
    expect(mapShipmentRow({ tracking_number: 'J1', shipping_cost: 7.5, currency: 'USD' }, undefined)).toMatchObject({ shipping_cost: 7.5, currency: 'USD' });
  });

  it('is checked when the config is read: an unknown target field and a missing source are reported', () => {
    const result = shipmentsConfig.safeParse({ columns: { 'Ship Date': 'ship_date' } });
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages.some((m) => m.startsWith('columns.Ship Date: expected a shipment field'))).toBe(true);
    expect(messages.some((m) => m.includes('set path'))).toBe(true);
  });
});

describe('the files of a drop', () => {
  const root = mkdtempSync(join(tmpdir(), 'verite-drop-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'in', 'eu'), { recursive: true });
  for (const name of ['in/b.csv', 'in/a.jsonl', 'in/notes.txt', 'in/.partial.csv', 'in/eu/c.csv']) writeFileSync(join(root, name), 'x\n');
  // What Office, LibreOffice, macOS and Windows leave beside the exports: no export, and not said to be left out.
  for (const name of ['in/~$b.xlsx', 'in/.~lock.b.csv#', 'in/.DS_Store', 'in/Thumbs.db', 'in/desktop.ini', 'in/DESKTOP.INI', 'in/eu/~$c.csv']) writeFileSync(join(root, name), 'x\n');

  it('lists a folder (not its subfolders), sorted, leaving hidden, lock and system files out unsaid, and unknown files out', async () => {
    expect(await listDropFiles('in', root)).toMatchObject({ files: [{ name: 'a.jsonl' }, { name: 'b.csv' }], ignored: ['notes.txt'] });
    expect(await listDropFiles('in/**/*', root)).toMatchObject({ files: [{ name: 'a.jsonl' }, { name: 'b.csv' }, { name: 'eu/c.csv' }], ignored: ['notes.txt'] });
  });

  it('lists a glob, across folders with **', async () => {
    expect((await listDropFiles('in/*.csv', root)).files.map((f) => f.name)).toEqual(['b.csv']);
    expect((await listDropFiles('in/**/*.csv', root)).files.map((f) => f.name)).toEqual(['b.csv', 'eu/c.csv']);
    expect((await listDropFiles('in/{a,b}.*', root)).files.map((f) => f.name)).toEqual(['a.jsonl', 'b.csv']);
  });

  it('says when the folder does not exist', async () => {
    await expect(listDropFiles('nowhere', root)).rejects.toThrow('nowhere does not exist');
  });
});

describe('an EasyPost tracker as a shipment', () => {
  const tracker = {
    id: 'trk_1',
    tracking_code: '9400 1000 0000 0000 0000 01',
    carrier: 'USPS',
    status: 'delivered',
    shipment_id: 'shp_1',
    est_delivery_date: '2024-05-03T00:00:00Z',
    carrier_detail: { service: 'Priority', est_delivery_date_local: '2024-05-03' },
    tracking_details: [
      { status: 'delivered', datetime: '2024-05-03T16:10:00Z' },
      { status: 'pre_transit', datetime: '2024-05-01T09:00:00Z' },
      { status: 'in_transit', datetime: '2024-05-01T18:00:00-04:00' },
    ],
    created_at: '2024-05-01T09:00:00Z',
    updated_at: '2024-05-03T16:15:00Z',
  };
  const shipment = { id: 'shp_1', created_at: null, reference: '#1001', print_custom_1: null, rate: '7.58', currency: 'usd', carrier: 'USPS', service: 'Priority' };

  it('dates shipping from the first carrier scan and delivery from the delivered scan', () => {
    expect(trackerToShipment(tracker, shipment)).toMatchObject({
      order_id: '#1001',
      tracking_number: '9400100000000000000001',
      carrier: 'USPS',
      service: 'Priority',
      // 18:00 at -04:00 is 22:00 UTC; the pre_transit scan is only the label.
      shipped_at: '2024-05-01T22:00:00.000Z',
      estimated_delivery_at: '2024-05-03',
      delivered_at: '2024-05-03T16:10:00.000Z',
      returned_at: null,
      status: 'delivered',
      shipping_cost: 7.58,
      currency: 'USD',
      updated_at: '2024-05-03T16:15:00.000Z',
    });
  });

  it('takes print_custom_1 without a reference, and a parcel sent back is returned, not delivered', () => {
    const back = {
      ...tracker,
      status: 'return_to_sender',
      tracking_details: [
        { status: 'in_transit', datetime: '2024-05-01T20:00:00Z' },
        { status: 'return_to_sender', datetime: '2024-05-04T10:00:00Z' },
        { status: 'delivered', datetime: '2024-05-07T10:00:00Z' },
      ],
    };
    expect(trackerToShipment(back, { ...shipment, reference: null, print_custom_1: '5001' })).toMatchObject({
      order_id: '5001',
      delivered_at: null,
      returned_at: '2024-05-04T10:00:00.000Z',
    });
  });

  it("takes a return label from the Shipment's is_return, and from the tracker's when it has one", () => {
    const used = { ...tracker, tracking_details: [{ status: 'in_transit', datetime: '2024-05-09T20:00:00Z' }, { status: 'delivered', datetime: '2024-05-10T15:00:00Z' }] };
    const back = { delivered_at: null, returned_at: '2024-05-10T15:00:00.000Z' };
    expect(trackerToShipment(used, { ...shipment, is_return: true })).toMatchObject(back);
    expect(trackerToShipment({ ...used, is_return: true }, { ...shipment, is_return: null })).toMatchObject(back);
    expect(trackerToShipment({ ...used, is_return: false }, { ...shipment, is_return: true })).toMatchObject(back);
    expect(trackerToShipment({ ...used, is_return: true }, undefined)).toMatchObject(back);
    expect(trackerToShipment(used, { ...shipment, is_return: false })).toMatchObject({ delivered_at: '2024-05-10T15:00:00.000Z', returned_at: null });
  });

  it('reads an est_delivery_date at midnight UTC, without a local date, as the calendar date it stands for', () => {
    const promised = (est_delivery_date: string | null, est_delivery_date_local: string | null = null) =>
      trackerToShipment({ ...tracker, est_delivery_date, carrier_detail: { service: 'Priority', est_delivery_date_local } }, shipment).estimated_delivery_at;
    for (const midnight of ['2024-05-03T00:00:00Z', '2024-05-03T00:00:00.000Z', '2024-05-03T00:00:00', '2024-05-03T00:00:00+00:00']) expect(promised(midnight), midnight).toBe('2024-05-03');
    // The carrier's local date comes first; any other time is an instant.
    expect(promised('2024-05-03T00:00:00Z', '2024-05-04')).toBe('2024-05-04');
    expect(promised('2024-05-03T18:00:00Z')).toBe('2024-05-03T18:00:00.000Z');
    expect(promised('2024-05-03T00:00:00+02:00')).toBe('2024-05-02T22:00:00.000Z');
    expect(promised(null)).toBeNull();
  });

  it('lists created-at windows of at most 30 days, overlapping by a second', () => {
    expect(listWindows('2024-01-01T00:00:00.000Z', '2024-02-15T00:00:00.000Z')).toEqual([
      { start: '2023-12-31T23:59:59.000Z', end: '2024-01-31T00:00:01.000Z' },
      { start: '2024-01-30T23:59:59.000Z', end: '2024-02-15T00:00:01.000Z' },
    ]);
  });
});

describe("a sheet's decimal mark", () => {
  it('is what an amount that cannot be read two ways shows', () => {
    for (const comma of ['7,50', '0,125', '1234,567', '1.234,50', '1 234,50', '12.345.678', '-3,5 €']) expect(decimalMarkOf(comma), comma).toBe(',');
    for (const point of ['7.50', '0.125', '1234.567', '1,234.50', "1'234.50", '12,345,678', '$3.5']) expect(decimalMarkOf(point), point).toBe('.');
    for (const neither of ['12', '1.234', '4,205', '-999,000', '', 'free']) expect(decimalMarkOf(neither), neither).toBeUndefined();
  });

  it("is the file's when its amounts agree, and none when they disagree or show none", () => {
    expect(sheetDecimalMark(['12', '4,205', '7,50', '1.234'])).toBe(',');
    expect(sheetDecimalMark(['4,205', '7.50'])).toBe('.');
    expect(sheetDecimalMark(['7,50', '7.50'])).toBeUndefined();
    expect(sheetDecimalMark(['12', '4,205'])).toBeUndefined();
  });

  it('a 1.234 with a currency sign reads both ways as one without; read away from its file with no mark known, it is refused', () => {
    expect(decimalMarkOf('1.234 €')).toBeUndefined();
    expect(doubtfulAmount('1.234 €')).toBe(true);
    expect(doubtfulAmount('EUR 2.500')).toBe(true);
    expect(doubtfulAmount('1.234,50 €')).toBe(false);
    expect(doubtfulAmount('0.125')).toBe(false);
    expect(parseAmount('1.234 €', ',')).toBe(1234);
    expect(mapShipmentRow({ order_id: '1', shipping_cost: '2.500 €' }, undefined, { decimalMark: ',' })).toMatchObject({ shipping_cost: 2500, currency: 'EUR' });
    // A retried row (no file around it): its file's mark, else refused.
    expect(mapShipmentRow({ order_id: '1', shipping_cost: '1.234' }, undefined, { decimalMark: ',', withoutFile: true })).toMatchObject({ shipping_cost: 1234 });
    expect(() => mapShipmentRow({ order_id: '1', shipping_cost: '1.234' }, undefined, { withoutFile: true })).toThrow(
      'unparseable shipping_cost "1.234" (1.234 may be 1234 or 1.234, and a retried row has no file to show which: set the source\'s "decimalMark" and retry, or import the file again)',
    );
    expect(mapShipmentRow({ order_id: '1', shipping_cost: '1.234' }, { ...utc(), decimalMark: '.' }, { withoutFile: true })).toMatchObject({ shipping_cost: 1.234 });
    // The mark of the columns a mapping reads the amount from, as the file showed it in each.
    expect(columnsMark({ Cost: ',', Weight: '.' }, ['Cost'])).toBe(',');
    expect(columnsMark({ Cost: ',', Fee: ',' }, ['Cost', 'Fee', 'shipping_cost'])).toBe(',');
    expect(columnsMark({ Cost: ',', Fee: '.' }, ['Cost', 'Fee'])).toBeUndefined();
    expect(columnsMark({ Cost: null }, ['Cost'])).toBeUndefined();
    expect(columnsMark(null, ['Cost'])).toBeUndefined();
  });

  it('reads a shipping cost that reads both ways as the sheet says', () => {
    expect(mapShipmentRow({ order_id: '1', shipping_cost: '1.234' }, undefined, { decimalMark: ',' })).toMatchObject({ shipping_cost: 1234 });
    expect(() => mapShipmentRow({ order_id: '1', shipping_cost: '4,205' }, undefined)).toThrow('4,205 may be 4205 or 4.205');
    expect(mapShipmentRow({ order_id: '1', shipping_cost: '4,205' }, undefined, { decimalMark: '.' })).toMatchObject({ shipping_cost: 4205 });
  });
});
