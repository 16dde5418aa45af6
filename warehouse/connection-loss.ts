import pg from 'pg';
import { ExtractError } from '../lib/errors.ts';
import { driverUrl } from './connection.ts';

/**
 * SQLSTATEs of a server that went away: 57P01 admin_shutdown (a shutdown, or an administrator
 * ended the session), 57P02 crash_shutdown, 57P03 cannot_connect_now ("the database system is
 * shutting down"), and class 08, connection exceptions.
 */
const LOST_STATES = /^(57P0[123]|08\d{3})$/;
/** Node's codes for a connection that was cut or could not be made again. */
const LOST_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** What pg says when the socket closed under it (no code), and the server's own words. */
const LOST_TEXT =
  /Connection terminated|connection error and is not queryable|server closed the connection unexpectedly|terminating connection due to administrator command|the database system is (shutting down|starting up|in recovery mode)|read ECONNRESET|connect ECONNREFUSED/i;

/**
 * The driver's words when `error` (or one of its causes) means the connection to the warehouse
 * was lost: the server shut down or restarted, or the connection was cut. Null for any other
 * error. Also takes a message alone (a step's summary). An {@link ExtractError} is a source's
 * failure (a provider's connection reset is not the warehouse's), and is never one.
 *
 * @example
 * warehouseLoss(new Error('terminating connection due to administrator command')) // that text
 */
export function warehouseLoss(error: unknown, depth = 0): string | null {
  if (error === null || error === undefined || depth > 8) return null;
  if (typeof error === 'string') return LOST_TEXT.exec(error) ? error : null;
  if (typeof error !== 'object' || error instanceof ExtractError) return null;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (typeof e.code === 'string' && (LOST_STATES.test(e.code) || LOST_CODES.has(e.code))) return message || e.code;
  if (message && LOST_TEXT.test(message)) return message;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = warehouseLoss(inner, depth + 1);
      if (found) return found;
    }
  }
  return e.cause !== error ? warehouseLoss(e.cause, depth + 1) : null;
}

/**
 * The driver's words when `suspect` looks like a lost connection ({@link warehouseLoss}) AND a
 * fresh connection to `url` fails too: the warehouse itself is gone (shut down, restarting,
 * unreachable), not merely one session ended (an administrator's `pg_terminate_backend`), after
 * which the run goes on or fails as usual. Null otherwise. The check gives up after 5 s.
 */
export async function confirmedLoss(url: string, suspect: unknown): Promise<string | null> {
  const words = warehouseLoss(suspect);
  if (!words) return null;
  const client = new pg.Client({ connectionString: driverUrl(url), connectionTimeoutMillis: 5000, query_timeout: 5000, application_name: 'verite' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch {
    return words;
  } finally {
    await client.end().catch(() => undefined);
  }
}
