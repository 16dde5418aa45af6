import { statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** `statfs`'s type of a tmpfs (Linux's TMPFS_MAGIC). */
const TMPFS = 0x01021994;
/**
 * The room a memory-backed folder must have free to take the test server: its data (the suite's
 * databases, each dropped when its file ends, and the write-ahead log) came to 281 MiB at the
 * most in a whole run; the rest is left to what else uses the folder (PostgreSQL's parallel
 * workers share memory through `/dev/shm`). Docker gives a container 64 MiB there: the temp
 * folder, then.
 */
export const TMPFS_ROOM = 1024 ** 3;

/**
 * Where the suite's shared embedded PostgreSQL keeps its data: `VERITE_TEST_PG_ROOT` when set,
 * else `/dev/shm` when it is a tmpfs open to every user (with the sticky bit, as the server may
 * run as the unprivileged `postgres` user) with {@link TMPFS_ROOM} free, else the system temp
 * folder. The files that test the embedded warehouse's own folders start servers of their own,
 * where those tests put them. PostgreSQL creates a file for every table, index and temporary
 * table: on a 2-core machine's disk that took 1.1 ms a file against 0.01 ms on tmpfs, and the
 * incremental builds the tests run night after night create some 170 temporary tables a night;
 * the whole suite took 412 s in memory against 530–557 s on the disk. Durability is not what
 * the suite tests (the server runs with `fsync` off). A run killed before its teardown leaves
 * its folder there, in memory until it is removed or the machine restarts.
 */
export function clusterRoot(candidates: { env?: string; shm?: string } = {}): string {
  const env = candidates.env ?? process.env.VERITE_TEST_PG_ROOT;
  if (env) return env;
  const shm = candidates.shm ?? '/dev/shm';
  try {
    const fs = statfsSync(shm);
    const open = (statSync(shm).mode & 0o1777) === 0o1777;
    if (fs.type === TMPFS && open && fs.bavail * fs.bsize >= TMPFS_ROOM) return shm;
  } catch {
    // no such folder: the temp folder
  }
  return tmpdir();
}
