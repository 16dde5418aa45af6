import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import * as m0024 from '../../warehouse/migrations/0024-faster-patterns.ts';
import * as m0026 from '../../warehouse/migrations/0026-collation-independent.ts';
import { urlParam } from '../../transforms/sql.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Migration 0024 rewrote the parse functions for speed ([0-9] for \d, a cheaper fast path for
 * dates and times). Each must give what it gave before on every text: the values are worked out
 * with the new definitions, then with the old ones (the migration's `down`), and compared.
 */

let wh: Warehouse;
beforeAll(async () => {
  // The C locale: under another, the definitions before 0024 fail on digits of other scripts (`\d`).
  wh = await createTestDatabase('parse_patterns', 'C');
});
afterAll(async () => wh?.close());

const TIMESTAMPS = [
  '2024-03-01T10:00:00Z', '2024-03-01T10:00:00z', '2024-03-01t10:00:00Z', '2024-03-01 10:00:00Z',
  '2024-03-01T10:00:00+01:00', '2024-03-01T10:00:00-05:30', '2024-03-01T10:00:00+0100', '2024-03-01T10:00:00+01',
  '2024-03-01T10:00:00+15:59', '2024-03-01T10:00:00+16:00', '2024-03-01T10:00:00', '2024-03-01T10:00Z',
  '2024-03-01T10:00:00.1Z', '2024-03-01T10:00:00.123456789+02:00', '2024-03-01T10:00:00.1234567890Z', '2024-03-01T10:00:00,5Z',
  ' 2024-03-01T10:00:00Z ', '2024-03-01T10:00:00 Z', '2024-01-31T23:59:59Z', '2024-04-31T10:00:00Z', '2024-04-30T10:00:00Z',
  '2024-02-29T10:00:00Z', '2023-02-29T10:00:00Z', '2000-02-29T10:00:00Z', '1900-02-29T10:00:00Z', '2024-02-30T10:00:00Z',
  '0000-03-01T10:00:00Z', '9999-12-31T23:59:59Z', '2024-00-01T10:00:00Z', '2024-13-01T10:00:00Z', '2024-03-00T10:00:00Z',
  '2024-03-01T24:00:00Z', '2024-03-01T23:60:00Z', '2024-03-01T23:59:60Z', '2024-03-01', '2024-3-1T10:00:00Z',
  '٢٠٢٤-03-01T10:00:00Z', '2024-03-01T10:00:00+01:00 ', '', ' ', 'yesterday', 'now', 'garbage',
];
const DECIMALS = ['12', '-3.5', '+1', '.5', '10.', '0.00', '1e5', 'NaN', 'Infinity', ' 12 ', '', ' ', '1,5', '١٢', '12.3.4', '-', '.'];
const INTEGERS = ['12', '-12', '+0', '1.0', ' 7 ', '', '١', '9999999999999999999'];
const EPOCHS = ['1700000000', '123456789012', '1234567890123', '-1', '', 'abc', '١٧٠٠٠٠٠٠٠٠', ' 1700000000 ', '0'];
const DATES = ['2024-02-29', '2023-02-29', '2024-04-31', '2024-12-31', '0000-01-01', '2024-1-01', ' 2024-01-01 ', '٢٠٢٤-01-01', ''];

async function values(db: Kysely<any>) {
  const res = await sql<{ v: unknown }>`
    select jsonb_build_object(
      'timestamps', (select jsonb_agg(jsonb_build_array(t, ops.parse_timestamptz(t), ops.date_or_timestamp_problem('f', t, true, '1995-01-01', '2030-01-01', 'Europe/Paris')) order by o) from unnest(${TIMESTAMPS}::text[]) with ordinality as x(t, o)),
      'null', jsonb_build_array(ops.parse_timestamptz(null), ops.parse_decimal(null), ops.parse_integer(null), ops.parse_date(null)),
      'decimals', (select jsonb_agg(jsonb_build_array(t, ops.parse_decimal(t)) order by o) from unnest(${DECIMALS}::text[]) with ordinality as x(t, o)),
      'integers', (select jsonb_agg(jsonb_build_array(t, ops.parse_integer(t)) order by o) from unnest(${INTEGERS}::text[]) with ordinality as x(t, o)),
      'epochs', (select jsonb_agg(jsonb_build_array(t, ops.epoch_problem('created', t, true, '1995-01-01', '2030-01-01', 'UTC')) order by o) from unnest(${EPOCHS}::text[]) with ordinality as x(t, o)),
      'dates', (select jsonb_agg(jsonb_build_array(t, ops.parse_date(t)) order by o) from unnest(${DATES}::text[]) with ordinality as x(t, o))
    ) as v`.execute(db);
  return res.rows[0]!.v;
}

describe('migration 0024: faster patterns, the same values', () => {
  it('gives on every text what the definitions before it gave', async () => {
    // One connection, in UTC: a text without an offset is read in the session's zone.
    await wh.db.connection().execute(async (db) => {
      await sql`set timezone = 'UTC'`.execute(db);
      const now = (await values(db)) as { timestamps: [string, unknown, unknown][]; decimals: [string, unknown][] };
      // A few worked out by hand: the new fast path and the slower steps.
      const ts = new Map(now.timestamps.map(([t, v]) => [t, v]));
      expect(ts.get('2024-03-01T10:00:00+01:00')).toBe('2024-03-01T09:00:00+00:00');
      expect(ts.get('2024-01-31T23:59:59Z')).toBe('2024-01-31T23:59:59+00:00');
      expect(ts.get('2024-02-29T10:00:00Z')).toBe('2024-02-29T10:00:00+00:00');
      expect(ts.get('2024-03-01T10:00:00+0100')).toBe('2024-03-01T09:00:00+00:00');
      expect(ts.get('2024-03-01T10:00:00')).toBe('2024-03-01T10:00:00+00:00');
      for (const bad of ['2023-02-29T10:00:00Z', '2024-04-31T10:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01T10:00:00+16:00', '٢٠٢٤-03-01T10:00:00Z', 'yesterday']) expect({ bad, v: ts.get(bad) }).toEqual({ bad, v: null });
      expect(new Map(now.decimals.map(([t, v]) => [t, v])).get('١٢')).toBeNull();

      // 0026 redefined some of them since: taken off first, put back last.
      await m0026.down(db as Kysely<unknown>);
      await m0024.down(db as Kysely<unknown>);
      const before = await values(db);
      await m0024.up(db as Kysely<unknown>);
      await m0026.up(db as Kysely<unknown>);
      expect(now).toEqual(before);
      await sql`reset timezone`.execute(db);
    });
    const safe = await sql<{ proname: string; proparallel: string }>`
      select proname, proparallel from pg_proc where pronamespace = 'ops'::regnamespace
         and proname in ('parse_decimal', 'parse_integer', 'parse_date', 'parse_timestamptz', 'date_or_timestamp_problem', 'epoch_problem') order by proname`.execute(wh.db);
    expect(safe.rows.every((r) => r.proparallel === 's')).toBe(true);
    expect(safe.rows).toHaveLength(6);
  });
});

/** Texts near the one shape `ops.iso_timestamptz` reads without a pattern, each a way to miss it. */
const NEAR_SHAPES = [
  '2024-03-01T10:00:00-00:00', '2024-03-01T10:00:00+15:59', '2024-03-01T10:00:00-15:59', '2024-03-01T10:00:00-16:00',
  '2024-03-01T10:00:00+05:60', '2024-03-01T10:00:00+1:000', '2024+03-01T10:00:00Z', '2024-03-01T1 :00:00Z',
  '2024-03-01T10:00:0 Z', '2024-03-01T10:0a:00Z', '2024-03-01T10:00:00Zz', '2024-03-01T10:00:00Z ', '2024-03-01T10:60:00Z',
  '2024-03-01T25:00:00Z', '2024-02-29T23:59:59+01:00', '2100-02-29T10:00:00Z', '2024-03-01X10:00:00Z', '+024-03-01T10:00:00Z',
  '2024-03-01T10:00:00+01:00:00', '2024-03-01T10:00:00.5+01:00', '1995-01-01T00:00:00+14:00', '2024-06-31T10:00:00-05:00',
];

describe('migration 0025: ops.iso_timestamptz, what ops.parse_timestamptz gives', () => {
  it('gives on every text what ops.parse_timestamptz gives, in any time zone, and is inlined into the query', async () => {
    const texts = [...TIMESTAMPS, ...NEAR_SHAPES, null];
    await wh.db.connection().execute(async (db) => {
      for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
        await sql`select set_config('timezone', ${zone}, false)`.execute(db);
        const res = await sql<{ t: string | null; iso: string | null; strict: string | null }>`
          select t, ops.iso_timestamptz(t)::text as iso, ops.parse_timestamptz(t)::text as strict from unnest(${texts}::text[]) as x(t)`.execute(db);
        expect(res.rows).toHaveLength(texts.length);
        for (const row of res.rows) expect({ zone, t: row.t, v: row.iso }).toEqual({ zone, t: row.t, v: row.strict });
      }
      await sql`reset timezone`.execute(db);
      // Worked out by hand: the shape, an offset, a leap day, and what the server takes but the strict reading does not.
      const one = async (t: string) => (await sql<{ v: string | null }>`select to_char(ops.iso_timestamptz(${t}) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS') as v`.execute(db)).rows[0]!.v;
      expect(await one('2024-03-01T10:00:00Z')).toBe('2024-03-01 10:00:00');
      expect(await one('2024-03-01T10:00:00-05:30')).toBe('2024-03-01 15:30:00');
      expect(await one('2024-02-29T23:59:59+01:00')).toBe('2024-02-29 22:59:59');
      for (const bad of ['2024-03-01T24:00:00Z', '2024-03-01T23:59:60Z', '2100-02-29T10:00:00Z', '2024-03-01T10:00:00-16:00', '2024-03-01T1 :00:00Z']) {
        expect({ bad, v: await one(bad) }).toEqual({ bad, v: null });
      }
    });
    // Inlined: the plan holds the function's body, not a call of it.
    const version = (await sql<{ v: number }>`select current_setting('server_version_num')::int as v`.execute(wh.db)).rows[0]!.v;
    const plan = (await sql<{ 'QUERY PLAN': string }>`explain (verbose, costs off) select ops.iso_timestamptz(t) from (values ('2024-03-01T10:00:00Z')) as x(t)`.execute(wh.db)).rows
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).not.toMatch(/iso_timestamptz/);
    expect(plan).toMatch(version >= 160000 ? /pg_input_is_valid/ : /parse_timestamptz/);
  });
});

