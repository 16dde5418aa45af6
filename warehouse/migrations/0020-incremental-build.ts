import { sql, type Kysely } from 'kysely';

/**
 * The incremental build's bookkeeping (docs/scale.md, "Incremental build"):
 *
 * - `ops.model_builds`: per transform model, the last `ops.raw_changes.change_id` its table has
 *   consumed, the signature of what it was built with (its compiled SQL and the reporting
 *   conventions), and when it was last built in full.
 * - `ops.metric_inputs_changed`: what a transform replaced in the core tables the metrics read,
 *   written in the transform's transaction and consumed (deleted) by the metrics refresh that
 *   recomputes it, in the refresh's: the local dates whose rows of a model changed (old or
 *   new), the customers `core.customers` replaced, or `everything` for a model rebuilt in full.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.model_builds')
    .addColumn('model', 'text', (c) => c.primaryKey())
    .addColumn('through_change_id', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('built_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_full_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('ops.metric_inputs_changed')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('date', 'date')
    .addColumn('customer_key', 'text')
    .addColumn('everything', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ops.metric_inputs_changed').ifExists().execute();
  await db.schema.dropTable('ops.model_builds').ifExists().execute();
}
