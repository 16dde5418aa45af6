import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { landPage, landPages } from '../../loaders/raw-loader.ts';
import { catalog, type StreamIdentity } from '../../catalog/catalog.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { rawChanges } from '../../transforms/raw-changes.ts';
import { sql } from 'kysely';
import pg from 'pg';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('raw_changes');
});
afterAll(async () => wh?.close());

const orders = catalog.shopify.orders;
// The GA4 report stream, keyed here by date and source so the keys in the assertions are plain.
const traffic: StreamIdentity = { ...catalog.ga4.traffic_daily, keyOf: (r) => `${String(r.date)}/${String(r.sessionSource)}` };
// The same table keyed by source alone: a re-extraction can move a key to another date.
const trafficBySource: StreamIdentity = { ...catalog.ga4.traffic_daily, keyOf: (r) => String(r.sessionSource) };

const visit = (date: string, source: string, sessions: string) => ({
  property_id: 'p1', date, sessionDefaultChannelGroup: 'x', sessionSource: source, sessionMedium: 'm',
  sessionCampaignName: 'c', deviceCategory: 'desktop', sessions,
});

/** The changes a run recorded, as [stream, key, report date, removed], sorted. */
async function changes(runId: string): Promise<[string, string, string | null, boolean][]> {
  const res = await wh.pool.query(
    `select stream, key, to_char(report_date, 'YYYY-MM-DD') as report_date, removed, batch_id from ops.raw_changes where run_id = $1 order by stream, key, report_date, removed`,
    [runId],
  );
  return res.rows.map((r) => [r.stream, r.key, r.report_date, r.removed]);
}

