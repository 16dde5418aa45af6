import {
  OperationNodeTransformer,
  sql,
  TableNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RawBuilder,
  type RootOperationNode,
  type Kysely,
  type Transaction,
  type ControlledTransaction,
  type UnknownRow,
} from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Progress } from '../lib/progress.ts';
import { buildInOneProcess, sharedMemoryShortage, sharedMemoryWarning } from '../warehouse/build-session.ts';
import { permissionAdvice } from '../warehouse/ownership.ts';
import type { Database } from '../warehouse/database.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { tableSignature } from '../warehouse/table-signature.ts';
import { catalogQuery } from './catalog.ts';
import { publishedSelection, viewColumns, type ColumnsOf } from './columns.ts';
import {
  completenessBound,
  DATA_STATUS_COLUMNS,
  dataStatusQuery,
  dataStatusRows,
  incompleteStreamWarning,
  isIncomplete,
  lastCompleteDay,
  readStreamDataStatus,
  type StreamDataStatus,
} from './data-status.ts';
import { definitionProblems, dimensionDefinitions, metricDefinitions } from './definitions/index.ts';
import type { MetricDefinition } from './definition.ts';
import { metricLogs, metricViews } from './views/index.ts';
import { CUSTOMER_STATE_VIEWS, updateCustomerState } from './customer-state.ts';
import { countedShipments } from './views/counted-shipments.ts';
import { consumeInputs, fillDates, fullRefreshReason, IncrementalPlanner, shapeOf, viewSignature, type ChangedInputs, type TablePlan } from './refresh-plan.ts';
import { metricsContext, type MetricLog, type MetricsContext, type MetricView } from './view.ts';

/** The core tables the views read: a refresh before the first transform says so. */
const CORE_INPUTS = ['core.orders', 'core.customers', 'core.refunds', 'core.payments', 'core.spend', 'core.traffic', 'core.shipments'];

/** What happened to one table of the refresh. */
export interface TableRefresh {
  table: string;
  rows: number;
  /** How long it took (customer_kpis' includes bringing the customer tables' state up to date, metrics/customer-state.ts). */
  ms: number;
  /**
   * `refilled`: same columns, so its rows were replaced in place (DELETE and INSERT: readers are
   * never blocked, and one whose snapshot predates the refresh keeps seeing the old rows);
   * `created`: a new or reshaped table swapped in (DROP and RENAME, which readers wait for);
   * `incremental`: only the rows of the dates whose inputs changed were rebuilt, and replaced in
   * place like a refilled table's; `unchanged`: nothing it reads changed, so nothing was rebuilt.
   */
  mode: 'created' | 'refilled' | 'incremental' | 'unchanged';
  /** The rows the refresh deleted from the published table and inserted into it (0 and 0 when unchanged). */
  replaced: { deleted: number; inserted: number };
}

export interface MetricsRefreshResult {
  /** Every table was rebuilt and the transaction committed; else readers still see the previous set. */
  status: 'succeeded' | 'failed';
  /** The tables published, in order (none when the refresh failed and rolled back). */
  tables: TableRefresh[];
  /**
   * Why every table was rebuilt in full (asked for, a first refresh, a view's SQL changed, a core
   * model rebuilt in full …); absent when the refresh was incremental (each table's `mode` says
   * what it did).
   */
  fullRefreshReason?: string;
  /** The table that failed, its SQL and the database's message. */
  failed?: { table: string; sql?: string; error: string };
  error?: string;
  /**
   * Shipments of `core.shipments` matched to no order of the shop (no `order_id`), counted when
   * the refresh succeeded: the fulfilment metrics leave them out (DECISIONLOG.md, "Metrics").
   */
  unmatchedShipments?: number;
  /**
   * Shipments the fulfilment metrics count whose shipping cost is in no day's `shipping_cost`:
   * they have no shipped date (METRICS.md dates the cost by the day shipped), counted when the
   * refresh succeeded, with their cost in the reporting currency (text, rounded to the cent).
   */
  undatedShipments?: { count: number; cost: string };
  /** What a reader of the metrics should know about the data, one sentence each; each was logged as a warning. */
  warnings?: string[];
  /** What `metrics.data_status` was published with, when the refresh succeeded. */
  dataStatus?: {
    /** The last complete day of data (the metrics row's complete_through); null when kpi_daily is empty. */
    completeThrough: string | null;
    /** The streams as published (a stream never read completely is incomplete from the first day of the metrics). */
    streams: StreamDataStatus[];
  };
}

