import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { WarehouseError } from '../lib/errors.ts';

/** Where `default_transaction_read_only` was set, in the words of a message (pg_settings.source). */
const SET_BY: Record<string, string> = {
  database: 'for the database (ALTER DATABASE … SET)',
  user: 'for the login (ALTER ROLE … SET)',
  'database user': 'for the login in this database (ALTER ROLE … IN DATABASE … SET)',
  'configuration file': "in the server's configuration",
};

const READ_ONLY_QUERY = `select current_database() as database, pg_is_in_recovery() as standby,
  current_setting('transaction_read_only') as read_only,
  (select source from pg_settings where name = 'default_transaction_read_only') as source`;

interface ReadOnlyRow {
  database: string;
  standby: boolean;
  read_only: string;
  source: string | null;
}

/**
 * Why the warehouse takes no writes, or null when it does: a standby (a read replica), or a
 * database whose sessions are read-only by default (`default_transaction_read_only`, which a
 * managed service also sets when its storage is nearly full). Asked before a command that writes
 * starts, so that it fails saying so rather than on its first insert ("cannot execute nextval()
 * in a read-only transaction"); a standby still serves the commands that only read.
 */
export function readOnlyReason(row: ReadOnlyRow): string | null {
  const { database, standby, read_only: readOnly, source } = row;
  if (standby) {
    return (
      `database "${database}" is on a standby (a read replica), which takes no writes: point DATABASE_URL at the primary. ` +
      'A standby can serve verite query, status, report and serve, which only read'
    );
  }
  if (readOnly !== 'on') return null;
  const where = (source && SET_BY[source]) ?? (source ? `(${source})` : '');
  return (
    `database "${database}" takes no writes: its sessions are read-only, default_transaction_read_only being on ${where}. ` +
    'A managed service sets it when the storage is nearly full: free or add storage. Set on purpose, have it turned off for verite\'s login ' +
    `(ALTER ROLE <login> IN DATABASE "${database}" SET default_transaction_read_only = off)`
  );
}

const TEMPORARY_QUERY = `select current_user as login, current_database() as database, pg_get_userbyid(d.datdba) as owner,
  has_database_privilege(current_user, d.oid, 'TEMPORARY') as temporary
  from pg_database d where d.datname = current_database()`;

interface TemporaryRow {
  login: string;
  database: string;
  owner: string;
  temporary: boolean;
}

/**
 * What verite's login lacks when it may not create temporary tables in its database, and the
 * grant that gives it back. Every login has `TEMPORARY` through `PUBLIC` until the database's
 * owner revokes it from `PUBLIC` (docs/bi.md has the owner do so, for the BI role), and then a
 * login that does not own the database has it only by name; loading a page, the transform, the
 * metrics refresh and the CLV fit each create temporary tables. `owner` unknown: "the database's owner".
 */
export function temporaryAdvice(who: { login: string; database: string; owner?: string }): string {
  const { login, database, owner } = who;
  return (
    `verite's login "${login}" may not create temporary tables in database "${database}", which loading, the transform, the metrics refresh and the CLV fit do ` +
    `(every login has that right through PUBLIC until it is revoked from PUBLIC): have the database's owner${owner ? ` "${owner}"` : ''} run GRANT TEMPORARY ON DATABASE "${database}" TO "${login}"`
  );
}

/** {@link temporaryAdvice} when the login behind `db` lacks TEMPORARY on its database, else null. */
export async function temporaryProblemOf(db: Kysely<any>): Promise<string | null> {
  const row = (await sql.raw<TemporaryRow>(TEMPORARY_QUERY).execute(db)).rows[0]!;
  return row.temporary ? null : temporaryAdvice(row);
}

/**
 * The server's refusal of a temporary table (42501, "permission denied to create temporary
 * tables in database …") with what to grant, or null for any other error. Said in the words the
 * client connected with: the transaction it failed in takes no further query.
 */
export function temporaryRefusal(error: unknown, client: { user?: string; database?: string }): string | null {
  const e = error as { code?: unknown; message?: unknown };
  if (e?.code !== '42501' || !/temporary tables/i.test(String(e.message))) return null;
  if (!client.user || !client.database) return `${String(e.message)}: have the database's owner grant TEMPORARY on it to verite's login`;
  return `${String(e.message)}: ${temporaryAdvice({ login: client.user, database: client.database })}`;
}

/**
 * Throws a {@link WarehouseError} saying why when the warehouse behind `client` takes no writes,
 * or is reached through a pooler in transaction mode, where the run lock would stay with a
 * server session other clients then use ({@link transactionPooler}), or when verite's login may
 * not create the temporary tables every command that writes needs ({@link temporaryAdvice}).
 */
export async function requireWritable(client: pg.ClientBase, pool?: pg.Pool): Promise<void> {
  const { host, port } = client as unknown as { host?: string; port?: number };
  const pooler = host ? transactionPooler(host, port ?? 5432) : null;
  if (pooler) throw new WarehouseError(pooler, '');
  // Both questions in one round trip.
  const row = (await client.query<ReadOnlyRow & TemporaryRow>(`select r.*, t.login, t.owner, t.temporary from (${READ_ONLY_QUERY}) r, (${TEMPORARY_QUERY}) t`)).rows[0]!;
  const reason = readOnlyReason(row);
  if (reason) throw new WarehouseError(reason, '');
  if (!row.temporary) throw new WarehouseError(temporaryAdvice(row), '');
  const pooled = pool ? await transactionPooling(pool, client) : null;
  if (pooled) throw new WarehouseError(pooled, '');
}

