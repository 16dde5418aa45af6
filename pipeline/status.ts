import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';
import { RAW_STREAMS, rawTableName } from '../warehouse/tables/raw.ts';

// The freshness rules are the config's (config/freshness.ts): the metrics' data status and the
// alerts judge with the same ones.
export { dataAgeHours, freshnessLimit, hasOwnFreshnessLimit, isFresh, type FreshnessConfig } from '../config/freshness.ts';
import { dataAgeHours, freshnessLimit, freshSince, isFresh, isSparseStream, type FreshnessConfig } from '../config/freshness.ts';
import { RUN_READS } from '../metrics/data-status.ts';

export interface StreamStatus {
  source: string;
  stream: string;
  rows: number;
  cursor: unknown;
  dataThrough: Date | null;
  /** Whether the stream's last successful read counts for its freshness too (the catalogue's `sparse`). */
  sparse: boolean;
  /** The age of what its freshness is measured from (config/freshness.ts, `freshSince`): its newest data, or a sparse stream's last successful read when later. */
  ageHours: number | null;
  /** What `ageHours` is the age of: its newest data, or (a sparse stream) its last successful read; null when neither. */
  ageOf: 'data' | 'last read' | null;
  /** The age past which it is not fresh (see {@link freshnessLimit}). */
  freshnessHours: number;
  /** Null when the stream never landed anything. */
  fresh: boolean | null;
  lastRunStatus: string | null;
  lastRunAt: Date | null;
  /** The last run's error as stored (`verite status` redacts what it prints). */
  lastError: string | null;
  quarantined: number;
}

