import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import writeXlsxFile from 'write-excel-file/node';
import { configSchema } from '../../config/schema.ts';
import { accountFindings } from '../../extractors/check.ts';
import type { GoogleAdsClientFactory, GoogleAdsRow } from '../../extractors/google-ads/index.ts';
import { checkGoogleAds } from '../../extractors/google-ads/check.ts';
import { setSleep } from '../../lib/http.ts';
import { requiredScopes } from '../../extractors/shopify/check.ts';
import { logger } from '../../lib/logger.ts';
import { checkSources } from '../../pipeline/check.ts';
import { ECB_CURRENCIES, startFakeEcb } from './support/ecb-server.ts';
import { startFakeShopify, type FakeShopify } from './support/shopify-server.ts';
import { startFakeStripe, type FakeStripe } from './support/stripe-server.ts';

const NOW = new Date('2026-12-05T09:00:00Z');
const SECRETS = {
  VERITE_CHECK_ADS_DEV: 'dev-token-check',
  VERITE_CHECK_ADS_ID: 'client-id-check.apps.googleusercontent.com',
  VERITE_CHECK_ADS_SECRET: 'client-secret-check',
  VERITE_CHECK_ADS_REFRESH: 'refresh-token-check',
  VERITE_CHECK_STRIPE: 'rk_live_check_0123456789abcdef',
  VERITE_CHECK_SHOPIFY: 'shpat_check_wrong_token',
};

let stripe: FakeStripe;
let shopify: FakeShopify;
let restoreSleep: () => void;

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  Object.assign(process.env, SECRETS);
  stripe = await startFakeStripe(SECRETS.VERITE_CHECK_STRIPE);
  shopify = await startFakeShopify('shpat_check_right_token');
});
afterAll(async () => {
  restoreSleep();
  for (const name of Object.keys(SECRETS)) delete process.env[name];
  await stripe.close();
  await shopify.close();
});

const googleAds = (extra: Record<string, unknown> = {}) => ({
  customerIds: ['111-111-1111', '2222222222'],
  developerTokenEnv: 'VERITE_CHECK_ADS_DEV',
  clientIdEnv: 'VERITE_CHECK_ADS_ID',
  clientSecretEnv: 'VERITE_CHECK_ADS_SECRET',
  refreshTokenEnv: 'VERITE_CHECK_ADS_REFRESH',
  ...extra,
});

/** A client of google-ads-api's shape answering the customer query from a table, and the secrets it was built with. */
function adsClient(customers: Record<string, GoogleAdsRow['customer']>): { factory: GoogleAdsClientFactory; built: unknown[] } {
  const built: unknown[] = [];
  const factory: GoogleAdsClientFactory = (_config, secrets) => {
    built.push(secrets);
    return {
      apiVersion: 'v24',
      async *queryStream(customerId, gaql) {
        expect(gaql).toMatch(/FROM customer$/);
        const customer = customers[customerId];
        if (customer) yield { customer };
      },
    };
  };
  return { factory, built };
}

async function checkAds(factory: GoogleAdsClientFactory, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  const config = configSchema.parse({ reportingTimezone: 'America/New_York', reportingCurrency: 'USD', ...top, sources: { google_ads: googleAds(extra) } });
  const [result] = await checkSources({ config, log: logger(), now: NOW, checks: { google_ads: (ctx) => checkGoogleAds(ctx, factory) } });
  return result!;
}

