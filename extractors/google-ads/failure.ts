import { createRequire } from 'node:module';
import { ExtractError, type ErrorContext } from '../../lib/errors.ts';
import { GRPC_STATUS_NAMES, HTTP_STATUS_NAMES, TRANSIENT_STATUSES } from '../google-status.ts';
import { RetryableError } from '../../lib/http.ts';

const require = createRequire(import.meta.url);

const SUNSET_DATES = 'https://developers.google.com/google-ads/api/docs/sunset-dates';

/** A quota refusal that asks to wait longer than this is a daily limit: the run stops instead. */
const LONGEST_WAIT_MS = 10 * 60_000;

/** One error of a GoogleAdsFailure: its code as `category.VALUE` (values may be enum names or numbers). */
interface AdsError {
  category: string;
  value: string | number;
  message: string;
  retryDelayMs?: number;
}

/** Where a failure happened, and what the client says about its API version. */
export interface AdsFailureContext extends ErrorContext {
  customerId: string;
  apiVersion?: string;
  library?: string;
}

/**
 * Turns a failure of google-ads-api into what the retry policy needs: a {@link RetryableError}
 * for quota waits and transient errors, an {@link ExtractError} saying what to do for the rest
 * (above all an API version Google no longer serves), or the error itself when it is not the
 * API's (network errors, which the shared policy retries). Refusals that no new attempt in the
 * same run can change (a shut-off version, a refused credential or customer, a daily operations
 * limit) are permanent: the pipeline does not try the stream again.
 *
 * google-ads-api raises a `GoogleAdsFailure` (a protobuf message, not an Error: `errors[]` of
 * `{error_code: {<category>: <code>}, message}` and `request_id`) when Google's answer carries
 * one; an Error whose `cause` is the answer's `error` object (`code`, `status`, `message`) when
 * it does not; a gRPC-style error with a numeric `code`; and, when the answer is not JSON at
 * all (an HTML 404 page), the JSON parser's own error, without the HTTP status.
 */
export function translateAdsFailure(error: unknown, context: AdsFailureContext): unknown {
  const { customerId, apiVersion, library, ...where } = context;
  const errors = adsErrors(error);
  if (errors) {
    const requestId = (error as { request_id?: unknown }).request_id;
    const said = errors.map((e) => `${e.category}.${e.value}: ${e.message}`).join('; ') + (typeof requestId === 'string' && requestId ? ` (request id ${requestId})` : '');
    if (errors.some(isSunset)) return sunsetError(said, context, where, error);
    const quota = errors.find((e) => e.category === 'quota_error');
    if (quota) {
      const wait = quota.retryDelayMs ?? retryInMessage(quota.message);
      if (wait !== undefined && wait > LONGEST_WAIT_MS) {
        return new ExtractError(
          `Google Ads refuses more requests for ${Math.round(wait / 60_000)} minutes (${said}). A wait this long is the developer token's ` +
            'daily operations limit (Explorer and Basic access have one, 15,000 operations a day for Basic; Standard access has none): ' +
            'run again later, or apply for a higher access level in the API Center',
          where,
          { cause: error, permanent: true },
        );
      }
      return new RetryableError(said, 429, wait, { cause: error });
    }
    if (errors.every((e) => e.category === 'internal_error')) return new RetryableError(said, undefined, undefined, { cause: error });
    const hint = errors.map((e) => HINTS[`${e.category}.${e.value}`]?.(customerId)).find((h) => h);
    // An access token that expired mid-run is the one refusal a new attempt (a new token) cures.
    const permanent = !errors.some((e) => e.category === 'authentication_error' && e.value === 'OAUTH_TOKEN_EXPIRED');
    return new ExtractError(`Google Ads refused the query for customer ${customerId}: ${said}${hint ? `. ${hint}` : ''}`, where, { cause: error, permanent });
  }

  const oauth = oauthError(error);
  if (oauth) return new ExtractError(oauth, where, { cause: error, permanent: true });

  const status = statusOf(error);
  if (status) {
    const said = `${status.name}: ${status.message}`;
    const at = { ...where, status: status.http };
    if (status.name === 'UNIMPLEMENTED' || status.http === 404) return sunsetError(said, context, at, error);
    if (status.name === 'RESOURCE_EXHAUSTED') return new RetryableError(said, status.http ?? 429, retryInMessage(status.message), { cause: error });
    if (TRANSIENT_STATUSES.has(status.name) || (status.http ?? 0) >= 500) return new RetryableError(said, status.http, undefined, { cause: error });
    return new ExtractError(`Google Ads refused the query for customer ${customerId}: ${said}`, at, { cause: error, permanent: true });
  }

  const message = error instanceof Error ? error.message : '';
  if (/Parser cannot parse input|Top-level object should be an array|Parser has expected/i.test(message)) {
    return new ExtractError(
      `Google Ads answered with something other than an API response (${message}). google-ads-api drops the HTTP status of such ` +
        `answers; Google answers this way (HTTP 404) for an API version it has shut off. This verite speaks ${versionText(context)}: if ` +
        `${apiVersion ?? 'that version'} is past its sunset date (${SUNSET_DATES}), upgrade verite to a release that pins a newer google-ads-api`,
      where,
      // Taken as the sunset it almost always is: the same request would get the same page.
      { cause: error, permanent: true },
    );
  }
  return error;
}

