import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from '../../catalog/catalog.ts';
import { landPage, landPages } from '../../loaders/raw-loader.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('after_land');
});
afterAll(async () => wh?.close());

const shipments = catalog.shipments.shipments;

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await wh.pool.query(`select count(*)::int as n from (${sql}) q`, params)).rows[0].n;
}

describe('a page hook run inside the landing transaction (afterLand)', () => {
  it('sees the page rows it follows and commits with them', async () => {
    let seenInside = -1;
    let target: unknown;
    await landPage(wh.pool, { source: 'shipments', stream: shipments, runId: 'r1', batchId: 'b1' }, {
      records: [{ tracking_number: 'T1' }, { tracking_number: 'T2' }],
      state: { updated_at: '2024-05-01T00:00:00.000Z' },
      afterLand: async (tx, t) => {
        target = t;
        seenInside = Number((await tx.query('select count(*)::int as n from raw.shipments__shipments')).rows[0]!.n);
        await tx.query(`insert into ops.landed_files (source, stream, name, size, checksum, records, run_id) values ($1, $2, 'a.csv', 10, 'abc', 2, $3)`, [t.source, t.stream, t.runId]);
      },
    });
    expect(seenInside).toBe(2);
    expect(target).toEqual({ source: 'shipments', stream: 'shipments', runId: 'r1' });
    expect(await count(`select 1 from ops.landed_files where name = 'a.csv' and run_id = 'r1'`)).toBe(1);
  });

  it('rolls the whole page back when it throws: no rows, no cursor, nothing it wrote', async () => {
    const target = { source: 'shipments', stream: shipments, runId: 'r2', batchId: 'b2' };
    await expect(
      landPage(wh.pool, target, {
        records: [{ tracking_number: 'T3' }],
        state: { updated_at: '2024-06-01T00:00:00.000Z' },
        afterLand: async (tx) => {
          await tx.query(`insert into ops.landed_files (source, stream, name, size, checksum, records) values ('shipments', 'shipments', 'b.csv', 5, 'def', 1)`);
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(await count(`select 1 from raw.shipments__shipments where _key = 'T3'`)).toBe(0);
    expect(await count(`select 1 from ops.landed_files where name = 'b.csv'`)).toBe(0);
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'shipments' and stream = 'shipments'`);
    expect(state.rows[0].state).toEqual({ updated_at: '2024-05-01T00:00:00.000Z' });
  });

  it('runs on a page without records, whose hook may only read, and a later page can use what it read', async () => {
    const names: string[] = [];
    async function* pages() {
      let read!: () => void;
      const done = new Promise<void>((resolve) => (read = resolve));
      yield {
        records: [],
        afterLand: async (tx: { query: (s: string) => Promise<{ rows: Record<string, unknown>[] }> }) => {
          for (const row of (await tx.query('select name from ops.landed_files order by name')).rows) names.push(String(row.name));
          read();
        },
      };
      // The loader may ask for this page while it still writes the one above: wait for the hook.
      await done;
      yield { records: names.map((n) => ({ tracking_number: `from-${n}` })) };
    }
    const result = await landPages(wh.pool, { source: 'shipments', stream: shipments, runId: 'r3' }, pages());
    expect(result).toMatchObject({ pages: 2, received: 1, written: 1 });
    expect(await count(`select 1 from raw.shipments__shipments where _key = 'from-a.csv'`)).toBe(1);
  });
});
