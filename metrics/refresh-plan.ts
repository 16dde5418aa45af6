import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { addDays } from '../lib/dates.ts';
import type { Database } from '../warehouse/database.ts';
import { tableSignature } from '../warehouse/table-signature.ts';
import type { MetricsContext, MetricView } from './view.ts';

/**
 * How the metrics refresh brings each table up to date (docs/scale.md, "Metric tables: only the
 * changed dates and periods"): from what the transform says it replaced in core
 * (`ops.metric_inputs_changed`), each table is rebuilt in full, left unchanged, or rebuilt for
 * some dates only (its rows of those dates deleted and inserted again).
 */

/** What the refresh does to one table. */
export type TablePlan =
  | { how: 'full' }
  | { how: 'unchanged' }
  /** Its rows of these dates (the `date` column) are rebuilt; `first` and `last` bound an every-day table. */
  | { how: 'dates'; dates: string[]; first?: string | null; last?: string | null };

/** What the transform replaced since the last refresh, per core model. */
export interface ChangedInputs {
  /** The last `ops.metric_inputs_changed` id consumed; null when there was none. */
  throughId: string | null;
  models: Map<string, { dates: string[]; customers: number; customerKeys: string[]; everything: boolean }>;
}

/**
 * Takes every row of `ops.metric_inputs_changed` out of the queue, in the refresh's transaction:
 * exactly the rows read are deleted (a transform committing meanwhile leaves its rows for the
 * next refresh), and a refresh that fails rolls back and leaves them all. With `consume: false`
 * (a refresh of some views only) the rows are read and left for the next whole refresh.
 */
export async function consumeInputs(db: Kysely<Database>, options: { consume?: boolean } = {}): Promise<ChangedInputs> {
  const rows =
    options.consume === false
      ? sql`select id, model, date, customer_key, everything from ops.metric_inputs_changed`
      : sql`delete from ops.metric_inputs_changed returning id, model, date, customer_key, everything`;
  const res = await sql<{ model: string; everything: boolean; dates: string[] | null; customers: number; keys: string[] | null; through: string }>`
    with consumed as (${rows})
    select model, bool_or(everything) as everything, array_agg(distinct date::text) filter (where date is not null) as dates,
           count(customer_key)::int as customers, array_agg(distinct customer_key) filter (where customer_key is not null) as keys, max(id)::text as through
      from consumed group by model`.execute(db);
  const models = new Map(res.rows.map((r) => [r.model, { dates: r.dates ?? [], customers: r.customers, customerKeys: r.keys ?? [], everything: r.everything }]));
  const ids = res.rows.map((r) => BigInt(r.through));
  return { throughId: ids.length ? ids.reduce((a, b) => (a > b ? a : b)).toString() : null, models };
}

/** The models whose `everything` only moves the product tables (they read the names and types of variants). */
const PRODUCT_MODELS = ['core.products', 'core.product_variants'];
/** The models whose dates are not the dates of fact rows (a customer's first and last order dates are its orders'). */
const NOT_DAY_MODELS = ['core.customers', ...PRODUCT_MODELS];

/**
 * How each table is rebuilt when only some inputs changed. A table not listed is rebuilt in full
 * whenever anything changed.
 *
 * - `every-day` (kpi_daily): the changed dates, and the days its first or last day moved over.
 * - `days`: the changed dates (a row per date and channel or variant; a date with no data left loses its rows).
 * - `reconciliation`: kpi_daily's dates, and the order dates of the orders whose payments changed.
 * - `periods`: every day of the weeks or months holding kpi_daily's rebuilt dates, or whose `is_complete` moved.
 * - `trailing`: the changed dates and the `days - 1` after each (a 28-day window reads them).
 * - `when-changed`: in full when one of `inputs` changed (or, with `period`, an `is_complete` moved), else unchanged.
 * - `compared`: a table read from a small state kept up to date by customer (metrics/customer-state.ts),
 *   so cheap to compute whole: it is computed, and the dates whose rows differ from the published
 *   ones (as text: 1.5 and 1.50 differ) are rebuilt. A table so planned is exactly what a full
 *   refresh gives, whatever moved it: a customer's orders, the spend, the clock (`is_complete`),
 *   the last counted order date, the CLV fit.
 */
