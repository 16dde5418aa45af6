import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { migrateToLatest, newerServerDefinitions } from '../../warehouse/migrate.ts';
import * as m0023 from '../../warehouse/migrations/0023-try-timestamptz-without-exception.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * A warehouse migrated on PostgreSQL 14 or 15 holds the definitions migrations 0023 and 0025
 * write there (no `pg_input_is_valid` before 16). Its server upgraded to 16 or later, they
 * stayed, since a migration runs once: the dates were read the slow way for good. Opening the
 * warehouse now writes the faster ones, once, on a server that has what they need.
 */
let wh: Warehouse;
let version: number;

beforeAll(async () => {
  wh = await createTestDatabase('newer_server');
  version = (await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(wh.db)).rows[0]!.v;
  // The warehouse as PostgreSQL 14 and 15 leave it: 0002's try_timestamptz (what 0023's down puts
  // back) and 0025's iso_timestamptz that hands every text to parse_timestamptz.
  await m0023.down(wh.db as Kysely<unknown>);
  await sql`create or replace function ops.iso_timestamptz(v text) returns timestamptz language sql stable parallel safe as $$
    select ops.parse_timestamptz(v)
  $$`.execute(wh.db);
});
afterAll(async () => {
  await wh?.close();
});

type Definition = { name: string; language: string; parallel: string; asks: boolean };
const definitions = async () =>
  (
    await sql<Definition>`
      select p.proname::text as name, l.lanname::text as language, p.proparallel::text as parallel,
             p.prosrc like '%pg_input_is_valid%' as asks
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
       where n.nspname = 'ops' and p.proname in ('try_timestamptz', 'iso_timestamptz') order by 1`.execute(wh.db)
  ).rows;

/** What both give, the same before and after: worked out by hand. */
const readings = async () =>
  (
    await sql<{ t: Date | null; i: Date | null }>`
      select ops.try_timestamptz(v) as t, ops.iso_timestamptz(nullif(btrim(v), '')) as i
        from unnest(array['2024-03-01T10:00:00Z', '2024-03-01T10:00:00+01:00', ' 2024-02-29T23:59:59-05:30 ', '']) with ordinality as x(v, n)
       order by n`.execute(wh.db)
  ).rows.map((r) => [r.t?.toISOString() ?? null, r.i?.toISOString() ?? null]);
const EXPECTED = [
  ['2024-03-01T10:00:00.000Z', '2024-03-01T10:00:00.000Z'],
  ['2024-03-01T09:00:00.000Z', '2024-03-01T09:00:00.000Z'],
  // 23:59:59 at UTC−05:30 is 05:29:59 UTC the next day, 1 March (2024 is a leap year).
  ['2024-03-01T05:29:59.000Z', '2024-03-01T05:29:59.000Z'],
  [null, null],
];

describe('a warehouse migrated on PostgreSQL 14 or 15, its server since upgraded', () => {
  it('gets the definitions 16 and later allow when it is opened, once, giving the same values', async () => {
    expect(await readings()).toEqual(EXPECTED);
    expect(await definitions()).toEqual([
      { name: 'iso_timestamptz', language: 'sql', parallel: 's', asks: false },
      { name: 'try_timestamptz', language: 'plpgsql', parallel: 'u', asks: false },
    ]);
    await migrateToLatest(wh.db);
    if (version >= 160000) {
      expect(await definitions()).toEqual([
        { name: 'iso_timestamptz', language: 'sql', parallel: 's', asks: true },
        { name: 'try_timestamptz', language: 'sql', parallel: 's', asks: true },
      ]);
    } else {
      // PostgreSQL 14 and 15: the only definitions that run there are kept.
      expect(await definitions()).toEqual([
        { name: 'iso_timestamptz', language: 'sql', parallel: 's', asks: false },
        { name: 'try_timestamptz', language: 'plpgsql', parallel: 'u', asks: false },
      ]);
    }
    expect(await readings()).toEqual(EXPECTED);
    // Nothing left to write: the next opening only looks.
    expect(await newerServerDefinitions(wh.db)).toBe(false);
  });

  it('`verite migrate` says it wrote them, not that the warehouse was already up to date', async () => {
    await m0023.down(wh.db as Kysely<unknown>);
    const env = { DATABASE_URL: wh.url };
    const first = await runCli(['migrate'], { env });
    expect(first.code, first.stderr).toBe(0);
    const where = first.stdout.slice(0, first.stdout.indexOf(': '));
    expect(first.stdout).toBe(
      version >= 160000
        ? `${where}: wrote ops.try_timestamptz and ops.iso_timestamptz again for this server's PostgreSQL (the warehouse was migrated on an older one)\n`
        : `${where}: already up to date\n`,
    );
    const second = await runCli(['migrate'], { env });
    expect(second.stdout).toBe(`${where}: already up to date\n`);
  });
});