function versionText(context: AdsFailureContext): string {
  if (context.apiVersion && context.library) return `Google Ads API ${context.apiVersion} through ${context.library}`;
  return context.apiVersion ? `Google Ads API ${context.apiVersion}` : 'the Google Ads API version its google-ads-api pins';
}

function sunsetError(said: string, context: AdsFailureContext, where: ErrorContext, cause: unknown): ExtractError {
  const version = context.apiVersion ?? /\bv(\d+)\b/i.exec(said)?.[0] ?? 'this API version';
  return new ExtractError(
    `Google Ads no longer serves ${version} (${said}). This verite speaks ${versionText(context)}, and Google shuts each Google Ads API ` +
      `version off about a year after its release (${SUNSET_DATES}). Upgrade verite to a release that pins a newer google-ads-api`,
    where,
    { cause, permanent: true },
  );
}

function isSunset(e: AdsError): boolean {
  if (e.category === 'request_error' && (e.value === 'UNSUPPORTED_VERSION' || e.value === 38)) return true;
  return /\bversion v?\d+\b.*\b(deprecated|sunset|no longer)/i.test(e.message);
}

/** What to do about the refusals a new setup meets first. */
const HINTS: Record<string, (customerId: string) => string> = {
  'authorization_error.DEVELOPER_TOKEN_NOT_APPROVED': () => 'The developer token has Test access, which reaches test accounts only: apply for Basic access in the API Center of the manager account that owns it',
  'authorization_error.DEVELOPER_TOKEN_PROHIBITED': () => 'The developer token may not be used with this Google Cloud project: use the OAuth client of the project the token was first used with',
  'authorization_error.USER_PERMISSION_DENIED': (id) =>
    `The Google account of the refresh token has no access to customer ${id} directly: set loginCustomerId to the manager account through which it has`,
  'authorization_error.CUSTOMER_NOT_ENABLED': (id) => `Customer ${id} is not enabled (cancelled or not set up): remove it from customerIds`,
  'authentication_error.OAUTH_TOKEN_EXPIRED': () => 'The access token expired mid-run; run again',
  'authentication_error.NOT_ADS_USER': () => 'The Google account of the refresh token has no Google Ads account: create the refresh token with a user of the accounts',
  'request_error.INVALID_CUSTOMER_ID': () => 'Check customerIds: ten digits, with or without dashes',
  'query_error.REQUESTED_METRICS_FOR_MANAGER': (id) => `Customer ${id} is a manager account: list its client accounts in customerIds and put the manager in loginCustomerId`,
};

/** The errors of a GoogleAdsFailure, or undefined when `error` is not one. */
function adsErrors(error: unknown): AdsError[] | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const list = (error as { errors?: unknown }).errors;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const out: AdsError[] = [];
  for (const item of list) {
    if (!item || typeof item !== 'object') return undefined;
    const { error_code: code, message, details } = item as { error_code?: unknown; message?: unknown; details?: unknown };
    if (!code || typeof code !== 'object') return undefined;
    const [category, value] = Object.entries(code as Record<string, unknown>).find(([, v]) => typeof v === 'string' || typeof v === 'number') ?? ['unknown', 'UNKNOWN'];
    out.push({ category, value: enumName(category, value as string | number), message: typeof message === 'string' ? message.trim() : '', retryDelayMs: retryDelay(details) });
  }
  return out;
}

