import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local chat webhook (Slack-compatible: a JSON body), on 127.0.0.1. */
export interface LocalWebhook<T> {
  /** `http://127.0.0.1:<port><path>`. */
  url: string;
  /** The JSON bodies of the posts it answered 200, in order. */
  received: T[];
  close(): Promise<void>;
}

/**
 * Starts a local webhook that takes JSON posts. `answer` gives the status of each post (200 by
 * default); only the posts answered 200 are kept in `received`. `path` is appended to the URL
 * (a Slack-like path makes the URL a secret, as the real one is).
 */
export async function startWebhook<T = { text: string }>(options: { path?: string; answer?: () => number } = {}): Promise<LocalWebhook<T>> {
  const received: T[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const status = options.answer?.() ?? 200;
      if (status === 200) received.push(JSON.parse(body) as T);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'unavailable');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${options.path ?? '/hook'}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
