import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DiskFullError, httpDownload, HttpStatusError, httpRequest, maxRetryAfterMs, networkFailure, RateLimiter, type HttpContext, type LimiterClock } from '../../lib/http.ts';
import { ExtractError } from '../../lib/errors.ts';
import { installFakeTime, type FakeTime } from './support/time.ts';

/**
 * The shared HTTP behaviour every extractor relies on, against a real server on 127.0.0.1:
 * time-outs, dropped sockets, Retry-After (seconds and HTTP dates, and its bound), the attempt
 * bound, the errors it gives up with, and the rate bound. The shared sleep is replaced by one
 * that moves a fake clock, so every wait is asserted exactly and none is really waited.
 */

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server;
let base: string;
/** Answers the n-th request (1-based) of the current test. */
let handler: Handler;
let arrivals: { path: string; at: number }[] = [];
/** What the server stamps each arrival with; the fake clock unless a test says otherwise. */
let stamp: () => number;

/** The fake clock starts on a whole second, so an HTTP date (second precision) converts exactly. */
const START = Date.parse('2026-03-02T10:00:00Z');
let time: FakeTime;
let waits: number[];

beforeAll(async () => {
  time = installFakeTime(START);
  waits = time.waits;
  server = createServer((req, res) => {
    // A connection per request: a kept-alive socket that a test's drop or hang left behind would
    // fail the next test's first request.
    res.shouldKeepAlive = false;
    arrivals.push({ path: req.url ?? '', at: stamp() });
    handler(req, res, arrivals.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  time.restore();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  time.reset(START);
  arrivals = [];
  stamp = () => time.now();
});

const ok = (res: ServerResponse, body: unknown = { ok: true }) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const ctx = (retry: HttpContext['retry'] = {}, extra: Partial<HttpContext> = {}): HttpContext => ({ source: 'shop_test', stream: 'orders', retry, ...extra });

async function failure(promise: Promise<unknown>): Promise<ExtractError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExtractError);
  return error as ExtractError;
}

describe('issue 17: a network failure names its root cause and the host, not only the client\'s words', () => {
  it('a refused connection: "could not reach 127.0.0.1:PORT: the connection was refused", after every attempt', async () => {
    // A port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(httpRequest(ctx({ attempts: 2 }), { url: `http://127.0.0.1:${port}/orders.json` }));
    expect(error.message).toBe(
      `[shop_test.orders, GET /orders.json] gave up after 2 attempts: could not reach 127.0.0.1:${port}: ` +
        `the connection was refused (nothing listens there, or a firewall refuses it) (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  it('a TLS failure (https to a server that speaks plain HTTP) names the host from the request', async () => {
    handler = (_req, res) => ok(res);
    const host = base.replace('http://', '');
    const error = await failure(httpRequest(ctx({ attempts: 1 }), { url: `https://${host}/orders.json` }));
    expect(error.message).toMatch(new RegExp(`^\\[shop_test\\.orders, GET /orders\\.json\\] gave up after 1 attempts: could not reach ${host.replace(/\./g, '\\.')}: the TLS connection failed: .*wrong version number.* \\(ERR_SSL_WRONG_VERSION_NUMBER\\)$`));
  });

  it('walks the causes an SDK wraps a DNS failure in (the Stripe client\'s `detail`, fetch\'s `cause`)', () => {
    // Node's error for a name that does not resolve, as the Stripe client and fetch wrap it.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND api.stripe.com'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'api.stripe.com' });
    const stripe = Object.assign(new Error('An error occurred with our connection to Stripe. Request was retried 2 times.'), { type: 'StripeConnectionError', detail: dns });
    const fetched = new TypeError('fetch failed', { cause: dns });
    const expected = 'could not reach api.stripe.com: the host name does not resolve (DNS) (getaddrinfo ENOTFOUND api.stripe.com)';
    expect(networkFailure(stripe)).toBe(expected);
    expect(networkFailure(fetched)).toBe(expected);
    expect(networkFailure(new AggregateError([dns]))).toBe(expected);
    expect(networkFailure(new Error('HTTP 500: oops'))).toBeNull();
  });
});

describe('httpRequest against a local server', () => {
  it('gives up on an answer slower than the time-out, asks again, then fails naming source, stream, request and the time-out', async () => {
    // The server takes the request and never answers; 100 ms pass on the fake clock, and the
    // request's own time-out (100 ms) ends the attempt. The time-out cannot fire before the
    // request arrived, however slow a loaded machine is to send it.
    handler = () => time.advance(100);
    const error = await failure(httpRequest(ctx({ attempts: 2, timeoutMs: 100 }), { url: `${base}/slow` }));

    expect(arrivals.map((a) => a.path)).toEqual(['/slow', '/slow']);
    // The second attempt went out after the first one's 100 ms and its backoff.
    expect(arrivals[1]!.at - START).toBeCloseTo(100 + waits[0]!, 2);
    expect(error.message).toBe("[shop_test.orders, GET /slow] gave up after 2 attempts: no answer within 100 ms (the request's time-out)");
    expect(error.context).toMatchObject({ source: 'shop_test', stream: 'orders', request: 'GET /slow' });
    expect(error.permanent).toBe(false);
    // One backoff between the two attempts: base 500 ms, full jitter.
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeLessThan(500);
  });

  it('retries a dropped connection (a network error) and returns the next answer', async () => {
    handler = (req, res, n) => (n === 1 ? req.socket.destroy() : ok(res, { orders: [1, 2] }));
    const res = await httpRequest<{ orders: number[] }>(ctx({ attempts: 3 }), { url: `${base}/orders.json` });

    expect(res.body).toEqual({ orders: [1, 2] });
    expect(arrivals.map((a) => a.path)).toEqual(['/orders.json', '/orders.json']);
    expect(waits).toHaveLength(1);
  });

  it('never cuts a request short while the clock stands still, however long the server takes', async () => {
    // The answer comes only after the server has let the event loop turn many times: on a
    // loaded machine that is a long wall-clock time, but no time passes for the time-out.
    handler = (_req, res) => {
      let turns = 0;
      const later = () => (++turns < 200 ? setImmediate(later) : ok(res, { late: true }));
      later();
    };
    const res = await httpRequest(ctx({ attempts: 1, timeoutMs: 1 }), { url: `${base}/late` });
    expect(res.body).toEqual({ late: true });
    expect(waits).toEqual([]);
  });

  it('waits until the HTTP date a Retry-After names', async () => {
    // 10:02:00 when the fake clock says 10:00:00: two minutes.
    handler = (_req, res, n) =>
      n === 1 ? res.writeHead(429, { 'retry-after': 'Mon, 02 Mar 2026 10:02:00 GMT' }).end('slow down') : ok(res);
    const res = await httpRequest(ctx(), { url: `${base}/limited` });

    expect(res.status).toBe(200);
    expect(waits).toEqual([120_000]);
    // The second request went out at the date the server named.
    expect(arrivals.map((a) => a.at - START)).toEqual([0, 120_000]);
  });

  it('makes at most `attempts` requests, then fails with the last status and answer', async () => {
    handler = (_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
    const error = await failure(httpRequest(ctx({ attempts: 3 }), { url: `${base}/down`, describe: 'GET orders page 2' }));

    expect(arrivals).toHaveLength(3);
    expect(waits).toHaveLength(2);
    expect(error.message).toBe('[shop_test.orders, GET orders page 2, HTTP 503] gave up after 3 attempts: HTTP 503: busy');
    expect(error.context.status).toBe(503);
  });

  it('fails a refused credential at once, marked permanent so the stream is not tried again either', async () => {
    handler = (_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid api key"}');
    const error = await failure(httpRequest(ctx(), { url: `${base}/v1/charges` }));

    expect(arrivals).toHaveLength(1);
    expect(error.message).toBe('[shop_test.orders, GET /v1/charges, HTTP 401] HTTP 401: {"error":"invalid api key"}');
    expect(error.permanent).toBe(true);
    expect(waits).toEqual([]);
  });
});

/**
 * Sends `chunk` `times` times, as fast as the client reads;
 * resolves with whether the answer was sent to its end (false: the client went away before).
 */
function chunked(res: ServerResponse, chunk: Buffer, times: number): Promise<boolean> {
  const closed = new Promise<boolean>((resolve) => res.once('close', () => resolve(res.writableFinished)));
  let sent = 0;
  const write = (): void => {
    while (!res.destroyed && sent < times) {
      sent++;
      if (!res.write(chunk)) return void res.once('drain', write);
    }
    if (!res.destroyed) res.end();
  };
  write();
  return closed;
}

describe('bounded memory: the bytes of an answer read', () => {
  const MiB = 1024 * 1024;

  it('aborts a successful answer past maxBodyBytes, naming the host and the limit, never the query with its token', async () => {
    let finished: Promise<boolean> | undefined;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // 512 chunks of 64 KiB: 32 MiB, past the 1 MiB asked for, and more than the sockets between hold.
      finished = chunked(res, Buffer.alloc(64 * 1024, 0x20), 512);
    };
    const host = base.replace('http://', '');
    const error = await failure(httpRequest(ctx({ attempts: 3 }), { url: `${base}/pages?access_token=SECRET-TOKEN&page=2`, maxBodyBytes: MiB }));
    expect(error.message).toBe(`[shop_test.orders, GET /pages, HTTP 200] the answer from ${host} is larger than 1 MiB (decompressed), the most verite reads of one answer; the request was aborted`);
    expect(error.message).not.toContain('SECRET');
    // Asked once: the same page would be as large again, in this run or the stream's next attempt.
    expect(arrivals).toHaveLength(1);
    expect(error.permanent).toBe(true);
    // The request was aborted: the server saw its client go before the answer ended.
    expect(await finished).toBe(false);
  });

  it('reads an answer of exactly maxBodyBytes whole', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('a'.repeat(MiB));
    const res = await httpRequest<string>(ctx({ attempts: 1 }), { url: `${base}/exact`, maxBodyBytes: MiB });
    expect(res.body.length).toBe(MiB);
  });

  it('counts a gzip answer by its bytes inflated: 65 MiB of blanks sent as about 65 KiB pass the 64 MiB limit of one answer', async () => {
    // [ + 65 MiB of blanks + ]: 65 MiB + 2 bytes inflated, over the default 64 MiB.
    const bomb = gzipSync(Buffer.concat([Buffer.from('['), Buffer.alloc(65 * MiB, 0x20), Buffer.from(']')]), { level: 9 });
    expect(bomb.length).toBeLessThan(MiB);
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': bomb.length }).end(bomb);
    const error = await failure(httpRequest(ctx({ attempts: 1 }), { url: `${base}/bomb` }));
    expect(error.message).toMatch(/^\[shop_test\.orders, GET \/bomb, HTTP 200\] the answer from 127\.0\.0\.1:\d+ is larger than 64 MiB \(decompressed\), the most verite reads of one answer; the request was aborted$/);
  });

  it('keeps the first 64 KiB of an error\'s body for its message, and reads no more of it', async () => {
    let finished: Promise<boolean> | undefined;
    handler = (_req, res) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      // 512 chunks of 64 KiB: 32 MiB, more than the sockets between hold.
      finished = chunked(res, Buffer.alloc(64 * 1024, 0x65), 512);
    };
    const error = await failure(httpRequest(ctx({ attempts: 1 }), { url: `${base}/bad` }));
    const status = error.cause as HttpStatusError;
    expect(status).toBeInstanceOf(HttpStatusError);
    // 64 KiB = 65,536 bytes of "e"; the message quotes 300 of them.
    expect(status.body).toBe('e'.repeat(65_536));
    expect(error.message).toBe(`[shop_test.orders, GET /bad, HTTP 400] HTTP 400: ${'e'.repeat(300)}…`);
    expect(await finished).toBe(false);
  });

  it('a download: an error\'s body is kept up to 64 KiB; a body cut short of its Content-Length is asked for again, the file started over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verite-download-'));
    try {
      const file = join(dir, 'export.jsonl');
      let finished: Promise<boolean> | undefined;
      handler = (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/plain' });
        finished = chunked(res, Buffer.alloc(64 * 1024, 0x65), 512);
      };
      const error = await failure(httpDownload(ctx({ attempts: 1 }), { url: `${base}/gone.jsonl` }, file));
      expect((error.cause as HttpStatusError).body).toBe('e'.repeat(65_536));
      expect(await finished).toBe(false);

      // 20 bytes promised: the first answer sends 10 and closes, the second all 20.
      const body = '{"id":11}\n{"id":22}\n';
      expect(body.length).toBe(20);
      handler = (_req, res, n) => {
        res.writeHead(200, { 'content-length': 20 });
        if (n === 1) res.write(body.slice(0, 10), () => res.destroy());
        else res.end(body);
      };
      arrivals = [];
      const done = await httpDownload(ctx({ attempts: 2 }), { url: `${base}/export.jsonl` }, file);
      expect(arrivals).toHaveLength(2);
      expect(done).toEqual({ status: 200, bytes: 20 });
      expect(readFileSync(file, 'utf8')).toBe(body);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a download past its bound (maxBytes) is stopped before the chunk that crosses it is written, and not asked for again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verite-download-'));
    try {
      const file = join(dir, 'export.jsonl');
      let finished: Promise<boolean> | undefined;
      // 32 MiB sent in 64 KiB chunks, against a bound of 100,000 bytes.
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/jsonl' });
        finished = chunked(res, Buffer.alloc(64 * 1024, 0x78), 512);
      };
      const error = await failure(httpDownload(ctx({ attempts: 3 }), { url: `${base}/export.jsonl`, maxBytes: { bytes: 100_000, what: 'the 100000 bytes announced' } }, file));

      expect(error.message).toBe(`[shop_test.orders, GET /export.jsonl, HTTP 200] the answer from ${new URL(base).host} runs past the 100000 bytes announced: the download was stopped before writing more than 100000 bytes`);
      expect(error.permanent).toBe(true);
      expect(arrivals).toHaveLength(1);
      expect(statSync(file).size).toBeLessThanOrEqual(100_000);
      expect(await finished).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a download the disk has no room for fails naming the folder and the bytes written (ENOSPC, from /dev/full: no disk is filled), and is not asked for again', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/jsonl' }).end('{"id":1}\n'.repeat(100));
    const error = await failure(httpDownload(ctx({ attempts: 3 }), { url: `${base}/export.jsonl` }, '/dev/full'));

    expect(error).toBeInstanceOf(DiskFullError);
    expect(error.message).toBe('[shop_test.orders, GET /export.jsonl] no space left on the disk of /dev: 0 bytes of the download were written when a write failed (ENOSPC)');
    expect(error).toMatchObject({ folder: '/dev', written: 0, code: 'ENOSPC', permanent: true });
    expect((error.cause as { code?: string }).code).toBe('ENOSPC');
    expect(arrivals).toHaveLength(1);
  });
});