/**
 * The warning for shipments matched to no order: the fulfilment metrics count only shipments
 * matched to a counted order, so these are left out, and the refresh says so rather than
 * dropping them silently. Undefined when there are none.
 */
export function unmatchedShipmentsWarning(count: number): string | undefined {
  if (count <= 0) return undefined;
  const [shipments, match, are] = count === 1 ? ['shipment', 'matches', 'is'] : ['shipments', 'match', 'are'];
  return `${count} ${shipments} ${match} no order of the shop and ${are} left out of the fulfilment metrics; check the shipments source's order_id mapping`;
}

/**
 * The warning for shipments with a shipping cost and no shipped date: `shipping_cost` sums the
 * cost of the shipments shipped on each date (METRICS.md), so theirs is in no day's, nor in
 * `logistics_cost_per_order` or `contribution_profit`; the refresh says so rather than leaving
 * it out silently. A 3PL export without a ship-date column is the usual cause. Undefined when
 * there are none.
 */
export function undatedShipmentsWarning(count: number, cost: string, currency: string): string | undefined {
  if (count <= 0) return undefined;
  const [shipments, are] = count === 1 ? ['shipment', 'is'] : ['shipments', 'are'];
  return `${count} ${shipments} without a shipped date, ${cost} ${currency} of shipping cost, ${are} in no day's shipping_cost: give the file a shipped date column (docs/sources/shipments.md)`;
}

/**
 * The shipments the fulfilment metrics count (matched to a counted order) that have a shipping
 * cost and no shipped date, and that cost in the reporting currency, rounded to the cent.
 */
async function countUndatedShipments(db: Transaction<Database>): Promise<{ count: number; cost: string }> {
  const res = await sql<{ n: number; cost: string }>`
    select count(*)::int as n, round(coalesce(sum(s.shipping_cost_rc), 0), 2)::text as cost
      from (${countedShipments(db)}) s
     where s.shipped_date is null and s.shipping_cost_rc <> 0`.execute(db);
  return { count: res.rows[0]?.n ?? 0, cost: res.rows[0]?.cost ?? '0.00' };
}

/** Shipments with no order: `core.shipments` rows whose `order_id` the transforms could not match. */
async function countUnmatchedShipments(db: Transaction<Database>): Promise<number> {
  const res = await sql<{ n: number }>`select count(*)::int as n from core.shipments where order_id is null`.execute(db);
  return res.rows[0]?.n ?? 0;
}

export interface RefreshOptions {
  /** Only these views (and the catalogue); default all. Views they read must already exist. */
  views?: readonly MetricView[];
  /** The refresh's clock: yesterday is not complete before it is over, and freshness is measured from it. */
  now?: Date;
  /** Told after each table is built (step `metrics`). */
  progress?: Progress;
  /**
   * The metrics to publish; default every definition of `metrics/definitions/`. The time-grain
   * tables, their columns and the catalogue all follow this list (a test publishes an example
   * measure this way without adding it to the real tables).
   */
  definitions?: readonly MetricDefinition[];
  /**
   * Rebuild every table in full, whatever changed (`verite metrics refresh --full`, `verite run
   * --full`). By default the refresh is incremental: it rebuilds only what the transform's
   * replacements in core can move (docs/scale.md, "Metric tables: only the changed dates and periods").
   */
  full?: boolean;
  /**
   * Refresh inside this transaction (a savepoint of it) rather than in one of its own: the CLV
   * fit publishes its predictions and the views read from them in one commit. The caller holds
   * the refresh's lock already (taken before anything else, as the refresh takes it), commits,
   * and gives the tables fresh statistics after its commit ({@link analyzeRefreshed}).
   */
  within?: ControlledTransaction<Database>;
  /** Called in the refresh's transaction just before it commits (a run records there that its refresh was published). */
  beforeCommit?: (trx: Kysely<Database>) => Promise<void>;
}

