import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { Source } from '../../extractors/types.ts';
import { setSleep } from '../../lib/http.ts';
import { createLogger } from '../../lib/logger.ts';
import { checkDelivery } from '../../scheduler/delivery-check.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';

/**
 * The heartbeat: after a run of every source that succeeded, a GET to a monitor's ping URL (a
 * local stand-in of healthchecks.io here), so that the monitor can say when no run came at all.
 */

let wh: Warehouse;
let monitor: Server;
let monitorUrl: string;
let pings: string[];
let answer = 200;
let restoreSleep: () => void;

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  wh = await createTestDatabase('heartbeat');
  await createFakeTables(wh.db);
  monitor = createServer((req, res) => {
    pings.push(`${req.method} ${req.url}`);
    res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer === 200 ? 'OK' : 'error');
  });
  await new Promise<void>((resolve) => monitor.listen(0, '127.0.0.1', resolve));
  monitorUrl = `http://127.0.0.1:${(monitor.address() as AddressInfo).port}`;
});
afterAll(async () => {
  restoreSleep();
  await new Promise((resolve) => monitor?.close(resolve));
  await wh?.close();
});
beforeEach(() => {
  pings = [];
  answer = 200;
});

function failing(): Source<unknown> {
  const base = fakeSource({ streams: ['ticks'], pages: 1 });
  return { ...base, streams: [{ ...base.streams[0]!, read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('HTTP 503')) }) }) }] };
}

async function run(source: Source<unknown>, heartbeat: boolean, env: Record<string, string>) {
  const lines: { msg: string; err?: string }[] = [];
  const log = createLogger({ write: (line: string) => void lines.push(JSON.parse(line)) }, 'info');
  Object.assign(process.env, env);
  try {
    const config = configSchema.parse({ alerts: { heartbeatUrlEnv: 'VERITE_TEST_HEARTBEAT' }, retries: { streamAttempts: 1, backoffSeconds: 0 } });
    const result = await runJob({ warehouse: wh, config, log, sources: [{ source, config: {} }], steps: [], overlap: 'wait', heartbeat });
    return { status: result.status, lines };
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
  }
}

describe('the heartbeat', () => {
  it('is pinged once after a run of every source that succeeded, and not after one that failed', async () => {
    const env = { VERITE_TEST_HEARTBEAT: `${monitorUrl}/ping/0f6c2d2e-5b9c-4e1a-9d7e-3b1f2a7c9e10` };
    expect((await run(fakeSource({ streams: ['ticks'], pages: 1 }), true, env)).status).toBe('succeeded');
    expect(pings).toEqual(['GET /ping/0f6c2d2e-5b9c-4e1a-9d7e-3b1f2a7c9e10']);
    expect((await run(failing(), true, env)).status).toBe('failed');
    expect(pings).toHaveLength(1);
    // A run of some sources only (a schedule with `sources`, `verite run --sources`) does not say the night is done.
    await run(fakeSource({ streams: ['ticks'], pages: 1 }), false, env);
    expect(pings).toHaveLength(1);
  });

  it('never fails the run: a monitor that answers 500 is logged, without its URL', async () => {
    answer = 500;
    const env = { VERITE_TEST_HEARTBEAT: `${monitorUrl}/ping/secret-check-uuid` };
    const { status, lines } = await run(fakeSource({ streams: ['ticks'], pages: 1 }), true, env);
    expect(status).toBe('succeeded');
    // Three attempts, then a warning.
    expect(pings).toHaveLength(3);
    const warned = lines.find((l) => l.msg === 'the heartbeat could not be sent; the monitor will say the run is late');
    expect(warned?.err).toMatch(/GET heartbeat/);
    expect(JSON.stringify(lines)).not.toContain('secret-check-uuid');
  });

  it('is read from VERITE_HEARTBEAT_URL when the config names no variable and no URL (as docker-compose.yml passes it)', async () => {
    Object.assign(process.env, { VERITE_HEARTBEAT_URL: `${monitorUrl}/ping/from-compose` });
    try {
      const config = configSchema.parse({ retries: { streamAttempts: 1, backoffSeconds: 0 } });
      const log = createLogger({ write: () => undefined }, 'silent');
      const result = await runJob({ warehouse: wh, config, log, sources: [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }], steps: [], overlap: 'wait', heartbeat: true });
      expect(result.status).toBe('succeeded');
      expect(pings).toEqual(['GET /ping/from-compose']);
    } finally {
      delete process.env.VERITE_HEARTBEAT_URL;
    }
  });

  it('is read by verite check, never pinged', async () => {
    const config = configSchema.parse({ alerts: { heartbeatUrlEnv: 'VERITE_TEST_HEARTBEAT' } });
    const result = await checkDelivery({ config, env: { VERITE_TEST_HEARTBEAT: `${monitorUrl}/ping/abc` } });
    expect(result.findings).toEqual([{ level: 'ok', message: `heartbeat: ping URL on ${monitorUrl.slice('http://'.length)} (not pinged: a ping tells the monitor a run succeeded)` }]);
    expect(pings).toEqual([]);
    const unset = await checkDelivery({ config, env: {} });
    expect(unset.findings[0]!.level).toBe('problem');
  });
});