type Strategy =
  | { kind: 'every-day' }
  | { kind: 'days'; fullOn?: readonly string[] }
  | { kind: 'reconciliation' }
  | { kind: 'periods'; period: 'week' | 'month' }
  | { kind: 'trailing'; days: number; fullOn?: readonly string[] }
  | { kind: 'when-changed'; inputs: readonly string[]; period?: 'month' }
  | { kind: 'compared' };

const STRATEGIES: Record<string, Strategy> = {
  kpi_daily: { kind: 'every-day' },
  kpi_weekly: { kind: 'periods', period: 'week' },
  kpi_monthly: { kind: 'periods', period: 'month' },
  kpi_channel_daily: { kind: 'days' },
  revenue_reconciliation_daily: { kind: 'reconciliation' },
  product_daily: { kind: 'days', fullOn: PRODUCT_MODELS },
  inventory_daily: { kind: 'trailing', days: 28, fullOn: PRODUCT_MODELS },
  customer_kpis: { kind: 'compared' },
  cohort_monthly: { kind: 'compared' },
  clv_summary: { kind: 'when-changed', inputs: ['core.customers', 'core.spend'] },
};

/** The tables a table reads: rebuilt in full, they make it rebuilt in full too. */
const READS: Record<string, readonly string[]> = {
  kpi_weekly: ['kpi_daily'],
  kpi_monthly: ['kpi_daily'],
  revenue_reconciliation_daily: ['kpi_daily'],
  inventory_daily: ['product_daily'],
};

/**
 * The signature of a view as `ops.model_builds` records it: its compiled SQL (with the reporting
 * conventions in it) and the columns it publishes. A refresh with another signature (a verite
 * upgrade, another churn window, other definitions) rebuilds every table in full.
 */
export function viewSignature(compiled: { sql: string; parameters: readonly unknown[] }, ctx: Pick<MetricsContext, 'reportingCurrency' | 'reportingTimezone' | 'churnAfterDays'>): string {
  const conventions = { tz: ctx.reportingTimezone, currency: ctx.reportingCurrency, churn: ctx.churnAfterDays };
  return createHash('sha256').update(JSON.stringify([compiled.sql, compiled.parameters, conventions])).digest('hex');
}

/** A hash of a table's columns and their types ('' when it does not exist). */
export async function shapeOf(db: Kysely<Database>, table: string): Promise<string> {
  const signature = await tableSignature(db, table);
  return signature === '' ? '' : createHash('sha256').update(signature).digest('hex').slice(0, 16);
}

/**
 * Why the refresh must rebuild every table in full, or undefined when it can bring them up to
 * date from the changes: no refresh recorded for a table, a view whose SQL changed, a table
 * missing or reshaped since, a transform that keeps no watermarks (so what it replaced is
 * unknown: a full build of core records nothing), or a core model rebuilt in full.
 */
