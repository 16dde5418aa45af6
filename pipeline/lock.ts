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
/** What a run recorded before its stages were (migration 0033) kept: which steps it published is not known. */
const KEPT_BY_RUN =
  'the pages it committed stay, with their cursors, and the next run goes on from them; of its steps after loading (transform, metrics refresh, CLV fit), each one it finished stays published and one it had begun rolled back';

/** What a run of `kind` (run, demo, backfill, import, transform, metrics) keeps when stopped half-way, when where it was is not known. */
export function keptAfterStop(kind: string): string {
  return KEPT_BY_KIND[kind] ?? KEPT_BY_RUN;
}

/** Where a run was when it stopped, and what it had done: what {@link keptByRun} words. */
export interface RunProgress {
  kind: string;
  /** How many sources it read (none: a rebuild, a backfill's closing steps). */
  sources: number;
  /** `landing`, or the step after loading it had begun (`ops.runs.stage`); null when not recorded. */
  stage: string | null;
  /** The steps it published, in order (`ops.runs.steps_done`). */
  stepsDone: readonly string[];
  /** What its committed pages landed and quarantined. */
  landed: number;
  quarantined: number;
}

/** The steps after loading in their order, how a message names each, and what is behind while it is not published after the ones before it were. */
const STEPS: readonly { name: string; label: string; behind: string }[] = [
  { name: 'transform', label: 'the transform', behind: 'readers keep the previous build' },
  { name: 'metrics', label: 'the metrics refresh', behind: 'the metric tables are behind core until the next run' },
  { name: 'clv', label: 'the CLV fit', behind: "the predicted-CLV tables are the previous fit's until the next run" },
];

/** What the records a run of each kind landed are for afterwards. */
const LANDED_THEN: Record<string, string> = {
  run: ', with their cursors, and the next run goes on from them',
  demo: ', with their cursors, and the next run goes on from them',
  backfill: '; the backfill, run again, reads its chunk in progress again',
  import: '; import the file again to finish',
};

/** The last step a command that is not a run takes (a run takes them all). */
const LAST_STEP_OF: Record<string, string> = { transform: 'transform', metrics: 'metrics' };

