import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Logger } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';
import { requireWritable } from '../warehouse/writable.ts';

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
  /** The role the session logged in as (a BI role can take an advisory lock as any role can). */
  role: string | null;
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
 * lock behind. A warehouse that takes no writes (a standby, or read-only sessions) is refused
 * with a {@link WarehouseError} saying so, before the lock is taken.
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
    // Whatever holds the lock writes: a warehouse that takes no writes, or a pooler that would not
    // keep the lock with this session, is said so before it starts.
    await requireWritable(client, pool);
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
  const res = await pool.query<{ pid: number; role: string | null; application_name: string | null; client_addr: string | null; backend_start: Date | null }>(
    `select a.pid, a.usename::text as role, a.application_name, a.client_addr::text as client_addr, a.backend_start
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = $1::int::oid and l.objid = $2::int::oid and l.objsubid = 2
      limit 1`,
    [RUN_LOCK.namespace, RUN_LOCK.id],
  );
  const row = res.rows[0];
  return row ? { pid: row.pid, role: row.role, applicationName: row.application_name, clientAddress: row.client_addr, backendStart: row.backend_start } : null;
}

/** Kinds of run that take the run lock; a row of one still `running` when the lock is free is abandoned. */
export const LOCKED_RUN_KINDS = ['run', 'demo', 'backfill', 'quarantine retry'] as const;

/**
 * The namespace of the liveness locks: while a run recorded in `ops.runs` is going on, its
 * process holds the session-level advisory lock (this namespace, the row's `liveness_key`).
 * PostgreSQL releases it when the session ends, however the process ended, which is how a live
 * run is told from a dead one without trusting a pid on another machine.
 */
export const LIVENESS_LOCK_NAMESPACE = 0x76726c76;

/** A liveness lock held on its own session of the pool, until {@link RunLiveness.release}. */
export interface RunLiveness {
  key: number;
  release(): Promise<void>;
}

/**
 * Takes a new liveness lock (the next `ops.run_liveness_key`) on a session kept for the run.
 * Take it before the run's row is written, so that a `running` row is never seen without it.
 */
