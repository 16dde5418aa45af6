import type { AliasableExpression, Compilable, Kysely, RawBuilder, Selectable } from 'kysely';
import type { ChannelRule, VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';
import type { RawChange } from './raw-changes.ts';
import type { WarningCode } from '../lib/warning-codes.ts';

/** What every model is built with: the reporting conventions of docs/metrics.md. */
export interface TransformContext {
  reportingTimezone: string;
  reportingCurrency: string;
  channels: readonly ChannelRule[];
  /** Meta's action type counted as a platform purchase. */
  metaPurchaseActionType: string;
  /** The run's clock (dates after its local date are "in the future"). */
  now: Date;
  config: VeriteConfig;
}

/**
 * A data test run after the build, inside the same transaction: a query returning the
 * offending rows (none when the check passes). Its severity says what a failing row means:
 *
 * - `stop` (the default): the build is wrong (a missing exchange rate for a day with orders, a
 *   broken reference, a duplicate key). Nothing is published; readers keep the previous build.
 * - `set-aside` ({@link SetAsideCheck}): one record the model cannot use. It is taken out of
 *   the model's table before anything reads it, recorded in `ops.set_aside` with its reason,
 *   and the build goes on to be published, with a warning.
 * - `warn` ({@link WarnCheck}): the build is right but incomplete in a way a reader should know
 *   (sold lines without a cost). The build is published; the run's summary carries the warning.
 */
export type DataCheck = StopCheck | WarnCheck | SetAsideCheck;

interface CheckBase {
  name: string;
  /** Rows that break the check; the first few are reported. */
  failing(db: Kysely<Database>, ctx: TransformContext): Compilable | RawBuilder<unknown>;
}

export interface StopCheck extends CheckBase {
  severity?: 'stop';
  /** A sentence naming what is wrong, from the failing rows (default: the first row). */
  describe?(rows: Record<string, unknown>[]): string;
}

/** A check whose failing rows are a warning of the run, never a reason to keep the previous build. */
export interface WarnCheck extends CheckBase {
  severity: 'warn';
  /** Its code, when a shop may silence it as a standing condition (`silenceWarnings`). */
  code?: WarningCode;
  /** The warning, in a sentence, from the failing rows. */
  describe(rows: Record<string, unknown>[]): string;
}

/** The column a folded check's expression is built into, and dropped from before publishing. */
export const FOLDED_COLUMN = '_problem';

/**
 * Records a model cannot use, run right after the model is built (before the models that read
 * it): `failing` returns one row per raw record, with its `key` and the `reason` in words.
 */
export interface SetAsideCheck extends CheckBase {
  severity: 'set-aside';
  /** The raw stream the records come from (`verite quarantine` finds them there by key). */
  source: string;
  stream: string;
  /** The column of the model's table holding the raw record's key: its rows are taken out. */
  keyColumn: string;
  /**
   * A check folded into its model's build (`rawRecordsCheck`'s `foldedInto`): the expression the
   * model selects as `_problem`, read by `failing` from the built rows. The runner runs the check
   * before the table is published, then drops the column.
   */
  folded?: (ctx: TransformContext) => RawBuilder<string | null>;
}

/**
 * What an incremental model's `changed` query reads (docs/scale.md, "Incremental build").
 */
export interface ChangeSets {
  /** The raw rows of `raw.<source>__<stream>` written or removed since the model last built. */
  raw(source: string, stream: string): RawBuilder<RawChange>;
  /**
   * The rows a model this one reads changed in this build, as they were and as they are (all
   * its columns; an unchanged model has none). A row it replaced by an identical one is not
   * among them. A model rebuilt in full has its dependents rebuilt in full too, so they never
   * ask.
   */
  replaced(model: string): RawBuilder<Record<string, unknown>>;
}

/**
 * How a model is brought up to date from what changed, instead of rebuilt from the whole of its
 * inputs. The runner rebuilds the rows whose `replaceBy` column holds one of the values
 * `changed` returns: it runs the model's own query with each table of `scope` read as only its
 * rows holding those values (in the column named), deletes the table's rows holding them and
 * inserts what the query gave. The rule that keeps it exact: every row the query gives for a
 * value may depend only on the scoped tables' rows holding values `changed` returns (widen it
 * to whole partitions: all the orders of a changed customer) and on tables read whole.
 */
export interface IncrementalBuild {
  /** The (text) column whose values name the rows replaced together: an order's lines go by `order_id`. */
  readonly replaceBy: string;
  /** The values to rebuild: a SELECT of one text column named `value` (duplicates and nulls are ignored). */
  changed(changes: ChangeSets, ctx: TransformContext): RawBuilder<unknown>;
  /** The tables the query reads restricted to the values rebuilt: table → its column holding the value. */
  readonly scope: Readonly<Record<string, string>>;
}

/** A SELECT (a query builder or a `sql` fragment): the runner builds the table `as` it. */
export type ModelQuery<O = unknown> = Compilable<O> & AliasableExpression<O>;

/**
 * An index of the rows a warning looks for, which a shop has few of (sold variants missing from
 * the products stream): the warning, which describes the whole table, then reads those rows
 * alone instead of scanning the table on every nightly run.
 */
export interface PartialIndex {
  /** The index's name, unique in the model's schema. */
  readonly name: string;
  readonly columns: readonly string[];
  /** The rows indexed: the warning's own condition, written the same way, so the planner uses it. */
  readonly where: string;
}

/**
 * A transform model: the table it builds, what it reads, and the query that builds it.
 * `build` returns a SELECT; the runner creates the table from it and swaps it in.
 */
export interface Model {
  /** The table built, `schema.table`. */
  readonly name: string;
  /** Models or raw tables it reads (`raw.x__y` are sources, not models). */
  readonly dependsOn: readonly string[];
  readonly description: string;
  build(db: Kysely<Database>, ctx: TransformContext): ModelQuery;
  /** Columns to index after the build; a {@link PartialIndex} indexes some rows only. */
  readonly indexes?: readonly (readonly string[] | PartialIndex)[];
  /**
   * The unique key of a row, checked unique and not null after the build. A unique index on it
   * (`<table>_<columns>_key`) holds it unique and serves lookups by its leading columns, so an
   * index on those alone is not created.
   */
  readonly uniqueKey?: readonly string[];
  readonly checks?: readonly DataCheck[];
  /**
   * How the model is brought up to date from the changes. Without it, a model whose inputs
   * changed is rebuilt in full and compared with its previous rows to know what changed.
   */
  readonly incremental?: IncrementalBuild;
  /**
   * Planner settings for this model's statements alone (`set_config(name, value, true)` before
   * its build, the previous values put back after): for a query shape the planner misjudges.
   */
  readonly planner?: Readonly<Record<string, string>>;
}

/**
 * For a model building a table of the {@link Database} type: the columns its query selects
 * that the type does not declare, and those the type declares that it does not select. A
 * query whose row type is not known (a bare `sql` fragment) is not checked here; the built
 * tables are compared with the types at run time (tests/transforms/types-match-models.test.ts).
 */
type ColumnsOfType<Name extends string, Q> = Name extends keyof Database
  ? Q extends Compilable<infer O>
    ? unknown extends O
      ? unknown
      : [Exclude<keyof O, keyof Selectable<Database[Name]> | typeof FOLDED_COLUMN>, Exclude<keyof Selectable<Database[Name]>, keyof O>] extends [never, never]
        ? unknown
        : { columnsDifferFromTheTypes: { selectedNotDeclared: Exclude<keyof O, keyof Selectable<Database[Name]> | typeof FOLDED_COLUMN>; declaredNotSelected: Exclude<keyof Selectable<Database[Name]>, keyof O> } }
    : unknown
  : unknown;

/**
 * Declares a model. When it builds a table the {@link Database} type declares
 * (`warehouse/tables/staging.ts`, `core.ts`), the names its query selects must be that
 * table's columns: a column renamed in the model but not in the types breaks the build.
 */
export function defineModel<const Name extends string, Q extends ModelQuery>(
  model: Omit<Model, 'name' | 'build'> & { readonly name: Name; build(db: Kysely<Database>, ctx: TransformContext): Q } & ColumnsOfType<Name, Q>,
): Model {
  return Object.freeze(model) as Model;
}
