import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { catalogQuery } from './catalog.ts';
import { publishedSelection, viewColumns } from './columns.ts';
import { definitionProblems } from './definitions/index.ts';
import { metricViews } from './views/index.ts';
import { metricsContext, type MetricView } from './view.ts';

/** The core tables the views read: a refresh before the first transform says so. */
const CORE_INPUTS = ['core.orders', 'core.customers', 'core.refunds', 'core.payments', 'core.spend', 'core.traffic', 'core.shipments'];

/** What happened to one table of the refresh. */
export interface TableRefresh {
  table: string;
  rows: number;
  ms: number;
  /** `created` (new table swapped in) or `refilled` (same columns: emptied and filled in place). */
  mode: 'created' | 'refilled';
}

export interface MetricsRefreshResult {
  /** Every table was rebuilt and the transaction committed; else readers still see the previous set. */
  status: 'succeeded' | 'failed';
  /** The tables published, in order (none when the refresh failed and rolled back). */
  tables: TableRefresh[];
  /** The table that failed, its SQL and the database's message. */
  failed?: { table: string; sql?: string; error: string };
  error?: string;
}

export interface RefreshOptions {
  /** Only these views (and the catalogue); default all. Views they read must already exist. */
  views?: readonly MetricView[];
}

/**
 * Rebuilds every table of schema `metrics` (the views of METRICS.md and `metrics.catalog`)
 * from `core.*` in ONE transaction: readers see the previous complete set until the commit,
 * then the new one, never a mix. A table whose columns are unchanged is emptied and refilled in
 * place (so grants, comments and views built on it by others survive); a new or reshaped one is
 * built under a new name and swapped in, keeping the SELECT grants of the table it replaces
 * (the BI role's default privileges cover it too). Returns a result per table; never throws
 * for a database error.
 */
export async function refreshMetrics(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, log?: Logger, options: RefreshOptions = {}): Promise<MetricsRefreshResult> {
  const problems = definitionProblems();
  if (problems.length) return { status: 'failed', tables: [], error: `the metric definitions are inconsistent: ${problems.join('; ')}` };
  const ctx = metricsContext(config);
  const tables: TableRefresh[] = [];
  let current = '';
  let currentSql: string | undefined;
  const trx = await warehouse.db.startTransaction().execute();
  try {
    // Timestamps without an offset mean UTC, whatever the server's setting; one refresh at a time.
    await sql`set local timezone = 'UTC'`.execute(trx);
    await sql`select pg_advisory_xact_lock(hashtext('verite.metrics.refresh'))`.execute(trx);
    const missing = await missingTables(trx, CORE_INPUTS);
    if (missing.length) {
      await trx.rollback().execute();
      const error = `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist yet: run \`verite transform\` (or \`verite run\`) first`;
      return { status: 'failed', tables, error };
    }
    for (const view of options.views ?? metricViews) {
      current = `metrics.${view.name}`;
      const query = sql`select ${publishedSelection(view, 'b')} from (${view.build(trx, ctx)}) as b`;
      currentSql = query.compile(trx).sql;
      tables.push(await publish(trx, view.name, query, { indexes: view.indexes, comment: view.grain, columns: columnComments(view) }));
      log?.debug({ table: current, rows: tables.at(-1)?.rows }, 'metric table refreshed');
    }
    current = 'metrics.catalog';
    const catalog = catalogQuery();
    currentSql = catalog.compile(trx).sql;
    tables.push(
      await publish(trx, 'catalog', catalog, {
        indexes: [{ columns: ['metric'], unique: true }],
        comment: 'The data dictionary: one row per published metric and per dimension column, generated from the metric definitions.',
        columns: {},
      }),
    );
    await trx.commit().execute();
    return { status: 'succeeded', tables };
  } catch (error) {
    await trx.rollback().execute().catch(() => undefined);
    const message = errorMessage(error);
    log?.error({ table: current, err: message }, 'metrics refresh failed; the previous metric tables are kept');
    return { status: 'failed', tables: [], failed: { table: current, sql: currentSql, error: message }, error: `${current}: ${message}` };
  }
}

