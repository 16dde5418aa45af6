import { sql, type Kysely } from 'kysely';

/**
 * The settings of the transform's transaction, which builds tables from large ones, each for
 * that transaction only: no server setting changes. (The metrics refresh keeps the server's:
 * its daily table took a third longer with these.)
 */
export async function setBuildSettings(trx: Kysely<any>, workMem = '256MB'): Promise<void> {
  // Timestamps without an offset mean UTC, whatever the server's setting.
  await sql`set local timezone = 'UTC'`.execute(trx);
  // Sorts and hashes of a large shop's build (an order sequence over every order) in memory,
  // not spilled to disk in 4 MB runs (the server's default).
  await sql`select set_config('work_mem', ${workMem}, true), set_config('maintenance_work_mem', ${workMem}, true)`.execute(trx);
  // An incremental build reads a few thousand rows of million-row tables by key: on SSD storage
  // (any managed server) an index lookup costs little more than a sequential read, and the
  // default cost (4) makes the planner scan the whole table instead.
  await sql`select set_config('random_page_cost', '1.1', true)`.execute(trx);
  // A row of a staging model costs far more to compute (a JSON record decompressed and read,
  // its fields parsed and checked) than to pass from a parallel worker to the leader: at the
  // default cost of passing a row (0.1), the planner keeps a scan of a million records in one
  // process. Small tables stay in one process: parallel_setup_cost is left as it is.
  await sql`select set_config('parallel_tuple_cost', '0.01', true)`.execute(trx);
}

/**
 * A statement refused the shared memory its parallel workers share: PostgreSQL keeps it in
 * `/dev/shm` (`dynamic_shared_memory_type = posix`), which a container gets 64 MB of unless
 * given more, and a large build's parallel scans and hashes need more than that ("could not
 * resize shared memory segment … No space left on device", SQLSTATE 53100).
 */
export function sharedMemoryShortage(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return /could not (resize|create|allocate) shared memory segment/i.test(e?.message ?? '') && (e.code === undefined || e.code === '53100' || e.code === '53200');
}

/** The rest of the transaction's statements in one process each: no parallel workers, no shared memory for them. */
export async function buildInOneProcess(trx: Kysely<any>): Promise<void> {
  await sql`select set_config('max_parallel_workers_per_gather', '0', true), set_config('max_parallel_maintenance_workers', '0', true)`.execute(trx);
}

/** What the run's warnings say when a step went on in one process (the table that met the shortage first, and the server's words). */
export function sharedMemoryWarning(step: 'build' | 'refresh', table: string, error: unknown): string {
  return (
    `the server's shared memory (/dev/shm) was too small for its parallel workers (${table}: ${(error as Error).message}), so the ${step} went on in one process, slower. ` +
    'A PostgreSQL in a container gets 64 MB unless given more: run it with --shm-size=1g (shm_size: 1g in Docker Compose, as verite\'s docker-compose.yml does)'
  );
}
