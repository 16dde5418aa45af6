import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An Insights row as the Graph API sends it: numbers as strings, actions as lists. */
export interface InsightsRow {
  account_id: string;
  account_currency: string;
  campaign_id: string;
  campaign_name: string;
  date_start: string;
  date_stop: string;
  spend: string;
  impressions: string;
  reach: string;
  clicks: string;
  actions?: Record<string, string>[];
  action_values?: Record<string, string>[];
}

export interface SeenRequest {
  method: string;
  /** The path without the version prefix, e.g. `act_111/insights`. */
  path: string;
  version: string;
  /** Query and (for POST) form-body parameters, token left out. */
  params: Record<string, string>;
}

export interface FakeJob {
  id: string;
  accountId: string;
  since: string;
  until: string;
  params: Record<string, string>;
  fate: JobFate;
  polls: number;
  /** The report's rows, fixed when the job was created. */
  rows: InsightsRow[];
}

/** `complete` after `pollsToComplete` polls, `fail` (Job Failed) after two, `hang` at 50 % for ever. */
export type JobFate = 'complete' | 'fail' | 'hang';

/** A page of a report run's results, as asked: which run, from which row, how many rows. */
export interface ResultRead {
  job: FakeJob;
  offset: number;
  limit: number;
}

/** An answer to send instead of the real one (`status`, `body`), or headers added to the real one. */
export interface Scripted {
  /** Which request it is for (default: the next one). */
  match?: (req: SeenRequest) => boolean;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A local server answering like the Graph API (Marketing API) for what the Meta Ads source
 * asks: `GET /vNN.N/act_{id}?fields=…` (the ad account), `POST /vNN.N/act_{id}/insights`
 * (starts an async report run, answers `{report_run_id}`; its `filtering` checked as Meta checks
 * it, deleted and archived campaigns left out unless it asks for them, see `campaignStatus`), `GET /vNN.N/{run}` (its
 * `async_status` and `async_percent_completion`), `GET /vNN.N/{run}/insights` (its rows, at
 * most `pageSize` a page, with `paging.cursors` and an absolute `paging.next` URL carrying the
 * token, as Meta writes it). Every request must carry `access_token` (error 190 otherwise); a
 * version in `sunsetVersions` answers error 2635. Errors have Meta's shape
 * `{error: {message, type, code, error_subcode, fbtrace_id}}` with HTTP 400.
 */
export interface FakeGraph {
  url: string;
  accounts: Map<string, { timezone_name: string; currency: string; name: string }>;
  /** The rows the report holds for an account and a date; change it to restate a day. */
  rows: (accountId: string, date: string) => InsightsRow[];
  /**
   * A campaign's `effective_status`, by campaign id (absent: `ACTIVE`). A report started at
   * account level leaves out the rows of a DELETED or ARCHIVED campaign unless its `filtering`
   * asks for that status (`campaign.effective_status` IN […]), as Meta's "Manage Your Ad
   * Object's Status" says of `act_<id>/insights`; a filter on the status keeps only the
   * campaigns it names.
   */
  campaignStatus: Map<string, string>;
  fate: (job: Omit<FakeJob, 'fate' | 'polls' | 'rows'>) => JobFate;
  pollsToComplete: number;
  pageSize: number;
  sunsetVersions: Set<string>;
  /**
   * What `GET /vNN.N/debug_token?input_token=` answers under `data` for the fake's token (Graph
   * API reference, "Debug Token"): by default a valid token that never expires (`expires_at`
   * and `data_access_expires_at` 0) with `ads_read`.
   */
  tokenInfo: Record<string, unknown>;
  /**
   * Whether Meta refuses a page of results as too much data: it then answers HTTP 500 with
   * error code 1, "Please reduce the amount of data you're asking for, then retry your request".
   * Default: never.
   */
  tooMuchData: (read: ResultRead) => boolean;
  jobs: FakeJob[];
  requests: SeenRequest[];
  /** Rows sent in result pages, per date, since the last `resetServed()`. */
  served: Map<string, number>;
  resetServed(): void;
  script(...answers: Scripted[]): void;
  /** Scripted answers not used yet (a test leaves none behind). */
  pendingScripts(): number;
  close(): Promise<void>;
}

/**
 * Meta's error shape (Graph API "Handling Errors": `message`, `type`, `code`, `error_subcode`
 * when there is one, `fbtrace_id`).
 */
const META_ERROR = (code: number, message: string, subcode?: number, type = code === 190 || code === 1 ? 'OAuthException' : 'GraphMethodException') => ({
  error: { message, type, code, ...(subcode ? { error_subcode: subcode } : {}), fbtrace_id: 'AbCdEfGh123' },
});

/**
 * What Meta answers a read it finds too large: HTTP 500, code 1 and this message, as its SDKs'
 * users report it (facebook-python-business-sdk#470), in Meta's published error object.
 */
export const TOO_MUCH_DATA = { status: 500, body: META_ERROR(1, "Please reduce the amount of data you're asking for, then retry your request") };

/** A campaign's `effective_status` values (Marketing API reference, Campaign; SDK `Campaign.EffectiveStatus`). */
const CAMPAIGN_STATUSES = ['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED', 'IN_PROCESS', 'WITH_ISSUES'];
/** Statuses a report leaves out unless `filtering` names them. */
const HIDDEN_UNLESS_ASKED = ['DELETED', 'ARCHIVED'];
/** The operators of a Filter Object (`filtering` of the Marketing API's Insights edges). */
const FILTER_OPERATORS = [
  'EQUAL', 'NOT_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'LESS_THAN', 'LESS_THAN_OR_EQUAL', 'IN_RANGE', 'NOT_IN_RANGE',
  'CONTAIN', 'NOT_CONTAIN', 'CONTAINS_ANY', 'CONTAINS_ALL', 'NOT_CONTAINS_ANY', 'STEM_MATCH', 'IN', 'NOT_IN', 'STARTS_WITH', 'ENDS_WITH',
  'ANY', 'ALL', 'AFTER', 'BEFORE', 'ON_OR_AFTER', 'ON_OR_BEFORE', 'NONE', 'TOP',
];

/**
 * Which campaign statuses a report's `filtering` lets through, or the error Meta answers. The
 * parameter is a list of Filter Objects, each with `field`, `operator` (one of Meta's) and
 * `value`, all required; IN and NOT_IN take a list. A status that is not a campaign's is refused
 * with code 100 and subcode 1487561, as Meta refuses a run status that is not the object's
 * (facebook/facebook-python-business-sdk#388). The stand-in models `campaign.effective_status`
 * only, and refuses any other field rather than ignore it.
 */
function statusesLetThrough(text: string | undefined): { statuses: (status: string) => boolean } | { error: unknown } {
  const refuse = (message: string, subcode?: number) => ({ error: META_ERROR(100, `(#100) ${message}`, subcode) });
  if (text === undefined) return { statuses: (status) => !HIDDEN_UNLESS_ASKED.includes(status) };
  let filters: unknown;
  try {
    filters = JSON.parse(text);
  } catch {
    return refuse('filtering must be an array of filter objects');
  }
  if (!Array.isArray(filters)) return refuse('filtering must be an array of filter objects');
  const tests: ((status: string) => boolean)[] = [];
  for (const [i, filter] of filters.entries()) {
    if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return refuse(`filtering[${i}] must be a filter object`);
    const { field, operator, value } = filter as Record<string, unknown>;
    if (typeof field !== 'string' || field === '') return refuse(`filtering[${i}].field is required`);
    if (typeof operator !== 'string' || !FILTER_OPERATORS.includes(operator)) return refuse(`filtering[${i}].operator must be one of ${FILTER_OPERATORS.join(', ')}`);
    if (value === undefined || value === null) return refuse(`filtering[${i}].value is required`);
    if (field !== 'campaign.effective_status') return refuse(`this stand-in filters on campaign.effective_status only, not ${field}`);
    if (operator !== 'IN' && operator !== 'NOT_IN') return refuse(`this stand-in filters campaign.effective_status with IN or NOT_IN only, not ${operator}`);
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return refuse(`filtering[${i}].value must be a list for ${operator}`);
    const unknown = (value as string[]).filter((v) => !CAMPAIGN_STATUSES.includes(v));
    if (unknown.length) return refuse(`Invalid parameter: ${unknown.join(', ')} is not a campaign effective_status`, 1487561);
    const named = value as string[];
    tests.push(operator === 'IN' ? (status) => named.includes(status) : (status) => !named.includes(status));
  }
  const asked = (status: string) => tests.every((test) => test(status));
  // Deleted and archived campaigns come back only when a filter names their status.
  const named = (status: string) => filters.some((f) => (f as { operator: string }).operator === 'IN' && ((f as { value: string[] }).value).includes(status));
  return { statuses: (status) => asked(status) && (!HIDDEN_UNLESS_ASKED.includes(status) || named(status)) };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export async function startFakeGraph(accessToken: string): Promise<FakeGraph> {
  const scripted: Scripted[] = [];
  let nextRun = 6_001;
  const fake: FakeGraph = {
    url: '',
    close: async () => undefined,
    accounts: new Map(),
    rows: () => [],
    campaignStatus: new Map(),
    fate: () => 'complete',
    pollsToComplete: 3,
    pageSize: 2,
    sunsetVersions: new Set(),
    tokenInfo: { app_id: '4410000000001', type: 'USER', application: 'verite shop reporting', data_access_expires_at: 0, expires_at: 0, is_valid: true, scopes: ['ads_read', 'business_management', 'public_profile'], user_id: '100090000000001' },
    tooMuchData: () => false,
    jobs: [],
    requests: [],
    served: new Map(),
    resetServed: () => fake.served.clear(),
    script: (...answers) => void scripted.push(...answers),
    pendingScripts: () => scripted.length,
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    // Graph has long labelled its JSON text/javascript.
    res.writeHead(status, { 'content-type': 'text/javascript; charset=UTF-8', ...headers }).end(JSON.stringify(body));
  };

  const answer = (seen: SeenRequest, token: string | undefined): { status: number; body: unknown } => {
    if (token !== accessToken) return { status: 400, body: META_ERROR(190, 'Invalid OAuth access token - Cannot parse access token') };
    if (fake.sunsetVersions.has(seen.version)) {
      return { status: 400, body: META_ERROR(2635, `(#2635) You are calling a deprecated version of the Ads API. Please update to the latest version: v99.0.`) };
    }
    if (seen.path === 'debug_token' && seen.method === 'GET') {
      if (!seen.params.input_token) return { status: 400, body: META_ERROR(100, "(#100) The parameter input_token is required") };
      // A token the app does not know: Meta answers in data, with is_valid false and the reason.
      if (seen.params.input_token !== accessToken) return { status: 200, body: { data: { is_valid: false, error: { code: 190, message: 'Invalid OAuth access token.' }, scopes: [] } } };
      return { status: 200, body: { data: fake.tokenInfo } };
    }
    const account = /^act_(\d+)$/.exec(seen.path);
    if (account && seen.method === 'GET') {
      const info = fake.accounts.get(account[1]!);
      if (!info) return { status: 400, body: META_ERROR(100, `Unsupported get request. Object with ID '${seen.path}' does not exist`, 33) };
      return { status: 200, body: { id: seen.path, account_id: account[1], ...info } };
    }
    const start = /^act_(\d+)\/insights$/.exec(seen.path);
    if (start && seen.method === 'POST') {
      const p = seen.params;
      let range: { since?: string; until?: string };
      try {
        range = JSON.parse(p.time_range ?? '') as typeof range;
      } catch {
        return { status: 400, body: META_ERROR(100, '(#100) time_range must be an object with since and until') };
      }
      if (p.level !== 'campaign' || p.time_increment !== '1' || !range.since || !range.until) {
        return { status: 400, body: META_ERROR(100, '(#100) this fake expects level=campaign, time_increment=1 and a time_range') };
      }
      const filter = statusesLetThrough(p.filtering);
      if ('error' in filter) return { status: 400, body: filter.error };
      const base = { id: String(nextRun++), accountId: start[1]!, since: range.since, until: range.until, params: p };
      const rows: InsightsRow[] = [];
      for (let d = range.since; d <= range.until; d = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) {
        rows.push(...fake.rows(start[1]!, d).filter((row) => filter.statuses(fake.campaignStatus.get(row.campaign_id) ?? 'ACTIVE')));
      }
      fake.jobs.push({ ...base, fate: fake.fate(base), polls: 0, rows });
      return { status: 200, body: { report_run_id: base.id } };
    }
    const poll = /^(\d+)$/.exec(seen.path);
    const job = fake.jobs.find((j) => j.id === (poll?.[1] ?? /^(\d+)\/insights$/.exec(seen.path)?.[1]));
    if (poll && job) {
      job.polls++;
      const states: [string, number][] = [['Job Not Started', 0], ['Job Started', 0], ['Job Running', 50]];
      let [status, percent] = states[Math.min(job.polls - 1, states.length - 1)]!;
      if (job.fate === 'complete' && job.polls >= fake.pollsToComplete) [status, percent] = ['Job Completed', 100];
      if (job.fate === 'fail' && job.polls >= 2) [status, percent] = ['Job Failed', 0];
      if (job.fate === 'hang') [status, percent] = ['Job Running', 50];
      return { status: 200, body: { id: job.id, account_id: job.accountId, async_status: status, async_percent_completion: percent, date_start: job.since, date_stop: job.until } };
    }
    if (job && seen.method === 'GET') {
      const asked = Number(seen.params.limit ?? 25);
      const offset = seen.params.after ? Number(Buffer.from(seen.params.after, 'base64').toString()) : 0;
      if (fake.tooMuchData({ job, offset, limit: asked })) return TOO_MUCH_DATA;
      const limit = Math.min(asked, fake.pageSize);
      const data = job.rows.slice(offset, offset + limit);
      for (const row of data) fake.served.set(row.date_start, (fake.served.get(row.date_start) ?? 0) + 1);
      const after = Buffer.from(String(offset + data.length)).toString('base64');
      const paging: Record<string, unknown> = { cursors: { before: Buffer.from(String(offset)).toString('base64'), after } };
      if (offset + data.length < job.rows.length) {
        // Meta writes the limit asked for into the next page's address.
        paging.next = `${fake.url}/${seen.version}/${job.id}/insights?access_token=${encodeURIComponent(accessToken)}&limit=${asked}&after=${encodeURIComponent(after)}`;
      }
      return { status: 200, body: { data, paging } };
    }
    return { status: 400, body: META_ERROR(100, `Unknown path components: /${seen.path}`, 2500) };
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const text = req.method === 'POST' ? await readBody(req) : '';
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if (text) {
      const form = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(text));
      for (const [k, v] of Object.entries(form)) params[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    const token = params.access_token;
    delete params.access_token;
    const m = /^\/(v\d+\.\d+)\/(.*)$/.exec(url.pathname);
    const seen: SeenRequest = { method: req.method ?? 'GET', path: m?.[2] ?? url.pathname.slice(1), version: m?.[1] ?? '', params };
    fake.requests.push(seen);
    const i = scripted.findIndex((s) => !s.match || s.match(seen));
    const script = i >= 0 ? scripted.splice(i, 1)[0] : undefined;
    if (script?.status !== undefined) return send(res, script.status, script.body ?? {}, script.headers);
    if (!m) return send(res, 400, META_ERROR(2500, 'An active access token must be used to query information about the current user.'));
    const real = answer(seen, token);
    send(res, real.status, real.body, script?.headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      // The client keeps connections alive; do not wait for them to idle out.
      server.closeAllConnections();
    });
  return fake;
}