function columnComments(view: MetricView): Record<string, string> {
  return Object.fromEntries(
    viewColumns(view).map((e) => [e.column, e.kind === 'metric' ? `${e.label}: ${e.description} Formula: ${e.formula}` : `${e.label}: ${e.description}`]),
  );
}

async function missingTables(db: Transaction<Database>, names: string[]): Promise<string[]> {
  const found = await sql<{ name: string; oid: string | null }>`
    select n as name, to_regclass(n)::text as oid from unnest(${sql.val(names)}::text[]) as n`.execute(db);
  return found.rows.filter((r) => r.oid === null).map((r) => r.name);
}

interface PublishOptions {
  indexes: MetricView['indexes'];
  comment: string;
  columns: Record<string, string>;
}

async function columnsOf(db: Transaction<Database>, table: string): Promise<string> {
  const res = await sql<{ signature: string | null }>`
    select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum) as signature
      from pg_attribute a
     where a.attrelid = to_regclass(${table}) and a.attnum > 0 and not a.attisdropped`.execute(db);
  return res.rows[0]?.signature ?? '';
}

/** Builds `metrics.<name>` from `query` inside the open transaction. */
async function publish(db: Transaction<Database>, name: string, query: RawBuilder<unknown>, options: PublishOptions): Promise<TableRefresh> {
  const started = Date.now();
  const target = `metrics.${name}`;
  const building = `metrics.${name}__new`;
  await sql`drop table if exists ${sql.table(building)}`.execute(db);
  await sql`create table ${sql.table(building)} as ${query}`.execute(db);
  const before = await columnsOf(db, target);
  let mode: TableRefresh['mode'];
  if (before !== '' && before === (await columnsOf(db, building))) {
    await sql`truncate ${sql.table(target)}`.execute(db);
    await sql`insert into ${sql.table(target)} select * from ${sql.table(building)}`.execute(db);
    await sql`drop table ${sql.table(building)}`.execute(db);
    mode = 'refilled';
  } else {
    if (before !== '') {
      await copySelectGrants(db, target, building);
      await sql`drop table ${sql.table(target)}`.execute(db);
    }
    await sql`alter table ${sql.table(building)} rename to ${sql.id(name)}`.execute(db);
    mode = 'created';
  }
  for (const index of options.indexes) {
    const indexName = `${name}_${index.columns.join('_')}`;
    const columns = sql.join(index.columns.map((c) => sql.id(c)));
    await (index.unique
      ? sql`create unique index if not exists ${sql.id(indexName)} on ${sql.table(target)} (${columns})`
      : sql`create index if not exists ${sql.id(indexName)} on ${sql.table(target)} (${columns})`
    ).execute(db);
  }
  await sql`comment on table ${sql.table(target)} is ${sql.lit(options.comment)}`.execute(db);
  for (const [column, text] of Object.entries(options.columns)) {
    await sql`comment on column ${sql.table(target)}.${sql.id(column)} is ${sql.lit(text)}`.execute(db);
  }
  await sql`analyze ${sql.table(target)}`.execute(db);
  const count = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(target)}`.execute(db);
  return { table: target, rows: count.rows[0]?.n ?? 0, ms: Date.now() - started, mode };
}

/**
 * A table built anew has no grants: the SELECT grants of the table it replaces are given to it
 * (a reader someone granted by hand keeps reading).
 */
async function copySelectGrants(db: Transaction<Database>, from: string, to: string): Promise<void> {
  const grants = await sql<{ grantee: string }>`
    select distinct case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee
      from pg_class c
     cross join lateral aclexplode(c.relacl) a
      left join pg_roles r on r.oid = a.grantee
     where c.oid = to_regclass(${from}) and a.grantee <> c.relowner and a.privilege_type = 'SELECT'`.execute(db);
  for (const { grantee } of grants.rows) {
    await sql`grant select on ${sql.table(to)} to ${sql.raw(grantee)}`.execute(db);
  }
}