describe('verite check: Google Ads through the client-shaped seam', () => {
  it('is ok when every customer answers in the reporting zone and currency, and names the pinned version', async () => {
    const { factory, built } = adsClient({
      '1111111111': { id: 1111111111, time_zone: 'America/New_York', currency_code: 'USD', manager: false },
      '2222222222': { id: 2222222222, time_zone: 'America/New_York', currency_code: 'USD', manager: false },
    });
    const result = await checkAds(factory);
    expect(result.level).toBe('ok');
    expect(built).toEqual([{ developerToken: 'dev-token-check', clientId: 'client-id-check.apps.googleusercontent.com', clientSecret: 'client-secret-check', refreshToken: 'refresh-token-check' }]);
    expect(result.findings.map((f) => f.message)).toEqual([
      'customer 1111111111 in USD, America/New_York; customer 2222222222 in USD, America/New_York',
      // The installed google-ads-api speaks v24; Google announces its sunset for May 2027.
      'Google Ads API v24 is served until 2027-05-01 (announced for that month only)',
    ]);
  });

  it('lists every missing secret at once, without calling Google', async () => {
    const { factory, built } = adsClient({});
    const result = await checkAds(factory, { developerTokenEnv: 'VERITE_CHECK_UNSET_1', refreshTokenEnv: 'VERITE_CHECK_UNSET_2' });
    expect(result.level).toBe('problem');
    expect(built).toEqual([]);
    expect(result.findings.filter((f) => f.level === 'problem').map((f) => f.message)).toEqual([
      'the environment variable VERITE_CHECK_UNSET_1 (developerTokenEnv) is not set: export it with the developer token of the manager account (API Center)',
      'the environment variable VERITE_CHECK_UNSET_2 (refreshTokenEnv) is not set: export it with a refresh token with the adwords scope',
    ]);
  });

  it('calls a customer in another zone a problem, a manager account a problem, and another currency without fx a problem', async () => {
    const { factory } = adsClient({
      '1111111111': { id: 1111111111, time_zone: 'Europe/London', currency_code: 'GBP', manager: false },
      '2222222222': { id: 2222222222, time_zone: 'America/New_York', currency_code: 'USD', manager: true },
    });
    const result = await checkAds(factory);
    expect(result.level).toBe('problem');
    const problems = result.findings.filter((f) => f.level === 'problem').map((f) => f.message);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^customer 1111111111 is in Europe\/London, not in reportingTimezone America\/New_York: .* set reportingTimezone to Europe\/London/);
    expect(problems[1]).toMatch(/^customer 1111111111 is in GBP, not in reportingCurrency USD, and no fx source is configured: add "fx": \{ "ecb": true \}/);
    expect(problems[2]).toMatch(/^customer 2222222222 is a manager account.*put 2222222222 in loginCustomerId/);
  });

  it('takes another currency as fine once the fx source gives rates', async () => {
    const { factory } = adsClient({
      '1111111111': { id: 1111111111, time_zone: 'America/New_York', currency_code: 'EUR' },
      '2222222222': { id: 2222222222, time_zone: 'America/New_York', currency_code: 'USD' },
    });
    const config = configSchema.parse({ reportingTimezone: 'America/New_York', reportingCurrency: 'USD', sources: { google_ads: googleAds(), fx: { ecb: true } } });
    const results = await checkSources({ config, log: logger(), now: NOW, only: ['google_ads'], checks: { google_ads: (ctx) => checkGoogleAds(ctx, factory) } });
    expect(results.map((r) => [r.source, r.level])).toEqual([['google_ads', 'ok']]);
  });

  it('warns about the pinned version within 60 days of its sunset, judged on the date asked', async () => {
    const { factory } = adsClient({
      '1111111111': { id: 1111111111, time_zone: 'America/New_York', currency_code: 'USD' },
      '2222222222': { id: 2222222222, time_zone: 'America/New_York', currency_code: 'USD' },
    });
    const config = configSchema.parse({ reportingTimezone: 'America/New_York', reportingCurrency: 'USD', sources: { google_ads: googleAds() } });
    const [result] = await checkSources({ config, log: logger(), now: NOW, asOf: new Date('2027-03-15T00:00:00Z'), checks: { google_ads: (ctx) => checkGoogleAds(ctx, factory) } });
    expect(result!.level).toBe('warning');
    // 2027-03-15 to 2027-05-01: 16 + 30 + 1 days.
    expect(result!.findings[0]!.message).toMatch(/^Google Ads API v24 ends on 2027-05-01 \(announced for that month only\), in 47 days: upgrade verite/);
  });
});