export async function holdLiveness(pool: pg.Pool): Promise<RunLiveness> {
  const client = await pool.connect();
  try {
    // A run writes: a warehouse that takes none is said so before its row is attempted.
    await requireWritable(client);
    const res = await client.query<{ key: number }>(`select nextval('ops.run_liveness_key')::int as key`);
    const key = res.rows[0]!.key;
    return { key, release: await lockSession(client, LIVENESS_LOCK_NAMESPACE, key) };
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

/**
 * A session-level advisory lock (`namespace`, and `key` as a number or, as text, its
 * `hashtext`) held on a session of the pool kept for it, waited for at most `lockTimeout` (a
 * PostgreSQL interval; `lock_not_available`, 55P03, past it). Resolves to what releases it.
 */
export async function holdSessionLock(pool: pg.Pool, namespace: number, key: number | string, options: { lockTimeout?: string } = {}): Promise<() => Promise<void>> {
  const client = await pool.connect();
  try {
    return await lockSession(client, namespace, key, options.lockTimeout);
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
}

/**
 * Takes the lock on `client` and gives back its release, which unlocks and returns the session
 * to the pool, or discards a session it cannot talk to (which ends it and frees the lock). The
 * caller releases the client if taking the lock throws.
 */
async function lockSession(client: pg.PoolClient, namespace: number, key: number | string, lockTimeout?: string): Promise<() => Promise<void>> {
  const keyed = typeof key === 'string' ? 'hashtext($2)' : '$2';
  if (lockTimeout) await client.query(`select set_config('lock_timeout', $1, false)`, [lockTimeout]);
  await client.query(`select pg_advisory_lock($1, ${keyed})`, [namespace, key]);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    let broken: Error | undefined;
    try {
      await client.query(`select pg_advisory_unlock($1, ${keyed})`, [namespace, key]);
      if (lockTimeout) await client.query('reset lock_timeout');
    } catch (error) {
      broken = error as Error;
    }
    client.release(broken);
  };
}

/** What a run of each kind keeps when it is stopped half-way (its process killed, the warehouse gone). */
const KEPT_BY_KIND: Record<string, string> = {
  transform: "its transaction rolled back: staging and core are the previous build's",
  metrics: 'its transaction rolled back: the metric tables are the previous ones',
  import: 'the pages it committed stay',
};
const KEPT_BY_RUN = 'the pages it committed stay, with their cursors, and the next run goes on from them; a transform or metrics refresh it had begun rolled back, so readers keep the previous build';

/** What a run of `kind` (run, demo, backfill, import, transform, metrics) keeps when stopped half-way. */
export function keptAfterStop(kind: string): string {
  return KEPT_BY_KIND[kind] ?? KEPT_BY_RUN;
}

/** What a backfill left by a process that ended says, after its pid and host. */
export const ABANDONED_BACKFILL =
  'ended before it finished (killed, or the machine stopped); the chunks it finished stay, and its chunk in progress is read again: run the same command again to resume';

/**
 * Closes the runs left `running` by a process that ended (killed, machine stopped) as failed,
 * "abandoned", with what they kept, so history and `verite status` never show them running
 * forever; and the backfills such a process left `running`, as failed (resumable: the same
 * command goes on with the chunks not done). A run or backfill is dead when nobody holds its
 * liveness lock ({@link holdLiveness}); every command does this as it opens the warehouse. Runs
 * written before liveness keys existed can only be judged by a caller that holds the run lock
 * (`holdingRunLock`): no live run of a locked kind can be going on then. Backfills written
 * before then are left as they are: one waits between its chunks without the run lock.
 * Returns how many runs and backfills it closed.
 */
export async function markAbandonedRuns(db: Kysely<Database>, log: Logger, options: { holdingRunLock?: boolean } = {}): Promise<number> {
  const kept = sql<string>`case ${sql.join(
    Object.entries(KEPT_BY_KIND).map(([kind, text]) => sql`when kind = ${kind} then ${text}`),
    sql` `,
  )} else ${KEPT_BY_RUN} end`;
  const itsProcess = sql<string>`'abandoned: its process' || coalesce(' (pid ' || pid || coalesce(' on ' || host, '') || ')', '') || ' '`;
  const error = sql<string>`${itsProcess} || 'ended before it finished (killed, or the machine stopped); ' || ${kept}`;
  const lockFree = sql<boolean>`not exists (
    select 1 from pg_locks l
     where l.locktype = 'advisory' and l.granted
       and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = ${LIVENESS_LOCK_NAMESPACE}::int::oid and l.objid = liveness_key::oid and l.objsubid = 2)`;
  const backfills = await db
    .updateTable('ops.backfills')
    .set({ status: 'failed', updated_at: new Date(), error: sql<string>`${itsProcess} || ${ABANDONED_BACKFILL}` })
    .where('status', '=', 'running')
    .where('liveness_key', 'is not', null)
    .where(lockFree)
    .returning(['id'])
    .execute();
  if (backfills.length) log.warn({ backfills: backfills.map((b) => b.id) }, `closed ${backfills.length} backfill(s) left running by a process that ended; the same command resumes each`);
  const abandoned = await db
    .updateTable('ops.runs')
    .set({ status: 'failed', finished_at: new Date(), error })
    .where('status', '=', 'running')
    .where((eb) =>
      eb.or([
        eb.and([eb('liveness_key', 'is not', null), lockFree]),
        ...(options.holdingRunLock ? [eb.and([eb('liveness_key', 'is', null), eb('kind', 'in', [...LOCKED_RUN_KINDS])])] : []),
      ]),
    )
    .returning(['id', 'kind', 'error'])
    .execute();
  if (abandoned.length === 0) return backfills.length;
  await db
    .updateTable('ops.stream_runs')
    .set({ status: 'failed', finished_at: new Date(), error: 'abandoned: its process ended before the stream finished; the pages it committed stay' })
    .where('status', '=', 'running')
    .where('run_id', 'in', abandoned.map((r) => r.id))
    .execute();
  log.warn({ runs: abandoned.map((r) => `${r.id} (${r.kind})`) }, `closed ${abandoned.length} run(s) left running by a process that ended`);
  return abandoned.length + backfills.length;
}

/**
 * Runs `fn` under the run lock, waiting for it if another run holds it (what `verite import` and
 * `verite transform` do: the incremental transform reads its change log with no page in flight).
 */
export async function whileHoldingRunLock<T>(pool: pg.Pool, fn: () => Promise<T>): Promise<T> {
  const locked = await withRunLock(pool, { mode: 'wait' }, fn);
  if (!locked.acquired) throw new Error('the run lock could not be taken');
  return locked.value;
}
