import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { order } from '../transforms/fixtures.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Issue 17, acceptance 1, as a user meets it: one raw order whose created_at does not parse
 * among 1,000 good ones, imported from a file. `verite run` succeeds with a warning naming it,
 * the metrics count the 1,000 and not it, `verite quarantine list` shows it with its reason,
 * `verite quarantine drop` removes it (logged), and the next run has no warning.
 */

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  wh = await createTestDatabase('quarantine_cli');
  dir = mkdtempSync(join(tmpdir(), 'verite-quarantine-'));
  // A real source (a shipments folder, empty) so that `verite run` has something to run.
  mkdirSync(join(dir, 'shipments'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: { shipments: { path: join(dir, 'shipments') } } }));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

const REASON = 'created_at "last Tuesday" is not a valid ISO 8601 date and time (such as 2024-03-01T10:00:00Z)';
const query = async (text: string) => (await wh.pool.query(text)).rows;

describe('verite quarantine (issue 17)', () => {
  it('one order with an unparseable created_at among 1,000: the run succeeds with a warning naming it, the metrics count the 1,000, and drop clears it', async () => {
    // Orders 1 … 1000, one a customer, one per day from 2022-01-01 at noon UTC, order i totals i.00.
    const good = Array.from({ length: 1000 }, (_, k) => {
      const i = k + 1;
      const day = new Date(Date.UTC(2022, 0, 1) + k * 86_400_000).toISOString().slice(0, 10);
      return order({ id: i, created_at: `${day}T12:00:00Z`, total: `${i}.00`, customer: i, gateways: ['manual'] });
    });
    const bad = { ...order({ id: 1001, created_at: 'last Tuesday', total: '99.00', customer: 1001, gateways: ['manual'] }), updated_at: '2024-01-01T00:00:00Z' };
    const file = join(dir, 'orders.jsonl');
    writeFileSync(file, [...good.slice(0, 500), bad, ...good.slice(500)].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const imported = await runCli(['import', 'shopify', 'orders', file], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('1001 record(s) read, 1001 written');

    const run = await runCli(['run'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Run [0-9a-f-]+: succeeded with warnings$/m);
    expect(run.stdout).toContain(`Warnings (records set aside are left out of every metric: verite quarantine list, show, drop, retry):`);
    expect(run.stdout).toContain(`  shopify.orders 1001 set aside: ${REASON}\n`);
    expect(run.stdout).toMatch(/^transform: succeeded, \d+ models built, \d+ data checks passed; 1 record set aside \(verite quarantine list\)$/m);
    expect(run.stderr).toMatch(/^verite: run [0-9a-f-]+ succeeded with warnings: shopify\.orders 1001 set aside: created_at "last Tuesday"/m);
    expect(await query(`select kind, status, warnings from ops.runs where kind = 'run'`)).toEqual([
      { kind: 'run', status: 'succeeded with warnings', warnings: `shopify.orders 1001 set aside: ${REASON}` },
    ]);
    // 1 + 2 + … + 1000 = 500,500; a new customer each.
    expect(await query(`select sum(orders)::int as orders, sum(revenue)::float8 as revenue, sum(new_customers)::int as new_customers from metrics.kpi_daily`)).toEqual([
      { orders: 1000, revenue: 500500, new_customers: 1000 },
    ]);
    expect(await query(`select count(*)::int as n from core.orders where order_id = '1001'`)).toEqual([{ n: 0 }]);

    const list = await runCli(['quarantine', 'list'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('1 set aside by the last transform, 0 quarantined by the loader');
    expect(list.stdout).toMatch(/^shopify\.orders:1001\s+set aside\s+shopify\.orders\s+created_at "last Tuesday" is not a valid ISO 8601/m);
    const json = await runCli(['quarantine', 'list', '--source', 'shopify', '--format', 'json'], { env });
    expect(JSON.parse(json.stdout)).toEqual([
      {
        id: 'shopify.orders:1001', kind: 'set aside', source: 'shopify', stream: 'orders', key: '1001', reason: REASON,
        models: ['staging.shopify_orders'], since: expect.any(String), location: 'raw.shopify__orders key 1001',
      },
    ]);
    const show = await runCli(['quarantine', 'show', 'shopify.orders:1001'], { env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`reason    ${REASON}\n`);
    expect(show.stdout).toContain('location  raw.shopify__orders key 1001\n');
    expect(show.stdout).toContain('"created_at": "last Tuesday"');

    const drop = await runCli(['quarantine', 'drop', 'shopify.orders:1001'], { env });
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).toMatch(/^shopify\.orders:1001\s+set aside\s+raw record deleted from raw\.shopify__orders$/m);
    expect(await query(`select count(*)::int as n from raw.shopify__orders where _key = '1001'`)).toEqual([{ n: 0 }]);
    const [logged] = await query(`select action, kind, source, stream, key, reason, raw::jsonb->>'created_at' as created_at, outcome, command, acted_by from ops.quarantine_actions`);
    expect(logged).toEqual({
      action: 'drop', kind: 'set aside', source: 'shopify', stream: 'orders', key: '1001', reason: REASON, created_at: 'last Tuesday',
      outcome: 'raw record deleted from raw.shopify__orders', command: 'verite quarantine drop shopify.orders:1001', acted_by: expect.any(String),
    });

    const next = await runCli(['run'], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toMatch(/^Run [0-9a-f-]+: succeeded$/m);
    expect(next.stdout).not.toContain('Warnings');
    expect(next.stderr).not.toContain('warnings');
    expect(await query(`select status, warnings from ops.runs where kind = 'run' order by started_at desc limit 1`)).toEqual([{ status: 'succeeded', warnings: null }]);
    const empty = await runCli(['quarantine', 'list'], { env });
    expect(empty.stdout).toBe('No record is held back: nothing quarantined, nothing set aside.\n');
  }, 600_000);

  it('retry: a quarantined line the loader now takes lands, one it still refuses stays and is dropped; a set-aside order is used once a corrected record is imported', async () => {
    const broken = { ...order({ id: 2001, created_at: '2024-02-30T10:00:00Z', total: '10.00', customer: 2001, gateways: ['manual'] }), updated_at: '2024-03-01T00:00:00Z' };
    const file = join(dir, 'more.jsonl');
    // Line 2 is no JSON object: the loader quarantines it with file and line.
    writeFileSync(file, `${JSON.stringify(broken)}\n["not", "an", "object"]\n`);
    expect((await runCli(['import', 'shopify', 'orders', file], { env })).code).toBe(0);
    const transform = await runCli(['transform'], { env });
    expect(transform.code, transform.stderr).toBe(0);
    expect(transform.stdout).toContain('Set aside (left out of every metric; verite quarantine list, show, drop, retry):\n  shopify.orders 2001 set aside: created_at "2024-02-30T10:00:00Z"');
    const held = JSON.parse((await runCli(['quarantine', 'list', '--format', 'json'], { env })).stdout) as { id: string; kind: string; reason: string; location: string | null }[];
    const quarantined = held.find((h) => h.kind === 'quarantined')!;
    expect(quarantined).toMatchObject({ reason: 'not a JSON object (got an array)', location: 'more.jsonl:2' });
    expect(held.map((h) => h.id)).toEqual(['shopify.orders:2001', quarantined.id]);

    // A line an older loader refused (it read the byte-order mark as part of the JSON): the
    // text is a good order, which the loader of today takes.
    const bom = order({ id: 3001, created_at: '2021-07-01T10:00:00Z', total: '30.00', customer: 3001, gateways: ['manual'] });
    const [{ id: bomRow }] = await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location)
      values ('old-run', 'shopify', 'orders', 'not valid JSON: Unexpected token', '${JSON.stringify(bom)}', 'old.jsonl:1') returning id`);

    // Nothing fixed yet but the loader: the BOM line lands, the others stay held and say why.
    const early = await runCli(['quarantine', 'retry'], { env });
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toMatch(new RegExp(`^q${bomRow}\\s+quarantined\\s+landed as shopify\\.orders:3001$`, 'm'));
    expect(await query(`select count(*)::int as n from ops.quarantine where id = ${bomRow}`)).toEqual([{ n: 0 }]);
    // The rebuild that re-checked the set-aside order took the landed one in.
    expect(await query(`select order_date::text, total_price::float8 from core.orders where order_id = '3001'`)).toEqual([{ order_date: '2021-07-01', total_price: 30 }]);
    expect(early.stdout).toMatch(new RegExp(`^${quarantined.id}\\s+quarantined\\s+still quarantined: not a JSON object \\(got an array\\)$`, 'm'));
    expect(early.stdout).toMatch(/^shopify\.orders:2001\s+set aside\s+still set aside: created_at "2024-02-30T10:00:00Z"/m);
    expect(early.stdout).toContain('2 still held back');

    // The shop sends the corrected order (a newer version): retry re-checks it and uses it.
    const fixed = join(dir, 'fixed.jsonl');
    // (On a day no other order has: the orders of the test above run from 2022-01-01.)
    writeFileSync(fixed, `${JSON.stringify({ ...broken, created_at: '2021-06-15T10:00:00Z', updated_at: '2024-03-02T00:00:00Z' })}\n`);
    expect((await runCli(['import', 'shopify', 'orders', fixed], { env })).code).toBe(0);
    const retried = await runCli(['quarantine', 'retry', 'shopify.orders:2001'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(/^shopify\.orders:2001\s+set aside\s+used by the build now$/m);
    expect(await query(`select order_date::text, total_price::float8 from core.orders where order_id = '2001'`)).toEqual([{ order_date: '2021-06-15', total_price: 10 }]);
    expect(await query(`select orders::int, revenue::float8 from metrics.kpi_daily where date = '2021-06-15'`)).toEqual([{ orders: 1, revenue: 10 }]);

    // A loader quarantine row that will never land is dropped: the row goes, its text is logged.
    const dropped = await runCli(['quarantine', 'drop', quarantined.id], { env });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(await query(`select count(*)::int as n from ops.quarantine`)).toEqual([{ n: 0 }]);
    expect(await query(`select action, kind, raw, outcome from ops.quarantine_actions where quarantine_id = '${quarantined.id.slice(1)}' order by id`)).toEqual([
      { action: 'retry', kind: 'quarantined', raw: null, outcome: 'still quarantined: not a JSON object (got an array)' },
      { action: 'drop', kind: 'quarantined', raw: '["not", "an", "object"]', outcome: 'quarantine row deleted' },
    ]);
    // An id that names nothing is a usage error, and nothing is dropped.
    const unknown = await runCli(['quarantine', 'drop', 'shopify.orders:2001', 'q999999'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no set-aside record shopify.orders:2001');
  }, 600_000);

  it('list and drop: a file of 130 charges without an id is counted whole, shown a page at a time, and dropped by its filters', async () => {
    const file = join(dir, 'charges-without-id.jsonl');
    writeFileSync(file, Array.from({ length: 130 }, (_, i) => JSON.stringify({ object: 'charge', amount: 100 + i, currency: 'eur' })).join('\n') + '\n');
    expect((await runCli(['import', 'stripe', 'charges', file], { env })).code).toBe(1);
    const ids = (await query(`select id from ops.quarantine where source = 'stripe' order by id`)).map((r) => `q${r.id}`);
    expect(ids).toHaveLength(130);
    const rowsOf = (stdout: string) => stdout.split('\n').filter((line) => /^q\d+\s/.test(line)).map((line) => line.split(/\s+/)[0]);
    const page = await runCli(['quarantine', 'list', '--source', 'stripe'], { env });
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout).toContain('0 set aside by the last transform, 130 quarantined by the loader; left out of every metric.\n');
    expect(page.stdout).toMatch(/^stripe\.charges\s+quarantined\s+130\s*$/m);
    expect(page.stdout).toContain('The first 100 of 130, by stream, reason and id:\n');
    // One reason for all: by id, in the order they were quarantined (q99 before q100).
    expect(rowsOf(page.stdout)).toEqual(ids.slice(0, 100));
    expect(page.stdout).toContain('30 more not shown: --limit N or --all for more, --stream, --kind or --reason WORDS to narrow.\n');
    const five = await runCli(['quarantine', 'list', '--source', 'stripe', '--limit', '5'], { env });
    expect(rowsOf(five.stdout)).toHaveLength(5);
    expect(five.stdout).toContain('125 more not shown');
    const all = await runCli(['quarantine', 'list', '--source', 'stripe', '--all'], { env });
    expect(rowsOf(all.stdout)).toHaveLength(130);
    expect(all.stdout).not.toContain('more not shown');
    expect(JSON.parse((await runCli(['quarantine', 'list', '--source', 'stripe', '--format', 'json'], { env })).stdout)).toHaveLength(130);
    expect(JSON.parse((await runCli(['quarantine', 'list', '--source', 'stripe', '--format', 'json', '--limit', '3'], { env })).stdout)).toHaveLength(3);
    const zero = await runCli(['quarantine', 'list', '--limit', '0'], { env });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--limit 0: expected a whole number from 1');

    // retry lists the first 20 and counts the rest by what came of them.
    const retried = await runCli(['quarantine', 'retry', '--source', 'stripe', '--no-transform'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(rowsOf(retried.stdout)).toHaveLength(20);
    expect(retried.stdout).toContain('… and 110 more (each in ops.quarantine_actions): 110 still quarantined\n');
    expect(retried.stdout).toContain('130 still held back');
    // The re-landing is a run of its own, with the liveness lock every run holds (a killed retry is told from a running one).
    const relanding = await wh.pool.query(`select status, liveness_key from ops.runs where kind = 'quarantine retry' order by started_at desc limit 1`);
    expect(relanding.rows[0].status).toBe('succeeded');
    expect(relanding.rows[0].liveness_key).not.toBeNull();

    // drop by filters: every one of them at once (each logged), not 130 ids on the command line.
    const neither = await runCli(['quarantine', 'drop'], { env });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('name the records to drop (ids from verite quarantine list), or give filters');
    const both = await runCli(['quarantine', 'drop', ids[0]!, '--source', 'stripe'], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
    const dropped = await runCli(['quarantine', 'drop', '--source', 'stripe', '--stream', 'charges'], { env });
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain('130 held records dropped (each logged in ops.quarantine_actions):\n  130 quarantine row deleted\n');
    expect(await query(`select count(*)::int as n from ops.quarantine where source = 'stripe'`)).toEqual([{ n: 0 }]);
    expect(await query(`select count(*)::int as n from ops.quarantine_actions where action = 'drop' and source = 'stripe' and stream = 'charges'`)).toEqual([{ n: 130 }]);
    const none = await runCli(['quarantine', 'drop', '--source', 'stripe'], { env });
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No held record matches: nothing was dropped.');
  });

  it('a retried row reads its amounts with the decimal mark its file showed, as `verite import` does; with no mark known, a 1.234 stays held, saying to set decimalMark', async () => {
    const configFile = join(dir, 'costs.config.json');
    const costs = (extra: Record<string, unknown> = {}) =>
      writeFileSync(configFile, JSON.stringify({ reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: { costs: { path: join(dir, 'unused'), ...extra } } }));
    const costsEnv = { ...env, VERITE_CONFIG: configFile };
    const columns = { Artikel: 'sku', Preis: 'unit_cost', Cur: 'currency', Ab: 'valid_from' };
    const unitCost = async (key: string) => (await query(`select _record->'unit_cost' as cost from raw.costs__unit_costs where _key = '${key}'`))[0]?.cost;
    // No mapping yet: no column is known to hold amounts, and every row is quarantined for want of a sku.
    costs();
    const file = join(dir, 'preise.csv');
    // 4,20 and 2,00 show a decimal comma: SOFA's 1.234 is one thousand two hundred and thirty-four.
    writeFileSync(file, 'Artikel;Preis;Cur;Ab\nTEE-M;4,20;EUR;2024-03-01\nSOFA;1.234;EUR;2024-03-01\nMUG;2,00;EUR;15.03.2024\n');
    expect((await runCli(['import', 'costs', 'unit_costs', file], { env: costsEnv })).code).toBe(1);
    // A file whose amounts show no mark, and a row quarantined before the marks were kept.
    const whole = join(dir, 'ganz.csv');
    writeFileSync(whole, 'Artikel;Preis;Cur;Ab\nBANK;2.500;EUR;2024-03-01\n');
    expect((await runCli(['import', 'costs', 'unit_costs', whole], { env: costsEnv })).code).toBe(1);
    await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location)
      values ('old-run', 'costs', 'unit_costs', 'no sku', '{"Artikel": "BETT", "Preis": "1.234", "Cur": "EUR", "Ab": "2024-03-01"}', 'alt.csv:2')`);
    const ids = Object.fromEntries((await query(`select location, 'q' || id as id from ops.quarantine where source = 'costs'`)).map((r) => [r.location, r.id]));

    // The mapping is set, and the rows retried.
    costs({ columns });
    const retried = await runCli(['quarantine', 'retry', '--source', 'costs', '--no-transform'], { env: costsEnv });
    expect(retried.code, retried.stderr).toBe(0);
    expect(await unitCost('TEE-M|2024-03-01')).toBe(4.2);
    expect(await unitCost('SOFA|2024-03-01')).toBe(1234);
    const outcomes = Object.fromEntries((await query(`select 'q' || quarantine_id as id, outcome from ops.quarantine_actions where source = 'costs' and action = 'retry'`)).map((r) => [r.id, r.outcome]));
    expect(outcomes[ids['preise.csv:4']!]).toBe('still quarantined: unparseable valid_from "15.03.2024" (column "Ab"): expected a date such as 2024-03-01');
    const unknownMark = (amount: string, whole: string) =>
      `still quarantined: unparseable unit_cost "${amount}" (column "Preis"): ${amount} may be ${whole} or ${amount}, and a retried row has no file to show which: set the source's "decimalMark" and retry, or import the file again`;
    expect(outcomes[ids['ganz.csv:2']!]).toBe(unknownMark('2.500', '2500'));
    expect(outcomes[ids['alt.csv:2']!]).toBe(unknownMark('1.234', '1234'));
    expect(await unitCost('BANK|2024-03-01')).toBeUndefined();

    // `verite import` of the same file reads it the same: nothing written, TEE-M and SOFA unchanged.
    const imported = await runCli(['import', 'costs', 'unit_costs', file], { env: costsEnv });
    expect(imported.stdout).toContain('costs.unit_costs: 3 record(s) read, 0 written, 2 unchanged, 1 quarantined');

    // Told the mark, the retry reads the held ones with it.
    costs({ columns, decimalMark: ',' });
    const told = await runCli(['quarantine', 'retry', ids['ganz.csv:2']!, ids['alt.csv:2']!, '--no-transform'], { env: costsEnv });
    expect(told.code, told.stderr).toBe(0);
    expect(await unitCost('BANK|2024-03-01')).toBe(2500);
    expect(await unitCost('BETT|2024-03-01')).toBe(1234);
  });

  it('an empty or blank filter is refused (exit 2, naming it) by list, drop and retry, and nothing is dropped', async () => {
    // Two held records: as a drop by `--reason ""` found them, it deleted both.
    const text = (sku: string) => JSON.stringify({ sku, unit_cost: '1.00', currency: 'EUR', valid_from: 'soon' });
    await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location)
      values ('empty-filters', 'costs', 'unit_costs', 'held one', '${text('A')}', 'a.csv:2'), ('empty-filters', 'costs', 'unit_costs', 'held two', '${text('B')}', 'a.csv:3')`);
    for (const [args, said] of [
      [['drop', '--reason', ''], '--reason is empty: give the words the reason contains, or leave --reason out'],
      [['drop', '--source', ''], '--source is empty: give a source (e.g. shopify), or leave --source out'],
      [['drop', '--stream', ' '], '--stream is blank (" "): give a stream (e.g. orders), or leave --stream out'],
      [['drop', '--kind', ''], '--kind is empty: give set-aside or quarantined, or leave --kind out'],
      // Beside a real filter too: the empty one is no narrowing.
      [['drop', '--source', 'costs', '--reason', '\t'], '--reason is blank ("\\t"): give the words the reason contains, or leave --reason out'],
      [['list', '--reason', ''], '--reason is empty: give the words the reason contains, or leave --reason out'],
      [['retry', '--source', '', '--no-transform'], '--source is empty: give a source (e.g. shopify), or leave --source out'],
      // Ids with a filter: the filter was passed over without a word.
      [['retry', 'q1', '--source', 'costs', '--no-transform'], 'give the ids of the records to retry, or filters (--source, --stream, --kind, --reason) to retry every record they match, not both'],
    ] as const) {
      const res = await runCli(['quarantine', ...args], { env });
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toBe(`verite: ${said}\n`);
      expect(res.stdout).toBe('');
    }
    expect(await query(`select reason from ops.quarantine where run_id = 'empty-filters' order by id`)).toEqual([{ reason: 'held one' }, { reason: 'held two' }]);
    expect(await query(`select count(*)::int as n from ops.quarantine_actions where command like '%quarantine drop%--reason%'`)).toEqual([{ n: 0 }]);
  });

  it('a source or stream verite does not have is refused with the close one, by list, drop and retry', async () => {
    const said = async (...args: string[]) => {
      const res = await runCli(['quarantine', ...args], { env });
      expect(res.code, args.join(' ')).toBe(2);
      return res.stderr;
    };
    // They matched nothing, and list said "No record is held back" with exit 0.
    expect(await said('list', '--source', 'shopfy')).toBe(
      'verite: --source shopfy: no such source (did you mean shopify?) (the sources: shopify, stripe, ga4, google_ads, meta_ads, shipments, costs, fx)\n',
    );
    expect(await said('list', '--stream', 'order')).toMatch(/^verite: --stream order: no source has such a stream \(did you mean orders\?\) \(the streams: orders, customers, /);
    expect(await said('drop', '--source', 'costs', '--stream', 'unit_cost')).toBe('verite: --stream unit_cost: source costs has no such stream (did you mean unit_costs?) (it has unit_costs)\n');
    // A stream of another source: named as the source's streams.
    expect(await said('retry', '--source', 'shopify', '--stream', 'charges', '--no-transform')).toBe(
      'verite: --stream charges: source shopify has no such stream (it has orders, customers, deletions, products, inventory_levels)\n',
    );
    expect(await query(`select count(*)::int as n from ops.quarantine where run_id = 'empty-filters'`)).toEqual([{ n: 2 }]);
    // A stream verite knows, with nothing held: as before.
    const none = await runCli(['quarantine', 'list', '--source', 'shopify', '--stream', 'orders'], { env });
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('No record is held back: nothing quarantined, nothing set aside.\n');
    // Those of the records held count too: a stream an older verite landed can still be listed and dropped.
    await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location) values ('older', 'legacy', 'orders', 'no key', '{}', 'old.jsonl:1')`);
    const legacy = await runCli(['quarantine', 'drop', '--source', 'legacy'], { env });
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(legacy.stdout).toMatch(/^q\d+\s+quarantined\s+quarantine row deleted$/m);
  });

  it('retry: a record refused again for another reason is held for the new one, which show and list say', async () => {
    await query(`delete from ops.quarantine`);
    // A costs row an older mapping refused for its sku: with the default mapping (this config has
    // no costs entry) it has its sku, and its date, not ISO 8601, is what stands in the way now.
    const row = JSON.stringify({ sku: 'MUG', unit_cost: '3.10', currency: 'EUR', valid_from: '15.03.2024' });
    const now = 'unparseable valid_from "15.03.2024": expected a date such as 2024-03-01';
    const [{ id }] = await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location)
      values ('old-mapping', 'costs', 'unit_costs', 'no sku: a unit cost needs its sku, unit_cost, currency and valid_from', '${row}', 'costs.csv:3') returning id`);
    const retried = await runCli(['quarantine', 'retry', `q${id}`, '--no-transform'], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^q${id}\\s+quarantined\\s+still quarantined: unparseable valid_from "15\\.03\\.2024": expected a date such as 2024-03-01$`, 'm'));
    const show = await runCli(['quarantine', 'show', `q${id}`], { env });
    expect(show.stdout).toContain(`reason    ${now}\n`);
    expect(show.stdout).toContain('location  costs.csv:3\n');
    const listed = JSON.parse((await runCli(['quarantine', 'list', '--format', 'json'], { env })).stdout) as { id: string; reason: string }[];
    expect(listed.map((h) => [h.id, h.reason])).toEqual([[`q${id}`, now]]);
    // The log keeps the reason it was held for until then.
    expect(await query(`select reason, raw, outcome from ops.quarantine_actions where quarantine_id = '${id}'`)).toEqual([
      { reason: 'no sku: a unit cost needs its sku, unit_cost, currency and valid_from', raw: null, outcome: `still quarantined: ${now}` },
    ]);

    // The same text held twice, once for the old reason and once for the new (the file imported
    // again after the change): one record, held once, for the new reason; the old row's text is logged.
    const [{ id: old }] = await query(`insert into ops.quarantine (run_id, source, stream, reason, raw, location)
      values ('old-mapping', 'costs', 'unit_costs', 'no sku', '${row}', 'costs.csv:3') returning id`);
    const merged = await runCli(['quarantine', 'retry', `q${old}`, '--no-transform'], { env });
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(new RegExp(`^q${old}\\s+quarantined\\s+still quarantined: unparseable valid_from`, 'm'));
    expect(await query(`select id::int, reason from ops.quarantine order by id`)).toEqual([{ id: Number(id), reason: now }]);
    expect(await query(`select reason, raw, outcome from ops.quarantine_actions where quarantine_id = '${old}'`)).toEqual([
      { reason: 'no sku', raw: row, outcome: `still quarantined: ${now} (the same record is held as q${id}; this row was removed)` },
    ]);
  });
});
