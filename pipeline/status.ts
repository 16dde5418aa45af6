import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';
import { RAW_STREAMS, rawTableName } from '../warehouse/tables/raw.ts';

/**
 * Streams whose data comes at a pace of its own, with the least freshness limit (hours) that
 * suits it. `fx.rates`: the ECB publishes on TARGET business days only, around 16:00 CET, so
 * on a Monday morning the newest rate is Friday's (75 h old at 03:00 UTC): 96 h (4 days)
 * covers a weekend. A holiday next to a weekend (Easter, Christmas) can still pass it.
 */
const BUILT_IN_FRESHNESS_HOURS: Readonly<Record<string, number>> = Object.freeze({ 'fx.rates': 96 });

export type FreshnessConfig = Pick<VeriteConfig, 'freshnessHours' | 'streamFreshnessHours'>;

/**
 * The age in hours past which `source.stream` is not fresh: its `streamFreshnessHours` entry,
 * else `defaultHours` (the config's `freshnessHours`, or an alert rule's threshold), raised to the
 * stream's built-in limit when it has one.
 */
export function freshnessLimit(config: FreshnessConfig, key: string, defaultHours: number = config.freshnessHours): number {
  return config.streamFreshnessHours?.[key] ?? Math.max(defaultHours, BUILT_IN_FRESHNESS_HOURS[key] ?? 0);
}

/** Whether `source.stream` has a limit of its own (configured or built in), not the default. */
export function hasOwnFreshnessLimit(config: FreshnessConfig, key: string): boolean {
  return config.streamFreshnessHours?.[key] !== undefined || BUILT_IN_FRESHNESS_HOURS[key] !== undefined;
}

/** The age in hours of the newest data landed, at `now`; null when nothing landed. */
export function dataAgeHours(dataThrough: Date | null, now: Date): number | null {
  return dataThrough ? (now.getTime() - dataThrough.getTime()) / 3_600_000 : null;
}

/** Whether data that old is within the limit; null when nothing landed (no age). */
export function isFresh(ageHours: number | null, limitHours: number): boolean | null {
  return ageHours === null ? null : ageHours <= limitHours;
}

export interface StreamStatus {
  source: string;
  stream: string;
  rows: number;
  cursor: unknown;
  dataThrough: Date | null;
  ageHours: number | null;
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
    const ageHours = dataAgeHours(dataThrough, now);
    const limit = freshnessLimit(freshness, `${source}.${stream}`);
    out.push({
      source,
      stream,
      rows,
      cursor: state?.state ?? null,
      dataThrough,
      ageHours,
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
