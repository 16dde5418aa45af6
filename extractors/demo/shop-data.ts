/**
 * The demo shop's fixed world: what it sells, where it ships, where its visitors come from.
 * Data only; the simulation in `shop.ts` draws from it.
 */
import { Weighted } from '../../lib/random.ts';

export type Currency = 'USD' | 'EUR' | 'GBP';

export interface Variant {
  id: number;
  title: string | null;
  sku: string;
}

export interface Product {
  id: number;
  handle: string;
  title: string;
  vendor: string;
  grams: number;
  /** Price per market currency, in cents (the shop sets a price list per market). */
  prices: Readonly<Record<Currency, number>>;
  variants: readonly Variant[];
}

function product(index: number, handle: string, title: string, usd: number, grams: number, sizes: readonly string[] = []): Product {
  const code = handle.split('-').map((w) => w.slice(0, 3).toUpperCase()).join('');
  const id = 8_104_221_300_000 + index * 7_919;
  const titles: (string | null)[] = sizes.length ? [...sizes] : [null];
  return {
    id,
    handle,
    title,
    vendor: 'Northwind Outfitters',
    grams,
    // Market prices are rounded to whole units, as merchants set them.
    prices: { USD: usd * 100, EUR: Math.round(usd * 0.95) * 100, GBP: Math.round(usd * 0.8) * 100 },
    variants: titles.map((t, v) => ({ id: 45_021_870_000_000 + index * 100 + v, title: t, sku: t ? `NW-${code}-${t}` : `NW-${code}` })),
  };
}

const SIZES = ['S', 'M', 'L', 'XL'] as const;

export const PRODUCTS: readonly Product[] = [
  product(1, 'merino-crew-socks', 'Merino Crew Socks', 18, 90, ['S', 'M', 'L']),
  product(2, 'trail-running-cap', 'Trail Running Cap', 28, 80),
  product(3, 'insulated-bottle-750', 'Insulated Water Bottle 750 ml', 34, 420),
  product(4, 'canvas-tote', 'Everyday Canvas Tote', 42, 380),
  product(5, 'rain-shell', 'Lightweight Rain Shell', 148, 310, SIZES),
  product(6, 'down-vest', 'Down Vest', 128, 290, SIZES),
  product(7, 'organic-cotton-tee', 'Organic Cotton Tee', 32, 180, SIZES),
  product(8, 'fleece-quarter-zip', 'Fleece Quarter-Zip', 88, 420, SIZES),
  product(9, 'hiking-daypack-22', 'Hiking Daypack 22 L', 119, 820),
  product(10, 'enamel-camp-mug', 'Enamel Camp Mug', 19, 260),
  product(11, 'headlamp-300', 'Headlamp 300 lm', 39, 110),
  product(12, 'wool-beanie', 'Wool Beanie', 29, 95),
  product(13, 'packable-hammock', 'Packable Hammock', 69, 540),
  product(14, 'trekking-poles', 'Trekking Poles (pair)', 99, 480),
  product(15, 'polarized-sunglasses', 'Polarized Sunglasses', 59, 60),
  product(16, 'trail-mix-sampler', 'Trail Mix Sampler', 14, 350),
  product(17, 'leather-belt', 'Leather Belt', 49, 210, ['S', 'M', 'L']),
  product(18, 'merino-base-layer', 'Merino Base Layer', 79, 200, SIZES),
];

/** Cheap everyday items sell more often than jackets. */
export const PRODUCT_CHOICE = new Weighted<Product>(
  PRODUCTS.map((p) => [p, p.prices.USD <= 3_500 ? 9 : p.prices.USD <= 8_000 ? 5 : 3] as const),
);

export interface Region {
  countryCode: string;
  country: string;
  provinceCode: string | null;
  province: string | null;
  city: string;
  zips: readonly string[];
  /** Sales tax or VAT, charged on top of the price (the shop does not include taxes in prices). */
  taxRate: number;
  taxTitle: string;
}

export interface Market {
  currency: Currency;
  regions: Weighted<Region>;
  freeShippingFromCents: number;
  standardShippingCents: number;
  expressShippingCents: number;
  /** Card issuing country for Stripe's `payment_method_details.card.country`. */
  international: boolean;
}

