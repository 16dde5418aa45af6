import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  wh = await createTestDatabase('import');
  dir = mkdtempSync(join(tmpdir(), 'verite-import-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ reportingTimezone: 'UTC' }));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
});
afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const order = (id: number, updatedAt: string, total: string) => JSON.stringify({ id, name: `#${id}`, updated_at: updatedAt, total_price: total });

async function query(sql: string, params: unknown[] = []): Promise<Record<string, any>[]> {
  return (await wh.pool.query(sql, params)).rows;
}

const importRuns = async () => (await query(`select count(*)::int as n from ops.runs where kind = 'import'`))[0]!.n as number;

// A test runs the command line up to four times, each a process of its own: slow on a loaded machine.
describe('verite import (issue 17)', () => {
  it('acceptance: of two versions of one order in one file, newer first, the newer lands', async () => {
    const path = file('versions.jsonl', [order(101, '2024-04-02T09:00:00Z', '120.00'), order(101, '2024-04-01T09:00:00Z', '100.00'), ''].join('\n'));
    const res = await runCli(['import', 'shopify', 'orders', path], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('shopify.orders: 2 record(s) read, 1 written, 1 unchanged, 0 quarantined');
    expect(await query(`select _record->>'total_price' as total, _version from raw.shopify__orders where _key = '101'`)).toEqual([
      { total: '120.00', _version: new Date('2024-04-02T09:00:00Z') },
    ]);
  });

  it('acceptance: a file saved with a byte-order mark lands its first record', async () => {
    const path = file('bom.jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${order(111, '2024-04-01T00:00:00Z', '1.00')}\n${order(112, '2024-04-01T00:00:00Z', '2.00')}\n`)]));
    const res = await runCli(['import', 'shopify', 'orders', path], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('2 record(s) read, 2 written, 0 unchanged, 0 quarantined');
    expect((await query(`select _key from raw.shopify__orders where _key in ('111', '112') order by _key`)).map((r) => r._key)).toEqual(['111', '112']);
  });

  it('acceptance: one record nested 100,000 deep is quarantined with its reason and line, and its neighbours land', async () => {
    const deep = `{"id": 122, "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const path = file('deep.jsonl', [order(121, '2024-04-01T00:00:00Z', '1.00'), deep, order(123, '2024-04-01T00:00:00Z', '3.00')].join('\n'));
    const res = await runCli(['import', 'shopify', 'orders', path], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('3 record(s) read, 2 written, 0 unchanged, 1 quarantined');
    expect((await query(`select _key from raw.shopify__orders where _key in ('121', '122', '123') order by _key`)).map((r) => r._key)).toEqual(['121', '123']);
    expect(await query(`select location, reason from ops.quarantine where location like 'deep.jsonl%'`)).toEqual([
      { location: 'deep.jsonl:2', reason: "nested too deeply: more than 256 levels of objects and arrays (PostgreSQL's jsonb cannot be relied on past that)" },
    ]);
  });

  it('a charge dated in Unix milliseconds is quarantined naming its key, and the five good charges of its file land', async () => {
    // 1,700,000,000 + i seconds after 1970, 2023-11-14T22:13:2i Z.
    const good = [1, 2, 3, 4, 5].map((i) => JSON.stringify({ id: `ch_${i}`, object: 'charge', created: 1_700_000_000 + i, amount: 100, currency: 'usd', status: 'succeeded' }));
    const ms = JSON.stringify({ id: 'ch_ms', object: 'charge', created: 1_700_000_000_000, amount: 100, currency: 'usd', status: 'succeeded' });
    const path = file('charges-ms.jsonl', [...good, ms, ''].join('\n'));
    const res = await runCli(['import', 'stripe', 'charges', path], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('stripe.charges: 6 record(s) read, 5 written, 0 unchanged, 1 quarantined');
    expect((await query(`select _key from raw.stripe__charges order by _key`)).map((r) => r._key)).toEqual(['ch_1', 'ch_2', 'ch_3', 'ch_4', 'ch_5']);
    expect(await query(`select source, stream, location, reason from ops.quarantine where location like 'charges-ms.jsonl%'`)).toEqual([
      {
        source: 'stripe', stream: 'charges', location: 'charges-ms.jsonl:6',
        reason: 'key ch_ms: its version created 1700000000000 is not a timestamp between the years 1 and 9999: it reads as Unix milliseconds (2023-11-14T22:13:20.000Z), where seconds are expected',
      },
    ]);
  });

  it('acceptance: text that is not UTF-8 is quarantined with its file and line, in JSON lines and in CSV', async () => {
    const jsonl = file(
      'latin1.jsonl',
      Buffer.concat([Buffer.from(`${order(131, '2024-04-01T00:00:00Z', '1.00')}\n{"id": 132, "name": "Ren`), Buffer.from([0xe9]), Buffer.from('"}\n')]),
    );
    const res = await runCli(['import', 'shopify', 'orders', jsonl], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('2 record(s) read, 1 written, 0 unchanged, 1 quarantined');
    const csv = file('rates.csv', Buffer.concat([Buffer.from('date,base,quote,rate\n2024-03-01,EUR,USD,1.08\n2024-03-01,EUR,CH'), Buffer.from([0xc4]), Buffer.from(',0.95\n2024-03-01,,GBP,0.85\n')]));
    const rates = await runCli(['import', 'fx', 'rates', csv], { env });
    expect(rates.code, rates.stderr).toBe(0);
    expect((await query(`select _key from raw.fx__rates`)).map((r) => r._key)).toEqual(['EUR|USD|2024-03-01']);
    const q = await query(`select location, reason, raw from ops.quarantine where location like 'latin1.jsonl%' or location like 'rates.csv%' order by location`);
    expect(q.map((r) => [r.location, r.reason])).toEqual([
      // `{"id": 132, "name": "Ren` is 24 bytes: the bad byte is the 25th.
      ['latin1.jsonl:2', 'not valid UTF-8 text (byte 0xe9 at byte 25 of the line): was the file saved in another encoding, such as Latin-1 or Windows-1252? Save it as UTF-8'],
      // `2024-03-01,EUR,CH` is 17 bytes.
      ['rates.csv:3', 'not valid UTF-8 text (byte 0xc4 at byte 18 of the line): was the file saved in another encoding, such as Latin-1 or Windows-1252? Save it as UTF-8'],
      // A CSV row refused is named by file and line too, not by page and record (the rate's reading refuses it first).
      ['rates.csv:4', 'no base: a rate needs its date, base, quote and rate'],
    ]);
    // The raw text shows where the bad byte was, as a replacement character.
    expect(q[0]!.raw).toBe('{"id": 132, "name": "Ren\ufffd"}');
  });

  it('acceptance: a file that lands nothing exits 1, whether every record is quarantined or it holds none', async () => {
    const before = await importRuns();
    const bad = file('bad.jsonl', '{"id": 141, "name": \n{"name": "#142"}\n');
    const res = await runCli(['import', 'shopify', 'orders', bad], { env });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('shopify.orders: 2 record(s) read, 0 written, 0 unchanged, 2 quarantined');
    expect(res.stderr).toContain('verite: shopify.orders: nothing of bad.jsonl was landed: all its 2 record(s) were quarantined');
    // The same file again: its records are already in the quarantine, and it still lands nothing.
    const again = await runCli(['import', 'shopify', 'orders', bad], { env });
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('2 record(s) read, 0 written, 0 unchanged, 2 quarantined');

    const empty = file('empty.json', '');
    const none = await runCli(['import', 'shopify', 'orders', empty], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('verite: shopify.orders: empty.json holds no records: nothing was landed');
    const runs = await query(`select status, error from ops.runs where kind = 'import' order by started_at desc limit 3`);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(runs[0]!.error).toBe('empty.json holds no records: nothing was landed');
    expect(await importRuns()).toBe(before + 3);
  });

  it('quarantines a file of another kind of object, saying which stream takes it, and gives the first reason when nothing lands', async () => {
    // Two Stripe charges (shaped as the API sends them, trimmed) given to shopify.orders: their ids alone would have landed them.
    const charges = file('charges.jsonl', ['ch_3QxKaA2eZvKYlo2C0u1bC9dQ', 'ch_3QxKaA2eZvKYlo2C0u1bC9dR'].map((id) => JSON.stringify({ id, object: 'charge', amount: 2000, currency: 'usd', created: 1733400000, status: 'succeeded' })).join('\n'));
    const res = await runCli(['import', 'shopify', 'orders', charges], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('verite: shopify.orders: nothing of charges.jsonl was landed: all its 2 record(s) were quarantined (the first: a Stripe charge (its "object" is "charge"): import it as stripe charges)');
    const q = (await wh.pool.query<{ location: string; reason: string }>(`select location, reason from ops.quarantine where location like 'charges.jsonl:%' order by location`)).rows;
    expect(q.map((r) => [r.location, r.reason])).toEqual([
      ['charges.jsonl:1', 'a Stripe charge (its "object" is "charge"): import it as stripe charges'],
      ['charges.jsonl:2', 'a Stripe charge (its "object" is "charge"): import it as stripe charges'],
    ]);
  });

  it('refuses a file that is not what its extension says, naming it (exit 2), before starting anything', async () => {
    const before = await importRuns();
    const lines = file('orders.json', `${order(151, '2024-04-01T00:00:00Z', '1.00')}\n${order(152, '2024-04-01T00:00:00Z', '2.00')}\n`);
    const res = await runCli(['import', 'shopify', 'orders', lines], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`verite: ${lines}: is not a JSON array of records: a .json file must start with "["`);
    expect(res.stderr).toContain('name a JSON lines file .jsonl');
    const replace = await runCli(['import', 'shopify', 'orders', file('ok.jsonl', order(153, '2024-04-01T00:00:00Z', '1.00')), '--replace-dates'], { env });
    expect(replace.code).toBe(2);
    expect(replace.stderr).toContain('--replace-dates is for report streams; shopify.orders merges records by key and never removes rows');
    expect(await importRuns()).toBe(before);
    expect(await query(`select _key from raw.shopify__orders where _key in ('151', '152', '153')`)).toEqual([]);
  });

  it('acceptance: a GA4 date holding rows not in the file is not replaced without --replace-dates; with it, it is, and the output counts the rows per date', async () => {
    const row = (date: string, source: string, sessions: string) => ({
      property_id: '9', date, sessionDefaultChannelGroup: 'Organic Search', sessionSource: source, sessionMedium: 'organic',
      sessionCampaignName: '(organic)', deviceCategory: 'desktop', sessions,
    });
    // What an extraction landed: three rows on 1 March, two on 2 March.
    await landRecords(wh.pool, 'ga4', 'traffic_daily', [
      row('20240301', 'google', '10'), row('20240301', 'bing', '4'), row('20240301', 'duckduckgo', '2'),
      row('20240302', 'google', '11'), row('20240302', 'bing', '5'),
    ]);
    const sessions = async () =>
      (await query(`select _report_date::text as date, _record->>'sessionSource' as source, _record->>'sessions' as sessions from raw.ga4__traffic_daily order by 1, 2`)).map(
        (r) => `${r.date} ${r.source} ${r.sessions}`,
      );
    const landed = await sessions();
    // One correction for 1 March (google: 12 sessions, not 10) and a row of a new date, 3 March.
    const path = file('correction.jsonl', [row('20240301', 'google', '12'), row('20240303', 'google', '9')].map((r) => JSON.stringify(r)).join('\n'));

    const refused = await runCli(['import', 'ga4', 'traffic_daily', path], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ga4.traffic_daily: correction.jsonl would replace 1 date holding rows that are not in the file, removing 2 rows:\n  2024-03-01: 2 of its 3 rows would go (the file brings 1)\n');
    expect(refused.stderr).toContain('--replace-dates');
    expect(await sessions()).toEqual(landed);

    const replaced = await runCli(['import', 'ga4', 'traffic_daily', path, '--replace-dates'], { env });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('ga4.traffic_daily: 2 record(s) read, 2 written, 0 unchanged, 0 quarantined\n1 date replaced:\n  2024-03-01: 3 rows replaced by the file\'s 1 (2 not in the file removed)\n');
    // 2 March is not in the file and keeps its rows; 3 March is new.
    expect(await sessions()).toEqual(['2024-03-01 google 12', '2024-03-02 bing 5', '2024-03-02 google 11', '2024-03-03 google 9']);

    // A file holding every row of the dates it touches removes nothing: no flag needed.
    const whole = file('whole.jsonl', [row('20240302', 'google', '11'), row('20240302', 'bing', '6')].map((r) => JSON.stringify(r)).join('\n'));
    const res = await runCli(['import', 'ga4', 'traffic_daily', whole], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('1 date replaced:\n  2024-03-02: 2 rows replaced by the file\'s 2 (0 not in the file removed)\n');
    expect(await sessions()).toEqual(['2024-03-01 google 12', '2024-03-02 bing 6', '2024-03-02 google 11', '2024-03-03 google 9']);
  });

  it('lands a report file of several pages of one date by key, removing what it lacks only after its last page: a stopped import loses nothing', async () => {
    // 25,000 GA4 rows of 5 March, one per source: the import reads pages of 5,000, so the date spans five pages.
    const rows = (sessions: number) =>
      Array.from({ length: 25_000 }, (_, i) => ({
        property_id: '7', date: '20240305', sessionDefaultChannelGroup: 'Referral', sessionSource: `site-${i}`, sessionMedium: 'referral',
        sessionCampaignName: '(referral)', deviceCategory: 'desktop', sessions: String(sessions),
      }));
    await landRecords(wh.pool, 'ga4', 'traffic_daily', rows(1), 'extraction');
    const ofTheDate = async () =>
      (await query(`select count(*)::int as n, count(*) filter (where _record->>'sessions' = '2')::int as updated from raw.ga4__traffic_daily where _report_date = '2024-03-05'`))[0];
    const changes = async (run: string) => (await query(`select count(*) filter (where removed)::int as removed, count(*) filter (where not removed)::int as written from ops.raw_changes where run_id = $1`, [run]))[0];
    const lastImport = async () => (await query(`select id, status, error from ops.runs where kind = 'import' order by started_at desc limit 1`))[0]!;

    // The same rows again: nothing written, nothing removed (the first page took the two others' rows away, and they came back as written).
    const same = await runCli(['import', 'ga4', 'traffic_daily', file('same.jsonl', rows(1).map((r) => JSON.stringify(r)).join('\n'))], { env });
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('ga4.traffic_daily: 25000 record(s) read, 0 written, 25000 unchanged, 0 quarantined\n');
    expect(await changes((await lastImport()).id)).toEqual({ removed: 0, written: 0 });

    // Every row with 2 sessions, stopped by Ctrl-C while its second page waits on a row this test holds locked.
    const key = (await query(`select _key from raw.ga4__traffic_daily where _record->>'sessionSource' = 'site-7000'`))[0]!._key as string;
    const holder = await wh.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from raw.ga4__traffic_daily where _key = $1 for update`, [key]);
      const stopped = spawnCli(['import', 'ga4', 'traffic_daily', file('more.jsonl', rows(2).map((r) => JSON.stringify(r)).join('\n'))], { ...env, VERITE_LOG_LEVEL: 'warn' });
      await waitFor('the first page committed', async () => (await ofTheDate())!.updated >= 5_000 || stopped.child.exitCode !== null);
      stopped.child.kill('SIGINT');
      await waitFor('the signal taken', () => stopped.stderr().includes('SIGINT received') || stopped.child.exitCode !== null);
      await holder.query('commit');
      const { code } = await stopped.exited;
      expect(code, stopped.stderr()).toBe(1);
      expect(stopped.stderr()).toMatch(/ga4\.traffic_daily: interrupted by SIGINT after \d page\(s\) of more\.jsonl: the \d+ record\(s\) written stay; no row of its dates was removed\. Import the file again to finish/);
    } finally {
      holder.release();
    }
    // Every row of the date is still there: the pages landed hold the new counts (the second, and the third, read
    // while the second was written), the others the old; none was removed.
    const after = (await ofTheDate())!;
    expect(after.n).toBe(25_000);
    expect(after.updated).toBeGreaterThanOrEqual(10_000);
    expect(after.updated).toBeLessThan(25_000);
    const run = await lastImport();
    expect(run.status).toBe('interrupted');
    expect((await changes(run.id))!.removed).toBe(0);

    // The file again finishes it.
    const again = await runCli(['import', 'ga4', 'traffic_daily', join(dir, 'more.jsonl')], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(await ofTheDate()).toEqual({ n: 25_000, updated: 25_000 });
  });
}, 600_000);
