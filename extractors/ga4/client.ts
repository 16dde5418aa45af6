import { existsSync } from 'node:fs';
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
