import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landPage, landPages } from '../../loaders/raw-loader.ts';
import { RawText } from '../../loaders/raw-text.ts';
import { LocatedRecord } from '../../loaders/raw-text.ts';
import { catalog, isoTimestamp, reportDate } from '../../catalog/catalog.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('loader');
});
afterAll(async () => wh?.close());

const orders = catalog.shopify.orders;
const ga4 = catalog.ga4.traffic_daily;

async function rows(table: string): Promise<Record<string, unknown>[]> {
  return (await wh.pool.query(`select _key, _record, _report_date, _batch_id from ${table} order by _key`)).rows;
}

describe('raw loader', () => {
  it('lands records by key, keeps the newest version and does not rewrite unchanged ones', async () => {
    const target = { source: 'shopify', stream: orders, runId: 'r1', batchId: 'b1' };
    const first = await landPage(wh.pool, target, {
      records: [
        { id: 1, updated_at: '2024-01-01T10:00:00Z', total_price: '10.00' },
        { id: 2, updated_at: '2024-01-01T11:00:00Z', total_price: '20.00' },
      ],
      state: { updated_at: '2024-01-01T11:00:00Z' },
    });
    expect(first).toEqual({ received: 2, written: 2, unchanged: 0, quarantined: 0 });

    // Same record again: unchanged. Older version of 2: ignored. Newer version of 1: replaces.
    const second = await landPage(wh.pool, { ...target, runId: 'r2', batchId: 'b2' }, {
      records: [
        { id: 1, updated_at: '2024-01-02T10:00:00Z', total_price: '11.00' },
        { id: 2, updated_at: '2023-12-31T00:00:00Z', total_price: '99.00' },
        { id: 2, updated_at: '2024-01-01T11:00:00Z', total_price: '20.00' },
      ],
    });
    expect(second.written).toBe(1);
    const landed = await rows('raw.shopify__orders');
    expect(landed.map((r) => [r._key, (r._record as { total_price: string }).total_price])).toEqual([
      ['1', '11.00'],
      ['2', '20.00'],
    ]);
    const state = await wh.pool.query(`select state, data_through from ops.stream_state where source = 'shopify' and stream = 'orders'`);
    expect(state.rows[0].state).toEqual({ updated_at: '2024-01-01T11:00:00Z' });
    expect((state.rows[0].data_through as Date).toISOString()).toBe('2024-01-02T10:00:00.000Z');
  });

  it('quarantines broken JSON, non-objects and records without a key, and lands the rest', async () => {
    const target = { source: 'shopify', stream: orders, runId: 'r3', batchId: 'b3' };
    const result = await landPage(wh.pool, target, {
      records: [
        new RawText('{"id": 10, "updated_at": "2024-02-01T00:00:00Z"}', 'f.jsonl:1'),
        new RawText('{"id": 11, "updated_at": ', 'f.jsonl:2'),
        new RawText('[1,2]', 'f.jsonl:3'),
        new RawText('{"name": "#1001"}', 'f.jsonl:4'),
        { id: 12, note: 'bad \u0000 byte' },
      ],
    });
    expect(result).toMatchObject({ received: 5, written: 1, quarantined: 4 });
    const q = await wh.pool.query(`select reason, location from ops.quarantine where run_id = 'r3' order by location`);
    expect(q.rows.map((r) => r.location)).toEqual(['f.jsonl:2', 'f.jsonl:3', 'f.jsonl:4', 'page record 5']);
    expect(q.rows[0].reason).toMatch(/not valid JSON/);
    expect(q.rows[1].reason).toMatch(/not a JSON object/);
    expect(q.rows[2].reason).toMatch(/no key \(id\)/);
    expect(q.rows[3].reason).toMatch(/NUL/);
    // Offered again, the same bad records are not quarantined twice.
    await landPage(wh.pool, target, { records: [new RawText('{"id": 11, "updated_at": ', 'f.jsonl:2')] });
    const count = await wh.pool.query(`select count(*)::int as n from ops.quarantine where run_id = 'r3'`);
    expect(count.rows[0].n).toBe(4);
  });

  it('replaces the rows of every date a report extraction covers, across its pages', async () => {
    const row = (date: string, source: string, sessions: string) => ({
      property_id: 'p1', date, sessionDefaultChannelGroup: 'x', sessionSource: source, sessionMedium: 'm',
      sessionCampaignName: 'c', deviceCategory: 'desktop', sessions,
    });
    const run1 = [
      { records: [row('20240301', 'a', '1'), row('20240301', 'b', '2')], dates: ['2024-03-01'] },
      { records: [row('20240301', 'c', '3')], dates: ['2024-03-01'] },
      { records: [row('20240302', 'a', '4')], dates: ['2024-03-02'] },
    ];
    await landPages(wh.pool, { source: 'ga4', stream: ga4, runId: 'r1' }, run1);
    expect((await rows('raw.ga4__traffic_daily')).length).toBe(4);
    // The restated 1 March now has only source a (changed) and d; 2 March has no rows any more.
    const run2 = [
      { records: [row('20240301', 'a', '10')], dates: ['2024-03-01'] },
      { records: [row('20240301', 'd', '5')], dates: ['2024-03-01'] },
      { records: [], dates: ['2024-03-02'] },
    ];
    const second = await landPages(wh.pool, { source: 'ga4', stream: ga4, runId: 'r2' }, run2);
    expect(second.written).toBe(2); // a changed, d new
    const after = await rows('raw.ga4__traffic_daily');
    expect(after.map((r) => [r._report_date, (r._record as { sessionSource: string }).sessionSource, (r._record as { sessions: string }).sessions])).toEqual([
      ['2024-03-01', 'a', '10'],
      ['2024-03-01', 'd', '5'],
    ]);
    // The same report again, each date in one page: nothing is rewritten, nothing is lost.
    // (A date spread over several pages has its rows from later pages written again.)
    const sameAgain = [
      { records: [row('20240301', 'a', '10'), row('20240301', 'd', '5')], dates: ['2024-03-01'] },
      { records: [], dates: ['2024-03-02'] },
    ];
    const third = await landPages(wh.pool, { source: 'ga4', stream: ga4, runId: 'r3' }, sameAgain);
    expect(third).toMatchObject({ written: 0, unchanged: 2 });
    expect((await rows('raw.ga4__traffic_daily')).length).toBe(2);
  });

  describe('issue 17: the newest version wins', () => {
    const order = (id: number, updatedAt: string, total: string) => ({ id, updated_at: updatedAt, total_price: total });
    const totals = async (ids: number[]) =>
      (await wh.pool.query(`select _key, _record->>'total_price' as total from raw.shopify__orders where _key = any($1::text[]) order by _key`, [ids.map(String)])).rows.map(
        (r) => [r._key, r.total],
      );

    it('within one page, keeps the version with the latest updated_at wherever it stands, and the last of equal ones', async () => {
      // 32 is already landed (1 January): a page holding two later versions of it lands the later.
      await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'v0', batchId: 'v0' }, { records: [order(32, '2024-01-01T00:00:00Z', '1.00')] });
      const result = await landPages(wh.pool, { source: 'shopify', stream: orders, runId: 'v1' }, [
        {
          records: [
            order(30, '2024-05-02T10:00:00Z', 'newer'),
            order(30, '2024-05-01T10:00:00Z', 'older'),
            order(31, '2024-05-01T10:00:00Z', 'first of two equal'),
            order(31, '2024-05-01T12:00:00+02:00', 'last of two equal'),
            order(32, '2024-01-03T00:00:00Z', 'newer'),
            order(32, '2024-01-02T00:00:00Z', 'older'),
          ],
        },
      ]);
      expect(await totals([30, 31, 32])).toEqual([
        ['30', 'newer'],
        ['31', 'last of two equal'],
        ['32', 'newer'],
      ]);
      // Three rows written; the three versions left behind are counted as not written.
      expect(result).toMatchObject({ received: 6, written: 3, unchanged: 3, quarantined: 0 });
    });

    it('across the pages of one read, an older version in a later page does not overwrite the newer', async () => {
      await landPages(wh.pool, { source: 'shopify', stream: orders, runId: 'v2' }, [
        { records: [order(33, '2024-06-02T00:00:00Z', 'newer')] },
        { records: [order(33, '2024-06-01T00:00:00Z', 'older')] },
      ]);
      expect(await totals([33])).toEqual([['33', 'newer']]);
    });
  });

  describe('issue 17: a record the warehouse cannot take is quarantined, never its neighbours', () => {
    const quarantined = async (runId: string) =>
      (await wh.pool.query(`select reason, location, length(raw) as length from ops.quarantine where run_id = $1 order by location`, [runId])).rows;

    it('quarantines a record nested 100,000 levels deep and lands the rest of its page', async () => {
      const deep = `{"id": 41, "x": ${'['.repeat(99_999)}${']'.repeat(99_999)}}`;
      // An extractor's object nested 300 levels: JSON.stringify copes, PostgreSQL could too, the limit does not.
      let nested: Record<string, unknown> = {};
      for (let level = 0; level < 299; level++) nested = { n: nested };
      // 256 levels exactly (the record and 255 arrays) is within the limit.
      const atLimit = `{"id": 44, "x": ${'['.repeat(255)}${']'.repeat(255)}}`;
      const result = await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'deep', batchId: 'deep' }, {
        records: [
          new RawText('{"id": 40, "updated_at": "2024-07-01T00:00:00Z"}', 'deep.jsonl:1'),
          new RawText(deep, 'deep.jsonl:2'),
          { id: 42, nested },
          new RawText(atLimit, 'deep.jsonl:4'),
          new RawText('{"id": 43, "updated_at": "2024-07-01T00:00:00Z"}', 'deep.jsonl:5'),
        ],
      });
      expect(result).toMatchObject({ received: 5, written: 3, quarantined: 2 });
      const keys = (await wh.pool.query(`select _key from raw.shopify__orders where _key in ('40', '41', '42', '43', '44') order by _key`)).rows.map((r) => r._key);
      expect(keys).toEqual(['40', '43', '44']);
      const reason = 'nested too deeply: more than 256 levels of objects and arrays (PostgreSQL\'s jsonb cannot be relied on past that)';
      expect(await quarantined('deep')).toEqual([
        { reason, location: 'deep.jsonl:2', length: deep.length },
        { reason, location: 'page record 3', length: JSON.stringify({ id: 42, nested }).length },
      ]);
    });

    it('quarantines a record over 16 MiB, keeping its first 64 KiB, and lands the rest of its page', async () => {
      const big = { id: 51, pad: 'a'.repeat(16 * 1024 * 1024) };
      const result = await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'big', batchId: 'big' }, {
        records: [big, { id: 52, updated_at: '2024-07-01T00:00:00Z' }],
      });
      expect(result).toMatchObject({ received: 2, written: 1, quarantined: 1 });
      // {"id":51,"pad":"…"} is 16 MiB (16,777,216 bytes) of padding and 18 other characters.
      expect(await quarantined('big')).toEqual([
        { reason: `too large: 16,777,234 bytes of JSON, over the limit of 16 MiB per record (its first 64 KiB are kept here)`, location: 'page record 1', length: 64 * 1024 },
      ]);
    });

    it('quarantines a line holding a NUL byte (broken JSON) with the NUL written out, and lands the rest', async () => {
      const result = await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'nul', batchId: 'nul' }, {
        // A NUL character as such, not escaped (JSON allows neither): PostgreSQL text cannot hold it.
        records: [new RawText('{"id": 61, "note": "a\u0000b"}', 'nul.jsonl:1'), new RawText('{"id": 62}', 'nul.jsonl:2')],
      });
      expect(result).toMatchObject({ received: 2, written: 1, quarantined: 1 });
      const q = await wh.pool.query(`select raw, location from ops.quarantine where run_id = 'nul'`);
      expect(q.rows).toEqual([{ raw: '{"id": 61, "note": "a\\u0000b"}', location: 'nul.jsonl:1' }]);
    });

    it('a version is a timestamp of the years 1 to 9999, and reading one never throws', () => {
      expect(isoTimestamp(1_700_000_000)).toBe('2023-11-14T22:13:20.000Z');
      expect(isoTimestamp('2024-03-01T10:00:00+01:00')).toBe('2024-03-01T09:00:00.000Z');
      // The last instant of 9999 and the first of year 1 are kept; a millisecond outside them is not.
      expect(isoTimestamp('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
      expect(isoTimestamp('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
      expect(isoTimestamp('0000-12-31T23:59:59.999Z')).toBeUndefined();
      // 253,402,300,800 s after 1970 is 10000-01-01T00:00:00Z.
      expect(isoTimestamp(253_402_300_800)).toBeUndefined();
      expect(isoTimestamp(1_700_000_000_000)).toBeUndefined();
      expect(() => isoTimestamp(1e20)).not.toThrow();
      expect(isoTimestamp(1e20)).toBeUndefined();
      expect(isoTimestamp(Number.NaN)).toBeUndefined();
      // PostgreSQL has no year 0: a report date of it is none.
      expect(reportDate('0000-01-01')).toBeUndefined();
      expect(reportDate('0001-01-01')).toBe('0001-01-01');
    });

    it('a record whose version PostgreSQL cannot store is quarantined naming its key and why, and its neighbours land', async () => {
      const charges = catalog.stripe.charges;
      const charge = (id: string, created: unknown) => ({ id, object: 'charge', amount: 100, currency: 'usd', created });
      const result = await landPage(wh.pool, { source: 'stripe', stream: charges, runId: 'version', batchId: 'version' }, {
        records: [
          // 1,700,000,001 s after 1970 is 2023-11-14T22:13:21Z.
          charge('ch_good', 1_700_000_001),
          // Milliseconds where seconds are expected: as seconds, 1.7e12 s is about 53,900 years after 1970, the year 55840.
          charge('ch_ms', 1_700_000_000_000),
          // 1e20 s is past the ±8.64e15 ms a JavaScript date holds.
          charge('ch_huge', 1e20),
          // Text that is no date lands without its version, as before: the build sets it aside.
          charge('ch_text', 'yesterday'),
          // No version at all: it lands without one, as before.
          charge('ch_none', null),
        ],
      });
      expect(result).toMatchObject({ received: 5, written: 3, quarantined: 2 });
      const landed = await wh.pool.query(`select _key, _version from raw.stripe__charges order by _key`);
      expect(landed.rows).toEqual([
        { _key: 'ch_good', _version: new Date('2023-11-14T22:13:21Z') },
        { _key: 'ch_none', _version: null },
        { _key: 'ch_text', _version: null },
      ]);
      const q = await wh.pool.query(`select source, stream, location, reason from ops.quarantine where run_id = 'version' order by location`);
      expect(q.rows).toEqual([
        {
          source: 'stripe', stream: 'charges', location: 'page record 2',
          // 1,700,000,000,000 ms after 1970 is 2023-11-14T22:13:20Z.
          reason: 'key ch_ms: its version created 1700000000000 is not a timestamp between the years 1 and 9999: it reads as Unix milliseconds (2023-11-14T22:13:20.000Z), where seconds are expected',
        },
        { source: 'stripe', stream: 'charges', location: 'page record 3', reason: 'key ch_huge: its version created 100000000000000000000 is not a timestamp between the years 1 and 9999' },
      ]);
    });

    it('names the file and line of a CSV row it quarantines', async () => {
      await landPage(wh.pool, { source: 'fx', stream: catalog.fx.rates, runId: 'csv', batchId: 'csv' }, {
        records: [new LocatedRecord({ date: '2024-03-01', quote: 'USD', rate: '1.08' }, 'rates.csv:7')],
      });
      expect((await quarantined('csv')).map((q) => [q.location, q.reason])).toEqual([['rates.csv:7', 'no key (base + quote + date)']]);
    });
  });
});
