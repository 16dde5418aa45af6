import type { RawTables } from './tables/raw.ts';
import type { OpsTables } from './tables/ops.ts';
import type { CoreTables } from './tables/core.ts';
import type { StagingTables } from './tables/staging.ts';
import type { MetricsTables } from './tables/metrics.ts';

/**
 * Every table of the warehouse, typed. Each schema's tables are declared in `tables/<schema>.ts`.
 *
 * For the tables the transforms build (`staging`, `core`), a renamed column breaks the build,
 * not a dashboard: their types are derived from column lists (`tables/columns.ts`);
 * `defineModel` refuses a model whose query selects other names than its table's type declares
 * (`npm run typecheck`), and `tests/transforms/types-match-models.test.ts` builds the models and
 * compares each table's columns and their kinds with those lists. The `raw`, `ops` and `metrics`
 * types are written by hand and checked only by the code that reads them.
 */
export interface Database extends RawTables, OpsTables, StagingTables, CoreTables, MetricsTables {}
