import { sql, type Kysely } from 'kysely';

/** Backfill progress (one row per backfill, one per chunk) and the state of each alert rule. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.backfills')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    // Null: every stream of the source.
    .addColumn('stream', 'text')
    .addColumn('date_from', 'date', (c) => c.notNull())
    .addColumn('date_to', 'date', (c) => c.notNull())
    .addColumn('chunk_days', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('error', 'text')
    .addColumn('host', 'text')
    .addColumn('pid', 'integer')
    .execute();
  await db.schema.createIndex('backfills_request').on('ops.backfills').columns(['source', 'stream', 'date_from', 'date_to', 'chunk_days']).execute();
  await db.schema
    .createTable('ops.backfill_chunks')
    .addColumn('backfill_id', 'text', (c) => c.notNull().references('ops.backfills.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('date_from', 'date', (c) => c.notNull())
    .addColumn('date_to', 'date', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('run_id', 'text')
    .addColumn('records_landed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('error', 'text')
    .addPrimaryKeyConstraint('backfill_chunks_pk', ['backfill_id', 'seq'])
    .execute();
  await db.schema
    .createTable('ops.alert_state')
    .addColumn('rule', 'text', (c) => c.primaryKey())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('firing', 'boolean', (c) => c.notNull().defaultTo(false))
    // Whether the webhook took the latest change (fired or cleared); else it is sent next check.
    .addColumn('notified', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('value', 'float8')
    .addColumn('message', 'text')
    .addColumn('fired_at', 'timestamptz')
    .addColumn('cleared_at', 'timestamptz')
    .addColumn('checked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ops.alert_state').ifExists().execute();
  await db.schema.dropTable('ops.backfill_chunks').ifExists().execute();
  await db.schema.dropTable('ops.backfills').ifExists().execute();
}
