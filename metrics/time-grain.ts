import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../warehouse/database.ts';
import { isCompleteExpression, lastCompleteDay } from './data-status.ts';
import type { MetricDefinition, MetricViewName } from './definition.ts';
import { aggregateSql, type BaseMeasure, type SourceOfMeasure } from './measure.ts';
import { defineView, onlyDates, type MetricView, type MetricsContext } from './view.ts';

/**
 * A metric table at a time grain, as a declaration: which period a row covers and what else it
 * is grouped by. Its SELECT is generated from the base measures published in it (the metric
 * definitions whose `views` name it and that carry a `measure`), so a measure's SQL is written
 * once and a new grain is one more declaration (docs/architecture.md, "Adding a measure").
 */
export interface TimeGrain {
  readonly name: MetricViewName;
  /** What one row is (the table comment, docs/metrics.md). */
  readonly grain: string;
  /** The period a row covers. */
  readonly period: 'day' | 'week' | 'month';
  /** The columns a row is grouped by besides its date; every source it publishes a measure of must have them. */
  readonly by: readonly string[];
  /**
   * A day grain: `every-day` gives every date from the first to the last day on which any of
   * its measures has a row, a day without any as a row of zeros; `with-data` only the rows
   * (date × `by`) where some measure has rows.
   */
  readonly rows?: 'every-day' | 'with-data';
  /**
   * A week or month grain: the day grain (same `by`) whose rows its `sum` measures add up and
   * whose days it counts (`days_with_data`); `recount` measures are recomputed from their rows.
   */
  readonly rollsUpFrom?: Extract<keyof Database, `metrics.${string}`>;
  readonly leadingMetrics?: readonly string[];
  readonly indexes: MetricView['indexes'];
}

/** The columns a week or month row has after its date: how much of the period the data covers. */
export const PERIOD_COVERAGE = ['days_in_period', 'days_with_data', 'is_complete'] as const;

/** The measures a grain publishes, each with the metric it publishes, or every problem at once. */
function publishedMeasures(grain: TimeGrain, definitions: readonly MetricDefinition[]): { metric: MetricDefinition; measure: BaseMeasure }[] {
  const problems: string[] = [];
  const published: { metric: MetricDefinition; measure: BaseMeasure }[] = [];
  for (const metric of definitions.filter((m) => m.views.includes(grain.name) && !m.derivation)) {
    const measure = metric.measure;
    if (!measure) {
      problems.push(`${metric.name} has no measure`);
      continue;
    }
    const missing = grain.by.filter((c) => !measure.source.dimensions.includes(c));
    if (missing.length) problems.push(`${metric.name} reads ${measure.source.name}, which has no ${missing.join(', ')}`);
    published.push({ metric, measure });
  }
  if (problems.length) throw new Error(`${grain.name} is generated from base measures: ${problems.join('; ')}`);
  return published;
}

/** One CTE per source and date column: the measures that read the same rows on the same date are computed in one pass. */
interface Group {
  readonly name: string;
  readonly source: SourceOfMeasure;
  readonly date: string;
  readonly members: { metric: MetricDefinition; measure: BaseMeasure }[];
}

function groupsOf(measures: { metric: MetricDefinition; measure: BaseMeasure }[]): Group[] {
  const groups = new Map<string, Group>();
  for (const item of measures) {
    const name = `${item.measure.source.name}__${item.measure.date}`;
    const group = groups.get(name) ?? { name, source: item.measure.source, date: item.measure.date, members: [] };
    group.members.push(item);
    groups.set(name, group);
  }
  return [...groups.values()];
}

const list = (items: readonly RawBuilder<unknown>[]) => sql.join(items, sql`, `);
const ref = (table: string, column: string) => sql.ref(`${table}.${column}`);

/** The first day of the period a date falls in (the date itself for a day). */
function periodOf(period: TimeGrain['period'], date: RawBuilder<unknown>): RawBuilder<string> {
  return period === 'day' ? sql<string>`${date}` : sql<string>`date_trunc(${sql.lit(period)}, ${date})::date`;
}

/**
 * The SELECT of a group's CTE: its measures per period (and `by` columns) from its source's rows,
 * rows without a date left out, and only the rows of `ctx.only`'s dates when given (filtered
 * before grouping, so an incremental refresh reads only those dates' rows).
 */
