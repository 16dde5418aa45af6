import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestVersionAt } from '../../extractors/shopify/api-version.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { startFakeEasyPost, type FakeEasyPost } from '../extractors/support/easypost-server.ts';
import { startFakeEcb, type FakeEcb } from '../extractors/support/ecb-server.ts';
import { startFakeGa4, type FakeGa4 } from '../extractors/support/ga4-server.ts';
import { startFakeGraph, type FakeGraph } from '../extractors/support/meta-graph-server.ts';
import { startFakeShopify, type FakeShopify } from '../extractors/support/shopify-server.ts';
import { startFakeStripe, type FakeStripe } from '../extractors/support/stripe-server.ts';

/**
 * Issue 11: `verite check` run as a user runs it, against local stand-ins of every source it
 * calls (Google Ads' client cannot be pointed at a local address: tests/extractors/check.test.ts
 * covers it through its seam).
 */

const SECRETS = {
  VERITE_CLI_SHOPIFY_TOKEN: 'shpat_check_cli_token_0123',
  VERITE_CLI_STRIPE_KEY: 'rk_live_check_cli_key_4567',
  VERITE_CLI_META_TOKEN: 'EAAcheck-cli-system-user-token',
  VERITE_CLI_EASYPOST_KEY: 'EZAKcheckcli0123456789',
};

let shopify: FakeShopify;
let stripe: FakeStripe;
let meta: FakeGraph;
let easypost: FakeEasyPost;
let ga4: FakeGa4;
let ecb: FakeEcb;
let dir: string;

function writeConfig(name: string, sources: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'EUR', sources }));
  return file;
}

function allSources(): Record<string, unknown> {
  return {
    shopify: { shop: 'verite-check.myshopify.com', apiBaseUrl: shopify.url, apiVersion: latestVersionAt(new Date()), accessTokenEnv: 'VERITE_CLI_SHOPIFY_TOKEN', maxAttempts: 1 },
    stripe: { secretKeyEnv: 'VERITE_CLI_STRIPE_KEY', host: '127.0.0.1', port: stripe.port, protocol: 'http', maxAttempts: 1 },
    ga4: { propertyIds: ['123456'], credentialsFile: ga4.keyFile, apiEndpoint: '127.0.0.1', port: ga4.port, protocol: 'http', maxAttempts: 1 },
    meta_ads: { adAccountIds: ['act_111'], accessTokenEnv: 'VERITE_CLI_META_TOKEN', graphBaseUrl: meta.url },
    shipments: { carrierApi: { apiKeyEnv: 'VERITE_CLI_EASYPOST_KEY', baseUrl: easypost.url, maxAttempts: 1 } },
    fx: { ecb: true, ecbUrl: ecb.url },
  };
}

