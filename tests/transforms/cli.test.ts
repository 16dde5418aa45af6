import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { runModels } from '../../transforms/runner.ts';
import { models } from '../../transforms/models.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';
import { order } from './fixtures.ts';

/** `verite transform --select`, run as a user runs it (issue 3). */

let wh: Warehouse;
let dir: string;
let env: Record<string, string>;
const CONFIG = { reportingTimezone: 'UTC', reportingCurrency: 'USD', sources: {} };

const count = async (table: string) => (await wh.pool.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;

beforeAll(async () => {
  wh = await createTestDatabase('transform_cli');
  dir = mkdtempSync(join(tmpdir(), 'verite-transform-cli-'));
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify(CONFIG));
  env = { DATABASE_URL: wh.url, VERITE_CONFIG: join(dir, 'verite.config.json') };
  // A first complete build: one USD order with one line.
  await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 1, created_at: '2024-03-01T10:00:00Z', total: '10.00', customer: 1 })]);
  const first = await runModels(wh.db, configSchema.parse(CONFIG), { models, now: new Date('2024-03-06T12:00:00Z') });
  expect(first.status).toBe('succeeded');
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await wh?.close();
});

describe('verite transform --select', () => {
  it('rebuilds only the selected models and says the others were not selected', async () => {
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 2, created_at: '2024-03-02T10:00:00Z', total: '20.00', customer: 2 })], 'run-2');
    const result = await runCli(['transform', '--select', 'staging.shopify_orders,core.orders'], { env });
    expect(result.code, result.stderr).toBe(0);
    // Issue 16: a selected model is rebuilt in full, and the table says so.
    expect(result.stdout).toMatch(/^staging\.shopify_orders\s+succeeded\s+full\s+2\s/m);
    expect(result.stdout).toMatch(/^core\.orders\s+succeeded\s+full\s+2\s/m);
    // The models reading a selected one are rebuilt in full by the next build; the others were only not selected.
    expect(result.stdout).toMatch(/^core\.order_lines\s+not-run\s+not selected; the next build rebuilds it in full$/m);
    expect(result.stdout).toMatch(/^staging\.shopify_order_lines\s+not-run\s+not selected; the next build rebuilds it in full$/m);
    expect(result.stdout).toMatch(/^staging\.stripe_charges\s+not-run\s+not selected$/m);
    // core.orders has both orders; the lines, not selected, still hold the first build's one line.
    expect(await count('core.orders')).toBe(2);
    expect(await count('core.order_lines')).toBe(1);
  });

  it('fails on a selection that leaves order lines pointing at no order, naming the check and the orphan (issue 3)', async () => {
    // Order 3 reaches the lines but not core.orders, which is not rebuilt.
    await landRecords(wh.pool, 'shopify', 'orders', [order({ id: 3, created_at: '2024-03-03T10:00:00Z', total: '30.00', customer: 3 })], 'run-3');
    const result = await runCli(['transform', '--select', 'staging.shopify_order_lines,core.order_lines'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('check failed: core.order_lines: order_id references core.orders.order_id');
    expect(result.stdout).toContain('sample: [{"order_id":"3","line_id":"30"}]');
    expect(result.stderr).toMatch(/transform failed, the previous build is kept/);
    expect(await count('core.order_lines')).toBe(1);
  });

  it('exits 2 on a model that does not exist, suggesting the closest', async () => {
    const result = await runCli(['transform', '--select', 'core.order'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^verite: no such model: core\.order \(did you mean core\.orders, core\.order_lines\?\)/);
  });
});
