import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';

/**
 * The advisory lock that keeps pipeline runs one at a time, across processes and machines
 * sharing one warehouse. Two int4 keys: verite's namespace and the lock's purpose, so the lock
 * never collides with another application's advisory locks in the same database.
 */
export const RUN_LOCK = { namespace: 0x76726974, id: 1 } as const;

/** `wait`: queue until the lock is free. `skip`: give up at once when another run holds it. */
export type LockMode = 'wait' | 'skip';

export interface RunLockOptions {
  mode: LockMode;
  /** Stops waiting for the lock (mode `wait`); the function is then not run. */
  signal?: AbortSignal;
}

/** The session holding the lock, as PostgreSQL sees it (for the message of a skipped run). */
export interface LockHolder {
  pid: number;
  applicationName: string | null;
  clientAddress: string | null;
  backendStart: Date | null;
}

/**
 * The connection holding the run lock ended (the server restarted, an administrator ended the
 * session): the lock is gone with it, so the run stops before another one can start alongside.
 */
export class RunLockLost extends Error {
  override name = 'RunLockLost';
  constructor(cause: unknown) {
    super('lost the connection holding the run lock; stopped so that no other run overlaps with this one', { cause });
  }
}

export type RunLockResult<T> =
  | { acquired: true; value: T }
  | { acquired: false; reason: 'held' | 'aborted'; holder: LockHolder | null };

/**
 * Runs `fn` while holding the run lock: a session-level advisory lock taken on one dedicated
 * client of the pool and kept for the whole of `fn`. It is released in `finally`, and by
 * PostgreSQL itself when the process dies (the session ends), so a killed run never leaves the
 * lock behind.
 *
 * `fn` is given the signal to run under: `options.signal`, which also aborts, with a
 * {@link RunLockLost} reason, when the connection holding the lock ends while `fn` runs: the
 * lock went with it. (Without a listener, that connection's end would be an unhandled 'error'
 * event and crash the process.)
 *
 * @example
 * const outcome = await withRunLock(warehouse.pool, { mode: 'skip' }, (signal) => runPipeline({ ...options, signal }));
 * if (!outcome.acquired) log.info({ holder: outcome.holder }, 'another run is in progress; skipped');
 */
export async function withRunLock<T>(pool: pg.Pool, options: RunLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<RunLockResult<T>> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const lost = new AbortController();
  const onError = (error: Error) => {
    broken = error;
    lost.abort(new RunLockLost(error));
  };
  client.on('error', onError);
  try {
    const acquired = options.mode === 'skip' ? await tryLock(client) : await waitForLock(pool, client, options.signal);
    if (!acquired) {
      // A cancel may land just after PostgreSQL granted the lock: a session-level lock outlives
      // the cancelled statement, so this session is ended rather than handed back to the pool.
      if (options.signal?.aborted) broken ??= new Error('stopped waiting for the run lock');
      const holder = await lockHolder(pool).catch(() => null);
      return { acquired: false, reason: options.signal?.aborted ? 'aborted' : 'held', holder };
    }
    try {
      return { acquired: true, value: await fn(options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal) };
    } finally {
      await client.query('select pg_advisory_unlock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]).catch((error: Error) => {
        // A session we cannot talk to any more is discarded, which ends it and frees the lock.
        broken = error;
      });
    }
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

async function tryLock(client: pg.PoolClient): Promise<boolean> {
  const res = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [RUN_LOCK.namespace, RUN_LOCK.id]);
  return res.rows[0]?.ok === true;
}

/** How often an abort re-sends its cancel while the lock statement has not ended. */
const CANCEL_RETRY_MS = 50;

/**
 * Blocks in `pg_advisory_lock` (PostgreSQL queues the waiters) until the lock is free. An abort
 * cancels the waiting statement from another connection.
 *
 * No abort is lost: one that came while the first queries ran is seen once the listener is in
 * place, and since a cancel that reaches the session before the lock statement starts cancels
 * nothing (an idle session ignores it), the cancel is sent again until the statement ends.
 */
async function waitForLock(pool: pg.Pool, client: pg.PoolClient, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  if (await tryLock(client)) return true;
  if (!signal) {
    await client.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
    return true;
  }
  const backend = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const pid = backend.rows[0]!.pid;
  let waiting = true;
  let cancelling: Promise<void> | undefined;
  const onAbort = () => {
    cancelling ??= (async () => {
      while (waiting) {
        await pool.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined);
        if (waiting) await new Promise((r) => setTimeout(r, CANCEL_RETRY_MS));
      }
    })();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // The abort may have come while the queries above ran, before there was a listener.
    if (signal.aborted) return false;
    await client.query('select pg_advisory_lock($1, $2)', [RUN_LOCK.namespace, RUN_LOCK.id]);
    return true;
  } catch (error) {
    // 57014: query_canceled, raised by the cancel above.
    if (signal.aborted && (error as { code?: string }).code === '57014') return false;
    throw error;
  } finally {
    waiting = false;
    signal.removeEventListener('abort', onAbort);
    await cancelling;
  }
}

/** Who holds the run lock in this database, or null when nobody does. */
export async function lockHolder(pool: pg.Pool): Promise<LockHolder | null> {
  const res = await pool.query<{ pid: number; application_name: string | null; client_addr: string | null; backend_start: Date | null }>(
    `select a.pid, a.application_name, a.client_addr::text as client_addr, a.backend_start
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = $1::int::oid and l.objid = $2::int::oid and l.objsubid = 2
      limit 1`,
    [RUN_LOCK.namespace, RUN_LOCK.id],
  );
  const row = res.rows[0];
  return row ? { pid: row.pid, applicationName: row.application_name, clientAddress: row.client_addr, backendStart: row.backend_start } : null;
}

/** Kinds of run that take the run lock; a row of one still `running` when the lock is free is abandoned. */
export const LOCKED_RUN_KINDS = ['run', 'demo', 'backfill', 'quarantine retry'] as const;

/**
 * Runs left `running` by a process that died (killed, machine stopped) can only be seen once
 * the lock is ours: no live run holds it then. They are closed as failed so history and
 * `verite status` do not show them running forever.
 */
export async function markAbandonedRuns(db: Kysely<Database>, log: Logger): Promise<number> {
  const error = 'abandoned: its process ended before the run finished (killed, or the machine stopped)';
  const abandoned = await db
    .updateTable('ops.runs')
    .set({ status: 'failed', finished_at: new Date(), error })
    .where('status', '=', 'running')
    .where('kind', 'in', [...LOCKED_RUN_KINDS])
    .returning('id')
    .execute();
  if (abandoned.length === 0) return 0;
  await db
    .updateTable('ops.stream_runs')
    .set({ status: 'failed', finished_at: new Date(), error })
    .where('status', '=', 'running')
    .where('run_id', 'in', abandoned.map((r) => r.id))
    .execute();
  log.warn({ runs: abandoned.map((r) => r.id) }, `closed ${abandoned.length} run(s) left running by a process that ended`);
  return abandoned.length;
}
