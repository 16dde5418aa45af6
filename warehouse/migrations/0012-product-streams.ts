import { sql, type Kysely } from 'kysely';

/**
 * The landing tables of the product, stock and fee streams (issue 13): `shopify.products`,
 * `shopify.inventory_levels`, `stripe.balance_transactions` and `costs.unit_costs`. The list is
 * written out here, frozen, rather than read from `RAW_STREAMS`: a warehouse made before these
 * streams existed has already run 0001, and this migration alone must create them. The columns
 * are those of every raw table (`warehouse/tables/raw.ts`).
 */
const TABLES = [
  ['shopify', 'products'],
  ['shopify', 'inventory_levels'],
  ['stripe', 'balance_transactions'],
  ['costs', 'unit_costs'],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [source, stream] of TABLES) {
    await sql`
      create table if not exists ${sql.table(`raw.${source}__${stream}`)} (
        _key text primary key,
        _record jsonb not null,
        _report_date date,
        _version timestamptz,
        _hash text not null,
        _batch_id text not null,
        _run_id text not null,
        _extracted_at timestamptz not null default now()
      )`.execute(db);
    await sql`create index if not exists ${sql.id(`${source}__${stream}_report_date`)} on ${sql.table(`raw.${source}__${stream}`)} (_report_date)`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [source, stream] of TABLES) await sql`drop table if exists ${sql.table(`raw.${source}__${stream}`)}`.execute(db);
}
