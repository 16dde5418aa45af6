import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { makeReport, writeReport } from '../../reports/index.ts';
import { readOnlyDatabase, startReportServer, type ReportServer } from '../../reports/server.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnCli, waitFor } from '../support/spawn-script.ts';
import { CONFIG, landShop } from '../metrics/support/shop.ts';

/**
 * Issue 15, acceptance 4: `verite serve` answers the report pages and the catalogue on
 * 127.0.0.1, keeps the embedded warehouse up on a fixed port where the BI role connects, and
 * nothing sent to it can write to the warehouse.
 */

const silent = createLogger({ write: () => undefined }, 'silent');
const now = new Date('2024-03-12T06:00:00Z');
let wh: Warehouse;
let dir: string;
let readOnly: ReturnType<typeof readOnlyDatabase>;
let server: ReportServer;
const config = () => configSchema.parse({ ...CONFIG, reportsDir: path.join(dir, 'reports') });

beforeAll(async () => {
  wh = await createTestDatabase('reports_serve');
  await landShop(wh.pool);
  expect((await runTransforms(wh, config0(), { now })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config0(), silent, { now })).error).toBeUndefined();
  dir = await mkdtemp(path.join(tmpdir(), 'verite-serve-'));
  // Run as root, the embedded server runs as the postgres user, who must enter the folder (mkdtemp makes it 0700).
  await chmod(dir, 0o755);
  readOnly = readOnlyDatabase(wh.url);
  server = await startReportServer({ db: readOnly.db, config: config(), log: silent, port: 0, now: () => now });
});
afterAll(async () => {
  await server?.close();
  await readOnly?.db.destroy();
  await wh?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
const config0 = () => configSchema.parse({ ...CONFIG });

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const tableExists = async (name: string) => (await wh.pool.query<{ t: string | null }>('select to_regclass($1)::text as t', [name])).rows[0]!.t !== null;

describe('verite serve (issue 15)', () => {
  it('serves the reports written, their archive, a live view from the current data, and the catalogue, on 127.0.0.1', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const report = await makeReport(wh.db, config(), { kind: 'weekly', now });
    await writeReport(path.join(dir, 'reports', 'weekly-2024-W10.html'), report.html);

    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<a href="/reports/weekly-2024-W10.html">weekly 2024-W10</a>');
    const file = await fetch(`${server.url}/reports/weekly-2024-W10.html`);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe(await readFile(path.join(dir, 'reports', 'weekly-2024-W10.html'), 'utf8'));

    // Live, from the data: 2024-W10's revenue (worked out in report-page.test.ts); another period by ?period=.
    const live = await (await fetch(`${server.url}/live/weekly`)).text();
    expect(live).toContain('<p class="value">354.18 USD</p>');
    const february = await fetch(`${server.url}/live/monthly?period=2024-02`);
    expect(february.status).toBe(200);
    expect(await february.text()).toContain('<p class="value">105.00 USD</p>');

    const catalogue = await fetch(`${server.url}/catalogue`);
    expect(catalogue.status).toBe(200);
    expect(await catalogue.text()).toContain('Revenue per counted order. Over a date range: SUM(revenue) / SUM(orders).');

    // Only report files of the folder are served.
    expect((await fetch(`${server.url}/reports/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
  });

  it('no request can write: other methods are 405, a crafted period is refused, and its sessions are read-only', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await fetch(`${server.url}/live/weekly`, { method, body: 'drop table ops.runs' });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    const crafted = await fetch(`${server.url}/live/weekly?period=${encodeURIComponent("2024-W10'; drop table ops.runs; --")}`);
    expect(crafted.status).toBe(400);
    expect(await crafted.text()).toContain('a weekly report expects a period such as 2026-W48');
    expect(await tableExists('ops.runs')).toBe(true);

    // The pages' own connections: every transaction is read-only, so even a statement that got through could not write.
    expect((await readOnly.pool.query('show transaction_read_only')).rows[0].transaction_read_only).toBe('on');
    await expect(readOnly.pool.query('create table public.written_by_serve (a int)')).rejects.toMatchObject({ code: '25006' });
    await expect(readOnly.pool.query("delete from ops.runs where id = 'x'")).rejects.toMatchObject({ code: '25006' });
    expect(await tableExists('public.written_by_serve')).toBe(false);
  });

  it('answers only requests addressed to this machine, so a page whose name was re-pointed at 127.0.0.1 cannot read the figures', async () => {
    const get = (url: string, hostHeader: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(url, { headers: { host: hostHeader } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject).end();
      });
    const port = new URL(server.url).port;
    // The names of this machine, with and without the port, as browsers and curl send them.
    for (const name of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, `app.localhost:${port}`, `LOCALHOST:${port}`]) {
      expect((await get(`${server.url}/catalogue`, name)).status, name).toBe(200);
    }
    // Another site's name (DNS rebinding): refused before anything is read, its name said back escaped.
    for (const name of [`attacker.example:${port}`, 'attacker.example', `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      const res = await get(`${server.url}/live/weekly`, name);
      expect(res.status, name).toBe(421);
      expect(res.body).toContain('--allowed-host');
      expect(res.body).not.toContain('Revenue');
    }
    // A reverse proxy on this machine passing on its public name: allowed by name, that name only.
    const proxied = await startReportServer({ db: readOnly.db, config: config(), log: silent, port: 0, now: () => now, allowedHosts: ['reports.example.com'] });
    try {
      expect((await get(`${proxied.url}/catalogue`, 'reports.example.com')).status).toBe(200);
      expect((await get(`${proxied.url}/catalogue`, 'Reports.Example.com:443')).status).toBe(200);
      expect((await get(`${proxied.url}/catalogue`, 'other.example.com')).status).toBe(421);
    } finally {
      await proxied.close();
    }
    // Served beyond this machine on purpose (--host 0.0.0.0), whoever reaches it may use any name.
    const exposed = await startReportServer({ db: readOnly.db, config: config(), log: silent, host: '0.0.0.0', port: 0, now: () => now });
    try {
      expect((await get(`http://127.0.0.1:${new URL(exposed.url).port}/catalogue`, 'shop-reports.lan')).status).toBe(200);
    } finally {
      await exposed.close();
    }
  });

  it('keeps the embedded warehouse up on the fixed port, where the BI role connects, while it runs', async () => {
    const dataDir = path.join(dir, 'embedded');
    const env = { DATABASE_URL: '', VERITE_DATA_DIR: dataDir, BI_PASSWORD: 'report-reader-secret', VERITE_CONFIG: '' };
    const granted = await runCli(['bi', 'grant', '--role', 'report_reader', '--password-env', 'BI_PASSWORD'], { env, cwd: dir });
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);

    const [port, warehousePort] = [await freePort(), await freePort()];
    const serve = spawnCli(['serve', '--port', String(port), '--warehouse-port', String(warehousePort), '--bi-role', 'report_reader'], { ...env, VERITE_LOG_LEVEL: 'warn' }, { cwd: dir });
    try {
      // Both lines are written once it listens, in two writes that may reach the pipe apart: wait for the second.
      await waitFor('verite serve to listen', () => serve.stdout().includes('Warehouse for BI tools'));
      expect(serve.stdout()).toContain(`Reports, live views and the metric catalogue: http://127.0.0.1:${port}/ (read-only; Ctrl-C to stop)`);
      // The connection string names the role and no password.
      expect(serve.stdout()).toContain(`Warehouse for BI tools, as role report_reader: postgres://report_reader@127.0.0.1:${warehousePort}/postgres`);

      const bi = new pg.Client({ host: '127.0.0.1', port: warehousePort, database: 'postgres', user: 'report_reader', password: 'report-reader-secret' });
      await bi.connect();
      try {
        expect((await bi.query('select current_user as u')).rows[0].u).toBe('report_reader');
        await expect(bi.query('create table metrics.by_bi (a int)')).rejects.toMatchObject({ code: expect.stringMatching(/^(42501|25006)$/) });
      } finally {
        await bi.end();
      }
      expect((await fetch(`http://127.0.0.1:${port}/catalogue`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status).toBe(405);
      // No data landed in this warehouse: the live view says so instead of failing.
      const live = await fetch(`http://127.0.0.1:${port}/live/weekly`);
      expect(live.status).toBe(404);
      expect(await live.text()).toContain('no metrics yet');
    } finally {
      serve.child.kill('SIGTERM');
    }
    const { code } = await serve.exited;
    expect(code).toBe(0);
    expect(serve.stdout()).toContain('Stopped serving.');
  });
});

describe('verite serve on a port it cannot have', () => {
  it('says the port is taken, and to give another --port', async () => {
    const taken = await startReportServer({ db: readOnly.db, config: config(), log: silent, port: 0, now: () => now });
    try {
      const port = Number(new URL(taken.url).port);
      const error = await startReportServer({ db: readOnly.db, config: config(), log: silent, port, now: () => now }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(`127.0.0.1:${port} is taken by another program (another verite serve?): give another --port (listen EADDRINUSE: address already in use 127.0.0.1:${port})`);
    } finally {
      await taken.close();
    }
  });
});

describe('verite serve --allowed-host', () => {
  it('refuses a value that is not a host name before anything starts (exit 2), serve and schedule --serve alike', async () => {
    for (const args of [['serve', '--allowed-host', 'https://reports.example.com'], ['schedule', '--serve', '--allowed-host', 'reports.example.com:443'], ['serve', '--allowed-host', ' ']]) {
      const got = await runCli(args, { cwd: dir });
      expect(got.code, args.join(' ')).toBe(2);
      expect(got.stderr, args.join(' ')).toContain('--allowed-host');
    }
  });
});