/**
 * Brings every table of schema `metrics` (the views of docs/metrics.md and `metrics.catalog`)
 * up to date from `core.*` in ONE transaction, in two phases, so readers see the previous
 * complete set until the commit, then the new one, never a mix, and are not held up by the build.
 *
 * Incremental by default (docs/scale.md, "Metric tables: only the changed dates and periods"):
 * it takes what the transform replaced out of `ops.metric_inputs_changed` and rebuilds only the
 * rows that can move (metrics/refresh-plan.ts), each table for some dates, in full, or not at
 * all; every table in full with `full`, on a first refresh, or when a view changed (the result's
 * `fullRefreshReason` says why). `customer_kpis` and `cohort_monthly` are read from a state kept
 * customer by customer (metrics/customer-state.ts), brought up to date first, in the same
 * transaction, from the customers the transform replaced.
 *
 * 1. Build: every table rebuilt is computed into `metrics.<name>__new` (only the rows of its
 *    dates, for a table rebuilt for some dates; a view reading another metric table reads what
 *    it will be). Nothing a reader reads is touched or locked.
 * 2. Swap, at the end: a table rebuilt for some dates has its rows of those dates deleted and the
 *    new ones inserted. A table rebuilt in full whose columns are unchanged has its rows replaced in place
 *    (DELETE, then INSERT from `__new`): MVCC-safe, so no reader waits and a reader whose
 *    snapshot predates the swap still sees every old row; grants, comments and views built on
 *    it by others survive. A new or reshaped table (a verite upgrade) is swapped in by DROP and
 *    RENAME instead, keeping the SELECT grants of the table it replaces (the BI role's default
 *    privileges cover it too); readers wait for that one until the commit.
 *
 * Before building, it reads how far each source stream is complete (ops.stream_state and the
 * last reads in ops.stream_runs): that bounds the last complete day of data, which the period
 * views' `is_complete` compare with. The view `metrics.data_status` is published with the
 * tables, and a stream whose last read failed is named in a warning: the metrics are still
 * published from what was landed, and say from which day it is incomplete.
 *
 * Then it counts the shipments matched to no order, which every fulfilment metric leaves out,
 * and warns when there are any (`unmatchedShipments`, `warnings`); and likewise the counted
 * shipments with a shipping cost and no shipped date, whose cost is in no day's `shipping_cost`
 * (`undatedShipments`).
 *
 * Returns a result per table; never throws for a database error.
 */
export async function refreshMetrics(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, log?: Logger, options: RefreshOptions = {}): Promise<MetricsRefreshResult> {
  const result = await refreshOnce(warehouse, config, log, options, false);
  if (result.status !== 'failed' || !sharedMemoryShortage({ message: result.failed?.error })) return result;
  // The server's shared memory cannot hold parallel workers (a container's 64 MB /dev/shm): the
  // whole refresh again, its transaction rolled back, with every statement in one process. The
  // warning is logged, as the refresh's others are, and returned with them.
  const warning = sharedMemoryWarning('refresh', result.failed!.table, { message: result.failed!.error });
  log?.warn({ table: result.failed?.table }, warning);
  const again = await refreshOnce(warehouse, config, log, options, true);
  if (again.status === 'failed') return again;
  return { ...again, warnings: [warning, ...(again.warnings ?? [])] };
}