function groupQuery(db: Kysely<Database>, grain: TimeGrain, group: Group, ctx: Pick<MetricsContext, 'only'>): RawBuilder<unknown> {
  const period = periodOf(grain.period, sql.ref(`r.${group.date}`));
  const by = grain.by.map((c) => ref('r', c));
  return sql`select ${list([sql`${period} as date`, ...by, ...group.members.map(({ metric, measure }) => sql`${aggregateSql(measure)} as ${sql.id(metric.column)}`)])}
    from (${group.source.rows(db)}) as r
   where ${ref('r', group.date)} is not null and ${onlyDates(ctx, ref('r', group.date))}
   group by ${list([period, ...by])}`;
}

/** The distinct dates on which a day grain's sources have rows (restricted to `ctx.only`'s dates when given). */
function dataDatesQuery(db: Kysely<Database>, grain: TimeGrain, ctx: MetricsContext): RawBuilder<{ date: string }> {
  const groups = groupsOf(publishedMeasures(grain, ctx.definitions));
  const dates = sql.join(
    groups.map((g) => sql`select ${ref('r', g.date)} as date from (${g.source.rows(db)}) as r where ${ref('r', g.date)} is not null and ${onlyDates(ctx, ref('r', g.date))}`),
    sql` union `,
  );
  return sql<{ date: string }>`select d.date from (${dates}) as d`;
}

/** `with a as (…), b as (…)`. */
function ctes(items: readonly (readonly [string, RawBuilder<unknown>])[]): RawBuilder<unknown> {
  return sql`with ${list(items.map(([name, query]) => sql`${sql.id(name)} as (${query})`))}`;
}

/** The join of a group's CTE to the row keys `k`, on the date and the `by` columns. */
function joinOn(grain: TimeGrain, group: string, keys: string): RawBuilder<unknown> {
  return sql.join(
    ['date', ...grain.by].map((c) => sql`${ref(group, c)} = ${ref(keys, c)}`),
    sql` and `,
  );
}

/** A day grain: every measure from its rows, each row a date (× `by`), measures without rows 0. */
function dayQuery(db: Kysely<Database>, grain: TimeGrain, ctx: MetricsContext): RawBuilder<unknown> {
  const groups = groupsOf(publishedMeasures(grain, ctx.definitions));
  if (groups.length === 0) throw new Error(`${grain.name} publishes no base measure`);
  const keyColumns = ['date', ...grain.by];
  const keyList = (table: string) => list(keyColumns.map((c) => ref(table, c)));
  const withs: [string, RawBuilder<unknown>][] = groups.map((g) => [g.name, groupQuery(db, grain, g, ctx)]);
  if (grain.rows === 'every-day' && ctx.only) {
    if (grain.by.length) throw new Error(`${grain.name}: a row for every day is only generated for a grain by date alone`);
    // Rebuilding some days: those of them between the table's first and last day (the refresh worked those out).
    const { table, first, last } = ctx.only;
    const within = first && last ? sql`date between ${sql.lit(first)}::date and ${sql.lit(last)}::date` : sql`false`;
    withs.push(['keys', sql`select date from ${sql.table(table)} where ${within}`]);
  } else if (grain.rows === 'every-day') {
    if (grain.by.length) throw new Error(`${grain.name}: a row for every day is only generated for a grain by date alone`);
    const dates = sql.join(
      groups.map((g) => sql`select date from ${sql.id(g.name)}`),
      sql` union all `,
    );
    withs.push(['bounds', sql`select min(d.date) as first_date, max(d.date) as last_date from (${dates}) as d`]);
    withs.push([
      'keys',
      sql`select gs::date as date from bounds, generate_series(bounds.first_date::timestamp, bounds.last_date::timestamp, interval '1 day') as gs`,
    ]);
  } else {
    withs.push(['keys', sql.join(groups.map((g) => sql`select ${keyList(g.name)} from ${sql.id(g.name)}`), sql` union `)]);
  }
  // A snapshot (`last`) has no value on a day without rows: NULL, not 0.
  const values = groups.flatMap((g) =>
    g.members.map(({ metric, measure }) =>
      measure.rollUp === 'last' ? sql`${ref(g.name, metric.column)} as ${sql.id(metric.column)}` : sql`coalesce(${ref(g.name, metric.column)}, 0) as ${sql.id(metric.column)}`,
    ),
  );
  const joins = groups.map((g) => sql`left join ${sql.id(g.name)} on ${joinOn(grain, g.name, 'k')}`);
  return sql`${ctes(withs)}
    select ${list([...keyColumns.map((c) => ref('k', c)), ...values])}
      from keys as k ${sql.join(joins, sql` `)}`;
}

