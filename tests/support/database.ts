import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connect, openWarehouse, type Warehouse } from '../../warehouse/connection.ts';
import { migrateToLatest } from '../../warehouse/migrate.ts';

/**
 * The locale a test database is created in: the server's default (`undefined`), the C locale, or
 * Turkish, where `lower('I')` is `ı` and `upper('i')` is `İ` (ICU on PostgreSQL 15 and later,
 * else the operating system's `tr_TR.UTF-8`).
 */
export type TestLocale = 'C' | 'tr';

/** The clauses of `CREATE DATABASE` for `locale` on the server `client` is connected to. */
async function localeClauses(client: pg.Client, locale: TestLocale): Promise<string> {
  const version = Number((await client.query(`select current_setting('server_version_num') as v`)).rows[0].v);
  if (locale === 'C') return version >= 150000 ? `template template0 encoding 'UTF8' locale_provider libc locale 'C'` : `template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C'`;
  const found = await client.query<{ icu: boolean; libc: string | null }>(
    `select exists (select 1 from pg_collation where collprovider = 'i') as icu,
      (select collcollate from pg_collation where collprovider = 'c' and collname in ('tr_TR.utf8', 'tr_TR.UTF-8') limit 1) as libc`,
  );
  const { icu, libc } = found.rows[0]!;
  if (version >= 150000 && icu) return `template template0 encoding 'UTF8' locale_provider icu icu_locale 'tr-TR' locale 'C'`;
  if (libc) return `template template0 encoding 'UTF8' lc_collate '${libc}' lc_ctype '${libc}'`;
  throw new Error('a Turkish test database needs PostgreSQL 15 or later built with ICU, or the tr_TR.UTF-8 locale on the server');
}

/**
 * A fresh, migrated database of its own for one test file, on the suite's PostgreSQL, in the
 * server's default locale or in `locale`. `close()` drops it. In the default locale it is a
 * copy of the database the global set-up migrated once (`templateDatabase`); in another locale
 * it is created from `template0` and migrated.
 */
export async function createTestDatabase(label = 'test', locale?: TestLocale): Promise<Warehouse> {
  const admin = inject('adminDatabaseUrl');
  const name = `verite_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database "${name}" ${locale ? await localeClauses(client, locale) : `template "${inject('templateDatabase')}"`}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const { db, pool } = connect(url.toString());
  if (locale) await migrateToLatest(db);
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

/** What opening the warehouse at `url` (without migrations) comes to: `connected`, or the error's message. */
export function openingOutcome(url: string): Promise<string> {
  return openWarehouse({ databaseUrl: url, migrate: false }).then(
    async (wh) => {
      await wh.close();
      return 'connected';
    },
    (error: Error) => error.message,
  );
}

/**
 * The URL of `database` on the suite's server, as its administrator, or as `login` (whose
 * password the tests make its own name).
 */
export function databaseUrl(database: string, login?: string): string {
  const u = new URL(inject('adminDatabaseUrl'));
  u.pathname = `/${database}`;
  if (login) {
    u.username = login;
    u.password = login;
  }
  return u.toString();
}
