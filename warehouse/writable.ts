import type pg from 'pg';
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

/** Throws a {@link WarehouseError} saying why when the warehouse behind `client` takes no writes. */
export async function requireWritable(client: pg.ClientBase): Promise<void> {
  const row = (await client.query<ReadOnlyRow>(READ_ONLY_QUERY)).rows[0]!;
  const reason = readOnlyReason(row);
  if (reason) throw new WarehouseError(reason, '');
}

/** The same, for a Kysely handle (the migrations). */
export async function readOnlyReasonOf(db: Kysely<any>): Promise<string | null> {
  return readOnlyReason((await sql.raw<ReadOnlyRow>(READ_ONLY_QUERY).execute(db)).rows[0]!);
}
