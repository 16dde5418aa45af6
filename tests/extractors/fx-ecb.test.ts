import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, fxConfig } from '../../config/schema.ts';
import { fxSource } from '../../extractors/fx/index.ts';
import { parseEcbXml } from '../../extractors/fx/ecb.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { runPipeline } from '../../pipeline/run.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

const day = (date: string, usd: string, gbp: string) =>
  `<Cube time="${date}"><Cube currency="USD" rate="${usd}"/><Cube currency="GBP" rate="${gbp}"/></Cube>`;
const doc = (days: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><gesmes:subject>Reference rates</gesmes:subject><Cube>${days.join('')}</Cube></gesmes:Envelope>`;

let server: Server;
let baseUrl: string;
let days: string[] = [];
const requests: string[] = [];
let failNext = 0;
let wh: Warehouse;
const waits: number[] = [];
let restoreSleep: () => void;

beforeAll(async () => {
  restoreSleep = setSleep(async (ms) => void waits.push(ms));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (failNext > 0) {
      failNext--;
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '2' }).end('busy');
      return;
    }
    // The newest day comes first in the ECB's documents.
    res.writeHead(200, { 'content-type': 'text/xml' }).end(doc([...days].reverse()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/eurofxref`;
  wh = await createTestDatabase('fx_ecb');
});
afterAll(async () => {
  restoreSleep();
  server?.close();
  await wh?.close();
});

async function run(now: string) {
  const config = configSchema.parse({ sources: { fx: { ecb: true, ecbUrl: baseUrl, startDate: '2024-03-01' } } });
  return runPipeline({
    warehouse: wh, config, log: logger(), now: new Date(now), steps: [],
    sources: [{ source: fxSource, config: fxConfig.parse(config.sources.fx) }],
  });
}

describe('ECB reference rates', () => {
  it('parses the ECB document shape', () => {
    expect(parseEcbXml(doc([day('2024-03-04', '1.0850', '0.8550'), day('2024-03-01', '1.0830', '0.8540')]))).toEqual([
      { date: '2024-03-01', base: 'EUR', quote: 'GBP', rate: 0.854 },
      { date: '2024-03-01', base: 'EUR', quote: 'USD', rate: 1.083 },
      { date: '2024-03-04', base: 'EUR', quote: 'GBP', rate: 0.855 },
      { date: '2024-03-04', base: 'EUR', quote: 'USD', rate: 1.085 },
    ]);
  });

  it('lands the rates after a 503, then only adds the new day on the next run', async () => {
    days = [day('2024-03-01', '1.0830', '0.8540'), day('2024-03-04', '1.0850', '0.8550')];
    failNext = 1;
    const first = await run('2024-03-05T08:00:00Z');
    expect(first.status).toBe('succeeded');
    expect(waits[0]).toBeGreaterThanOrEqual(2000); // Retry-After: 2
    expect(requests.at(-1)).toBe('/stats/eurofxref/eurofxref-hist-90d.xml');
    const landed = await wh.pool.query(`select _key, (_record->>'rate')::numeric as rate from raw.fx__rates order by _key`);
    expect(landed.rows.map((r) => [r._key, Number(r.rate)])).toEqual([
      ['EUR|GBP|2024-03-01', 0.854],
      ['EUR|GBP|2024-03-04', 0.855],
      ['EUR|USD|2024-03-01', 1.083],
      ['EUR|USD|2024-03-04', 1.085],
    ]);

    // Tuesday's rates appear, and Monday's USD rate is corrected: both land; nothing is duplicated.
    days = [day('2024-03-01', '1.0830', '0.8540'), day('2024-03-04', '1.0860', '0.8550'), day('2024-03-05', '1.0870', '0.8560')];
    const second = await run('2024-03-06T08:00:00Z');
    expect(second.status).toBe('succeeded');
    expect(second.streams[0]!.written).toBe(3); // Monday's corrected USD rate and Tuesday's two
    const after = await wh.pool.query(`select count(*)::int as n, max((_record->>'rate')::numeric) filter (where _key = 'EUR|USD|2024-03-04') as mon from raw.fx__rates`);
    expect(after.rows[0]).toEqual({ n: 6, mon: '1.086' });
    const state = await wh.pool.query(`select state from ops.stream_state where source = 'fx'`);
    expect(state.rows[0].state).toEqual({ through: '2024-03-05' });
  });
});