async function refreshOnce(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, log: Logger | undefined, options: RefreshOptions, oneProcess: boolean): Promise<MetricsRefreshResult> {
  const definitions = options.definitions ?? metricDefinitions;
  const problems = definitionProblems([...dimensionDefinitions, ...definitions]);
  if (problems.length) return { status: 'failed', tables: [], error: `the metric definitions are inconsistent: ${problems.join('; ')}` };
  const now = options.now ?? new Date();
  // Some views only (the CLV fit's): those rebuilt in full, the queue of changes left to the next whole refresh.
  const partial = options.views !== undefined;
  const views = options.views ?? metricViews;
  const planned: Planned[] = [];
  let current = '';
  let currentSql: string | undefined;
  const { trx, commit, rollback } = await openTransaction(warehouse, options.within);
  try {
    // Timestamps without an offset mean UTC, whatever the server's setting; one refresh at a time.
    await sql`set local timezone = 'UTC'`.execute(trx);
    if (oneProcess) await buildInOneProcess(trx);
    await lockRefreshes(trx);
    const missing = await missingTables(trx, CORE_INPUTS);
    if (missing.length) {
      await rollback();
      const error = `${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist yet: run \`verite transform\` (or \`verite run\`) first`;
      return { status: 'failed', tables: [], error };
    }
    current = 'ops.stream_runs';
    const streams = await readStreamDataStatus(trx, config, now);
    const ctx = metricsContext(config, completenessBound(streams, config, now), definitions);
    const tableQuery = (db: Kysely<Database>, view: MetricView, c: MetricsContext) => sql`select ${publishedSelection(view, 'b', definitions)} from (${view.build(db, c)}) as b`;
    const catalog = catalogQuery(definitions);
    // What changed since the last refresh, and whether the tables can be brought up to date from it.
    let inputs: ChangedInputs | null = null;
    let fullReason: string | undefined = 'only some tables were asked for';
    const signatures = new Map<string, string>();
    if (!partial) {
      current = 'ops.metric_inputs_changed';
      inputs = await consumeInputs(trx);
      // The signature ignores the clock: is_complete's bound is not part of a view's definition.
      const fixed = { ...ctx, completeness: { bound: '2000-01-01', nothingComplete: false } };
      for (const view of views) {
        // A view whose SQL cannot be generated fails here, under its own name.
        current = `metrics.${view.name}`;
        signatures.set(view.name, viewSignature(tableQuery(trx, view, fixed).compile(trx), ctx));
      }
      current = 'metrics.catalog';
      signatures.set('catalog', viewSignature(catalog.compile(trx), ctx));
      current = 'ops.model_builds';
      fullReason = options.full ? 'a full refresh was asked for' : await fullRefreshReason(trx, signatures, inputs);
    }
    const planner = fullReason === undefined && inputs ? new IncrementalPlanner(trx, inputs, ctx) : null;
    // The state the customer tables are read from, brought up to date first (a refresh of some
    // views only reads the queue without taking it: the state's update is idempotent).
    let stateMs = 0;
    if (views.some((v) => CUSTOMER_STATE_VIEWS.includes(v.name))) {
      current = 'ops.customer_metric_events';
      const changes = partial ? await consumeInputs(trx, { consume: false }) : inputs;
      const state = await updateCustomerState(trx, ctx, fullReason !== undefined && !partial ? null : changes);
      stateMs = state.ms;
      log?.debug({ ...state }, 'customer metrics state brought up to date');
    }
    // Phase 1: build. A view reading a table of this refresh (kpi_weekly reads kpi_daily) reads what was just built.
    const reads = new Map<string, TableNode>();
    const builder = trx.withPlugin(readBuiltTables(reads));
    for (const view of views) {
      current = `metrics.${view.name}`;
      currentSql = undefined;
      const plan: TablePlan = planner ? await planner.plan(view, CUSTOMER_STATE_VIEWS.includes(view.name) ? tableQuery(builder, view, ctx) : undefined) : { how: 'full' };
      if (plan.how === 'unchanged') {
        planned.push({ name: view.name, plan });
        continue;
      }
      const only = plan.how === 'dates' ? await fillDates(trx, view.name, plan.dates) : undefined;
      const viewCtx: MetricsContext = only && plan.how === 'dates' ? { ...ctx, only: { table: only, first: plan.first, last: plan.last } } : ctx;
      const query = tableQuery(builder, view, viewCtx);
      currentSql = query.compile(builder).sql;
      const built = await build(trx, view.name, query, { indexes: view.indexes, comment: view.grain, columns: columnComments(view, definitions) });
      // A table rebuilt in full that a later view looks rows up in (inventory_daily's 28 days of product_daily) gets its indexes before it is read.
      if (!only && laterReads(views, view, builder, ctx)) await indexBuilding(trx, built);
      if (only) {
        // The table as it will be: its rows of other dates, and those just built.
        await sql`create temporary view ${sql.id(`${view.name}__merged`)} as
          select * from ${sql.table(`metrics.${view.name}`)} t where not exists (select 1 from ${sql.table(only)} o where o.date = t.date)
          union all select * from ${sql.table(`metrics.${view.name}__new`)}`.execute(trx);
        reads.set(view.name, TableNode.createWithSchema('pg_temp', `${view.name}__merged`));
      } else {
        reads.set(view.name, TableNode.createWithSchema('metrics', `${view.name}__new`));
      }
      planned.push({ name: view.name, plan, built, only });
      options.progress?.update('metrics', `metrics: ${planned.length}/${views.length + 1} tables built (${current})`, { built: planned.length, of: views.length + 1, table: current });
    }
    current = 'metrics.catalog';
    // The catalogue follows the definitions only: their signature says when it changed.
    if (planner) planned.push({ name: 'catalog', plan: { how: 'unchanged' } });
    else {
      currentSql = catalog.compile(trx).sql;
      planned.push({
        name: 'catalog',
        plan: { how: 'full' },
        built: await build(trx, 'catalog', catalog, {
          indexes: [{ columns: ['metric'], unique: true }],
          comment: 'The data dictionary: one row per published metric, generated from the metric definitions.',
          columns: {},
        }),
      });
    }
    current = 'metrics.data_status';
    const bounds = await builder
      .selectFrom('metrics.kpi_daily')
      .select([sql<string | null>`(${lastCompleteDay(builder, ctx.completeness)})`.as('complete'), sql<string | null>`min(date)`.as('first'), sql<string | null>`max(date)`.as('last')])
      .executeTakeFirstOrThrow();
    const statusRows = dataStatusRows(streams, {
      refreshedAt: now,
      freshnessLimitHours: config.freshnessHours,
      newestDataDate: bounds.last,
      firstDataDate: bounds.first,
      completeThrough: bounds.complete,
    });
    const statusQuery = dataStatusQuery(statusRows);
    currentSql = statusQuery.compile(trx).sql;
    await buildView(trx, DATA_STATUS, statusQuery);
    // Read in the refresh's transaction, from the core.shipments the views were just built from.
    current = 'core.shipments';
    currentSql = undefined;
    const unmatchedShipments = await countUnmatchedShipments(trx);
    const undatedShipments = await countUndatedShipments(trx);
    // Phase 2: swap, then commit at once.
    for (const p of planned) if (p.only) await sql`drop view ${sql.id(`${p.name}__merged`)}`.execute(trx);
    const tables: TableRefresh[] = [];
    for (const p of planned) {
      current = `metrics.${p.name}`;
      currentSql = undefined;
      if (!p.built) tables.push(await unchanged(trx, p.name));
      else if (p.only) tables.push(await replaceDates(trx, p.built, p.only));
      else tables.push(await swap(trx, p.built));
    }
    // The state's update is part of the customer tables' cost: counted in the first one's time.
    const first = tables.find((t) => CUSTOMER_STATE_VIEWS.includes(t.table.replace('metrics.', '')));
    if (first) first.ms += stateMs;
    current = 'metrics.data_status';
    await publishView(trx, DATA_STATUS, statusQuery, {
      comment: 'How fresh and how complete the data behind the metrics is: one row per source stream, and one for the metrics (metrics.refresh). is_fresh is worked out when read.',
      columns: Object.fromEntries(DATA_STATUS_COLUMNS.map(([column, , text]) => [column, text])),
    });
    // The tables written outside the refresh (clv_model) get their comments from the definitions too.
    for (const log of metricLogs) {
      current = `metrics.${log.name}`;
      await describeLog(trx, log);
    }
    if (inputs) {
      current = 'ops.model_builds';
      await recordRefresh(trx, signatures, inputs, fullReason === undefined);
    }
    await options.beforeCommit?.(trx);
    await commit();
    for (const t of tables) log?.debug({ table: t.table, rows: t.rows, mode: t.mode, ...t.replaced }, 'metric table refreshed');
    if (fullReason !== undefined && !partial) log?.info({ reason: fullReason }, 'metrics refreshed in full');
    const warnings: string[] = [];
    const published = statusRows.slice(1);
    for (const s of published.filter(isIncomplete)) {
      const warning = incompleteStreamWarning(s, bounds.complete);
      warnings.push(warning);
      log?.warn({ source: s.source, stream: s.stream, lastRunStatus: s.lastRunStatus, incompleteFrom: s.incompleteFrom }, warning);
    }
    const unmatched = unmatchedShipmentsWarning(unmatchedShipments);
    if (unmatched) {
      warnings.push(unmatched);
      log?.warn({ unmatchedShipments }, unmatched);
    }
    const undated = undatedShipmentsWarning(undatedShipments.count, undatedShipments.cost, config.reportingCurrency);
    if (undated) {
      warnings.push(undated);
      log?.warn({ undatedShipments: undatedShipments.count, undatedShippingCost: undatedShipments.cost }, undated);
    }
    // Tables rebuilt in full get fresh statistics (in a caller's transaction, once it commits: another session's ANALYZE would wait for it).
    if (!options.within) await analyzeRefreshed(warehouse, tables, log);
    return {
      status: 'succeeded',
      tables,
      ...(fullReason === undefined ? {} : { fullRefreshReason: fullReason }),
      unmatchedShipments,
      undatedShipments,
      warnings,
      dataStatus: { completeThrough: bounds.complete, streams: published },
    };
  } catch (error) {
    await rollback().catch(() => undefined);
    // A table another login built, which this one may not replace: who owns it and what to do.
    const advice = await permissionAdvice(warehouse.db, error).catch(() => null);
    const message = `${errorMessage(error)}${advice ? `: ${advice}` : ''}`;
    log?.error({ table: current, err: message }, 'metrics refresh failed; the previous metric tables are kept');
    return { status: 'failed', tables: [], failed: { table: current, sql: currentSql, error: message }, error: `${current}: ${message}` };
  }
}

