import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDatabaseUrl } from '../../warehouse/connection.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { chartPoints, launchChromium, openPage } from '../support/chromium.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * Issue 15, acceptance 5: `verite run --demo` ends by writing the demo shop's weekly and monthly
 * reports, prints where they are and the `verite serve` line, and both open in Chromium without
 * an error or a request. The shop: 45 days to Sunday 12 May 2024, so the last complete ISO week
 * is 2024-W19 (6–12 May) and the last complete month April 2024.
 */
let wh: Warehouse;
let dir: string;
let run: CliResult;
let browser: Browser;

beforeAll(async () => {
  wh = await createTestDatabase('demo_reports');
  dir = mkdtempSync(join(tmpdir(), 'verite-demo-reports-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'verite.config.json'), JSON.stringify({ sources: { demo: { endDate: '2024-05-12', days: 45, ordersPerDay: 4 } } }));
  run = await runCli(['run', '--demo'], { env: { DATABASE_URL: wh.url }, cwd: dir });
  browser = await launchChromium();
}, 600_000);
afterAll(async () => {
  await browser?.close();
  const admin = new pg.Client({ connectionString: wh.url });
  await admin.connect();
  await admin.query(`drop database if exists "${new URL(demoDatabaseUrl(wh.url)).pathname.slice(1)}" with (force)`);
  await admin.end();
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo ends with its reports (issue 15)', () => {
  it('writes the weekly and monthly reports, says where, and how to serve them', () => {
    expect(run.code, run.stderr).toBe(0);
    const weekly = join(dir, '.verite', 'reports', 'demo', 'weekly-2024-W19.html');
    const monthly = join(dir, '.verite', 'reports', 'demo', 'monthly-2024-04.html');
    expect(run.stdout).toContain("The demo shop's weekly and monthly reviews (open them in a browser):");
    expect(run.stdout).toMatch(new RegExp(`^  weekly 2024-W19 +${weekly.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^  monthly 2024-04 +${monthly.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(run.stdout).toContain('npx verite --demo serve');
    expect(existsSync(weekly)).toBe(true);
    expect(existsSync(monthly)).toBe(true);
  });

  it('both open in Chromium without an error or a request, every chart drawn', async () => {
    for (const name of ['weekly-2024-W19.html', 'monthly-2024-04.html']) {
      const url = pathToFileURL(join(dir, '.verite', 'reports', 'demo', name)).href;
      const { page, errors, requests } = await openPage(browser, url);
      expect(errors, name).toEqual([]);
      expect(requests, name).toEqual([url]);
      expect(await page.locator('body').getAttribute('data-partial'), name).toBe('false');
      const points = await chartPoints(page);
      expect(Object.keys(points).length, name).toBeGreaterThanOrEqual(4);
      for (const [chart, n] of Object.entries(points)) expect(n, `${name} ${chart}`).toBeGreaterThan(0);
      // Every headline has a number: the demo shop has every source.
      expect(await page.locator('.headline .value', { hasText: 'no data' }).count(), name).toBe(0);
      await page.close();
    }
  });
});