describe('the bound on a wait the server asks for', () => {
  it('waits a Retry-After of exactly the bound (15 minutes by default)', async () => {
    handler = (_req, res, n) => (n === 1 ? res.writeHead(429, { 'retry-after': '900' }).end() : ok(res));
    await httpRequest(ctx(), { url: `${base}/limited` });
    expect(waits).toEqual([900_000]);
  });

  it('gives up at once, saying how long was asked, when the server asks for longer', async () => {
    handler = (_req, res) => res.writeHead(429, { 'retry-after': '7200' }).end('daily limit reached');
    const error = await failure(httpRequest(ctx(), { url: `${base}/limited` }));

    expect(arrivals).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error.message).toBe(
      '[shop_test.orders, GET /limited, HTTP 429] the server asks to wait 2 h before trying again, longer than the 15 min verite waits ' +
        '(retries.maxRetryAfterMinutes); giving up for this run: HTTP 429: daily limit reached',
    );
    // Trying the stream again a few seconds later would meet the same answer.
    expect(error.permanent).toBe(true);
  });

  it('applies to an HTTP date too, and follows the configured bound', async () => {
    // 16 minutes ahead of the fake clock.
    handler = (_req, res, n) => (n === 1 ? res.writeHead(503, { 'retry-after': 'Mon, 02 Mar 2026 10:16:00 GMT' }).end() : ok(res));
    const error = await failure(httpRequest(ctx(), { url: `${base}/maintenance` }));
    expect(error.message).toContain('asks to wait 16 min before trying again, longer than the 15 min verite waits');

    // `retries.maxRetryAfterMinutes: 20` lets the same answer be waited out.
    arrivals = [];
    const bound = maxRetryAfterMs({ retries: { maxRetryAfterMinutes: 20 } });
    expect(bound).toBe(1_200_000);
    const res = await httpRequest(ctx({ maxRetryAfterMs: bound }), { url: `${base}/maintenance` });
    expect(res.status).toBe(200);
    expect(waits).toEqual([960_000]);
  });
});

