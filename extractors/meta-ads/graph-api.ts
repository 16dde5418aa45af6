import { FacebookAdsApi } from 'facebook-nodejs-business-sdk';
import { ExtractError } from '../../lib/errors.ts';
import { META_DEFAULT_API_VERSION } from '../api-versions.ts';
import { httpRequest, RetryableError, sleep, type HttpContext } from '../../lib/http.ts';
import type { DateWindow } from '../types.ts';
import { UsageThrottle } from './usage.ts';

/** Meta's Graph API root; `graphBaseUrl` replaces it (a proxy, a local test server). */
export const GRAPH_API = 'https://graph.facebook.com';

/** The Marketing API version the installed SDK was written against (named in the user agent). */
export const SDK_API_VERSION: string = FacebookAdsApi.VERSION;

/** The header Meta adds to an answer it served with another version than the one called (an auto-upgrade). */
export const VERSION_WARNING_HEADER = 'x-ad-api-version-warning';

/** Error codes that mean "too many calls": app (4), user (17), page (32), custom (613), business use cases (80000–80014). */
export function isThrottleCode(code: number): boolean {
  return code === 4 || code === 17 || code === 32 || code === 613 || (code >= 80_000 && code <= 80_014);
}

/** The least wait before retrying a call Meta refused as throttled, when no header says how long. */
export const THROTTLED_RETRY_MS = 60_000;

/**
 * Meta refused a call as asking for more data than it will serve at once (code 1, "Please reduce
 * the amount of data you're asking for, then retry your request"). The same call fails the same
 * way however often it is retried: the caller asks for less (a smaller page, then a shorter
 * window) instead.
 */
export class TooMuchData extends ExtractError {
  override name = 'TooMuchData';
}

/** Whether a Graph error is code 1 asking for less data (code 1 otherwise is Meta's "unknown", temporary error). */
export function isTooMuchData(error: GraphError): boolean {
  return error.code === 1 && /reduce the amount of data/i.test(error.message ?? '');
}

/** The `error` object of a Graph API error answer. */
export interface GraphError {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  error_user_msg?: string;
  is_transient?: boolean;
  fbtrace_id?: string;
}

