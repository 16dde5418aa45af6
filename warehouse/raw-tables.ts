import { sql, type Kysely } from 'kysely';
import { catalogStreams, type CatalogStream } from '../catalog/catalog.ts';

/**
 * Creates the raw table of every stream of the catalogue that does not have one yet, after the
 * migrations: adding a stream is its catalogue entry and its extractor, with no migration of its
 * own. Every raw table has the same columns (`RawTable` in warehouse/tables/raw.ts), so the table
 * follows from the stream's name alone. Migrations keep their frozen lists (0001, 0005, 0012):
 * they create what existed when they were written, and this never alters a table that exists.
 */
export async function ensureRawTables(db: Kysely<any>, streams: readonly CatalogStream[] = catalogStreams()): Promise<string[]> {
  const created: string[] = [];
  for (const { source, stream, rawTable } of streams) {
    const exists = await sql<{ found: string | null }>`select to_regclass(${rawTable}) as found`.execute(db);
    if (exists.rows[0]?.found) {
      await logChanges(db, rawTable);
      continue;
    }
    await sql`
      create table if not exists ${sql.table(rawTable)} (
        _key text primary key,
        _record jsonb not null,
        _report_date date,
        _version timestamptz,
        _hash text not null,
        _batch_id text not null,
        _run_id text not null,
        _extracted_at timestamptz not null default now()
      )`.execute(db);
    await sql`create index if not exists ${sql.id(`${source}__${stream}_report_date`)} on ${sql.table(rawTable)} (_report_date)`.execute(db);
    await logChanges(db, rawTable);
    created.push(rawTable);
  }
  return created;
}

/**
 * Puts the change log's triggers on a raw table (migration 0020's `ops.log_raw_changes`), once:
 * every row written or removed, by any statement, is in `ops.raw_changes` for the incremental build.
 */
async function logChanges(db: Kysely<any>, rawTable: string): Promise<void> {
  const [schema, table] = rawTable.split('.') as [string, string];
  const found = await sql<{ n: number }>`
    select count(*)::int as n from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace ns on ns.oid = c.relnamespace
     where ns.nspname = ${schema} and c.relname = ${table} and t.tgname like 'verite_raw_changes_%'`.execute(db);
  if ((found.rows[0]?.n ?? 0) >= 3) return;
  const name = (op: string) => sql.id(`verite_raw_changes_${op}`);
  for (const op of ['insert', 'update', 'delete']) await sql`drop trigger if exists ${name(op)} on ${sql.table(rawTable)}`.execute(db);
  await sql`create trigger ${name('insert')} after insert on ${sql.table(rawTable)} referencing new table as new_rows for each statement execute function ops.log_raw_changes()`.execute(db);
  await sql`create trigger ${name('update')} after update on ${sql.table(rawTable)} referencing old table as old_rows new table as new_rows for each statement execute function ops.log_raw_changes()`.execute(db);
  await sql`create trigger ${name('delete')} after delete on ${sql.table(rawTable)} referencing old table as old_rows for each statement execute function ops.log_raw_changes()`.execute(db);
}
