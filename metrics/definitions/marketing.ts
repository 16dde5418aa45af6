import { spend, traffic } from '../measure-sources.ts';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';

/**
 * Traffic (GA4, taken as reported, bucketed in the property's own time zone) and paid
 * acquisition (Google Ads and Meta, bucketed in each ad account's time zone).
 */

const GA4 = 'ga4.traffic_daily' as const;
const ADS = ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily', 'fx.rates'] as const;

export const sessions = metric('marketing', {
  name: 'sessions',
  label: 'Sessions',
  description:
    'GA4 `sessions` summed over the day (all properties). In kpi_channel_daily, the sessions whose source/medium map to the channel through the channel rules.',
  formula: 'GA4 `sessions` summed over the day',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: [GA4],
  measure: traffic.sum('sessions'),
});

export const users = metric('marketing', {
  name: 'users',
  label: 'Users',
  description: 'GA4 `totalUsers` summed over the day. GA4 counts a user on each day (and each channel row) they visit, so a sum over days overcounts people.',
  formula: 'GA4 `totalUsers` summed over the day',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  measure: traffic.sum('users'),
});

export const addToCarts = metric('marketing', {
  name: 'add_to_carts',
  label: 'Add-to-cart events',
  description: 'GA4 `addToCarts` (events, not sessions) summed over the day.',
  formula: 'GA4 `addToCarts` summed over the day',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  measure: traffic.sum('add_to_carts'),
});

export const checkouts = metric('marketing', {
  name: 'checkouts',
  label: 'Checkouts begun',
  description: 'GA4 `checkouts` (begin_checkout events) summed over the day.',
  formula: 'GA4 `checkouts` summed over the day',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  measure: traffic.sum('checkouts'),
});

export const ga4Purchases = metric('marketing', {
  name: 'ga4_purchases',
  label: 'GA4 purchases',
  description: 'GA4 `ecommercePurchases` summed over the day: what the tag saw, usually fewer than the shop\'s orders (blockers, consent).',
  formula: 'GA4 `ecommercePurchases` summed over the day',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  measure: traffic.sum('purchases'),
});

export const ga4PurchaseRevenue = metric('marketing', {
  name: 'ga4_purchase_revenue',
  label: 'GA4 purchase revenue',
  description:
    "GA4 `purchaseRevenue` summed over the day, converted from the property's currency (the row's `property_currency_code`, else the ga4 source's " +
    '`currency`, else the reporting currency) at the rate of the report date.',
  formula: 'GA4 `purchaseRevenue` summed over the day',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'revenue_reconciliation_daily'],
  sources: [GA4, 'fx.rates'],
  measure: traffic.sum('purchase_revenue_rc'),
});

export const conversionRate = metric('marketing', {
  name: 'conversion_rate',
  label: 'Conversion rate',
  description: "The blended rate: the shop's counted orders over GA4 sessions. Over a date range: SUM(orders) / SUM(sessions).",
  formula: '`orders / sessions` (shop orders over GA4 sessions: the blended rate)',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', GA4],
  derivation: { kind: 'ratio', numerator: 'orders', denominator: 'sessions' },
});

export const revenuePerSession = metric('marketing', {
  name: 'revenue_per_session',
  label: 'Revenue per session',
  description: 'Shop revenue over GA4 sessions. Over a date range: SUM(revenue) / SUM(sessions).',
  formula: '`revenue / sessions`',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', GA4, 'fx.rates'],
  derivation: { kind: 'ratio', numerator: 'revenue', denominator: 'sessions' },
});

export const cartAbandonmentRate = metric('marketing', {
  name: 'cart_abandonment_rate',
  label: 'Cart abandonment rate',
  description:
    'One minus GA4 purchases over add-to-cart events. An approximation: both are event counts, and one cart can see several add-to-cart events. ' +
    'Over a date range: 1 − SUM(ga4_purchases) / SUM(add_to_carts).',
  formula: '`1 − ga4_purchases / add_to_carts` (event counts: an approximation, documented as such)',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  derivation: { kind: 'ratio', numerator: 'ga4_purchases', denominator: 'add_to_carts', complement: true },
});

export const checkoutAbandonmentRate = metric('marketing', {
  name: 'checkout_abandonment_rate',
  label: 'Checkout abandonment rate',
  description: 'One minus GA4 purchases over checkouts begun. Over a date range: 1 − SUM(ga4_purchases) / SUM(checkouts).',
  formula: '`1 − ga4_purchases / checkouts`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: [GA4],
  derivation: { kind: 'ratio', numerator: 'ga4_purchases', denominator: 'checkouts', complement: true },
});

export const adSpend = metric('marketing', {
  name: 'ad_spend',
  label: 'Ad spend',
  description:
    'Google Ads cost (`cost_micros / 1e6`) plus Meta `spend`, converted into the reporting currency at the rate of the report date. ' +
    'In kpi_channel_daily, each platform carries its own channel (google_ads, meta_ads).',
  formula: 'Google Ads `cost_micros / 1e6` plus Meta `spend`, converted',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: [...ADS],
  measure: spend.sum('spend_rc'),
});

export const adClicks = metric('marketing', {
  name: 'ad_clicks',
  label: 'Ad clicks',
  description: 'Clicks reported by Google Ads and Meta, summed over both platforms.',
  formula: 'summed over both platforms',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily'],
  measure: spend.sum('clicks'),
});

export const adImpressions = metric('marketing', {
  name: 'ad_impressions',
  label: 'Ad impressions',
  description: 'Impressions reported by Google Ads and Meta, summed over both platforms.',
  formula: 'summed over both platforms',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily'],
  measure: spend.sum('impressions'),
});

