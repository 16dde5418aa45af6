import { ExtractError, type ErrorContext } from '../../lib/errors.ts';
import { GRPC_STATUS_NAMES, HTTP_STATUS_NAMES, TRANSIENT_STATUSES } from '../google-status.ts';
import { RetryableError } from '../../lib/http.ts';
import { exhaustedQuota, type QuotaShortfall } from './quota.ts';

/** What a Data API failure says, whichever transport raised it. */
export interface ApiFailure {
  /** The gRPC status name (`RESOURCE_EXHAUSTED` …), when known. */
  status?: string;
  /** The HTTP status, on the REST transport. */
  httpStatus?: number;
  message: string;
}

/**
 * Reads a failure of the client: on the REST transport a GaxiosError whose `status` is the
 * HTTP status and whose message is the answer's body (`{"error":{"code","message","status"}}`);
 * on gRPC a GoogleError with a numeric `code` and `details`. Undefined for anything else
 * (a network error, left to the shared retry policy).
 */
export function apiFailure(error: unknown): ApiFailure | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as { status?: unknown; code?: unknown; message?: unknown; details?: unknown };
  const text = typeof e.message === 'string' ? e.message : '';
  const httpStatus = typeof e.status === 'number' && e.status >= 100 ? e.status : typeof e.code === 'number' && e.code >= 100 ? e.code : undefined;
  if (httpStatus !== undefined) {
    const body = parseErrorBody(text);
    return { status: body?.status ?? HTTP_STATUS_NAMES[httpStatus], httpStatus, message: body?.message ?? text };
  }
  if (typeof e.code === 'number' && GRPC_STATUS_NAMES[e.code]) {
    return { status: GRPC_STATUS_NAMES[e.code], message: typeof e.details === 'string' && e.details ? e.details : text };
  }
  return undefined;
}

function parseErrorBody(text: string): { status?: string; message?: string } | undefined {
  try {
    const body = JSON.parse(text) as { error?: { status?: unknown; message?: unknown } };
    const status = typeof body.error?.status === 'string' ? body.error.status : undefined;
    const message = typeof body.error?.message === 'string' ? body.error.message : undefined;
    return status || message ? { status, message } : undefined;
  } catch {
    return undefined;
  }
}

/** The message of a quota stop: which quota, what is left, when to run again. */
export function quotaStopMessage(propertyId: string, shortfall: QuotaShortfall, reserve: number, landedThrough: string | undefined): string {
  const left = shortfall.remaining <= 0 ? `has exhausted its ${shortfall.quota}` : `has ${shortfall.remaining} ${shortfall.quota} left`;
  const floor = shortfall.quota.startsWith('tokens') && shortfall.remaining > 0 ? ` (quotaReserve is ${reserve})` : '';
  const landed = landedThrough ? `; dates through ${landedThrough} are landed` : '';
  return `GA4 property ${propertyId} ${left}${floor}: stopping before the quota runs out${landed}. Run again ${shortfall.refills}.`;
}

/**
 * Turns a failed runReport into what the retry policy needs: a {@link RetryableError} for
 * transient failures and for too many concurrent requests, an {@link ExtractError} with what
 * to do for the rest (an exhausted token quota is not retried: only time refills it), or the
 * error itself when it is not the API's (network errors, which the shared policy retries).
 * A quota stop and a refused credential, property or request are permanent: the pipeline does
 * not try the stream again in the same run.
 */
export function translateFailure(error: unknown, context: ErrorContext & { propertyId: string; reserve: number; landedThrough?: string }): unknown {
  const failure = apiFailure(error);
  if (!failure) {
    // The client's HTTP layer aborts a request at the time-out; nothing else aborts it.
    if (aborted(error)) return new RetryableError('no answer within the time-out (timeoutSeconds)', undefined, undefined, { cause: error });
    return error;
  }
  const { propertyId, reserve, landedThrough, ...where } = context;
  const at: ErrorContext = { ...where, status: failure.httpStatus };
  const said = `${failure.status ?? 'error'}: ${failure.message}`;
  switch (failure.status) {
    case 'RESOURCE_EXHAUSTED': {
      const quota = exhaustedQuota(failure.message);
      if (quota) return new ExtractError(quotaStopMessage(propertyId, quota, reserve, landedThrough), at, { cause: error, permanent: true });
      return new RetryableError(said, failure.httpStatus, undefined, { cause: error });
    }
    case 'PERMISSION_DENIED':
      return new ExtractError(
        `the credential may not read GA4 property ${propertyId} (${said}). Add the service account's e-mail as a Viewer under ` +
          'Admin → Property access management, and enable the Google Analytics Data API in its Google Cloud project',
        at,
        { cause: error, permanent: true },
      );
    case 'UNAUTHENTICATED':
      return new ExtractError(`Google refused the credential (${said}); check credentialsFile, or the application default credentials`, at, { cause: error, permanent: true });
    case 'NOT_FOUND':
      return new ExtractError(`GA4 property ${propertyId} was not found (${said}); check propertyIds (Admin → Property details)`, at, { cause: error, permanent: true });
    case 'INVALID_ARGUMENT':
      return new ExtractError(`GA4 refused the request (${said})`, at, { cause: error, permanent: true });
    default:
      if (failure.status && TRANSIENT_STATUSES.has(failure.status)) return new RetryableError(said, failure.httpStatus, undefined, { cause: error });
      if (failure.httpStatus !== undefined && failure.httpStatus >= 500) return new RetryableError(said, failure.httpStatus, undefined, { cause: error });
      return new ExtractError(`GA4 answered ${said}`, at, { cause: error });
  }
}

function aborted(error: unknown): boolean {
  const names = [error, (error as { cause?: unknown } | undefined)?.cause].map((e) => (e && typeof e === 'object' ? (e as { name?: unknown }).name : undefined));
  return names.some((name) => name === 'AbortError' || name === 'TimeoutError');
}
