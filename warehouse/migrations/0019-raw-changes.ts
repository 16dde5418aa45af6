import { sql, type Kysely } from 'kysely';

/**
 * `ops.raw_changes`: one row per raw row a landed page wrote (a new key, or a key whose record
 * changed) or removed (a report date's rows an earlier extraction left), written in the page's
 * transaction. The incremental build reads it to know which keys and report dates changed since
 * a model last built (docs/scale.md, "Incremental build").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.raw_changes')
    .addColumn('change_id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('batch_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('report_date', 'date')
    .addColumn('removed', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A model reads the changes of its input streams after its watermark.
  await db.schema.createIndex('raw_changes_stream').on('ops.raw_changes').columns(['source', 'stream', 'change_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ops.raw_changes').ifExists().execute();
}
