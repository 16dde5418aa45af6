import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import type { Page, ReadContext, Source, Stream } from '../../extractors/types.ts';
import { ExtractError } from '../../lib/errors.ts';
import { logger, registerSecret } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import { createRawTable } from '../../warehouse/migrations/0001-init.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { fakeSource } from '../support/fake-source.ts';

let wh: Warehouse;
let delays: number[] = [];
let restoreSleep: () => void;
beforeAll(async () => {
  wh = await createTestDatabase('retries');
  for (const stream of ['ticks', 'flaky', 'broken', 'leaky']) await createRawTable(wh.db as Kysely<any>, 'fake', stream);
});
afterAll(async () => wh?.close());
afterEach(() => restoreSleep?.());

function recordSleeps(): void {
  delays = [];
  restoreSleep = setSleep(async (ms) => {
    if (ms > 0) delays.push(ms);
  });
}

/** A stream that lands one page, then fails its first `failures` reads; later reads go on from the cursor. */
function flakyStream(name: string, failures: number): Stream<unknown> & { reads: number } {
  const stream = {
    name,
    kind: 'entity' as const,
    keyDescription: 'id',
    cursorDescription: 'page',
    defaultLookbackDays: 0,
    reads: 0,
    keyOf: (r: Record<string, unknown>) => String(r.id),
    async *read(ctx: ReadContext<unknown>): AsyncIterable<Page> {
      stream.reads++;
      const page = ((ctx.state as { page?: number } | null)?.page ?? 0) + 1;
      yield { records: [{ id: `${name}-${page}` }], state: { page } };
      if (stream.reads <= failures) throw new ExtractError('HTTP 503 three times', { source: 'fake', stream: name, request: 'GET /things', status: 503 });
      yield { records: [{ id: `${name}-${page + 1}` }], state: { page: page + 1 } };
    },
  };
  return stream;
}

function config(streamAttempts: number) {
  return configSchema.parse({ retries: { streamAttempts, backoffSeconds: 5 } });
}

async function keys(stream: string): Promise<string[]> {
  return (await wh.pool.query<{ _key: string }>(`select _key from raw.fake__${stream} order by _key`)).rows.map((r) => r._key);
}

describe('stream retries within a run', () => {
  it('a stream that fails once is retried after the backoff and resumes from the page it had committed', async () => {
    recordSleeps();
    const flaky = flakyStream('flaky', 1);
    const source: Source<unknown> = { name: 'fake', streams: [flaky] };
    const result = await runPipeline({ warehouse: wh, config: config(3), log: logger(), sources: [{ source, config: {} }], steps: [] });
    expect(result.status).toBe('succeeded');
    expect(result.streams).toMatchObject([{ stream: 'flaky', status: 'succeeded', attempts: 2 }]);
    // backoffSeconds 5 → 5 s before the second attempt.
    expect(delays).toEqual([5000]);
    // Attempt 1 landed flaky-1 (cursor page 1); attempt 2 read pages 2 and 3.
    expect(await keys('flaky')).toEqual(['flaky-1', 'flaky-2', 'flaky-3']);
    const attempts = await wh.db.selectFrom('ops.stream_runs').select(['attempt', 'status', 'records_landed', 'error']).where('run_id', '=', result.runId).orderBy('attempt').execute();
    expect(attempts).toEqual([
      { attempt: 1, status: 'failed', records_landed: 1, error: '[fake.flaky, GET /things, HTTP 503] HTTP 503 three times' },
      { attempt: 2, status: 'succeeded', records_landed: 2, error: null },
    ]);
  });

  it('a stream that keeps failing fails the run, naming it; the other streams land and keep their rows', async () => {
    recordSleeps();
    const broken = flakyStream('broken', Infinity);
    const source: Source<unknown> = { name: 'fake', streams: [broken, ...fakeSource({ streams: ['ticks'], pages: 2, perPage: 2 }).streams] };
    const result = await runPipeline({ warehouse: wh, config: config(3), log: logger(), sources: [{ source, config: {} }], steps: [] });
    expect(result.status).toBe('failed');
    expect(result.error).toBe('fake.broken: [fake.broken, GET /things, HTTP 503] HTTP 503 three times');
    expect(result.streams.map((s) => [s.stream, s.status, s.attempts])).toEqual([
      ['broken', 'failed', 3],
      ['ticks', 'succeeded', 1],
    ]);
    // Backoff doubles: 5 s, then 10 s.
    expect(delays).toEqual([5000, 10000]);
    // Each attempt committed one page before failing; the cursor kept them apart.
    expect(await keys('broken')).toEqual(['broken-1', 'broken-2', 'broken-3']);
    expect(await keys('ticks')).toEqual(['1-1', '1-2', '2-1', '2-2']);
    const run = await wh.db.selectFrom('ops.runs').selectAll().where('id', '=', result.runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'failed', records_landed: 7, error: result.error });
  });
});

// Audit of issue 2: the run stored errorMessage(…) as it came, and a provider's error body
// (up to 300 characters of it) may quote the credential it refused.
describe('stored errors', () => {
  it('are redacted in ops.runs and ops.stream_runs', async () => {
    recordSleeps();
    const token = 'leaky-token-5e4d3c2b1a';
    registerSecret(token);
    const leaky: Stream<unknown> = {
      ...flakyStream('leaky', 0),
      async *read(): AsyncIterable<Page> {
        yield* [];
        throw new ExtractError(`HTTP 401: {"error":"bad token ${token}","hint":"postgres://app:p@ss@db/shop"}`, { source: 'fake', stream: 'leaky', status: 401 });
      },
    };
    const result = await runPipeline({ warehouse: wh, config: config(1), log: logger(), sources: [{ source: { name: 'fake', streams: [leaky] }, config: {} }], steps: [] });
    expect(result.status).toBe('failed');
    const expected = 'fake.leaky: [fake.leaky, HTTP 401] HTTP 401: {"error":"bad token [redacted]","hint":"postgres://app:[redacted]@db/shop"}';
    const run = await wh.db.selectFrom('ops.runs').select('error').where('id', '=', result.runId).executeTakeFirstOrThrow();
    expect(run.error).toBe(expected);
    const streamRun = await wh.db.selectFrom('ops.stream_runs').select('error').where('run_id', '=', result.runId).executeTakeFirstOrThrow();
    expect(streamRun.error).toBe(expected.slice('fake.leaky: '.length));
  });
});