/** The status and the details of each source's line in the table. */
function lines(stdout: string): Record<string, { status: string; details: string }> {
  const out: Record<string, { status: string; details: string }> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(shopify|stripe|ga4|meta_ads|shipments|fx)\s+(ok|warning|problem)\s+(.*)$/.exec(line);
    if (m) out[m[1]!] = { status: m[2]!, details: m[3]! };
  }
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verite-check-cli-'));
  shopify = await startFakeShopify(SECRETS.VERITE_CLI_SHOPIFY_TOKEN);
  // Whatever today is: the command line runs on the real clock.
  shopify.versions = { oldest: '2000-01', newest: '2999-10' };
  stripe = await startFakeStripe(SECRETS.VERITE_CLI_STRIPE_KEY);
  meta = await startFakeGraph(SECRETS.VERITE_CLI_META_TOKEN);
  meta.accounts.set('111', { timezone_name: 'Europe/Paris', currency: 'EUR', name: 'Shop FR' });
  easypost = await startFakeEasyPost(SECRETS.VERITE_CLI_EASYPOST_KEY);
  ga4 = await startFakeGa4(dir);
  ga4.properties.set('123456', { timeZone: 'Europe/Paris', currencyCode: 'EUR' });
  ecb = await startFakeEcb();
});
afterAll(async () => {
  await Promise.all([shopify?.close(), stripe?.close(), meta?.close(), easypost?.close(), ga4?.close(), ecb?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('verite check', () => {
  it('reports every source ok for a good setup, exits 0, and lands nothing', async () => {
    const config = writeConfig('good.json', allSources());
    // No DATABASE_URL: a command that opened the warehouse would start the embedded one under .verite/.
    const res = await runCli(['check'], { env: { ...SECRETS, VERITE_CONFIG: config }, cwd: dir });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(existsSync(join(dir, '.verite'))).toBe(false);
    const seen = lines(res.stdout);
    expect(Object.fromEntries(Object.entries(seen).map(([s, l]) => [s, l.status]))).toEqual({ shopify: 'ok', stripe: 'ok', ga4: 'ok', meta_ads: 'ok', shipments: 'ok', fx: 'ok' });
    expect(seen.shopify!.details).toContain('shop "Verite Test" in EUR, Europe/Paris; access scopes read_orders, read_customers, read_products, read_inventory, read_all_orders');
    expect(seen.meta_ads!.details).toContain('ad account act_111 in EUR, Europe/Paris');
    expect(seen.ga4!.details).toContain('GA4 property 123456 in EUR, Europe/Paris');
    expect(res.stdout).toContain('The warehouse and every source are ready.');
    expect(res.stdout).toMatch(/^warehouse\s+ok\s+DATABASE_URL is not set: the embedded PostgreSQL in /m);
    // One cheap call each: the shop query, four one-item lists, one ad account read, one runReport, one tracker.
    expect(shopify.requests.map((r) => r.operation)).toEqual(['VeriteCheck']);
    expect(stripe.requests.map((r) => `${r.path}?limit=${r.query.limit}`)).toEqual(['/v1/charges?limit=1', '/v1/refunds?limit=1', '/v1/events?limit=1', '/v1/balance_transactions?limit=1']);
    expect(meta.requests.map((r) => `${r.method} ${r.version}/${r.path}`)).toEqual(['GET v27.0/debug_token', 'GET v27.0/act_111']);
    expect(ga4.reports.map((r) => r.body.limit)).toEqual(['1']);
    expect(easypost.requests.map((r) => `${r.path} ${r.query.page_size}`)).toEqual(['/v2/trackers 1']);
    expect(ecb.requests).toEqual(['/stats/eurofxref/eurofxref-daily.xml']);
    expect(seen.fx!.details).toBe("the ECB's daily euro reference rates: 29 currencies against the euro, the latest of 2026-12-04");
  });

  it('names a missing secret, a refused key, a missing scope and a zone mismatch as problems, and exits 1', async () => {
    // An app made for orders and customers alone, before the products and inventory streams: `write_products` grants read_products.
    shopify.accessScopes = ['read_orders', 'read_all_orders', 'write_products'];
    meta.accounts.set('111', { timezone_name: 'America/New_York', currency: 'EUR', name: 'Shop FR' });
    try {
      const config = writeConfig('bad.json', allSources());
      const { VERITE_CLI_EASYPOST_KEY: _unset, ...env } = SECRETS;
      const res = await runCli(['check'], { env: { ...env, VERITE_CLI_STRIPE_KEY: 'rk_live_revoked_key_9999', VERITE_CONFIG: config } });
      expect(res.code, res.stdout + res.stderr).toBe(1);
      const seen = lines(res.stdout);
      expect(seen.shipments).toEqual({
        status: 'problem',
        details: 'the environment variable VERITE_CLI_EASYPOST_KEY (carrierApi.apiKeyEnv) is not set: export it with the EasyPost production API key (EZAK…)',
      });
      expect(seen.stripe!.status).toBe('problem');
      expect(seen.stripe!.details).toMatch(/^Stripe refused the key in VERITE_CLI_STRIPE_KEY \(HTTP 401\): put a live secret key or a restricted key/);
      expect(seen.shopify!.status).toBe('problem');
      expect(seen.shopify!.details).toMatch(/^the app lacks the access scope read_customers \(the customers stream reads customers\): grant it/);
      expect(seen.shopify!.details).toContain("the app lacks the access scope read_inventory (the inventory_levels stream reads each inventory item's stock at each location)");
      expect(seen.shopify!.details).not.toContain('read_products (');
      expect(seen.meta_ads!.status).toBe('problem');
      expect(seen.meta_ads!.details).toMatch(/^ad account act_111 is in America\/New_York, not in reportingTimezone Europe\/Paris: .* set reportingTimezone to America\/New_York/);
      expect(seen.ga4!.status).toBe('ok');
      expect(res.stdout).toMatch(/4 sources have problems: fix them before the first run\./);
      // Neither the refused key nor any other secret is printed.
      for (const secret of ['rk_live_revoked_key_9999', ...Object.values(env)]) expect(res.stdout + res.stderr).not.toContain(secret);
    } finally {
      shopify.accessScopes = ['read_orders', 'read_all_orders', 'read_customers', 'read_products', 'read_inventory'];
      meta.accounts.set('111', { timezone_name: 'Europe/Paris', currency: 'EUR', name: 'Shop FR' });
    }
  });

  it('warns about an API version within 60 days of its end, naming the date and the setting, and still exits 0', async () => {
    const config = writeConfig('meta-v25.json', { meta_ads: { adAccountIds: ['act_111'], accessTokenEnv: 'VERITE_CLI_META_TOKEN', graphBaseUrl: meta.url, apiVersion: 'v25.0' } });
    const res = await runCli(['check', '--as-of', '2027-01-10'], { env: { ...SECRETS, VERITE_CONFIG: config } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // Meta's version history: v25.0 expires on 2027-02-23, 44 days after 2027-01-10.
    expect(lines(res.stdout).meta_ads).toEqual({
      status: 'warning',
      details: 'Marketing API v25.0 ends on 2027-02-23, in 44 days: set sources.meta_ads.apiVersion to v27.0 (or remove it: that is the default)',
    });
    expect(res.stdout).toContain('No problem; 1 source has a warning to act on (API versions judged on 2027-01-10).');
  });

  it('prints JSON with --format json', async () => {
    const config = writeConfig('json.json', allSources());
    const res = await runCli(['check', '--format', 'json', '--sources', 'stripe,fx', '--as-of', '2027-01-10'], { env: { ...SECRETS, VERITE_CONFIG: config } });
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as { asOf: string; ok: boolean; sources: { source: string; level: string; findings: { level: string; message: string }[] }[] };
    expect(report.asOf).toBe('2027-01-10');
    expect(report.ok).toBe(true);
    expect(report.sources.map((s) => [s.source, s.level])).toEqual([
      ['stripe', 'ok'],
      ['fx', 'ok'],
    ]);
    expect(report.sources[0]!.findings).toContainEqual({ level: 'ok', message: 'the key reads charges, refunds, events, balance transactions' });
  });

  describe('the Node.js it runs on', () => {
    // The schedule of nodejs/Release (schedule.json): each line's first day and end of life.
    const LINES: Record<number, { start: string; end: string }> = {
      20: { start: '2023-04-18', end: '2026-04-30' },
      21: { start: '2023-10-17', end: '2024-06-01' },
      22: { start: '2024-04-24', end: '2027-04-30' },
      23: { start: '2024-10-16', end: '2025-06-01' },
      24: { start: '2025-05-06', end: '2028-04-30' },
      25: { start: '2025-10-15', end: '2026-06-01' },
      26: { start: '2026-05-05', end: '2029-04-30' },
    };
    const running = process.versions.node;
    const line = LINES[Number(running.split('.')[0])]!;
    const nodeLine = (stdout: string) => /^node\s+(ok|warning|problem)\s+(.*)$/m.exec(stdout);
    const fxOnly = () => writeConfig('fx-only.json', { fx: { ecb: true, ecbUrl: ecb.url } });

    it('runs on a line the table knows', () => {
      expect(line, `Node.js ${running}`).toBeDefined();
    });

    it('past its end of life: a warning line and a sentence of its own after the shop\'s, exit 0', async () => {
      // Every line above has ended by 2030.
      const res = await runCli(['check', '--sources', 'fx,node', '--as-of', '2030-01-01'], { env: { VERITE_CONFIG: fxOnly() } });
      expect(res.code, res.stdout + res.stderr).toBe(0);
      expect(nodeLine(res.stdout)?.[1]).toBe('warning');
      expect(nodeLine(res.stdout)?.[2]).toMatch(new RegExp(`^Node\\.js ${running.replace(/\./g, '\\.')}: the ${running.split('.')[0]}\\.x line reached its end of life on ${line.end} and gets no more security fixes: move to `));
      expect(lines(res.stdout).fx?.status).toBe('ok');
      expect(res.stdout.trimEnd().split('\n').slice(-2)).toEqual(['Every source is ready (API versions judged on 2030-01-01).', `Node.js ${running} has a warning to act on (judged on 2030-01-01): see the node line.`]);
    });

    it('a supported line adds no line unless asked for; asked for alone, it is all that is said', async () => {
      const asOf = line.start; // its first day: years of support ahead
      const plain = await runCli(['check', '--sources', 'fx', '--as-of', asOf], { env: { VERITE_CONFIG: fxOnly() } });
      expect(plain.code, plain.stdout + plain.stderr).toBe(0);
      expect(nodeLine(plain.stdout)).toBeNull();
      expect(plain.stdout).not.toContain('Node.js');
      const calls = ecb.requests.length;
      const asked = await runCli(['check', '--sources', 'node', '--as-of', asOf], { env: { VERITE_CONFIG: fxOnly() } });
      expect(asked.code, asked.stdout + asked.stderr).toBe(0);
      expect(nodeLine(asked.stdout)?.slice(1)).toEqual(['ok', `Node.js ${running}: the ${running.split('.')[0]}.x line gets security fixes until ${line.end}`]);
      expect(asked.stdout.trimEnd().split('\n').at(-1)).toBe(`Node.js ${running} is supported (judged on ${asOf}).`);
      expect(ecb.requests.length, 'no source is called for node alone').toBe(calls);
      expect(asked.stdout).not.toMatch(/^fx\s/m);
    });

    it('is in the JSON, ended or not', async () => {
      const res = await runCli(['check', '--format', 'json', '--sources', 'node', '--as-of', '2030-01-01'], { env: { VERITE_CONFIG: fxOnly() } });
      expect(res.code, res.stderr).toBe(0);
      const report = JSON.parse(res.stdout) as { ok: boolean; node: { level: string; findings: { level: string; message: string }[] }; sources: unknown[] };
      expect(report.ok).toBe(true);
      expect(report.node.level).toBe('warning');
      expect(report.node.findings[0]!.message).toContain(`reached its end of life on ${line.end}`);
      expect(report.sources).toEqual([]);
    });
  });

  describe('the config as a whole: what verite run and verite schedule refuse at start', () => {
    /** A config of one rates file, with these alert rules and schedules; check runs in its folder. */
    const configWith = (name: string, extra: Record<string, unknown>) => {
      writeFileSync(join(dir, 'rates.csv'), 'date,base,quote,rate\n2026-11-02,EUR,USD,1.08\n');
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'EUR', sources: { fx: { path: 'rates.csv' } }, ...extra }));
      return file;
    };
    const configLine = (stdout: string) => /^config\s+(ok|warning|problem)\s+(.*)$/m.exec(stdout);

    it('an alert rule on a distinct count over a window, and one on an unknown metric: a config problem naming each, exit 1', async () => {
      const config = configWith('rules.json', { alerts: { rules: [{ metric: 'customers', op: '>', threshold: 1 }, { metric: 'cacc', op: '>', threshold: 1 }] } });
      const res = await runCli(['check'], { env: { VERITE_CONFIG: config }, cwd: dir });
      expect(res.code, res.stdout + res.stderr).toBe(1);
      const line = configLine(res.stdout);
      expect(line?.[1]).toBe('problem');
      expect(line?.[2]).toContain('verite run and verite schedule refuse alerts.rules.0.metric: customers cannot be alerted on over a window: distinct customers cannot be summed over days; use new_customers');
      expect(line?.[2]).toContain('verite run and verite schedule refuse alerts.rules.1.metric: unknown alert metric cacc (expected ');
      expect(lines(res.stdout).fx?.status).toBe('ok');
      expect(res.stdout).toContain('The config has a problem: fix it before the first run.');
      // The same in JSON, under `config`.
      const json = await runCli(['check', '--format', 'json'], { env: { VERITE_CONFIG: config }, cwd: dir });
      expect(json.code).toBe(1);
      const report = JSON.parse(json.stdout) as { ok: boolean; config: { level: string; findings: { level: string; message: string }[] } };
      expect(report.ok).toBe(false);
      expect(report.config.level).toBe('problem');
      expect(report.config.findings.map((f) => f.message.split(':')[0])).toEqual(['verite run and verite schedule refuse alerts.rules.0.metric', 'verite run and verite schedule refuse alerts.rules.1.metric']);
    });

    it('a schedule naming a source that is not configured: a config problem naming the schedule, exit 1', async () => {
      const config = configWith('schedule.json', { schedules: [{ cron: '0 3 * * *' }, { cron: '0 4 * * *', sources: ['shopify'] }] });
      const res = await runCli(['check'], { env: { VERITE_CONFIG: config }, cwd: dir });
      expect(res.code, res.stdout + res.stderr).toBe(1);
      // The second schedule (index 1) names shopify; only fx is configured.
      expect(configLine(res.stdout)?.slice(1)).toEqual(['problem', 'verite schedule refuses schedules.1.sources (0 4 * * *): not configured or disabled: shopify (configured: fx)']);
    });

    it('a sound config adds no line, unless asked for with --sources config', async () => {
      const config = configWith('sound.json', { alerts: { rules: [{ metric: 'cac', op: '>', threshold: 40 }, { metric: 'run_failed' }] } });
      const all = await runCli(['check'], { env: { VERITE_CONFIG: config }, cwd: dir });
      expect(all.code, all.stdout + all.stderr).toBe(0);
      expect(configLine(all.stdout)).toBeNull();
      const asked = await runCli(['check', '--sources', 'config'], { env: { VERITE_CONFIG: config }, cwd: dir });
      expect(asked.code, asked.stdout + asked.stderr).toBe(0);
      // Two rules; the default schedules are one, 0 3 * * *.
      expect(configLine(asked.stdout)?.slice(1)).toEqual(['ok', '2 alert rules and 1 schedule, as verite run and verite schedule take them']);
      expect(asked.stdout).not.toMatch(/^(warehouse|fx)\s/m);
      expect(asked.stdout).toContain('The config is ready.');
    });
  });

  describe('exits 2 on bad usage', () => {
    const env = () => ({ ...SECRETS, VERITE_CONFIG: writeConfig('usage.json', allSources()) });

    it('an unknown format', async () => {
      const res = await runCli(['check', '--format', 'xml'], { env: env() });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/--format xml: expected table or json/);
    });

    it('a source not configured', async () => {
      const res = await runCli(['check', '--sources', 'google_ads'], { env: env() });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/not configured or disabled: google_ads/);
    });

    it('a date that is not one', async () => {
      const res = await runCli(['check', '--as-of', '2027-02-30'], { env: env() });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/--as-of 2027-02-30: expected a date as YYYY-MM-DD/);
    });
  });
});