/**
 * The key of the advisory lock that keeps metrics refreshes one at a time (`hashtext` of it,
 * transaction-level). The CLV fit takes it too, after its own and before it reads anything, for
 * the refresh it makes in its transaction: both take it before any table lock, so neither can
 * hold a table the other waits for while it waits for the lock.
 */
export const METRICS_REFRESH_LOCK = 'verite.metrics.refresh';

/** Waits for the refresh's lock, held until the transaction ends. */
export async function lockRefreshes(trx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${METRICS_REFRESH_LOCK}))`.execute(trx);
}

/**
 * The refresh's transaction: its own, or a savepoint of the caller's (`within`), which its
 * failure rolls back to, leaving the caller's transaction usable.
 */
async function openTransaction(
  warehouse: Pick<Warehouse, 'db'>,
  within: ControlledTransaction<Database> | undefined,
): Promise<{ trx: ControlledTransaction<Database, string[]>; commit: () => Promise<void>; rollback: () => Promise<void> }> {
  if (!within) {
    const trx = await warehouse.db.startTransaction().execute();
    return { trx, commit: () => trx.commit().execute(), rollback: () => trx.rollback().execute() };
  }
  const trx = await within.savepoint('metrics_refresh').execute();
  return {
    trx,
    commit: () => trx.releaseSavepoint('metrics_refresh').execute().then(() => undefined),
    rollback: async () => {
      await trx.rollbackToSavepoint('metrics_refresh').execute();
      await trx.releaseSavepoint('metrics_refresh').execute();
    },
  };
}

/** A table of the refresh: what was planned for it and, unless it is unchanged, what was built. */
interface Planned {
  name: string;
  plan: TablePlan;
  built?: Built;
  /** The temporary table of the dates it was rebuilt for, when only some were. */
  only?: string;
}

/**
 * Records, in the refresh's transaction, each table's signature (its SQL and its columns as
 * published) and the last change consumed, so the next refresh knows what it can build on.
 */
async function recordRefresh(db: Transaction<Database>, signatures: ReadonlyMap<string, string>, inputs: ChangedInputs, incremental: boolean): Promise<void> {
  for (const [name, signature] of signatures) {
    const recorded = `${signature}:${await shapeOf(db, `metrics.${name}`)}`;
    await sql`
      insert into ops.model_builds (model, through_change_id, signature, built_at, last_full_at)
      values (${`metrics.${name}`}, coalesce(${inputs.throughId}::bigint, 0), ${recorded}, now(), now())
      on conflict (model) do update set
        through_change_id = coalesce(${inputs.throughId}::bigint, ops.model_builds.through_change_id),
        signature = excluded.signature,
        built_at = now(),
        last_full_at = case when ${incremental} then ops.model_builds.last_full_at else now() end`.execute(db);
  }
}

/** A table nothing of which was rebuilt: its row count, for the result. */
async function unchanged(db: Transaction<Database>, name: string): Promise<TableRefresh> {
  const count = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`metrics.${name}`)}`.execute(db);
  return { table: `metrics.${name}`, rows: count.rows[0]?.n ?? 0, ms: 0, mode: 'unchanged', replaced: { deleted: 0, inserted: 0 } };
}