describe('verite check: zones and scopes', () => {
  const ctx = (reportingTimezone: string) => ({ global: configSchema.parse({ reportingTimezone, reportingCurrency: 'EUR' }), now: NOW });

  it('takes two zone names with the same clock as the same zone, and an alias as its zone', () => {
    expect(accountFindings(ctx('Europe/Paris'), { label: 'a', timeZone: 'Europe/Berlin', currency: 'EUR' }, 'problem')).toEqual([]);
    expect(accountFindings(ctx('America/New_York'), { label: 'a', timeZone: 'US/Eastern', currency: 'EUR' }, 'problem')).toEqual([]);
    // Lisbon keeps London's clock all year: UTC+0, UTC+1 in summer.
    expect(accountFindings(ctx('Europe/London'), { label: 'a', timeZone: 'Europe/Lisbon', currency: 'EUR' }, 'problem')).toEqual([]);
    const [paris] = accountFindings(ctx('Europe/Paris'), { label: 'shop s', timeZone: 'Europe/London', currency: 'EUR' }, 'warning');
    expect(paris).toMatchObject({ level: 'warning' });
    expect(paris!.message).toMatch(/^shop s is in Europe\/London, not in reportingTimezone Europe\/Paris: verite dates its orders in Europe\/Paris/);
  });

  it('asks for read_all_orders only when startDate reaches back more than 60 days', () => {
    // 2026-12-05 less 60 days is 2026-10-06.
    expect(requiredScopes('2026-10-06', NOW).map((s) => s.scope)).toEqual(['read_orders', 'read_customers', 'read_products', 'read_inventory']);
    const older = requiredScopes('2026-10-05', NOW);
    expect(older.map((s) => s.scope)).toEqual(['read_orders', 'read_customers', 'read_products', 'read_inventory', 'read_all_orders']);
    expect(older[4]!.why).toMatch(/startDate 2026-10-05 .* \(or set startDate on or after 2026-10-06\)/);
  });
});

describe('verite check: Stripe against a local Stripe', () => {
  /** Stripe's 403 to a restricted key without the permission `rak` on `path`, in its own words. */
  const refusePermission = (path: string, rak: string) =>
    stripe.script({
      path,
      status: 403,
      body: {
        error: {
          type: 'invalid_request_error',
          message: `The provided key 'rk_live_*****************cdef' does not have the required permissions for this endpoint on account 'acct_1Check'. Having the '${rak}' permission would allow this request to continue.`,
        },
      },
    });

  const stripeConfig = () =>
    configSchema.parse({ sources: { stripe: { secretKeyEnv: 'VERITE_CHECK_STRIPE', host: '127.0.0.1', port: stripe.port, protocol: 'http', maxAttempts: 1 } } });

  it('lists one charge, one refund, one event and one balance transaction, and is ok', async () => {
    stripe.requests.length = 0;
    const [result] = await checkSources({ config: stripeConfig(), log: logger(), now: NOW });
    expect(result!.level).toBe('ok');
    expect(stripe.requests.map((r) => [r.path, r.query.limit])).toEqual([
      ['/v1/charges', '1'],
      ['/v1/refunds', '1'],
      ['/v1/events', '1'],
      ['/v1/balance_transactions', '1'],
    ]);
    expect(result!.findings.map((f) => f.message)[0]).toBe('the key reads charges, refunds, events, balance transactions');
  });

  it('names a restricted key that reads charges but not balance transactions, which the profit metrics read', async () => {
    refusePermission('/v1/balance_transactions', 'rak_balance_read');
    const [result] = await checkSources({ config: stripeConfig(), log: logger(), now: NOW });
    expect(result!.level).toBe('problem');
    expect(result!.findings.filter((f) => f.level === 'problem').map((f) => f.message)).toEqual([
      'the key in VERITE_CHECK_STRIPE may not read balance transactions (HTTP 403): give the restricted key Read access to Balance (Stripe asks for rak_balance_read)',
    ]);
    expect(result!.findings.map((f) => f.message)).toContain('the key reads charges, refunds, events');
  });

  it('names the permission a restricted key lacks (a 403, as Stripe answers it)', async () => {
    refusePermission('/v1/events', 'rak_event_read');
    const [result] = await checkSources({ config: stripeConfig(), log: logger(), now: NOW });
    expect(result!.level).toBe('problem');
    expect(result!.findings[0]!.message).toBe('the key in VERITE_CHECK_STRIPE may not read events (HTTP 403): give the restricted key Read access to Events (Stripe asks for rak_event_read)');
  });
});

