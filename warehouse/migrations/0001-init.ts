import { sql, type Kysely } from 'kysely';

/**
 * The raw streams as they were when this migration was written. A migration is frozen in time:
 * it keeps its own list rather than reading the stream catalogue, which grows (a stream added
 * later gets its raw table from a migration of its own, e.g. 0005).
 */
const RAW_STREAMS_0001 = [
  ['shopify', 'orders'],
  ['shopify', 'customers'],
  ['stripe', 'charges'],
  ['stripe', 'refunds'],
  ['ga4', 'traffic_daily'],
  ['google_ads', 'campaign_daily'],
  ['meta_ads', 'campaign_insights_daily'],
  ['shipments', 'shipments'],
  ['fx', 'rates'],
] as const;

/** Schemas, the operations tables and the nine raw landing tables. */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const schema of ['raw', 'staging', 'core', 'metrics', 'ops']) {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  }
  await db.schema
    .createTable('ops.runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull().defaultTo('cli'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('sources', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('records_landed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('records_quarantined', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('host', 'text')
    .addColumn('pid', 'integer')
    .execute();
  await db.schema.createIndex('runs_started_at').on('ops.runs').column('started_at').execute();
  await db.schema
    .createTable('ops.stream_runs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('ops.runs.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('finished_at', 'timestamptz')
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('records_landed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('records_quarantined', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('stream_runs_run').on('ops.stream_runs').columns(['run_id']).execute();
  await db.schema
    .createTable('ops.stream_state')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb')
    .addColumn('data_through', 'timestamptz')
    .addColumn('last_run_id', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('stream_state_pk', ['source', 'stream'])
    .execute();
  await db.schema
    .createTable('ops.quarantine')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('run_id', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('raw', 'text', (c) => c.notNull())
    .addColumn('location', 'text')
    .addColumn('quarantined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // The same bad record offered again is not quarantined twice.
  await sql`create unique index quarantine_once on ops.quarantine (source, stream, md5(raw), reason)`.execute(db);
  await db.schema
    .createTable('ops.landed_files')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('landed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('landed_files_pk', ['source', 'stream', 'name', 'size', 'checksum'])
    .execute();
  for (const [source, stream] of RAW_STREAMS_0001) {
    await createRawTable(db, source, stream);
  }
}

/** The landing table of one stream (also used for streams added later). */
export async function createRawTable(db: Kysely<unknown>, source: string, stream: string): Promise<void> {
  if (!/^[a-z][a-z0-9_]*$/.test(source) || !/^[a-z][a-z0-9_]*$/.test(stream)) {
    throw new Error(`invalid source or stream name: ${source}.${stream}`);
  }
  const table = `raw.${source}__${stream}`;
  await sql`
    create table if not exists ${sql.table(table)} (
      _key text primary key,
      _record jsonb not null,
      _report_date date,
      _version timestamptz,
      _hash text not null,
      _batch_id text not null,
      _run_id text not null,
      _extracted_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index if not exists ${sql.id(`${source}__${stream}_report_date`)} on ${sql.table(table)} (_report_date)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const schema of ['metrics', 'core', 'staging', 'raw', 'ops']) {
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(db);
  }
}