/**
 * Phase 2 of a table rebuilt for some dates: its rows of those dates deleted and the rows built
 * inserted, in place (MVCC-safe, as a refilled table's), then `__new` dropped.
 */
async function replaceDates(db: Transaction<Database>, table: Built, only: string): Promise<TableRefresh> {
  const started = Date.now();
  const target = `metrics.${table.name}`;
  const building = `metrics.${table.name}__new`;
  const deleted = await sql`delete from ${sql.table(target)} t where t.date in (select date from ${sql.table(only)})`.execute(db);
  await sql`insert into ${sql.table(target)} select * from ${sql.table(building)}`.execute(db);
  await sql`drop table ${sql.table(building)}`.execute(db);
  const count = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(target)}`.execute(db);
  return {
    table: target,
    rows: count.rows[0]?.n ?? 0,
    ms: table.ms + (Date.now() - started),
    mode: 'incremental',
    replaced: { deleted: Number(deleted.numAffectedRows ?? 0n), inserted: table.rows },
  };
}

/**
 * A plugin that points every reference to `metrics.<name>` of a table being rebuilt at what it
 * will be: `metrics.<name>__new` for a table rebuilt in full, the temporary view
 * `<name>__merged` (its other rows and those rebuilt) for one rebuilt for some dates. So a view
 * built from another metric table (kpi_weekly from kpi_daily) reads the new rows while the
 * published table is left alone.
 */
function readBuiltTables(reads: ReadonlyMap<string, TableNode>): KyselyPlugin {
  class Transformer extends OperationNodeTransformer {
    protected override transformTable(node: TableNode, queryId?: QueryId): TableNode {
      const { schema, identifier } = node.table;
      const read = schema?.name === 'metrics' ? reads.get(identifier.name) : undefined;
      if (read) return read;
      return super.transformTable(node, queryId);
    }
  }
  const transformer = new Transformer();
  return {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => transformer.transformNode(args.node, args.queryId),
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => args.result,
  };
}

function columnComments(
  view: ColumnsOf,
  definitions: readonly MetricDefinition[] = metricDefinitions,
): Record<string, string> {
  return Object.fromEntries(
    viewColumns(view, definitions).map((e) => [e.column, e.kind === 'metric' ? `${e.label}: ${e.description} Formula: ${e.formula}` : `${e.label}: ${e.description}`]),
  );
}

/** The table and column comments of a table the refresh does not build, from the definitions. */
async function describeLog(db: Transaction<Database>, log: MetricLog): Promise<void> {
  const table = `metrics.${log.name}`;
  await sql`comment on table ${sql.table(table)} is ${sql.lit(log.grain)}`.execute(db);
  for (const [column, text] of Object.entries(columnComments(log))) {
    await sql`comment on column ${sql.table(table)}.${sql.id(column)} is ${sql.lit(text)}`.execute(db);
  }
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

/** A table built under `metrics.<name>__new`, not yet published. */
interface Built extends PublishOptions {
  name: string;
  rows: number;
  /** How long the build took. */
  ms: number;
}

/** Phase 1: builds `metrics.<name>__new` from `query`. It takes no lock on `metrics.<name>`. */
async function build(db: Transaction<Database>, name: string, query: RawBuilder<unknown>, options: PublishOptions): Promise<Built> {
  const started = Date.now();
  const building = `metrics.${name}__new`;
  await sql`drop table if exists ${sql.table(building)}`.execute(db);
  await sql`create table ${sql.table(building)} as ${query}`.execute(db);
  const count = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(building)}`.execute(db);
  return { name, rows: count.rows[0]?.n ?? 0, ms: Date.now() - started, ...options };
}