const stepLabel = (name: string) => STEPS.find((s) => s.name === name)?.label ?? `the ${name} step`;
const listed = (items: readonly string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/**
 * What a run stopped half-way kept, from where it was and what it had done: the records its
 * committed pages landed, the steps it published, the one it had begun (rolled back), and
 * what is behind until the next run, e.g. `landing: 12 records were landed and kept, with
 * their cursors, and the next run goes on from them; the transform was published; the metrics
 * refresh it had begun rolled back: the metric tables are behind core until the next run`.
 * A run whose stage was not recorded gets {@link keptAfterStop}'s words for its kind.
 */
export function keptByRun(run: RunProgress): string {
  if (run.stage === null) return keptAfterStop(run.kind);
  const parts: string[] = [];
  if (run.sources > 0) {
    const { landed: n, quarantined: q } = run;
    const what = n === 0 ? 'no record was landed' : `${n} record${n === 1 ? ' was' : 's were'} landed and kept`;
    const refused = q === 0 ? '' : n === 0 ? ` (${q} quarantined)` : ` (and ${q} quarantined)`;
    parts.push(`${run.stage === 'landing' ? 'it was landing' : 'landing'}: ${what}${refused}${n + q > 0 ? (LANDED_THEN[run.kind] ?? '') : ''}`);
  }
  if (run.stage === 'landing') {
    // An import has no steps after loading.
    if (run.kind !== 'import' || parts.length === 0) parts.push('no step had begun, so readers keep the previous build');
    return parts.join('; ');
  }
  const done = run.stepsDone;
  const begun = done.includes(run.stage) ? null : run.stage;
  // What is behind: the first step, from the first this run took, that it did not publish; none
  // after the last step its kind takes (`verite transform` takes the transform alone, `verite
  // metrics refresh` the refresh, after the transform with --transform).
  const first = STEPS.findIndex((s) => s.name === (done[0] ?? run.stage));
  const last = STEPS.findIndex((s) => s.name === LAST_STEP_OF[run.kind]);
  const firstBehind = STEPS.slice(Math.max(first, 0), last < 0 ? undefined : last + 1).find((s) => !done.includes(s.name));
  const behind = firstBehind ? firstBehind.behind : "readers have this run's build";
  const published = done.length ? `${listed(done.map(stepLabel))} ${done.length === 1 ? 'was' : 'were'} published` : null;
  if (begun) {
    if (published) parts.push(published);
    parts.push(`${stepLabel(begun)} it had begun rolled back: ${behind}`);
  } else {
    parts.push(`${published}: ${behind}`);
  }
  return parts.join('; ');
}

/** What a backfill left by a process that ended says, after its pid and host. */
export const ABANDONED_BACKFILL =
  'ended before it finished (killed, or the machine stopped); the chunks it finished stay, and its chunk in progress is read again: run the same command again to resume';

/**
 * Closes the runs left `running` by a process that ended (killed, machine stopped) as failed,
 * "abandoned", with what they kept (see {@link keptByRun}: the records their committed pages
 * landed, which they count page by page, the steps they published, the one they had begun), so
 * history and `verite status` never show them running forever; and the backfills such a process
 * left `running`, as failed (resumable: the same command goes on with the chunks not done). A
 * run or backfill is dead when nobody holds its liveness lock ({@link holdLiveness}); every
 * command does this as it opens the warehouse. Runs written before liveness keys existed can
 * only be judged by a caller that holds the run lock (`holdingRunLock`): no live run of a
 * locked kind can be going on then. Backfills written before then are left as they are: one
 * waits between its chunks without the run lock. Returns how many runs and backfills it closed.
 */
export async function markAbandonedRuns(db: Kysely<Database>, log: Logger, options: { holdingRunLock?: boolean } = {}): Promise<number> {
  const itsProcess = sql<string>`'abandoned: its process' || coalesce(' (pid ' || pid || coalesce(' on ' || host, '') || ')', '') || ' '`;
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
  // The rows are locked before they are read: a page its process sent the commit of just before
  // it died is counted (the lock waits for that transaction), and a run two commands close at
  // once is closed by one.
  const abandoned = await db.transaction().execute(async (trx) => {
    const runs = await trx
      .selectFrom('ops.runs')
      .select(['id', 'kind', 'sources', 'stage', 'steps_done', 'records_landed', 'records_quarantined', sql<string>`${itsProcess}`.as('its_process')])
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb.and([eb('liveness_key', 'is not', null), lockFree]),
          ...(options.holdingRunLock ? [eb.and([eb('liveness_key', 'is', null), eb('kind', 'in', [...LOCKED_RUN_KINDS])])] : []),
        ]),
      )
      // In one order, so that two commands closing several runs at once do not lock them crosswise.
      .orderBy('id')
      .forUpdate()
      .execute();
    for (const run of runs) {
      const kept = keptByRun({
        kind: run.kind, sources: run.sources.length, stage: run.stage, stepsDone: run.steps_done, landed: Number(run.records_landed), quarantined: Number(run.records_quarantined),
      });
      await trx
        .updateTable('ops.runs')
        .set({ status: 'failed', finished_at: new Date(), error: `${run.its_process}ended before it finished (killed, or the machine stopped); ${kept}` })
        .where('id', '=', run.id)
        .execute();
    }
    if (runs.length) {
      await trx
        .updateTable('ops.stream_runs')
        .set({
          status: 'failed',
          finished_at: new Date(),
          // Its pages and counts grew page by page (loaders/raw-loader.ts), so they are what committed.
          error: sql<string>`'abandoned: its process ended before the stream finished; ' || case when pages = 0 then 'no page of it was committed'
            else case when pages = 1 then 'the page it committed stays' else 'the ' || pages || ' pages it committed stay' end
              || ' (' || records_landed || ' record' || case when records_landed = 1 then '' else 's' end || ' landed'
              || case when records_quarantined > 0 then ', ' || records_quarantined || ' quarantined' else '' end || ')' end`,
        })
        .where('status', '=', 'running')
        .where('run_id', 'in', runs.map((r) => r.id))
        .execute();
    }
    return runs;
  });
  if (abandoned.length === 0) return backfills.length;
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
