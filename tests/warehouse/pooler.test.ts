import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRunLock } from '../../pipeline/lock.ts';
import { checkWarehouse } from '../../pipeline/warehouse-check.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { transactionPooling } from '../../warehouse/writable.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startPgbouncer, type Pgbouncer } from '../support/pgbouncer.ts';

/**
 * A pooler of the shop's own in transaction mode, which no name tells from the server: a real
 * PgBouncer in front of the suite's PostgreSQL, in transaction and in session mode.
 */
let wh: Warehouse;
let byTransaction: Pgbouncer;
let bySession: Pgbouncer;
const pools: pg.Pool[] = [];
const poolOf = (url: string, max = 4) => {
  const pool = new pg.Pool({ connectionString: url, max });
  pools.push(pool);
  return pool;
};
beforeAll(async () => {
  wh = await createTestDatabase('pooler');
  byTransaction = await startPgbouncer(wh.url, 'transaction');
  bySession = await startPgbouncer(wh.url, 'session');
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await byTransaction?.stop();
  await bySession?.stop();
  await wh?.close();
});

const SAID = /^DATABASE_URL reaches PostgreSQL through a connection pooler in transaction or statement mode \(two connections of verite were served by one server session, process \d+\): verite's run lock and session settings would not stay with the connection that took them\. Point DATABASE_URL at the pooler's session mode \(PgBouncer: pool_mode = session for verite's database or login\), or at the server itself$/;

describe('a connection pooler in transaction mode, known by how it serves two connections', () => {
  it('is found through PgBouncer in transaction mode, and not in session mode nor on the server itself', async () => {
    expect(await transactionPooling(poolOf(byTransaction.url))).toMatch(SAID);
    expect(await transactionPooling(poolOf(bySession.url))).toBeNull();
    expect(await transactionPooling(poolOf(wh.url))).toBeNull();
    // A pool of one connection, taken by the caller, is probed with one more of its own.
    const single = poolOf(byTransaction.url, 1);
    const client = await single.connect();
    try {
      expect(await transactionPooling(single, client)).toMatch(SAID);
    } finally {
      client.release();
    }
  });

  it('sets up its own connection as the pool sets up each of its own (a proxy that keeps a connection that set something must see it so)', async () => {
    const setUp: string[] = [];
    const pool = new pg.Pool({
      connectionString: bySession.url,
      max: 2,
      onConnect: async (client: pg.ClientBase) => {
        setUp.push(String((await client.query('select pg_backend_pid() as pid')).rows[0].pid));
        await client.query(`set statement_timeout = '1h'`);
      },
    });
    pools.push(pool);
    expect(await transactionPooling(pool)).toBeNull();
    // The pool's own connection and the probe's, each set up once, on sessions of their own.
    expect(setUp).toHaveLength(2);
    expect(new Set(setUp).size).toBe(2);
  });

  it('refuses the run lock through it before anything runs; takes it through session mode', async () => {
    let ran = false;
    await expect(withRunLock(poolOf(byTransaction.url), { mode: 'skip' }, async () => void (ran = true))).rejects.toThrow(SAID);
    expect(ran).toBe(false);
    const outcome = await withRunLock(poolOf(bySession.url), { mode: 'skip' }, async () => 'ran');
    expect(outcome).toEqual({ acquired: true, value: 'ran' });
  });

  it('verite check calls it a problem; verite run fails saying so, landing nothing', async () => {
    const checked = await checkWarehouse({ databaseUrl: byTransaction.url });
    expect(checked.level).toBe('problem');
    expect(checked.findings.filter((f) => f.level === 'problem').map((f) => f.message)).toEqual([expect.stringMatching(SAID)]);
    const fine = await checkWarehouse({ databaseUrl: bySession.url });
    expect(fine.findings.filter((f) => f.level === 'problem')).toEqual([]);
    const folder = mkdtempSync(join(tmpdir(), 'verite-pooler-'));
    try {
      writeFileSync(join(folder, 'costs.csv'), 'sku,unit_cost,currency,valid_from\nTEE,4.2,EUR,2024-03-01\n');
      const configFile = join(folder, 'verite.config.json');
      writeFileSync(configFile, JSON.stringify({ sources: { costs: { path: join(folder, 'costs.csv') } } }));
      const run = await runCli(['run', '--sources', 'costs'], { env: { DATABASE_URL: byTransaction.url, VERITE_CONFIG: configFile } });
      expect(run.code).not.toBe(0);
      expect(run.stderr.replace(/\s+/g, ' ')).toContain('through a connection pooler in transaction or statement mode');
      expect((await wh.pool.query('select count(*)::int as n from raw.costs__unit_costs')).rows).toEqual([{ n: 0 }]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
