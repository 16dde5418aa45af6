import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type MetaAdsConfig } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { readCampaignInsights } from '../../extractors/meta-ads/read.ts';
import type { Page, ReadContext } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import { startFakeGraph, type FakeGraph, type InsightsRow } from './support/meta-graph-server.ts';

/**
 * Issue 11: the Meta source defaulted to the SDK's Marketing API v24.0, which Meta shut off on
 * 2026-11-10. Meta's version history on 2026-12-05: v21.0 to v24.0 expired (2025-09-09,
 * 2026-02-19, 2026-06-09, 2026-11-10), v25.0 expires 2027-02-23, v26.0 and v27.0 have no date.
 */
const EXPIRED_ON_2026_12_05 = ['v21.0', 'v22.0', 'v23.0', 'v24.0'];
const LIVE_ON_2026_12_05 = ['v25.0', 'v26.0', 'v27.0'];
const TOKEN = 'EAAtest-system-user-token-version';

let fake: FakeGraph;
let restoreSleep: () => void;

const row = (date: string): InsightsRow => ({
  account_id: '111', account_currency: 'USD', campaign_id: 'c1', campaign_name: 'Campaign c1', date_start: date, date_stop: date,
  spend: '10.00', impressions: '1000', reach: '800', clicks: '25', actions: [], action_values: [],
});

function context(source: Record<string, unknown> = {}): { ctx: ReadContext<MetaAdsConfig>; warnings: string[] } {
  const global = configSchema.parse({ sources: { meta_ads: { adAccountIds: ['act_111'], graphBaseUrl: fake.url, startDate: '2026-12-03', ...source } } });
  const config = global.sources.meta_ads!;
  const warnings: string[] = [];
  const ctx: ReadContext<MetaAdsConfig> = {
    config, global, state: null, window: null, startDate: config.startDate!, lookbackDays: 28, now: new Date('2026-12-05T08:00:00Z'), log: logger(),
    signal: new AbortController().signal, secret: () => TOKEN, warnOnce: (m) => void (warnings.includes(m) || warnings.push(m)),
  };
  return { ctx, warnings };
}

async function collect(ctx: ReadContext<MetaAdsConfig>): Promise<Page[]> {
  const pages: Page[] = [];
  for await (const page of readCampaignInsights(ctx)) pages.push(page);
  return pages;
}

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  fake = await startFakeGraph(TOKEN);
  fake.accounts.set('111', { timezone_name: 'UTC', currency: 'USD', name: 'Shop US' });
  fake.rows = (_account, date) => [row(date)];
  fake.pollsToComplete = 1;
});
afterAll(async () => {
  restoreSleep();
  await fake.close();
});

describe("Meta's default Marketing API version (issue 11)", () => {
  it('calls, with no apiVersion set, a version that Meta lists as live on 2026-12-05', async () => {
    fake.sunsetVersions = new Set(EXPIRED_ON_2026_12_05);
    fake.requests.length = 0;
    const pages = await collect(context().ctx);
    // 2026-12-03 and 2026-12-04: the complete days in UTC on the morning of 2026-12-05.
    expect(pages.map((p) => p.dates)).toEqual([['2026-12-03'], ['2026-12-04']]);
    const versions = new Set(fake.requests.map((r) => r.version));
    expect(versions.size).toBe(1);
    expect(LIVE_ON_2026_12_05).toContain([...versions][0]);
  });

  it('still calls the version apiVersion names', async () => {
    fake.sunsetVersions = new Set(EXPIRED_ON_2026_12_05);
    fake.requests.length = 0;
    await collect(context({ apiVersion: 'v25.0' }).ctx);
    expect(new Set(fake.requests.map((r) => r.version))).toEqual(new Set(['v25.0']));
  });

  it('logs X-Ad-Api-Version-Warning once per run, however many answers carry it', async () => {
    fake.sunsetVersions = new Set();
    // What Meta adds when it served a call to an expired version with the next one.
    const said = 'The call was upgraded from v24.0 to v25.0 because v24.0 is deprecated';
    fake.script(
      { match: (r) => r.path === 'act_111', headers: { 'X-Ad-Api-Version-Warning': said } },
      { match: (r) => r.path === 'act_111/insights', headers: { 'X-Ad-Api-Version-Warning': said } },
    );
    const { ctx, warnings } = context({ apiVersion: 'v24.0' });
    await collect(ctx);
    expect(fake.pendingScripts()).toBe(0);
    expect(warnings.filter((w) => w.includes('Marketing API'))).toEqual([
      `meta_ads: Meta answered a Marketing API v24.0 call with the warning "${said}"; set sources.meta_ads.apiVersion to a version Meta serves (the default is v27.0)`,
    ]);
  });
});
