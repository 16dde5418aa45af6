import { createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { diskFullCode } from './disk-space.ts';
import { ExtractError, type ErrorContext } from './errors.ts';
import type { Logger } from './logger.ts';

/**
 * The one place where verite talks HTTP to a provider: retries with exponential backoff and
 * full jitter on network errors, 429 (honouring Retry-After, up to a bound) and 5xx, a time-out
 * per request, a bounded number of attempts, and an {@link ExtractError} naming source, stream,
 * request and status when it gives up. SDK calls get the same policy through {@link withRetry}.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff, doubled each attempt, capped by `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time-out of one request. */
  timeoutMs: number;
  /**
   * The longest wait a server may ask for (Retry-After, a quota's retry delay). An answer asking
   * for more fails at once with an error saying how long was asked: waiting hours in silence
   * would stall a nightly run, and the next run will find the server ready.
   */
  maxRetryAfterMs: number;
}

/** The default bound of a wait a server asks for: 15 minutes (`retries.maxRetryAfterMinutes`). */
export const DEFAULT_MAX_RETRY_AFTER_MS = 15 * 60_000;

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 500, maxDelayMs: 60_000, timeoutMs: 60_000, maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS };

/** The bound of a requested wait the run's config sets (`retries.maxRetryAfterMinutes`), in ms. */
export function maxRetryAfterMs(global: { retries?: { maxRetryAfterMinutes?: number } } | undefined): number {
  const minutes = global?.retries?.maxRetryAfterMinutes;
  return minutes === undefined ? DEFAULT_MAX_RETRY_AFTER_MS : minutes * 60_000;
}

export interface HttpContext extends ErrorContext {
  source: string;
  stream?: string;
  log?: Logger;
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  /** Throttles requests before they are sent (e.g. a per-key rate bound). */
  limiter?: RateLimiter;
  /** The host the requests go to, named in a network failure whose own error does not say (a TLS failure). */
  host?: string;
}

/** Tells retry code to wait at least this long before the next attempt. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly status?: number;
  readonly retryAfterMs?: number;
  constructor(
    message: string,
    status?: number,
    retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The time-out of one request: a signal that aborts once `ms` have passed, and `clear` to disarm
 * it when the request is over (so nothing fires late for a request long done).
 */
export interface Deadline {
  signal: AbortSignal;
  clear(): void;
}

const sleepers = {
  sleep: (ms: number, signal?: AbortSignal) => abortableSleep(ms, signal),
  now: () => Date.now(),
  deadline: (ms: number): Deadline => timerDeadline(ms),
};

/** Tests replace the sleep to run retries without waiting. */
export function setSleep(fn: (ms: number, signal?: AbortSignal) => Promise<void>): () => void {
  const previous = sleepers.sleep;
  sleepers.sleep = fn;
  return () => {
    sleepers.sleep = previous;
  };
}

/**
 * Tests replace the clock (milliseconds since the epoch) that extractors measure waits with:
 * the cost throttle's refill, a poll's time-out, an HTTP-date Retry-After. Paired with a sleep
 * that moves it forward, waits come out exact.
 */
export function setClock(fn: () => number): () => void {
  const previous = sleepers.now;
  sleepers.now = fn;
  return () => {
    sleepers.now = previous;
  };
}

/**
 * Tests replace the timer that ends a request nobody answers: with a deadline a test fires when
 * it says time has passed, a time-out is exercised without waiting for one, and a request is
 * never cut short because a loaded machine was slow to send it.
 */
export function setDeadline(fn: (ms: number) => Deadline): () => void {
  const previous = sleepers.deadline;
  sleepers.deadline = fn;
  return () => {
    sleepers.deadline = previous;
  };
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepers.sleep(ms, signal);
}

/** The clock extractors measure waits with (Date.now unless a test replaced it). */
export function now(): number {
  return sleepers.now();
}

/** A real timer; unref'd, like `AbortSignal.timeout`'s, so a pending one never keeps the process alive. */
function timerDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, at = now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - at);
}

export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.random() * exp;
  return retryAfterMs !== undefined ? Math.max(retryAfterMs, Math.min(jittered, policy.maxDelayMs)) : jittered;
}