/** The Graph error an answer body carries, if any. */
export function graphError(text: string): GraphError | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    return body && typeof body.error === 'object' && body.error !== null ? (body.error as GraphError) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a value is not a user's or a system user's access token, or undefined: an app's secret
 * (32 hexadecimal digits, on the app's Basic settings beside its ID) or an app access token
 * (`{app id}|{app secret}`), which read no ad account. Meta answers them with code 190 ("Cannot
 * parse access token") or 100, far from the cause. Any other shape is left to Meta.
 */
export function metaTokenProblem(token: string, envVar: string): string | undefined {
  const put = 'put the access token of a system user with ads_read there (Business settings → System users → Generate new token; docs/sources/meta-ads.md)';
  if (/^[0-9a-f]{32}$/i.test(token)) return `${envVar} holds what looks like an app secret (32 hexadecimal digits), not an access token: ${put}`;
  if (/^\d+\|[\w-]+$/.test(token)) return `${envVar} holds an app access token (app id|secret), which reads no ad account: ${put}`;
  return undefined;
}

export interface GraphApiOptions {
  accessToken: string;
  /** The config key naming the token's environment variable, for error messages. */
  accessTokenEnv: string;
  /** Default {@link GRAPH_API}. */
  baseUrl?: string;
  /** `vNN.N`; default {@link META_DEFAULT_API_VERSION}. */
  version?: string;
  /** Source, stream, logger, abort signal and retry policy of the calls. */
  http: HttpContext;
  /** Shared by every call of a run; default a new one. */
  throttle?: UsageThrottle;
  /** Where Meta's version warning goes (the run's warn-once); default the logger. */
  warnOnce?: (message: string) => void;
}

/**
 * Whether a report page's `paging.next` may be followed with the access token: on the Graph
 * API's origin verite calls (`baseUrl`: scheme, host and port), or on Meta's own when a proxy
 * passed Meta's `next` on unchanged. Anywhere else the token would go with it.
 */
export function followableNext(next: URL, baseUrl: string): boolean {
  return next.origin === new URL(baseUrl).origin || next.origin === new URL(GRAPH_API).origin;
}

/**
 * The SDK's API session with verite's transport underneath. The SDK's objects (ad account,
 * report run, the cursor that follows `paging.next`) send every request through `call`; here
 * each one goes through the shared HTTP behaviour (`httpRequest`: time-out, retries with
 * backoff on network errors and 5xx) and, on top of it, Meta's own rules: a pause before the
 * next call when the usage headers near a limit, a wait-and-retry on the throttling error
 * codes, and an error that says what to do for a refused token or a version Meta shut off.
 * The SDK's own transport (axios, no time-out) cannot report headers on every answer nor be
 * aborted, which the issue requires.
 *
 * Calls are made one at a time; {@link within} names the report window errors should carry.
 */
export class GraphApi extends FacebookAdsApi {
  readonly baseUrl: string;
  readonly version: string;
  readonly throttle: UsageThrottle;
  private readonly http: HttpContext;
  private readonly tokenEnv: string;
  private readonly warnOnce: (message: string) => void;
  private versionWarned = false;
  private window: DateWindow | undefined;

  constructor(options: GraphApiOptions) {
    // The third argument keeps the SDK's crash reporter off: it would hook uncaught exceptions and post them to Meta.
    super(options.accessToken, undefined, false);
    this.baseUrl = (options.baseUrl ?? GRAPH_API).replace(/\/+$/, '');
    this.version = options.version ?? META_DEFAULT_API_VERSION;
    this.http = options.http;
    this.warnOnce = options.warnOnce ?? ((message) => options.http.log?.warn(message));
    this.tokenEnv = options.accessTokenEnv;
    this.throttle = options.throttle ?? new UsageThrottle();
  }

  /** Runs `fn` with errors naming `window`. */
  async within<T>(window: DateWindow, fn: () => Promise<T>): Promise<T> {
    const previous = this.window;
    this.window = window;
    try {
      return await fn();
    } finally {
      this.window = previous;
    }
  }

  override async call(method: string, path: string | string[], params: Record<string, unknown> = {}): Promise<unknown> {
    const verb = method.toUpperCase();
    const withToken = { ...params, access_token: this.accessToken };
    let url: string;
    let body: string | undefined;
    if (typeof path === 'string') {
      // An absolute `paging.next` URL: Meta writes the token into it; add it when a proxy did not.
      // Followed only on the Graph API's own origin (scheme, host and port), or on Meta's when a
      // proxy (`graphBaseUrl`) passed Meta's `next` on unchanged: a page pointing elsewhere would
      // take the token with it.
      const next = new URL(path);
      const own = new URL(this.baseUrl).origin;
      if (!followableNext(next, this.baseUrl)) {
        throw new ExtractError(`Meta's paging.next points to ${next.origin}, not to ${own}: not followed, the access token would go with it`, {
          ...this.http,
          window: this.window,
          request: `${verb} ${next.origin}${next.pathname}`,
        }, { permanent: true });
      }
      if (!next.searchParams.has('access_token')) next.searchParams.set('access_token', this.accessToken);
      url = next.toString();
    } else {
      url = [this.baseUrl, this.version, ...path].join('/');
      if (verb === 'GET' || verb === 'DELETE') url += `?${FacebookAdsApi._encodeParams(withToken)}`;
      else body = FacebookAdsApi._encodeParams(withToken);
    }
    const describe = `${verb} ${new URL(url).pathname.replace(/^\/v\d+\.\d+\//, '').replace(/^\//, '')}`;
    const ctx: HttpContext = { ...this.http, window: this.window, request: describe };
    const pause = this.throttle.take();
    if (pause.ms > 0) {
      this.http.log?.warn({ source: ctx.source, stream: ctx.stream, request: describe, pauseMs: pause.ms, reason: pause.reason }, 'Meta usage is near its limit; pausing before the next call');
      await sleep(pause.ms, this.http.signal);
    }
    const response = await httpRequest<unknown>(ctx, {
      method: verb,
      url,
      body,
      describe,
      headers: {
        accept: 'application/json',
        'user-agent': `verite (fbbizsdk-nodejs-v${SDK_API_VERSION})`,
        ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      inspect: (answer) => {
        this.noteVersionWarning(answer.headers);
        return this.inspect(answer, ctx);
      },
    });
    if (typeof response.body !== 'string') return response.body;
    try {
      // Graph has long answered JSON as text/javascript.
      return JSON.parse(response.body);
    } catch (error) {
      throw new ExtractError(`the answer is not JSON: ${response.body.slice(0, 200)}`, { ...ctx, status: response.status }, { cause: error });
    }
  }

  /**
   * Meta serves a call to a version it no longer serves with a newer one when the endpoint did
   * not change between them, and says so in `X-Ad-Api-Version-Warning`: the call works, but the
   * version will not for long. Said once per client (and once per run through `warnOnce`).
   */
  private noteVersionWarning(headers: Headers): void {
    const said = headers.get(VERSION_WARNING_HEADER);
    if (!said || this.versionWarned) return;
    this.versionWarned = true;
    this.warnOnce(`meta_ads: Meta answered a Marketing API ${this.version} call with the warning "${said}"; set sources.meta_ads.apiVersion to a version Meta serves (the default is ${META_DEFAULT_API_VERSION})`);
  }

  private inspect(answer: { status: number; headers: Headers; text: string }, ctx: HttpContext): RetryableError | undefined {
    this.throttle.observe(answer.headers);
    if (answer.status < 400) return undefined;
    const error = graphError(answer.text);
    if (!error) return undefined;
    const code = error.code ?? 0;
    const label = `code ${code}${error.error_subcode ? `/${error.error_subcode}` : ''}`;
    if (isThrottleCode(code)) {
      // The headers of the refusal say how long the block lasts; that wait replaces the next call's pause.
      const pause = this.throttle.take();
      return new RetryableError(`Meta throttled the call (${label}): ${error.message ?? ''}`, answer.status, Math.max(pause.ms, THROTTLED_RETRY_MS));
    }
    if (isTooMuchData(error)) {
      throw new TooMuchData(`Meta asks for less data (${label}): ${error.message ?? ''}${error.fbtrace_id ? ` [fbtrace_id ${error.fbtrace_id}]` : ''}`, {
        source: ctx.source, stream: ctx.stream, window: ctx.window, request: ctx.request, status: answer.status,
      });
    }
    if (error.is_transient || code === 1 || code === 2 || answer.status >= 500) {
      return new RetryableError(`Meta had a temporary failure (${label}): ${error.message ?? ''}`, answer.status);
    }
    const explained = this.explain(error, label);
    throw new ExtractError(explained.message, { source: ctx.source, stream: ctx.stream, window: ctx.window, request: ctx.request, status: answer.status }, { permanent: explained.permanent });
  }

  /** What a refusal means and what to do; `permanent` when no new attempt in the run can change it. */
  private explain(error: GraphError, label: string): { message: string; permanent: boolean } {
    const code = error.code ?? 0;
    const said = `${error.message ?? 'no message'}${error.error_user_msg ? ` (${error.error_user_msg})` : ''}${error.fbtrace_id ? ` [fbtrace_id ${error.fbtrace_id}]` : ''}`;
    if (code === 190) {
      return { permanent: true, message: `Meta refused the access token (${label}): ${said}. Put a valid system-user token with ads_read in the environment variable ${this.tokenEnv} (see docs/sources/meta-ads.md)` };
    }
    if (code === 2635) {
      return { permanent: true, message: `Meta no longer serves Marketing API ${this.version} (${label}): ${said}. Set sources.meta_ads.apiVersion to a version Meta still serves (this build defaults to ${META_DEFAULT_API_VERSION}), or update verite` };
    }
    if (code === 100 && error.error_subcode === 33) {
      return { permanent: true, message: `no such object, or the token may not see it (${label}): ${said}. Check the id in adAccountIds and that the ad account is assigned to the system user` };
    }
    if (code === 10 || code === 294 || (code >= 200 && code < 300)) {
      return { permanent: true, message: `the token may not read this ad account (${label}): ${said}. Give the system user the ads_read permission and access to the ad account` };
    }
    return { permanent: false, message: `Graph API error (${label}${error.type ? `, ${error.type}` : ''}): ${said}` };
  }
}
