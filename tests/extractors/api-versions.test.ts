import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { apiVersionReport, apiVersionVerdict, configuredApiVersion, stripePinnedVersion } from '../../extractors/api-versions.ts';

const on = (date: string) => new Date(`${date}T00:00:00Z`);

describe('API version end of life (issue 11)', () => {
  it('warns about a Meta version within 60 days of its expiry, naming the date and the setting to change', () => {
    // Meta's version history: v25.0 expires on February 23, 2027. From January 10: 21 days of January left, then 23 of February.
    const verdict = apiVersionVerdict('meta_ads', 'v25.0', on('2027-01-10'));
    expect(verdict).toMatchObject({ level: 'warning', endOfLife: '2027-02-23', daysLeft: 44, setting: 'sources.meta_ads.apiVersion' });
    expect(verdict.message).toMatch(/v25\.0 ends on 2027-02-23, in 44 days: set sources\.meta_ads\.apiVersion to v27\.0/);
  });

  it('starts warning 60 days before the end, not 61', () => {
    // 2026-12-24 to 2027-02-23: 7 days of December, 31 of January, 23 of February = 61.
    expect(apiVersionVerdict('meta_ads', 'v25.0', on('2026-12-24'))).toMatchObject({ level: 'ok', daysLeft: 61 });
    expect(apiVersionVerdict('meta_ads', 'v25.0', on('2026-12-25'))).toMatchObject({ level: 'warning', daysLeft: 60 });
  });

  it('calls a version past its end a problem: the SDK default v24.0 expired on 2026-11-10', () => {
    const verdict = apiVersionVerdict('meta_ads', 'v24.0', on('2026-12-05'));
    expect(verdict.level).toBe('problem');
    expect(verdict.message).toMatch(/v24\.0 ended on 2026-11-10: set sources\.meta_ads\.apiVersion to v27\.0/);
  });

  it('says when no end is announced, and when a version is not in the table', () => {
    expect(apiVersionVerdict('meta_ads', 'v27.0', on('2026-12-05'))).toMatchObject({ level: 'ok', endOfLife: null });
    const unknown = apiVersionVerdict('meta_ads', 'v19.0', on('2026-12-05'));
    expect(unknown.level).toBe('warning');
    expect(unknown.message).toMatch(/not in verite's table of Marketing API versions \(as published on 2026-12-05\)/);
  });

  it("follows Shopify's twelve months of support for each quarterly version", () => {
    // 2026-01 is released on 2026-01-01 and supported until 2027-01-01: 27 days after 2026-12-05.
    const soon = apiVersionVerdict('shopify', '2026-01', on('2026-12-05'));
    expect(soon).toMatchObject({ level: 'warning', endOfLife: '2027-01-01', daysLeft: 27 });
    expect(soon.message).toMatch(/2026-01 ends on 2027-01-01.*set sources\.shopify\.apiVersion to 2026-10/);
    expect(apiVersionVerdict('shopify', '2025-10', on('2026-12-05'))).toMatchObject({ level: 'problem', endOfLife: '2026-10-01' });
    expect(apiVersionVerdict('shopify', '2026-10', on('2026-12-05'))).toMatchObject({ level: 'ok', endOfLife: '2027-10-01' });
    expect(apiVersionVerdict('shopify', '2027-01', on('2026-12-05')).level).toBe('problem');
  });

  it("takes the first day of a Google Ads sunset month, and says the package pins the version", () => {
    // v24's sunset is announced for May 2027: from 2027-03-15, 16 days of March, 30 of April, then May 1 = 47.
    const verdict = apiVersionVerdict('google_ads', 'v24', on('2027-03-15'));
    expect(verdict).toMatchObject({ level: 'warning', endOfLife: '2027-05-01', tentative: true, daysLeft: 47 });
    expect(verdict.setting).toMatch(/google-ads-api package/);
    expect(verdict.message).toMatch(/announced for that month only/);
    expect(apiVersionVerdict('google_ads', 'v22', on('2026-12-05'))).toMatchObject({ level: 'problem', endOfLife: '2026-10-07' });
  });

  it('knows Stripe versions and GA4 v1beta have no end of life', () => {
    expect(apiVersionVerdict('stripe', '2020-08-27', on('2030-01-01'))).toMatchObject({ level: 'ok', endOfLife: null });
    expect(apiVersionVerdict('ga4', 'v1beta', on('2030-01-01'))).toMatchObject({ level: 'ok', endOfLife: null });
  });

  it("reports every enabled versioned source of a config, Meta's default when none is set", () => {
    const config = configSchema.parse({
      sources: {
        shopify: { shop: 'a.myshopify.com', apiVersion: '2026-07' },
        meta_ads: { adAccountIds: ['1'] },
        stripe: { enabled: false },
        fx: { ecb: true },
      },
    });
    const report = apiVersionReport(config, on('2026-12-05'));
    expect(report.map((r) => [r.source, r.version, r.endOfLife, r.level])).toEqual([
      ['shopify', '2026-07', '2027-07-01', 'ok'],
      ['meta_ads', 'v27.0', null, 'ok'],
    ]);
  });

  it("names the Stripe version the client itself pins, read without loading the client", () => {
    // The client's own constant; tests/architecture/start-up.test.ts checks that `verite status` loads only apiVersion.js.
    expect(stripePinnedVersion()).toBe(Stripe.API_VERSION);
    expect(configuredApiVersion('stripe', {})).toBe(Stripe.API_VERSION);
  });
});
