/**
 * The European Central Bank's euro foreign exchange reference rates: one XML document per
 * range (the latest day, the last 90 days, or the whole history since 1999), each day a
 * `<Cube time="YYYY-MM-DD">` holding `<Cube currency="USD" rate="1.0830"/>` entries, meaning
 * 1 EUR = rate units of the currency. Published on TARGET business days around 16:00 CET.
 */
export const ECB_BASE_URL = 'https://www.ecb.europa.eu/stats/eurofxref';

export type EcbRange = 'daily' | 'hist-90d' | 'hist';

export function ecbUrl(baseUrl: string, range: EcbRange): string {
  const file = range === 'daily' ? 'eurofxref-daily.xml' : `eurofxref-${range}.xml`;
  return `${baseUrl.replace(/\/$/, '')}/${file}`;
}

export interface EcbRate {
  date: string;
  base: 'EUR';
  quote: string;
  rate: number;
}

/** Every rate of an ECB reference-rate document, oldest day first. */
export function parseEcbXml(xml: string): EcbRate[] {
  const out: EcbRate[] = [];
  const day = /<Cube\s+time=["'](\d{4}-\d{2}-\d{2})["']\s*>([\s\S]*?)<\/Cube>/g;
  const rate = /<Cube\s+currency=["']([A-Z]{3})["']\s+rate=["']([0-9.]+)["']\s*\/>/g;
  for (const d of xml.matchAll(day)) {
    for (const r of d[2]!.matchAll(rate)) {
      const value = Number(r[2]);
      if (Number.isFinite(value) && value > 0) out.push({ date: d[1]!, base: 'EUR', quote: r[1]!, rate: value });
    }
  }
  return out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.quote.localeCompare(b.quote)));
}
