/**
 * The ad platforms' daily campaign reports for the demo shop. Spend follows the paid
 * traffic the day had; the platforms' own conversion counts are optimistic (Google ~1.3×,
 * Meta ~1.5× the orders their campaigns really brought), which is the gap verite shows.
 */
import type { DemoFx } from './fx.ts';
import { round } from './format.ts';
import { Rng, tagOf } from '../../lib/random.ts';
import type { DemoShop } from './shop.ts';
import { attributionKey, type DayTraffic } from './traffic.ts';

const TAG_GOOGLE = tagOf('google-ads');
const TAG_META = tagOf('meta-ads');

interface GoogleCampaign {
  id: number;
  cpc: number;
  ctr: number;
}

const GOOGLE_CAMPAIGNS: Readonly<Record<string, GoogleCampaign>> = {
  brand_search: { id: 17_230_045_011, cpc: 0.65, ctr: 0.22 },
  generic_search: { id: 17_230_045_012, cpc: 1.1, ctr: 0.045 },
  shopping: { id: 17_230_045_013, cpc: 0.85, ctr: 0.012 },
};

/** Sessions a day's traffic had, summed over devices, per campaign of a channel. */
function sessionsByCampaign(traffic: DayTraffic, channel: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of traffic.touchpoints) {
    if (t.touchpoint.channel !== channel) continue;
    out.set(t.campaign, (out.get(t.campaign) ?? 0) + t.devices.reduce((s, d) => s + d.sessions, 0));
  }
  return out;
}

/** google-ads-api rows (`campaign`, `segments.date`, `metrics`) of the day, one per campaign. */
export function googleAdsRows(shop: DemoShop, traffic: DayTraffic): Record<string, unknown>[] {
  const rng = Rng.for(shop.seed, TAG_GOOGLE, traffic.day);
  const rows: Record<string, unknown>[] = [];
  for (const [name, sessions] of sessionsByCampaign(traffic, 'google_ads')) {
    const campaign = GOOGLE_CAMPAIGNS[name];
    if (!campaign) continue;
    const clicks = Math.round(sessions * rng.jitter(1.1, 0.05));
    const real = traffic.attributed.get(attributionKey('google_ads', name)) ?? { orders: 0, revenueUsd: 0 };
    rows.push({
      customer: { id: 1_234_567_890, currency_code: 'USD', time_zone: 'America/New_York' },
      campaign: { id: campaign.id, name },
      segments: { date: traffic.date },
      metrics: {
        cost_micros: Math.round(clicks * rng.jitter(campaign.cpc, 0.1) * 1e6),
        clicks,
        impressions: Math.round(clicks / rng.jitter(campaign.ctr, 0.1)),
        // Data-driven attribution hands out fractions of conversions.
        conversions: round(real.orders * rng.jitter(1.3, 0.1), 2),
        conversions_value: round(real.revenueUsd * rng.jitter(1.3, 0.1), 2),
      },
    });
  }
  return rows;
}

const META_ACCOUNT = '1122334455';
const PURCHASE_TYPES = ['purchase', 'omni_purchase', 'offsite_conversion.fb_pixel_purchase'] as const;

function metaCampaignId(name: string): string {
  const quarterly = /^prospecting_q(\d)_(\d{4})$/.exec(name);
  return quarterly ? `2385${quarterly[2]}${quarterly[1]}0041777` : '23851122334455667';
}

/**
 * A purchase count (or value in cents) split between the windows a report asks for by default,
 * `7d_click` and `1d_view`: one purchase in five counted after a view without a click. The two
 * add up to `value`, the account's default setting (7-day click or 1-day view), so the count
 * and value staging reads (the sum over the kinds of window) are `value`. No random draw: the
 * other numbers of the day do not move.
 */
function byWindow(amount: number, purchases: number): { click: number; view: number } {
  const view = Math.round((amount * Math.floor(purchases / 5)) / purchases);
  return { click: amount - view, view };
}
const cents = (n: number) => (n / 100).toFixed(2);

/** Graph API Insights objects of the day (level campaign, account currency EUR), numbers as strings. */
export function metaInsightsRows(shop: DemoShop, fx: DemoFx, traffic: DayTraffic): Record<string, unknown>[] {
  const rng = Rng.for(shop.seed, TAG_META, traffic.day);
  const eurUsd = fx.eurRate('USD', traffic.day);
  const rows: Record<string, unknown>[] = [];
  for (const [name, sessions] of sessionsByCampaign(traffic, 'meta_ads')) {
    const linkClicks = Math.round(sessions * rng.jitter(1.2, 0.05));
    const cpc = rng.jitter(name === 'retargeting_dpa' ? 0.75 : 0.55, 0.1);
    const impressions = Math.round(linkClicks / rng.jitter(0.011, 0.15));
    const real = traffic.attributed.get(attributionKey('meta_ads', name)) ?? { orders: 0, revenueUsd: 0 };
    const purchases = Math.round(real.orders * rng.jitter(1.5, 0.1));
    const value = ((real.revenueUsd / eurUsd) * rng.jitter(1.5, 0.1)).toFixed(2);
    const row: Record<string, unknown> = {
      account_id: META_ACCOUNT,
      account_currency: 'EUR',
      // The shop's one time zone, as Google Ads reports it too.
      account_timezone_name: 'America/New_York',
      campaign_id: metaCampaignId(name),
      campaign_name: name,
      date_start: traffic.date,
      date_stop: traffic.date,
      spend: (linkClicks * cpc).toFixed(2),
      impressions: String(impressions),
      reach: String(Math.round(impressions / rng.between(1.5, 2.3))),
      clicks: String(Math.round(linkClicks * rng.jitter(1.35, 0.05))),
      inline_link_clicks: String(linkClicks),
      actions: [{ action_type: 'link_click', value: String(linkClicks) }],
    };
    // The Graph API leaves out action types with nothing to report.
    if (purchases > 0) {
      const count = byWindow(purchases, purchases);
      const worth = byWindow(Math.round(Number(value) * 100), purchases);
      (row.actions as unknown[]).push(...PURCHASE_TYPES.map((action_type) => ({ action_type, value: String(purchases), '7d_click': String(count.click), '1d_view': String(count.view) })));
      row.action_values = PURCHASE_TYPES.map((action_type) => ({ action_type, value, '7d_click': cents(worth.click), '1d_view': cents(worth.view) }));
    }
    rows.push(row);
  }
  return rows;
}