const us = (provinceCode: string, province: string, city: string, zips: string[], taxRate: number, weight: number) =>
  [{ countryCode: 'US', country: 'United States', provinceCode, province, city, zips, taxRate, taxTitle: `${provinceCode} State Tax` }, weight] as const;
const eu = (countryCode: string, country: string, city: string, zips: string[], taxRate: number, weight: number) =>
  [{ countryCode, country, provinceCode: null, province: null, city, zips, taxRate, taxTitle: `${countryCode} VAT` }, weight] as const;

export const MARKETS: Readonly<Record<Currency, Market>> = {
  USD: {
    currency: 'USD',
    regions: new Weighted<Region>([
      us('NY', 'New York', 'Brooklyn', ['11201', '11215', '11238'], 0.08875, 14),
      us('CA', 'California', 'Los Angeles', ['90012', '90026', '90291'], 0.095, 20),
      us('TX', 'Texas', 'Austin', ['78701', '78704', '78745'], 0.0825, 12),
      us('FL', 'Florida', 'Miami', ['33130', '33137'], 0.07, 9),
      us('IL', 'Illinois', 'Chicago', ['60607', '60614', '60622'], 0.1025, 7),
      us('WA', 'Washington', 'Seattle', ['98101', '98103', '98122'], 0.1025, 7),
      us('MA', 'Massachusetts', 'Boston', ['02116', '02130'], 0.0625, 5),
      us('CO', 'Colorado', 'Denver', ['80202', '80205', '80218'], 0.0881, 6),
      us('OR', 'Oregon', 'Portland', ['97205', '97214'], 0, 5),
      us('GA', 'Georgia', 'Atlanta', ['30303', '30308'], 0.089, 6),
      us('PA', 'Pennsylvania', 'Philadelphia', ['19103', '19125'], 0.08, 5),
      us('NJ', 'New Jersey', 'Jersey City', ['07302', '07306'], 0.06625, 4),
    ]),
    freeShippingFromCents: 7_500,
    standardShippingCents: 695,
    expressShippingCents: 1_495,
    international: false,
  },
  EUR: {
    currency: 'EUR',
    regions: new Weighted<Region>([
      eu('DE', 'Germany', 'Berlin', ['10115', '10437', '10999'], 0.19, 30),
      eu('FR', 'France', 'Paris', ['75003', '75011', '75018'], 0.2, 22),
      eu('NL', 'Netherlands', 'Amsterdam', ['1012 AB', '1071 DJ'], 0.21, 16),
      eu('ES', 'Spain', 'Madrid', ['28004', '28012'], 0.21, 12),
      eu('IT', 'Italy', 'Milano', ['20121', '20144'], 0.22, 12),
      eu('IE', 'Ireland', 'Dublin', ['D02 X285', 'D08 VF8H'], 0.23, 8),
    ]),
    freeShippingFromCents: 7_000,
    standardShippingCents: 595,
    expressShippingCents: 1_295,
    international: true,
  },
  GBP: {
    currency: 'GBP',
    regions: new Weighted<Region>([
      [{ countryCode: 'GB', country: 'United Kingdom', provinceCode: 'ENG', province: 'England', city: 'London', zips: ['E2 7DG', 'N1 9GU', 'SE1 2AA'], taxRate: 0.2, taxTitle: 'GB VAT' }, 70],
      [{ countryCode: 'GB', country: 'United Kingdom', provinceCode: 'ENG', province: 'England', city: 'Manchester', zips: ['M1 1AE', 'M4 5JD'], taxRate: 0.2, taxTitle: 'GB VAT' }, 20],
      [{ countryCode: 'GB', country: 'United Kingdom', provinceCode: 'SCT', province: 'Scotland', city: 'Edinburgh', zips: ['EH1 1YZ', 'EH8 9YL'], taxRate: 0.2, taxTitle: 'GB VAT' }, 10],
    ]),
    freeShippingFromCents: 6_000,
    standardShippingCents: 495,
    expressShippingCents: 995,
    international: true,
  },
};

