import { sql, type Kysely } from 'kysely';

/**
 * `ops.quarantine.decimal_marks`: for a row of a costs or shipments file, the decimal mark each
 * column of its file showed (`{"Preis": ","}`), so that `verite quarantine retry` reads the row's
 * amounts as its file wrote them, whatever column mapping is set by then (a row quarantined for
 * want of a mapping was read when no column was known to hold amounts). NULL for other records,
 * and for the rows quarantined before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.quarantine add column decimal_marks jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ops.quarantine drop column if exists decimal_marks`.execute(db);
}
