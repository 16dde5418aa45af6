import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { checkWarehouse, isRemoteHost, passwordProblem } from '../../pipeline/warehouse-check.ts';
import { migrations } from '../../warehouse/migrations/index.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, databaseUrl } from '../support/database.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { startEmbedded, type EmbeddedServer } from '../../warehouse/embedded.ts';

/**
 * `verite check`'s warehouse line: whether the first run would work on the `DATABASE_URL` it is
 * given, changing nothing there. Each case is a database set up as a shop's might be.
 */
const suffix = randomBytes(3).toString('hex');
const EMPTY = `verite_check_empty_${suffix}`;
const LATIN1 = `verite_check_latin1_${suffix}`;
const READ_ONLY = `verite_check_ro_${suffix}`;
const LOGIN = `verite_check_login_${suffix}`;
let admin: pg.Client;
let migrated: Warehouse;

const urlOf = databaseUrl;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create database ${EMPTY}`);
  await admin.query(`create database ${LATIN1} template template0 encoding 'LATIN1' locale 'C'`);
  await admin.query(`create database ${READ_ONLY}`);
  await admin.query(`alter database ${READ_ONLY} set default_transaction_read_only = on`);
  await admin.query(`create role ${LOGIN} login password '${LOGIN}'`);
  migrated = await createTestDatabase('check_migrated');
});
afterAll(async () => {
  await migrated?.close();
  for (const d of [EMPTY, LATIN1, READ_ONLY]) await admin.query(`drop database if exists ${d} with (force)`).catch(() => undefined);
  await admin.query(`drop role if exists ${LOGIN}`).catch(() => undefined);
  await admin.end();
});

const messages = (r: { findings: { level: string; message: string }[] }, level: string) => r.findings.filter((f) => f.level === level).map((f) => f.message);

describe("verite check's warehouse line", () => {
  it('the embedded warehouse: the free space of its disk, a warning under 2 GiB, where PostgreSQL would soon stop', async () => {
    const GIB = 1024 ** 3;
    const low = await checkWarehouse({ databaseUrl: '', cwd: '/srv/shop', freeBytes: 1.5 * GIB });
    expect(low.level).toBe('warning');
    expect(messages(low, 'warning')).toEqual([
      'only 1.5 GiB free on the disk of /srv/shop/.verite/pg: a warehouse takes about 10 GiB a million orders (docs/scale.md), and PostgreSQL stops when it cannot write its log; free space, or set VERITE_DATA_DIR to a larger disk',
    ]);
    const roomy = await checkWarehouse({ databaseUrl: '', cwd: '/srv/shop', freeBytes: 50 * GIB });
    expect(roomy.level).toBe('ok');
    expect(messages(roomy, 'ok')).toEqual(['DATABASE_URL is not set: the embedded PostgreSQL in /srv/shop/.verite/pg, started when a command needs it', '50.0 GiB free on its disk']);
    // Measured on the disk the folder's nearest existing parent is on, when not given.
    const measured = await checkWarehouse({ databaseUrl: '', cwd: '/no/such/folder' });
    expect(measured.findings.at(-1)!.message).toMatch(/GiB free on/);
  });

  it("a password that is the login's or the database's name, or part of a word verite writes: a warning, the password not named", async () => {
    const asLogin = (login: string, password: string, database = EMPTY) => {
      const u = new URL(urlOf(database));
      u.username = login;
      u.password = password;
      return u.toString();
    };
    const WORD_LOGIN = `verite_check_word_${suffix}`;
    const DB_LOGIN = `verite_check_dbname_${suffix}`;
    await admin.query(`create role ${WORD_LOGIN} login password 'shop'`);
    await admin.query(`create role ${DB_LOGIN} login password '${EMPTY}'`);
    try {
      const weak = async (url: string) => messages(await checkWarehouse({ databaseUrl: url }), 'warning').filter((m) => m.startsWith("DATABASE_URL's password"));
      const advice = 'set another (random characters, at least 16)';
      // The login made with its own name as password: that name would read [redacted] in every message.
      expect(await weak(urlOf(EMPTY, LOGIN))).toEqual([
        `DATABASE_URL's password is the login's name: the password is blanked wherever its text appears in messages and logs, so the name shows as [redacted] in every one, and it is the first password anyone tries; ${advice}`,
      ]);
      expect(await weak(asLogin(DB_LOGIN, EMPTY))).toEqual([
        `DATABASE_URL's password is the database's name: the password is blanked wherever its text appears in messages and logs, so the name shows as [redacted] in every one, and it is the first password anyone tries; ${advice}`,
      ]);
      // "shop" is in "shopify": every shopify.orders would read [redacted]ify.orders.
      expect(await weak(asLogin(WORD_LOGIN, 'shop'))).toEqual([
        `DATABASE_URL's password is a word the messages and logs use, or part of one: the password is blanked wherever its text appears in them, so they show [redacted] in place of their own words; ${advice}`,
      ]);
      // The suite's server has a random password.
      expect(await weak(migrated.url)).toEqual([]);
    } finally {
      await admin.query(`drop role if exists ${WORD_LOGIN}`);
      await admin.query(`drop role if exists ${DB_LOGIN}`);
    }
    // Shorter than four characters, a password is not blanked at all (registerSecret); the case counts, as in the blanking.
    expect(passwordProblem('postgres://shop:abc@db.example.com/shop')).toBeNull();
    expect(passwordProblem('postgres://shop:Verite@db.example.com/shop')).toBeNull();
    expect(passwordProblem('postgres://shop:hW3-xQ9_kLm2-Zt7@db.example.com/shop')).toBeNull();
    expect(passwordProblem('postgres://ma%20boutique:ma%20boutique@db.example.com/shop')).toMatch(/^DATABASE_URL's password is the login's name/);
    // Not a URL, or a percent sign not followed by two hexadecimal digits: no verdict, no exception.
    expect(passwordProblem('db.example.com 5432 shop secret')).toBeNull();
    expect(passwordProblem('postgres://shop:100%sure@db.example.com/shop')).toBeNull();
  });

  it('a migrated warehouse: ok, naming the server and that the tables are up to date', async () => {
    const found = await checkWarehouse({ databaseUrl: migrated.url });
    const version = (await admin.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]!.v.split(' ')[0];
    // No problem (a warning could come from the suite's own sessions crowding the server: not this test's subject).
    expect(messages(found, 'problem')).toEqual([]);
    expect(messages(found, 'ok')).toEqual([`PostgreSQL ${version}`, "verite's tables are there and up to date"]);
  });

  it('a reporting time zone the server does not know: a problem, as the first transform would fail on it', async () => {
    // A zone added to the tz database after the server's copy of it reads as no zone at all.
    const unknown = await checkWarehouse({ databaseUrl: migrated.url, reportingTimezone: 'Mars/Olympus' });
    expect(unknown.level).toBe('problem');
    expect(messages(unknown, 'problem')).toEqual([
      'the server does not know the time zone Mars/Olympus (reportingTimezone): its tz data is older than Node\'s; update the server\'s tz data, or choose a zone it knows (SELECT name FROM pg_timezone_names)',
    ]);
    const known = await checkWarehouse({ databaseUrl: migrated.url, reportingTimezone: 'europe/paris' });
    expect(messages(known, 'problem')).toEqual([]);
  });

  it('a migrated warehouse one migration behind this release: ok, saying the next command applies it', async () => {
    const names = Object.keys(migrations).sort();
    const last = names[names.length - 1]!;
    const { rows } = await migrated.pool.query('delete from ops.verite_migrations where name = $1 returning name', [last]);
    try {
      expect(rows).toHaveLength(1);
      const found = await checkWarehouse({ databaseUrl: migrated.url });
      expect(messages(found, 'ok')).toContain("verite's tables are there; 1 migration of this release will be applied by the next command");
    } finally {
      await migrated.pool.query(`insert into ops.verite_migrations (name, timestamp) values ($1, now()::text)`, [last]);
    }
  });

  it('a warehouse a newer release migrated: a problem naming the migration this verite does not know', async () => {
    await migrated.pool.query(`insert into ops.verite_migrations (name, timestamp) values ('0099-from-a-newer-release', now()::text)`);
    try {
      const found = await checkWarehouse({ databaseUrl: migrated.url });
      expect(found.level).toBe('problem');
      expect(messages(found, 'problem')).toEqual([expect.stringContaining('it holds migration 0099-from-a-newer-release, which this verite')]);
      expect(messages(found, 'ok')).not.toContain("verite's tables are there and up to date");
    } finally {
      await migrated.pool.query(`delete from ops.verite_migrations where name = '0099-from-a-newer-release'`);
    }
  });

  it('an empty database its owner connects to: ok, and nothing is created by the check', async () => {
    const found = await checkWarehouse({ databaseUrl: urlOf(EMPTY) });
    expect(messages(found, 'problem')).toEqual([]);
    expect(messages(found, 'ok')).toContain("verite's tables are not made yet; this login may create them (the first command does)");
    const c = new pg.Client({ connectionString: urlOf(EMPTY) });
    await c.connect();
    const made = await c.query(`select count(*)::int as n from pg_namespace where nspname in ('raw', 'staging', 'core', 'metrics', 'ops')`);
    const table = await c.query(`select coalesce(to_regclass('ops.verite_migrations'), to_regclass('public.verite_migrations')) as t`);
    await c.end();
    expect(made.rows[0].n).toBe(0);
    expect(table.rows[0].t).toBeNull();
  });

  it('a login that may not create its tables: a problem, with the grant to ask for', async () => {
    const found = await checkWarehouse({ databaseUrl: urlOf(EMPTY, LOGIN) });
    expect(found.level).toBe('problem');
    const [said] = messages(found, 'problem');
    expect(said).toContain(`the first command could not create verite's tables: verite's login "${LOGIN}" may not create its schemas in database "${EMPTY}"`);
    expect(said).toContain(`GRANT CREATE ON DATABASE "${EMPTY}" TO "${LOGIN}"`);
  });

  it('a database not in UTF8, and one whose sessions are read-only: problems, each saying what to do', async () => {
    const latin = await checkWarehouse({ databaseUrl: urlOf(LATIN1) });
    expect(latin.level).toBe('problem');
    expect(messages(latin, 'problem')[0]).toMatch(new RegExp(`^database "${LATIN1}" is encoded LATIN1: .* and needs a UTF8 database`));
    const readOnly = await checkWarehouse({ databaseUrl: urlOf(READ_ONLY) });
    expect(readOnly.level).toBe('problem');
    expect(messages(readOnly, 'problem')[0]).toContain(`database "${READ_ONLY}" takes no writes: its sessions are read-only`);
  });

  it('a server that does not answer: a problem naming it, never the password', async () => {
    const found = await checkWarehouse({ databaseUrl: 'postgres://verite:hunter2secret@127.0.0.1:1/shop' });
    expect(found.level).toBe('problem');
    expect(found.warehouse).toBe('(DATABASE_URL)');
    expect(messages(found, 'problem')[0]).toContain('cannot connect to the warehouse at postgres://verite@127.0.0.1:1/shop (DATABASE_URL): connection refused');
    expect(JSON.stringify(found)).not.toContain('hunter2secret');
  });

  it("a provider's pooler in transaction mode: a problem saying what to connect to, and nothing is checked through it", async () => {
    const found = await checkWarehouse({ databaseUrl: 'postgres://postgres.abcdef:hunter2secret@ep-quiet-lake-98765-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=verify-full' });
    expect(found).toEqual({
      warehouse: '(DATABASE_URL)',
      level: 'problem',
      findings: [
        {
          level: 'problem',
          message:
            "ep-quiet-lake-98765-pooler.eu-central-1.aws.neon.tech is Neon's pooled connection (PgBouncer in transaction mode), where verite's run lock and session settings would not stay with it: " +
            'use the direct connection, ep-quiet-lake-98765.eu-central-1.aws.neon.tech',
        },
      ],
    });
  });

  it('a login whose connection limit leaves fewer sessions than a run opens: a warning', async () => {
    await admin.query(`alter role ${LOGIN} connection limit 4`);
    try {
      // One other session of the login's is open; the check's own is not counted (it ends first): 4 - 1 = 3 to spare.
      const other = new pg.Client({ connectionString: urlOf(EMPTY, LOGIN) });
      await other.connect();
      try {
        const found = await checkWarehouse({ databaseUrl: urlOf(EMPTY, LOGIN) });
        expect(messages(found, 'warning')).toContain(
          "3 connections to spare under the login's CONNECTION LIMIT 4, and a run may open up to 10: end other sessions (BI tools, another run) or have the limit raised",
        );
      } finally {
        await other.end();
      }
    } finally {
      await admin.query(`alter role ${LOGIN} connection limit -1`);
    }
  });

  it('a server reached over the network without TLS: a warning to add sslmode', async () => {
    // The same server by its IPv4-mapped IPv6 address: not a name verite takes for this machine.
    const u = new URL(migrated.url);
    u.hostname = '[::ffff:127.0.0.1]';
    const found = await checkWarehouse({ databaseUrl: u.toString() });
    expect(messages(found, 'warning')).toContain(
      `the connection to [::ffff:7f00:1] is not encrypted: the password and the shop's data cross the network in clear; add sslmode=verify-full to DATABASE_URL (docs/operations.md, "TLS to a managed server")`,
    );
  });

  it('a host on this machine, or named without a dot (a Compose service), is not taken for a network', () => {
    for (const host of ['localhost', '127.0.0.1', '127.0.1.1', '[::1]', '', 'postgres', 'db']) expect(isRemoteHost(host), host).toBe(false);
    for (const host of ['db.example.com', 'ep-quiet-lake-98765.eu-central-1.aws.neon.tech', '10.0.0.5', '[::ffff:7f00:1]']) expect(isRemoteHost(host), host).toBe(true);
  });

  it('verite check --sources warehouse: the line alone, exit 1 on a problem and 0 otherwise', async () => {
    const good = await runCli(['check', '--sources', 'warehouse'], { env: { DATABASE_URL: migrated.url } });
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toMatch(/^warehouse\s+ok\s+PostgreSQL \d+/m);
    expect(good.stdout).toContain('The warehouse is ready.');
    const bad = await runCli(['check', '--sources', 'warehouse'], { env: { DATABASE_URL: urlOf(LATIN1) } });
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^warehouse\s+problem\s+database "verite_check_latin1_\w+" is encoded LATIN1/m);
    expect(bad.stdout).toContain('The warehouse has a problem: fix it before the first run.');
  });
});