/** The currency an order is charged in: mostly the shop's USD, with European presentment markets. */
export const CURRENCY_CHOICE = new Weighted<Currency>([
  ['USD', 70],
  ['EUR', 20],
  ['GBP', 10],
]);

export type Channel = 'google_ads' | 'meta_ads' | 'organic_search' | 'email' | 'referral' | 'direct';

/** One way a visitor arrives: a source / medium / campaign as GA4 reports it and as the landing URL carries it. */
export interface Touchpoint {
  channel: Channel;
  /** GA4's `sessionDefaultChannelGroup`. */
  group: string;
  source: string;
  medium: string;
  /**
   * The campaign (utm_campaign and GA4's `sessionCampaignName`); `PROSPECTING` is replaced by
   * the quarter's campaign; GA4 names like `(organic)` mark touchpoints without a campaign.
   */
  campaign: string;
  /** Whether the landing URL carries UTM parameters (paid and e-mail traffic is tagged). */
  tagged: boolean;
  /** The referrer Shopify records (null: none, as for typed-in visits and e-mail clients). */
  referrer: string | null;
  /** The click id an ad platform appends to the landing URL. */
  clickId: 'gclid' | 'fbclid' | null;
  weight: number;
}

/** The placeholder of the quarterly Meta prospecting campaign (`prospecting_q1_2024` …). */
export const PROSPECTING = '{prospecting}';

export interface ChannelProfile {
  channel: Channel;
  /** Share of the shop's orders (DESIGN brief: 25/20/20/10/8/17). */
  orderShare: number;
  /** Sessions → purchase conversion rate of the channel. */
  conversion: number;
  /** Share of GA4 users who are new. */
  newUserShare: number;
  touchpoints: readonly Touchpoint[];
}

const tp = (t: Omit<Touchpoint, 'tagged' | 'clickId'> & Partial<Pick<Touchpoint, 'tagged' | 'clickId'>>): Touchpoint => ({ tagged: false, clickId: null, ...t });

export const CHANNELS: readonly ChannelProfile[] = [
  {
    channel: 'google_ads',
    orderShare: 25,
    conversion: 0.028,
    newUserShare: 0.72,
    touchpoints: [
      tp({ channel: 'google_ads', group: 'Paid Search', source: 'google', medium: 'cpc', campaign: 'brand_search', tagged: true, referrer: 'https://www.google.com/', clickId: 'gclid', weight: 40 }),
      tp({ channel: 'google_ads', group: 'Paid Search', source: 'google', medium: 'cpc', campaign: 'generic_search', tagged: true, referrer: 'https://www.google.com/', clickId: 'gclid', weight: 35 }),
      tp({ channel: 'google_ads', group: 'Paid Shopping', source: 'google', medium: 'cpc', campaign: 'shopping', tagged: true, referrer: 'https://www.google.com/', clickId: 'gclid', weight: 25 }),
    ],
  },
  {
    channel: 'meta_ads',
    orderShare: 20,
    conversion: 0.02,
    newUserShare: 0.78,
    touchpoints: [
      tp({ channel: 'meta_ads', group: 'Paid Social', source: 'facebook', medium: 'paid_social', campaign: PROSPECTING, tagged: true, referrer: 'https://l.facebook.com/', clickId: 'fbclid', weight: 45 }),
      tp({ channel: 'meta_ads', group: 'Paid Social', source: 'instagram', medium: 'paid_social', campaign: PROSPECTING, tagged: true, referrer: 'https://l.instagram.com/', clickId: 'fbclid', weight: 20 }),
      tp({ channel: 'meta_ads', group: 'Paid Social', source: 'facebook', medium: 'paid_social', campaign: 'retargeting_dpa', tagged: true, referrer: 'https://l.facebook.com/', clickId: 'fbclid', weight: 25 }),
      tp({ channel: 'meta_ads', group: 'Paid Social', source: 'instagram', medium: 'paid_social', campaign: 'retargeting_dpa', tagged: true, referrer: 'https://l.instagram.com/', clickId: 'fbclid', weight: 10 }),
    ],
  },
  {
    channel: 'organic_search',
    orderShare: 20,
    conversion: 0.026,
    newUserShare: 0.58,
    touchpoints: [
      tp({ channel: 'organic_search', group: 'Organic Search', source: 'google', medium: 'organic', campaign: '(organic)', referrer: 'https://www.google.com/', weight: 80 }),
      tp({ channel: 'organic_search', group: 'Organic Search', source: 'bing', medium: 'organic', campaign: '(organic)', referrer: 'https://www.bing.com/', weight: 12 }),
      tp({ channel: 'organic_search', group: 'Organic Search', source: 'duckduckgo', medium: 'organic', campaign: '(organic)', referrer: 'https://duckduckgo.com/', weight: 8 }),
    ],
  },
  {
    channel: 'email',
    orderShare: 10,
    conversion: 0.032,
    newUserShare: 0.12,
    touchpoints: [
      tp({ channel: 'email', group: 'Email', source: 'newsletter', medium: 'email', campaign: 'weekly', tagged: true, referrer: null, weight: 70 }),
      tp({ channel: 'email', group: 'Email', source: 'newsletter', medium: 'email', campaign: 'abandoned_cart', tagged: true, referrer: null, weight: 30 }),
    ],
  },
  {
    channel: 'referral',
    orderShare: 8,
    conversion: 0.022,
    newUserShare: 0.64,
    touchpoints: [
      tp({ channel: 'referral', group: 'Referral', source: 'blog.example.org', medium: 'referral', campaign: '(referral)', referrer: 'https://blog.example.org/review', weight: 70 }),
      tp({ channel: 'referral', group: 'Referral', source: 'reddit.com', medium: 'referral', campaign: '(referral)', referrer: 'https://www.reddit.com/r/BuyItForLife/', weight: 30 }),
    ],
  },
  {
    channel: 'direct',
    orderShare: 17,
    conversion: 0.027,
    newUserShare: 0.34,
    touchpoints: [tp({ channel: 'direct', group: 'Direct', source: '(direct)', medium: '(none)', campaign: '(not set)', referrer: null, weight: 100 })],
  },
];

