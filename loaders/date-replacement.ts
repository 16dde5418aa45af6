import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StreamIdentity } from '../catalog/catalog.ts';
import { WarehouseError } from '../lib/errors.ts';
import { rawTableName } from '../warehouse/tables/raw.ts';
import { temporaryRefusal } from '../warehouse/writable.ts';
import { copyText, preparePage } from './raw-loader.ts';

/** What landing records as one extraction of a date-report stream does to one of their dates. */
export interface DateReplacement {
  /** YYYY-MM-DD. */
  date: string;
  /** Rows the records bring for the date (one per key). */
  incoming: number;
  /** Rows raw holds for the date before they land. */
  held: number;
  /** Of those, the rows whose key the records do not bring: landing them removes these. */
  removed: number;
}

const KEYS_TABLE = 'verite_incoming_keys';

/** Runs statements on `client`, a failure named with its statement. */
function statementsOn(client: pg.PoolClient): (text: string, values?: unknown[]) => Promise<pg.QueryResult> {
  return async (text, values = []) => {
    try {
      return await client.query(text, values);
    } catch (error) {
      const refused = temporaryRefusal(error, client as { user?: string; database?: string });
      throw new WarehouseError(`statement failed: ${refused ?? (error as Error).message}`, text, values, { cause: error });
    }
  };
}

/**
 * Works out, before anything lands, which dates of a date-report stream a set of records
 * replaces and how many of each date's rows they would remove (rows of the date that they do
 * not bring again). The records are read once, checked as the loader checks them (a record it
 * would quarantine counts for nothing), and only their dates and keys are kept, in a temporary
 * table, never in memory. Dates that hold no rows yet are listed with `held: 0`.
 */
export async function plannedDateReplacement(
  pool: pg.Pool,
  source: string,
  stream: StreamIdentity,
  batches: AsyncIterable<unknown[]>,
): Promise<DateReplacement[]> {
  if (stream.kind !== 'date-report') return [];
  const table = rawTableName(source, stream.name);
  const quoted = `raw."${source}__${stream.name}"`;
  const client = await pool.connect();
  const run = statementsOn(client);
  try {
    await run('begin');
    await run(`create temp table ${KEYS_TABLE} (report_date date not null, key text not null) on commit drop`);
    const copy = `copy ${KEYS_TABLE} (report_date, key) from stdin`;
    for await (const records of batches) {
      const { rows } = preparePage(stream, records);
      if (!rows.length) continue;
      const lines = rows.map((r) => `${r.reportDate}\t${copyText(r.key)}\n`);
      try {
        await pipeline(Readable.from([lines.join('')]), client.query(copyFrom(copy)));
      } catch (error) {
        throw new WarehouseError(`COPY of the incoming keys of ${table} failed: ${(error as Error).message}`, copy, [], { cause: error });
      }
    }
    await run(`create index on ${KEYS_TABLE} (key)`);
    await run(`analyze ${KEYS_TABLE}`);
    const res = await run(
      `with incoming as (select distinct report_date, key from ${KEYS_TABLE}),
            dates as (select report_date, count(*)::int as incoming from incoming group by report_date)
       select d.report_date::text as date, d.incoming,
              count(r._key)::int as held,
              count(r._key) filter (where i.key is null)::int as removed
         from dates d
         left join ${quoted} r on r._report_date = d.report_date
         left join incoming i on i.key = r._key and i.report_date = r._report_date
        group by d.report_date, d.incoming
        order by d.report_date`,
    );
    await run('commit');
    return res.rows as DateReplacement[];
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The last step of landing a report stream's file: once every page has landed (each merged by
 * key, removing nothing), removes in one transaction the rows of the file's dates that the file
 * did not bring, which are those whose `_batch_id` is not the landing's (a page gives its batch
 * to every row it writes or finds unchanged). The raw table's trigger records each removal in
 * `ops.raw_changes` as the landing's. A landing stopped before its last page never gets here,
 * so a file read in part removes nothing. Returns how many rows went.
 */
export async function removeRowsNotBrought(
  pool: pg.Pool,
  target: { source: string; stream: StreamIdentity; runId: string; batchId: string },
  dates: readonly string[],
): Promise<number> {
  if (target.stream.kind !== 'date-report' || dates.length === 0) return 0;
  const quoted = `raw."${target.source}__${target.stream.name}"`;
  const client = await pool.connect();
  const run = statementsOn(client);
  try {
    await run('begin');
    await run(`select set_config('verite.run_id', $1, true), set_config('verite.batch_id', $2, true)`, [target.runId, target.batchId]);
    const removed = await run(`delete from ${quoted} where _report_date = any($1::date[]) and _batch_id <> $2`, [dates, target.batchId]);
    await run('commit');
    return removed.rowCount ?? 0;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
