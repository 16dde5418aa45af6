import { ExtractError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { pollUntil } from '../poll.ts';
import type { ShopifyGraphql } from './graphql-client.ts';
import { BULK_CANCEL, BULK_RUN, BULK_STATUS } from './queries.ts';

/** A bulk operation as `node(id:)` describes it. */
export interface BulkOperationStatus {
  id: string;
  /** CREATED, RUNNING, COMPLETED, FAILED, CANCELING, CANCELED, EXPIRED; MISSING when Shopify knows no such operation. */
  status: string;
  errorCode?: string | null;
  /** Objects processed, children included: once completed, the lines of the export. UnsignedInt64, a string of digits. */
  objectCount?: string | number | null;
  /** The size in bytes of the export at `url` (UnsignedInt64, a string of digits); null while there is none. */
  fileSize?: string | number | null;
  /** The JSONL export (absent when the operation matched nothing); valid for a week. */
  url?: string | null;
  partialDataUrl?: string | null;
  createdAt?: string | null;
  completedAt?: string | null;
}

const FINISHED = new Set(['COMPLETED', 'FAILED', 'CANCELED', 'EXPIRED', 'MISSING']);

/** Polling starts a few seconds apart and slows down to this, as a long export needs minutes. */
const FIRST_POLL_MS = 2_000;
const MAX_POLL_MS = 30_000;

/** Starts a bulk query; Shopify's refusal (a bad query, another operation running) fails with its reasons. */
export async function startBulkOperation(client: ShopifyGraphql, query: string): Promise<string> {
  const data = await client.query<{
    bulkOperationRunQuery: { bulkOperation: { id: string; status: string } | null; userErrors: { code?: string | null; field?: string[] | null; message: string }[] };
  }>('bulk operation start', BULK_RUN, { query });
  const payload = data.bulkOperationRunQuery;
  if (payload.userErrors.length || !payload.bulkOperation) {
    const reasons = payload.userErrors.map((e) => (e.code ? `${e.code}: ${e.message}` : e.message)).join('; ') || 'no operation was created';
    throw new ExtractError(`Shopify refused the bulk operation: ${reasons}`, { source: client.http.source, stream: client.http.stream, request: 'GraphQL bulk operation start' });
  }
  return payload.bulkOperation.id;
}

/**
 * Asks Shopify to cancel an operation verite gave up waiting for. Shopify refuses when the
 * operation has just finished; that is only logged, as nothing is left to stop.
 */
export async function cancelBulkOperation(client: ShopifyGraphql, id: string, log: Logger): Promise<void> {
  const data = await client.query<{ bulkOperationCancel: { bulkOperation: { id: string; status: string } | null; userErrors: { message: string }[] } }>(
    'bulk operation cancel',
    BULK_CANCEL,
    { id },
  );
  const payload = data.bulkOperationCancel;
  if (payload.userErrors.length) log.warn({ operation: id, reasons: payload.userErrors.map((e) => e.message) }, 'Shopify did not cancel the bulk operation');
  else log.info({ operation: id, status: payload.bulkOperation?.status }, 'bulk operation cancelled');
}

/** A bulk operation still running when `bulkTimeoutMinutes` ran out. */
export class BulkTimeoutError extends ExtractError {
  override name = 'BulkTimeoutError';
}

export interface WaitOptions {
  /** How long the operation may take, counted from when this read began waiting. */
  timeoutMs: number;
  log: Logger;
  signal?: AbortSignal;
  onPoll?: (status: BulkOperationStatus) => void;
}

/**
 * Polls a bulk operation until it has finished (completed, failed, cancelled or expired), with
 * a growing interval. Past the time-out it throws a {@link BulkTimeoutError}: the caller
 * cancels the operation and reads its window again in smaller ones.
 */
export async function waitForBulkOperation(client: ShopifyGraphql, id: string, options: WaitOptions): Promise<BulkOperationStatus> {
  return pollUntil<BulkOperationStatus>({
    poll: async () => {
      const data = await client.query<{ node: BulkOperationStatus | null }>('bulk operation status', BULK_STATUS, { id });
      const op: BulkOperationStatus = data.node ?? { id, status: 'MISSING' };
      options.onPoll?.(op);
      return op;
    },
    finished: (op) => FINISHED.has(op.status),
    timeoutMs: options.timeoutMs,
    timedOut: (op) =>
      new BulkTimeoutError(
        `bulk operation ${id} is still ${op.status} after ${Number((options.timeoutMs / 60_000).toFixed(1))} minute(s) (bulkTimeoutMinutes)`,
        { source: client.http.source, stream: client.http.stream, request: 'GraphQL bulk operation status' },
      ),
    firstDelayMs: FIRST_POLL_MS,
    maxDelayMs: MAX_POLL_MS,
    onPause: (op, ms) => options.log.info({ operation: id, status: op.status, objects: op.objectCount, nextPollMs: ms }, 'bulk operation running'),
    signal: options.signal,
  });
}