/** Landing URLs each of which a reading of the UTM parameters could get wrong. */
const LANDING_URLS = [
  '/?utm_source=google&utm_medium=cpc&utm_campaign=brand', '/?UTM_SOURCE=Google&Utm_Medium=CPC', '/p?x=1&amp;utm_source=news%20letter&amp;utm_medium=email',
  '/?amp;utm_source=a', '/?AMP;utm_source=a', '/?utm_source=&utm_medium=x', '/?utm_source=a+b%21', '/?utm_source=%E2%82%AC', '/?utm_source=%ZZ', '/?utm_source=%FF',
  '/?xutm_source=a&utm_source=b', '/?utm_source=a&utm_source=b', '/?utm_source=a#frag&utm_medium=m', '/?utm_source= spaced ', '/?utm_sourcex=1&utm_source=2',
  '/path?utm_source=a&amp;amp;utm_medium=b', '/é?utm_source=a', '/ﬁ?UTM_source=a&utm_medium=é', 'İ?utm_source=a', 'utm_source=a', '', '/', '/?utm_campaign=',
  '/?utm_source=a&', '/?utm_medium=x&utm_source=y&utm_campaign=z', '?&utm_source=a', '/?utm%5Fsource=a', '/?utm_source=a?b=c&utm_campaign=x=y',
  '/?utm_source=a&amp;utm_source=b', '/?&amp;utm_medium=m&utm_medium=n', '/?utm_source==', '/utm_source=x/?utm_source=b', '/?a=1&UTM_source=X',
  '/?Amp;utm_source=q', 'https://shop.example/?utm_campaign=spring%2Bsale&utm_source=ig', null,
];