export const CHANNEL_CHOICE = new Weighted<ChannelProfile>(CHANNELS.map((c) => [c, c.orderShare] as const));
export const TOUCHPOINT_CHOICE: ReadonlyMap<Channel, Weighted<Touchpoint>> = new Map(
  CHANNELS.map((c) => [c.channel, new Weighted<Touchpoint>(c.touchpoints.map((t) => [t, t.weight] as const))]),
);

/** Share of a channel's orders each touchpoint brings (its weight over the channel's total). */
export function touchpointShare(profile: ChannelProfile, touchpoint: Touchpoint): number {
  const total = profile.touchpoints.reduce((s, t) => s + t.weight, 0);
  return touchpoint.weight / total;
}

/** The Meta prospecting campaign running on a date: one per quarter. */
export function prospectingCampaign(isoDate: string): string {
  const month = Number(isoDate.slice(5, 7));
  return `prospecting_q${Math.ceil(month / 3)}_${isoDate.slice(0, 4)}`;
}

export const FIRST_NAMES = [
  'Anna', 'Ben', 'Carla', 'David', 'Elena', 'Felix', 'Grace', 'Hugo', 'Isabel', 'Jonas', 'Kira', 'Liam', 'Maya', 'Noah',
  'Olivia', 'Paul', 'Quinn', 'Rosa', 'Sam', 'Tara', 'Umar', 'Vera', 'Will', 'Yara', 'Zoe', 'Marco', 'Chloé', 'Sofia', 'Lukas', 'Emma',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Garcia', 'Miller', 'Brown', 'Davis', 'Martinez', 'Wilson', 'Anderson', 'Taylor', 'Moore', 'Jackson',
  'Müller', 'Schmidt', 'Dubois', 'Rossi', 'van Dijk', 'Fernández', "O'Brien", 'Murphy', 'Nguyen', 'Kim', 'Patel', 'Clarke',
] as const;

export const EMAIL_DOMAINS = ['example.com', 'example.net', 'example.org', 'mail.example.com'] as const;
