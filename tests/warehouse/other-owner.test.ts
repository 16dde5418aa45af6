import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { checkWarehouse } from '../../pipeline/warehouse-check.ts';
import { runTransforms } from '../../transforms/runner.ts';
import { openWarehouse, type Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase, databaseUrl } from '../support/database.ts';

/**
 * A warehouse whose tables another login built: someone ran verite once as an administrator's
 * role (from a laptop, a one-off `transform --full`), and the tables that build made are that
 * role's. verite's own login, with every privilege on them granted, still may not drop and
 * rebuild them: only an owner may. The server says "must be owner of table …"; verite adds who
 * owns it, who its login is, and what to do.
 */
const LOGIN = `verite_second_${randomBytes(3).toString('hex')}`;
const config = configSchema.parse({ reportingTimezone: 'UTC' });
// The tables below are built by the test server's own login, the superuser of the admin URL.
const OWNER = decodeURIComponent(new URL(inject('adminDatabaseUrl')).username);

let first: Warehouse;
let second: Warehouse;
let admin: pg.Client;

beforeAll(async () => {
  first = await createTestDatabase('otherowner');
  expect((await runTransforms(first, config, { full: true })).status).toBe('succeeded');
  expect((await refreshMetrics(first, config, undefined, { full: true })).status).toBe('succeeded');
  admin = new pg.Client({ connectionString: first.url });
  await admin.connect();
  // Every privilege a DBA would think of, short of owning the tables.
  await admin.query(`create role ${LOGIN} login password '${LOGIN}'`);
  await admin.query(`grant create, temporary on database "${first.describe}" to ${LOGIN}`);
  for (const schema of ['raw', 'staging', 'core', 'metrics', 'ops']) {
    await admin.query(`grant usage, create on schema ${schema} to ${LOGIN}`);
    await admin.query(`grant all on all tables in schema ${schema} to ${LOGIN}`);
    await admin.query(`grant all on all sequences in schema ${schema} to ${LOGIN}`);
  }
  second = await openWarehouse({ databaseUrl: databaseUrl(first.describe, LOGIN) });
});
afterAll(async () => {
  await second?.close();
  await admin?.end();
  await first?.close();
  const server = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await server.connect();
  await server.query(`drop role if exists ${LOGIN}`).catch(() => undefined);
  await server.end();
});

describe("a warehouse whose tables another login built", () => {
  it('the transform, replacing a table of another shape (as after an upgrade), fails naming the table, its owner, the login, and what to run', async () => {
    // Rows of a table of the same shape are replaced in place, which the privileges allow; a
    // table whose columns changed is dropped and built again, which only its owner may do.
    await admin.query('alter table core.orders add column from_an_older_release int');
    const result = await runTransforms(second, config, { full: true });
    expect(result.status).toBe('failed');
    const failed = result.results.find((r) => r.status === 'failed')!;
    expect(failed.model).toBe('core.orders');
    expect(failed.error).toMatch(/^must be owner of table orders: core\.orders belongs to /);
    expect(failed.error).toContain(`belongs to "${OWNER}", not to verite's login "${LOGIN}"`);
    expect(failed.error).toContain(`Run verite as "${OWNER}"`);
    expect(failed.error).toContain(`REASSIGN OWNED BY "${OWNER}" TO "${LOGIN}"`);
    expect(failed.error).toContain(`GRANT "${OWNER}" TO "${LOGIN}"`);
  });

  it('so does the metrics refresh', async () => {
    const result = await refreshMetrics(second, config, undefined, { full: true });
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/must be owner of (table|index) \w+: (metrics|ops)\.\w+ belongs to /);
    expect(result.error).toContain(`belongs to "${OWNER}", not to verite's login "${LOGIN}"`);
  });

  it('verite check says so before a run: how many of its tables belong to another login, whose, and the ways out', async () => {
    const tables = await admin.query<{ n: number }>(
      `select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'core', 'metrics', 'ops') and c.relkind in ('r', 'p', 'v', 'm')`,
    );
    const found = await checkWarehouse({ databaseUrl: databaseUrl(first.describe, LOGIN) });
    expect(found.level).toBe('problem');
    const problems = found.findings.filter((f) => f.level === 'problem').map((f) => f.message);
    expect(problems).toHaveLength(1);
    // Every table of verite's was built by the first login; none by this one yet.
    expect(problems[0]).toMatch(new RegExp(`^${tables.rows[0]!.n} of verite's tables belong to another login than verite's "${LOGIN}"`));
    expect(problems[0]).toContain(`to "${OWNER}" (`);
    expect(problems[0]).toContain(`GRANT "${OWNER}" TO "${LOGIN}"`);
  });

  it('and the advice is right: with the tables handed over, both succeed', async () => {
    // The test server's login is a superuser, which owns the database's system objects too (REASSIGN
    // OWNED refuses those): the advice's other way, each of verite's tables handed over (a table's
    // indexes and sequences go with it).
    const owned = await admin.query<{ t: string; kind: string }>(
      `select format('%I.%I', n.nspname, c.relname) as t, c.relkind::text as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'core', 'metrics', 'ops') and c.relkind in ('r', 'p', 'v', 'm')`,
    );
    const what: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view' };
    for (const { t, kind } of owned.rows) await admin.query(`alter ${what[kind]} ${t} owner to ${LOGIN}`);
    expect((await runTransforms(second, config, { full: true })).status).toBe('succeeded');
    expect((await refreshMetrics(second, config, undefined, { full: true })).status).toBe('succeeded');
    const found = await checkWarehouse({ databaseUrl: databaseUrl(first.describe, LOGIN) });
    expect(found.findings.filter((f) => f.level === 'problem')).toEqual([]);
  });
});
