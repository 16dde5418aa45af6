import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landPage, landPages, RawText } from '../../loaders/index.ts';
import { catalog } from '../../extractors/catalog.ts';
import type { Warehouse } from '../../warehouse/index.ts';
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
});
