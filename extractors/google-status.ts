/**
 * Google's API error model (`google.rpc.Code`), shared by the Google sources (GA4, Google Ads):
 * a failure carries a status name (`RESOURCE_EXHAUSTED` …), as a gRPC code number, as the name
 * itself in a REST answer's `error.status`, or only as the HTTP status of the answer.
 */

/** The status names by gRPC code number. */
export const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};

/** The status name an HTTP answer stands for, when its body does not say it. */
export const HTTP_STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** The statuses a new attempt of the same request may cure. */
export const TRANSIENT_STATUSES: ReadonlySet<string> = new Set(['UNAVAILABLE', 'INTERNAL', 'DEADLINE_EXCEEDED', 'UNKNOWN', 'ABORTED']);