describe('ops.raw_changes: what each landed page changed in raw', () => {
  it('records the keys written (new or changed), not those unchanged or older than the landed version', async () => {
    const target = { source: 'shopify', stream: orders, runId: 'e1', batchId: 'e1b' };
    await landPage(wh.pool, target, {
      records: [
        { id: 1, updated_at: '2024-01-01T10:00:00Z', total_price: '10.00' },
        { id: 2, updated_at: '2024-01-01T11:00:00Z', total_price: '20.00' },
      ],
    });
    expect(await changes('e1')).toEqual([
      ['orders', '1', null, false],
      ['orders', '2', null, false],
    ]);
    // 1 changes, 2 comes again unchanged, 3 is new, an older version of 2 loses.
    await landPages(wh.pool, { source: 'shopify', stream: orders, runId: 'e2' }, [
      { records: [{ id: 1, updated_at: '2024-01-02T10:00:00Z', total_price: '11.00' }, { id: 2, updated_at: '2024-01-01T11:00:00Z', total_price: '20.00' }] },
      { records: [{ id: 3, updated_at: '2024-01-02T12:00:00Z', total_price: '30.00' }, { id: 2, updated_at: '2023-12-01T00:00:00Z', total_price: '99.00' }] },
    ]);
    expect(await changes('e2')).toEqual([
      ['orders', '1', null, false],
      ['orders', '3', null, false],
    ]);
    // The same records again: a run with no new data records nothing.
    await landPage(wh.pool, { ...target, runId: 'e3', batchId: 'e3b' }, {
      records: [{ id: 1, updated_at: '2024-01-02T10:00:00Z', total_price: '11.00' }, { id: 3, updated_at: '2024-01-02T12:00:00Z', total_price: '30.00' }],
    });
    expect(await changes('e3')).toEqual([]);
  });

  it('records the report rows a restated date removes, with their date, and those it writes', async () => {
    await landPages(wh.pool, { source: 'ga4', stream: traffic, runId: 'd1', batchId: 'd1b' }, [
      { records: [visit('20240301', 'a', '1'), visit('20240301', 'b', '2')], dates: ['2024-03-01'] },
      { records: [visit('20240302', 'a', '3')], dates: ['2024-03-02'] },
    ]);
    expect(await changes('d1')).toEqual([
      ['traffic_daily', '20240301/a', '2024-03-01', false],
      ['traffic_daily', '20240301/b', '2024-03-01', false],
      ['traffic_daily', '20240302/a', '2024-03-02', false],
    ]);
    // 1 March restated: a changed, b gone, c new. 2 March comes again unchanged.
    await landPages(wh.pool, { source: 'ga4', stream: traffic, runId: 'd2', batchId: 'd2b' }, [
      { records: [visit('20240301', 'a', '10'), visit('20240301', 'c', '4')], dates: ['2024-03-01'] },
      { records: [visit('20240302', 'a', '3')], dates: ['2024-03-02'] },
    ]);
    expect(await changes('d2')).toEqual([
      ['traffic_daily', '20240301/a', '2024-03-01', false],
      ['traffic_daily', '20240301/b', '2024-03-01', true],
      ['traffic_daily', '20240301/c', '2024-03-01', false],
    ]);
    const batches = await wh.pool.query(`select distinct batch_id from ops.raw_changes where run_id = 'd2'`);
    expect(batches.rows).toEqual([{ batch_id: 'd2b' }]);
  });

  it('records a report row that moved to another date under both dates, the one it left as removed', async () => {
    await wh.pool.query('delete from raw.ga4__traffic_daily');
    await landPage(wh.pool, { source: 'ga4', stream: trafficBySource, runId: 'm1', batchId: 'm1b' }, { records: [visit('20240305', 'z', '1')], dates: ['2024-03-05'] });
    // The next extraction covers 6 March only and finds key z there.
    await landPage(wh.pool, { source: 'ga4', stream: trafficBySource, runId: 'm2', batchId: 'm2b' }, { records: [visit('20240306', 'z', '1')], dates: ['2024-03-06'] });
    expect(await changes('m2')).toEqual([
      ['traffic_daily', 'z', '2024-03-05', true],
      ['traffic_daily', 'z', '2024-03-06', false],
    ]);
  });

  it('records nothing for a page that does not land', async () => {
    const failing = landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'f1', batchId: 'f1b' }, {
      records: [{ id: 7, updated_at: '2024-02-01T00:00:00Z' }, { id: 1, updated_at: '2024-02-01T00:00:00Z', total_price: '12.00' }],
      afterLand: async () => {
        throw new Error('connection lost');
      },
    });
    await expect(failing).rejects.toThrow(/connection lost/);
    expect(await changes('f1')).toEqual([]);
    const landed = await wh.pool.query(`select _key, _record->>'total_price' as total from raw.shopify__orders where _key in ('1', '7') order by _key`);
    expect(landed.rows).toEqual([{ _key: '1', total: '11.00' }]);
  });

  it('rawChanges gives the changes of one stream after a watermark and up to the newest consumed', async () => {
    await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'w1', batchId: 'w1b' }, { records: [{ id: 41, updated_at: '2024-04-01T00:00:00Z' }] });
    const watermark = (await wh.pool.query(`select max(change_id)::text as id from ops.raw_changes`)).rows[0].id as string;
    await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'w2', batchId: 'w2b' }, {
      records: [{ id: 41, updated_at: '2024-04-02T00:00:00Z' }, { id: 42, updated_at: '2024-04-02T00:00:00Z' }],
    });
    await landPage(wh.pool, { source: 'ga4', stream: traffic, runId: 'w2', batchId: 'w2c' }, { records: [visit('20240401', 'q', '1')], dates: ['2024-04-01'] });
    const through = (await wh.pool.query(`select max(change_id)::text as id from ops.raw_changes`)).rows[0].id as string;
    // Landed after the build read its range: not consumed by it.
    await landPage(wh.pool, { source: 'shopify', stream: orders, runId: 'w3', batchId: 'w3b' }, { records: [{ id: 43, updated_at: '2024-04-03T00:00:00Z' }] });
    const range = { after: watermark, through };
    const read = async (source: string, stream: string) =>
      (await sql<{ key: string; removed: boolean }>`select key, removed from ${rawChanges(source, stream, range)} as c order by key`.execute(wh.db)).rows;
    expect(await read('shopify', 'orders')).toEqual([
      { key: '41', removed: false },
      { key: '42', removed: false },
    ]);
    expect(await read('ga4', 'traffic_daily')).toEqual([{ key: '20240401/q', removed: false }]);
  });
  it('re-reading a large report page joins its old and new rows reading each once, planned for the page, not for the first page of the session', async () => {
    // One server session for the whole test, with every statement's plan sent to it (the
    // trigger's own statements included), as the server would log them with auto_explain.
    const single = new pg.Pool({ connectionString: wh.url, max: 1 });
    const plans: string[] = [];
    single.on('connect', (client) => {
      client.on('notice', (n) => {
        if (n.message?.includes('Query Text:')) plans.push(n.message);
      });
    });
    try {
      const setup = await single.connect();
      await setup.query(`load 'auto_explain'`);
      await setup.query(`set auto_explain.log_min_duration = 0`);
      await setup.query(`set auto_explain.log_analyze = on`);
      await setup.query(`set auto_explain.log_nested_statements = on`);
      await setup.query(`set auto_explain.log_parameter_max_length = 0`);
      await setup.query(`set client_min_messages = log`);
      setup.release();
      const page = (date: string, n: number, changed?: number) => ({
        records: Array.from({ length: n }, (_, i) => visit(date, `s${i}`, i === changed ? '9' : '1')),
        dates: [date.replace(/(\d{4})(\d{2})(\d{2})/, '$1-$2-$3')],
      });
      const target = (run: string) => ({ source: 'ga4', stream: traffic, runId: run, batchId: `${run}b` });
      // A one-row page read twice: the session's first UPDATE of a raw table has one row.
      await landPage(single, target('p1'), page('20240601', 1));
      await landPage(single, target('p2'), page('20240601', 1));
      // Then 2,000 rows of another date, read again with one changed.
      await landPage(single, target('p3'), page('20240602', 2_000));
      plans.length = 0;
      await landPage(single, target('p4'), page('20240602', 2_000, 1_234));

      // What is recorded: the one changed row, not the 1,999 whose extraction only moved.
      expect(await changes('p4')).toEqual([['traffic_daily', '20240602/s1234', '2024-06-02', false]]);
      expect((await wh.pool.query(`select count(*)::int as n from raw.ga4__traffic_daily where _report_date = '2024-06-02' and _batch_id = 'p4b'`)).rows[0].n).toBe(2_000);

      // The change log's join for the 1,999 rows whose extraction only moved: each side read
      // once, sorted or hashed by key. Planned for the one-row statement before it, it was a
      // nested loop reading one side 1,999 times (about 4,000,000 pairs compared).
      const readRows = (plan: string) => [...plan.matchAll(/Named Tuplestore Scan .*actual .*rows=(\d+)/g)].map((m) => Number(m[1]));
      const join = plans.filter((p) => /insert into ops\.raw_changes/.test(p) && readRows(p).some((n) => n === 1_999));
      expect(join.length, plans.filter((p) => p.includes('raw_changes')).join('\n\n')).toBe(1);
      expect(join[0]).toMatch(/(Hash|Merge) Join/);
      expect(join[0]).not.toMatch(/Nested Loop/);
      expect(join[0]).not.toMatch(/loops=1999\b/);
    } finally {
      await single.end();
    }
  });
});
