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
import { landCoreShop } from './fixtures.ts';

/**
 * A database's defaults are its administrator's to choose, and verite's sessions set their own
 * (warehouse/connection.ts, SESSION_SETTINGS). Here one database cancels any statement over
 * 50 ms (a default meant for interactive users, common on managed servers), writes dates as
 * `01/03/2024` and intervals in the SQL standard's style, rounds floats to 15 digits, lives in
 * India's time zone, ends sessions idle for 5 minutes (the run lock's session is one), has an
 * empty `search_path` (a hardened server's: verite names every schema it uses) and runs every
 * transaction serializable; on PostgreSQL 17 and later it also ends any session whose
 * transaction has lasted a second (`transaction_timeout`). The hand-made shop, with a model that
 * takes 300 ms, builds there and reads back through verite exactly as it does on a database with
 * PostgreSQL's defaults.
 */
const NOW = new Date('2024-03-06T12:00:00Z');
const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'USD', sources: {} });
const log = createLogger(process.stderr, 'silent');

const slow = defineModel({
  name: 'staging.slow_probe',
  dependsOn: [],
  description: 'a model whose one statement takes 300 ms',
  uniqueKey: ['id'],
  build: (db) => db.selectFrom(sql<{ id: number }>`(select 1 as id from pg_sleep(0.3))`.as('s')).select(['s.id']),
});

const ODD_DEFAULTS = `idle_session_timeout = '5min' default_transaction_isolation = 'serializable' search_path = '' statement_timeout = '50ms' DateStyle = 'SQL, DMY' IntervalStyle = 'sql_standard' extra_float_digits = 0 TimeZone = 'Asia/Kolkata'`;

/** `transaction_timeout` is PostgreSQL 17's; older servers do not know it (and verite's sessions skip it there). */
const TRANSACTION_TIMEOUT = `transaction_timeout = '1s'`;

let odd: Warehouse;
let usual: Warehouse;
let hasTransactionTimeout = false;
beforeAll(async () => {
  [odd, usual] = await Promise.all([createTestDatabase('server_defaults'), createTestDatabase('server_defaults_usual')]);
  hasTransactionTimeout = Number((await odd.pool.query(`select current_setting('server_version_num') as v`)).rows[0].v) >= 170000;
  const settings = [...ODD_DEFAULTS.split(/ (?=[A-Za-z_]+ = )/), ...(hasTransactionTimeout ? [TRANSACTION_TIMEOUT] : [])];
  for (const setting of settings) await odd.pool.query(`alter database "${odd.describe}" set ${setting}`);
});
afterAll(async () => {
  await odd?.close();
  await usual?.close();
});

/** Lands and builds the shop on new verite sessions (they start with the database's defaults), and reads every core and metrics row back. */
async function buildAndRead(wh: Warehouse): Promise<Record<string, string[]>> {
  const verite = connect(wh.url);
  try {
    await landCoreShop(verite.pool);
    const built = await runModels(verite.db, config, { models: [...models, slow], now: NOW });
    expect(built.error).toBeUndefined();
    expect(built.status).toBe('succeeded');
    const refreshed = await refreshMetrics(verite, config, log, { now: NOW });
    expect(refreshed.error).toBeUndefined();
    expect(refreshed.status).toBe('succeeded');
    const tables = await verite.pool.query(
      `select table_schema || '.' || table_name as name from information_schema.tables where table_schema in ('core', 'metrics') and table_type = 'BASE TABLE'`,
    );
    const out: Record<string, string[]> = {};
    // Every value as node-postgres reads it from verite's session: dates as text, timestamps as Date, numbers as text or number.
    for (const { name } of tables.rows as { name: string }[]) out[name] = (await verite.pool.query(`select * from ${name}`)).rows.map((r) => JSON.stringify(r)).sort();
    return out;
  } finally {
    await verite.db.destroy();
  }
}