describe('verite status', () => {
  let wh: Warehouse;
  beforeAll(async () => {
    wh = await createTestDatabase('check_status');
  });
  afterAll(async () => wh?.close());

  const config = () =>
    writeConfig('status.json', {
      shopify: { shop: 'verite-check.myshopify.com', apiVersion: '2026-10' },
      meta_ads: { adAccountIds: ['act_111'], apiVersion: 'v25.0' },
      stripe: {},
    });

  it("lists each configured source's API version and its announced end", async () => {
    const res = await runCli(['status'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config() } });
    expect(res.code, res.stderr).toBe(0);
    const section = res.stdout.slice(res.stdout.indexOf('API versions'));
    // Shopify supports 2026-10 for 12 months; Meta expires v25.0 on 2027-02-23; Stripe versions do not expire.
    expect(section).toMatch(/\nshopify\s+GraphQL Admin API\s+2026-10\s+2027-10-01\s/);
    expect(section).toMatch(/\nmeta_ads\s+Marketing API\s+v25\.0\s+2027-02-23\s/);
    expect(section).toMatch(/\nstripe\s+Stripe API\s+\S+\s+not announced\s/);
  });

  it('gives them in its JSON too, with the setting that changes each', async () => {
    const json = await runCli(['status', '--format', 'json'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: config() } });
    const report = JSON.parse(json.stdout) as { apiVersions: { source: string; version: string; endOfLife: string | null; setting: string }[] };
    expect(report.apiVersions.map((v) => [v.source, v.version, v.endOfLife])).toEqual([
      ['shopify', '2026-10', '2027-10-01'],
      ['stripe', expect.stringMatching(/^\d{4}-\d{2}-\d{2}\.\w+$/), null],
      ['meta_ads', 'v25.0', '2027-02-23'],
    ]);
    expect(report.apiVersions[2]!.setting).toBe('sources.meta_ads.apiVersion');
  });
});