describe("verite check's count of the server's connections, for a login that may not see other roles' sessions", () => {
  // A server of this test's own, so that every session on it is one the test opened.
  const MAX_CONNECTIONS = 20;
  const OTHERS = 9;
  let root: string;
  let server: EmbeddedServer | undefined;
  const sessions: pg.Client[] = [];
  const urlAs = (login: string) => {
    const u = new URL(server!.url);
    u.username = login;
    u.password = login;
    return u.toString();
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'verite-check-conn-'));
    chmodSync(root, 0o755); // the server may run as the unprivileged postgres user
    // No autovacuum worker comes and goes while the sessions are counted.
    server = await startEmbedded({ dataDir: join(root, 'pg'), settings: { fsync: 'off', max_connections: String(MAX_CONNECTIONS), autovacuum: 'off' } });
    const su = new pg.Client({ connectionString: server.url });
    await su.connect();
    // Neither a superuser nor a member of pg_read_all_stats: the rows of the other's sessions show no backend_type to it.
    await su.query(`create role shop_login login password 'shop_login'; create role bi_tool login password 'bi_tool'`);
    await su.end();
    for (let i = 0; i < OTHERS; i++) {
      const other = new pg.Client({ connectionString: urlAs('bi_tool') });
      await other.connect();
      sessions.push(other);
    }
  });
  afterAll(async () => {
    for (const other of sessions) await other.end().catch(() => undefined);
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("counts another role's idle sessions: fewer to spare than a run opens is a warning", async () => {
    const seen = new pg.Client({ connectionString: urlAs('shop_login') });
    await seen.connect();
    try {
      // What the login sees of them: a role and a database, no type (PostgreSQL hides it from a login without pg_read_all_stats).
      const rows = await seen.query(`select count(*)::int as n from pg_stat_activity where usename = 'bi_tool' and backend_type is null and datid is not null`);
      expect(rows.rows[0].n).toBe(OTHERS);
    } finally {
      await seen.end();
    }
    const found = await checkWarehouse({ databaseUrl: urlAs('shop_login') });
    // 20 max_connections - 3 superuser_reserved_connections (PostgreSQL's default) - 0 reserved_connections
    // - 9 sessions of bi_tool = 8 to spare (the check's own session is not counted: it ends before any run).
    expect(messages(found, 'warning')).toContain(
      "8 connections to spare under the server's max_connections, and a run may open up to 10: end other sessions (BI tools, another run) or have the limit raised",
    );
  });
});
