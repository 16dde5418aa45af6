/**
 * Quarantine retry benchmark: fills `ops.quarantine` with N rows of one stream and times
 * `verite quarantine retry --source … --no-transform` on them, in two cases:
 *
 * - land: N Shopify orders an older loader refused, which the loader of today takes (each
 *   lands in `raw.shopify__orders` and its quarantine row goes);
 * - held again: N rows of a stream verite does not know, each held again for a new reason (its
 *   reason is rewritten, as after a mapping change that still refuses the rows).
 *
 * Each case runs on a fresh database of the warehouse (`DATABASE_URL`, else an embedded server
 * under a temporary folder) and prints the records per second and the wall time.
 *
 *   npm run bench:quarantine-retry                 # 50,000 records
 *   npm run bench:quarantine-retry -- 100000       # another N
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VeriteConfig } from '../config/schema.ts';
import { createLogger } from '../lib/logger.ts';
import { retryHeldRecords } from '../pipeline/quarantine.ts';
import { connect, openWarehouse, type Warehouse } from '../warehouse/connection.ts';
import { migrateToLatest } from '../warehouse/migrate.ts';
import { freshDatabase } from './fresh-database.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_RECORDS ?? 50_000);

async function freshWarehouse(adminUrl: string, name: string): Promise<Warehouse> {
  const url = await freshDatabase(adminUrl, name);
  const { db, pool } = connect(url);
  await migrateToLatest(db);
  return { db, pool, url, describe: name, embedded: null, close: () => db.destroy() };
}

const CASES = {
  land: {
    source: 'shopify',
    fill: `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
           select 'bench', 'shopify', 'orders', 'not valid JSON: Unexpected token',
                  json_build_object('id', g, 'name', '#' || g, 'updated_at', '2024-03-01T00:00:00Z', 'created_at', '2024-02-01T10:00:00Z',
                                    'currency', 'EUR', 'total_price', '10.00', 'line_items', json_build_array())::text,
                  'old.jsonl:' || g
             from generate_series(1, $1::int) g`,
  },
  'held again': {
    source: 'legacy',
    fill: `insert into ops.quarantine (run_id, source, stream, reason, raw, location)
           select 'bench', 'legacy', 'orders', 'no key', '{"n":' || g || '}', 'old.jsonl:' || g from generate_series(1, $1::int) g`,
  },
} as const;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verite-bench-'));
  chmodSync(dir, 0o755); // the embedded server may run as the unprivileged postgres user
  const server = await openWarehouse({ databaseUrl: process.env.DATABASE_URL, cwd: dir, migrate: false });
  const log = createLogger({ write: () => undefined }, 'error');
  try {
    process.stdout.write(`verite quarantine retry benchmark: ${N.toLocaleString('en-US')} quarantined records of one stream, --no-transform\n`);
    process.stdout.write(`warehouse: ${server.describe}\n\n`);
    for (const [name, c] of Object.entries(CASES)) {
      const warehouse = await freshWarehouse(server.url, 'verite_bench_retry');
      try {
        await warehouse.pool.query(c.fill, [N]);
        await warehouse.pool.query('analyze ops.quarantine');
        const started = process.hrtime.bigint();
        const result = await retryHeldRecords({
          warehouse, config: { sources: {} } as VeriteConfig, log, actor: { command: 'bench', user: 'bench' }, filter: { source: c.source }, steps: [],
        });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const left = (await warehouse.pool.query<{ n: number }>('select count(*)::int as n from ops.quarantine')).rows[0]!.n;
        const logged = (await warehouse.pool.query<{ n: number }>(`select count(*)::int as n from ops.quarantine_actions where action = 'retry'`)).rows[0]!.n;
        process.stdout.write(
          `${name.padEnd(11)} ${seconds.toFixed(1).padStart(7)} s  ${Math.round(N / seconds).toLocaleString('en-US').padStart(8)} records/s  ` +
            `outcomes ${[...result.outcomes.counts].map(([k, n]) => `${n} ${k}`).join(', ')}; ${left} still held, ${logged} logged\n`,
        );
      } finally {
        await warehouse.close();
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
