import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { METRIC_TABLES } from '../../metrics/definition.ts';
import { BiRoleWritableError, biGrantProblems, grantBiRole } from '../../metrics/bi-role.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { scramSha256Verifier } from '../../metrics/scram.ts';
import { RUN_LOCK, withRunLock, type LockHolder } from '../../pipeline/lock.ts';
import { describeHolder } from '../../scheduler/run-job.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { CONFIG, landShop } from './support/shop.ts';

/**
 * Acceptance 2: the role made by `verite bi grant` logs in with its password, reads every
 * metric table (also after refreshes that recreate them), and can neither read raw, staging,
 * core or ops nor write anywhere.
 */

const suffix = randomBytes(3).toString('hex');
const ROLE = `bi_reader_${suffix}`;
const OTHER = `bi_manual_${suffix}`;
const PASSWORD = `first-${randomBytes(8).toString('hex')}`;
const NEW_PASSWORD = `second-${randomBytes(8).toString('hex')}`;
const config = configSchema.parse(CONFIG);
// Every table of schema metrics: the refreshed views, clv_model (one row per CLV fit), the catalogue,
// and the view data_status (issue 17: "data as of" for a dashboard).
const TABLES = [...METRIC_TABLES, 'catalog', 'data_status'];

let wh: Warehouse;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  wh = await createTestDatabase('metrics_bi');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config, { now: new Date('2024-03-12T12:00:00Z') })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config)).status).toBe('succeeded');
  dir = mkdtempSync(join(tmpdir(), 'verite-bi-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify(CONFIG));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json'), BI_TEST_PASSWORD: PASSWORD };
});

