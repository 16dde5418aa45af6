import type { RawTables } from './tables/raw.ts';
import type { OpsTables } from './tables/ops.ts';
import type { CoreTables } from './tables/core.ts';
import type { StagingTables } from './tables/staging.ts';
import type { MetricsTables } from './tables/metrics.ts';

/**
 * Every table of the warehouse, typed: a renamed column breaks the build, not a dashboard.
 * Each schema's tables are declared in `tables/<schema>.ts`.
 */
export interface Database extends RawTables, OpsTables, StagingTables, CoreTables, MetricsTables {}