describe('a database whose defaults are not PostgreSQL\'s', () => {
  it('holds them for a session of its own', async () => {
    const plain = new pg.Client({ connectionString: odd.url });
    await plain.connect();
    try {
      const shown = await plain.query(`select '2024-03-01'::date::text as d, interval '1 day 2 hours' as i, current_setting('TimeZone') as tz, current_setting('search_path') as path,
        current_setting('default_transaction_isolation') as isolation, current_setting('idle_session_timeout') as idle`);
      expect(shown.rows[0]).toMatchObject({ d: '01/03/2024', tz: 'Asia/Kolkata', path: '""', isolation: 'serializable', idle: '5min' });
      await expect(plain.query('select pg_sleep(0.3)')).rejects.toThrow(/statement timeout/);
      if (hasTransactionTimeout) {
        // Statements of 0.8 s each, none over the (lifted) statement time-out; the transaction
        // reaches 1 s during the second, and the server ends the session.
        plain.on('error', () => undefined);
        await plain.query('set statement_timeout = 0');
        await plain.query('begin');
        await plain.query('select pg_sleep(0.8)');
        await expect(plain.query('select pg_sleep(0.8)')).rejects.toThrow(/transaction timeout/);
      }
    } finally {
      await plain.end().catch(() => undefined);
    }
  });

  it('is overridden by verite\'s sessions where verite needs its own, and kept where verite works under it', async () => {
    const verite = connect(odd.url, 1);
    try {
      const names = ['statement_timeout', 'idle_session_timeout', 'transaction_timeout', 'DateStyle', 'IntervalStyle', 'extra_float_digits', 'TimeZone', 'search_path', 'default_transaction_isolation'];
      // current_setting(…, true) is null for a setting the server does not know (transaction_timeout before 17).
      const shown = await verite.pool.query(`select name, current_setting(name, true) as value from unnest($1::text[]) as name`, [names]);
      expect(Object.fromEntries(shown.rows.map((r) => [r.name, r.value]))).toEqual({
        statement_timeout: '0',
        idle_session_timeout: '0',
        transaction_timeout: hasTransactionTimeout ? '0' : null,
        DateStyle: 'ISO, MDY',
        IntervalStyle: 'postgres',
        extra_float_digits: '1',
        TimeZone: 'UTC',
        search_path: '""',
        default_transaction_isolation: 'serializable',
      });
    } finally {
      await verite.db.destroy();
    }
  });

  it('a transaction of verite\'s runs past the database\'s transaction_timeout (PostgreSQL 17 and later): the transform and the refresh are one transaction each', async () => {
    const verite = connect(odd.url, 1);
    const client = await verite.pool.connect();
    try {
      // The same statements the plain session above was ended in: 0.8 + 0.8 = 1.6 s in one
      // transaction, over the database's 1 s, each statement well within any other time-out.
      await client.query('begin');
      await client.query('select pg_sleep(0.8)');
      await client.query('select pg_sleep(0.8)');
      const after = await client.query(`select current_setting('transaction_timeout', true) as value`);
      await client.query('commit');
      expect(after.rows).toEqual([{ value: hasTransactionTimeout ? '0' : null }]);
    } finally {
      client.release();
      await verite.db.destroy();
    }
  });

  it('builds the shop, a 300 ms model included, and reads back every core and metrics row as on a database with the usual defaults', async () => {
    const [inOdd, inUsual] = [await buildAndRead(odd), await buildAndRead(usual)];
    expect(Object.keys(inOdd).length).toBeGreaterThan(20);
    expect(inOdd).toEqual(inUsual);
    // Worked out by hand: order 2, created at 23:30 UTC on 1 March, is 2 March in Paris (UTC+1).
    const order2 = inOdd['core.orders']!.map((r) => JSON.parse(r) as { order_id: string; order_date: string; created_at: string }).find((r) => r.order_id === '2');
    expect(order2).toMatchObject({ order_date: '2024-03-02', created_at: '2024-03-01T23:30:00.000Z' });
  });
});
