import type { Agent } from 'node:http';
import { HttpsProxyAgent } from 'https-proxy-agent';

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

/** The proxy settings of `env`, or null when it names no proxy. */
export function proxySettings(env: NodeJS.ProcessEnv = process.env): ProxySettings | null {
  const pick = (name: string) => env[name] || env[name.toLowerCase()] || undefined;
  const httpProxy = pick('HTTP_PROXY');
  const httpsProxy = pick('HTTPS_PROXY');
  if (!httpProxy && !httpsProxy) return null;
  return { httpProxy, httpsProxy, noProxy: pick('NO_PROXY') };
}

/**
 * Routes `fetch` through the environment's proxy, when it names one (undici is loaded only
 * then). Returns what puts the previous routing back (a test's), or null when nothing was changed.
 */
export async function useEnvironmentProxy(env: NodeJS.ProcessEnv = process.env): Promise<(() => void) | null> {
  const settings = proxySettings(env);
  if (!settings) return null;
  const { EnvHttpProxyAgent, getGlobalDispatcher, setGlobalDispatcher } = await import('undici');
  // gRPC (Google Ads) reads only the lower-case names (grpc_proxy, https_proxy, http_proxy, no_proxy).
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
