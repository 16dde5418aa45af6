import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The currencies of the ECB's euro reference rates in December 2026: the 29 it publishes since
 * Bulgaria's lev left the list when Bulgaria joined the euro on 1 January 2026.
 */
export const ECB_CURRENCIES = ['USD', 'JPY', 'CZK', 'DKK', 'GBP', 'HUF', 'PLN', 'RON', 'SEK', 'CHF', 'ISK', 'NOK', 'TRY', 'AUD', 'BRL', 'CAD', 'CNY', 'HKD', 'IDR', 'ILS', 'INR', 'KRW', 'MXN', 'MYR', 'NZD', 'PHP', 'SGD', 'THB', 'ZAR'];

export interface FakeEcb {
  /** The base URL to give `sources.fx.ecbUrl` (ends in `/stats/eurofxref`). */
  url: string;
  /** The day the daily document is of. */
  day: string;
  requests: string[];
  close(): Promise<void>;
}

/**
 * The ECB's `eurofxref-daily.xml` as it is served: a gesmes envelope, the day's `<Cube time>`,
 * a `<Cube currency rate>` per currency, attributes in single quotes. Other paths answer 404.
 */
export async function startFakeEcb(day = '2026-12-04'): Promise<FakeEcb> {
  const fake: FakeEcb = { url: '', day, requests: [], close: async () => undefined };
  const server = createServer((req, res) => {
    fake.requests.push(req.url ?? '');
    if (req.url !== '/stats/eurofxref/eurofxref-daily.xml') return void res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not found</html>');
    const cubes = ECB_CURRENCIES.map((c, i) => `\t\t\t<Cube currency='${c}' rate='${(1.05 + i * 0.75).toFixed(4)}'/>`).join('\n');
    res.writeHead(200, { 'content-type': 'text/xml' }).end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n\t<gesmes:subject>Reference rates</gesmes:subject>\n\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n\t<Cube>\n\t\t<Cube time='${fake.day}'>\n${cubes}\n\t\t</Cube>\n\t</Cube>\n</gesmes:Envelope>\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/eurofxref`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}
