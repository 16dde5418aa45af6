import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connect, openWarehouse } from '../../warehouse/connection.ts';
import { migrateToLatest } from '../../warehouse/migrate.ts';

/**
 * What verite asks of the database it is given, and what it says when the database falls short.
 *
 * A login that does not own its database may not create tables in schema `public` (PostgreSQL 15
 * and later), where the migrator keeps its own: the migrations fail before the first one. The
 * error says who the login is, who owns the database, and the statements that let it in
 * (docs/bi.md, "What verite's own login needs"); with the grants it names, the migrations run.
 */
const suffix = randomBytes(3).toString('hex');
const LOGIN = `verite_login_${suffix}`;
const DATABASE = `verite_not_owned_${suffix}`;
const LATIN1 = `verite_latin1_${suffix}`;
const OWNED = `verite_owned_public_${suffix}`;
const LIMITED = `verite_limited_${suffix}`;
let admin: pg.Client;
let url: string;

/** The test database, as the suite's administrator. */
const asOwner = () => {
  const u = new URL(inject('adminDatabaseUrl'));
  u.pathname = `/${DATABASE}`;
  return u.toString();
};

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create role ${LOGIN} login password '${LOGIN}'`);
  await admin.query(`create database ${DATABASE}`);
  // What an administrator gives a login on a database it does not own: connect and create schemas.
  await admin.query(`grant connect, create, temporary on database ${DATABASE} to ${LOGIN}`);
  const u = new URL(asOwner());
  u.username = LOGIN;
  u.password = LOGIN;
  url = u.toString();
});
afterAll(async () => {
  await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
  await admin.query(`drop database if exists ${LATIN1} with (force)`).catch(() => undefined);
  await admin.query(`drop database if exists ${OWNED} with (force)`).catch(() => undefined);
  await admin.query(`drop role if exists ${LOGIN}`).catch(() => undefined);
  await admin.query(`drop role if exists ${LIMITED}`).catch(() => undefined);
  await admin.end();
});

describe('a login that does not own its database', () => {
  it('is told who it is, who owns the database and what to grant; with the grant, the migrations run', async () => {
    const version = Number((await admin.query(`select current_setting('server_version_num') as v`)).rows[0].v);
    if (version < 150000) {
      // PostgreSQL 14 lets PUBLIC create in schema public: take it away, as 15 does.
      const c = new pg.Client({ connectionString: asOwner() });
      await c.connect();
      await c.query('revoke create on schema public from public');
      await c.end();
    }
    const first = connect(url, 1);
    try {
      const error = await migrateToLatest(first.db).then(() => null, (e: Error) => e);
      expect(error?.message).toContain('preparing the migrations (table public.verite_migrations) failed: permission denied for schema public');
      expect(error?.message).toContain(`verite's login "${LOGIN}" may not create its tables in database "${DATABASE}"`);
      expect(error?.message).toContain(`GRANT CREATE ON SCHEMA public TO "${LOGIN}"`);
    } finally {
      await first.db.destroy();
    }

    // The owner runs the grant the message names, in the database.
    const owner = new pg.Client({ connectionString: asOwner() });
    await owner.connect();
    await owner.query(`grant create on schema public to "${LOGIN}"`);
    await owner.end();
    const second = connect(url, 1);
    try {
      await migrateToLatest(second.db);
      const tables = await second.pool.query(`select count(*)::int as n from information_schema.tables where table_schema = 'ops' and table_name = 'runs'`);
      expect(tables.rows[0].n).toBe(1);
    } finally {
      await second.db.destroy();
    }
  });
});

