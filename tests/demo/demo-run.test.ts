import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, demoDatabaseUrl } from '../../warehouse/connection.ts';
import { RAW_STREAMS, rawTableName } from '../../warehouse/tables/raw.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * `verite run --demo` end to end, as a user runs it in a folder of their own: the real command
 * line, twice, with DATABASE_URL naming a fresh database of the suite's PostgreSQL (the demo
 * lands in `<that database>_demo`, a database of its own), with the demo's end date pinned and a
 * small shop (10 days to Sunday 12 May 2024, about 6 orders a day) to stay fast.
 */
const STREAMS = RAW_STREAMS.map(([source, stream]) => `${source}.${stream}`);
const CORE_TABLES = ['orders', 'order_lines', 'customers', 'payments', 'refunds', 'spend', 'traffic', 'shipments', 'fx_rates', 'products', 'product_variants', 'inventory_levels', 'balance_transactions'];

/** The real shop's database (DATABASE_URL), which the demo must leave alone. */
let wh: Warehouse;
/** The demo's own database, `<wh's database>_demo`. */
let demo: { pool: pg.Pool; url: string };
let dir: string;
let env: Record<string, string>;
let first: CliResult;
let second: CliResult;
let countsAfterFirst: Record<string, number>;

async function rawCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [source, stream] of RAW_STREAMS) {
    const res = await demo.pool.query<{ n: number }>(`select count(*)::int as n from ${rawTableName(source, stream)}`);
    counts[`${source}.${stream}`] = res.rows[0]!.n;
  }
  return counts;
}

/** The line of the run table (or status table) that starts with this stream's name. */
function line(output: string, stream: string): string {
  return output.split('\n').find((l) => l.startsWith(`${stream} `)) ?? '';
}

