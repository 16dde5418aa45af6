import { sql, type RawBuilder } from 'kysely';

/**
 * The changes a build consumes: those of `ops.raw_changes` with a `change_id` in
 * (`after`, `through`]. `through` is read at the start of the transform, under the run lock,
 * once the run's extraction is done, when every id up to it is committed (docs/scale.md,
 * "Incremental build"). Ids are bigint, carried as text.
 */
export interface ChangeRange {
  /** The last change a model already consumed ('0' before its first build). */
  after: string;
  /** The newest change this build consumes. */
  through: string;
}

/** One raw row written or removed, as an incremental model's `changed` query reads it. */
export interface RawChange {
  key: string;
  /** date-report streams: the row's report date (a removed row's, the date it had). */
  report_date: string | null;
  removed: boolean;
}

/**
 * The raw rows of `raw.<source>__<stream>` written or removed in `range`, as a subquery of
 * {@link RawChange} rows (a key changed several times appears several times).
 */
export function rawChanges(source: string, stream: string, range: ChangeRange): RawBuilder<RawChange> {
  return sql<RawChange>`(select key, report_date, removed from ops.raw_changes
    where source = ${sql.lit(source)} and stream = ${sql.lit(stream)}
      and change_id > ${sql.lit(range.after)}::bigint and change_id <= ${sql.lit(range.through)}::bigint)`;
}

/** `raw.<source>__<stream>` → its source and stream. */
export function rawTableStream(table: string): { source: string; stream: string } | undefined {
  const m = /^raw\.([a-z0-9_]+?)__([a-z0-9_]+)$/.exec(table);
  return m ? { source: m[1]!, stream: m[2]! } : undefined;
}