/**
 * Runs `fn` until it succeeds, retrying {@link RetryableError}s (and errors `isRetryable`
 * accepts) with backoff. Gives up with an {@link ExtractError} carrying the context.
 */
export async function withRetry<T>(
  ctx: HttpContext,
  fn: (attempt: number) => Promise<T>,
  isRetryable: (error: unknown) => { retry: boolean; retryAfterMs?: number; status?: number } = defaultRetryable,
): Promise<T> {
  const policy = { ...DEFAULT_RETRY, ...ctx.retry };
  let lastError: unknown;
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted');
    try {
      if (ctx.limiter) await ctx.limiter.take(ctx.signal);
      return await fn(attempt);
    } catch (error) {
      lastError = error;
      const verdict = isRetryable(error);
      lastStatus = verdict.status ?? lastStatus;
      if (!verdict.retry) {
        if (error instanceof ExtractError) throw error;
        // A refused credential stays refused however often the stream is tried again.
        const permanent = verdict.status === 401 || verdict.status === 403;
        throw new ExtractError(errorText(error, ctx.host), { ...pickContext(ctx), status: verdict.status }, { cause: error, permanent });
      }
      if (verdict.retryAfterMs !== undefined && verdict.retryAfterMs > policy.maxRetryAfterMs) {
        throw new ExtractError(
          `the server asks to wait ${duration(verdict.retryAfterMs)} before trying again, longer than the ${duration(policy.maxRetryAfterMs)} ` +
            `verite waits (retries.maxRetryAfterMinutes); giving up for this run: ${errorText(error, ctx.host)}`,
          { ...pickContext(ctx), status: verdict.status },
          { cause: error, permanent: true },
        );
      }
      if (attempt === policy.attempts) break;
      const delay = backoffDelay(attempt, policy, verdict.retryAfterMs);
      ctx.log?.warn(
        { source: ctx.source, stream: ctx.stream, request: ctx.request, status: verdict.status, attempt, delayMs: Math.round(delay) },
        `retrying after ${errorText(error, ctx.host)}`,
      );
      await sleep(delay, ctx.signal);
    }
  }
  throw new ExtractError(
    `gave up after ${policy.attempts} attempts: ${errorText(lastError, ctx.host)}`,
    { ...pickContext(ctx), status: lastStatus },
    { cause: lastError },
  );
}

function pickContext(ctx: HttpContext): ErrorContext {
  return { source: ctx.source, stream: ctx.stream, window: ctx.window, request: ctx.request, record: ctx.record };
}

/** An error's text: the root cause of a network failure with its host (see {@link networkFailure}), else its message. */
function errorText(error: unknown, host?: string): string {
  const network = networkFailure(error, host);
  const message = error instanceof Error ? error.message : String(error);
  // An SDK's own words ("An error occurred with our connection to Stripe") after the cause, which they hide.
  return network ? (message && !message.includes(network) && !/^fetch failed$/i.test(message) ? `${network} (${message})` : network) : message;
}

/** Node's and undici's codes of a network failure, in words. */
const NETWORK_WORDS: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the name server did not answer (DNS)',
  EAI_NONAME: 'the host name does not resolve (DNS)',
  ECONNREFUSED: 'the connection was refused (nothing listens there, or a firewall refuses it)',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while sending',
  UND_ERR_SOCKET: 'the connection was closed',
  ETIMEDOUT: 'connecting timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer came in time',
  ESOCKETTIMEDOUT: 'no answer came in time',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/** Whether a code or message is a TLS failure (certificate, protocol). */
function isTls(code: string, message: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/.test(code) || /\b(SSL|TLS|certificate)\b/i.test(message);
}

/**
 * What a network failure comes down to, with the host, when `error` is one: walks the causes an
 * SDK or fetch wraps it in (`cause`, the Stripe client's `detail`, an AggregateError's `errors`)
 * down to Node's own error. E.g. "could not reach api.stripe.com: the host name does not resolve
 * (DNS) (getaddrinfo ENOTFOUND api.stripe.com)". Null when no network failure is found.
 */
