import { createVerify, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One report row: dimension and metric values by API name, as strings (as GA4 sends them). */
export type Ga4Row = Record<string, string>;

/** A runReport request as the server received it. */
export interface SeenReport {
  propertyId: string;
  /** The query string (`$alt=json;enum-encoding=int` from the REST transport). */
  query: string;
  body: {
    dateRanges?: { startDate: string; endDate: string }[];
    dimensions?: { name: string }[];
    metrics?: { name: string }[];
    orderBys?: unknown[];
    offset?: string;
    limit?: string;
    keepEmptyRows?: boolean;
    returnPropertyQuota?: boolean;
  };
  /** The claims of the bearer token, once its signature was checked against the key's public half. */
  claims: Record<string, unknown>;
}

/**
 * What to do with the next matching request instead of the usual: answer an error
 * `{error: {code, message, status}}` with HTTP `code`, and/or first hold the answer `delayMs`.
 */
export interface ScriptedError {
  code?: number;
  status?: string;
  message?: string;
  delayMs?: number;
  match?: (report: SeenReport) => boolean;
}

export interface QuotaCounter {
  consumed: number;
  remaining: number;
}

/**
 * A local server answering like the GA4 Data API v1beta over REST (`POST
 * /v1beta/properties/{id}:runReport`), for what the `ga4` source asks:
 *
 * - one date range; the rows `rows(propertyId, date)` gives for each day of it, sliced by
 *   `offset` and `limit`, with `rowCount` the number of rows of the whole report;
 * - a report without dimensions (the source's time-zone probe) answers one total row;
 * - `metadata.timeZone` and `metadata.currencyCode` from `properties`;
 * - with `returnPropertyQuota: true`, the property's quota after the request: each request costs
 *   `tokensPerRequest` tokens of the hourly and daily budgets, and one that finds fewer than
 *   that is refused with 429 RESOURCE_EXHAUSTED "Exhausted property tokens per hour", as GA4 does;
 * - every request must carry a bearer JWT signed with the service account's key (401 otherwise).
 */
export interface FakeGa4 {
  url: string;
  host: string;
  port: number;
  /** A service-account key file made for this server (a throwaway RSA key), and its e-mail. */
  keyFile: string;
  clientEmail: string;
  properties: Map<string, { timeZone: string; currencyCode: string }>;
  rows: (propertyId: string, date: string) => Ga4Row[];
  /** Answers day reports with `metadata.dataLossFromOtherRow` (rows grouped into "(other)"). */
  otherRow: boolean;
  /** Answers day reports with `metadata.subjectToThresholding` (a property with Google signals on). */
  thresholded: boolean;
  tokensPerRequest: number;
  quota: Map<string, { tokensPerHour: QuotaCounter; tokensPerDay: QuotaCounter }>;
  reports: SeenReport[];
  /** Requests to anything other than runReport (a token endpoint, say): none are expected. */
  strays: string[];
  /** Rows sent in day reports, per YYYY-MM-DD date, since the last `resetServed()`. */
  served: Map<string, number>;
  resetServed(): void;
  setQuota(propertyId: string, tokensPerHour: number, tokensPerDay?: number): void;
  script(...errors: ScriptedError[]): void;
  pendingScripts(): number;
  close(): Promise<void>;
}

const DAY = 86_400_000;

function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

function verifyJwt(token: string, publicKeyPem: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${parts[0]}.${parts[1]}`);
  if (!verifier.verify(publicKeyPem, Buffer.from(parts[2]!, 'base64url'))) return undefined;
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Starts the fake Data API; `dir` receives the service-account key file. */
export async function startFakeGa4(dir: string): Promise<FakeGa4> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const clientEmail = 'verite-test@verite-test.iam.gserviceaccount.com';
  const keyFile = join(dir, 'service-account.json');
  const scripted: ScriptedError[] = [];

  const fake = {
    url: '',
    host: '127.0.0.1',
    port: 0,
    keyFile,
    clientEmail,
    properties: new Map(),
    rows: () => [],
    otherRow: false,
    thresholded: false,
    tokensPerRequest: 10,
    quota: new Map(),
    reports: [],
    strays: [],
    served: new Map(),
    resetServed: () => fake.served.clear(),
    setQuota(propertyId, tokensPerHour, tokensPerDay = 200_000) {
      fake.quota.set(propertyId, { tokensPerHour: { consumed: 0, remaining: tokensPerHour }, tokensPerDay: { consumed: 0, remaining: tokensPerDay } });
    },
    script: (...errors) => void scripted.push(...errors),
    pendingScripts: () => scripted.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The client keeps its connections alive; close them rather than wait for them.
        server.closeAllConnections();
      }),
  } as FakeGa4;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, code: number, status: string, message: string) => send(res, code, { error: { code, message, status } });

  function answer(req: IncomingMessage, res: ServerResponse, text: string): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/v1beta\/properties\/(\d+):runReport$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) {
      fake.strays.push(`${req.method} ${req.url}`);
      return refuse(res, 404, 'NOT_FOUND', `no such method ${url.pathname}`);
    }
    const propertyId = match[1]!;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const claims = bearer ? verifyJwt(bearer, publicKeyPem) : undefined;
    if (!claims) return refuse(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
    const report: SeenReport = { propertyId, query: url.search, body: JSON.parse(text) as SeenReport['body'], claims };
    fake.reports.push(report);

    const property = fake.properties.get(propertyId);
    if (!property) return refuse(res, 403, 'PERMISSION_DENIED', 'User does not have sufficient permissions for this property.');
    const at = scripted.findIndex((s) => !s.match || s.match(report));
    const script = at >= 0 ? scripted.splice(at, 1)[0] : undefined;
    if (script?.delayMs) {
      const { delayMs, ...rest } = script;
      // A client that gave up meanwhile gets nothing (and costs no quota).
      setTimeout(() => (res.destroyed || res.socket?.destroyed !== false ? undefined : reply(res, report, property, rest.code ? rest : undefined)), delayMs);
      return;
    }
    reply(res, report, property, script);
  }

  function reply(res: ServerResponse, report: SeenReport, property: { timeZone: string; currencyCode: string }, script: ScriptedError | undefined): void {
    if (script) return refuse(res, script.code ?? 500, script.status ?? 'INTERNAL', script.message ?? 'scripted failure');
    const propertyId = report.propertyId;
    if (!fake.quota.has(propertyId)) fake.setQuota(propertyId, 40_000);
    const quota = fake.quota.get(propertyId)!;
    if (quota.tokensPerHour.remaining < fake.tokensPerRequest) {
      return refuse(res, 429, 'RESOURCE_EXHAUSTED', 'Exhausted property tokens per hour. Wait for the hourly tokens to refresh.');
    }
    for (const budget of [quota.tokensPerHour, quota.tokensPerDay]) {
      budget.consumed += fake.tokensPerRequest;
      budget.remaining -= fake.tokensPerRequest;
    }

    const range = report.body.dateRanges?.[0];
    const dimensions = (report.body.dimensions ?? []).map((d) => d.name);
    const metrics = (report.body.metrics ?? []).map((m) => m.name);
    let all: Ga4Row[];
    if (dimensions.length === 0) {
      all = [Object.fromEntries(metrics.map((m) => [m, '0']))];
    } else {
      if (!range || !/^\d{4}-\d{2}-\d{2}$/.test(range.startDate) || !/^\d{4}-\d{2}-\d{2}$/.test(range.endDate)) {
        return refuse(res, 400, 'INVALID_ARGUMENT', 'expected a date range of YYYY-MM-DD dates');
      }
      all = daysOf(range.startDate, range.endDate).flatMap((date) => fake.rows(propertyId, date).map((row) => ({ ...row, date: date.replace(/-/g, '') })));
    }
    const offset = Number(report.body.offset ?? 0);
    const limit = Number(report.body.limit ?? 10_000);
    const slice = all.slice(offset, offset + limit);
    if (dimensions.length) {
      for (const row of slice) {
        const date = `${row.date!.slice(0, 4)}-${row.date!.slice(4, 6)}-${row.date!.slice(6, 8)}`;
        fake.served.set(date, (fake.served.get(date) ?? 0) + 1);
      }
    }
    const status = (budget: QuotaCounter) => ({ consumed: budget.consumed, remaining: budget.remaining });
    send(res, 200, {
      dimensionHeaders: dimensions.map((name) => ({ name })),
      metricHeaders: metrics.map((name) => ({ name, type: name === 'purchaseRevenue' ? 'TYPE_CURRENCY' : 'TYPE_INTEGER' })),
      rows: slice.map((row) => ({
        dimensionValues: dimensions.map((name) => ({ value: row[name] ?? '' })),
        metricValues: metrics.map((name) => ({ value: row[name] ?? '0' })),
      })),
      ...(all.length ? { rowCount: all.length } : {}),
      metadata: { currencyCode: property.currencyCode, timeZone: property.timeZone, ...(fake.otherRow && dimensions.length ? { dataLossFromOtherRow: true } : {}), ...(fake.thresholded && dimensions.length ? { subjectToThresholding: true } : {}) },
      ...(report.body.returnPropertyQuota
        ? {
            propertyQuota: {
              tokensPerDay: status(quota.tokensPerDay),
              tokensPerHour: status(quota.tokensPerHour),
              concurrentRequests: { consumed: 0, remaining: 10 },
              serverErrorsPerProjectPerHour: { consumed: 0, remaining: 10 },
              potentiallyThresholdedRequestsPerHour: { consumed: 0, remaining: 120 },
              tokensPerProjectPerHour: { consumed: quota.tokensPerHour.consumed, remaining: quota.tokensPerHour.remaining },
            },
          }
        : {}),
      kind: 'analyticsData#runReport',
    });
  }

  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      try {
        answer(req, res, text);
      } catch (error) {
        refuse(res, 500, 'INTERNAL', `fake server error: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  fake.port = (server.address() as AddressInfo).port;
  fake.url = `http://127.0.0.1:${fake.port}`;

  // A service-account key whose token endpoint is this server: a token request would show up in `strays`.
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'verite-test',
      private_key_id: 'test-key-1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: '100000000000000000001',
      token_uri: `${fake.url}/token`,
      universe_domain: 'googleapis.com',
    }),
  );
  return fake;
}
