import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * Issue 4: a refresh builds every table first and only then swaps them, so a BI reader is never
 * held up by the build, never waits for the swap, and never sees an empty or half-built table,
 * not even one whose REPEATABLE READ snapshot was taken before the refresh began. The refresh is
 * held at chosen points by locks the test takes (not by timing): on core.customers, which only
 * cohort_monthly reads (the sixth table built), and on metrics.kpi_weekly, which the swap
 * writes second.
 */

const config = configSchema.parse(CONFIG);
let wh: Warehouse;
const clients: pg.Client[] = [];

beforeAll(async () => {
  wh = await createTestDatabase('metrics_refresh');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config)).status).toBe('succeeded');
});
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await wh?.close();
});

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: wh.url });
  await client.connect();
  clients.push(client);
  return client;
}

/** Waits until some session waits for a lock on `table` (the refresh has reached it). */
async function untilWaitingOn(table: string): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const res = await wh.pool.query(`select pid from pg_locks where relation = to_regclass($1) and not granted`, [table]);
    if (res.rows.length) return res.rows[0].pid as number;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`nothing ever waited for ${table}`);
}

/** What a reader sees of the metric tables: kpi_daily's rows and O1's day, kpi_weekly's week of O1. */
async function seen(client: pg.Client) {
  const res = await client.query(`select
    (select count(*)::int from metrics.kpi_daily) as days,
    (select revenue::float8 from metrics.kpi_daily where date = '2024-01-10') as day_revenue,
    (select count(*)::int from metrics.kpi_weekly) as weeks,
    (select revenue::float8 from metrics.kpi_weekly where date = '2024-01-08') as week_revenue`);
  return res.rows[0] as { days: number; day_revenue: number; weeks: number; week_revenue: number };
}

describe('refreshMetrics and concurrent readers', () => {
  it('blocks no reader while it builds or swaps, and a snapshot from before it never sees an empty table', async () => {
    // 368 days and 53 weeks are published; O1 (10 January 2024) is worth 100.00. The next refresh will say 1000.00.
    const before = { days: 368, day_revenue: 100, weeks: 53, week_revenue: 100 };
    const after = { days: 368, day_revenue: 1000, weeks: 53, week_revenue: 1000 };
    await wh.pool.query(`update core.orders set total_price_rc = 1000 where order_id = '1'`);

    // A BI reader in REPEATABLE READ whose snapshot is taken before the refresh; it reads kpi_daily only, for now.
    const snapshot = await connect();
    await snapshot.query('begin isolation level repeatable read');
    expect((await snapshot.query(`select revenue::float8 as r from metrics.kpi_daily where date = '2024-01-10'`)).rows[0].r).toBe(100);

    // Hold the build at cohort_monthly, and the swap at kpi_weekly.
    const holdBuild = await connect();
    await holdBuild.query('begin; lock table core.customers in access exclusive mode');
    const holdSwap = await connect();
    await holdSwap.query('begin; lock table metrics.kpi_weekly in share mode');
    // core.orders was edited by hand, not by a transform that records what it replaced: a full refresh.
    const refresh = refreshMetrics(wh, config, undefined, { full: true });

    // During the build (five tables built, the sixth waiting): a reader that would give up after waiting 100 ms for a lock
    // reads the whole previous set, and the refresh holds no lock on any published table.
    const refresher = await untilWaitingOn('core.customers');
    const reader = await connect();
    await reader.query(`set lock_timeout = '100ms'`);
    expect(await seen(reader)).toEqual(before);
    const held = await wh.pool.query(
      `select c.relname::text as name from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace
        where l.pid = $1 and n.nspname = 'metrics'`,
      [refresher],
    );
    expect(held.rows).toEqual([]);

    // During the swap: kpi_daily already refilled (not committed), kpi_weekly waiting. Still no wait, still the old set.
    await holdBuild.query('commit');
    await untilWaitingOn('metrics.kpi_weekly');
    expect(await seen(reader)).toEqual(before);

    await holdSwap.query('commit');
    const result = await refresh;
    expect(result.status).toBe('succeeded');
    expect(result.tables.every((t) => t.mode === 'refilled')).toBe(true);

    // After the commit: a new statement sees the new set; the old snapshot still sees every old row, in kpi_weekly too,
    // which it first reads now, after the swap (a table dropped and renamed would look empty to it).
    expect(await seen(reader)).toEqual(after);
    expect(await seen(snapshot)).toEqual(before);
    await snapshot.query('commit');
    expect(await seen(snapshot)).toEqual(after);
  });
});
