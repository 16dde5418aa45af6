import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VeriteConfig } from '../../config/schema.ts';
import { sources } from '../../extractors/sources.ts';
import type { KnownSources } from '../../extractors/types.ts';
import { createLogger } from '../../lib/logger.ts';
import { RUN_LOCK } from '../../pipeline/lock.ts';
import { dropMatchingRecords, readHeldRecords, retryHeldRecords, showHeldRecord, type Actor, type HeldRecord } from '../../pipeline/quarantine.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import type { Database } from '../../warehouse/database.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Bounded memory: `verite quarantine show` and `retry ID…` once read every set-aside record of the
 * stream once per id, all ids at once; `list --format json`, `drop` and `retry` by filter held
 * every matching record. Each query the code sends through Kysely is watched here: how many
 * rows it gave, and how many were running at once.
 */

let wh: Warehouse;
const actor: Actor = { command: 'verite quarantine test', user: 'test' };
const log = createLogger({ write: () => undefined }, 'error');

/** The queries sent through `watched`: their SQL, parameters and the rows they gave, and the most running at once. */
let sent: { sql: string; parameters: readonly unknown[]; rows: number }[] = [];
let running = 0;
let mostAtOnce = 0;

/** The test database's pool as Kysely sees it, each query counted as it runs and when it ends. */
function watchedPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      return {
        query: async (sql: string, parameters: unknown[]) => {
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          try {
            const result = await client.query(sql, parameters);
            sent.push({ sql, parameters, rows: result.rows.length });
            return result;
          } finally {
            running--;
          }
        },
        release: () => client.release(),
      };
    },
    end: async () => undefined,
  } as unknown as PostgresPool;
}

/** A Kysely on the test database's pool that watches every query. */
let watched: Kysely<Database>;

beforeAll(async () => {
  wh = await createTestDatabase('quarantine_memory');
  watched = new Kysely<Database>({ dialect: new PostgresDialect({ pool: watchedPool(wh.pool) }) });
});
afterAll(async () => {
  await wh?.close();
});
beforeEach(async () => {
  await wh.pool.query('truncate ops.set_aside, ops.quarantine, ops.quarantine_actions, raw.shopify__orders, raw.shopify__customers, raw.costs__unit_costs');
  sent = [];
  running = 0;
  mostAtOnce = 0;
});

/** Sets aside shopify orders `from` … `to` for a created_at that does not parse. */
async function setAside(from: number, to: number, model = 'staging.shopify_orders'): Promise<void> {
  await wh.pool.query(
    `insert into ops.set_aside (model, check_name, source, stream, key, reason, since, set_aside_at)
     select $3, 'created_at', 'shopify', 'orders', g::text, 'created_at does not parse', timestamptz '2026-01-01', now() from generate_series($1::int, $2::int) g`,
    [from, to, model],
  );
}

/** Lands raw orders `from` … `to`. */
async function landRaw(from: number, to: number): Promise<void> {
  await wh.pool.query(
    `insert into raw.shopify__orders (_key, _record, _hash, _batch_id, _run_id)
     select g::text, jsonb_build_object('id', g), md5(g::text), 'b', 'run-1' from generate_series($1::int, $2::int) g`,
    [from, to],
  );
}

const warehouse = () => ({ ...wh, db: watched }) as Warehouse;

