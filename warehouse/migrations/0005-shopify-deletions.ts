import { sql, type Kysely } from 'kysely';

/**
 * The landing table of `shopify.deletions` (issue 11), the deletion events of orders and
 * customers. Written out here rather than through 0001's list of raw streams: a warehouse made
 * before this stream existed has already run 0001, and this migration alone must create it.
 * The columns are those of every raw table (`warehouse/tables/raw.ts`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table if not exists raw.shopify__deletions (
      _key text primary key,
      _record jsonb not null,
      _report_date date,
      _version timestamptz,
      _hash text not null,
      _batch_id text not null,
      _run_id text not null,
      _extracted_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index if not exists shopify__deletions_report_date on raw.shopify__deletions (_report_date)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists raw.shopify__deletions`.execute(db);
}