export function networkFailure(error: unknown, host?: string, depth = 0): string | null {
  if (!error || typeof error !== 'object' || depth > 8) return null;
  const e = error as { code?: unknown; message?: unknown; hostname?: unknown; host?: unknown; address?: unknown; port?: unknown; cause?: unknown; detail?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message.trim() : '';
  const words = NETWORK_WORDS[code] ?? (code && isTls(code, message) ? `the TLS connection failed: ${message || code}` : undefined);
  if (words) {
    const named = [e.hostname, e.host, e.address].find((h) => typeof h === 'string' && h) as string | undefined;
    const where = named ? `${named}${typeof e.port === 'number' && !named.includes(':') ? `:${e.port}` : ''}` : (host ?? 'the server');
    const detail = message && !words.includes(message) ? ` (${message})` : ` (${code})`;
    return `could not reach ${where}: ${words}${detail}`;
  }
  for (const inner of [e.cause, e.detail, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    if (inner === error) continue;
    const found = networkFailure(inner, host, depth + 1);
    if (found) return found;
  }
  return null;
}

/** `200 ms`, `90 s`, `15 min`, `3.5 h`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.ceil(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
  // A body cut short of its Content-Length (a connection closed mid-answer): asked for again.
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

export function defaultRetryable(error: unknown): { retry: boolean; retryAfterMs?: number; status?: number } {
  if (error instanceof RetryableError) return { retry: true, retryAfterMs: error.retryAfterMs, status: error.status };
  if (error instanceof HttpStatusError) return { retry: false, status: error.status };
  if (error instanceof ExtractError) return { retry: false };
  const e = error as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { retry: true };
  if (e?.name === 'TypeError' && /fetch failed/i.test(String((error as Error).message))) return { retry: true };
  if ((e?.code && NETWORK_CODES.has(e.code)) || (e?.cause?.code && NETWORK_CODES.has(e.cause.code))) return { retry: true };
  return { retry: false };
}

/** A non-retryable HTTP answer (4xx other than 429). */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  readonly status: number;
  readonly body: string;
  constructor(
    status: number,
    body: string,
    message: string,
  ) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export interface HttpRequest {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** A short name of the request for errors and logs (defaults to METHOD path). */
  describe?: string;
  /**
   * Sees every answer (status, headers, body text) before the default handling, on every
   * attempt. Return a {@link RetryableError} to retry the answer (an API that reports throttling
   * as a 400 with an error code in its body), throw to fail at once, or return undefined for the
   * default handling. Also the place to read usage headers.
   */
  inspect?: (answer: { status: number; headers: Headers; text: string }) => RetryableError | undefined;
  /**
   * The most bytes of a successful answer's body that are read, counted decompressed (default
   * {@link MAX_BODY_BYTES}); past it the request is aborted and fails. A call whose answers can
   * be larger says so here.
   */
  maxBodyBytes?: number;
}

/**
 * The most of one answer's body {@link httpRequest} reads, decompressed: 64 MiB. The answers
 * verite asks for are far smaller (a Shopify GraphQL page, bounded by its query cost, and 500
 * rows of a Meta insights report are a few megabytes; the ECB's whole history is under 20 MB);
 * a body past it is a server or a proxy gone wrong, or a small gzip answer that inflates to gigabytes, and would
 * otherwise be held whole (and fail as a string too long for V8 past 512 MiB).
 */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** What is kept of the body of an answer that is an error (4xx, 5xx), for its message: 64 KiB; the rest is not read. */
export const ERROR_BODY_BYTES = 64 * 1024;

/** `3 GiB`, `64 MiB`, `307.2 MiB`, `64 KiB`, `900 bytes`. */
export function byteSize(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/**
 * An answer's body as text, read as it comes with a running count of its bytes (decompressed,
 * as fetch gives them): past `limit`, the body is cancelled, which aborts the request, and
 * `over` says what then: an error to fail with, or none to keep the text read so far.
 */
async function bodyText(res: Response, limit: number, over: () => Error | undefined): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (bytes + value.length > limit) {
        const error = over();
        if (error) throw error;
        parts.push(decoder.decode(value.subarray(0, limit - bytes), { stream: true }));
        break;
      }
      bytes += value.length;
      parts.push(decoder.decode(value, { stream: true }));
    }
    parts.push(decoder.decode());
    return parts.join('');
  } finally {
    // Read to its end, this does nothing; cut short (the limit, an error), the rest is not waited for.
    await reader.cancel().catch(() => undefined);
  }
}