/** Every known stream with its cursor, freshness against its limit, last run and quarantine count. */
export async function streamStatus(db: Kysely<Database>, freshness: FreshnessConfig, now: Date): Promise<StreamStatus[]> {
  const states = await db.selectFrom('ops.stream_state').selectAll().execute();
  const lastRuns = await db
    .selectFrom('ops.stream_runs')
    .select(['source', 'stream', 'status', 'started_at', 'error'])
    .distinctOn(['source', 'stream'])
    .orderBy('source')
    .orderBy('stream')
    .orderBy('started_at', 'desc')
    .execute();
  const successes = await sql<{ source: string; stream: string; started_at: Date }>`
    with reads as (${RUN_READS})
    select distinct on (source, stream) source, stream, started_at
      from reads where status = 'succeeded' order by source, stream, started_at desc, id desc`.execute(db);
  const quarantine = await db
    .selectFrom('ops.quarantine')
    .select(['source', 'stream', sql<number>`count(*)::int`.as('n')])
    .groupBy(['source', 'stream'])
    .execute();
  const names = new Map<string, [string, string]>();
  for (const [source, stream] of RAW_STREAMS) names.set(`${source}.${stream}`, [source, stream]);
  for (const s of states) names.set(`${s.source}.${s.stream}`, [s.source, s.stream]);
  const out: StreamStatus[] = [];
  for (const [source, stream] of names.values()) {
    const state = states.find((s) => s.source === source && s.stream === stream);
    const last = lastRuns.find((r) => r.source === source && r.stream === stream);
    let rows = 0;
    try {
      const res = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(rawTableName(source, stream))}`.execute(db);
      rows = res.rows[0]?.n ?? 0;
    } catch {
      rows = 0;
    }
    const dataThrough = state?.data_through ?? null;
    const key = `${source}.${stream}`;
    const lastSuccess = successes.rows.find((r) => r.source === source && r.stream === stream)?.started_at ?? null;
    const since = freshSince(key, dataThrough, lastSuccess);
    const ageHours = dataAgeHours(since, now);
    const limit = freshnessLimit(freshness, key);
    out.push({
      source,
      stream,
      rows,
      cursor: state?.state ?? null,
      dataThrough,
      sparse: isSparseStream(key),
      ageHours,
      ageOf: since === null ? null : since === dataThrough ? 'data' : 'last read',
      freshnessHours: limit,
      fresh: isFresh(ageHours, limit),
      lastRunStatus: last?.status ?? null,
      lastRunAt: last?.started_at ?? null,
      lastError: last?.error ?? null,
      quarantined: quarantine.find((q) => q.source === source && q.stream === stream)?.n ?? 0,
    });
  }
  return out;
}

/** A backfill with its progress, for `verite status`. */
export interface BackfillStatusRow {
  id: string;
  source: string;
  stream: string | null;
  from: string;
  to: string;
  status: string;
  chunksDone: number;
  chunks: number;
  landed: number;
  updatedAt: Date;
  error: string | null;
}

/** Unfinished backfills (resumable by rerunning the same command) and the latest finished ones. */
export async function backfillStatus(db: Kysely<Database>, limit = 5): Promise<BackfillStatusRow[]> {
  const rows = await db
    .selectFrom('ops.backfills as b')
    .leftJoin('ops.backfill_chunks as c', 'c.backfill_id', 'b.id')
    .select([
      'b.id', 'b.source', 'b.stream', 'b.date_from', 'b.date_to', 'b.status', 'b.updated_at', 'b.error',
      sql<number>`count(c.seq)::int`.as('chunks'),
      sql<number>`(count(c.seq) filter (where c.status = 'done'))::int`.as('done'),
      sql<number>`coalesce(sum(c.records_landed), 0)::float8`.as('landed'),
    ])
    .where('b.status', '!=', 'cancelled')
    .groupBy('b.id')
    // Unfinished first: those are what an engineer has to act on.
    .orderBy(sql`b.status = 'succeeded'`)
    .orderBy('b.updated_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id, source: r.source, stream: r.stream, from: r.date_from, to: r.date_to, status: r.status,
    chunksDone: r.done, chunks: r.chunks, landed: r.landed, updatedAt: r.updated_at, error: r.error,
  }));
}

/** Each alert rule's last verdict, firing ones first. */
export async function alertStatus(db: Kysely<Database>) {
  return db
    .selectFrom('ops.alert_state')
    .select(['rule', 'metric', 'firing', 'notified', 'value', 'fired_at', 'cleared_at', 'checked_at', 'message'])
    .orderBy('firing', 'desc')
    .orderBy('rule')
    .execute();
}

/**
 * The last delivery of each kind of report to each channel (the file, a webhook, e-mail), from
 * `ops.report_deliveries`: did Monday's review go out, and if not, why. With `target`, deliveries
 * to several places by one channel show one line each.
 */
export async function reportStatus(db: Kysely<Database>) {
  const rows = await db
    .selectFrom('ops.report_deliveries')
    .select(['kind', 'channel', 'target', 'period', 'status', 'attempts', 'error', 'finished_at'])
    .distinctOn(['kind', 'channel', 'target'])
    .orderBy('kind')
    .orderBy('channel')
    .orderBy('target')
    .orderBy('finished_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const order = { file: 0, webhook: 1, email: 2 } as const;
  return rows.sort((a, b) => a.kind.localeCompare(b.kind) || order[a.channel] - order[b.channel] || b.finished_at.getTime() - a.finished_at.getTime());
}

/** How much of the product sales of the last 30 days of data has a unit cost (docs/metrics.md, cogs_coverage). */
export interface CostCoverage {
  /** The 30 days ending on the last day of metrics.kpi_daily. */
  from: string;
  to: string;
  productSales: number;
  productSalesCosted: number;
  /** productSalesCosted / productSales; null when nothing sold. */
  coverage: number | null;
}

/** The cost coverage of the last 30 days of data, or null before the first refresh (or one that predates the column). */
export async function costCoverage(db: Kysely<Database>): Promise<CostCoverage | null> {
  const exists = await sql<{ n: number }>`select count(*)::int as n from information_schema.columns
     where table_schema = 'metrics' and table_name = 'kpi_daily' and column_name = 'product_sales_costed'`.execute(db);
  if (exists.rows[0]!.n === 0) return null;
  const found = await sql<{ from: string | null; to: string | null; sales: string | null; costed: string | null }>`
    select (max(date) - 29)::text as from, max(date)::text as to,
           sum(product_sales) filter (where date > max_date - 30) as sales, sum(product_sales_costed) filter (where date > max_date - 30) as costed
      from (select date, product_sales, product_sales_costed, max(date) over () as max_date from metrics.kpi_daily) k`.execute(db);
  const row = found.rows[0];
  if (!row || row.to === null) return null;
  const sales = Number(row.sales ?? 0);
  const costed = Number(row.costed ?? 0);
  return { from: row.from!, to: row.to, productSales: sales, productSalesCosted: costed, coverage: sales === 0 ? null : costed / sales };
}
