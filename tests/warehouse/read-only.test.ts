import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WarehouseError } from '../../lib/errors.ts';
import { grantBiRole } from '../../metrics/bi-role.ts';
import { holdLiveness, withRunLock } from '../../pipeline/lock.ts';
import { dropHeldRecords } from '../../pipeline/quarantine.ts';
import { connect, openWarehouse } from '../../warehouse/connection.ts';
import { migrateToLatest } from '../../warehouse/migrate.ts';
import { readOnlyReason, requireWritable, transactionPooler } from '../../warehouse/writable.ts';
import { databaseUrl } from '../support/database.ts';

/**
 * A warehouse that takes no writes: a database whose sessions are read-only by default
 * (`default_transaction_read_only`, which a managed service also sets when its storage is
 * nearly full), or a standby. The commands that write say so before they start, instead of
 * failing on their first statement with "cannot execute nextval() in a read-only transaction";
 * the commands that read still work.
 */
const suffix = randomBytes(3).toString('hex');
const MIGRATED = `verite_read_only_${suffix}`;
const EMPTY = `verite_read_only_empty_${suffix}`;
let admin: pg.Client;

const urlOf = (database: string) => databaseUrl(database);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create database ${MIGRATED}`);
  await admin.query(`create database ${EMPTY}`);
  const { db } = connect(urlOf(MIGRATED), 2);
  await migrateToLatest(db);
  await db.destroy();
  // Set after the migrations, as a provider does on a full disk; new sessions only take it.
  await admin.query(`alter database ${MIGRATED} set default_transaction_read_only = on`);
  await admin.query(`alter database ${EMPTY} set default_transaction_read_only = on`);
});
afterAll(async () => {
  await admin.query(`drop database if exists ${MIGRATED} with (force)`).catch(() => undefined);
  await admin.query(`drop database if exists ${EMPTY} with (force)`).catch(() => undefined);
  await admin.end();
});

const READ_ONLY = (database: string) =>
  `database "${database}" takes no writes: its sessions are read-only, default_transaction_read_only being on for the database (ALTER DATABASE … SET)`;

describe('a warehouse that takes no writes', () => {
  it('reads as before; the run lock and a run\'s liveness lock are refused, saying why and what to do, before anything is written', async () => {
    const wh = await openWarehouse({ databaseUrl: urlOf(MIGRATED) });
    try {
      // Nothing pending: opening it (the migrations included) and reading work.
      expect((await wh.pool.query('select count(*)::int as n from ops.runs')).rows[0].n).toBe(0);
      let ran = false;
      const locked = withRunLock(wh.pool, { mode: 'skip' }, async () => {
        ran = true;
      });
      await expect(locked).rejects.toBeInstanceOf(WarehouseError);
      await expect(locked).rejects.toThrow(READ_ONLY(MIGRATED));
      await expect(locked).rejects.toThrow('A managed service sets it when the storage is nearly full: free or add storage');
      expect(ran).toBe(false);
      await expect(holdLiveness(wh.pool)).rejects.toThrow(READ_ONLY(MIGRATED));
      // `quarantine drop` takes no run lock: it says so in its own transaction.
      await expect(dropHeldRecords(wh.db, ['q1'], { command: 'verite quarantine drop q1', user: 'test' })).rejects.toThrow(READ_ONLY(MIGRATED));
      // Nor does `bi grant`, which said only "cannot execute CREATE ROLE in a read-only transaction".
      const role = `bi_read_only_${suffix}`;
      await expect(grantBiRole(wh.db, { role })).rejects.toThrow(READ_ONLY(MIGRATED));
      expect((await admin.query('select 1 from pg_roles where rolname = $1', [role])).rowCount).toBe(0);
    } finally {
      await wh.close();
    }
  });

  it('the statement it advises, for verite\'s login in that database, lets it write again', async () => {
    const login = (await admin.query<{ u: string }>('select current_user as u')).rows[0]!.u;
    await admin.query(`alter role "${login}" in database ${MIGRATED} set default_transaction_read_only = off`);
    const wh = await openWarehouse({ databaseUrl: urlOf(MIGRATED) });
    try {
      const outcome = await withRunLock(wh.pool, { mode: 'skip' }, async () => (await wh.pool.query(`select current_setting('transaction_read_only') as v`)).rows[0].v);
      expect(outcome).toEqual({ acquired: true, value: 'off' });
    } finally {
      await wh.close();
      await admin.query(`alter role "${login}" in database ${MIGRATED} reset default_transaction_read_only`);
    }
  });

  it('migrations that cannot be written say why, naming the step', async () => {
    const { db } = connect(urlOf(EMPTY), 2);
    try {
      const migrated = migrateToLatest(db);
      await expect(migrated).rejects.toBeInstanceOf(WarehouseError);
      await expect(migrated).rejects.toThrow(`preparing the migrations (table ops.verite_migrations) failed: ${READ_ONLY(EMPTY)}`);
    } finally {
      await db.destroy();
    }
  });

  it('a standby is told apart: point DATABASE_URL at the primary', () => {
    // A standby cannot be made on the suite's server (the embedded one keeps no replica-grade
    // log); pg_is_in_recovery() true is what one answers. Checked by hand against a standby of PostgreSQL 15.
    expect(readOnlyReason({ database: 'shop', standby: true, read_only: 'on', source: 'default' })).toBe(
      'database "shop" is on a standby (a read replica), which takes no writes: point DATABASE_URL at the primary. ' +
        'A standby can serve verite query, status, report and serve, which only read',
    );
    expect(readOnlyReason({ database: 'shop', standby: false, read_only: 'off', source: 'default' })).toBeNull();
    expect(readOnlyReason({ database: 'shop', standby: false, read_only: 'on', source: 'user' })).toContain('being on for the login (ALTER ROLE … SET)');
  });
});

describe("a provider's pooler in transaction mode", () => {
  it('is known by the names and ports the providers publish, each with what to connect to instead', () => {
    expect(transactionPooler('aws-0-eu-central-1.pooler.supabase.com', 6543)).toBe(
      "aws-0-eu-central-1.pooler.supabase.com:6543 is Supabase's shared pooler in transaction mode, where verite's run lock and session settings would not stay with it: " +
        'use port 5432 of the same host (its session mode), or the direct connection',
    );
    expect(transactionPooler('db.abcdefghijklmnop.supabase.co', 6543)).toContain("is Supabase's dedicated pooler (PgBouncer in transaction mode)");
    expect(transactionPooler('ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech', 5432)).toBe(
      "ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech is Neon's pooled connection (PgBouncer in transaction mode), where verite's run lock and session settings would not stay with it: " +
        'use the direct connection, ep-cool-darkness-123456.us-east-2.aws.neon.tech',
    );
    // Their session mode and direct connections, and anybody else's port 6543, are not.
    expect(transactionPooler('aws-0-eu-central-1.pooler.supabase.com', 5432)).toBeNull();
    expect(transactionPooler('db.abcdefghijklmnop.supabase.co', 5432)).toBeNull();
    expect(transactionPooler('ep-cool-darkness-123456.us-east-2.aws.neon.tech', 5432)).toBeNull();
    expect(transactionPooler('db.example.com', 6543)).toBeNull();
  });

  it('a command that writes is refused before it sends anything through one', async () => {
    // Never connected: a query would fail with another error than the pooler's.
    const client = new pg.Client({ host: 'aws-0-eu-central-1.pooler.supabase.com', port: 6543, user: 'postgres.abc', database: 'postgres' });
    await expect(requireWritable(client)).rejects.toThrow("aws-0-eu-central-1.pooler.supabase.com:6543 is Supabase's shared pooler in transaction mode");
  });
});
