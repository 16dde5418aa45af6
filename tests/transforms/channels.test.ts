import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type ChannelRule } from '../../config/schema.ts';
import { channelExpression, defaultChannelRules } from '../../transforms/channels.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('channels');
});
afterAll(async () => wh?.close());

/** [utm source, utm medium, referrer URL, expected channel], from the docs/metrics.md rule table. */
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
  // Issue 3: a referrer without a scheme is still a referrer.
  [null, null, 'www.google.com/search', 'organic_search'],
  [null, null, 'google.com', 'organic_search'],
  [null, null, '//www.bing.com/search?q=mug', 'organic_search'],
  [null, null, 'blog.example.org/post', 'referral'],
  [null, null, 'Shop.Example.ORG:8443', 'referral'],
];

async function classify(rules: readonly ChannelRule[] = defaultChannelRules) {
  return classifyThese(rules, cases);
}

async function classifyThese(rules: readonly ChannelRule[], rows: readonly (readonly [string | null, string | null, string | null, string])[]) {
  const values = sql.join(rows.map(([s, m, r], i) => sql`(${i}::int, ${s}::text, ${m}::text, ${r}::text)`));
  const expr = channelExpression(rules, { source: sql`v.s`, medium: sql`v.m`, referrerHost: sql`ops.url_host(v.r)` });
  const res = await sql<{ i: number; channel: string }>`select v.i, ${expr} as channel from (values ${values}) as v(i, s, m, r) order by v.i`.execute(wh.db);
  return res.rows.map((r) => r.channel);
}

/** [URL, its host as url_host reads it] (issue 3: no scheme, '//', user info, case, port). */
const hosts: [string, string | null][] = [
  ['https://www.google.com/search?q=x', 'www.google.com'],
  ['www.google.com/search', 'www.google.com'],
  ['google.com', 'google.com'],
  ['  Google.COM  ', 'google.com'],
  ['//www.bing.com/search?q=mug', 'www.bing.com'],
  ['blog.example.org:8080/post#top', 'blog.example.org'],
  ['https://user:secret@Partner.example.com/x', 'partner.example.com'],
  ['android-app://com.google.android.gm/', 'com.google.android.gm'],
  ['/products/mug', null],
  ['mailto:someone@example.com', null],
  ['', null],
];

/** [landing URL, parameter name, expected value] (issue 3: any case, &amp; separators). */
const params: [string, string, string | null][] = [
  ['/?utm_source=google&utm_medium=cpc', 'utm_medium', 'cpc'],
  ['/?UTM_SOURCE=Google&UTM_MEDIUM=CPC', 'utm_source', 'Google'],
  ['/?Utm_Medium=email', 'utm_medium', 'email'],
  ['/products/mug?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring%20sale', 'utm_source', 'newsletter'],
  ['/products/mug?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring%20sale', 'utm_medium', 'email'],
  ['/products/mug?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring%20sale', 'utm_campaign', 'spring sale'],
  ['/?xutm_source=bad&utm_sourcex=bad', 'utm_source', null], // the whole name, not a part of one
  ['/?utm_source=&utm_medium=cpc', 'utm_source', null],
  ['/?a.b=1&aXb=2', 'a.b', '1'], // a '.' in the name is a dot, not any character
  ['/?aXb=2', 'a.b', null],
];

describe('URL functions', () => {
  it('read the host of a referrer written with or without a scheme', async () => {
    const values = sql.join(hosts.map(([u], i) => sql`(${i}::int, ${u}::text)`));
    const res = await sql<{ host: string | null }>`select ops.url_host(v.u) as host from (values ${values}) as v(i, u) order by v.i`.execute(wh.db);
    expect(res.rows.map((r) => r.host)).toEqual(hosts.map((h) => h[1]));
  });

  it('read a query parameter whatever the case of its name, with & or &amp; between parameters', async () => {
    const values = sql.join(params.map(([u, n], i) => sql`(${i}::int, ${u}::text, ${n}::text)`));
    const res = await sql<{ value: string | null }>`select ops.url_param(v.u, v.n) as value from (values ${values}) as v(i, u, n) order by v.i`.execute(wh.db);
    expect(res.rows.map((r) => r.value)).toEqual(params.map((p) => p[2]));
  });
});