/** Whether an answer's status is a success, whose body is read whole (up to its limit), not an error's first bytes. */
const succeeded = (status: number) => status >= 200 && status < 300;

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * One HTTP request with the retry policy; parses JSON bodies. 429 and 5xx are retried,
 * honouring Retry-After; any other non-2xx throws at once with the body quoted. A successful
 * answer's body is read up to `req.maxBodyBytes` ({@link MAX_BODY_BYTES}), an error's first
 * {@link ERROR_BODY_BYTES} only.
 */
export async function httpRequest<T = unknown>(ctx: HttpContext, req: HttpRequest): Promise<HttpResponse<T>> {
  const policy = { ...DEFAULT_RETRY, ...ctx.retry };
  const describe = req.describe ?? `${req.method ?? 'GET'} ${safePath(req.url)}`;
  const context: HttpContext = { ...ctx, request: describe, host: ctx.host ?? hostOf(req.url) };
  const limit = req.maxBodyBytes ?? MAX_BODY_BYTES;
  return withRetry(context, async () => {
    const deadline = sleepers.deadline(policy.timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
    let res: Response;
    let text: string;
    try {
      const answer = await fetch(req.url, { method: req.method ?? 'GET', headers: req.headers, body: req.body, signal });
      res = answer;
      // Past the limit it fails for good: the same page asked again would be as large. The host
      // is named, never the URL, whose query may hold a token.
      const tooLarge = () =>
        new ExtractError(
          `the answer from ${context.host ?? 'the server'} is larger than ${byteSize(limit)} (decompressed), the most verite reads of one answer; the request was aborted`,
          { ...pickContext(context), status: answer.status },
          { permanent: true },
        );
      text = succeeded(answer.status) ? await bodyText(answer, limit, tooLarge) : await bodyText(answer, ERROR_BODY_BYTES, () => undefined);
    } catch (error) {
      if (deadline.signal.aborted && !ctx.signal?.aborted) throw new RetryableError(`no answer within ${duration(policy.timeoutMs)} (the request's time-out)`, undefined, undefined, { cause: error });
      throw error;
    } finally {
      deadline.clear();
    }
    const verdict = req.inspect?.({ status: res.status, headers: res.headers, text });
    if (verdict) throw verdict;
    if (res.status === 429 || res.status >= 500) {
      throw new RetryableError(`HTTP ${res.status}: ${truncate(text)}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
    }
    if (res.status < 200 || res.status >= 300) {
      throw new HttpStatusError(res.status, text, `HTTP ${res.status}: ${truncate(text)}`);
    }
    const type = res.headers.get('content-type') ?? '';
    let body: unknown = text;
    if (type.includes('json') && text.length) {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ExtractError(`the answer is not valid JSON: ${truncate(text)}`, { ...pickContext(context), status: res.status }, { cause: error });
      }
    }
    return { status: res.status, headers: res.headers, body: body as T };
  });
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function safePath(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname;
  } catch {
    return url;
  }
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The clock and the sleep a {@link RateLimiter} spaces requests with. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Really waits, even where tests replace the shared sleep: a test's recorded waits stay those of
 * retries, and a rate bound still holds in a test's own process.
 */
const realClock: LimiterClock = { now: () => Date.now(), sleep: abortableSleep };

/**
 * Bounds the request rate: requests start at least `1000 / perSecond` ms apart (so at most
 * `perSecond` in any second), shared by everything that holds the limiter (one per API key).
 */
export class RateLimiter {
  private next = 0;
  private readonly perSecond: number;
  private readonly clock: LimiterClock;
  constructor(
    perSecond: number,
    clock: LimiterClock = realClock,
  ) {
    this.perSecond = perSecond;
    this.clock = clock;
  }
  /** Waits until the next request may start, and books that slot. */
  async take(signal?: AbortSignal): Promise<void> {
    const interval = 1000 / this.perSecond;
    const now = this.clock.now();
    const at = Math.max(now, this.next);
    this.next = at + interval;
    if (at > now) await this.clock.sleep(at - now, signal);
  }
}

/** A download: the request, how long one attempt may take, and how large its file may grow. */
export interface DownloadRequest extends Omit<HttpRequest, 'maxBodyBytes' | 'inspect'> {
  /** Bounds one attempt (default 30 minutes, for exports). */
  timeoutMs?: number;
  /**
   * The most bytes the file may take (counted as written, decompressed), and that bound in words
   * for the error ("the 1000 bytes Shopify announced (fileSize), and 1 MiB of slack"). A body
   * running past it is stopped before the chunk that crosses it is written, and the download
   * fails for good: the same file asked for again would be as large. Without it, what is written
   * has no bound.
   */
  maxBytes?: { bytes: number; what: string };
}

/**
 * A download the disk under its file had no room for (ENOSPC, or EDQUOT: the user's quota): the
 * folder, and the bytes of the file written when the write failed. Not retried: the file
 * asked for again would be as large.
 */
export class DiskFullError extends ExtractError {
  override name = 'DiskFullError';
  readonly folder: string;
  readonly written: number;
  readonly code: string;
  constructor(
    folder: string,
    written: number,
    code: string,
    context: ErrorContext,
    cause: unknown,
  ) {
    super(`no space left on the disk of ${folder}: ${written} bytes of the download were written when a write failed (${code})`, context, { cause, permanent: true });
    this.folder = folder;
    this.written = written;
    this.code = code;
  }
}

/**
 * Downloads a (possibly large) answer body into a file with the retry policy: 429 and 5xx are
 * retried honouring Retry-After, each attempt starts the file over, and the body is streamed,
 * never held in memory.
 *
 * What is written is bounded only by `req.maxBytes`: the file it serves, a Shopify bulk export,
 * is the shop's data for the window, many gigabytes for a large shop's history; its caller
 * checks the free space against the size Shopify announces before, and bounds the download to
 * it. A disk that fills up fails with a {@link DiskFullError} (the folder, the bytes written),
 * not a bare errno. A body cut short of its Content-Length fails the attempt (fetch says the
 * other side closed), which is retried. An error's body is kept for its message up to
 * {@link ERROR_BODY_BYTES}. The file of a failed download is left to the caller to remove.
 */
export async function httpDownload(ctx: HttpContext, req: DownloadRequest, file: string): Promise<{ status: number; bytes: number }> {
  const describe = req.describe ?? `${req.method ?? 'GET'} ${safePath(req.url)}`;
  const context: HttpContext = { ...ctx, request: describe, host: ctx.host ?? hostOf(req.url) };
  const timeoutMs = req.timeoutMs ?? 30 * 60_000;
  const limit = req.maxBytes;
  return withRetry(context, async () => {
    const deadline = sleepers.deadline(timeoutMs);
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline.signal]) : deadline.signal;
    try {
      const res = await fetch(req.url, { method: req.method ?? 'GET', headers: req.headers, body: req.body, signal });
      if (res.status === 429 || res.status >= 500 || res.status < 200 || res.status >= 300 || !res.body) {
        const text = await bodyText(res, ERROR_BODY_BYTES, () => undefined);
        if (res.status === 429 || res.status >= 500) {
          throw new RetryableError(`HTTP ${res.status}: ${truncate(text)}`, res.status, parseRetryAfter(res.headers.get('retry-after')));
        }
        throw new HttpStatusError(res.status, text, `HTTP ${res.status}: ${truncate(text)}`);
      }
      let bytes = 0;
      const out = createWriteStream(file);
      try {
        await pipeline(
          Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              bytes += chunk.length;
              if (limit && bytes > limit.bytes) {
                // The host is named, never the URL, whose query may hold a signature.
                throw new ExtractError(
                  `the answer from ${context.host ?? 'the server'} runs past ${limit.what}: the download was stopped before writing more than ${limit.bytes} bytes`,
                  { ...pickContext(context), status: res.status },
                  { permanent: true },
                );
              }
              yield chunk;
            }
          },
          out,
          { signal },
        );
      } catch (error) {
        const full = diskFullCode(error);
        if (full) throw new DiskFullError(dirname(file), out.bytesWritten, full, pickContext(context), error);
        throw error;
      }
      return { status: res.status, bytes };
    } finally {
      deadline.clear();
    }
  });
}