export async function fullRefreshReason(db: Kysely<Database>, signatures: ReadonlyMap<string, string>, inputs: ChangedInputs): Promise<string | undefined> {
  const recorded = new Map(
    (await sql<{ model: string; signature: string }>`select model, signature from ops.model_builds where model like 'metrics.%'`.execute(db)).rows.map((r) => [r.model, r.signature]),
  );
  for (const [name, signature] of signatures) {
    const previous = recorded.get(`metrics.${name}`);
    if (previous === undefined) return `no previous refresh of metrics.${name} is recorded`;
    const [sqlHash, shape] = previous.split(':');
    if (sqlHash !== signature) return `the definition of metrics.${name} changed`;
    if (shape !== (await shapeOf(db, `metrics.${name}`))) return `metrics.${name} is missing or was reshaped`;
  }
  const transformRecords = await sql<{ yes: boolean }>`select exists (select 1 from ops.model_builds where model not like 'metrics.%') as yes`.execute(db);
  if (!transformRecords.rows[0]?.yes) return 'the transform keeps no watermarks (ops.model_builds), so what it replaced in core is not known';
  const rebuilt = [...inputs.models].filter(([model, m]) => m.everything && !PRODUCT_MODELS.includes(model)).map(([model]) => model);
  if (rebuilt.length) return `${rebuilt.sort().join(', ')} ${rebuilt.length === 1 ? 'was' : 'were'} rebuilt in full`;
  return undefined;
}

/** Every date from `from` to `to`, both included (none when `to` is before `from`). */
export function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  return days;
}

/** The first day of the week (Monday) or month holding `date`. */
function periodStart(period: 'week' | 'month', date: string): string {
  if (period === 'month') return `${date.slice(0, 7)}-01`;
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
  return addDays(date, -weekday);
}

/** Every day of the periods holding `dates`. */
function daysOfPeriods(period: 'week' | 'month', dates: Iterable<string>): string[] {
  const starts = new Set([...dates].map((d) => periodStart(period, d)));
  const days: string[] = [];
  for (const start of starts) {
    const end = period === 'week' ? addDays(start, 6) : addDays(periodStart('month', addDays(start, 31)), -1);
    days.push(...daysFrom(start, end));
  }
  return days;
}

const sorted = (dates: Iterable<string>) => [...new Set(dates)].sort();

/**
 * Plans the tables of an incremental refresh one by one, in build order: a table's plan may
 * depend on what was decided (and built) for the tables before it.
 */
export class IncrementalPlanner {
  /** The dates of the fact rows replaced (old and new). */
  private readonly days: string[];
  private readonly plans = new Map<string, TablePlan>();
  /** kpi_daily's first and last day after the refresh (its rows' bounds). */
  private bounds: { first: string | null; last: string | null } | undefined;

  private readonly db: Kysely<Database>;
  private readonly inputs: ChangedInputs;
  private readonly ctx: MetricsContext;
  constructor(
    db: Kysely<Database>,
    inputs: ChangedInputs,
    ctx: MetricsContext,
  ) {
    this.db = db;
    this.inputs = inputs;
    this.ctx = ctx;
    this.days = sorted([...inputs.models].filter(([model]) => !NOT_DAY_MODELS.includes(model)).flatMap(([, m]) => m.dates));
  }

  private changed(models: readonly string[]): boolean {
    return models.some((m) => this.inputs.models.has(m));
  }

  private everything(models: readonly string[]): boolean {
    return models.some((m) => this.inputs.models.get(m)?.everything === true);
  }

  /**
   * The plan of one table, given the published table and the views built before it;
   * `candidate` is the table as a full build would publish it (a `compared` table is planned from it).
   */
  async plan(view: MetricView, candidate?: RawBuilder<unknown>): Promise<TablePlan> {
    const plan = await this.decide(view, candidate);
    const normalised: TablePlan = plan.how === 'dates' && plan.dates.length === 0 ? { how: 'unchanged' } : plan;
    this.plans.set(view.name, normalised);
    return normalised;
  }