export const cac = metric('marketing', {
  name: 'cac',
  label: 'Blended CAC',
  description:
    'Customer acquisition cost: all ad spend over all new customers, whatever brought them (blended). In kpi_channel_daily, the channel\'s spend over the ' +
    'new customers whose first order is attributed to it. Over a date range: SUM(ad_spend) / SUM(new_customers).',
  formula: '`ad_spend / new_customers` (blended CAC)',
  unit: 'currency',
  views: [...KPI_PERIOD_VIEWS, 'kpi_channel_daily'],
  sources: ['shopify.orders', ...ADS],
  derivation: { kind: 'ratio', numerator: 'ad_spend', denominator: 'new_customers' },
});

export const mer = metric('marketing', {
  name: 'mer',
  label: 'Marketing efficiency ratio (MER)',
  description:
    'Shop revenue per unit of ad spend (revenue over spend; the inverse direction is not used anywhere). Over a date range: SUM(revenue) / SUM(ad_spend).',
  formula: '`revenue / ad_spend` (marketing efficiency ratio; the inverse direction is not used anywhere)',
  unit: 'ratio',
  display: 'multiple',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', ...ADS],
  derivation: { kind: 'ratio', numerator: 'revenue', denominator: 'ad_spend' },
});

export const ncRoas = metric('marketing', {
  name: 'nc_roas',
  label: 'New-customer ROAS',
  description: "Revenue of new customers' first orders per unit of ad spend. Over a date range: SUM(new_customer_revenue) / SUM(ad_spend).",
  formula: "revenue of new customers' first orders / `ad_spend`",
  unit: 'ratio',
  display: 'multiple',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['shopify.orders', ...ADS],
  derivation: { kind: 'ratio', numerator: 'new_customer_revenue', denominator: 'ad_spend' },
});

export const platformConversions = metric('marketing', {
  name: 'platform_conversions',
  label: 'Platform-claimed conversions',
  description:
    "What the ad platform claims: Google Ads `metrics.conversions` (fractional under data-driven attribution) and Meta's configured purchase action type " +
    "(`omni_purchase` by default, the type of Ads Manager's Purchases column; only one of its overlapping types is summed), " +
    "in the attribution windows verite asked for when it read the row (`actionAttributionWindows`), not the account's default: " +
    'of each kind (click, view, engaged view) the longest window the entry holds, added up; `value`, the default window, only for an entry holding none.',
  formula:
    'What an ad platform claims: Google Ads `metrics.conversions`; Meta the configured purchase action type of `actions[]` ' +
    "(`purchaseActionType`, default `omni_purchase`, the type of Ads Manager's Purchases column; " +
    'Meta reports the same purchase under several overlapping action types, so only one is ever summed)',
  unit: 'count',
  sqlType: 'numeric',
  views: ['kpi_channel_daily'],
  sources: ['google_ads.campaign_daily', 'meta_ads.campaign_insights_daily'],
  measure: spend.sum('platform_conversions'),
});

export const platformConversionValue = metric('marketing', {
  name: 'platform_conversion_value',
  label: 'Platform-claimed conversion value',
  description:
    'What the ad platform claims its conversions were worth: Google Ads `metrics.conversions_value`, Meta the value of the configured purchase action type ' +
    'of `action_values[]` in the attribution windows verite asked for when it read the row, converted into the reporting currency at the rate of the report date.',
  formula:
    'What an ad platform claims: Google Ads `metrics.conversions_value`; Meta the configured purchase action type of `action_values[]` ' +
    "(`purchaseActionType`, default `omni_purchase`, the type of Ads Manager's Purchases conversion value; " +
    'Meta reports the same purchase under several overlapping action types, so only one is ever summed)',
  unit: 'currency',
  views: ['kpi_channel_daily'],
  sources: [...ADS],
  measure: spend.sum('platform_conversion_value_rc'),
});

export const roas = metric('marketing', {
  name: 'roas',
  label: 'ROAS (shop-attributed)',
  description:
    "Revenue of the orders the shop attributes to the channel (UTM, else referrer) per unit of the channel's ad spend: the shop's side of the optimistic-platform gap.",
  formula: '`revenue / ad_spend` (revenue of orders attributed to the channel)',
  unit: 'ratio',
  display: 'multiple',
  views: ['kpi_channel_daily'],
  sources: ['shopify.orders', ...ADS],
  derivation: { kind: 'ratio', numerator: 'revenue', denominator: 'ad_spend' },
});

export const platformRoas = metric('marketing', {
  name: 'platform_roas',
  label: 'ROAS (platform-claimed)',
  description: "The ad platform's own ROAS: the conversion value it claims per unit of spend. Compare with roas to see how optimistic the platform is.",
  formula: '`platform_conversion_value / ad_spend`',
  unit: 'ratio',
  display: 'multiple',
  views: ['kpi_channel_daily'],
  sources: [...ADS],
  derivation: { kind: 'ratio', numerator: 'platform_conversion_value', denominator: 'ad_spend' },
});

/** Every marketing metric, in the order the views publish them. */
export const marketingMetrics = [
  sessions,
  users,
  addToCarts,
  checkouts,
  ga4Purchases,
  ga4PurchaseRevenue,
  conversionRate,
  revenuePerSession,
  cartAbandonmentRate,
  checkoutAbandonmentRate,
  adSpend,
  adClicks,
  adImpressions,
  cac,
  mer,
  ncRoas,
  platformConversions,
  platformConversionValue,
  roas,
  platformRoas,
];
