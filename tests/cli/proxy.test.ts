import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestVersionAt } from '../../extractors/shopify/api-version.ts';
import { bypassesProxy, proxyAgentFor, proxySettings, useEnvironmentProxy } from '../../lib/proxy.ts';
import { startFakeGraph, type FakeGraph } from '../extractors/support/meta-graph-server.ts';
import { startFakeShopify, type FakeShopify } from '../extractors/support/shopify-server.ts';
import { startFakeStripe, type FakeStripe } from '../extractors/support/stripe-server.ts';
import { runCli } from '../support/cli.ts';
import { startTestProxy, type TestProxy } from '../support/http-proxy.ts';

/**
 * A network that reaches the internet only through a proxy (lib/proxy.ts): `verite check`
 * calls Shopify, Stripe and Meta through the proxy that HTTP_PROXY names, and around it for the
 * hosts NO_PROXY names. The stand-ins listen on 127.0.0.1 over http, so HTTP_PROXY is the
 * variable that applies (HTTPS_PROXY would for the real https:// addresses).
 */
const SECRETS = {
  VERITE_PROXY_SHOPIFY_TOKEN: 'shpat_' + 'proxy0123456789',
  VERITE_PROXY_STRIPE_KEY: 'rk_test_' + 'proxy0123456789',
  VERITE_PROXY_META_TOKEN: 'EAAproxy-token-0123456789',
};

let proxy: TestProxy;
let shopify: FakeShopify;
let stripe: FakeStripe;
let meta: FakeGraph;
let dir: string;
let config: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verite-proxy-'));
  proxy = await startTestProxy();
  shopify = await startFakeShopify(SECRETS.VERITE_PROXY_SHOPIFY_TOKEN);
  shopify.versions = { oldest: '2000-01', newest: '2999-10' };
  stripe = await startFakeStripe(SECRETS.VERITE_PROXY_STRIPE_KEY);
  meta = await startFakeGraph(SECRETS.VERITE_PROXY_META_TOKEN);
  meta.accounts.set('111', { timezone_name: 'Europe/Paris', currency: 'EUR', name: 'Shop FR' });
  config = join(dir, 'verite.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      reportingTimezone: 'Europe/Paris',
      reportingCurrency: 'EUR',
      sources: {
        shopify: { shop: 'verite-proxy.myshopify.com', apiBaseUrl: shopify.url, apiVersion: latestVersionAt(new Date()), accessTokenEnv: 'VERITE_PROXY_SHOPIFY_TOKEN', maxAttempts: 1 },
        stripe: { secretKeyEnv: 'VERITE_PROXY_STRIPE_KEY', host: '127.0.0.1', port: stripe.port, protocol: 'http', maxAttempts: 1 },
        meta_ads: { adAccountIds: ['act_111'], accessTokenEnv: 'VERITE_PROXY_META_TOKEN', graphBaseUrl: meta.url },
      },
    }),
  );
});
afterAll(async () => {
  await Promise.all([proxy?.close(), shopify?.close(), stripe?.close(), meta?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const port = (url: string) => new URL(url).port;

describe('a network whose way out is a proxy', () => {
  it('sends Shopify, Stripe and Meta calls through the proxy HTTP_PROXY names', async () => {
    proxy.seen.length = 0;
    const res = await runCli(['check', '--sources', 'shopify,stripe,meta_ads'], { env: { ...SECRETS, VERITE_CONFIG: config, HTTP_PROXY: proxy.url } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // Each stand-in was reached, and only through the proxy (a tunnel to its address, or a request naming it).
    for (const [name, target] of [['shopify', port(shopify.url)], ['stripe', String(stripe.port)], ['meta', port(meta.url)]] as const) {
      expect(proxy.seen.some((line) => line.includes(`127.0.0.1:${target}`)), `${name}: ${proxy.seen.join(', ')}`).toBe(true);
    }
    expect(shopify.requests.length).toBeGreaterThan(0);
    expect(stripe.requests.length).toBeGreaterThan(0);
  });

  it('goes around it for the hosts NO_PROXY names', async () => {
    proxy.seen.length = 0;
    const res = await runCli(['check', '--sources', 'shopify,stripe,meta_ads'], { env: { ...SECRETS, VERITE_CONFIG: config, HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(proxy.seen).toEqual([]);
  });
});

describe('which addresses go through the proxy', () => {
  it('reads the variables in either case, HTTPS_PROXY for https:// and HTTP_PROXY for http://', () => {
    expect(proxySettings({})).toBeNull();
    expect(proxySettings({ https_proxy: 'http://proxy:3128', NO_PROXY: '.internal' })).toEqual({ httpProxy: undefined, httpsProxy: 'http://proxy:3128', noProxy: '.internal' });
    expect(proxyAgentFor('https://api.stripe.com', { HTTPS_PROXY: 'http://proxy:3128' })).toBeDefined();
    expect(proxyAgentFor('http://127.0.0.1:4000', { HTTPS_PROXY: 'http://proxy:3128' })).toBeUndefined();
    expect(proxyAgentFor('https://api.stripe.com', { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'stripe.com' })).toBeUndefined();
  });

  it('gives gRPC, which reads only lower-case names, the upper-case ones when those are not set', async () => {
    const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.internal', http_proxy: 'http://other:8080', HTTP_PROXY: 'http://proxy:3128' };
    const restore = await useEnvironmentProxy(env);
    restore?.();
    expect(restore).toBeTypeOf('function');
    expect(env).toMatchObject({ https_proxy: 'http://proxy:3128', no_proxy: '.internal', http_proxy: 'http://other:8080' });
    expect(await useEnvironmentProxy({})).toBeNull();
  });

  it('matches NO_PROXY as curl does: a host and its subdomains, a leading dot or *., a port, or *', () => {
    const url = (u: string) => new URL(u);
    expect(bypassesProxy(url('https://api.stripe.com/v1'), 'stripe.com')).toBe(true);
    expect(bypassesProxy(url('https://api.stripe.com/v1'), '.stripe.com')).toBe(true);
    expect(bypassesProxy(url('https://api.stripe.com/v1'), '*.stripe.com')).toBe(true);
    expect(bypassesProxy(url('https://notstripe.com/'), 'stripe.com')).toBe(false);
    expect(bypassesProxy(url('http://127.0.0.1:8080/'), '127.0.0.1:8080')).toBe(true);
    expect(bypassesProxy(url('http://127.0.0.1:8081/'), '127.0.0.1:8080')).toBe(false);
    expect(bypassesProxy(url('https://graph.facebook.com/'), 'localhost, 127.0.0.1')).toBe(false);
    expect(bypassesProxy(url('https://graph.facebook.com/'), '*')).toBe(true);
    expect(bypassesProxy(url('https://graph.facebook.com/'), undefined)).toBe(false);
  });
});
