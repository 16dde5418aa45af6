import { sql, type Kysely } from 'kysely';

/**
 * The refusals of a retired Teams Office 365 connector that a send recorded in
 * `ops.report_deliveries` before migration 0035, which added `permanent` with false on every row
 * written before it: each is set true, as the release after 0035 records it, so that the next
 * start of the scheduler does not make the period up once more for that place
 * (scheduler/scheduler.ts, `missedFirings`).
 *
 * Told by the error recorded on a failed webhook send: the refusal's message
 * (lib/webhook-flavour.ts, `RETIRED_CONNECTOR`), which verite records as it is (nothing in it is
 * redacted), in every wording it has had: one since verite first refused such a connector. It is
 * written out here, not imported: a later rewording is recorded with `permanent` true already,
 * and must not change which rows this matched. No other failure says it. A send to a connector
 * made before verite refused them went out and failed (or seemed to succeed) as any other post
 * did: nothing on its row tells it apart, and it stays as it is (no start makes it up: its firing
 * came before 0032, which recorded the places a firing was to reach).
 */
const RETIRED_CONNECTOR_REFUSALS = [
  'the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired (its retirement completed on 22 May 2026): ' +
    'a message posted there never reaches the channel; in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL',
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    update ops.report_deliveries set permanent = true
     where channel = 'webhook' and status = 'failed' and not permanent
       and error in (${sql.join(RETIRED_CONNECTOR_REFUSALS)})`.execute(db);
}

/** Nothing to undo: a refusal saying `permanent` true is what 0035's column means, however it got there. */
export async function down(_db: Kysely<unknown>): Promise<void> {}
