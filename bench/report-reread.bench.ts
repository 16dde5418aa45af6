/**
 * Report re-read benchmark: what a night's look-back costs the loader for a date-report
 * stream. Lands D dates of R GA4 traffic rows each (one page a date, as the GA4 extractor
 * reads a day in pages of `pageSize`, 10,000 by default), then reads them all again as the
 * look-back window does: once unchanged (each row's extraction moves, nothing is recorded as
 * changed) and once with one row in a hundred changed. Prints rows per second for each pass
 * (medians of `BENCH_ROUNDS`, default 3, each round on a new database) and what the change log
 * recorded, which must be nothing for the unchanged pass and the changed rows for the other.
 *
 *   npm run bench:report-reread                       # 5 dates × 10,000 rows, 3 rounds
 *   npm run bench:report-reread -- 10 20000           # 10 dates × 20,000 rows
 *   DATABASE_URL=postgres://… npm run bench:report-reread
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../catalog/catalog.ts';
import { landPage } from '../loaders/raw-loader.ts';
import { connect, openWarehouse } from '../warehouse/connection.ts';
import { migrateToLatest } from '../warehouse/migrate.ts';
import { freshDatabase } from './fresh-database.ts';
import { median } from './median.ts';

const DATES = Number(process.argv[2] ?? 5);
const ROWS = Number(process.argv[3] ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

/** The day's rows as the GA4 extractor lands them; every hundredth row's sessions differ in `pass` 2. */
function day(date: string, pass: number): Record<string, unknown>[] {
  return Array.from({ length: ROWS }, (_, i) => ({
    property_id: '123456789', date: date.replaceAll('-', ''), sessionDefaultChannelGroup: 'Referral', sessionSource: `site-${i}.example`,
    sessionMedium: 'referral', sessionCampaignName: '(referral)', deviceCategory: i % 3 ? 'desktop' : 'mobile',
    sessions: String(1 + (i % 7) + (pass === 2 && i % 100 === 0 ? 1 : 0)), engagedSessions: String(i % 5), totalUsers: String(1 + (i % 6)),
  }));
}

const dates = Array.from({ length: DATES }, (_, d) => new Date(Date.UTC(2026, 0, 1 + d)).toISOString().slice(0, 10));

/** Lands every date once as `run`; returns the seconds it took and the changes the run recorded. */
async function pass(pool: ReturnType<typeof connect>['pool'], run: string, n: number): Promise<{ seconds: number; recorded: number }> {
  const started = process.hrtime.bigint();
  for (const date of dates) {
    await landPage(pool, { source: 'ga4', stream: catalog.ga4.traffic_daily, runId: run, batchId: `${run}-${date}` }, { records: day(date, n), dates: [date] });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { rows } = await pool.query(`select count(*)::int as n from ops.raw_changes where run_id = $1`, [run]);
  return { seconds, recorded: rows[0].n as number };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verite-bench-'));
  chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
  const warehouse = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, cwd: dir, migrate: false });
  const total = DATES * ROWS;
  try {
    process.stdout.write(`verite report re-read benchmark: ${DATES} dates × ${ROWS.toLocaleString('en-US')} GA4 rows (one page a date), ${ROUNDS} round(s), medians\n`);
    process.stdout.write(`warehouse: ${warehouse.describe}\n\n`);
    const rates: Record<'first' | 'unchanged' | 'changed', number[]> = { first: [], unchanged: [], changed: [] };
    const recorded: Record<'first' | 'unchanged' | 'changed', number[]> = { first: [], unchanged: [], changed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const url = await freshDatabase(warehouse.url, 'verite_bench_reread');
      const { db, pool } = connect(url, 2);
      try {
        await migrateToLatest(db);
        for (const [name, n] of [['first', 0], ['unchanged', 1], ['changed', 2]] as const) {
          const r = await pass(pool, name, n);
          rates[name].push(total / r.seconds);
          recorded[name].push(r.recorded);
          process.stderr.write(`  round ${round + 1}/${ROUNDS}, ${name}: ${r.seconds.toFixed(2)} s, ${r.recorded} change(s) recorded\n`);
        }
      } finally {
        await db.destroy();
      }
    }
    const expected = { first: total, unchanged: 0, changed: DATES * Math.ceil(ROWS / 100) };
    process.stdout.write(`${'pass'.padEnd(34)}${'rows/s'.padStart(12)}${'  min–max'.padEnd(22)}changes recorded (expected)\n`);
    for (const [name, label] of [['first', 'first landing'], ['unchanged', 'read again, unchanged'], ['changed', 'read again, 1 row in 100 changed']] as const) {
      const r = rates[name];
      process.stdout.write(
        `${label.padEnd(34)}${Math.round(median(r)).toLocaleString('en-US').padStart(12)}  ${`${Math.round(Math.min(...r)).toLocaleString('en-US')}–${Math.round(Math.max(...r)).toLocaleString('en-US')}`.padEnd(20)}${recorded[name].join(', ')} (${expected[name]})\n`,
      );
      if (recorded[name].some((n) => n !== expected[name])) throw new Error(`the ${label} pass recorded ${recorded[name].join(', ')} changes, not ${expected[name]}`);
    }
  } finally {
    await warehouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
