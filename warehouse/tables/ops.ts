import type { ColumnType, Generated } from 'kysely';
import type { ColumnMarks } from '../../catalog/stream-contract.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/**
 * `interrupted`: stopped early (a signal, the scheduler stopping); its committed pages stay.
 * `succeeded with warnings`: published, with records set aside (`warnings` says which).
 */
export type RunStatus = 'running' | 'succeeded' | 'succeeded with warnings' | 'failed' | 'partial' | 'skipped' | 'interrupted';

/** One row per pipeline run (run, backfill, import, transform …). */
export interface OpsRunsTable {
  id: string;
  kind: string;
  trigger: string;
  status: RunStatus;
  sources: ColumnType<string[], string[], string[]>;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  records_landed: ColumnType<number, number | undefined, number>;
  records_quarantined: ColumnType<number, number | undefined, number>;
  error: string | null;
  /** What a run that succeeded with warnings warned about (records set aside), one per line. */
  warnings: ColumnType<string | null, string | null | undefined, string | null>;
  host: string | null;
  pid: number | null;
  /** The key of the advisory lock its process holds while it runs (pipeline/lock.ts); null before migration 0010. */
  liveness_key: ColumnType<number | null, number | null | undefined, number | null>;
  /**
   * Where the run is (migration 0033): `landing`, then each step after loading as it begins
   * (`transform`, `metrics`, `clv`); null for runs recorded before, and for `transform` and `metrics` runs.
   */
  stage: ColumnType<string | null, string | null | undefined, string | null>;
  /** The steps of the run that were published, each written in the step's own transaction (migration 0033). */
  steps_done: ColumnType<string[], string[] | undefined, string[]>;
}

/** One row per stream per run: what each stream did. */
export interface OpsStreamRunsTable {
  id: Generated<number>;
  run_id: string;
  source: string;
  stream: string;
  attempt: ColumnType<number, number | undefined, number>;
  status: RunStatus;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  pages: ColumnType<number, number | undefined, number>;
  records_landed: ColumnType<number, number | undefined, number>;
  records_quarantined: ColumnType<number, number | undefined, number>;
  error: string | null;
}

/** Each stream's cursor, committed in the same transaction as the page it follows. */
export interface OpsStreamStateTable {
  source: string;
  stream: string;
  state: ColumnType<unknown, string | null, string | null>;
  /** The newest data landed (newest version, or last report date), for freshness. */
  data_through: NullableTimestamp;
  last_run_id: string | null;
  updated_at: Timestamp;
}