/**
 * A week or month grain: the `sum` measures added up over the day grain's rows of the period,
 * the `recount` measures recomputed from their rows over the whole period, every ratio
 * recomputed from those by the refresh, never averaged. Each row says how many of its days the
 * day grain covers and whether the period is complete (its last day is on or before the last
 * complete day of data), so a period still in progress does not read as a collapse.
 */
function periodQuery(db: Kysely<Database>, grain: TimeGrain, ctx: MetricsContext): RawBuilder<unknown> {
  const from = grain.rollsUpFrom;
  if (!from) throw new Error(`${grain.name}: a ${grain.period} grain rolls up from a day grain (rollsUpFrom)`);
  const published = publishedMeasures(grain, ctx.definitions);
  const summed = published.filter(({ measure }) => measure.rollUp === 'sum');
  const recounted = groupsOf(published.filter(({ measure }) => measure.rollUp === 'recount'));
  const snapshots = published.filter(({ measure }) => measure.rollUp === 'last');
  const period = periodOf(grain.period, sql.ref('d.date'));
  const by = grain.by.map((c) => ref('d', c));
  const days = sql`select ${list([sql`${period} as date`, ...by, sql`count(*) as days_with_data`, ...summed.map(({ metric }) => sql`sum(${ref('d', metric.column)}) as ${sql.id(metric.column)}`)])}
    from ${sql.table(from)} as d
   where ${onlyDates(ctx, sql.ref('d.date'))}
   group by ${list([period, ...by])}`;
  const next = sql<string>`(s.date + ${sql.lit(`1 ${grain.period}`)}::interval)::date`;
  const withs: [string, RawBuilder<unknown>][] = [['sums', days], ...recounted.map((g): [string, RawBuilder<unknown>] => [g.name, groupQuery(db, grain, g, ctx)])];
  const joins = recounted.map((g) => sql`left join ${sql.id(g.name)} on ${joinOn(grain, g.name, 's')}`);
  return sql`${ctes(withs)}
    select ${list([
      ref('s', 'date'),
      ...grain.by.map((c) => ref('s', c)),
      sql`${next} - s.date as days_in_period`,
      ref('s', 'days_with_data'),
      sql`${isCompleteExpression(sql<string>`${next} - 1`, lastCompleteDay(db, ctx.completeness))} as is_complete`,
      ...summed.map(({ metric }) => ref('s', metric.column)),
      ...recounted.flatMap((g) => g.members.map(({ metric }) => sql`coalesce(${ref(g.name, metric.column)}, 0) as ${sql.id(metric.column)}`)),
      // A snapshot: the value of the period's last day that has one.
      ...snapshots.map(
        ({ metric }) =>
          sql`(select l.${sql.id(metric.column)} from ${sql.table(from)} as l
                where ${periodOf(grain.period, sql.ref('l.date'))} = s.date and l.${sql.id(metric.column)} is not null
                  ${sql.join(grain.by.map((c) => sql`and ${ref('l', c)} = ${ref('s', c)}`), sql` `)}
                order by l.date desc limit 1) as ${sql.id(metric.column)}`,
      ),
    ])}
      from sums as s ${sql.join(joins, sql` `)}`;
}

/**
 * The published table of a time grain, its SELECT generated from the measures of
 * `ctx.definitions`. The generated SQL is wrapped in a query of `db`, so the plugins of `db`
 * see all of it (the refresh points `metrics.kpi_daily` at the table it is building).
 */
export function timeGrainView(grain: TimeGrain): MetricView {
  const dimensions = grain.period === 'day' ? ['date', ...grain.by] : ['date', ...grain.by, ...PERIOD_COVERAGE];
  return defineView({
    name: grain.name,
    grain: grain.grain,
    dimensions,
    ...(grain.leadingMetrics ? { leadingMetrics: grain.leadingMetrics } : {}),
    indexes: grain.indexes,
    build: (db, ctx) => {
      const query = grain.period === 'day' ? dayQuery(db, grain, ctx) : periodQuery(db, grain, ctx);
      return db.selectFrom(sql<Record<string, unknown>>`(${query})`.as('g')).selectAll('g');
    },
    ...(grain.period === 'day' && grain.rows === 'every-day' ? { dataDates: (db: Kysely<Database>, ctx: MetricsContext) => dataDatesQuery(db, grain, ctx) } : {}),
  });
}
