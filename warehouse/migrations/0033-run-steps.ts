import { sql, type Kysely } from 'kysely';

/**
 * What a run had done when it stopped, for the message of a run closed as abandoned
 * (pipeline/lock.ts, `markAbandonedRuns`): `stage`, where it was (`landing`, then the name of
 * each step after loading as it begins), and `steps_done`, the steps it published, each written
 * in the step's own transaction, so it commits or rolls back with what the step built. Rows
 * written before this migration have no stage.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.runs add column stage text, add column steps_done text[] not null default '{}'`.execute(db);
  await sql`comment on column ops.runs.stage is 'Where the run is: landing, then each step after loading (transform, metrics, clv) as it begins; null for runs recorded before it existed'`.execute(db);
  await sql`comment on column ops.runs.steps_done is 'The steps of the run that were published, each written in the step''s own transaction'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.runs drop column stage, drop column steps_done`.execute(db);
}
