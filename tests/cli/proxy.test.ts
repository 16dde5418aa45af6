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

  it('takes a proxy written without its scheme, as curl does, and says nothing of undici on stderr', async () => {
    proxy.seen.length = 0;
    // `export http_proxy=proxy.corp:3128`, as profile scripts write it: every command stopped on undici's "Invalid URL protocol".
    const bare = proxy.url.replace(/^http:\/\//, '');
    const res = await runCli(['check', '--sources', 'shopify,stripe,meta_ads'], { env: { ...SECRETS, VERITE_CONFIG: config, http_proxy: bare } });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    for (const target of [port(shopify.url), String(stripe.port), port(meta.url)]) {
      expect(proxy.seen.some((line) => line.includes(`127.0.0.1:${target}`)), proxy.seen.join(', ')).toBe(true);
    }
    expect(res.stderr).not.toMatch(/experimental|UNDICI/);
  });

  it('stops every command on a proxy no client could use, naming the variable and never quoting it', async () => {
    for (const [value, said] of [
      ['socks5://proxy.corp:1080', 'HTTPS_PROXY names a socks5:// proxy: verite reaches the APIs through an HTTP proxy (http:// or https://), expected a URL such as http://proxy.example.com:3128'],
      ['http://user:p#ss@proxy.corp:3128', "HTTPS_PROXY does not parse as a proxy's URL: expected a URL such as http://proxy.example.com:3128"],
      // A # after an @ of the password parses, with a host taken from the password.
      ['http://user:p@ss#w0rd@proxy.corp:3128', "HTTPS_PROXY holds a #, which ends a URL's address: URL-encode a # in the proxy's login as %23"],
      ['http://user:100%sure@proxy.corp:3128', "HTTPS_PROXY's login holds a % that two hexadecimal digits do not follow: URL-encode a % in it as %25"],
    ] as const) {
      const res = await runCli(['metrics', 'list'], { env: { HTTPS_PROXY: value } });
      expect(res.code, value).toBe(2);
      expect(res.stderr.startsWith(`verite: invalid configuration: ${said}`), res.stderr).toBe(true);
      expect(res.stderr).not.toMatch(/p#ss|w0rd|sure/);
      expect(res.stdout).toBe('');
    }
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

  it('reads a proxy without its scheme as an HTTP proxy, and gives the clients that read the variables themselves the URL', async () => {
    expect(proxySettings({ HTTPS_PROXY: ' proxy.corp:3128 ', http_proxy: 'user:pa%24s@proxy.corp:8080' })).toEqual({
      httpsProxy: 'http://proxy.corp:3128',
      httpProxy: 'http://user:pa%24s@proxy.corp:8080',
      noProxy: undefined,
    });
    const env: NodeJS.ProcessEnv = { HTTPS_PROXY: 'proxy.corp:3128', http_proxy: 'https://secure.proxy:443' };
    const restore = await useEnvironmentProxy(env);
    restore?.();
    expect(env).toEqual({ HTTPS_PROXY: 'http://proxy.corp:3128', https_proxy: 'http://proxy.corp:3128', http_proxy: 'https://secure.proxy:443' });
    expect(() => proxySettings({ HTTP_PROXY: 'socks5h://proxy:1080' })).toThrow(/HTTP_PROXY names a socks5h:\/\/ proxy/);
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