  private async decide(view: MetricView, candidate?: RawBuilder<unknown>): Promise<TablePlan> {
    if ((READS[view.name] ?? []).some((t) => this.plans.get(t)?.how === 'full')) return { how: 'full' };
    const strategy = STRATEGIES[view.name];
    if (!strategy) return this.inputs.models.size ? { how: 'full' } : { how: 'unchanged' };
    switch (strategy.kind) {
      case 'every-day':
        return this.everyDay(view);
      case 'days':
        return strategy.fullOn && this.everything(strategy.fullOn) ? { how: 'full' } : { how: 'dates', dates: this.days };
      case 'trailing':
        if (strategy.fullOn && this.everything(strategy.fullOn)) return { how: 'full' };
        return { how: 'dates', dates: sorted(this.days.flatMap((d) => daysFrom(d, addDays(d, strategy.days - 1)))) };
      case 'reconciliation':
        return { how: 'dates', dates: sorted([...this.dailyDates(), ...(await this.ordersOfChangedPayments())]) };
      case 'periods': {
        const flipped = await this.completenessMoved(view.name, strategy.period);
        return { how: 'dates', dates: sorted(daysOfPeriods(strategy.period, [...this.dailyDates(), ...flipped])) };
      }
      case 'when-changed':
        if (this.changed(strategy.inputs)) return { how: 'full' };
        if (strategy.period && (await this.completenessMoved(view.name, strategy.period)).length) return { how: 'full' };
        return { how: 'unchanged' };
      case 'compared':
        if (!candidate) throw new Error(`metrics.${view.name} is planned by comparing it with what a full build gives: the refresh must pass that query`);
        return { how: 'dates', dates: await this.differingDates(view, candidate) };
    }
  }

  /**
   * The dates on which the rows `candidate` gives differ from the published rows: a row of
   * either with no row of the same date equal to it, as text (every column, in order).
   */
  private async differingDates(view: MetricView, candidate: RawBuilder<unknown>): Promise<string[]> {
    const built = `pg_temp.metrics_candidate__${view.name}`;
    const published = sql.table(`metrics.${view.name}`);
    await sql`drop table if exists ${sql.table(built)}`.execute(this.db);
    await sql`create temporary table ${sql.id(`metrics_candidate__${view.name}`)} on commit drop as ${candidate}`.execute(this.db);
    const res = await sql<{ date: string }>`
      select c.date::text as date from ${sql.table(built)} c where not exists (select 1 from ${published} p where p.date = c.date and p::text = c::text)
      union
      select p.date::text from ${published} p where not exists (select 1 from ${sql.table(built)} c where c.date = p.date and c::text = p::text)`.execute(this.db);
    await sql`drop table ${sql.table(built)}`.execute(this.db);
    return sorted(res.rows.map((r) => r.date));
  }

  /** The dates kpi_daily rebuilds (planned first: the views built from it follow its dates). */
  private dailyDates(): string[] {
    const plan = this.plans.get('kpi_daily');
    return plan?.how === 'dates' ? plan.dates : [];
  }

