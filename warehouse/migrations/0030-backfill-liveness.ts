import { sql, type Kysely } from 'kysely';

/**
 * How a backfill in `ops.backfills` is told alive from dead, as a run is (0010-run-liveness):
 * while `verite backfill` goes on, between its chunks too, its process holds a session-level
 * advisory lock keyed by the row's `liveness_key`. A backfill still `running` whose lock nobody
 * holds was left by a process that is gone (pipeline/lock.ts, `markAbandonedRuns`). Rows
 * written before this migration have no key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.backfills add column liveness_key integer`.execute(db);
  await sql`comment on column ops.backfills.liveness_key is 'The key of the advisory lock the backfill''s process holds while it goes on; null for backfills recorded before it existed'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.backfills drop column liveness_key`.execute(db);
}