/**
 * The name of an error code google-ads-api gave as its enum number (`request_error: 38` is
 * `UNSUPPORTED_VERSION`), from the package's own protos; the number when it has none.
 */
function enumName(category: string, value: string | number): string | number {
  if (typeof value !== 'number') return value;
  const type = category.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());
  try {
    // Only a real google-ads-api client gives numbers, so the package is loaded already.
    const { errors } = require('google-ads-api') as { errors: Record<string, Record<string, Record<number, string | undefined>> | undefined> };
    return errors[`${type}Enum`]?.[type]?.[value] ?? value;
  } catch {
    return value;
  }
}

/** `details.quota_error_details.retry_delay`: `"30s"`, `{seconds: 30}` or a number of seconds. */
function retryDelay(details: unknown): number | undefined {
  const quota = (details as { quota_error_details?: { retry_delay?: unknown } } | undefined)?.quota_error_details;
  const delay = quota?.retry_delay;
  if (typeof delay === 'number') return delay * 1000;
  if (typeof delay === 'string') {
    const seconds = Number.parseFloat(delay);
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  }
  if (delay && typeof delay === 'object') {
    const seconds = Number((delay as { seconds?: unknown }).seconds);
    return Number.isFinite(seconds) ? seconds * 1000 : undefined;
  }
  return undefined;
}

/** "Too many requests. Retry in 30 seconds." */
function retryInMessage(message: string): number | undefined {
  const match = /retry in (\d+(?:\.\d+)?) seconds?/i.exec(message);
  return match ? Number(match[1]) * 1000 : undefined;
}

/** A gRPC or HTTP status the error carries, with the API's message. */
function statusOf(error: unknown): { name: string; http?: number; message: string } | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const e = error as { code?: unknown; details?: unknown; message?: unknown; cause?: unknown; response?: { status?: unknown } };
  // The SDK's Error for an answer without a GoogleAdsFailure keeps the answer's `error` as cause.
  const cause = e.cause as { code?: unknown; status?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause === 'object' && (typeof cause.status === 'string' || typeof cause.code === 'number')) {
    const http = typeof cause.code === 'number' && cause.code >= 100 ? cause.code : undefined;
    const name = typeof cause.status === 'string' ? cause.status : http ? HTTP_STATUS_NAMES[http] : undefined;
    if (name) return { name, http, message: typeof cause.message === 'string' ? cause.message : String(e.message ?? '') };
  }
  if (typeof e.code === 'number' && GRPC_STATUS_NAMES[e.code]) {
    return { name: GRPC_STATUS_NAMES[e.code]!, message: typeof e.details === 'string' && e.details ? e.details : String(e.message ?? '') };
  }
  const http = typeof e.response?.status === 'number' ? e.response.status : undefined;
  if (http && HTTP_STATUS_NAMES[http]) return { name: HTTP_STATUS_NAMES[http]!, http, message: String(e.message ?? '') };
  return undefined;
}

/** The token exchange refused: the refresh token or the OAuth client is wrong. */
function oauthError(error: unknown): string | undefined {
  const data = (error as { response?: { data?: { error?: unknown; error_description?: unknown } } } | undefined)?.response?.data;
  const code = typeof data?.error === 'string' ? data.error : undefined;
  const description = typeof data?.error_description === 'string' ? `: ${data.error_description}` : '';
  if (code === 'invalid_grant') {
    return `Google refused the refresh token (invalid_grant${description}). It was revoked, or it expired: tokens of an OAuth app whose publishing status is Testing expire after 7 days. Create a new one and put it in the environment variable refreshTokenEnv names`;
  }
  if (code === 'invalid_client' || code === 'unauthorized_client') {
    return `Google refused the OAuth client (${code}${description}): check the client ID and secret the environment variables clientIdEnv and clientSecretEnv name, and that the refresh token was made with that client`;
  }
  return undefined;
}
