import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { defineModel } from '../../transforms/model.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from './fixtures.ts';

/**
 * A model's key is held by a unique index (`<table>_<columns>_key`), which is its key check: the
 * check's query runs only where the index could not be built. A repeated key still fails the
 * build on the check, naming the copies, on each path a table is written by: a new table, the
 * refill of a published one (tests/transforms/runner.test.ts) and an incremental build.
 */

let wh: Warehouse;
const config = configSchema.parse({});
const NOW = new Date('2024-03-06T12:00:00Z');

beforeAll(async () => {
  wh = await createTestDatabase('key_index');
});
afterAll(async () => wh?.close());

const indexes = async (schema: string, table: string) =>
  (await wh.pool.query(`select indexname, indexdef from pg_indexes where schemaname = $1 and tablename = $2 order by indexname`, [schema, table])).rows as { indexname: string; indexdef: string }[];

const refund = (id: number, tx: number) => ({ id, created_at: '2024-03-04T08:00:00Z', transactions: [{ id: tx, kind: 'refund', status: 'success', amount: '1.00', currency: 'USD' }] });

describe('the key held by a unique index', () => {
  it('builds each key as a unique index, which answers the key check and serves the lookups by its leading columns', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1, refunds: [refund(501, 601)] })]);
    const first = await runModels(wh.db, config, { models, now: NOW });
    expect(first.status).toBe('succeeded');

    const lines = await indexes('core', 'order_lines');
    expect(lines.find((i) => i.indexname === 'order_lines_order_id_line_id_key')?.indexdef).toBe(
      'CREATE UNIQUE INDEX order_lines_order_id_line_id_key ON core.order_lines USING btree (order_id, line_id)',
    );
    // order_id, declared and the incremental replaceBy, is the unique index's leading column: no index of its own.
    expect(lines.map((i) => i.indexname)).not.toContain('order_lines_order_id');
    expect(lines.map((i) => i.indexname)).toContain('order_lines_order_date');
    const orders = await indexes('core', 'orders');
    expect(orders.map((i) => i.indexname)).toContain('orders_order_id_key');
    expect(orders.map((i) => i.indexname)).not.toContain('orders_order_id');
    // A key that is not the replaceBy column gets its unique index beside the replaceBy one.
    const refunds = (await indexes('staging', 'shopify_refunds')).map((i) => i.indexname);
    expect(refunds).toEqual(expect.arrayContaining(['shopify_refunds_order_id', 'shopify_refunds_refund_transaction_id_key']));

    const unique = first.checks.filter((c) => c.check.startsWith('unique ('));
    // Every model with a key (most of the catalogue) has its key check, passed.
    expect(unique.length).toBe(models.filter((m) => m.uniqueKey?.length).length);
    expect(unique.every((c) => c.passed)).toBe(true);
  });

  it('an incremental build that repeats a key fails on the key check, naming the copies, and leaves the table as it was', async () => {
    // Order 2 reuses refund transaction 601, which order 1 holds: the refunds' key repeats.
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 2, created_at: '2024-03-02T10:00:00Z', total: '20.00', customer: 2, refunds: [refund(502, 601)] })], 'run-2');
    const repeated = await runModels(wh.db, config, { models, now: NOW });
    expect(repeated.results.find((r) => r.model === 'staging.shopify_refunds')).toMatchObject({ status: 'succeeded', mode: 'incremental' });
    expect(repeated.status).toBe('failed');
    expect(repeated.published).toBe(false);
    const failed = repeated.checks.filter((c) => !c.passed);
    expect(failed.map((c) => [c.model, c.check])).toContainEqual(['staging.shopify_refunds', 'unique (refund_transaction_id)']);
    expect(failed.find((c) => c.model === 'staging.shopify_refunds')?.sample).toEqual([{ refund_transaction_id: '601', copies: 2 }]);
    // Rolled back: one refund, and the unique index back in place.
    expect((await wh.pool.query(`select order_id from staging.shopify_refunds`)).rows).toEqual([{ order_id: '1' }]);
    expect((await indexes('staging', 'shopify_refunds')).map((i) => i.indexname)).toContain('shopify_refunds_refund_transaction_id_key');
  });

  it('a new table whose key repeats gets a plain index in its place, and the check names the copies', async () => {
    const probe = defineModel({
      name: 'staging.key_probe',
      dependsOn: [],
      description: 'probe',
      uniqueKey: ['id'],
      build: (db) => db.selectFrom(sql<{ id: string }>`(select * from (values ('a'), ('b'), ('b'), ('b')) as x(id))`.as('v')).select(['v.id']),
    });
    const result = await runModels(wh.db, config, { models: [probe], now: NOW });
    // The model built (the unique index gave way, not the build), and the check failed the run.
    expect(result.results).toMatchObject([{ model: 'staging.key_probe', status: 'succeeded' }]);
    expect(result.status).toBe('failed');
    expect(result.checks.find((c) => c.check === 'unique (id)')).toMatchObject({ passed: false, sample: [{ id: 'b', copies: 3 }] });
    // Rolled back: no table.
    expect((await wh.pool.query(`select to_regclass('staging.key_probe') as t`)).rows[0].t).toBeNull();
  });

  it('drops, once a build is published, the plain indexes a warehouse built before keys were unique indexes has beside them', async () => {
    // What an earlier version built: a plain index on each replaceBy column and on each key.
    await wh.pool.query(`create index orders_order_id on core.orders (order_id)`);
    await wh.pool.query(`create index order_lines_order_id on core.order_lines (order_id)`);
    await wh.pool.query(`create index order_lines_order_id_line_id on core.order_lines (order_id, line_id)`);
    await wh.pool.query(`create index shopify_refunds_refund_transaction_id on staging.shopify_refunds (refund_transaction_id)`);
    // An index of the user's own, on the same column under another name, is not verite's to drop.
    await wh.pool.query(`create index my_orders_by_id on core.orders (order_id)`);
    // Order 2's refund with a transaction of its own this time: the build is published.
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 2, created_at: '2024-03-02T10:00:00Z', total: '20.00', customer: 2, refunds: [refund(502, 602)] })], 'run-3');
    const result = await runModels(wh.db, config, { models, now: NOW });
    expect(result.status).toBe('succeeded');

    const names = async (schema: string, table: string) => (await indexes(schema, table)).map((i) => i.indexname);
    expect(await names('core', 'orders')).toEqual(expect.arrayContaining(['orders_order_id_key', 'my_orders_by_id']));
    expect(await names('core', 'orders')).not.toContain('orders_order_id');
    const lines = await names('core', 'order_lines');
    expect(lines).toContain('order_lines_order_id_line_id_key');
    expect(lines).not.toContain('order_lines_order_id');
    expect(lines).not.toContain('order_lines_order_id_line_id');
    // The refunds' replaceBy column (order_id) is not the key's leading column: its index stays.
    const refunds = await names('staging', 'shopify_refunds');
    expect(refunds).toEqual(expect.arrayContaining(['shopify_refunds_order_id', 'shopify_refunds_refund_transaction_id_key']));
    expect(refunds).not.toContain('shopify_refunds_refund_transaction_id');
    expect((await wh.pool.query(`select order_id from staging.shopify_refunds order by 1`)).rows).toEqual([{ order_id: '1' }, { order_id: '2' }]);
  });
});
