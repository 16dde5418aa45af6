import { sql, type Kysely, type RawBuilder } from 'kysely';

/**
 * The UPDATE branch of `ops.log_raw_changes()` as this migration wrote it: a static statement,
 * whose plan PL/pgSQL keeps for the session (migration 0034 replaces it with one planned per
 * statement).
 */
export const STATIC_UPDATE_BRANCH = `        -- Only a changed record is a change (re-reading a report row only moves its _batch_id);
        -- a row that moved to another report date is also removed from the date it had.
        insert into ops.raw_changes (run_id, batch_id, source, stream, key, report_date, removed)
        select n._run_id, n._batch_id, source, stream, n._key, n._report_date, false
          from new_rows n join old_rows o on o._key = n._key
         where o._hash is distinct from n._hash or o._record is distinct from n._record or o._report_date is distinct from n._report_date
        union all
        select n._run_id, n._batch_id, source, stream, o._key, o._report_date, true
          from new_rows n join old_rows o on o._key = n._key
         where o._report_date is distinct from n._report_date;
`;

/** `ops.log_raw_changes()`, its UPDATE branch (the statements run for an UPDATE of a raw table) given. */
export function logRawChangesFunction(updateBranch: string): RawBuilder<unknown> {
  return sql.raw(`    create or replace function ops.log_raw_changes() returns trigger language plpgsql as $fn$
    declare
      source text := split_part(tg_table_name, '__', 1);
      stream text := substr(tg_table_name, strpos(tg_table_name, '__') + 2);
      run text := coalesce(nullif(current_setting('verite.run_id', true), ''), 'unknown');
      batch text := coalesce(nullif(current_setting('verite.batch_id', true), ''), 'unknown');
    begin
      if tg_op = 'INSERT' then
        insert into ops.raw_changes (run_id, batch_id, source, stream, key, report_date, removed)
        select n._run_id, n._batch_id, source, stream, n._key, n._report_date, false from new_rows n;
      elsif tg_op = 'UPDATE' then
${updateBranch}      else
        insert into ops.raw_changes (run_id, batch_id, source, stream, key, report_date, removed)
        select run, batch, source, stream, o._key, o._report_date, true from old_rows o;
      end if;
      return null;
    end
    $fn$`);
}

/**
 * The incremental build's bookkeeping (docs/scale.md, "Incremental build"):
 *
 * - `ops.model_builds`: per transform model, the last `ops.raw_changes.change_id` its table has
 *   consumed, the signature of what it was built with (its compiled SQL and the reporting
 *   conventions), and when it was last built in full.
 * - `ops.metric_inputs_changed`: what a transform replaced in the core tables the metrics read,
 *   written in the transform's transaction and consumed (deleted) by the metrics refresh that
 *   recomputes it, in the refresh's: the local dates whose rows of a model changed (old or
 *   new), the customers `core.customers` replaced, or `everything` for a model rebuilt in full.
 * - `ops.log_raw_changes()`: the trigger function that records in `ops.raw_changes` every row
 *   a statement writes to or removes from a raw table, whoever writes it (the loader, a
 *   quarantine retry, an engineer's DELETE): `warehouse/raw-tables.ts` puts it on every raw
 *   table, as statement triggers reading the statement's transition tables (one INSERT per
 *   statement, not per row). The run and extraction are the rows' own, or for a removal those
 *   the writer set in `verite.run_id` and `verite.batch_id` (the loader sets them per page).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ops.model_builds')
    .addColumn('model', 'text', (c) => c.primaryKey())
    .addColumn('through_change_id', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('built_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_full_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('ops.metric_inputs_changed')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('date', 'date')
    .addColumn('customer_key', 'text')
    .addColumn('everything', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await logRawChangesFunction(STATIC_UPDATE_BRANCH).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists ops.log_raw_changes() cascade`.execute(db);
  await db.schema.dropTable('ops.metric_inputs_changed').ifExists().execute();
  await db.schema.dropTable('ops.model_builds').ifExists().execute();
}
