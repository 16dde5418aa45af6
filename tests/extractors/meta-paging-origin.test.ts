import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followableNext, GraphApi } from '../../extractors/meta-ads/graph-api.ts';

/**
 * The SDK follows a report's `paging.next` through `GraphApi.call`, which adds the access token
 * when the URL lacks it. A URL on another origin than the Graph API's is not followed: the
 * token would go with it.
 */

const TOKEN = 'EAAB' + 'x'.repeat(40);

interface Recorder {
  server: Server;
  url: string;
  seen: string[];
}

async function recorder(): Promise<Recorder> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: [], paging: {} }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

let graph: Recorder;
let elsewhere: Recorder;
beforeAll(async () => {
  graph = await recorder();
  elsewhere = await recorder();
});
afterAll(async () => {
  for (const r of [graph, elsewhere]) await new Promise((resolve) => r?.server.close(resolve));
});

const api = () => new GraphApi({ accessToken: TOKEN, accessTokenEnv: 'META_ACCESS_TOKEN', baseUrl: graph.url, version: 'v27.0', http: { source: 'meta_ads', stream: 'campaign_insights_daily' } });

describe("Meta's paging.next", () => {
  it('is followed on the Graph API origin, with the token added when it lacks it', async () => {
    await api().call('GET', `${graph.url}/v27.0/123/insights?limit=2&after=QVFI`);
    expect(graph.seen).toEqual([`/v27.0/123/insights?limit=2&after=QVFI&access_token=${TOKEN}`]);
  });

  it('is not followed to another host, port or scheme: no request, and an error naming the origin, never the token', async () => {
    const other = new URL(elsewhere.url);
    for (const next of [`${elsewhere.url}/v27.0/123/insights?after=QVFI`, `${elsewhere.url}/v27.0/123/insights?after=QVFI&access_token=${TOKEN}`, `https://${new URL(graph.url).host}/v27.0/123/insights`]) {
      const error = (await api().call('GET', next).catch((e: unknown) => e)) as Error & { permanent?: boolean };
      expect(error.message, next).toContain(`Meta's paging.next points to ${new URL(next).origin}, not to ${graph.url}: not followed, the access token would go with it`);
      expect(error.message).not.toContain(TOKEN);
      expect(error.permanent).toBe(true);
    }
    expect(elsewhere.seen).toEqual([]);
    expect(other.port).not.toBe(new URL(graph.url).port);
  });

  it("is followed on Meta's own origin behind a proxy that passed Meta's next on unchanged, and nowhere else", () => {
    const proxy = 'https://meta-proxy.corp.example/graph';
    expect(followableNext(new URL('https://meta-proxy.corp.example/v27.0/123/insights?after=QVFI'), proxy)).toBe(true);
    expect(followableNext(new URL('https://graph.facebook.com/v27.0/123/insights?after=QVFI'), proxy)).toBe(true);
    expect(followableNext(new URL('http://graph.facebook.com/v27.0/123/insights'), proxy)).toBe(false);
    expect(followableNext(new URL('https://graph.facebook.com.evil.example/v27.0/123/insights'), proxy)).toBe(false);
    expect(followableNext(new URL('https://meta-proxy.corp.example:8443/v27.0/123/insights'), proxy)).toBe(false);
  });
});
