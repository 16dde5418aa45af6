import { sql, type Kysely } from 'kysely';

/**
 * `ops.model_builds.rebuild_in_full`: the next build rebuilds the model in full, whatever its
 * watermark says. `verite transform --select` sets it on every model downstream of a selected
 * one that it did not build: the selected model is rebuilt from the whole of its inputs and its
 * watermark moves past every change, so the models reading it would find nothing to bring them
 * up to date with the changes they never read (docs/scale.md, "Full builds").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.model_builds add column rebuild_in_full boolean not null default false`.execute(db);
  await sql`comment on column ops.model_builds.rebuild_in_full is 'The next transform rebuilds this model in full: a verite transform --select rebuilt a model it reads, and the changes that move it were consumed there'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.model_builds drop column rebuild_in_full`.execute(db);
}
