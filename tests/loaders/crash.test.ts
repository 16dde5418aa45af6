import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { FAKE_TOTAL } from '../support/fake-orders.ts';

const SCRIPT = fileURLToPath(new URL('../support/run-fake-load.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** Runs the loader child; when `killAfterPages` is set, SIGKILLs it once that many pages are surely committed. */
function runChild(url: string, killAfterPages?: number): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, SCRIPT], { env: { ...process.env, DATABASE_URL: url, VERITE_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = [...out.matchAll(/requested (\d+)/g)].pop();
      if (killAfterPages && m && Number(m[1]) - 1 >= killAfterPages) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out }));
  });
}

async function snapshot(wh: Warehouse) {
  const raw = await wh.pool.query(`select _key, _hash from raw.shopify__orders order by _key`);
  const state = await wh.pool.query(`select state from ops.stream_state where source = 'shopify' and stream = 'orders'`);
  const quarantine = await wh.pool.query(`select reason, raw from ops.quarantine order by raw`);
  return { raw: raw.rows, state: state.rows, quarantine: quarantine.rows };
}

let clean: Warehouse;
let crashed: Warehouse;
beforeAll(async () => {
  clean = await createTestDatabase('crash_clean');
  crashed = await createTestDatabase('crash_killed');
});
afterAll(async () => {
  await clean?.close();
  await crashed?.close();
});

describe('a load killed with SIGKILL', () => {
  it('leaves whole pages only, and the next run ends with exactly the rows of one clean run', async () => {
    const reference = await runChild(clean.url);
    expect(reference.out).toMatch(/done succeeded/);

    const killed = await runChild(crashed.url, 4);
    expect(killed.signal).toBe('SIGKILL');
    // Whatever moment the kill hit, raw holds whole pages whose cursor was stored with them.
    const partial = await snapshot(crashed);
    const offset = (partial.state[0]?.state as { offset: number }).offset;
    const keysThroughOffset = Array.from({ length: offset }, (_, i) => i).filter((i) => i % 997 !== 7).length;
    expect(offset % 1000).toBe(0);
    expect(offset).toBeGreaterThanOrEqual(4000);
    expect(partial.raw.length).toBe(keysThroughOffset);

    const resumed = await runChild(crashed.url);
    expect(resumed.out).toMatch(/done succeeded/);
    const after = await snapshot(crashed);
    const expected = await snapshot(clean);
    // 12,000 records, of which those with i % 997 === 7 have no id.
    const missingIds = Array.from({ length: FAKE_TOTAL }, (_, i) => i).filter((i) => i % 997 === 7).length;
    expect(expected.raw.length).toBe(FAKE_TOTAL - missingIds);
    expect(after.raw).toEqual(expected.raw);
    expect(after.state).toEqual(expected.state);
    expect(after.quarantine).toEqual(expected.quarantine);
    expect(after.quarantine.length).toBe(missingIds);
  });
});