beforeAll(async () => {
  wh = await createTestDatabase('demo_run');
  dir = mkdtempSync(join(tmpdir(), 'verite-demo-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ sources: { demo: { endDate: '2024-05-12', days: 10, ordersPerDay: 6 } } }));
  env = { DATABASE_URL: wh.url };
  first = await runCli(['run', '--demo'], { env, cwd: dir });
  demo = { url: demoDatabaseUrl(wh.url), pool: connect(demoDatabaseUrl(wh.url)).pool };
  countsAfterFirst = await rawCounts();
  second = await runCli(['run', '--demo'], { env, cwd: dir });
}, 600_000);
afterAll(async () => {
  await demo?.pool.end();
  if (demo) {
    const admin = new pg.Client({ connectionString: wh.url });
    await admin.connect();
    await admin.query(`drop database if exists "${new URL(demo.url).pathname.slice(1)}" with (force)`);
    await admin.end();
  }
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verite run --demo, twice', () => {
  it('exits 0 both times and lands rows in all nine raw streams', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(first.stdout).toContain('Demo shop: 10 days to 2024-05-12, about 6 orders a day (seed 42).');
    for (const stream of STREAMS) expect(countsAfterFirst[stream], stream).toBeGreaterThan(0);
  });

  it('the second run changes no raw row: every record is read again and found unchanged', async () => {
    expect(await rawCounts()).toEqual(countsAfterFirst);
    for (const stream of STREAMS) {
      // stream, status, pages, written, unchanged: the first run wrote every row, the second none.
      expect(line(first.stdout, stream), stream).toMatch(new RegExp(`^${stream.replace('.', '\\.')}\\s+succeeded\\s+\\d+\\s+${countsAfterFirst[stream]}\\s+0\\s+0\\s*$`));
      expect(line(second.stdout, stream), stream).toMatch(new RegExp(`^${stream.replace('.', '\\.')}\\s+succeeded\\s+\\d+\\s+0\\s+${countsAfterFirst[stream]}\\s+0\\s*$`));
    }
  });

  it('builds core with every data check passed, refreshes the metric tables and prints the headline KPIs', () => {
    // Issue 16: the second run brings the tables up to date from what changed, and says so.
    expect(first.stdout).toMatch(/^transform: succeeded, \d+ models built, \d+ data checks passed$/m);
    expect(second.stdout).toMatch(/^transform: succeeded, \d+ models \((\d+ rebuilt whole, )?(\d+ brought up to date from their changes, )?\d+ unchanged\), \d+ data checks passed$/m);
    expect(first.stdout).toMatch(/^metrics: succeeded, \d+ metric tables refreshed \(kpi_daily: 10 days\)$/m);
    // The same shop landed again changes nothing: every table is left as it was.
    expect(second.stdout).toMatch(/^metrics: succeeded, 11 metric tables refreshed \(kpi_daily: 10 days; incremental: 0 by date, 0 in full, 11 unchanged\)$/m);
    for (const out of [first.stdout, second.stdout]) {
      expect(out).toContain('Headline KPIs in USD: last complete day, ISO week and month to 2024-05-12, each against the period before');
      expect(out).toMatch(/^Revenue\s+[\d,]+\.\d\d\s/m);
      expect(out).toMatch(/^Orders\s+\d+\s/m);
      // Issue 13, acceptance 3: the margins in the headline.
      expect(out).toMatch(/^Gross margin\s+(\d+\.\d\d%|n\/a)\s/m);
      expect(out).toMatch(/^Contribution margin\s+(-?\d+\.\d\d%|n\/a)\s/m);
    }
  });

  it("says where the demo's warehouse is, how to query it, and what to do next", () => {
    const where = new URL(demo.url);
    expect(second.stdout).toContain(`Warehouse: postgres://${where.username}@${where.host}${where.pathname}`);
    expect(where.pathname).toBe(`${new URL(wh.url).pathname}_demo`);
    expect(second.stdout).toContain('npx verite --demo query "select * from metrics.kpi_daily order by date desc limit 7"');
    // Issue 17: the output ends with the way from the demo to a real shop.
    const next = second.stdout.slice(second.stdout.indexOf('Next steps:'));
    expect(next).toMatch(/^Next steps:\n {2}1\. Configure your real sources in verite\.config\.json/);
    for (const step of ['npx verite check', 'npx verite run ', 'npx verite bi grant --role']) expect(next).toContain(step);
    expect(second.stdout).toContain('npx verite metrics list');
    expect(second.stdout.trimEnd().endsWith('a read-only login for a BI tool (docs/bi.md)')).toBe(true);
  });

  it('answers verite --demo query on core.orders and every core table', async () => {
    const orders = await runCli(['--demo', 'query', 'select count(*)::int as n from core.orders', '--format', 'json'], { env, cwd: dir });
    expect(orders.code, orders.stderr).toBe(0);
    expect((JSON.parse(orders.stdout) as { n: number }[])[0]!.n).toBeGreaterThan(0);
    const counts = await runCli(['query', '--demo', CORE_TABLES.map((t) => `select '${t}' as core_table, count(*)::int as n from core.${t}`).join(' union all '), '--format', 'json'], { env, cwd: dir });
    expect(counts.code, counts.stderr).toBe(0);
    const rows = JSON.parse(counts.stdout) as { core_table: string; n: number }[];
    expect(rows.map((r) => r.core_table)).toEqual(CORE_TABLES);
    for (const r of rows) expect(r.n, r.core_table).toBeGreaterThan(0);
  });

  it('fills every metric table', async () => {
    const tables = (await demo.pool.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = 'metrics' order by 1`)).rows.map((r) => r.name);
    expect(tables).toContain('kpi_daily');
    expect(tables).toContain('catalog');
    // This small shop has too few repeat customers for the CLV models (docs/metrics.md): the run says so, and their two tables stay empty.
    expect(first.stdout).toMatch(/^clv: succeeded, no fit: \d+ of \d+ customers bought on two or more days up to 2024-05-12, fewer than clv\.minRepeatCustomers \(100\)/m);
    const noFit = ['clv_model', 'clv_summary'];
    for (const table of tables) {
      const res = await demo.pool.query<{ n: number }>(`select count(*)::int as n from metrics."${table}"`);
      if (noFit.includes(table)) expect(res.rows[0]!.n, `metrics.${table}`).toBe(0);
      else expect(res.rows[0]!.n, `metrics.${table}`).toBeGreaterThan(0);
    }
    const days = await demo.pool.query<{ first: string; last: string; n: number }>(`select min(date)::text as first, max(date)::text as last, count(*)::int as n from metrics.kpi_daily`);
    expect(days.rows[0]).toEqual({ first: '2024-05-03', last: '2024-05-12', n: 10 });
    // Issue 13, acceptance 3: the demo has variants without a cost, so some days' sales are not all costed.
    const coverage = await demo.pool.query<{ below: number; sold: number }>(
      `select count(*) filter (where cogs_coverage < 1)::int as below, count(*) filter (where product_sales > 0)::int as sold from metrics.kpi_daily`,
    );
    expect(coverage.rows[0]!.sold).toBeGreaterThan(0);
    expect(coverage.rows[0]!.below).toBeGreaterThan(0);
  });

  it('verite --demo status lists every stream with its cursor, freshness and last run', async () => {
    const status = await runCli(['--demo', 'status'], { env, cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    // Issue 13: the cost coverage of the last 30 days of data (some demo variants have no cost).
    expect(status.stdout).toMatch(/^Cost coverage, 2024-04-13 to 2024-05-12 \(the last 30 days of data\): \d+\.\d% of product sales have a unit cost; the rest count at zero cost/m);
    const sparse = ['shopify.products', 'stripe.refunds', 'costs.unit_costs'];
    for (const stream of STREAMS) {
      // stream, rows, cursor, data_through, limit_h, age_hours, fresh, last_run, last_run_at.
      // Data to 12 May 2024 is older than any limit today: not fresh; but a catalogue, refunds and
      // unit costs, which may go days without a change, are fresh while read (the run just now).
      const age = sparse.includes(stream) ? '\\d+\\.\\d \\(read\\)\\s+yes' : '\\d+\\.\\d\\s+NO';
      expect(line(status.stdout, stream), stream).toMatch(
        new RegExp(`^${stream.replace('.', '\\.')}\\s+${countsAfterFirst[stream]}\\s+\\{"through":"2024-05-12"\\}\\s+2024-05-\\d\\dT[\\d:.]+Z\\s+\\d+\\s+${age}\\s+succeeded\\s+\\d{4}-`),
      );
    }
    expect(status.stdout).toContain('(shopify.products, stripe.refunds, costs.unit_costs: data that may go days without a change, so a successful read counts too: age "(read)" is that of the last one)');
    expect(status.stdout).toMatch(/^[0-9a-f]{8}\s+demo\s+cli\s+succeeded\s/m);
    // The folder's config has the default schedule (0 3 * * *), which is the real shop's: the demo is never scheduled.
    expect(status.stdout).toContain("Schedules: none. The demo shop is not scheduled: `verite run --demo` builds it again; `verite schedule` runs the real shop's sources, into its own warehouse\n");
    expect(status.stdout).not.toContain('0 3 * * *');
    const json = await runCli(['--demo', 'status', '--format', 'json'], { env, cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { schedules: unknown[] }).schedules).toEqual([]);
  });
});

describe('issue 17: the demo keeps to a warehouse of its own', () => {
  it('after the demo, `verite run` with no source configured is a usage error that says how to configure one', async () => {
    // The folder's config holds only the demo's options: no real source.
    const res = await runCli(['run'], { env, cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('verite: no source is configured, so there is nothing to run. Add your shop\'s sources to verite.config.json');
    expect(res.stderr).toContain('or try the built-in demo shop with `verite run --demo`');
    expect(res.stdout).toBe('');
  });

  it("a real source configured in the same folder lands in the real warehouse, and no demo row reaches its metrics", async () => {
    writeFileSync(join(dir, 'rates.csv'), 'date,base,quote,rate\n2024-05-10,EUR,USD,1.08\n2024-05-10,EUR,GBP,0.86\n');
    const config = join(dir, 'real.config.json');
    writeFileSync(config, JSON.stringify({ sources: { fx: { path: join(dir, 'rates.csv') } } }));
    const res = await runCli(['run'], { env: { ...env, VERITE_CONFIG: config }, cwd: dir });
    expect(res.code, res.stderr).toBe(0);
    const where = new URL(wh.url);
    expect(res.stdout).toContain(`Warehouse: postgres://${where.username}@${where.host}${where.pathname}\n`);
    expect(res.stdout).toMatch(/^fx\.rates\s+succeeded\s+1\s+2\s+0\s+0\s*$/m);
    // The real warehouse holds its two rates and not one demo row: no order, no KPI day.
    const count = async (table: string) => (await wh.pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
    expect(await count('raw.fx__rates')).toBe(2);
    for (const table of ['raw.shopify__orders', 'raw.stripe__charges', 'raw.ga4__traffic_daily', 'core.orders', 'metrics.kpi_daily']) expect(await count(table), table).toBe(0);
    expect((await wh.pool.query('select kind from ops.runs')).rows).toEqual([{ kind: 'run' }]);
    expect(res.stdout).toContain('Headline KPIs: none yet (metrics.kpi_daily is empty).');
  });

  it('a real run refuses a warehouse that holds demo data (as an older demo left it), saying how to start clean', async () => {
    await wh.pool.query(`insert into ops.runs (id, kind, trigger, status, started_at, finished_at) values ('old-demo', 'demo', 'cli', 'succeeded', '2024-05-13T08:00:00Z', '2024-05-13T08:01:00Z')`);
    const config = join(dir, 'real.config.json');
    const before = (await wh.pool.query('select id from ops.runs order by id')).rows;
    const res = await runCli(['run'], { env: { ...env, VERITE_CONFIG: config }, cwd: dir });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("holds the demo shop's data (demo run old-demo of 2024-05-13): a real shop's data landed here would be counted with the demo's in every metric, so nothing was changed.");
    expect(res.stderr).toContain('To start clean, point DATABASE_URL at a new, empty database (or drop and create this one again)');
    // Refused before anything ran: no run recorded.
    expect((await wh.pool.query('select id from ops.runs order by id')).rows).toEqual(before);
  });
});
