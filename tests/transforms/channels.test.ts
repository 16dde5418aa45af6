import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelExpression, defaultChannelRules } from '../../transforms/channels.ts';
import type { Warehouse } from '../../warehouse/index.ts';
import { createTestDatabase } from '../support/database.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('channels');
});
afterAll(async () => wh?.close());

/** [utm source, utm medium, referrer URL, expected channel], from the METRICS.md rule table. */
const cases: [string | null, string | null, string | null, string][] = [
  ['google', 'cpc', null, 'google_ads'],
  ['GOOGLE', 'Paid_Search', null, 'google_ads'],
  ['adwords.google', 'ppc', null, 'google_ads'],
  ['bing', 'cpc', null, 'other'], // paid, but not Google: no rule but "a source or medium is present"
  ['facebook', 'paid_social', null, 'meta_ads'],
  ['ig', 'cpc', null, 'meta_ads'],
  ['facebook', 'social', null, 'other'],
  ['newsletter', 'email', null, 'email'],
  ['google', 'organic', null, 'organic_search'],
  [null, null, 'https://www.google.com/', 'organic_search'],
  [null, null, 'https://duckduckgo.com/?q=mug', 'organic_search'],
  [null, null, 'https://blog.example.org/post', 'referral'],
  ['partner', 'referral', null, 'referral'],
  ['partner', null, 'https://www.google.com/', 'other'], // a UTM source wins over the referrer
  [null, null, null, 'direct'],
];

async function classify(rules = defaultChannelRules) {
  const values = sql.join(cases.map(([s, m, r], i) => sql`(${i}::int, ${s}::text, ${m}::text, ${r}::text)`));
  const expr = channelExpression(rules, { source: sql`v.s`, medium: sql`v.m`, referrerHost: sql`ops.url_host(v.r)` });
  const res = await sql<{ i: number; channel: string }>`select v.i, ${expr} as channel from (values ${values}) as v(i, s, m, r) order by v.i`.execute(wh.db);
  return res.rows.map((r) => r.channel);
}

describe('channel rules', () => {
  it('assign the METRICS.md default channels, first match wins, case-insensitively', async () => {
    expect(await classify()).toEqual(cases.map((c) => c[3]));
  });

  it('compile to one CASE whose literals are lower-cased', () => {
    const compiled = sql`${channelExpression(defaultChannelRules, { source: sql`s`, medium: sql`m`, referrerHost: sql`h` })}`.compile(wh.db);
    expect(compiled.sql.startsWith('(case when')).toBe(true);
    expect(compiled.sql).toContain("lower(m) in ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search')");
    expect(compiled.sql).toMatch(/else 'direct' end\)$/);
  });

  it('follow a configured rule table instead of the defaults', async () => {
    const channels = await classify([{ channel: 'affiliates', sources: ['partner'] }, { channel: 'paid', mediums: ['cpc', 'ppc', 'paid_social'] }]);
    expect(channels[0]).toBe('paid');
    expect(channels[13]).toBe('affiliates');
    expect(channels[14]).toBe('direct');
  });
});