describe('urlParam: the UTM parameters mostly without a pattern, what ops.url_param gives', () => {
  it('gives for every landing URL what ops.url_param gives', async () => {
    const names = ['utm_source', 'utm_medium', 'utm_campaign'] as const;
    const res = await sql<Record<string, string | null>>`
      select x.url, ${sql.join(names.map((n) => sql`${urlParam(sql.ref('x.url'), n)} as ${sql.id(`fast_${n}`)}, ops.url_param(x.url, ${n}) as ${sql.id(`slow_${n}`)}`))}
        from unnest(${LANDING_URLS}::text[]) with ordinality as x(url, o)
       order by x.o`.execute(wh.db);
    expect(res.rows).toHaveLength(LANDING_URLS.length);
    for (const row of res.rows) {
      for (const n of names) expect({ url: row.url, name: n, v: row[`fast_${n}`] }).toEqual({ url: row.url, name: n, v: row[`slow_${n}`] });
    }
    // Worked out by hand.
    const by = new Map(res.rows.map((r) => [r.url, r]));
    expect(by.get('/?UTM_SOURCE=Google&Utm_Medium=CPC')).toMatchObject({ fast_utm_source: 'Google', fast_utm_medium: 'CPC', fast_utm_campaign: null });
    expect(by.get('/p?x=1&amp;utm_source=news%20letter&amp;utm_medium=email')).toMatchObject({ fast_utm_source: 'news letter', fast_utm_medium: 'email' });
    expect(by.get('/?utm_source=a&utm_source=b')?.fast_utm_source).toBe('a');
    expect(by.get('/?utm_source=%E2%82%AC')?.fast_utm_source).toBe('€');
    expect(by.get('/?utm_source=&utm_medium=x')).toMatchObject({ fast_utm_source: null, fast_utm_medium: 'x' });
    expect(by.get('utm_source=a')?.fast_utm_source).toBeNull();
  });
});
