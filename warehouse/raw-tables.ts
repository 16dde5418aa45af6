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
    if (exists.rows[0]?.found) continue;
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
    created.push(rawTable);
  }
  return created;
}
