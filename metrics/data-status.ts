import { sql, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { streamIdentity } from '../catalog/catalog.ts';
import { addDays, localDate } from '../lib/dates.ts';
import { dataAgeHours, freshnessLimit, freshSince, isFresh } from '../config/freshness.ts';
import type { Database } from '../warehouse/database.ts';

/**
 * `metrics.data_status`: how complete and how fresh the data behind the metrics is, one row per
 * source stream and one for the metrics themselves (`metrics`.`refresh`), so a dashboard can
 * say "data as of" and "complete through", and nobody reads a KPI built from a stream that
 * failed half-way as if it were whole.
 *
 * The refresh writes what it knew when it built the metrics (each stream's newest data, its
 * last read, the last complete day) into the view's definition, in the refresh's transaction;
 * only `is_fresh` is worked out when the view is read, against the time of reading, so a
 * dashboard sees the data go stale when the nightly run stops.
 */

/** The statuses of a stream's last read that leave its data partly landed. */
const INCOMPLETE_READS: readonly string[] = ['failed', 'interrupted', 'running'];

/** What the refresh knows of one source stream: one row of `metrics.data_status`. */
export interface StreamDataStatus {
  source: string;
  stream: string;
  /** When its last successful read (a run's, not a backfill's) finished; null if none did. */
  lastSuccessAt: Date | null;
  /** The newest data landed: the newest version's time, or the day after the last report date. */
  dataThrough: Date | null;
  /** The local date of the newest data landed (a date report's last report date). */
  newestDataDate: string | null;
  /**
   * What its freshness is measured from: `dataThrough`, or for a sparse stream the start of its
   * last successful read when later (config/freshness.ts, `freshSince`).
   */
  freshSince: Date | null;
  freshnessLimitHours: number;
  /** At the refresh; null when nothing landed. */
  fresh: boolean | null;
  /** The status of its last read (a run's, not a backfill's); null when it was never read. */
  lastRunStatus: string | null;
  /**
   * The last day its data is complete through: the day before its last successful read began
   * (every record changed before that read was landed by it), and for a date report no later
   * than its last report date. Null when no read of it ever succeeded.
   */
  completeThrough: string | null;
  /**
   * Set when its last read failed, was interrupted or is still running: the first day whose data
   * may be partly landed or missing (the day after `completeThrough`; for a stream no read of
   * which ever succeeded, the first day of the metrics). Null otherwise.
   */
  incompleteFrom: string | null;
}

/** The last complete day of data, as the views of one refresh compute it (see {@link lastCompleteDay}). */
export interface Completeness {
  /** The latest the last complete day can be: yesterday at the refresh, or earlier by the streams. */
  bound: string;
  /** A stream that failed has never been read completely: no day of the data is complete. */
  nothingComplete: boolean;
}

/**
 * The streams' reads by runs (`id, source, stream, status, started_at, finished_at` of
 * `ops.stream_runs`): a backfill re-reads old dates and leaves the cursors alone, so it never
 * makes the data less complete, nor a sparse stream fresh.
 */
export const RUN_READS = sql`
      select r.id, r.source, r.stream, r.status, r.started_at, r.finished_at
        from ops.stream_runs r left join ops.runs o on o.id = r.run_id
       where coalesce(o.kind, '') <> 'backfill'`;

/** The freshness and read history of every stream that ever landed data or was read. */
export async function readStreamDataStatus(db: Kysely<Database>, config: VeriteConfig, now: Date): Promise<StreamDataStatus[]> {
  const res = await sql<{
    source: string;
    stream: string;
    data_through: Date | null;
    last_status: string | null;
    success_started_at: Date | null;
    success_finished_at: Date | null;
  }>`
    with reads as (${RUN_READS}),
    last_read as (
      select distinct on (source, stream) source, stream, status from reads order by source, stream, started_at desc, id desc
    ),
    last_success as (
      select distinct on (source, stream) source, stream, started_at, finished_at
        from reads where status = 'succeeded' order by source, stream, started_at desc, id desc
    ),
    streams as (select source, stream from ops.stream_state union select source, stream from reads)
    select s.source, s.stream, st.data_through, l.status as last_status,
           k.started_at as success_started_at, k.finished_at as success_finished_at
      from streams s
      left join ops.stream_state st on st.source = s.source and st.stream = s.stream
      left join last_read l on l.source = s.source and l.stream = s.stream
      left join last_success k on k.source = s.source and k.stream = s.stream
     order by s.source, s.stream`.execute(db);
  const tz = config.reportingTimezone;
  return res.rows.map((r) => {
    const dateReport = streamIdentity(r.source, r.stream)?.kind === 'date-report';
    const dataThrough = r.data_through;
    // A date report's data_through is midnight UTC after its last report date (a calendar date, in no time zone).
    const newestDataDate = dataThrough === null ? null : dateReport ? addDays(dataThrough.toISOString().slice(0, 10), -1) : localDate(dataThrough, tz);
    let completeThrough = r.success_started_at === null ? null : addDays(localDate(r.success_started_at, tz), -1);
    if (completeThrough !== null && dateReport) completeThrough = newestDataDate !== null && newestDataDate < completeThrough ? newestDataDate : completeThrough;
    const key = `${r.source}.${r.stream}`;
    const limit = freshnessLimit(config, key);
    const since = freshSince(key, dataThrough, r.success_started_at);
    return {
      source: r.source,
      stream: r.stream,
      lastSuccessAt: r.success_finished_at,
      dataThrough,
      newestDataDate,
      freshSince: since,
      freshnessLimitHours: limit,
      fresh: isFresh(dataAgeHours(since, now), limit),
      lastRunStatus: r.last_status,
      completeThrough,
      incompleteFrom: isIncomplete({ lastRunStatus: r.last_status }) && completeThrough !== null ? addDays(completeThrough, 1) : null,
    };
  });
}

/** Whether a stream's last read left its data partly landed. */
export function isIncomplete(s: Pick<StreamDataStatus, 'lastRunStatus'>): boolean {
  return s.lastRunStatus !== null && INCOMPLETE_READS.includes(s.lastRunStatus);
}

/**
 * What bounds the last complete day, before the metrics are built: yesterday in the reporting
 * time zone (today is still going on), and the day each stream is complete through, for every
 * stream that is fresh or whose last read left it incomplete. A stale stream whose last read
 * succeeded (a source no longer read) does not hold the metrics back: `is_fresh` says it is stale.
 */
export function completenessBound(streams: readonly StreamDataStatus[], config: Pick<VeriteConfig, 'reportingTimezone'>, now: Date): Completeness {
  let bound = addDays(localDate(now, config.reportingTimezone), -1);
  let nothingComplete = false;
  for (const s of streams) {
    if (s.fresh !== true && !isIncomplete(s)) continue;
    if (s.completeThrough === null) {
      // Fresh but never read by a run (landed by `verite import` only): nothing says how far it is complete.
      if (isIncomplete(s)) nothingComplete = true;
      continue;
    }
    if (s.completeThrough < bound) bound = s.completeThrough;
  }
  return { bound, nothingComplete };
}

/**
 * The last complete day of data (DECISIONLOG.md, "Freshness and complete periods"), as a scalar
 * subquery over `metrics.kpi_daily`: the earliest of the bound above and the last day of
 * kpi_daily (no day after the data is complete); before the first day of kpi_daily when a
 * failing stream was never read completely. NULL when kpi_daily is empty. Read through the
 * refresh's builder, it sees the kpi_daily being built.
 */
export function lastCompleteDay(db: Kysely<Database>, completeness: Completeness): Expression<string | null> {
  const never = completeness.nothingComplete ? sql`min(date) - 1` : sql`null::date`;
  return db
    .selectFrom('metrics.kpi_daily')
    .select(sql<string | null>`least(${sql.lit(completeness.bound)}::date, max(date), ${never})`.as('d'))
    .$asScalar();
}

/** A period (or cohort month) whose last day is `lastDay` is complete when that day is on or before the last complete day. */
export function isCompleteExpression(lastDay: RawBuilder<string>, completeDay: Expression<string | null>): RawBuilder<boolean> {
  return sql<boolean>`coalesce(${lastDay} <= (${completeDay}), false)`;
}

/** The columns of `metrics.data_status`, in order, with their SQL types and meaning (column comments, docs). */
export const DATA_STATUS_COLUMNS = [
  ['source', 'text', "The source (`shopify`, `ga4` …), or `metrics` for the row of the metrics themselves."],
  ['stream', 'text', 'The stream of the source, or `refresh` for the metrics row.'],
  [
    'last_success_at',
    'timestamptz',
    "When the stream's last successful read (by a run, not a backfill) finished; for the metrics row, when the metrics were refreshed. NULL when no read of the stream ever succeeded.",
  ],
  [
    'newest_data_date',
    'date',
    "The local date of the newest data landed: the newest record's version (e.g. updated_at) in the reporting time zone, or a date report's last report date. For the metrics row, the last date of kpi_daily.",
  ],
  ['freshness_limit_hours', 'numeric', 'The age of the newest data (for the metrics row, of the refresh) past which the row is not fresh: streamFreshnessHours, else freshnessHours (fx.rates at least 96).'],
  [
    'is_fresh',
    'boolean',
    "Whether the newest data (for the metrics row, the refresh) is at most freshness_limit_hours old when the row is read: worked out at reading time, so it turns false when runs stop. For a stream whose data may go days without a change (shopify.products, stripe.refunds, costs.unit_costs), the start of its last successful read counts as well when later: an unedited catalogue is fresh while it is read. NULL for a stream that landed nothing and was never read.",
  ],
  [
    'last_run_status',
    'text',
    "The status of the stream's last read by a run (succeeded, failed, interrupted, running); backfills are left out. `succeeded` for the metrics row.",
  ],
  [
    'incomplete_from',
    'date',
    "Set when the stream's last read failed, was interrupted or is still running: the first day whose data may be partly landed or missing (the day after complete_through; the first day of the metrics when no read ever succeeded). The metrics were still published from what was landed. For the metrics row, the earliest of the streams'. NULL when complete.",
  ],
  [
    'complete_through',
    'date',
    "The last day the data is complete through. A stream: the day before its last successful read began, and for a date report no later than its last report date. The metrics row: the last complete day of data, which kpi_weekly, kpi_monthly and cohort_monthly's is_complete compare with.",
  ],
] as const satisfies readonly (readonly [string, string, string])[];

/** The facts of the metrics row, known once the metrics are built. */
export interface MetricsRowStatus {
  refreshedAt: Date;
  freshnessLimitHours: number;
  /** The last date of kpi_daily; null when it is empty. */
  newestDataDate: string | null;
  /** The first date of kpi_daily (where a stream never read completely is incomplete from). */
  firstDataDate: string | null;
  completeThrough: string | null;
}

/** The rows of `metrics.data_status` as the refresh publishes them: the metrics row first. */
export function dataStatusRows(streams: readonly StreamDataStatus[], metrics: MetricsRowStatus): StreamDataStatus[] {
  const rows = streams.map((s) => ({
    ...s,
    incompleteFrom: isIncomplete(s) ? (s.incompleteFrom ?? metrics.firstDataDate) : null,
  }));
  const starts = rows.map((r) => r.incompleteFrom).filter((d): d is string => d !== null);
  const metricsRow = {
    source: 'metrics',
    stream: 'refresh',
    lastSuccessAt: metrics.refreshedAt,
    dataThrough: metrics.refreshedAt,
    newestDataDate: metrics.newestDataDate,
    freshSince: metrics.refreshedAt,
    freshnessLimitHours: metrics.freshnessLimitHours,
    fresh: true,
    lastRunStatus: 'succeeded',
    completeThrough: metrics.completeThrough,
    incompleteFrom: starts.length ? starts.reduce((a, b) => (a < b ? a : b)) : null,
  };
  return [metricsRow, ...rows];
}

/**
 * The SELECT of the view: the rows as literals (a view takes no parameters), `is_fresh` from
 * now() when read. The age rule is freshness's own (config/freshness.ts): fresh while the newest
 * data (for a sparse stream, or its last successful read) is at most the limit old.
 */
export function dataStatusQuery(rows: ReturnType<typeof dataStatusRows>): RawBuilder<unknown> {
  const lit = (v: string | number | null) => (v === null ? sql`null` : sql.lit(v));
  const ts = (d: Date | null) => lit(d === null ? null : d.toISOString());
  const values = sql.join(
    rows.map(
      (r) =>
        sql`(${lit(r.source)}, ${lit(r.stream)}, ${ts(r.lastSuccessAt)}, ${lit(r.newestDataDate)}, ${lit(r.freshnessLimitHours)}, ${ts(r.freshSince)}, ${lit(r.lastRunStatus)}, ${lit(r.incompleteFrom)}, ${lit(r.completeThrough)})`,
    ),
  );
  return sql`
    select v.source::text as source, v.stream::text as stream, v.last_success_at::timestamptz as last_success_at,
           v.newest_data_date::date as newest_data_date, v.freshness_limit_hours::numeric as freshness_limit_hours,
           case when v.fresh_since is null then null
                else now() - v.fresh_since::timestamptz <= interval '1 hour' * v.freshness_limit_hours::float8 end as is_fresh,
           v.last_run_status::text as last_run_status, v.incomplete_from::date as incomplete_from, v.complete_through::date as complete_through
      from (values ${values}) as v(source, stream, last_success_at, newest_data_date, freshness_limit_hours, fresh_since, last_run_status, incomplete_from, complete_through)`;
}

/** What happened to a stream's last read, and since when its data is incomplete, in words (the refresh's warning, the run summary). */
export function incompleteReadText(s: Pick<StreamDataStatus, 'source' | 'stream' | 'lastRunStatus' | 'incompleteFrom'>): string {
  const how = s.lastRunStatus === 'running' ? 'is still running' : s.lastRunStatus === 'interrupted' ? 'was interrupted' : 'failed';
  const from = s.incompleteFrom === null ? 'no read of it ever succeeded, so none of its data is known to be complete' : `its data is incomplete from ${s.incompleteFrom}`;
  return `the last read of ${s.source}.${s.stream} ${how}: ${from}`;
}

/** The refresh's warning for a stream whose last read left its data incomplete. */
export function incompleteStreamWarning(s: Pick<StreamDataStatus, 'source' | 'stream' | 'lastRunStatus' | 'incompleteFrom'>, completeThrough: string | null): string {
  const periods = completeThrough === null ? 'no period is complete' : `periods after ${completeThrough} are flagged is_complete = false`;
  const text = incompleteReadText(s);
  return `${text[0]!.toUpperCase()}${text.slice(1)}; the metrics hold what was landed, and ${periods} (metrics.data_status)`;
}
