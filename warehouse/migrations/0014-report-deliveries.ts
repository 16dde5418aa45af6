import { sql, type Kysely } from 'kysely';

/**
 * `ops.report_deliveries`: one row per report the scheduler wrote and each place it was sent
 * (a webhook, an e-mail), with how many attempts it took and, when it failed, why — so a
 * delivery that did not arrive is on record (docs/reports.md), while the data runs go on.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.report_deliveries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('period', 'text')
    .addColumn('file', 'text')
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('file', 'webhook', 'email')`))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('scheduled_for', 'timestamptz')
    .addColumn('finished_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('report_deliveries_finished_at').on('ops.report_deliveries').columns(['finished_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ops.report_deliveries').ifExists().execute();
}
