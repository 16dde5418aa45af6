import type { Kysely, Compilable, RawBuilder } from 'kysely';
import type { ChannelRule, VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';

/** What every model is built with: the reporting conventions of METRICS.md. */
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
 * offending rows (none when the check passes).
 */
export interface DataCheck {
  name: string;
  /** Rows that break the check; the first few are reported. */
  failing(db: Kysely<Database>, ctx: TransformContext): Compilable | RawBuilder<unknown>;
  /** A sentence naming what is wrong, from the failing rows (default: the first row). */
  describe?(rows: Record<string, unknown>[]): string;
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
  build(db: Kysely<Database>, ctx: TransformContext): Compilable;
  /** Columns to index after the build. */
  readonly indexes?: readonly (readonly string[])[];
  /** The unique key of a row, checked unique and not null after the build. */
  readonly uniqueKey?: readonly string[];
  readonly checks?: readonly DataCheck[];
}

export function defineModel(model: Model): Model {
  return Object.freeze(model);
}
