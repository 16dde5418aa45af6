import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connect, type Warehouse } from '../../warehouse/connection.ts';
import { migrateToLatest } from '../../warehouse/migrate.ts';

/**
 * A fresh, migrated database of its own for one test file, on the suite's PostgreSQL.
 * `close()` drops it.
 */
export async function createTestDatabase(label = 'test'): Promise<Warehouse> {
  const admin = inject('adminDatabaseUrl');
  const name = `verite_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`create database "${name}"`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const { db, pool } = connect(url.toString());
  await migrateToLatest(db);
  return {
    db,
    pool,
    url: url.toString(),
    describe: name,
    embedded: null,
    close: async () => {
      await db.destroy();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}
