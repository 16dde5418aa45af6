import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../../config/schema.ts';
import { demoSources } from '../../extractors/demo/index.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { readContext } from '../demo/read-demo.ts';

/**
 * Issue 14, acceptance 4: after a demo run the predicted-CLV tables have rows, the BI role reads
 * metrics.clv_model and metrics.clv_summary and not core.customer_predictions. The demo shop is
 * pinned here (60 days of about 30 orders to 12 May 2024) so the test does not depend on the
 * demo's defaults; that the default demo (`npm run demo`, whatever its length) has the 100
 * repeat customers a fit needs is checked apart, from the generator.
 */

const suffix = randomBytes(3).toString('hex');
const ROLE = `bi_clv_${suffix}`;
const PASSWORD = `clv-${randomBytes(8).toString('hex')}`;

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;
let run: CliResult;

beforeAll(async () => {
  wh = await createTestDatabase('clv_demo');
  dir = mkdtempSync(join(tmpdir(), 'verite-clv-demo-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ sources: { demo: { endDate: '2024-05-12', days: 60, ordersPerDay: 30 } } }));
  // The demo lands in a warehouse of its own: here, the test's database.
  env = { DATABASE_URL: wh.url, VERITE_DEMO_DATABASE_URL: wh.url, BI_CLV_PASSWORD: PASSWORD };
  run = await runCli(['run', '--demo'], { env, cwd: dir, timeoutMs: 300_000 });
}, 360_000);

afterAll(async () => {
  await wh?.pool.query(`drop owned by ${ROLE}`).catch(() => undefined);
  await wh?.pool.query(`drop role if exists ${ROLE}`).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

const count = async (table: string) => (await wh.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;

describe('verite run --demo and the CLV fit', () => {
  it('fits the models after the metrics refresh, as of the last day of the demo', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^clv: succeeded, fitted as of 2024-05-12 on [\d,]+ customers \([\d,]+ repeat\): BG\/NBD r /m);
  });

  it('fills metrics.clv_model, metrics.clv_summary and core.customer_predictions', async () => {
    expect(await count('metrics.clv_model')).toBe(1);
    const customers = (await wh.pool.query(`select count(*)::int as n from core.customers`)).rows[0].n as number;
    expect(await count('core.customer_predictions')).toBe(customers);
    const [model] = (await wh.pool.query(`select customers, repeat_customers, calibration_end from metrics.clv_model`)).rows;
    expect(model).toMatchObject({ customers, calibration_end: '2024-05-12' });
    expect(model.repeat_customers).toBeGreaterThanOrEqual(100);
    const summary = (await wh.pool.query(`select * from metrics.clv_summary`)).rows;
    expect(summary.length).toBeGreaterThan(0);
    expect(summary.reduce((s, r) => s + Number(r.customers), 0)).toBe(customers);
    // The paid channels have their month's spend next to the predicted value they brought.
    const paid = summary.filter((r) => r.channel === 'google_ads' && r.ad_spend !== null);
    expect(paid.length).toBeGreaterThan(0);
    for (const r of paid) expect(Number(r.predicted_ltv_to_cac)).toBeCloseTo(Number(r.predicted_clv_12m) / Number(r.ad_spend), 9);
  });

  it('lets the BI role read metrics.clv_model and metrics.clv_summary, and not core.customer_predictions', async () => {
    const grant = await runCli(['bi', 'grant', '--role', ROLE, '--password-env', 'BI_CLV_PASSWORD'], { env, cwd: dir });
    expect(grant.code, grant.stderr).toBe(0);
    const url = new URL(wh.url);
    url.username = ROLE;
    url.password = PASSWORD;
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      for (const table of ['metrics.clv_model', 'metrics.clv_summary']) {
        const res = await client.query(`select count(*)::int as n from ${table}`);
        expect(res.rows[0].n, table).toBe(await count(table));
        expect(res.rows[0].n, table).toBeGreaterThan(0);
      }
      const denied = await client.query('select * from core.customer_predictions limit 1').then(
        () => 'ok',
        (error: { code?: string }) => error.code,
      );
      expect(denied).toBe('42501'); // insufficient_privilege
    } finally {
      await client.end();
    }
  });
});

describe('the default demo shop (npm run demo)', () => {
  it('has at least 100 repeat customers, so that its first run fits the models', async () => {
    // The defaults, whatever they are; a fixed end date keeps it reproducible.
    const defaults = demoConfig.parse({});
    const [shopify] = demoSources({ seed: defaults.seed, days: defaults.days, ordersPerDay: defaults.ordersPerDay, endDate: '2024-05-12' }).filter((s) => s.name === 'shopify');
    const orders = shopify!.streams.find((s) => s.name === 'orders')!;
    // Counted orders by customer key (id, else the guest's e-mail lower-cased and trimmed), distinct days: stop at 100 repeat customers.
    const days = new Map<string, Set<string>>();
    let repeat = 0;
    read: for await (const page of orders.read(readContext())) {
      for (const o of page.records as Record<string, any>[]) {
        if (o.test || o.cancelled_at) continue;
        const key = o.customer?.id ? `id:${o.customer.id}` : o.email ? `email:${String(o.email).trim().toLowerCase()}` : `order:${o.id}`;
        const set = days.get(key) ?? new Set<string>();
        const before = set.size;
        set.add(String(o.created_at).slice(0, 10));
        days.set(key, set);
        if (before === 1 && set.size === 2 && ++repeat >= 100) break read;
      }
    }
    expect(repeat).toBe(100);
  });
});
