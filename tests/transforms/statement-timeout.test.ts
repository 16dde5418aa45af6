import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { defineModel } from '../../transforms/model.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import { connect, type Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { charges, fxRates, orders } from './fixtures.ts';

/**
 * A database whose default `statement_timeout` is meant for interactive users (set by its
 * administrator, common on managed servers) would cancel a large shop's build statements, which
 * take minutes. verite's sessions run without one (warehouse/connection.ts, SESSION_SETTINGS):
 * here the database cancels anything over 50 ms, and a model that takes 300 ms still builds.
 */
const NOW = new Date('2024-03-06T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'USD', sources: {} });

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('statement_timeout');
  await landRecords(wh.pool, 'fx', 'rates', fxRates);
  await landRecords(wh.pool, 'shopify', 'orders', orders);
  await landRecords(wh.pool, 'stripe', 'charges', charges);
  await wh.pool.query(`alter database "${wh.describe}" set statement_timeout = '50ms'`);
});
afterAll(async () => wh?.close());

describe('a database with a short default statement time-out', () => {
  it('cancels a slow statement of a session of its own, and not one of verite', async () => {
    // The database's default holds for a new session that does not set its own.
    const plain = new pg.Client({ connectionString: wh.url });
    await plain.connect();
    try {
      await expect(plain.query('select pg_sleep(0.3)')).rejects.toThrow(/statement timeout/);
    } finally {
      await plain.end();
    }

    const slow = defineModel({
      name: 'staging.slow_probe',
      dependsOn: [],
      description: 'a model whose one statement takes 300 ms',
      uniqueKey: ['id'],
      build: (db) => db.selectFrom(sql<{ id: number }>`(select 1 as id from pg_sleep(0.3))`.as('s')).select(['s.id']),
    });
    const verite = connect(wh.url);
    try {
      const built = await runModels(verite.db, config, { models: [...models, slow], now: NOW });
      expect(built.error).toBeUndefined();
      expect(built.status).toBe('succeeded');
      expect((await verite.pool.query(`select id from staging.slow_probe`)).rows).toEqual([{ id: 1 }]);
      // The metrics refresh of the shop, on the same sessions.
      const refreshed = await refreshMetrics(verite, config, createLogger(process.stderr, 'silent'), { now: NOW });
      expect(refreshed.error).toBeUndefined();
      expect(refreshed.status).toBe('succeeded');
    } finally {
      await verite.db.destroy();
    }
  });
});
