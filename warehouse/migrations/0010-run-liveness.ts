import { sql, type Kysely } from 'kysely';

/**
 * How a run in `ops.runs` is told alive from dead: while it runs, its process holds a
 * session-level advisory lock keyed by the row's `liveness_key` (pipeline/lock.ts). PostgreSQL
 * releases the lock when the process's session ends, killed or not, so a row still `running`
 * whose lock nobody holds belongs to a process that is gone. Rows written before this
 * migration have no key.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Cycles rather than failing after 2^31 runs: keys of finished runs are never looked at.
  await sql`create sequence ops.run_liveness_key as integer minvalue 1 cycle`.execute(db);
  await sql`alter table ops.runs add column liveness_key integer`.execute(db);
  await sql`comment on column ops.runs.liveness_key is 'The key of the advisory lock the run''s process holds while it runs; null for runs recorded before it existed'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.runs drop column liveness_key`.execute(db);
  await sql`drop sequence ops.run_liveness_key`.execute(db);
}