describe('the UTM columns of the staged orders', () => {
  it('read the parameters whatever their case, and none from a URL without utm_, as ops.url_param does', async () => {
    const urls = [...new Set(params.map(([u]) => u)), '/products/mug?ref=home&q=mug', '/?Utm_Source=Mixed&uTm_MeDiUm=Case', '/?utm-source=dash', null];
    await landRecords(wh.pool, 'shopify', 'orders', urls.map((landing_site, i) => ({
      id: i + 1, name: `#${1001 + i}`, created_at: '2024-03-01T10:00:00Z', currency: 'EUR', total_price: '10.00', landing_site, line_items: [], refunds: [],
    })));
    const result = await runModels(wh.db, configSchema.parse({ reportingTimezone: 'UTC', reportingCurrency: 'EUR' }), { models, select: ['staging.shopify_orders'], now: new Date('2024-03-06T12:00:00Z') });
    expect(result.error).toBeUndefined();
    const staged = await wh.pool.query(`select order_id::int as i, utm_source, utm_medium, utm_campaign from staging.shopify_orders order by 1`);
    // Worked out by hand from each URL (the first three parameters' values, decoded; "-" is not "_").
    expect(staged.rows).toEqual([
      { i: 1, utm_source: 'google', utm_medium: 'cpc', utm_campaign: null },
      { i: 2, utm_source: 'Google', utm_medium: 'CPC', utm_campaign: null },
      { i: 3, utm_source: null, utm_medium: 'email', utm_campaign: null },
      { i: 4, utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring sale' },
      { i: 5, utm_source: null, utm_medium: null, utm_campaign: null },
      { i: 6, utm_source: null, utm_medium: 'cpc', utm_campaign: null },
      { i: 7, utm_source: null, utm_medium: null, utm_campaign: null },
      { i: 8, utm_source: null, utm_medium: null, utm_campaign: null },
      { i: 9, utm_source: null, utm_medium: null, utm_campaign: null },
      { i: 10, utm_source: 'Mixed', utm_medium: 'Case', utm_campaign: null },
      { i: 11, utm_source: null, utm_medium: null, utm_campaign: null },
      { i: 12, utm_source: null, utm_medium: null, utm_campaign: null },
    ]);
  });
});

describe('channel rules', () => {
  it('assign the docs/metrics.md default channels, first match wins, case-insensitively', async () => {
    expect(await classify()).toEqual(cases.map((c) => c[3]));
  });

  it('compile to one CASE whose literals are lower-cased, the inputs lowered in their ASCII letters alone', () => {
    const compiled = sql`${channelExpression(defaultChannelRules, { source: sql`s`, medium: sql`m`, referrerHost: sql`h` })}`.compile(wh.db);
    expect(compiled.sql.startsWith('(case when')).toBe(true);
    expect(compiled.sql).toContain(`(lower((m) collate "C") collate "default") in ('cpc', 'ppc', 'paid', 'paidsearch', 'paid_search')`);
    expect(compiled.sql).toMatch(/else 'direct' end\)$/);
  });

  it("docs/metrics.md's example config parses, and adds its affiliates channel before the defaults", async () => {
    const page = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const section = page.slice(page.indexOf('## Channel rules'));
    const json = /```json\n([\s\S]*?)\n```/.exec(section)![1]!;
    const rules = configSchema.parse(JSON.parse(json)).channels!;
    // The defaults follow it: every case of the default table keeps its channel.
    expect(await classify(rules)).toEqual(cases.map((c) => c[3]));
    const own: [string | null, string | null, string | null, string][] = [
      ['AWIN', 'Affiliate', null, 'affiliates'], // the first rule, in any case
      ['impact', 'affiliate', 'https://www.google.com/', 'affiliates'],
      ['awin', 'cpc', null, 'other'], // medium not affiliate; awin contains no "google"; a source is there: rule 9
      ['awin', null, null, 'other'], // no medium: the first rule's `mediums` does not hold
    ];
    expect(await classifyThese(rules, own)).toEqual(own.map((c) => c[3]));
  });

  it('compare A to Z in any case, other letters as the row has them against the value lower-cased (docs/metrics.md)', async () => {
    const rules = [{ channel: 'press', sources: ['Élysée'] }];
    // 'Élysée' is lower-cased to 'élysée'; a row's 'É' is not lowered (only A to Z are).
    const rows: [string | null, string | null, string | null, string][] = [
      ['élysée', null, null, 'press'],
      ['ÉLYSÉE', null, null, 'direct'],
      ['éLYSée', null, null, 'press'],
    ];
    expect(await classifyThese(rules, rows)).toEqual(rows.map((c) => c[3]));
  });

  it('follow a configured rule table instead of the defaults', async () => {
    const channels = await classify([{ channel: 'affiliates', sources: ['partner'] }, { channel: 'paid', mediums: ['cpc', 'ppc', 'paid_social'] }]);
    expect(channels[0]).toBe('paid');
    expect(channels[13]).toBe('affiliates');
    expect(channels[14]).toBe('direct');
  });
});
