import { sql, type Kysely } from 'kysely';

/**
 * `ops.report_deliveries.permanent`: on a failed send's row, whether the place refused it for
 * good (a retired Teams Office 365 connector, which takes nothing however often it is tried).
 * The next start of the scheduler does not make up a period for a place whose last send of it
 * was so refused, and no later firing of the period sends there again
 * (scheduler/scheduler.ts, `missedFirings`). False on the rows written before, and on every
 * other row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.report_deliveries add column permanent boolean not null default false`.execute(db);
  await sql`comment on column ops.report_deliveries.permanent is 'On a failed send: the place refused it for good (a retired Teams connector); not sent there again for the period'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.report_deliveries drop column if exists permanent`.execute(db);
}
