import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { ConfigError } from './errors.ts';
import { lonePercent } from './url-parts.ts';

/**
 * Outbound HTTP through the proxy the environment names, as curl and most tools read it:
 * `HTTPS_PROXY` for https:// addresses, `HTTP_PROXY` for http:// ones (either in lower case
 * too), and `NO_PROXY`, a comma-separated list of hosts (a leading dot or `*.` for a domain and
 * its subdomains, `host:port`, `*` for all) reached directly. Networks that allow the internet
 * only through a proxy are common where shops' data teams work; Node 20's fetch ignores these
 * variables, so the APIs were unreachable there.
 *
 * The Google clients read the same variables themselves: GA4's REST transport (gaxios) in
 * either case, Google Ads' gRPC (grpc-js) in lower case only, so the upper-case ones are copied
 * to their lower-case names when those are not set; verite's own calls (Shopify, Meta, EasyPost, the ECB, webhooks) go through
 * `fetch`, routed by {@link useEnvironmentProxy}; the Stripe client takes an agent
 * ({@link proxyAgentFor}). PostgreSQL connections are not HTTP and never go through it.
 */
export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

/** Written so that no redaction pattern takes it for a credential. */
const EXPECTED_PROXY = 'expected a URL such as http://proxy.example.com:3128, with user:password@ before the host when the proxy asks for a login (URL-encode @ : / ? # % in them)';

/**
 * A proxy variable's value as a URL the HTTP clients take: one without a scheme
 * (`proxy.corp:3128`, as curl and many a profile script write it) is an HTTP proxy's, as curl
 * takes it. Refuses, naming the variable and never quoting it (it may hold a password), what no
 * client could use: a value that does not parse, a SOCKS proxy, a # or a lone % in its login.
 */
export function proxyUrl(name: string, value: string): string {
  const text = value.trim();
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError([`${name} does not parse as a proxy's URL: ${EXPECTED_PROXY}`]);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError([`${name} names a ${parsed.protocol.slice(0, -1)}:// proxy: verite reaches the APIs through an HTTP proxy (http:// or https://), ${EXPECTED_PROXY}`]);
  }
  if (!parsed.hostname) throw new ConfigError([`${name} names no host: ${EXPECTED_PROXY}`]);
  if (url.includes('#')) throw new ConfigError([`${name} holds a #, which ends a URL's address: URL-encode a # in the proxy's login as %23`]);
  if (lonePercent(parsed.username) || lonePercent(parsed.password)) {
    throw new ConfigError([`${name}'s login holds a % that two hexadecimal digits do not follow: URL-encode a % in it as %25`]);
  }
  return url;
}

/**
 * The proxy settings of `env`, or null when it names no proxy; each proxy as {@link proxyUrl}
 * reads it (a {@link ConfigError} for one that is not usable).
 */
export function proxySettings(env: NodeJS.ProcessEnv = process.env): ProxySettings | null {
  const pick = (name: string) => {
    const found = [name, name.toLowerCase()].find((n) => env[n]);
    return found ? proxyUrl(found, env[found]!) : undefined;
  };
  const httpProxy = pick('HTTP_PROXY');
  const httpsProxy = pick('HTTPS_PROXY');
  if (!httpProxy && !httpsProxy) return null;
  return { httpProxy, httpsProxy, noProxy: env.NO_PROXY || env.no_proxy || undefined };
}

/**
 * Routes `fetch` through the environment's proxy, when it names one (undici is loaded only
 * then). Returns what puts the previous routing back (a test's), or null when nothing was changed.
 */
export async function useEnvironmentProxy(env: NodeJS.ProcessEnv = process.env): Promise<(() => void) | null> {
  const settings = proxySettings(env);
  if (!settings) return null;
  const { EnvHttpProxyAgent, getGlobalDispatcher, setGlobalDispatcher } = await import('undici');
  // The Google clients read the variables themselves: a value without its scheme is given one
  // (grpc-js would not use it), and gRPC (Google Ads) reads only the lower-case names
  // (grpc_proxy, https_proxy, http_proxy, no_proxy).
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY']) {
    for (const variable of [name, name.toLowerCase()]) if (env[variable]) env[variable] = proxyUrl(variable, env[variable]!);
  }
  for (const name of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) {
    if (env[name] && !env[name.toLowerCase()]) env[name.toLowerCase()] = env[name];
  }
  const previous = getGlobalDispatcher();
  setGlobalDispatcher(new EnvHttpProxyAgent(settings));
  return () => setGlobalDispatcher(previous);
}

/** Whether `NO_PROXY` sends `url` directly. */
export function bypassesProxy(url: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      const [name, entryPort] = entry.toLowerCase().replace(/^\*/, '').split(/:(?=\d+$)/);
      if (entryPort && entryPort !== port) return false;
      const bare = name!.replace(/^\./, '');
      return host === bare || host.endsWith(`.${bare}`);
    });
}

/**
 * An agent for clients that take one rather than using `fetch` (the Stripe client), routing
 * requests to `url` through the environment's proxy; undefined when there is none or `NO_PROXY`
 * names the host. The tunnel is made with CONNECT, for http:// and https:// addresses alike.
 */
export function proxyAgentFor(url: string, env: NodeJS.ProcessEnv = process.env): Agent | undefined {
  const settings = proxySettings(env);
  if (!settings) return undefined;
  const target = new URL(url);
  const proxy = target.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
  if (!proxy || bypassesProxy(target, settings.noProxy)) return undefined;
  return new HttpsProxyAgent(proxy);
}
