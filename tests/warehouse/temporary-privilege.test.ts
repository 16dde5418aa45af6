import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { errorMessage, isPermanent } from '../../lib/errors.ts';
import { createLogger } from '../../lib/logger.ts';
import { BiRolePrivilegeError, grantBiRole } from '../../metrics/bi-role.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { checkWarehouse } from '../../pipeline/warehouse-check.ts';
import { openWarehouse, type Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { databaseUrl } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * A login that does not own its database, given CREATE on it by the owner, as an administrator
 * hands a database out. It may create temporary tables through PUBLIC, as every login may, until
 * the owner runs docs/bi.md's `REVOKE TEMPORARY ON DATABASE … FROM PUBLIC` for the BI role. Then
 * loading a page, the transform and the refresh can create none, and nothing said so: `bi grant`
 * "granted" it back (PostgreSQL only warns when a non-owner grants) and reported success, `verite
 * check` said the warehouse was ready, and the next run retried every stream before failing with
 * the server's "permission denied to create temporary tables". Each now says what to grant.
 */
const suffix = randomBytes(3).toString('hex');
const LOGIN = `verite_notemp_${suffix}`;
const OWNER = `verite_dbowner_${suffix}`;
const DATABASE = `verite_notemp_${suffix}`;
const BI = `bi_notemp_${suffix}`;
// A password of its own: the command line redacts a password wherever it appears, a login's name too when they are the same.
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const loginUrl = () => {
  const url = new URL(databaseUrl(DATABASE));
  url.username = LOGIN;
  url.password = PASSWORD;
  return url.toString();
};
const log = createLogger(process.stderr, 'silent');

/** What every refusal says, worked out from the names above: the login, the database, its owner and the one GRANT. */
const ADVICE =
  `verite's login "${LOGIN}" may not create temporary tables in database "${DATABASE}", which loading, the transform, the metrics refresh and the CLV fit do ` +
  `(every login has that right through PUBLIC until it is revoked from PUBLIC): have the database's owner "${OWNER}" run GRANT TEMPORARY ON DATABASE "${DATABASE}" TO "${LOGIN}"`;

let admin: pg.Client;
let wh: Warehouse;
let dir: string;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
  await admin.connect();
  await admin.query(`create role ${OWNER} nologin`);
  // CREATEROLE for bi grant.
  await admin.query(`create role ${LOGIN} login createrole nosuperuser password '${PASSWORD}'`);
  await admin.query(`create database ${DATABASE} owner ${OWNER}`);
  await admin.query(`grant create on database ${DATABASE} to ${LOGIN}`);
  if (Number((await admin.query(`select current_setting('server_version_num') as v`)).rows[0].v) < 150000) {
    // PostgreSQL 14 lets PUBLIC create in schema public, which only the schema's owner may
    // revoke, and bi grant refuses a role that could create there: the step docs/bi.md has the
    // administrator take once (15 and later no longer grant it). TEMPORARY is what this file is about.
    const schemaOwner = new pg.Client({ connectionString: databaseUrl(DATABASE) });
    await schemaOwner.connect();
    try {
      await schemaOwner.query(`revoke create on schema public from public`);
    } finally {
      await schemaOwner.end();
    }
  }
  wh = await openWarehouse({ databaseUrl: loginUrl() });
  await createFakeTables(wh.db);
  dir = mkdtempSync(join(tmpdir(), 'verite-notemp-'));
  writeFileSync(join(dir, 'verite.config.json'), '{}');
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${DATABASE} with (force)`).catch(() => undefined);
  for (const role of [BI, LOGIN, OWNER]) await admin.query(`drop role if exists ${role}`).catch(() => undefined);
  await admin.end();
});

const ticks = (beforePage?: () => Promise<void>) => [{ source: fakeSource({ streams: ['ticks'], pages: 1, beforePage }), config: {} }];
// Three attempts with no wait between them: a failure taken for a passing one would be tried three times.
const config = configSchema.parse({ retries: { streamAttempts: 3, backoffSeconds: 0 } });

describe('a login that lost TEMPORARY on a database it does not own', () => {
  it('mid-run: the page that needs a temporary table fails once, not retried, saying what to grant', async () => {
    // The first run lands page 1 (keys 1-1 and 1-2) while the login still has TEMPORARY through PUBLIC.
    const first = await runPipeline({ warehouse: wh, config, log, sources: ticks(), steps: [] });
    expect(first.status).toBe('succeeded');
    // Page 1 again: its keys are landed, so it is merged through a temporary table.
    await wh.pool.query(`delete from ops.stream_state where source = 'fake'`);
    // A new handle: a session that has made a temporary table keeps the right to for its life.
    const fresh = await openWarehouse({ databaseUrl: loginUrl(), migrate: false });
    try {
      let revoked = false;
      const revoke = async () => {
        if (revoked) return;
        revoked = true;
        await admin.query(`revoke temporary on database ${DATABASE} from public`);
      };
      const second = await runPipeline({ warehouse: fresh, config, log, sources: ticks(revoke), steps: [] });
      expect(second.status).toBe('failed');
      expect(second.streams).toHaveLength(1);
      const [ticksOutcome] = second.streams;
      expect(ticksOutcome).toMatchObject({ source: 'fake', stream: 'ticks', status: 'failed', attempts: 1 });
      expect(isPermanent(ticksOutcome!.error)).toBe(true);
      // The login name and database as the client connected with; the owner is not known then.
      expect(errorMessage(ticksOutcome!.error)).toContain(
        `statement failed: permission denied to create temporary tables in database "${DATABASE}": ` +
          `verite's login "${LOGIN}" may not create temporary tables in database "${DATABASE}", which loading, the transform, the metrics refresh and the CLV fit do ` +
          `(every login has that right through PUBLIC until it is revoked from PUBLIC): have the database's owner run GRANT TEMPORARY ON DATABASE "${DATABASE}" TO "${LOGIN}"`,
      );
      // One attempt recorded, not three.
      const recorded = await fresh.pool.query(`select count(*)::int as n from ops.stream_runs where run_id = $1`, [second.runId]);
      expect(recorded.rows[0].n).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('verite check: a problem, the tables being there, naming the owner\'s GRANT', async () => {
    const found = await checkWarehouse({ databaseUrl: loginUrl() });
    expect(found.level).toBe('problem');
    expect(found.findings.filter((f) => f.level === 'problem').map((f) => f.message)).toEqual([ADVICE]);
    expect(found.findings.map((f) => f.message)).toContain("verite's tables are there and up to date");
  });

  it('a run is refused before it starts, once, with the same words', async () => {
    const before = (await wh.pool.query(`select count(*)::int as n from ops.runs`)).rows[0].n as number;
    await expect(runPipeline({ warehouse: wh, config, log, sources: ticks(), steps: [] })).rejects.toThrow(ADVICE);
    // Refused before its row is written: no run, no stream attempted.
    expect((await wh.pool.query(`select count(*)::int as n from ops.runs`)).rows[0].n).toBe(before);
  });

  it('bi grant does not report success: it fails, changing nothing, naming the owner\'s GRANT', async () => {
    const refused = grantBiRole(wh.db, { role: BI });
    await expect(refused).rejects.toBeInstanceOf(BiRolePrivilegeError);
    await expect(refused).rejects.toThrow(`${ADVICE}, then run verite bi grant again; nothing was changed`);
    expect((await admin.query('select 1 from pg_roles where rolname = $1', [BI])).rowCount).toBe(0);
    const cli = await runCli(['bi', 'grant', '--role', BI], { env: { DATABASE_URL: loginUrl(), VERITE_CONFIG: join(dir, 'verite.config.json') } });
    expect(cli.code, cli.stdout + cli.stderr).toBe(1);
    expect(cli.stderr).toContain(ADVICE);
    expect(cli.stdout).not.toContain('Role ');
  });

  it('verite clv fit, which makes temporary tables too, is refused before it starts, with the same words', async () => {
    const before = (await wh.pool.query(`select count(*)::int as n from metrics.clv_model`)).rows[0].n as number;
    const cli = await runCli(['clv', 'fit'], { env: { DATABASE_URL: loginUrl(), VERITE_CONFIG: join(dir, 'verite.config.json') } });
    expect(cli.code, cli.stdout + cli.stderr).toBe(1);
    expect(cli.stderr).toContain(ADVICE);
    expect((await wh.pool.query(`select count(*)::int as n from metrics.clv_model`)).rows[0].n).toBe(before);
  });

  it('the GRANT it names, run by the owner, is all it takes', async () => {
    const asOwner = new pg.Client({ connectionString: databaseUrl(DATABASE) });
    await asOwner.connect();
    try {
      // The test's superuser stands in for the owner (a superuser grants as the owner).
      await asOwner.query(`GRANT TEMPORARY ON DATABASE "${DATABASE}" TO "${LOGIN}"`);
    } finally {
      await asOwner.end();
    }
    const found = await checkWarehouse({ databaseUrl: loginUrl() });
    expect(found.findings.filter((f) => f.level === 'problem')).toEqual([]);
    const granted = await grantBiRole(wh.db, { role: BI });
    expect(granted).toMatchObject({ role: BI, created: true });
    await wh.pool.query(`delete from ops.stream_state where source = 'fake'`);
    const again = await runPipeline({ warehouse: wh, config, log, sources: ticks(), steps: [] });
    expect(again.status).toBe('succeeded');
  });
});
