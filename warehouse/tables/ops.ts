import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped';

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
  host: string | null;
  pid: number | null;
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
  quarantined_at: ColumnType<Date, Date | string | undefined, Date | string>;
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

export interface OpsTables {
  'ops.runs': OpsRunsTable;
  'ops.stream_runs': OpsStreamRunsTable;
  'ops.stream_state': OpsStreamStateTable;
  'ops.quarantine': OpsQuarantineTable;
  'ops.landed_files': OpsLandedFilesTable;
}
