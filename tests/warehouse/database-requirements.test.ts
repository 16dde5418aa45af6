import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connect } from '../../warehouse/connection.ts';
import { migrateToLatest, migrationsSchema, serverTooOld, versionProblem } from '../../warehouse/migrate.ts';
import { migrations } from '../../warehouse/migrations/index.ts';
import { createTestDatabase, databaseUrl, openingOutcome } from '../support/database.ts';

/**
 * What verite asks of the database it is given, and what it says when the database falls short.
 *
 * A login that does not own its database needs CREATE on it, for verite's schemas, and nothing
 * on schema `public` (PostgreSQL 15 and later let only the database's owner create there): the
 * migrator keeps its own tables in `ops`. Without CREATE the migrations fail before the first
 * one, saying who the login is, who owns the database and the statement that lets it in
 * (docs/bi.md, "What verite's own login needs"); with it, they run. A warehouse made when the
 * migrator's tables were in `public` has them moved into `ops` by its next command.
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
const asOwner = () => databaseUrl(DATABASE);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create role ${LOGIN} login password '${LOGIN}'`);
  await admin.query(`create database ${DATABASE}`);
  // What an administrator gives a login on a database it does not own: connect and create schemas.
  await admin.query(`grant connect, create, temporary on database ${DATABASE} to ${LOGIN}`);
  url = databaseUrl(DATABASE, LOGIN);
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
  it('without CREATE on it, is told who it is, who owns the database and the grant; with that grant alone, the migrations run', async () => {
    const version = Number((await admin.query(`select current_setting('server_version_num') as v`)).rows[0].v);
    const c = new pg.Client({ connectionString: asOwner() });
    await c.connect();
    // What an administrator gives a login on a database it does not own, minus CREATE; and, on
    // PostgreSQL 14, schema public closed to PUBLIC as 15 closes it.
    await c.query(`revoke create on database ${DATABASE} from ${LOGIN}`);
    if (version < 150000) await c.query('revoke create on schema public from public');
    await c.end();
    const first = connect(url, 1);
    try {
      const error = await migrateToLatest(first.db).then(() => null, (e: Error) => e);
      expect(error?.message).toContain(`preparing the migrations (table ops.verite_migrations) failed: permission denied for database ${DATABASE}`);
      expect(error?.message).toContain(`verite's login "${LOGIN}" may not create its schemas in database "${DATABASE}"`);
      expect(error?.message).toContain(`GRANT CREATE ON DATABASE "${DATABASE}" TO "${LOGIN}"`);
    } finally {
      await first.db.destroy();
    }

    // The owner runs the grant the message names; schema public stays closed to the login.
    await admin.query(`grant create on database ${DATABASE} to "${LOGIN}"`);
    const second = connect(url, 1);
    try {
      await migrateToLatest(second.db);
      const found = await second.pool.query(`select to_regclass('ops.runs') is not null as runs, to_regclass('ops.verite_migrations') is not null as ops,
        to_regclass('public.verite_migrations') is not null as public, has_schema_privilege('public', 'CREATE') as "createInPublic"`);
      expect(found.rows[0]).toEqual({ runs: true, ops: true, public: false, createInPublic: false });
    } finally {
      await second.db.destroy();
    }
  });
});

describe('a database not encoded in UTF8', () => {
  it('is refused before anything is created in it, saying how to create one that will do', async () => {
    await admin.query(`create database ${LATIN1} template template0 encoding 'LATIN1' locale 'C'`);
    const latin = connect(databaseUrl(LATIN1), 1);
    try {
      const error = await migrateToLatest(latin.db).then(() => null, (e: Error) => e);
      expect(error?.message).toBe(
        `database "${LATIN1}" is encoded LATIN1: verite lands the APIs' JSON as it comes, which may hold any Unicode character, and needs a UTF8 database. ` +
          `Create one with CREATE DATABASE "${LATIN1}_utf8" ENCODING 'UTF8' TEMPLATE template0 (and the LOCALE of your choice) and point DATABASE_URL at it`,
      );
      // Nothing was created: no schema of verite's, no migrations table.
      const made = await latin.pool.query(`select count(*)::int as n from pg_namespace where nspname in ('raw', 'staging', 'core', 'metrics', 'ops')`);
      expect(made.rows[0].n).toBe(0);
      expect((await latin.pool.query(`select coalesce(to_regclass('ops.verite_migrations'), to_regclass('public.verite_migrations')) as t`)).rows[0].t).toBeNull();
    } finally {
      await latin.db.destroy();
    }
  });
});

describe('a login that owns its database but not its schema public', () => {
  it('needs nothing on schema public: the migrations run, and nothing of verite\'s is put there', async () => {
    // PostgreSQL 14's public schema belongs to the bootstrap superuser; once CREATE on it is
    // revoked from PUBLIC (docs/bi.md), the database's owner may not create there.
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
      const login = connect(asLogin.toString(), 1);
      try {
        await migrateToLatest(login.db);
        expect((await login.pool.query(`select to_regclass('ops.runs') is not null as made, has_schema_privilege('public', 'CREATE') as "createInPublic"`)).rows[0]).toEqual({
          made: true,
          createInPublic: false,
        });
      } finally {
        await login.db.destroy();
      }
      const inPublic = await schemaOwner.query(`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'`);
      expect(inPublic.rows[0].n).toBe(0);
    } finally {
      await schemaOwner.end();
    }
  });
});

describe('a warehouse made when the migrator kept its tables in public', () => {
  it('has them moved into ops by its next command, once, with every migration still counted as applied', async () => {
    const wh = await createTestDatabase('migrations_in_public');
    try {
      const applied = (await wh.pool.query('select count(*)::int as n from ops.verite_migrations')).rows[0].n as number;
      expect(applied).toBe(Object.keys(migrations).length);
      await wh.pool.query('alter table ops.verite_migrations set schema public');
      await wh.pool.query('alter table ops.verite_migrations_lock set schema public');
      const result = await migrateToLatest(wh.db);
      // Nothing ran again: the migrator found every migration applied, in its new place.
      expect(result.results).toEqual([]);
      const where = await wh.pool.query(`select to_regclass('ops.verite_migrations') is not null as ops, to_regclass('ops.verite_migrations_lock') is not null as lock,
        to_regclass('public.verite_migrations') is not null as public, (select count(*)::int from ops.verite_migrations) as n`);
      expect(where.rows[0]).toEqual({ ops: true, lock: true, public: false, n: applied });
    } finally {
      await wh.close();
    }
  });

  it('a login that may not move them uses them where they are, as before', async () => {
    const wh = await createTestDatabase('migrations_kept_in_public');
    try {
      await wh.pool.query('alter table ops.verite_migrations set schema public');
      await wh.pool.query('alter table ops.verite_migrations_lock set schema public');
      // Tables owned by a role verite's login is not: ALTER … SET SCHEMA is refused to it.
      await wh.pool.query(`grant all on schema ops, raw, staging, core, metrics to ${LOGIN}`);
      await wh.pool.query(`grant all on all tables in schema public to ${LOGIN}`);
      await wh.pool.query(`grant connect on database ${new URL(wh.url).pathname.slice(1)} to ${LOGIN}`);
      const asLogin = new URL(wh.url);
      asLogin.username = LOGIN;
      asLogin.password = LOGIN;
      const login = connect(asLogin.toString(), 1);
      try {
        expect(await migrationsSchema(login.db)).toBe('public');
      } finally {
        await login.db.destroy();
      }
      expect((await wh.pool.query(`select to_regclass('public.verite_migrations') is not null as public`)).rows[0].public).toBe(true);
      await wh.pool.query(`revoke all on schema ops, raw, staging, core, metrics from ${LOGIN}`);
      await wh.pool.query(`revoke all on all tables in schema public from ${LOGIN}`);
    } finally {
      await wh.close();
    }
  });
});

describe('a connection limit used up', () => {
  it("the login's own limit, and the database's, each named with what to do", async () => {
    // Limits of 0: the first session is already one too many. Superusers are exempt from both,
    // so a login of its own; the database is the not-owned one above, which it may connect to.
    await admin.query(`create role ${LIMITED} login password '${LIMITED}' connection limit 0`);
    await admin.query(`grant connect on database ${DATABASE} to ${LIMITED}`);
    const limited = databaseUrl(DATABASE, LIMITED);
    const byRole = await openingOutcome(limited);
    expect(byRole).toContain(`cannot connect to the warehouse at postgres://${LIMITED}@`);
    expect(byRole).toContain('the login has used its own connection limit (ALTER ROLE … CONNECTION LIMIT): end its other sessions, or have the limit raised; verite keeps up to 10 sessions');
    expect(byRole).not.toContain(`:${LIMITED}@`);

    await admin.query(`alter role ${LIMITED} connection limit -1`);
    await admin.query(`alter database ${DATABASE} connection limit 0`);
    try {
      expect(await openingOutcome(limited)).toContain('the database has used its connection limit (ALTER DATABASE … CONNECTION LIMIT)');
    } finally {
      await admin.query(`alter database ${DATABASE} connection limit -1`);
    }
    expect(await openingOutcome(limited)).toBe('connected');
  });
});

describe('a server older than PostgreSQL 14', () => {
  // PostgreSQL 13.23 took the migrations and the landing, then failed the first transform on
  // `unrecognized configuration parameter "enable_memoize"` (run by hand against 13.23); now
  // every command that migrates, and `verite check`, refuses it first.
  it('is refused naming its version and the oldest verite needs; 14 and later pass', () => {
    expect(serverTooOld(130023, '13.23')).toBe(
      'the server is PostgreSQL 13.23, and verite needs 14 or newer (its models use what 14 brought; 13 and older are past their end of life): upgrade the server, or point DATABASE_URL at a newer one',
    );
    expect(serverTooOld(120022, '12.22 (Debian 12.22-1.pgdg120+1)')).toMatch(/^the server is PostgreSQL 12\.22, and verite needs 14 or newer/);
    expect(serverTooOld(140000, '14.0')).toBeNull();
    expect(serverTooOld(180004, '18.4')).toBeNull();
  });

  it('lets the suite\'s own server through', async () => {
    const wh = await createTestDatabase('version_floor');
    try {
      expect(await versionProblem(wh.db)).toBeNull();
    } finally {
      await wh.close();
    }
  });
});

describe('a warehouse migrated by a newer verite', () => {
  it('is refused before anything is read or written, naming the migrations this verite does not know', async () => {
    const wh = await createTestDatabase('newer_schema');
    try {
      // What a newer release leaves: one more migration recorded than this one has.
      await wh.pool.query(`insert into ops.verite_migrations (name, timestamp) values ('0099-from-a-newer-release', now())`);
      const newest = Object.keys(migrations).sort().at(-1);
      await expect(migrateToLatest(wh.db)).rejects.toThrow(
        `this warehouse was brought to a newer schema by a newer release of verite: it holds migration 0099-from-a-newer-release, which this verite (its newest is ${newest}) does not know, so it does not run against it.`,
      );
      // Nothing of the warehouse changed: the newer release's record is still there, and every migration of this one.
      const names = (await wh.pool.query<{ name: string }>('select name from ops.verite_migrations order by name')).rows.map((r) => r.name);
      expect(names).toEqual([...Object.keys(migrations), '0099-from-a-newer-release'].sort());
    } finally {
      await wh.close();
    }
  });
});
