import type { Migration } from 'kysely';
import * as m0001 from './0001-init.ts';
import * as m0002 from './0002-transform-functions.ts';
import * as m0003 from './0003-operations.ts';
import * as m0004 from './0004-url-functions.ts';
import * as m0005 from './0005-shopify-deletions.ts';
import * as m0009 from './0009-set-aside.ts';
import * as m0010 from './0010-run-liveness.ts';
import * as m0011 from './0011-clv-tables.ts';
import * as m0012 from './0012-product-streams.ts';
import * as m0013 from './0013-faster-parse-functions.ts';
import * as m0014 from './0014-report-deliveries.ts';
import * as m0019 from './0019-raw-changes.ts';
import * as m0020 from './0020-incremental-build.ts';
import * as m0021 from './0021-customer-metric-state.ts';
import * as m0022 from './0022-parallel-safe-functions.ts';
import * as m0023 from './0023-try-timestamptz-without-exception.ts';
import * as m0024 from './0024-faster-patterns.ts';
import * as m0025 from './0025-iso-timestamptz.ts';
import * as m0026 from './0026-collation-independent.ts';
import * as m0027 from './0027-report-delivery-target.ts';
import * as m0028 from './0028-quarantine-decimal-marks.ts';
import * as m0029 from './0029-refunded-units.ts';
import * as m0030 from './0030-backfill-liveness.ts';
import * as m0031 from './0031-rebuild-in-full.ts';
import * as m0032 from './0032-report-delivery-places.ts';
import * as m0033 from './0033-run-steps.ts';
import * as m0034 from './0034-change-log-planned-per-statement.ts';
import * as m0035 from './0035-report-delivery-permanent.ts';
import * as m0036 from './0036-report-delivery-refusals-before-0035.ts';

/**
 * Every migration, in order. A new one is a file `NNNN-name.ts` exporting `up` (and `down`),
 * added here: the list is explicit so a bundled or compiled verite finds them all.
 */
export const migrations: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-transform-functions': m0002,
  '0003-operations': m0003,
  '0004-url-functions': m0004,
  '0005-shopify-deletions': m0005,
  '0009-set-aside': m0009,
  '0010-run-liveness': m0010,
  '0011-clv-tables': m0011,
  '0012-product-streams': m0012,
  '0013-faster-parse-functions': m0013,
  '0014-report-deliveries': m0014,
  '0019-raw-changes': m0019,
  '0020-incremental-build': m0020,
  '0021-customer-metric-state': m0021,
  '0022-parallel-safe-functions': m0022,
  '0023-try-timestamptz-without-exception': m0023,
  '0024-faster-patterns': m0024,
  '0025-iso-timestamptz': m0025,
  '0026-collation-independent': m0026,
  '0027-report-delivery-target': m0027,
  '0028-quarantine-decimal-marks': m0028,
  '0029-refunded-units': m0029,
  '0030-backfill-liveness': m0030,
  '0031-rebuild-in-full': m0031,
  '0032-report-delivery-places': m0032,
  '0033-run-steps': m0033,
  '0034-change-log-planned-per-statement': m0034,
  '0035-report-delivery-permanent': m0035,
  '0036-report-delivery-refusals-before-0035': m0036,
};
