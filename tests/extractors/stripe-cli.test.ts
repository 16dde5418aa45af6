import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeStripe, stripeCharge, type FakeStripe } from './support/stripe-server.ts';

const SECRET = 'sk_test_cli0123456789abcdef';
const id = (prefix: string, i: number) => `${prefix}_${String(i).padStart(4, '0')}`;

let wh: Warehouse;
let server: FakeStripe;
let root: string;

beforeAll(async () => {
  wh = await createTestDatabase('stripe_cli');
  server = await startFakeStripe(SECRET);
  root = mkdtempSync(join(tmpdir(), 'verite-stripe-'));
});
afterAll(async () => {
  await server?.close();
  await wh?.close();
  rmSync(root, { recursive: true, force: true });
});

const count = async () => Number((await wh.pool.query('select count(*) as n from raw.stripe__charges')).rows[0].n);
const state = async (stream: string) => (await wh.pool.query(`select state from ops.stream_state where source = 'stripe' and stream = $1`, [stream])).rows[0]?.state;
const chargeLists = () => server.requests.filter((r) => r.path === '/v1/charges').map((r) => r.query);

describe('a `verite run` that fails part way through the charges', () => {
  it('exits 1 naming the stream, keeps the committed pages, and the next run goes on from there without duplicates', async () => {
    // The command line runs on the real clock: 250 charges, 50 minutes apart, from 01:00 UTC
    // ten days ago, all in the one 30-day window that starts at startDate.
    const now = Math.floor(Date.now() / 1000);
    const startDate = new Date((now - 10 * 86_400) * 1000).toISOString().slice(0, 10);
    const start = Date.parse(`${startDate}T00:00:00Z`) / 1000;
    for (let i = 0; i < 250; i++) {
      const charge = stripeCharge({ id: id('ch', i), amount: 2000 + i, currency: 'usd', created: start + 3600 + i * 3000 });
      server.charges.push(charge);
      server.clock = charge.created;
      server.emit('charge.succeeded', charge);
    }
    server.clock = now;
    const newestEvent = server.events.at(-1)!;

    const configFile = join(root, 'verite.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        sources: { stripe: { startDate, host: server.host, port: server.port, protocol: 'http', maxRequestsPerSecond: 1000, maxAttempts: 2 } },
        retries: { streamAttempts: 1, backoffSeconds: 0 },
      }),
    );
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile, STRIPE_SECRET_KEY: SECRET };

    // Two pages of charges answer (249–150, 149–50); then Stripe answers only 500s.
    server.goDownAfter('/v1/charges', 2);
    const failed = await runCli(['run', '--sources', 'stripe'], { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/stripe\.charges: .*HTTP 500/);
    expect(failed.stderr).not.toContain(SECRET);
    expect(await count()).toBe(200);
    // The window is not claimed; its listing goes on after charge 50.
    const pending = (await state('charges')) as { mode: string; created_through: number; resume: { gte: number; lte: number; starting_after: string } };
    expect(pending).toMatchObject({
      mode: 'created',
      created_through: start - 1,
      resume: { gte: start, starting_after: 'ch_0050' },
      events_from: { last_event_created: newestEvent.created, handled_event_ids: [newestEvent.id] },
    });

    server.heal();
    server.requests.length = 0;
    const resumed = await runCli(['run', '--sources', 'stripe'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const lists = chargeLists();
    // It asks for the page after charge 50 first, and never again for the pages it landed.
    expect(lists[0]).toEqual({ 'created[gte]': String(start), 'created[lte]': String(pending.resume.lte), limit: '100', starting_after: 'ch_0050' });
    expect(lists.filter((q) => q['created[gte]'] === String(start))).toHaveLength(1);
    expect(await count()).toBe(250);
    const runs = (await wh.pool.query(`select status, records_landed::int as landed from ops.stream_runs where source = 'stripe' and stream = 'charges' order by id`)).rows;
    expect(runs).toEqual([
      { status: 'failed', landed: 200 },
      { status: 'succeeded', landed: 50 },
    ]);
    // Listing done: from now on, the events since the position taken before the listing.
    expect(await state('charges')).toEqual({ mode: 'events', last_event_created: newestEvent.created, handled_event_ids: [newestEvent.id] });
  });
});