describe('bounded memory: a held record named by id is looked up alone', () => {
  it('show reads the one set-aside record by source, stream and key, not the stream\'s list', async () => {
    await setAside(1, 3);
    // Order 2 is set aside by a second model too: its models and reasons are gathered.
    await wh.pool.query(
      `insert into ops.set_aside (model, check_name, source, stream, key, reason, since, set_aside_at)
       values ('core.orders', 'currency', 'shopify', 'orders', '2', 'currency "XX" is not an ISO 4217 currency code', timestamptz '2025-12-01', now())`,
    );
    await landRaw(2, 2);
    const shown = await showHeldRecord(watched, 'shopify.orders:2');
    expect(shown).toEqual({
      id: 'shopify.orders:2', kind: 'set aside', source: 'shopify', stream: 'orders', key: '2',
      reason: 'created_at does not parse; currency "XX" is not an ISO 4217 currency code', models: ['core.orders', 'staging.shopify_orders'],
      // The earlier of the two: 2025-12-01.
      since: new Date('2025-12-01T00:00:00Z'), location: 'raw.shopify__orders key 2', raw: '{\n  "id": 2\n}', runId: 'run-1',
    });
    // The set-aside lookup asks for key 2 and gets one row; the raw read one row: never the 3 records of the stream.
    expect(sent.map((q) => q.rows)).toEqual([1, 1]);
    expect(sent[0]!.parameters).toContain('2');
    await expect(showHeldRecord(watched, 'shopify.orders:9')).rejects.toThrow('no set-aside record shopify.orders:9 (see verite quarantine list)');
  });

  it('retry ID… looks the ids up one after another, each alone', async () => {
    await setAside(1, 30);
    const ids = ['shopify.orders:7', 'shopify.orders:3', 'shopify.orders:21'];
    const result = await retryHeldRecords({ warehouse: warehouse(), config: {} as VeriteConfig, log, actor, ids, steps: [] });
    // Three lookups of one row each, in the order named, never two at once.
    const lookups = sent.filter((q) => q.sql.includes('ops.set_aside'));
    expect(lookups.map((q) => [q.rows, q.parameters.find((p) => ['7', '3', '21'].includes(p as string))])).toEqual([
      [1, '7'],
      [1, '3'],
      [1, '21'],
    ]);
    expect(mostAtOnce).toBe(1);
    expect(result.outcomes.listed).toEqual(ids.map((id) => ({ id, kind: 'set aside', outcome: 'not re-checked (no rebuild asked for)' })));
  });
});

