import { join, resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../lib/logger.ts';
import { registerSecret } from '../lib/logger.ts';
import { WarehouseError } from '../lib/errors.ts';
import type { Database } from './database.ts';
import { reachableDataDir, startEmbedded, type EmbeddedServer } from './embedded.ts';
import { migrateToLatest } from './migrate.ts';

// Dates stay 'YYYY-MM-DD' strings (never shifted by the process's time zone); bigint counts
// become numbers; numeric keeps its full precision as a string.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** An open warehouse: the Kysely handle, the pool under it, and how to close both. */
export interface Warehouse {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** The connection string (holds a password: never log it; use `describe`). */
  url: string;
  /** Where the warehouse is, without secrets, for messages. */
  describe: string;
  embedded: EmbeddedServer | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A PostgreSQL connection string; default `DATABASE_URL`, else the embedded server. */
  databaseUrl?: string;
  /** Folder holding `.verite/` for the embedded server (default: the working directory). */
  cwd?: string;
  /** The embedded server's folder (its cluster in `pg/`); default `VERITE_DATA_DIR`, else `.verite/` in `cwd`. */
  dataDir?: string;
  log?: Logger;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  poolSize?: number;
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

/** Opens a pool and Kysely on a connection string, without starting anything. */
export function connect(url: string, poolSize = 10): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, application_name: 'verite' });
  pool.on('error', () => undefined); // an idle client dropped by the server; the next query reconnects
  // A client checked out (a page being landed, a transform's transaction) has no listener of the
  // pool's: a server shutting down would emit an unhandled 'error' and crash the process. Its
  // queries fail instead, and the run fails saying why; the pool discards the client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}

/** Why a connection could not be made, in words (Node gives an AggregateError without a message for a host with several addresses). */
function connectionProblem(error: unknown): string {
  const e = error as { code?: string; message?: string; errors?: { message?: string }[] };
  const detail = e.message || e.errors?.map((x) => x.message).filter(Boolean).join('; ') || e.code || String(error);
  const hints: Record<string, string> = {
    ECONNREFUSED: 'connection refused: is PostgreSQL running there, and listening on that port?',
    ENOTFOUND: 'no such host',
    EAI_AGAIN: 'the host name could not be resolved',
    ETIMEDOUT: 'no answer (a firewall, or a server that is down)',
    ECONNRESET: 'the server closed the connection',
  };
  return e.code && hints[e.code] ? `${hints[e.code]} (${detail})` : detail;
}

/**
 * Opens the warehouse: `DATABASE_URL` (or `databaseUrl`) when given, else the embedded
 * PostgreSQL under `.verite/` in the working directory (or `VERITE_DATA_DIR`), started on
 * demand. Migrations run unless `migrate: false`. A server that cannot be reached is named in
 * the error, with why.
 */
export async function openWarehouse(options: OpenOptions = {}): Promise<Warehouse> {
  const log = options.log;
  let url = options.databaseUrl ?? process.env.DATABASE_URL;
  let embedded: EmbeddedServer | null = null;
  if (!url) {
    const chosen = options.dataDir ?? process.env.VERITE_DATA_DIR;
    const preferred = chosen ? join(resolve(chosen), 'pg') : join(resolve(options.cwd ?? process.cwd()), '.verite', 'pg');
    embedded = await startEmbedded({ dataDir: reachableDataDir(preferred, log, { explicit: Boolean(chosen) }), log });
    url = embedded.url;
  }
  try {
    registerSecret(new URL(url).password ? decodeURIComponent(new URL(url).password) : undefined);
  } catch {
    /* not a URL: leave it to pg to complain */
  }
  const { db, pool } = connect(url, options.poolSize);
  const close = async () => {
    await db.destroy().catch(() => undefined);
    if (embedded?.owned) await embedded.stop();
  };
  try {
    await pool.query('select 1').catch((error: unknown) => {
      const where = embedded ? `the embedded PostgreSQL in ${embedded.dataDir}` : `${describeUrl(url!)} (DATABASE_URL)`;
      // The driver's words are in the message (an AggregateError's own message is empty).
      throw new WarehouseError(`cannot connect to the warehouse at ${where}: ${connectionProblem(error)}`, '');
    });
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, pool, url, describe: embedded ? `embedded PostgreSQL in ${embedded.dataDir} (${describeUrl(url)})` : describeUrl(url), embedded, close };
}