describe('RateLimiter', () => {
  it('starts requests 1000 / perSecond ms apart on its clock', async () => {
    // The limiter's own clock: its sleeps move it, and the server stamps arrivals with it.
    let t = 0;
    const slept: number[] = [];
    const limiterClock: LimiterClock = { now: () => t, sleep: async (ms) => void (slept.push(ms), (t += ms)) };
    stamp = () => t;
    handler = (_req, res) => ok(res);
    const limiter = new RateLimiter(4, limiterClock);

    for (let i = 0; i < 5; i++) await httpRequest(ctx({}, { limiter }), { url: `${base}/page/${i}` });

    // 4 a second: 250 ms apart, the first at once.
    expect(arrivals.map((a) => a.at)).toEqual([0, 250, 500, 750, 1000]);
    expect(slept).toEqual([250, 250, 250, 250]);
    // The limiter's waits are not retries: the shared sleep saw none.
    expect(waits).toEqual([]);
  });

  it('books slots for concurrent callers: each takes the next free one before it waits', async () => {
    let t = 0;
    const slept: number[] = [];
    // The sleep does not move the clock: all six callers ask while it still reads 0.
    const limiterClock: LimiterClock = { now: () => t, sleep: async (ms) => void slept.push(ms) };
    handler = (_req, res) => ok(res);
    const limiter = new RateLimiter(20, limiterClock);

    await Promise.all(Array.from({ length: 6 }, (_, i) => httpRequest(ctx({}, { limiter }), { url: `${base}/charge/${i}` })));

    // 20 a second: slots 50 ms apart, the first at once; every caller got its own.
    expect(arrivals).toHaveLength(6);
    expect([...slept].sort((a, b) => a - b)).toEqual([50, 100, 150, 200, 250]);
  });

  it('waits on its own clock by default, not on the sleep tests replace', async () => {
    // A million a second: slots a microsecond apart, so the real waits are nothing to speak of.
    handler = (_req, res) => ok(res);
    const limiter = new RateLimiter(1_000_000);
    for (let i = 0; i < 3; i++) await httpRequest(ctx({}, { limiter }), { url: `${base}/page/${i}` });
    expect(arrivals).toHaveLength(3);
    // The shared (fake) sleep saw none of the limiter's waits: in a test's own process a rate
    // bound still holds, and a test's recorded waits stay those of retries.
    expect(waits).toEqual([]);
  });
});