/** Whether a view after `view` reads it (its compiled SQL names `metrics.<name>`). */
function laterReads(views: readonly MetricView[], view: MetricView, db: Kysely<Database>, ctx: MetricsContext): boolean {
  const later = views.slice(views.indexOf(view) + 1);
  const name = `"metrics"."${view.name}"`;
  return later.some((v) => v.build(db.withoutPlugins(), ctx).compile().sql.includes(name));
}

/** The indexes of a view on its `__new` table (named apart from the published table's), and fresh statistics. */
async function indexBuilding(db: Transaction<Database>, table: Built): Promise<void> {
  const building = `metrics.${table.name}__new`;
  for (const [i, index] of table.indexes.entries()) {
    await sql`create index ${sql.id(`${table.name}__new_${i}`)} on ${sql.table(building)} (${sql.join(index.columns.map((c) => sql.id(c)))})`.execute(db);
  }
  await sql`analyze ${sql.table(building)}`.execute(db);
}

/** Phase 2: publishes a built table as `metrics.<name>` (see refreshMetrics for the two modes). */
async function swap(db: Transaction<Database>, table: Built): Promise<TableRefresh> {
  const started = Date.now();
  const target = `metrics.${table.name}`;
  const building = `metrics.${table.name}__new`;
  const before = await tableSignature(db, target);
  let mode: TableRefresh['mode'];
  let deleted = 0;
  if (before !== '' && before === (await tableSignature(db, building))) {
    // Not TRUNCATE: it is not MVCC-safe and would make readers wait for the commit.
    deleted = Number((await sql`delete from ${sql.table(target)}`.execute(db)).numAffectedRows ?? 0n);
    await sql`insert into ${sql.table(target)} select * from ${sql.table(building)}`.execute(db);
    await sql`drop table ${sql.table(building)}`.execute(db);
    mode = 'refilled';
  } else {
    if (before !== '') {
      await copySelectGrants(db, target, building);
      await sql`drop table ${sql.table(target)}`.execute(db);
    }
    // The indexes the build may have given it: the published table gets its own below.
    for (const i of table.indexes.keys()) await sql`drop index if exists ${sql.table(`metrics.${table.name}__new_${i}`)}`.execute(db);
    await sql`alter table ${sql.table(building)} rename to ${sql.id(table.name)}`.execute(db);
    mode = 'created';
  }
  const existing = await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = 'metrics' and tablename = ${table.name}`.execute(db);
  for (const index of table.indexes) {
    const indexName = `${table.name}_${index.columns.join('_')}`;
    if (existing.rows.some((r) => r.name === indexName)) continue;
    const columns = sql.join(index.columns.map((c) => sql.id(c)));
    await (index.unique
      ? sql`create unique index ${sql.id(indexName)} on ${sql.table(target)} (${columns})`
      : sql`create index ${sql.id(indexName)} on ${sql.table(target)} (${columns})`
    ).execute(db);
  }
  await sql`comment on table ${sql.table(target)} is ${sql.lit(table.comment)}`.execute(db);
  for (const [column, text] of Object.entries(table.columns)) {
    await sql`comment on column ${sql.table(target)}.${sql.id(column)} is ${sql.lit(text)}`.execute(db);
  }
  return { table: target, rows: table.rows, ms: table.ms + (Date.now() - started), mode, replaced: { deleted, inserted: table.rows } };
}

/**
 * Fresh planner statistics for the tables a refresh rebuilt in full, after its commit (it blocks
 * no reader); a few rows replaced by date are left to autovacuum.
 */
export async function analyzeRefreshed(warehouse: Pick<Warehouse, 'db'>, refreshed: readonly TableRefresh[], log?: Logger): Promise<void> {
  const tables = refreshed.filter((t) => t.mode === 'refilled' || t.mode === 'created');
  for (const t of tables) {
    await sql`analyze ${sql.table(t.table)}`.execute(warehouse.db).catch((error: unknown) => log?.warn({ table: t.table, err: errorMessage(error) }, 'analyze failed'));
  }
}

/** The status view, published with the tables (it reads none of them: its rows are written into it). */
const DATA_STATUS = 'data_status';

/** Builds `metrics.<name>__new` as a view of `query`. */
async function buildView(db: Transaction<Database>, name: string, query: RawBuilder<unknown>): Promise<void> {
  const building = `metrics.${name}__new`;
  await sql`drop view if exists ${sql.table(building)}`.execute(db);
  await sql`create view ${sql.table(building)} as ${query}`.execute(db);
}

/**
 * Publishes a view built by {@link buildView}: replaced in place when its columns are unchanged
 * (CREATE OR REPLACE keeps its grants and the views others built on it), else swapped in by
 * DROP and RENAME with the SELECT grants of the one it replaces, like a reshaped table.
 */
async function publishView(db: Transaction<Database>, name: string, query: RawBuilder<unknown>, options: Omit<PublishOptions, 'indexes'>): Promise<void> {
  const target = `metrics.${name}`;
  const building = `metrics.${name}__new`;
  const before = await tableSignature(db, target);
  if (before !== '' && before === (await tableSignature(db, building))) {
    await sql`create or replace view ${sql.table(target)} as ${query}`.execute(db);
    await sql`drop view ${sql.table(building)}`.execute(db);
  } else {
    if (before !== '') {
      await copySelectGrants(db, target, building);
      const kind = await sql<{ relkind: string }>`select relkind::text from pg_class where oid = to_regclass(${target})`.execute(db);
      await (kind.rows[0]?.relkind === 'v' ? sql`drop view ${sql.table(target)}` : sql`drop table ${sql.table(target)}`).execute(db);
    }
    await sql`alter view ${sql.table(building)} rename to ${sql.id(name)}`.execute(db);
  }
  await sql`comment on view ${sql.table(target)} is ${sql.lit(options.comment)}`.execute(db);
  for (const [column, text] of Object.entries(options.columns)) {
    await sql`comment on column ${sql.table(target)}.${sql.id(column)} is ${sql.lit(text)}`.execute(db);
  }
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