describe('verite check: Shopify against a local Admin API', () => {
  it("says Shopify refused the access token (401), naming the token's variable, with the version of the config", async () => {
    const config = configSchema.parse({
      sources: { shopify: { shop: 'verite-check.myshopify.com', apiBaseUrl: shopify.url, apiVersion: '2026-10', accessTokenEnv: 'VERITE_CHECK_SHOPIFY', maxAttempts: 1 } },
    });
    shopify.requests.length = 0;
    const [result] = await checkSources({ config, log: logger(), now: NOW });
    expect(result!.level).toBe('problem');
    expect(result!.findings[0]!.message).toMatch(
      /^the Admin API of verite-check\.myshopify\.com failed: \[shopify\.check, GraphQL shop and access scopes, HTTP 401\] Shopify refused the access token in VERITE_CHECK_SHOPIFY: it must be an Admin API token of an app installed on verite-check\.myshopify\.com$/,
    );
    expect(shopify.requests.map((r) => [r.operation, r.version])).toEqual([['VeriteCheck', '2026-10']]);
  });

  it('checks the credentials with the current version when the configured one is past its end, and says so', async () => {
    shopify.versions = { oldest: '2026-01', newest: '2026-10' };
    const config = configSchema.parse({
      reportingTimezone: 'Europe/Paris',
      reportingCurrency: 'EUR',
      sources: { shopify: { shop: 'verite-check.myshopify.com', apiBaseUrl: shopify.url, apiVersion: '2025-07', accessTokenEnv: 'VERITE_CHECK_SHOPIFY_RIGHT', maxAttempts: 1 } },
    });
    process.env.VERITE_CHECK_SHOPIFY_RIGHT = 'shpat_check_right_token';
    try {
      shopify.requests.length = 0;
      const [result] = await checkSources({ config, log: logger(), now: NOW });
      // 2025-07 was supported until 2026-07-01; on 2026-12-05 the current version is 2026-10.
      expect(result!.findings.map((f) => [f.level, f.message])).toEqual([
        ['problem', 'GraphQL Admin API 2025-07 ended on 2026-07-01: set sources.shopify.apiVersion to 2026-10'],
        ['ok', 'shop "Verite Test" in EUR, Europe/Paris; access scopes read_orders, read_customers, read_products, read_inventory, read_all_orders'],
      ]);
      expect(shopify.requests.map((r) => [r.operation, r.version])).toEqual([['VeriteCheck', '2026-10']]);
    } finally {
      delete process.env.VERITE_CHECK_SHOPIFY_RIGHT;
    }
  });
});

describe('verite check: the newest file of a drop against the column mapping', () => {
  const folder = mkdtempSync(join(tmpdir(), 'verite-check-drop-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('warns of the mapped columns the newest file lacks, naming its close columns, and calls a file the run could not read a problem', async () => {
    const costs = join(folder, 'costs');
    mkdirSync(costs);
    // The older file has the mapped columns; the newest (last by name) was exported with renamed ones.
    writeFileSync(join(costs, '2024-01.csv'), 'Article,Cost price,Cur,Valid from\nTEE,1,EUR,2024-01-01\n');
    writeFileSync(join(costs, '2024-02.csv'), 'Article;Cost Price;Currency;Valid from\nTEE;1;EUR;2024-02-01\n');
    const columns = { Article: 'sku', 'Cost price': 'unit_cost', Cur: 'currency', 'Valid from': 'valid_from' };
    const config = configSchema.parse({ sources: { costs: { path: costs, columns } } });
    const [costsResult] = await checkSources({ config, log: logger(), now: NOW });
    expect(costsResult!.level).toBe('warning');
    // Problems and warnings are listed first.
    expect(costsResult!.findings.map((f) => f.message)).toEqual([
      '2024-02.csv has no column "Cost price" (did you mean Cost Price?), "Cur" (did you mean Currency?), which the columns mapping names: its rows would be quarantined or lack those fields',
      `cost files ${costs}: 2 files`,
    ]);

    const exports = join(folder, 'exports');
    mkdirSync(exports);
    writeFileSync(join(exports, 'a.csv'), 'order_id,tracking_number,tracking_number\n1001,T1,T2\n');
    const shipments = configSchema.parse({ sources: { shipments: { path: exports } } });
    const [shipmentsResult] = await checkSources({ config: shipments, log: logger(), now: NOW });
    expect(shipmentsResult!.level).toBe('problem');
    expect(shipmentsResult!.findings[0]!.message).toBe(
      'a.csv cannot be read: columns 2 and 3 of the header are both named "tracking_number": rename one, as a row\'s value under that name would be one of the two and the other lost',
    );

    // A rates file whose columns are not the rate's: every row would be quarantined.
    const rates = join(folder, 'rates');
    mkdirSync(rates);
    writeFileSync(join(rates, 'good.csv'), 'Date;Base;Quote;Rate\n2024-03-01;EUR;USD;1,0845\n');
    writeFileSync(join(rates, 'bank.csv'), 'day,from,to,rate\n2024-03-01,EUR,USD,1.0845\n');
    const fx = configSchema.parse({ sources: { fx: { path: rates } } });
    const [fxResult] = await checkSources({ config: fx, log: logger(), now: NOW });
    expect(fxResult!.level).toBe('problem');
    expect(fxResult!.findings.map((f) => f.message)).toEqual([
      'bank.csv has no column date, base, quote (it has "day", "from", "to", "rate"): a rate needs date, base, quote and rate, in any capitals; every row would be quarantined',
      `rates from ${rates}`,
    ]);

    // A rates workbook read on its notes sheet names the sheet that has the rates.
    const book = join(folder, 'rates-book');
    mkdirSync(book);
    await writeXlsxFile([
      { sheet: 'Notes', data: [[{ value: 'source' }, { value: 'comment' }], [{ value: 'bank' }, { value: 'daily' }]] },
      { sheet: 'Rates', data: [[{ value: 'date' }, { value: 'base' }, { value: 'quote' }, { value: 'rate' }], [{ value: '2024-03-01' }, { value: 'EUR' }, { value: 'USD' }, { type: Number, value: 1.0845 }]] },
    ]).toFile(join(book, 'rates.xlsx'));
    const [bookResult] = await checkSources({ config: configSchema.parse({ sources: { fx: { path: book } } }), log: logger(), now: NOW });
    expect(bookResult!.findings[0]!.message).toBe(
      'rates.xlsx has no column date, base, quote, rate (it has "source", "comment"): a rate needs date, base, quote and rate, in any capitals; every row would be quarantined; ' +
        'its sheet "Notes" has no column "date", "base", "quote", "rate", which its rows need to be read, and its sheet "Rates" has them: set "sheet": "Rates" in sources.fx',
    );
    const [told] = await checkSources({ config: configSchema.parse({ sources: { fx: { path: book, sheet: 'Rates' } } }), log: logger(), now: NOW });
    expect(told!.level).toBe('ok');

    // A newest file with every mapped column: nothing more than the count.
    writeFileSync(join(costs, '2024-03.jsonl'), `${JSON.stringify({ Article: 'TEE', 'Cost price': 1, Cur: 'EUR', 'Valid from': '2024-03-01' })}\n`);
    const [fine] = await checkSources({ config, log: logger(), now: NOW });
    expect(fine!.findings.map((f) => [f.level, f.message])).toEqual([['ok', `cost files ${costs}: 3 files`]]);
  });
});

