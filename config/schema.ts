import { z } from 'zod';

/** A calendar date written YYYY-MM-DD. */
export const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD');

/** The name of an environment variable holding a secret. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const timeZone = z.string().refine(isTimeZone, { message: 'not an IANA time zone (e.g. Europe/Paris)' });
export const currencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'expected an ISO 4217 currency code such as USD')
  .transform((c) => c.toUpperCase());

/** Keys every source entry takes. */
const sourceBase = {
  enabled: z.boolean().default(true),
  startDate: isoDate.optional(),
  lookbackDays: z.number().int().min(0).max(365).optional(),
};

export const shopifyConfig = z
  .object({
    ...sourceBase,
    shop: z.string().regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i, 'expected the shop domain, e.g. my-shop.myshopify.com'),
    accessTokenEnv: envName.default('SHOPIFY_ACCESS_TOKEN'),
    apiVersion: z.string().regex(/^\d{4}-(01|04|07|10)$/, 'expected a Shopify API version such as 2025-07').default('2025-07'),
    apiBaseUrl: z.string().url().optional(),
    bulkThresholdDays: z.number().int().min(1).default(30),
    bulkTimeoutMinutes: z.number().positive().default(60),
  })
  .strict();

export const stripeConfig = z
  .object({
    ...sourceBase,
    secretKeyEnv: envName.default('STRIPE_SECRET_KEY'),
    host: z.string().optional(),
    port: z.number().int().positive().optional(),
    protocol: z.enum(['http', 'https']).optional(),
    maxRequestsPerSecond: z.number().positive().default(20),
  })
  .strict();

export const ga4Config = z
  .object({
    ...sourceBase,
    propertyIds: z.array(z.union([z.string(), z.number()]).transform(String)).min(1),
    credentialsFile: z.string().optional(),
    apiEndpoint: z.string().optional(),
    port: z.number().int().positive().optional(),
    protocol: z.enum(['http', 'https']).optional(),
    quotaReserve: z.number().int().min(0).default(50),
  })
  .strict();

export const googleAdsConfig = z
  .object({
    ...sourceBase,
    customerIds: z.array(z.union([z.string(), z.number()]).transform((v) => String(v).replace(/-/g, ''))).min(1),
    loginCustomerId: z.union([z.string(), z.number()]).transform((v) => String(v).replace(/-/g, '')).optional(),
    developerTokenEnv: envName.default('GOOGLE_ADS_DEVELOPER_TOKEN'),
    clientIdEnv: envName.default('GOOGLE_ADS_CLIENT_ID'),
    clientSecretEnv: envName.default('GOOGLE_ADS_CLIENT_SECRET'),
    refreshTokenEnv: envName.default('GOOGLE_ADS_REFRESH_TOKEN'),
  })
  .strict();

export const metaAdsConfig = z
  .object({
    ...sourceBase,
    adAccountIds: z.array(z.union([z.string(), z.number()]).transform((v) => String(v).replace(/^act_/, ''))).min(1),
    accessTokenEnv: envName.default('META_ACCESS_TOKEN'),
    graphBaseUrl: z.string().url().optional(),
    apiVersion: z.string().regex(/^v\d+\.\d+$/).optional(),
    actionAttributionWindows: z.array(z.string()).default(['7d_click', '1d_view']),
    purchaseActionType: z.string().default('purchase'),
    jobTimeoutMinutes: z.number().positive().default(30),
  })
  .strict();

export const shipmentsConfig = z
  .object({
    ...sourceBase,
    path: z.string().optional(),
    columns: z.record(z.string(), z.string()).default({}),
    dateFormat: z.string().optional(),
    carrierApi: z
      .object({
        provider: z.enum(['easypost']).default('easypost'),
        apiKeyEnv: envName.default('EASYPOST_API_KEY'),
        baseUrl: z.string().url().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const fxConfig = z
  .object({
    ...sourceBase,
    path: z.string().optional(),
    ecb: z.boolean().default(false),
    ecbUrl: z.string().url().optional(),
  })
  .strict();

export const demoConfig = z
  .object({
    ...sourceBase,
    seed: z.number().int().default(42),
    days: z.number().int().min(1).max(3650).default(120),
    ordersPerDay: z.number().positive().default(40),
    endDate: isoDate.optional(),
  })
  .strict();

export const channelRule = z
  .object({
    channel: z.string().min(1),
    sources: z.array(z.string()).optional(),
    sourceContains: z.array(z.string()).optional(),
    mediums: z.array(z.string()).optional(),
    referrerHostContains: z.array(z.string()).optional(),
    noUtm: z.boolean().optional(),
    anyReferrer: z.boolean().optional(),
    anySourceOrMedium: z.boolean().optional(),
  })
  .strict();

export const alertRule = z
  .object({
    name: z.string().optional(),
    metric: z.string(),
    op: z.enum(['>', '>=', '<', '<=', '=', '!=']),
    threshold: z.number(),
    windowDays: z.number().int().positive().default(7),
  })
  .strict();

export const scheduleEntry = z
  .object({
    cron: z.string(),
    sources: z.array(z.string()).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    reportingTimezone: timeZone.default('UTC'),
    reportingCurrency: currencyCode.default('USD'),
    churnAfterDays: z.number().int().positive().default(180),
    channels: z.array(channelRule).optional(),
    sources: z
      .object({
        shopify: shopifyConfig.optional(),
        stripe: stripeConfig.optional(),
        ga4: ga4Config.optional(),
        google_ads: googleAdsConfig.optional(),
        meta_ads: metaAdsConfig.optional(),
        shipments: shipmentsConfig.optional(),
        fx: fxConfig.optional(),
        demo: demoConfig.optional(),
      })
      .strict()
      .default({}),
    schedules: z.array(scheduleEntry).default([{ cron: '0 3 * * *' }]),
    scheduleOverlap: z.enum(['wait', 'skip']).default('skip'),
    freshnessHours: z.number().positive().default(36),
    alerts: z
      .object({
        webhookUrl: z.string().url().optional(),
        webhookUrlEnv: envName.optional(),
        rules: z.array(alertRule).default([]),
      })
      .strict()
      .default({ rules: [] }),
    retries: z
      .object({ streamAttempts: z.number().int().min(1).max(10).default(2), backoffSeconds: z.number().min(0).default(5) })
      .strict()
      .default({ streamAttempts: 2, backoffSeconds: 5 }),
  })
  .strict();

export type VeriteConfig = z.output<typeof configSchema>;
export type SourcesConfig = VeriteConfig['sources'];
export type SourceName = keyof SourcesConfig;
export type ShopifyConfig = z.output<typeof shopifyConfig>;
export type StripeConfig = z.output<typeof stripeConfig>;
export type Ga4Config = z.output<typeof ga4Config>;
export type GoogleAdsConfig = z.output<typeof googleAdsConfig>;
export type MetaAdsConfig = z.output<typeof metaAdsConfig>;
export type ShipmentsConfig = z.output<typeof shipmentsConfig>;
export type FxConfig = z.output<typeof fxConfig>;
export type DemoConfig = z.output<typeof demoConfig>;
export type ChannelRule = z.output<typeof channelRule>;
export type AlertRule = z.output<typeof alertRule>;