describe('bounded memory: every record a filter matches, a batch at a time', () => {
  it('drop by filter deletes and logs in batches of 1,000, keeping counts and the first 20', async () => {
    // 1,500 orders set aside, 1,000 of them (1 … 1000) still in raw; 2,500 quarantine rows of stripe.charges.
    await setAside(1, 1500);
    await landRaw(1, 1000);
    await wh.pool.query(
      `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
       select 'r', 'stripe', 'charges', 'no key', '{"n":' || g || '}', 'charges.jsonl:' || g from generate_series(1, 2500) g`,
    );
    const firstQuarantined = Number((await wh.pool.query(`select min(id) as id from ops.quarantine`)).rows[0].id);
    const done = await dropMatchingRecords(watched, {}, actor);
    expect(done.total).toBe(4000);
    expect([...done.counts]).toEqual([
      ['raw record deleted from raw.shopify__orders', 1000],
      ['no raw record left in raw.shopify__orders; set-aside entry removed', 500],
      ['quarantine row deleted', 2500],
    ]);
    // The first 20: orders by key as the index orders text ('1', '10', '100', '1000', '1001', …).
    expect(done.listed.map((o) => o.id)).toEqual(
      ['1', '10', '100', '1000', '1001', '1002', '1003', '1004', '1005', '1006', '1007', '1008', '1009', '101', '1010', '1011', '1012', '1013', '1014', '1015'].map((k) => `shopify.orders:${k}`),
    );
    expect(done.setAside).toBe(1500);
    // Set aside: 1,000 then 500; quarantined: 1,000, 1,000, 500. No statement gave more than a batch.
    const batches = sent.filter((q) => /^\s*with (chosen|gone) as/.test(q.sql)).map((q) => q.rows);
    expect(batches).toEqual([1000, 500, 1000, 1000, 500]);
    expect(Math.max(...sent.map((q) => q.rows))).toBeLessThanOrEqual(1000);
    const left = await wh.pool.query(`select (select count(*) from ops.set_aside)::int as set_aside, (select count(*) from ops.quarantine)::int as quarantined, (select count(*) from raw.shopify__orders)::int as raw`);
    expect(left.rows[0]).toEqual({ set_aside: 0, quarantined: 0, raw: 0 });
    const logged = await wh.pool.query(
      `select kind, count(*)::int as n, count(raw)::int as with_text, min(quarantine_id)::bigint as first from ops.quarantine_actions where action = 'drop' group by kind order by kind`,
    );
    expect(logged.rows).toEqual([
      { kind: 'quarantined', n: 2500, with_text: 2500, first: firstQuarantined },
      // The 1,000 with a raw record keep its text.
      { kind: 'set aside', n: 1500, with_text: 1000, first: null },
    ]);
  });

  it('retry by filter takes each record once, in the order of the list, though its reason changes as it is retried', async () => {
    // 1,100 rows of a stream verite does not know, every other one for reason "a …" and the rest
    // for "z …"; a retry holds each for "verite knows no stream legacy.orders" instead.
    await wh.pool.query(
      `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
       select 'r', 'legacy', 'orders', case when g % 2 = 1 then 'a: old reason' else 'z: old reason' end, '{"n":' || g || '}', 'old.jsonl:' || g from generate_series(1, 1100) g`,
    );
    const ids = (await wh.pool.query(`select id, reason from ops.quarantine order by id`)).rows as { id: number; reason: string }[];
    const result = await retryHeldRecords({ warehouse: warehouse(), config: { sources: {} } as VeriteConfig, log, actor, filter: { source: 'legacy' }, steps: [] });
    // The records came through a cursor, never a list of them all through a query.
    expect(Math.max(...sent.map((q) => q.rows))).toBeLessThanOrEqual(1);
    // The order of the list: the 550 of "a: …" by id, then the 550 of "z: …".
    const expected = [...ids.filter((r) => r.reason.startsWith('a')), ...ids.filter((r) => r.reason.startsWith('z'))].map((r) => String(r.id));
    const retried = (await wh.pool.query(`select quarantine_id from ops.quarantine_actions where action = 'retry' order by id`)).rows.map((r) => String(r.quarantine_id));
    expect(retried).toEqual(expected);
    expect(await wh.pool.query(`select distinct reason from ops.quarantine`).then((r) => r.rows)).toEqual([{ reason: 'verite knows no stream legacy.orders' }]);
    expect(result.outcomes.total).toBe(1100);
    expect(result.outcomes.stillHeld).toBe(1100);
    expect([...result.outcomes.counts]).toEqual([['still quarantined', 1100]]);
    expect(result.outcomes.listed).toHaveLength(20);
  }, 120_000);

  it('list as JSON: every record a batch at a time, in the order of the table', async () => {
    await setAside(1, 5);
    await wh.pool.query(
      `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
       select 'r', 'shopify', 'orders', 'not a JSON object (got an array)', '[' || g || ']', 'orders.jsonl:' || g from generate_series(1, 3) g`,
    );
    const batches: HeldRecord[][] = [];
    await readHeldRecords(wh, {}, async (read) => {
      for await (const batch of read) batches.push(batch);
    }, { rows: 3 });
    // shopify.orders, reason "created_at …" (5 set aside, by key) before "not a JSON object …" (3 quarantined, by id): 3, 3, 2.
    expect(batches.map((b) => b.length)).toEqual([3, 3, 2]);
    expect(batches.flat().map((h) => h.id.replace(/^q\d+$/, 'q'))).toEqual(['shopify.orders:1', 'shopify.orders:2', 'shopify.orders:3', 'shopify.orders:4', 'shopify.orders:5', 'q', 'q', 'q']);
  });
});

/**
 * `pool` with every statement sent on its connections recorded in `sent` as the Kysely ones
 * are (a COPY by its text), for the retry's own transactions, which it sends on a connection
 * of the pool.
 */
