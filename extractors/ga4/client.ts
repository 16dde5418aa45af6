import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BetaAnalyticsDataClient, type protos } from '@google-analytics/data';
import type { Ga4Config } from '../../config/schema.ts';
import { ExtractError } from '../../lib/errors.ts';

export type RunReportRequest = protos.google.analytics.data.v1beta.IRunReportRequest;
export type RunReportResponse = protos.google.analytics.data.v1beta.IRunReportResponse;

/** The part of the Data API client the stream uses. */
export interface Ga4ReportClient {
  runReport(request: RunReportRequest): Promise<RunReportResponse>;
  close(): Promise<void>;
}

/**
 * The official `@google-analytics/data` client over its REST transport (`fallback: 'rest'`):
 * the same transport in production and against a local test server (`apiEndpoint`, `port`,
 * `protocol`), and one that goes through an HTTPS proxy. Credentials: the service-account key
 * of `credentialsFile`, else application default credentials. A service account signs its own
 * tokens, so no token request is made.
 */
export function createGa4Client(config: Ga4Config): Ga4ReportClient {
  let keyFilename: string | undefined;
  if (config.credentialsFile) {
    keyFilename = resolve(config.credentialsFile);
    if (!existsSync(keyFilename)) {
      throw new ExtractError(`credentialsFile ${config.credentialsFile} does not exist (expected a service-account key, JSON)`, { source: 'ga4', stream: 'traffic_daily' }, { permanent: true });
    }
    const problem = keyFileProblem(readFileSync(keyFilename));
    if (problem) throw new ExtractError(`credentialsFile ${config.credentialsFile} ${problem}`, { source: 'ga4', stream: 'traffic_daily' }, { permanent: true });
  }
  const timeout = config.timeoutSeconds * 1000;
  const client = new BetaAnalyticsDataClient({
    fallback: 'rest',
    ...(keyFilename ? { keyFilename } : {}),
    ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
    ...(config.port ? { port: config.port } : {}),
    ...(config.protocol ? { protocol: config.protocol } : {}),
    // The REST transport ignores the call's own time-out: the HTTP client's bounds each request.
    clientOptions: { transporterOptions: { timeout } },
  });
  return {
    async runReport(request) {
      const [response] = await client.runReport(request, { timeout });
      return response;
    },
    close: () => client.close(),
  };
}

/** Where a service account's key is made, for the messages below. */
const MAKE_A_KEY = "create a key of a service account (IAM & Admin → Service accounts → Keys → Add key → JSON) and add the service account's e-mail to the property (docs/sources/ga4.md)";

/**
 * Why the bytes of `credentialsFile` are not a credential the client can use, or undefined. The
 * SDK's own words for these are far from the cause ("does not contain a client_email field"):
 * an OAuth client's file (`client_secret_….json`, `{"installed": …}` or `{"web": …}`) is the
 * usual mistake, as the console offers it beside the service account's key. A key of a service
 * account, a gcloud user's credential (`authorized_user`) and the other types of Google's
 * credential files are taken; the SDK judges the rest.
 */
export function keyFileProblem(bytes: Buffer): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'starts with a byte-order mark, which the Google client cannot read: save it again without one (as UTF-8), or download the key again';
  let key: unknown;
  try {
    key = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return `is not JSON (${(error as Error).message}): expected the JSON key of a service account; ${MAKE_A_KEY}`;
  }
  if (key === null || typeof key !== 'object' || Array.isArray(key)) return `is not a JSON object: expected the JSON key of a service account; ${MAKE_A_KEY}`;
  const fields = key as Record<string, unknown>;
  if ('installed' in fields || 'web' in fields) {
    return `is an OAuth client's file (a client ID and secret), which signs nobody in by itself: verite reads GA4 as a service account; ${MAKE_A_KEY}`;
  }
  if (fields.type === 'service_account') {
    const missing = ['client_email', 'private_key'].filter((f) => typeof fields[f] !== 'string' || !fields[f]);
    return missing.length ? `is a service account's key without its ${missing.join(' and ')}: download the key again` : undefined;
  }
  if (typeof fields.type === 'string') return undefined;
  return `is not a Google credential (it has no "type"): expected the JSON key of a service account; ${MAKE_A_KEY}`;
}
