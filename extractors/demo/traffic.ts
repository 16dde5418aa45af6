/**
 * A day of the demo shop's web traffic, worked out from the day's orders: sessions per
 * touchpoint and device (from the orders the day was expected to bring and each channel's
 * conversion rate), the purchases GA4 recorded (most, not all, of the real orders) and the
 * orders each ad campaign really brought. GA4 rows and both ad platforms' reports are views of it.
 */
import type { DemoFx } from './fx.ts';
import { Rng, tagOf, Weighted } from '../../lib/random.ts';
import { CHANNELS, PROSPECTING, prospectingCampaign, touchpointShare, type ChannelProfile, type Touchpoint } from './shop-data.ts';
import type { DemoShop, OrderPlan } from './shop.ts';
import { isoDay } from './time.ts';

const TAG_TRAFFIC = tagOf('traffic');

export const DEVICES = ['desktop', 'mobile', 'tablet'] as const;
const SESSION_SHARE = [0.38, 0.55, 0.07] as const;
/** Desktop visitors convert better: their share of purchases is larger than of sessions. */
const PURCHASE_DEVICE = new Weighted<number>([
  [0, 47],
  [1, 46],
  [2, 7],
]);
/** GA4 misses some purchases (consent banners, blockers). */
const GA4_CAPTURE = 0.93;

export interface DeviceTraffic {
  sessions: number;
  purchases: number;
  revenueUsd: number;
}

export interface TouchpointTraffic {
  profile: ChannelProfile;
  touchpoint: Touchpoint;
  campaign: string;
  devices: [DeviceTraffic, DeviceTraffic, DeviceTraffic];
}

export interface DayTraffic {
  day: number;
  date: string;
  touchpoints: TouchpointTraffic[];
  /** Orders (not tests) each campaign really brought, and their value in USD, by `channel|campaign`. */
  attributed: Map<string, { orders: number; revenueUsd: number }>;
}

export const attributionKey = (channel: string, campaign: string) => `${channel}|${campaign}`;

/** The traffic of a day. Depends on the day's orders only, never on a run's cut-off. */
export function dayTraffic(shop: DemoShop, fx: DemoFx, day: number, orders: readonly OrderPlan[]): DayTraffic {
  const rng = Rng.for(shop.seed, TAG_TRAFFIC, day);
  const date = isoDay(day);
  const expected = shop.expectedOrders(day);
  const byTouchpoint = new Map<Touchpoint, TouchpointTraffic>();
  const touchpoints: TouchpointTraffic[] = [];
  for (const profile of CHANNELS) {
    for (const touchpoint of profile.touchpoints) {
      const orders = (expected * profile.orderShare * touchpointShare(profile, touchpoint)) / 100;
      const sessions = Math.round(rng.jitter(orders / profile.conversion, 0.12));
      const desktop = Math.round(sessions * rng.jitter(SESSION_SHARE[0], 0.1));
      const tablet = Math.round(sessions * rng.jitter(SESSION_SHARE[2], 0.2));
      const entry: TouchpointTraffic = {
        profile,
        touchpoint,
        campaign: touchpoint.campaign === PROSPECTING ? prospectingCampaign(date) : touchpoint.campaign,
        devices: [
          { sessions: desktop, purchases: 0, revenueUsd: 0 },
          { sessions: Math.max(0, sessions - desktop - tablet), purchases: 0, revenueUsd: 0 },
          { sessions: tablet, purchases: 0, revenueUsd: 0 },
        ],
      };
      byTouchpoint.set(touchpoint, entry);
      touchpoints.push(entry);
    }
  }

  const attributed = new Map<string, { orders: number; revenueUsd: number }>();
  for (const order of orders) {
    // Test orders are the shop's own; GA4 filters internal traffic and no ad claims them.
    if (order.test) continue;
    const usd = (order.totalCents / 100) * fx.usdPer(order.currency, day);
    const key = attributionKey(order.touchpoint.channel, order.campaign);
    const a = attributed.get(key) ?? { orders: 0, revenueUsd: 0 };
    a.orders += 1;
    a.revenueUsd += usd;
    attributed.set(key, a);
    if (!rng.chance(GA4_CAPTURE)) continue;
    const device = byTouchpoint.get(order.touchpoint)!.devices[PURCHASE_DEVICE.sample(rng)]!;
    device.purchases += 1;
    device.revenueUsd += usd;
  }
  // A device that bought has had visits: never fewer sessions than a plausible ceiling on conversion allows.
  for (const t of touchpoints) for (const d of t.devices) d.sessions = Math.max(d.sessions, d.purchases * 6);
  return { day, date, touchpoints, attributed };
}

/** GA4 `runReport` rows of the day (date × channel group × source / medium / campaign × device), values as strings. */
export function ga4Rows(shop: DemoShop, traffic: DayTraffic): Record<string, unknown>[] {
  const rng = Rng.for(shop.seed, tagOf('ga4-rows'), traffic.day);
  const rows: Record<string, unknown>[] = [];
  const date = traffic.date.replace(/-/g, '');
  for (const t of traffic.touchpoints) {
    t.devices.forEach((d, i) => {
      if (d.sessions === 0) return;
      const users = Math.max(1, Math.round(d.sessions * rng.jitter(0.86, 0.04)));
      const newUsers = Math.min(users, Math.round(users * rng.jitter(t.profile.newUserShare, 0.1)));
      const checkouts = Math.max(d.purchases, Math.round(d.sessions * 0.08 * rng.jitter(0.45, 0.1)));
      const addToCarts = Math.max(checkouts, Math.round(d.sessions * rng.jitter(0.08, 0.15)));
      rows.push({
        property_id: '123456789',
        date,
        sessionDefaultChannelGroup: t.touchpoint.group,
        sessionSource: t.touchpoint.source,
        sessionMedium: t.touchpoint.medium,
        sessionCampaignName: t.campaign,
        deviceCategory: DEVICES[i],
        sessions: String(d.sessions),
        totalUsers: String(users),
        newUsers: String(newUsers),
        addToCarts: String(addToCarts),
        checkouts: String(checkouts),
        ecommercePurchases: String(d.purchases),
        purchaseRevenue: d.revenueUsd.toFixed(2),
        // What the GA4 extractor adds to every row from the property's settings.
        property_time_zone: 'America/New_York',
        property_currency_code: 'USD',
      });
    });
  }
  return rows;
}