/** The pools found pooled by transaction or not, each asked once per process ({@link transactionPooling}). */
const pooling = new WeakMap<pg.Pool, string | null>();

/**
 * Whether the warehouse's connections are pooled by transaction (or by statement), whatever the
 * pooler's name: a PgBouncer or Pgpool of the shop's own, or a provider's that
 * {@link transactionPooler} does not know. Two connections of `pool` (`client`, when given, and
 * one more), open at once, each ask for their server session's process id three times in turn.
 * On the server itself, or through a pooler in session mode, each keeps its own session, so the
 * ids differ and stay; pooled by transaction, a statement runs on whichever session is free, so
 * the two share one (PgBouncer hands back the session used last) or one moves. Then verite's run
 * lock and session settings would not stay with the connection that took them: a message saying
 * so and what to connect to, else null. Asked once per pool (a scheduler's runs share the answer).
 * Without a connection to spare the probe cannot tell: null, not remembered.
 */
export async function transactionPooling(pool: pg.Pool, client?: pg.ClientBase): Promise<string | null> {
  const known = pooling.get(pool);
  if (known !== undefined) return known;
  const own = client ? undefined : await pool.connect();
  const first = client ?? own!;
  // A client of its own, not the pool's: a pool of one connection, taken by `client`, would wait forever.
  const second = new pg.Client(pool.options);
  second.on('error', () => undefined);
  try {
    try {
      await second.connect();
      // Set up as the pool sets up its own (verite's session settings): a proxy that keeps a
      // connection on one server session once it sets something (Amazon RDS Proxy "pins" it)
      // keeps verite's connections so, and must be seen to keep this one so too.
      await (pool.options as { onConnect?: (client: pg.ClientBase) => unknown }).onConnect?.(second);
    } catch {
      // No connection to spare (the server's limit reached): the probe cannot tell, and the
      // command goes on; its own connections say what is wrong, if anything is.
      return null;
    }
    const pid = async (c: pg.ClientBase) => Number((await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    const ids = { first: new Set<number>(), second: new Set<number>() };
    for (let round = 0; round < 3; round++) {
      ids.first.add(await pid(first));
      ids.second.add(await pid(second));
    }
    const shared = [...ids.first].find((id) => ids.second.has(id));
    const moved = ids.first.size > 1 || ids.second.size > 1;
    const seen =
      shared !== undefined
        ? `two connections of verite were served by one server session, process ${shared}`
        : `one connection of verite was served by server sessions ${[...(ids.first.size > 1 ? ids.first : ids.second)].join(', ')} in turn`;
    const reason =
      shared !== undefined || moved
        ? `DATABASE_URL reaches PostgreSQL through a connection pooler in transaction or statement mode (${seen}): verite's run lock and session settings would not stay with the connection that took them. ` +
          "Point DATABASE_URL at the pooler's session mode (PgBouncer: pool_mode = session for verite's database or login), or at the server itself"
        : null;
    pooling.set(pool, reason);
    return reason;
  } finally {
    await second.end().catch(() => undefined);
    own?.release();
  }
}

/**
 * Whether `host:port` is a provider's pooler in transaction mode, by the names and ports the
 * providers publish, and what to connect to instead; null otherwise. Through one, each
 * transaction may run on another server session: verite's session settings and its run lock,
 * which are a session's, would not stay with verite (the lock would be left on a session the
 * pooler hands to others, and later runs would wait for it or overlap). A pooler of one's own
 * cannot be told from the server by its name: {@link transactionPooling} finds it by how it
 * serves two connections.
 *
 * - Supabase's shared pooler (Supavisor), `<region>.pooler.supabase.com`: port 6543 is its
 *   transaction mode, 5432 its session mode; its dedicated pooler (PgBouncer) is port 6543 of
 *   the direct host `db.<project>.supabase.co`, whose 5432 is the server itself.
 * - Neon's pooled connection (PgBouncer in transaction mode) is the endpoint's host with
 *   `-pooler` after the endpoint id; the same host without it is the direct connection.
 */
export function transactionPooler(host: string, port: number): string | null {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name.endsWith('.pooler.supabase.com') && port === 6543) {
    return `${name}:6543 is Supabase's shared pooler in transaction mode, where verite's run lock and session settings would not stay with it: use port 5432 of the same host (its session mode), or the direct connection`;
  }
  if (/^db\.[^.]+\.supabase\.co$/.test(name) && port === 6543) {
    return `${name}:6543 is Supabase's dedicated pooler (PgBouncer in transaction mode), where verite's run lock and session settings would not stay with it: use port 5432 of the same host, the direct connection`;
  }
  if (/^ep-[^.]+-pooler\./.test(name) && name.endsWith('.neon.tech')) {
    return `${name} is Neon's pooled connection (PgBouncer in transaction mode), where verite's run lock and session settings would not stay with it: use the direct connection, ${name.replace(/-pooler\./, '.')}`;
  }
  return null;
}

/** The same, for a Kysely handle (the migrations). */
export async function readOnlyReasonOf(db: Kysely<any>): Promise<string | null> {
  return readOnlyReason((await sql.raw<ReadOnlyRow>(READ_ONLY_QUERY).execute(db)).rows[0]!);
}
