import { sql, type Kysely } from 'kysely';

/**
 * `ops.report_deliveries.target`: which place a send went to, as a digest of the report
 * entry's setting (the webhook, or the SMTP variable and the recipients), never the URL or an
 * address itself. A report of a period already delivered to a place is not sent there again
 * (two schedulers for availability fire every report twice), and the digest is what "the same
 * place" means. NULL on the rows written before, and on the `file` rows (each machine writes
 * its own reports folder).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.report_deliveries add column target text`.execute(db);
  await sql`create index report_deliveries_period on ops.report_deliveries (kind, period)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists ops.report_deliveries_period`.execute(db);
  await sql`alter table ops.report_deliveries drop column if exists target`.execute(db);
}
