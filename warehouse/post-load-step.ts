import type { Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import type { Logger } from '../lib/logger.ts';
import type { Progress } from '../lib/progress.ts';
import type { Warehouse } from './connection.ts';
import type { Database } from './database.ts';

/** A step after loading (transform, metrics refresh): succeeds, or fails with a message. */
export interface PostLoadStep {
  name: string;
  /** `progress` is told how far a long step got (see lib/progress.ts), under the step's name. */
  run(warehouse: Warehouse, config: VeriteConfig, log: Logger, progress?: Progress, options?: StepOptions): Promise<StepOutcome>;
}

/** How the run asks its steps to work. */
export interface StepOptions {
  /** Rebuild from the whole of the inputs, not from what changed (`verite run --full`; docs/scale.md). */
  full?: boolean;
  /**
   * Called inside the step's transaction, just before the commit that publishes what it built,
   * with that transaction: what it writes (the run's record that the step was published)
   * commits or rolls back with the step.
   */
  beforeCommit?: (trx: Kysely<Database>) => Promise<void>;
}

export interface StepOutcome {
  status: 'succeeded' | 'failed';
  /** One line for the run summary. */
  summary: string;
  /**
   * What a step that succeeded warns about, one line each (records the transform set aside):
   * the run then ends "succeeded with warnings".
   */
  warnings?: string[];
  /** The codes of the warnings that came up and were silenced by the config's `silenceWarnings`. */
  silenced?: string[];
  error?: unknown;
}