  /**
   * kpi_daily has a row for every day from its first to its last day with data. It rebuilds the
   * changed dates, and every day its first or last day moved over: the days a new last day adds
   * (rows of zeros up to it), or those a lost first or last day removes. Which of the changed
   * dates still have data says where it now starts and ends; when its first or last day lost all
   * its data, the new bounds are read from the whole of its sources.
   */
  private async everyDay(view: MetricView): Promise<TablePlan> {
    if (!view.dataDates) throw new Error(`metrics.${view.name} has no dataDates: it cannot be refreshed by date`);
    const old = (
      await sql<{ first: string | null; last: string | null }>`select min(date)::text as first, max(date)::text as last from ${sql.table(`metrics.${view.name}`)}`.execute(this.db)
    ).rows[0] ?? { first: null, last: null };
    if (this.days.length === 0) {
      this.bounds = old;
      return { how: 'unchanged' };
    }
    const table = await fillDates(this.db, `${view.name}__data`, this.days);
    const withData = new Set(
      (await sql<{ date: string }>`select d.date::text as date from (${view.dataDates(this.db, { ...this.ctx, only: { table } })}) as d`.execute(this.db)).rows.map((r) => r.date),
    );
    const changed = new Set(this.days);
    const lost = (day: string | null) => day !== null && changed.has(day) && !withData.has(day);
    let first: string | null;
    let last: string | null;
    if (old.first === null || old.last === null) {
      [first, last] = withData.size ? [sorted(withData)[0]!, sorted(withData).at(-1)!] : [null, null];
    } else if (lost(old.first) || lost(old.last)) {
      const all = (await sql<{ first: string | null; last: string | null }>`select min(d.date)::text as first, max(d.date)::text as last from (${view.dataDates(this.db, this.ctx)}) as d`.execute(this.db))
        .rows[0]!;
      [first, last] = [all.first, all.last];
    } else {
      const data = sorted(withData);
      first = data.length && data[0]! < old.first ? data[0]! : old.first;
      last = data.length && data.at(-1)! > old.last ? data.at(-1)! : old.last;
    }
    const dates = new Set(this.days);
    const span = (a: string | null, b: string | null) => (a === null || b === null ? [] : daysFrom(a, b));
    if (first === null || last === null) {
      // No data left at all: every row goes.
      for (const d of span(old.first, old.last)) dates.add(d);
    } else if (old.first === null || old.last === null) {
      for (const d of span(first, last)) dates.add(d);
    } else {
      // Days gained before the old first or after the old last day, or lost the other way.
      for (const d of span(first < old.first ? first : old.first, addDays(first < old.first ? old.first : first, -1))) dates.add(d);
      for (const d of span(addDays(last < old.last ? last : old.last, 1), last < old.last ? old.last : last)) dates.add(d);
    }
    this.bounds = { first, last };
    return { how: 'dates', dates: sorted(dates), first, last };
  }

  /** The order dates of the orders of the payments dated on a changed date (orders_without_payment moves with them). */
  private async ordersOfChangedPayments(): Promise<string[]> {
    const dates = this.inputs.models.get('core.payments')?.dates ?? [];
    if (dates.length === 0) return [];
    const res = await sql<{ date: string }>`
      select distinct o.order_date::text as date
        from core.payments p join core.orders o on o.order_id = p.order_id
       where p.payment_date = any(${dates}::date[]) and o.order_date is not null`.execute(this.db);
    return res.rows.map((r) => r.date);
  }

  /**
   * The last complete day the refresh publishes (`lastCompleteDay` in data-status.ts): the
   * earliest of the bound, kpi_daily's last day and, when a failing stream was never read
   * completely, the day before its first day.
   */
  private lastCompleteDay(): string {
    const { first, last } = this.bounds ?? { first: null, last: null };
    const candidates = [this.ctx.completeness.bound, last, this.ctx.completeness.nothingComplete && first ? addDays(first, -1) : null].filter((d): d is string => d !== null);
    return sorted(candidates)[0]!;
  }

  /**
   * The period starts of a table whose published `is_complete` differs from what this refresh
   * would give it: the clock moved past a period's end, or the last complete day moved back.
   */
  private async completenessMoved(table: string, period: 'week' | 'month'): Promise<string[]> {
    const res = await sql<{ date: string }>`
      select date::text as date from ${sql.table(`metrics.${table}`)}
       where is_complete is distinct from coalesce((date + ${sql.lit(`1 ${period}`)}::interval)::date - 1 <= ${this.lastCompleteDay()}::date, false)`.execute(this.db);
    return res.rows.map((r) => r.date);
  }
}

/** A temporary table of dates (dropped at the commit or the rollback), for a view's `only`. */
export async function fillDates(db: Kysely<Database>, name: string, dates: readonly string[]): Promise<string> {
  const table = `pg_temp.metrics_only__${name}`;
  await sql`drop table if exists ${sql.table(table)}`.execute(db);
  await sql`create temporary table ${sql.id(`metrics_only__${name}`)} (date date primary key) on commit drop`.execute(db);
  await sql`insert into ${sql.table(table)} (date) select unnest(${dates as string[]}::date[])`.execute(db);
  await sql`analyze ${sql.table(table)}`.execute(db);
  return table;
}
