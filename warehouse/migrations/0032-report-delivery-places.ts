import { sql, type Kysely } from 'kysely';

/**
 * `ops.report_deliveries.places`: on the `file` row of a scheduled firing, the places it was to
 * send the report to (`webhook <target>`, `email <target>`, the digests of `target`). A firing
 * whose process died before a send was recorded (killed during the pause before a retry, a
 * deploy in the middle of the send) leaves its report written and no row for the send: the next
 * start of the scheduler makes it up for the places of this list that no delivery of the period
 * reached (scheduler/scheduler.ts, `missedFirings`). NULL on the rows written before, on the
 * sends' rows, and for `verite report --send`, asked for by hand.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.report_deliveries add column places text[]`.execute(db);
  await sql`comment on column ops.report_deliveries.places is 'On the file row of a scheduled firing: the places (channel and target digest) it was to send the report to; null otherwise'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.report_deliveries drop column if exists places`.execute(db);
}