function countingPool(pool: pg.Pool): pg.Pool {
  const bound = (target: object, value: unknown) => (typeof value === 'function' ? value.bind(target) : value);
  return new Proxy(pool, {
    get(target, prop) {
      if (prop !== 'connect') return bound(target, Reflect.get(target, prop, target));
      return async () => {
        const client = await target.connect();
        return new Proxy(client, {
          get(c, p) {
            if (p !== 'query') return bound(c, Reflect.get(c, p, c));
            return (statement: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
              const text = typeof statement === 'string' ? statement : statement.text;
              const result = (c.query as (...args: unknown[]) => unknown)(statement, values);
              if (result instanceof Promise) {
                return result.then((r: pg.QueryResult) => (sent.push({ sql: text, parameters: values ?? (typeof statement === 'string' ? [] : statement.values ?? []), rows: r.rows?.length ?? 0 }), r));
              }
              sent.push({ sql: text, parameters: [], rows: 0 }); // a COPY's stream
              return result;
            };
          },
        });
      };
    },
  });
}

/** Waits until a session waits for the run lock (the retry, having read what it retries). */
async function waitingForRunLock(): Promise<void> {
  for (;;) {
    const waiting = await wh.pool.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`);
    if (waiting.rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('retry re-lands the quarantined records a batch at a time, with the outcomes one by one gives', () => {
  const arrayReason = 'not a JSON object (got an array)';
  const oldReason = 'not valid JSON: Unexpected token';

  it('a batch of good records, one refused again, two versions of a key, one dropped meanwhile and one held twice: outcomes, raw, quarantine and log as one by one', async () => {
    // Raw holds order 30 at version 2024-03-03, and order 40 exactly as its quarantined text.
    const held40 = '{"id":40,"updated_at":"2024-03-01T00:00:00Z"}';
    await wh.pool.query(
      `insert into raw.shopify__orders (_key, _record, _version, _hash, _batch_id, _run_id) values
         ('30', '{"id":30,"updated_at":"2024-03-03T00:00:00Z","v":"held"}', '2024-03-03T00:00:00Z', md5('{"id":30,"updated_at":"2024-03-03T00:00:00Z","v":"held"}'), 'b', 'run-1'),
         ('40', $1::jsonb, '2024-03-01T00:00:00Z', md5($2), 'b', 'run-1')`,
      [held40, held40],
    );
    const texts = {
      k: '{"id":7,"updated_at":"2024-03-01T00:00:00Z"}',
      a: '{"id":10,"updated_at":"2024-03-01T00:00:00Z"}',
      b: '[1, 2]',
      c: '{"id":20,"updated_at":"2024-03-01T00:00:00Z","v":"first"}',
      d: '{"id":20,"updated_at":"2024-03-02T00:00:00Z","v":"second"}',
      // Order 30 without a version, then at a version older than raw's.
      e: '{"id":30,"v":"no version"}',
      f: '{"id":30,"updated_at":"2024-03-01T00:00:00Z","v":"older"}',
      g: held40,
      h: '{"id":50}',
      i: '[3]',
      j: '[3]',
    } as const;
    const q: Record<string, string> = {};
    for (const [name, raw] of Object.entries(texts)) {
      const [stream, reason] = name === 'k' ? ['customers', oldReason] : name === 'j' ? ['orders', arrayReason] : ['orders', oldReason];
      const res = await wh.pool.query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location) values ('r', 'shopify', $1, $2, $3, $4) returning id`, [stream, reason, raw, `old.jsonl:${name}`]);
      q[name] = `q${res.rows[0].id}`;
    }
    // The retry reads what it retries, then waits for the run lock: h is dropped meanwhile.
    const lock = await wh.pool.connect();
    await lock.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
    const retrying = retryHeldRecords({ warehouse: warehouse(), config: { sources: {} } as VeriteConfig, log, actor, filter: { source: 'shopify' }, steps: [] });
    try {
      await waitingForRunLock();
      await wh.pool.query(`delete from ops.quarantine where id = $1`, [q.h!.slice(1)]);
    } finally {
      await lock.query('select pg_advisory_unlock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
      lock.release();
    }
    const result = await retrying;

    // The order of the list: customers, then orders by reason ("not a JSON object …" before "not valid JSON …"), then id.
    const expected: [string, string][] = [
      [q.k!, 'landed as shopify.customers:7'],
      // Held for the reason it is refused for: as it was.
      [q.j!, `still quarantined: ${arrayReason}`],
      [q.a!, 'landed as shopify.orders:10'],
      // Refused for another reason than it was held for: held for the new one, which no other row holds for its text.
      [q.b!, `still quarantined: ${arrayReason}`],
      // Two versions of order 20: the first lands, then the newer replaces it.
      [q.c!, 'landed as shopify.orders:20'],
      [q.d!, 'landed as shopify.orders:20'],
      // Without a version, e replaces raw's order 30; then f, at a version older than the one raw
      // held before e, replaces e (a page of both would keep f alone, which raw's 2024-03-03 refuses).
      [q.e!, 'landed as shopify.orders:30'],
      [q.f!, 'landed as shopify.orders:30'],
      [q.g!, 'landed as shopify.orders:40 (unchanged: raw already held it)'],
      [q.h!, 'gone: dropped or retried meanwhile'],
      // j holds the same text for the reason i is refused for now: the two are one, and i goes.
      [q.i!, `still quarantined: ${arrayReason} (the same record is held as ${q.j}; this row was removed)`],
    ];
    expect(result.outcomes.listed).toEqual(expected.map(([id, outcome]) => ({ id, kind: 'quarantined', outcome })));
    expect([...result.outcomes.counts]).toEqual([['landed', 7], ['still quarantined', 3], ['gone', 1]]);

    const raw = await wh.pool.query(`select _key as key, _record::text as record, _version as version from raw.shopify__orders order by _key`);
    expect(raw.rows).toEqual([
      { key: '10', record: '{"id": 10, "updated_at": "2024-03-01T00:00:00Z"}', version: new Date('2024-03-01T00:00:00Z') },
      { key: '20', record: '{"v": "second", "id": 20, "updated_at": "2024-03-02T00:00:00Z"}', version: new Date('2024-03-02T00:00:00Z') },
      { key: '30', record: '{"v": "older", "id": 30, "updated_at": "2024-03-01T00:00:00Z"}', version: new Date('2024-03-01T00:00:00Z') },
      { key: '40', record: '{"id": 40, "updated_at": "2024-03-01T00:00:00Z"}', version: new Date('2024-03-01T00:00:00Z') },
    ]);
    expect((await wh.pool.query(`select _key as key from raw.shopify__customers`)).rows).toEqual([{ key: '7' }]);
    // Still held: b for its new reason, and j.
    const left = await wh.pool.query(`select 'q' || id as id, reason, raw from ops.quarantine order by quarantine.id`);
    expect(left.rows).toEqual([
      { id: q.b, reason: arrayReason, raw: '[1, 2]' },
      { id: q.j, reason: arrayReason, raw: '[3]' },
    ]);
    // One log row for each record found, in the order of the list, with the reason it was held
    // for until then; the text of the row that went for its twin.
    const logged = await wh.pool.query(`select 'q' || quarantine_id as id, kind, key, reason, raw, outcome, acted_by, command from ops.quarantine_actions a where action = 'retry' order by a.id`);
    const reasonOf = (id: string) => (id === q.j ? arrayReason : oldReason);
    expect(logged.rows).toEqual(
      expected
        .filter(([id]) => id !== q.h)
        .map(([id, outcome]) => ({ id, kind: 'quarantined', key: null, reason: reasonOf(id), raw: id === q.i ? '[3]' : null, outcome, acted_by: 'test', command: 'verite quarantine test' })),
    );
  });

  it('a row held for the reason another row of the batch held its text for until then is given it after that one', async () => {
    // A costs stream whose mapping refuses a CSV row and a JSON row for two reasons.
    const stream = { ...sources.costs.streams[0]!, mapCsvRow: () => { throw new Error('csv: refused'); }, mapJsonRecord: () => { throw new Error('json: refused'); } };
    const known = { ...sources, costs: { ...sources.costs, streams: [stream] } } as KnownSources;
    const text = '{"Artikel": "MUG"}';
    // y (first in the table) is held for "older"; x holds the same text for "csv: refused", which y is refused for now.
    const y = (await wh.pool.query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location) values ('r', 'costs', 'unit_costs', 'older', $1, 'y.csv:2') returning 'q' || id as id`, [text])).rows[0].id;
    const x = (await wh.pool.query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location) values ('r', 'costs', 'unit_costs', 'csv: refused', $1, 'x.json:1') returning 'q' || id as id`, [text])).rows[0].id;
    const result = await retryHeldRecords({ warehouse: warehouse(), config: { sources: {} } as VeriteConfig, log, actor, filter: { source: 'costs' }, steps: [], known });
    // By reason: x ("csv: …") is held for "json: refused", which leaves "csv: refused" to y.
    expect(result.outcomes.listed).toEqual([
      { id: x, kind: 'quarantined', outcome: 'still quarantined: json: refused' },
      { id: y, kind: 'quarantined', outcome: 'still quarantined: csv: refused' },
    ]);
    expect((await wh.pool.query(`select 'q' || id as id, reason from ops.quarantine order by quarantine.id`)).rows).toEqual([
      { id: y, reason: 'csv: refused' },
      { id: x, reason: 'json: refused' },
    ]);
  });

  it('a batch of 1,000 is one transaction of a handful of statements, not a few per record', async () => {
    // 2,500 orders an older loader refused, which land now: three batches (1,000, 1,000, 500).
    await wh.pool.query(
      `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
       select 'r', 'shopify', 'orders', $1, json_build_object('id', g, 'updated_at', '2024-03-01T00:00:00Z')::text, 'old.jsonl:' || g from generate_series(1, 2500) g`,
      [oldReason],
    );
    const result = await retryHeldRecords({ warehouse: { ...warehouse(), pool: countingPool(wh.pool) }, config: { sources: {} } as VeriteConfig, log, actor, filter: { source: 'shopify' }, steps: [] });
    expect([...result.outcomes.counts]).toEqual([['landed', 2500]]);
    expect((await wh.pool.query(`select count(*)::int as raw, (select count(*)::int from ops.quarantine) as held, (select count(*)::int from ops.quarantine_actions) as logged from raw.shopify__orders`)).rows).toEqual([
      { raw: 2500, held: 0, logged: 2500 },
    ]);
    const count = (pattern: RegExp) => sent.filter((s) => pattern.test(s.sql)).length;
    // Each batch: one transaction, one COPY of its records into raw, one delete of their
    // quarantine rows and one insert of their log rows (one by one: 2,500 of each).
    expect(count(/^begin$/)).toBe(3);
    expect(count(/^\s*copy raw\./)).toBe(3);
    expect(count(/^\s*delete from "?ops"?\."?quarantine"?\s/)).toBe(3);
    expect(count(/^\s*insert into "?ops"?\."?quarantine_actions"?/)).toBe(3);
    // Each transaction: begin, the read of its quarantine rows, the landing (which keys raw
    // holds, the COPY, the stream's state, the run's counts), the delete, the log, commit.
    const transactions = sent.flatMap((s, i) => (s.sql === 'begin' ? [sent.slice(i, sent.findIndex((t, j) => j > i && t.sql === 'commit') + 1).length] : []));
    expect(transactions).toEqual([9, 9, 9]);
    // In all, with the run's start and end, the run lock and the cursors: a few dozen statements.
    expect(sent.length).toBeLessThan(60);
  });
});
