import type pg from 'pg';

/** A statement and its parameters, as Kysely compiles one (`sql`…`.compile(db)`). */
export interface CursorQuery {
  sql: string;
  parameters: readonly unknown[];
}

/** The rows a cursor is read by, unless told otherwise: 1,000 at a time. */
export const CURSOR_FETCH_ROWS = 1000;

/**
 * Declares a server-side cursor `name` over `query` on `client` (`DECLARE … CURSOR FOR`), so its
 * rows are read a batch at a time ({@link fetchBatches}) and never held whole by this process.
 * Without `hold` it lives in the client's open transaction; `hold` (`WITH HOLD`) keeps it past
 * the commit of the transaction that declares it, its rows those of that transaction's
 * snapshot (the server keeps them), for reading outside any transaction while other sessions
 * change the tables.
 */
export async function declareCursor(client: pg.ClientBase, name: string, query: CursorQuery, options: { hold?: boolean } = {}): Promise<void> {
  // A line break after FOR: a query that opens with a -- comment stays a query. The extended
  // protocol, parameters or not: one statement, never a second after a semicolon.
  await client.query({ text: `declare ${name} no scroll cursor${options.hold ? ' with hold' : ''} for\n${query.sql}`, values: [...query.parameters], queryMode: 'extended' } as pg.QueryConfig);
}

/**
 * The rows of cursor `name`, `rows` at a time (`FETCH n`), until it has no more; the first
 * result is given even when it has no row, for its fields. `types` reads the values as a query
 * given them would; `beforeFetch` runs before each fetch (`verite query` sets what is left of
 * its time-out there).
 */
export async function* fetchBatches<R extends pg.QueryResultRow = pg.QueryResultRow>(
  client: pg.ClientBase,
  name: string,
  options: { rows?: number; types?: pg.CustomTypesConfig; beforeFetch?: () => Promise<void> } = {},
): AsyncGenerator<pg.QueryResult<R>> {
  const rows = options.rows ?? CURSOR_FETCH_ROWS;
  for (;;) {
    await options.beforeFetch?.();
    const result = await client.query<R>({ text: `fetch ${rows} from ${name}`, types: options.types });
    yield result;
    if (result.rows.length < rows) return;
  }
}

/**
 * Reads `query` through a cursor in a read-only transaction of a session of its own, handing
 * `read` its batches; commits and gives the session back when `read` is done (or fails). The
 * transaction may wait on `read` (a slow reader of the output): the session's time-out of an
 * idle transaction is lifted for it, as the reader is there.
 */
export async function readThroughCursor<T>(
  pool: pg.Pool,
  query: CursorQuery,
  read: (batches: AsyncIterable<pg.QueryResult>) => Promise<T>,
  options: { rows?: number } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin transaction read only');
    await client.query('set local idle_in_transaction_session_timeout = 0');
    await declareCursor(client, 'verite_rows', query);
    const value = await read(fetchBatches(client, 'verite_rows', { rows: options.rows }));
    await client.query('commit');
    return value;
  } catch (error) {
    broken = true;
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release(broken);
  }
}
