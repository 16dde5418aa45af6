import type { Kysely } from 'kysely';
import { logRawChangesFunction, STATIC_UPDATE_BRANCH } from './0020-incremental-build.ts';

/** The UPDATE branch, planned anew for each statement (EXECUTE) with its transition tables' row counts. */
const PLANNED_UPDATE_BRANCH = `        -- Only a changed record is a change (re-reading a report row only moves its _batch_id);
        -- a row that moved to another report date is also removed from the date it had.
        -- Planned anew for each statement (EXECUTE), with its transition tables' row counts.
        execute $q$
          insert into ops.raw_changes (run_id, batch_id, source, stream, key, report_date, removed)
          select n._run_id, n._batch_id, $1, $2, n._key, n._report_date, false
            from new_rows n join old_rows o on o._key = n._key
           where o._hash is distinct from n._hash or o._record is distinct from n._record or o._report_date is distinct from n._report_date
          union all
          select n._run_id, n._batch_id, $1, $2, o._key, o._report_date, true
            from new_rows n join old_rows o on o._key = n._key
           where o._report_date is distinct from n._report_date
        $q$ using source, stream;
`;

/**
 * `ops.log_raw_changes()` (migration 0020) joins a raw statement's old and new rows by key to
 * find the records an UPDATE changed. As a static statement of the PL/pgSQL function, that join
 * was planned once per server session and the plan kept: planned for the first statement the
 * trigger saw (often a page of a few rows), it was a nested loop comparing every new row with
 * every old one, kept for pages of thousands. Re-reading a report page whose rows were unchanged
 * (which moves each row's `_batch_id`) then cost rows² comparisons: 9 s for a page of 5,000
 * rows, over a minute for 20,000; a GA4 page is 10,000 rows by default. The join is now run
 * with EXECUTE, planned each time with the statement's real row counts (a hash or merge join), for a
 * plan of well under a millisecond. What it records is unchanged.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await logRawChangesFunction(PLANNED_UPDATE_BRANCH).execute(db);
}

/** The function as migration 0020 made it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await logRawChangesFunction(STATIC_UPDATE_BRANCH).execute(db);
}