/** Records that could not be landed, with why and their text. */
export interface OpsQuarantineTable {
  id: Generated<string>;
  run_id: string | null;
  source: string;
  stream: string;
  reason: string;
  raw: string;
  /** Where the record came from: a file and line, or a page number. */
  location: string | null;
  /**
   * A file's row: the decimal mark each column of its file showed (`{"Preis": ","}`, null for a
   * column that showed both), read by `verite quarantine retry` (migration 0028); null otherwise.
   */
  decimal_marks: ColumnType<ColumnMarks | null, string | null | undefined, string | null>;
  quarantined_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/**
 * A record the last build of `model` could not use, set aside with the reason (its raw row
 * stays in `raw.<source>__<stream>` under `key`). Rewritten by every build of the model.
 */
export interface OpsSetAsideTable {
  id: Generated<string>;
  model: string;
  check_name: string;
  source: string;
  stream: string;
  key: string;
  reason: string;
  /** The first build that set it aside (kept while later builds still do). */
  since: Timestamp;
  /** The build that last set it aside. */
  set_aside_at: Timestamp;
}

/** What `verite quarantine drop|retry` did to a set-aside or quarantined record, and who did it. */
export interface OpsQuarantineActionsTable {
  id: Generated<string>;
  action: 'drop' | 'retry';
  kind: 'set aside' | 'quarantined';
  source: string;
  stream: string;
  key: string | null;
  quarantine_id: string | null;
  reason: string | null;
  /** The record's text, for a drop. */
  raw: string | null;
  outcome: string;
  acted_at: ColumnType<Date, Date | string | undefined, Date | string>;
  acted_by: string | null;
  command: string | null;
  host: string | null;
  pid: number | null;
}

/** Files a file-drop source has landed, so each is landed once. */
export interface OpsLandedFilesTable {
  source: string;
  stream: string;
  name: string;
  size: ColumnType<string, number | string, number | string>;
  checksum: string;
  records: number;
  run_id: string | null;
  landed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** `cancelled`: replaced by a restart (`verite backfill --restart`). */
export type BackfillStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
export type BackfillChunkStatus = 'pending' | 'done' | 'failed';

/** One row per backfill (`verite backfill`): what it covers and how far it got. */
export interface OpsBackfillsTable {
  id: string;
  source: string;
  /** Null when the backfill covers every stream of the source. */
  stream: string | null;
  date_from: string;
  date_to: string;
  chunk_days: number;
  status: BackfillStatus;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: NullableTimestamp;
  error: string | null;
  host: string | null;
  pid: number | null;
  /** The key of the advisory lock its process holds while it goes on (pipeline/lock.ts); null before migration 0030. */
  liveness_key: ColumnType<number | null, number | null | undefined, number | null>;
}

/** The chunks of a backfill, in date order; a rerun does the ones not `done`. */
export interface OpsBackfillChunksTable {
  backfill_id: string;
  seq: number;
  date_from: string;
  date_to: string;
  status: ColumnType<BackfillChunkStatus, BackfillChunkStatus | undefined, BackfillChunkStatus>;
  run_id: string | null;
  records_landed: ColumnType<number, number | undefined, number>;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  error: string | null;
}

/** Each alert rule's last verdict, so a firing rule is sent once and again only after it cleared. */
export interface OpsAlertStateTable {
  rule: string;
  metric: string;
  firing: boolean;
  /** False while the latest change (fired or cleared) has not reached the webhook yet. */
  notified: boolean;
  value: number | null;
  message: string | null;
  fired_at: NullableTimestamp;
  cleared_at: NullableTimestamp;
  checked_at: Timestamp;
  run_id: string | null;
}

/** A report the scheduler wrote (`file`) or sent (`webhook`, `email`), and how that went (migration 0014). */
export interface OpsReportDeliveriesTable {
  id: Generated<string>;
  kind: string;
  period: string | null;
  file: string | null;
  channel: 'file' | 'webhook' | 'email';
  status: 'delivered' | 'failed';
  attempts: number;
  error: string | null;
  scheduled_for: NullableTimestamp;
  finished_at: Timestamp;
  /** A digest of where a send went (migration 0027); null for a file, and before 0027. */
  target: ColumnType<string | null, string | null | undefined, string | null>;
  /** On the file row of a scheduled firing, the places (`channel target`) it was to send to (migration 0032); else null. */
  places: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  /** On a failed send's row, whether the place refused it for good: a retired Teams connector (migration 0035; the refusals recorded before it, 0036); else false. */
  permanent: ColumnType<boolean, boolean | undefined, boolean>;
}

/**
 * A raw row a landed page wrote or removed (migration 0019), in the page's transaction: what the
 * incremental build reads to know which keys and report dates changed (docs/scale.md).
 */
export interface OpsRawChangesTable {
  change_id: Generated<string>;
  run_id: string;
  /** The extraction (one stream read) that made the change. */
  batch_id: string;
  source: string;
  stream: string;
  /** The raw row's `_key`. */
  key: string;
  /** date-report streams: the row's report date (a removed row's, the date it had); NULL for entity streams. */
  report_date: ColumnType<string | null, string | null | undefined, string | null>;
  /** The row left raw, or (with the date it had) moved to another report date. */
  removed: ColumnType<boolean, boolean | undefined, boolean>;
  recorded_at: ColumnType<Date, string | Date | undefined, string | Date>;
}

/** Per transform model, how far its table is built (migration 0020, docs/scale.md). */
export interface OpsModelBuildsTable {
  model: string;
  /** The last `ops.raw_changes.change_id` the table has consumed (bigint as text). */
  through_change_id: string;
  /** A hash of the model's compiled SQL and the conventions it was built with: a change means a full rebuild. */
  signature: string;
  built_at: ColumnType<Date, string | Date | undefined, string | Date>;
  last_full_at: ColumnType<Date, string | Date | undefined, string | Date>;
  /** The next build rebuilds it in full: a `--select` rebuilt a model it reads (migration 0031). */
  rebuild_in_full: ColumnType<boolean, boolean | undefined, boolean>;
}

/**
 * What a transform replaced in a core table the metrics read (migration 0020), consumed by the
 * next metrics refresh: a local date whose rows changed (old or new), a customer replaced, or
 * `everything` for a table rebuilt in full.
 */
export interface OpsMetricInputsChangedTable {
  id: Generated<string>;
  model: string;
  date: ColumnType<string | null, string | null | undefined, string | null>;
  customer_key: ColumnType<string | null, string | null | undefined, string | null>;
  everything: ColumnType<boolean, boolean | undefined, boolean>;
  recorded_at: ColumnType<Date, string | Date | undefined, string | Date>;
}

export interface OpsTables {
  'ops.runs': OpsRunsTable;
  'ops.stream_runs': OpsStreamRunsTable;
  'ops.stream_state': OpsStreamStateTable;
  'ops.quarantine': OpsQuarantineTable;
  'ops.set_aside': OpsSetAsideTable;
  'ops.quarantine_actions': OpsQuarantineActionsTable;
  'ops.landed_files': OpsLandedFilesTable;
  'ops.backfills': OpsBackfillsTable;
  'ops.backfill_chunks': OpsBackfillChunksTable;
  'ops.alert_state': OpsAlertStateTable;
  'ops.report_deliveries': OpsReportDeliveriesTable;
  'ops.raw_changes': OpsRawChangesTable;
  'ops.model_builds': OpsModelBuildsTable;
  'ops.metric_inputs_changed': OpsMetricInputsChangedTable;
}