describe('a database not encoded in UTF8', () => {
  it('is refused before anything is created in it, saying how to create one that will do', async () => {
    await admin.query(`create database ${LATIN1} template template0 encoding 'LATIN1' locale 'C'`);
    const u = new URL(inject('adminDatabaseUrl'));
    u.pathname = `/${LATIN1}`;
    const latin = connect(u.toString(), 1);
    try {
      const error = await migrateToLatest(latin.db).then(() => null, (e: Error) => e);
      expect(error?.message).toBe(
        `database "${LATIN1}" is encoded LATIN1: verite lands the APIs' JSON as it comes, which may hold any Unicode character, and needs a UTF8 database. ` +
          `Create one with CREATE DATABASE "${LATIN1}_utf8" ENCODING 'UTF8' TEMPLATE template0 (and the LOCALE of your choice) and point DATABASE_URL at it`,
      );
      // Nothing was created: no schema of verite's, no migrations table.
      const made = await latin.pool.query(`select count(*)::int as n from pg_namespace where nspname in ('raw', 'staging', 'core', 'metrics', 'ops')`);
      expect(made.rows[0].n).toBe(0);
      expect((await latin.pool.query(`select to_regclass('public.verite_migrations') as t`)).rows[0].t).toBeNull();
    } finally {
      await latin.db.destroy();
    }
  });
});

describe('a login that owns its database but not its schema public', () => {
  it('is told to have the schema\'s owner let it in, and with that grant the migrations run', async () => {
    // PostgreSQL 14's public schema belongs to the bootstrap superuser; once CREATE on it is
    // revoked from PUBLIC (docs/bi.md), the database's owner may not create there either.
    await admin.query(`create database ${OWNED} owner ${LOGIN}`);
    const asAdmin = new URL(inject('adminDatabaseUrl'));
    asAdmin.pathname = `/${OWNED}`;
    const schemaOwner = new pg.Client({ connectionString: asAdmin.toString() });
    await schemaOwner.connect();
    try {
      const adminName = (await schemaOwner.query('select current_user as u')).rows[0].u as string;
      await schemaOwner.query(`alter schema public owner to "${adminName}"`);
      await schemaOwner.query('revoke create on schema public from public');
      const asLogin = new URL(asAdmin);
      asLogin.username = LOGIN;
      asLogin.password = LOGIN;
      const first = connect(asLogin.toString(), 1);
      try {
        const error = await migrateToLatest(first.db).then(() => null, (e: Error) => e);
        expect(error?.message).toContain(
          `verite's login "${LOGIN}" owns database "${OWNED}" but may not create in its schema public, which "${adminName}" owns: ` +
            `have "${adminName}" run GRANT CREATE ON SCHEMA public TO "${LOGIN}" in it`,
        );
      } finally {
        await first.db.destroy();
      }
      await schemaOwner.query(`grant create on schema public to "${LOGIN}"`);
      const second = connect(asLogin.toString(), 1);
      try {
        await migrateToLatest(second.db);
        expect((await second.pool.query(`select to_regclass('ops.runs') is not null as made`)).rows[0].made).toBe(true);
      } finally {
        await second.db.destroy();
      }
    } finally {
      await schemaOwner.end();
    }
  });
});

describe('a connection limit used up', () => {
  it("the login's own limit, and the database's, each named with what to do", async () => {
    // Limits of 0: the first session is already one too many. Superusers are exempt from both,
    // so a login of its own; the database is the not-owned one above, which it may connect to.
    await admin.query(`create role ${LIMITED} login password '${LIMITED}' connection limit 0`);
    await admin.query(`grant connect on database ${DATABASE} to ${LIMITED}`);
    const u = new URL(asOwner());
    u.username = LIMITED;
    u.password = LIMITED;
    const opened = (target: string) =>
      openWarehouse({ databaseUrl: target, migrate: false }).then(
        async (wh) => {
          await wh.close();
          return 'connected';
        },
        (e: Error) => e.message,
      );
    const byRole = await opened(u.toString());
    expect(byRole).toContain(`cannot connect to the warehouse at postgres://${LIMITED}@`);
    expect(byRole).toContain('the login has used its own connection limit (ALTER ROLE … CONNECTION LIMIT): end its other sessions, or have the limit raised; verite keeps up to 10 sessions');
    expect(byRole).not.toContain(`:${LIMITED}@`);

    await admin.query(`alter role ${LIMITED} connection limit -1`);
    await admin.query(`alter database ${DATABASE} connection limit 0`);
    try {
      expect(await opened(u.toString())).toContain('the database has used its connection limit (ALTER DATABASE … CONNECTION LIMIT)');
    } finally {
      await admin.query(`alter database ${DATABASE} connection limit -1`);
    }
    expect(await opened(u.toString())).toBe('connected');
  });
});