afterAll(async () => {
  // Roles belong to the whole server: remove what they hold in this database, then them.
  for (const role of [ROLE, OTHER]) {
    await wh.pool.query(`drop owned by ${role}`).catch(() => undefined);
    await wh.pool.query(`drop role if exists ${role}`).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

/** A connection as `role` with `password` (the test server authenticates with SCRAM). */
async function connectAs(role: string, password: string): Promise<pg.Client> {
  const url = new URL(wh.url);
  url.username = role;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return client;
}

/** The SQLSTATE of the error `query` raises, or 'ok'. */
async function outcome(client: pg.Client, query: string): Promise<string> {
  try {
    await client.query(query);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

async function grant(args: string[], extraEnv: Record<string, string> = {}) {
  return runCli(['bi', 'grant', ...args], { env: { ...env, ...extraEnv } });
}

describe('verite bi grant', () => {
  it('creates a login role without printing its password', async () => {
    const result = await grant(['--role', ROLE, '--password-env', 'BI_TEST_PASSWORD', '--statement-timeout', '1s']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Role ${ROLE} created`);
    expect(result.stdout).toContain('metrics.kpi_daily');
    expect(result.stdout).toContain('no CREATE in any schema and no temporary tables');
    // A new database grants TEMPORARY to PUBLIC: the grant took it back, and says so.
    expect(result.stdout).toMatch(/note: TEMPORARY on database \S+ is no longer granted to PUBLIC/);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    const stored = await wh.pool.query(`select rolpassword from pg_authid where rolname = $1`, [ROLE]);
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  it('lets the role read every metric table, unqualified too (search_path metrics)', async () => {
    const client = await connectAs(ROLE, PASSWORD);
    try {
      expect(TABLES).toEqual(expect.arrayContaining(['product_daily', 'inventory_daily']));
      for (const table of TABLES) {
        const res = await client.query(`select count(*)::int as n from metrics.${table}`);
        const expected = (await wh.pool.query(`select count(*)::int as n from metrics.${table}`)).rows[0].n;
        expect(res.rows[0].n, table).toBe(expected);
      }
      expect((await client.query(`select count(*)::int as n from kpi_daily`)).rows[0].n).toBe(368);
      // Issue 17: a dashboard reads "data complete through" from data_status: the last day of the shop's data, 10 March 2024.
      // The BI tool's own session writes dates in the server's DateStyle: the date formatted explicitly.
      const status = await client.query(`select to_char(complete_through, 'YYYY-MM-DD') as day from data_status where source = 'metrics' and stream = 'refresh'`);
      expect(status.rows).toEqual([{ day: '2024-03-10' }]);
      expect((await client.query('show statement_timeout')).rows[0].statement_timeout).toBe('1s');
      expect((await client.query('show default_transaction_read_only')).rows[0].default_transaction_read_only).toBe('on');
      // A session left idle inside a transaction is ended after ten minutes (its locks would hold the refresh).
      expect((await client.query('show idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout).toBe('10min');
    } finally {
      await client.end();
    }
  });

  it('names the role of a session that holds the run lock, so a BI session that took it can be found and ended', async () => {
    const client = await connectAs(ROLE, PASSWORD);
    try {
      // Advisory locks are granted to PUBLIC by the server: the role can take verite's.
      expect((await client.query('select pg_try_advisory_lock($1, $2) as ok', [RUN_LOCK.namespace, RUN_LOCK.id])).rows[0].ok).toBe(true);
      const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid as number;
      const outcome = await withRunLock(wh.pool, { mode: 'skip' }, async () => 'ran');
      expect(outcome).toMatchObject({ acquired: false, reason: 'held', holder: { pid, role: ROLE } });
      const said = await describeHolder(wh.db, (outcome as { holder: LockHolder }).holder);
      // Its client address (127.0.0.1 over TCP, none over a socket) left out of the comparison.
      expect(said.replace(/ from [^)]+\)/, ')')).toBe(`another session holds the run lock (PostgreSQL backend ${pid}, role ${ROLE}); no verite run is recorded as going on: if that session is not one, end it with SELECT pg_terminate_backend(${pid})`);
    } finally {
      await client.end();
    }
  });

  it('denies raw, staging, core and ops, and every write, even with read-only turned off', async () => {
    const client = await connectAs(ROLE, PASSWORD);
    try {
      // core.customer_predictions: per-customer predictions, keyed by guests' e-mail addresses (issue 14).
      // The product, stock, fee and cost tables of issue 13 too (acceptance 5): the BI role reads product_daily and inventory_daily only.
      for (const table of [
        'raw.shopify__orders', 'staging.shopify_orders', 'core.orders', 'core.customers', 'core.customer_predictions', 'ops.runs', 'ops.stream_state',
        'raw.shopify__products', 'raw.costs__unit_costs', 'staging.costs_unit_costs', 'core.products', 'core.product_variants', 'core.inventory_levels',
        'core.balance_transactions', 'core.refund_lines',
      ]) {
        expect(await outcome(client, `select * from ${table} limit 1`), table).toBe('42501'); // insufficient_privilege
      }
      // Read-only by default: the write fails before privileges are even checked.
      expect(await outcome(client, `insert into metrics.kpi_daily (date) values ('2030-01-01')`)).toBe('25006'); // read_only_sql_transaction
      // A session may turn that off; privileges still refuse every write.
      await client.query('set default_transaction_read_only = off');
      for (const statement of [
        `insert into metrics.kpi_daily (date) values ('2030-01-01')`,
        `update metrics.kpi_daily set orders = 0`,
        `delete from metrics.catalog`,
        `truncate metrics.kpi_weekly`,
        `drop table metrics.kpi_monthly`,
        `create table metrics.mine (x int)`,
        `create table public.mine (x int)`,
        `create schema mine`,
        // A temporary table is a write too (issue 4): without TEMPORARY on the database, refused once read-only is off.
        `create temp table mine (x int)`,
        `create temp table mine as select * from metrics.kpi_daily`,
        `insert into raw.shopify__orders (_key) values ('x')`,
        `update core.orders set total_price = 0`,
      ]) {
        expect(await outcome(client, statement), statement).toBe('42501');
      }
      // The statement time-out of the role stops a long query.
      expect(await outcome(client, 'select pg_sleep(3)')).toBe('57014'); // query_canceled
    } finally {
      await client.end();
    }
    expect((await wh.pool.query(`select count(*)::int as n from metrics.kpi_daily`)).rows[0].n).toBe(368);
  });

  it('still reads after refreshes that refill, rebuild or newly create the metric tables', async () => {
    // A table someone granted to another role by hand keeps that grant when it is rebuilt.
    await wh.pool.query(`create role ${OTHER} login password '${OTHER}'`);
    await wh.pool.query(`grant usage on schema metrics to ${OTHER}; grant select on metrics.kpi_weekly to ${OTHER}`);
    // Refill in place; rebuild kpi_weekly (its shape changed); create kpi_monthly anew (no previous table).
    await wh.pool.query(`alter table metrics.kpi_weekly add column stray integer`);
    await wh.pool.query(`drop table metrics.kpi_monthly`);
    const result = await refreshMetrics(wh, config);
    expect(result.status).toBe('succeeded');
    const modes = Object.fromEntries(result.tables.map((t) => [t.table, t.mode]));
    expect(modes).toMatchObject({ 'metrics.kpi_daily': 'refilled', 'metrics.kpi_weekly': 'created', 'metrics.kpi_monthly': 'created' });

    const client = await connectAs(ROLE, PASSWORD);
    try {
      for (const table of TABLES) expect(await outcome(client, `select * from metrics.${table} limit 1`), table).toBe('ok');
    } finally {
      await client.end();
    }
    const other = await connectAs(OTHER, OTHER);
    try {
      expect(await outcome(other, 'select * from metrics.kpi_weekly limit 1')).toBe('ok');
      expect(await outcome(other, 'select * from metrics.kpi_daily limit 1')).toBe('42501');
    } finally {
      await other.end();
    }
  });

  it('changes the password when run again, and keeps it without --password-env', async () => {
    const changed = await grant(['--role', ROLE, '--password-env', 'BI_TEST_PASSWORD'], { BI_TEST_PASSWORD: NEW_PASSWORD });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toContain(`Role ${ROLE} updated`);
    await expect(connectAs(ROLE, PASSWORD)).rejects.toMatchObject({ code: '28P01' }); // invalid_password
    (await connectAs(ROLE, NEW_PASSWORD)).end();

    const kept = await grantBiRole(wh.db, { role: ROLE });
    expect(kept).toMatchObject({ created: false, passwordSet: false, statementTimeout: '30s' });
    (await connectAs(ROLE, NEW_PASSWORD)).end();
  });

  it('refuses bad usage with exit 2: a bad name, an unset password variable', async () => {
    const badName = await grant(['--role', 'Looker Reader', '--password-env', 'NO_SUCH_VARIABLE_SET']);
    expect(badName.code).toBe(2);
    // The variable is checked first, without touching the warehouse.
    expect(badName.stderr).toMatch(/NO_SUCH_VARIABLE_SET: that environment variable is not set/);
    const bad = await grant(['--role', 'Looker Reader', '--statement-timeout', 'forever']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--role "Looker Reader": expected a lower-case PostgreSQL name .*; --statement-timeout "forever": expected a positive duration/);
  });

  it('fails loudly, changing nothing, when a grant it cannot revoke would let the role create (issue 4)', async () => {
    // As PostgreSQL 14 leaves schema public: CREATE granted to PUBLIC by an owner verite's role may not be. Here the test's
    // superuser could revoke it, but the grant only revokes on public and metrics: another schema left open must be named.
    const open = `open_${suffix}`;
    await wh.pool.query(`create schema ${open}; grant create on schema ${open} to public`);
    try {
      const error = await grantBiRole(wh.db, { role: ROLE, statementTimeout: '5s' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BiRoleWritableError);
      expect((error as BiRoleWritableError).problems).toEqual([
        `it can create objects in schema ${open}: CREATE is granted to it or to PUBLIC, and only the schema's owner ${new URL(wh.url).username} can revoke that: ` +
          `have ${new URL(wh.url).username} run REVOKE CREATE ON SCHEMA "${open}" FROM PUBLIC, ${ROLE}; then run verite bi grant again`,
      ]);
      // Rolled back: the statement time-out set by the previous grant is unchanged.
      const setting = await wh.pool.query(
        `select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = $1 and s.setdatabase = 0`,
        [ROLE],
      );
      expect(setting.rows[0].setconfig).toContain('statement_timeout=30s');
    } finally {
      await wh.pool.query(`drop schema ${open}`);
    }
  });

  it('refuses the role verite connects as, and a role with more powers than reading', async () => {
    const owner = new URL(wh.url).username;
    await expect(grantBiRole(wh.db, { role: owner })).rejects.toThrow(/the role verite itself connects as/);
    await wh.pool.query(`create role ${OTHER}_admin createdb`);
    try {
      await expect(grantBiRole(wh.db, { role: `${OTHER}_admin` })).rejects.toThrow(/exists with CREATEDB: a BI role must not/);
    } finally {
      await wh.pool.query(`drop role ${OTHER}_admin`);
    }
    expect(biGrantProblems({ role: 'pg_reader', statementTimeout: '0s' })).toEqual([
      '--role pg_reader: names starting with pg_ are reserved by PostgreSQL',
      '--statement-timeout "0s": expected a positive duration such as 30s, 2min or 500ms',
    ]);
  });
});

describe('issue 17: verite bi grant as a managed database\'s owner login (CREATEROLE, no superuser)', () => {
  const OWNER = `verite_owner_${suffix}`;
  const OWNER_PASSWORD = `owner-${randomBytes(8).toString('hex')}`;
  const DATABASE = `verite_owned_${suffix}`;
  const READER = `bi_owned_${suffix}`;
  const NOT_CREATED = `bi_not_created_${suffix}`;
  const THEIRS = `bi_theirs_${suffix}`;
  let admin: pg.Client;
  let ownerUrl: string;

  beforeAll(async () => {
    // As a managed PostgreSQL sets it up: verite's login owns its database and may create roles.
    admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
    await admin.connect();
    await admin.query(`create role ${OWNER} login createrole nosuperuser password '${OWNER_PASSWORD}'`);
    await admin.query(`create database ${DATABASE} owner ${OWNER}`);
    if (Number((await admin.query(`select current_setting('server_version_num') as v`)).rows[0].v) < 150000) {
      // PostgreSQL 14 lets PUBLIC create in schema public, which only the schema's owner may
      // revoke: the step docs/bi.md has the administrator take once, letting verite's login in
      // by name (15 and later no longer grant it, and let the database's owner in).
      const inDatabase = new URL(inject('adminDatabaseUrl'));
      inDatabase.pathname = `/${DATABASE}`;
      const schemaOwner = new pg.Client({ connectionString: inDatabase.toString() });
      await schemaOwner.connect();
      await schemaOwner.query(`revoke create on schema public from public`);
      await schemaOwner.query(`grant create on schema public to ${OWNER}`);
      await schemaOwner.end();
    }
    const url = new URL(inject('adminDatabaseUrl'));
    url.username = OWNER;
    url.password = OWNER_PASSWORD;
    url.pathname = `/${DATABASE}`;
    ownerUrl = url.toString();
  });

  afterAll(async () => {
    await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
    for (const role of [READER, NOT_CREATED, THEIRS, OWNER]) await admin.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('creates the role, then updates it on every later run (it used to need a superuser from the second run on)', async () => {
    const owner = (await admin.query<{ rolsuper: boolean; rolcreaterole: boolean }>('select rolsuper, rolcreaterole from pg_roles where rolname = $1', [OWNER])).rows[0];
    expect(owner).toEqual({ rolsuper: false, rolcreaterole: true });
    const run = (extra: Record<string, string>) => runCli(['bi', 'grant', '--role', READER, '--password-env', 'BI_TEST_PASSWORD'], { env: { DATABASE_URL: ownerUrl, VERITE_CONFIG: env.VERITE_CONFIG!, ...extra } });
    const first = await run({ BI_TEST_PASSWORD: PASSWORD });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Role ${READER} created in database ${DATABASE}`);
    for (const password of [NEW_PASSWORD, NEW_PASSWORD]) {
      const again = await run({ BI_TEST_PASSWORD: password });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`Role ${READER} updated in database ${DATABASE}`);
    }
    // The role logs in with the last password, reads metrics and nothing else.
    const url = new URL(ownerUrl);
    url.username = READER;
    url.password = NEW_PASSWORD;
    const reader = new pg.Client({ connectionString: url.toString() });
    await reader.connect();
    try {
      expect(await outcome(reader, 'select 1')).toBe('ok');
      expect(await outcome(reader, 'select * from ops.runs')).toBe('42501');
      expect((await reader.query(`select has_database_privilege(current_database(), 'TEMPORARY') as temp`)).rows).toEqual([{ temp: false }]);
    } finally {
      await reader.end();
    }
    const attributes = await admin.query('select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls from pg_roles where rolname = $1', [READER]);
    expect(attributes.rows).toEqual([{ rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolbypassrls: false }]);
  });

  it('a login without CREATEROLE is told the one statement to ask for, and nothing is changed', async () => {
    await admin.query(`alter role ${OWNER} nocreaterole`);
    try {
      const res = await runCli(['bi', 'grant', '--role', NOT_CREATED], { env: { DATABASE_URL: ownerUrl, VERITE_CONFIG: env.VERITE_CONFIG! } });
      expect(res.code, res.stdout + res.stderr).toBe(1);
      expect(res.stderr).toContain(`verite's login "${OWNER}" may not create role ${NOT_CREATED} (permission denied to create role): that takes CREATEROLE`);
      expect(res.stderr).toContain(`Have an administrator run ALTER ROLE "${OWNER}" CREATEROLE, then run verite bi grant again`);
      expect((await admin.query('select 1 from pg_roles where rolname = $1', [NOT_CREATED])).rowCount).toBe(0);
    } finally {
      await admin.query(`alter role ${OWNER} createrole`);
    }
  });

  it('a role another login created: on PostgreSQL 16 and later, the ADMIN grant to ask for, after which it works', async () => {
    await admin.query(`create role ${THEIRS} login noinherit`);
    const run = () => runCli(['bi', 'grant', '--role', THEIRS], { env: { DATABASE_URL: ownerUrl, VERITE_CONFIG: env.VERITE_CONFIG! } });
    if (Number((await admin.query(`select current_setting('server_version_num') as v`)).rows[0].v) >= 160000) {
      const refused = await run();
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      expect(refused.stderr).toContain(`verite's login "${OWNER}" may not change role ${THEIRS} (`);
      expect(refused.stderr).toContain(`Have that login or an administrator run GRANT "${THEIRS}" TO "${OWNER}" WITH ADMIN OPTION, then run verite bi grant again`);
      // Nothing of the refused run stays: no setting on the role.
      expect((await admin.query(`select 1 from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = $1`, [THEIRS])).rowCount).toBe(0);
      await admin.query(`grant "${THEIRS}" to "${OWNER}" with admin option`);
    }
    // PostgreSQL 14 and 15: CREATEROLE changes any role but a superuser, so it works at once.
    const granted = await run();
    expect(granted.code, granted.stdout + granted.stderr).toBe(0);
    expect(granted.stdout).toContain(`Role ${THEIRS} updated in database ${DATABASE}`);
  });
});

describe("verite --demo bi grant next to a real shop's warehouse: roles are the server's, not a database's", () => {
  const REAL = `bi_real_${suffix}`;
  const DEMO = `bi_demo_${suffix}`;
  const REAL_PASSWORD = `real-${randomBytes(8).toString('hex')}`;
  const DEMO_PASSWORD = `demo-${randomBytes(8).toString('hex')}`;
  let demo: Warehouse;
  /** The settings a role carries in every database (pg_db_role_setting with no database). */
  const settingsOf = async (role: string) =>
    (await wh.pool.query(`select s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole where r.rolname = $1 and s.setdatabase = 0`, [role])).rows[0]?.setconfig as string[];
  const commentOf = async (role: string) => (await wh.pool.query(`select shobj_description(oid, 'pg_authid') as c from pg_roles where rolname = $1`, [role])).rows[0]?.c as string | null;
  const demoGrant = (role: string) =>
    runCli(['--demo', 'bi', 'grant', '--role', role, '--password-env', 'DEMO_PW', '--statement-timeout', '2s'], {
      env: { ...env, VERITE_DEMO_DATABASE_URL: demo.url, DEMO_PW: DEMO_PASSWORD },
    });

  beforeAll(async () => {
    // The demo's database on the same server as the real shop's (VERITE_DEMO_DATABASE_URL, else <database>_demo).
    demo = await createTestDatabase('metrics_bi_demo');
    await grantBiRole(wh.db, { role: REAL, password: REAL_PASSWORD, statementTimeout: '45s' });
  });
  afterAll(async () => {
    for (const role of [REAL, DEMO]) {
      for (const pool of [wh.pool, demo.pool]) await pool.query(`drop owned by ${role}`).catch(() => undefined);
      await wh.pool.query(`drop role if exists ${role}`).catch(() => undefined);
    }
    await demo?.close();
  });

  it("refuses the real shop's role, changing nothing: not its password, not its time-out", async () => {
    const before = (await wh.pool.query(`select rolpassword from pg_authid where rolname = $1`, [REAL])).rows[0].rolpassword as string;
    const refused = await demoGrant(REAL);
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`role ${REAL} exists on this server and verite --demo bi grant did not create it: roles belong to the whole server`);
    expect(refused.stderr).toContain("Pick a name for the demo's own BI role (e.g. demo_reader)");
    expect((await wh.pool.query(`select rolpassword from pg_authid where rolname = $1`, [REAL])).rows[0].rolpassword).toBe(before);
    expect(await settingsOf(REAL)).toContain('statement_timeout=45s');
    // The real shop's BI tool still logs in with its password, under its own time-out.
    const client = await connectAs(REAL, REAL_PASSWORD);
    try {
      expect((await client.query('show statement_timeout')).rows[0].statement_timeout).toBe('45s');
      // Nor a grant in the demo's database.
      expect((await demo.pool.query(`select has_schema_privilege($1, 'metrics', 'USAGE') as u`, [REAL])).rows[0].u).toBe(false);
    } finally {
      await client.end();
    }
  });

  it('creates a role of its own, marked as the demo\'s, and updates it later', async () => {
    const created = await demoGrant(DEMO);
    expect(created.code, created.stdout + created.stderr).toBe(0);
    expect(created.stdout).toContain(`Role ${DEMO} created in database ${demo.describe}`);
    expect(created.stdout).toContain("note: roles belong to the whole server, so this one is marked as the demo shop's");
    expect(await commentOf(DEMO)).toBe("the demo shop's BI role, created by verite --demo bi grant");
    const again = await demoGrant(DEMO);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain(`Role ${DEMO} updated in database ${demo.describe}`);
    expect(await settingsOf(DEMO)).toContain('statement_timeout=2s');
  });

  it("a demo role the real shop's grant takes for its own is the real shop's from then on", async () => {
    await grantBiRole(wh.db, { role: DEMO, statementTimeout: '45s' });
    expect(await commentOf(DEMO)).toBeNull();
    await expect(grantBiRole(demo.db, { role: DEMO, statementTimeout: '2s', demo: true })).rejects.toThrow(`role ${DEMO} exists on this server and verite --demo bi grant did not create it`);
    expect(await settingsOf(DEMO)).toContain('statement_timeout=45s');
  });
});

describe('scramSha256Verifier', () => {
  it('accepts the client proof and gives the server signature of the RFC 7677 example', () => {
    // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const verifier = scramSha256Verifier('pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    const match = /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$([^:]+):(.+)$/.exec(verifier);
    expect(match).not.toBeNull();
    const storedKey = Buffer.from(match![1]!, 'base64');
    const serverKey = Buffer.from(match![2]!, 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    // As the server checks a login: ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) = StoredKey.
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });
});