describe("verite check: the ECB's rates, read from a local stand-in", () => {
  it('reads the latest day once, and warns of a reporting currency the ECB does not publish', async () => {
    const ecb = await startFakeEcb('2026-12-04');
    try {
      const check = async (top: Record<string, unknown>, fx: Record<string, unknown> = {}) => {
        const config = configSchema.parse({ ...top, sources: { fx: { ecb: true, ecbUrl: ecb.url, ...fx } } });
        const [result] = await checkSources({ config, log: logger(), now: NOW });
        return { level: result!.level, messages: result!.findings.map((f) => `${f.level}: ${f.message}`) };
      };
      expect(await check({ reportingCurrency: 'USD' })).toEqual({ level: 'ok', messages: ["ok: the ECB's daily euro reference rates: 29 currencies against the euro, the latest of 2026-12-04"] });
      expect(ecb.requests).toEqual(['/stats/eurofxref/eurofxref-daily.xml']);
      // The euro itself is the ECB's base: published.
      expect((await check({ reportingCurrency: 'EUR' })).level).toBe('ok');
      // The dirham is not among the ECB's currencies.
      const aed = await check({ reportingCurrency: 'AED' });
      expect(aed.level).toBe('warning');
      expect(aed.messages).toContain(
        `warning: reportingCurrency AED is not among the ECB's rates (it publishes ${['EUR', ...ECB_CURRENCIES].sort().join(', ')}): an amount in any other currency could not be converted, and the run would fail on it; give rates against AED in a rates file (sources.fx.path)`,
      );
      // An address that does not serve the document: a problem naming it.
      const wrong = await check({}, { ecbUrl: `${ecb.url}/nowhere` });
      expect(wrong.level).toBe('problem');
      expect(wrong.messages[0]).toMatch(new RegExp(`^problem: reading the ECB's rates \\(${ecb.url.replace(/[./]/g, '\\$&')}/nowhere/eurofxref-daily\\.xml\\) failed: .*404`));
    } finally {
      await ecb.close();
    }
  });
});
