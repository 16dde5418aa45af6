import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { chargeDaysWithoutBalanceTransactions } from '../../transforms/checks.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from './fixtures.ts';

// The warnings describe the whole table readers see, and run on every nightly build: they must
// not read a whole large table to say so.

let wh: Warehouse;
const config = configSchema.parse({});
const NOW = new Date('2024-03-06T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('whole_table_warnings');
});
afterAll(async () => wh?.close());

describe('whole-table warnings', () => {
  it('lists the days with succeeded charges and no charge balance transaction, day by day, as grouping every charge did', async () => {
    const run = async () => {
      const check = chargeDaysWithoutBalanceTransactions();
      const rows = (await (check.failing(wh.db, {} as never) as ReturnType<typeof sql>).execute(wh.db)).rows as Record<string, unknown>[];
      return { rows, message: rows.length ? check.describe?.(rows) : undefined };
    };
    await wh.pool.query(`
      create schema if not exists core;
      create table core.payments (charge_id text, payment_date date, status text);
      create index on core.payments (payment_date);
      create table core.balance_transactions (transaction_date date, type text);
      create index on core.balance_transactions (transaction_date);
      insert into core.payments values
        ('a', '2024-03-01', 'succeeded'), ('b', '2024-03-01', 'succeeded'),
        ('c', '2024-03-02', 'succeeded'), ('d', '2024-03-02', 'failed'),
        ('e', '2024-03-03', 'failed'),
        ('f', '2024-03-05', 'succeeded'), ('g', '2024-03-05', 'succeeded'), ('h', '2024-03-05', 'succeeded'),
        ('i', null, 'succeeded')`);
    // No balance transactions landed at all: no warning (the shop does not read them).
    expect((await run()).rows).toEqual([]);
    await wh.pool.query(`insert into core.balance_transactions values ('2024-03-01', 'charge'), ('2024-03-02', 'payout'), ('2024-03-05', 'payment')`);
    // 2 March: one succeeded charge, only a payout. 3 March: a failed charge only. 4 March: no
    // charge at all. The charge without a date is a day of its own, last.
    const found = await run();
    expect(found.rows).toEqual([
      { date: '2024-03-02', charges: 1 },
      { date: null, charges: 1 },
    ]);
    expect(found.message).toBe('days with Stripe charges but no balance transaction, so payment_fees misses their fees: 2024-03-02 (1 charges), null (1 charges)');
    await wh.pool.query(`insert into core.balance_transactions values ('2024-03-02', 'charge'); update core.payments set payment_date = '2024-03-04' where charge_id = 'i'`);
    expect((await run()).rows).toEqual([{ date: '2024-03-04', charges: 1 }]);
    await wh.pool.query(`drop table core.payments, core.balance_transactions`);
  });

  it('indexes the sold lines of variants missing from the products stream, and gives an index declared since to a table published before', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1 })]);
    expect((await runModels(wh.db, config, { models, now: NOW })).status).toBe('succeeded');
    const index = async () =>
      (await wh.pool.query(`select indexdef from pg_indexes where schemaname = 'core' and indexname = 'order_lines_unlisted_variants'`)).rows.map((r) => r.indexdef as string);
    expect(await index()).toEqual([
      'CREATE INDEX order_lines_unlisted_variants ON core.order_lines USING btree (variant_id) WHERE (is_counted AND (sold_quantity > 0) AND (variant_id IS NOT NULL) AND (NOT variant_in_products))',
    ]);

    // A table published by a version without the index: the next incremental build creates it.
    await wh.pool.query('drop index core.order_lines_unlisted_variants');
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 2, created_at: '2024-03-02T10:00:00Z', total: '20.00', customer: 2 })], 'run-2');
    const nightly = await runModels(wh.db, config, { models, now: NOW });
    expect(nightly.status).toBe('succeeded');
    expect(nightly.results.find((r) => r.model === 'core.order_lines')).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(await index()).toHaveLength(1);
    expect((await wh.pool.query('select count(*)::int as n from core.orders')).rows[0].n).toBe(2);
  });
});
