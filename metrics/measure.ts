import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type Expression,
  type QueryCreator,
  type RawBuilder,
} from 'kysely';
import type { Database } from '../warehouse/database.ts';

/**
 * Base measures: the aggregates every time-grain table is generated from (docs/metrics.md,
 * "The metric contract"). A base measure says which rows it reads (a {@link MeasureSource}),
 * how it aggregates them, which date places a row on the time axis, and how it rolls up from
 * a day to a week or a month. Its SQL is written here once; kpi_daily, kpi_weekly, kpi_monthly
 * and kpi_channel_daily are generated from it (metrics/time-grain.ts), and the catalogue and
 * docs/metrics.md print the same SQL.
 */

/** How a base measure aggregates the rows of its source. */
export type Aggregation = 'count' | 'sum' | 'count_distinct';

/**
 * How a measure of a day becomes the measure of a week or a month: `sum` adds the days up
 * (an additive measure); `recount` recomputes the same aggregate from the source rows of the
 * whole period (a distinct count: a customer who orders on Monday and Friday is one customer
 * of the week); `last` takes the value of the period's last day that has one (a snapshot,
 * such as the variants out of stock: a day without rows has no value, NULL rather than 0).
 */
export type RollUp = 'sum' | 'recount' | 'last';

/** A source as a measure holds it, its row type erased. */
export interface SourceOfMeasure {
  /** Unique; names the rows in the generated SQL and in the catalogue (`counted_orders`). */
  readonly name: string;
  /** What the rows are, in a phrase: which core table, which rows of it. */
  readonly description: string;
  /** The rows, as a query over `core.*` (a CTE of the generated table). */
  rows(db: QueryCreator<Database>): Expression<unknown>;
  /** The date columns that can place a row on the time axis; the first is the default. */
  readonly dates: readonly string[];
  /** The columns a measure of these rows can be grouped by besides the date (`channel`). */
  readonly dimensions: readonly string[];
}

type ColumnsOf<Row, T> = { [K in keyof Row & string]: Row[K] extends T ? K : never }[keyof Row & string];
type NumericColumn<Row> = ColumnsOf<Row, string | number | bigint | null>;
type BooleanColumn<Row> = ColumnsOf<Row, boolean | null>;

/** Where a measure sits on the time axis and which of its source's rows it counts. */
export interface MeasureOptions<Row> {
  /** The date column that places a row on the time axis (default: the source's first date). */
  readonly date?: keyof Row & string;
  /** Only the rows where this boolean column is true, or this condition holds (`sql<boolean>\`…\``). */
  readonly filter?: BooleanColumn<Row> | RawBuilder<boolean>;
  /** Default `sum`; a distinct count must say `recount`. */
  readonly rollUp?: RollUp;
}

/** Rows a base measure aggregates, typed by their columns, with constructors for its measures. */
export interface MeasureSource<Row> extends SourceOfMeasure {
  readonly dates: readonly (keyof Row & string)[];
  readonly dimensions: readonly (keyof Row & string)[];
  /** `count(*)` of the rows. */
  count(options?: MeasureOptions<Row>): BaseMeasure;
  /** `sum(column)`. */
  sum(column: NumericColumn<Row>, options?: MeasureOptions<Row>): BaseMeasure;
  /** `count(distinct column)`: not additive over days, so it is recounted over a period. */
  countDistinct(column: keyof Row & string, options?: Omit<MeasureOptions<Row>, 'rollUp'>): BaseMeasure;
}

/** One base measure: an aggregate of the rows of a source on one date column. */
export interface BaseMeasure {
  readonly source: SourceOfMeasure;
  readonly aggregation: Aggregation;
  /** The column aggregated (none for `count`). */
  readonly column?: string;
  readonly filter?: RawBuilder<boolean>;
  readonly date: string;
  readonly rollUp: RollUp;
}

/**
 * Declares the rows base measures read. The row type comes from the query, so a measure that
 * names a column the rows do not have does not compile.
 *
 * @example
 * const countedRefunds = measureSource({
 *   name: 'counted_refunds',
 *   description: 'core.refunds of counted orders',
 *   rows: (db) => db.selectFrom('core.refunds').where('order_is_counted', '=', true).selectAll(),
 *   dates: ['refund_date'],
 *   dimensions: [],
 * });
 * const refunds = countedRefunds.sum('amount_rc');
 */
export function measureSource<Row>(input: {
  name: string;
  description: string;
  rows: (db: QueryCreator<Database>) => Expression<Row>;
  dates: readonly (keyof Row & string)[];
  dimensions: readonly (keyof Row & string)[];
}): MeasureSource<Row> {
  if (input.dates.length === 0) throw new Error(`measure source ${input.name} has no date column`);
  const source: MeasureSource<Row> = Object.freeze({
    ...input,
    dates: Object.freeze([...input.dates]),
    dimensions: Object.freeze([...input.dimensions]),
    count: (options: MeasureOptions<Row> = {}) => make('count', undefined, options),
    sum: (column: NumericColumn<Row>, options: MeasureOptions<Row> = {}) => make('sum', column, options),
    countDistinct: (column: keyof Row & string, options: Omit<MeasureOptions<Row>, 'rollUp'> = {}) => make('count_distinct', column, { ...options, rollUp: 'recount' }),
  });
  function make(aggregation: Aggregation, column: string | undefined, options: MeasureOptions<Row>): BaseMeasure {
    const date = options.date ?? input.dates[0]!;
    if (!input.dates.includes(date)) throw new Error(`measure source ${input.name} has no date column ${date}`);
    const filter = typeof options.filter === 'string' ? sql<boolean>`${sql.ref(options.filter)}` : options.filter;
    return Object.freeze({
      source,
      aggregation,
      ...(column === undefined ? {} : { column }),
      ...(filter === undefined ? {} : { filter }),
      date,
      rollUp: options.rollUp ?? (aggregation === 'count_distinct' ? 'recount' : 'sum'),
    });
  }
  return source;
}

/**
 * The aggregate of a measure over its source's rows, e.g. `sum("total_price_rc")` or
 * `count(*) filter (where "is_first_order")`: NULL over no rows for a sum (the tables coalesce
 * to 0). The column names are those of the source's rows, so a hand-written table whose rows
 * carry the same columns (cohort_monthly's orders) can read it too.
 */
export function aggregateSql(m: BaseMeasure): RawBuilder<unknown> {
  const aggregate =
    m.aggregation === 'count'
      ? sql`count(*)`
      : m.aggregation === 'sum'
        ? sql`sum(${sql.ref(m.column!)})`
        : sql`count(distinct ${sql.ref(m.column!)})`;
  return m.filter ? sql`${aggregate} filter (where ${m.filter})` : aggregate;
}

/** A Kysely that only compiles: the SQL text of a measure, with no database. */
const compiler = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** The SQL of the aggregate as the tables run it, plain identifiers unquoted for readers. */
export function aggregateText(m: BaseMeasure): string {
  const compiled = aggregateSql(m).compile(compiler);
  if (compiled.parameters.length) throw new Error(`the SQL of a measure over ${m.source.name} has parameters: write its filter with literals`);
  return compiled.sql.replace(/"([a-z_][a-z0-9_]*)"/g, '$1');
}

/**
 * The measure as the catalogue and docs/metrics.md show it: the aggregate, the rows it reads
 * and the date that places it on the time axis, e.g.
 * `sum(total_price_rc) over counted_orders by order_date`.
 */
export function measureText(m: BaseMeasure): string {
  return `${aggregateText(m)} over ${m.source.name} by ${m.date}`;
}
