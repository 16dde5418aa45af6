import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { catalogStreams, type CatalogSource } from '../catalog/catalog.ts';
import { looksLikeCredential } from '../lib/logger.ts';
import { isCalendarDate } from '../lib/dates.ts';
import { dateFormatProblem, dateFormatTokensMeant } from '../lib/date-format.ts';
import { didYouMean } from '../lib/names.ts';
import { WARNING_CODES } from '../lib/warning-codes.ts';
import { WEBHOOK_FORMATS } from '../lib/webhook-flavour.ts';

/** A calendar date written YYYY-MM-DD. */
export const isoDate = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD')
  // JavaScript reads 2024-02-30 as 1 March: a day the month does not have is refused instead.
  .superRefine((text, ctx) => {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !isCalendarDate(text)) ctx.addIssue({ code: 'custom', message: `${text} is no day of the calendar` });
  });

/** The name of an environment variable holding a secret. */
/**
 * The name of the environment variable holding a secret (`...Env` keys). A secret pasted in its
 * place (`"secretKeyEnv": "sk_live_…"`, which is also a valid name) is refused without being
 * repeated: it is in the file, where secrets never go.
 */
const envName = z
  .string()
  .refine((name) => !looksLikeCredential(name), {
    abort: true,
    message:
      'holds what looks like the secret itself, not the name of an environment variable: put the secret in an environment variable, give its name here ' +
      '(e.g. STRIPE_SECRET_KEY), and take the secret out of the file (change it with its provider if the file was shared)',
  })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

/**
 * The shop's myshopify.com domain from what a user is likely to paste: the domain itself, in
 * any case; a URL of the shop's admin (`https://my-shop.myshopify.com/admin`, or the newer
 * `https://admin.shopify.com/store/my-shop`); or the store's handle alone (`my-shop`).
 * Anything else is returned as it is, for the schema to refuse.
 */
export function shopDomain(text: string): string {
  const given = text.trim().toLowerCase();
  if (/^https?:\/\//.test(given) && URL.canParse(given)) {
    const url = new URL(given);
    const store = url.hostname === 'admin.shopify.com' ? /^\/store\/([a-z0-9][a-z0-9-]*)/.exec(url.pathname)?.[1] : undefined;
    return store ? `${store}.myshopify.com` : url.hostname;
  }
  return /^[a-z0-9][a-z0-9-]*$/.test(given) ? `${given}.myshopify.com` : given.replace(/\/+$/, '');
}

/** The zone Node reads a name as, or undefined when it reads none. */
function resolvedZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Abbreviations people write for a zone, and the region they most often mean by it. */
const ZONE_ABBREVIATIONS: Record<string, string> = {
  EST: 'America/New_York',
  EDT: 'America/New_York',
  EST5EDT: 'America/New_York',
  CST: 'America/Chicago',
  CDT: 'America/Chicago',
  CST6CDT: 'America/Chicago',
  MST: 'America/Denver',
  MDT: 'America/Denver',
  MST7MDT: 'America/Denver',
  PST: 'America/Los_Angeles',
  PDT: 'America/Los_Angeles',
  PST8PDT: 'America/Los_Angeles',
  AKST: 'America/Anchorage',
  HST: 'Pacific/Honolulu',
  BST: 'Europe/London',
  WET: 'Europe/Lisbon',
  WEST: 'Europe/Lisbon',
  CET: 'Europe/Paris',
  CEST: 'Europe/Paris',
  MET: 'Europe/Paris',
  EET: 'Europe/Athens',
  EEST: 'Europe/Athens',
  MSK: 'Europe/Moscow',
  IST: 'Asia/Kolkata',
  JST: 'Asia/Tokyo',
  KST: 'Asia/Seoul',
  AEST: 'Australia/Sydney',
  AEDT: 'Australia/Sydney',
  NZST: 'Pacific/Auckland',
};

/**
 * Why a time-zone name cannot be the one verite computes days in, or undefined when it can: a
 * name of the tz database's Area/Location form (`Europe/Paris`, `Etc/GMT+5`), or `UTC`/`GMT`.
 * Abbreviations are refused although some are names of the database too: PostgreSQL reads
 * `CET`, `PST` or `EST` as fixed offsets with no summer time, where Node reads `CET` and `PST`
 * as a region with one, so days would be cut an hour apart in summer; and a shop writing `EST`
 * means New York, which keeps summer time. Offsets written `UTC+1` are refused too (POSIX
 * reads `Etc/GMT+1` as one hour behind UTC).
 */
export function timeZoneProblem(zone: string): string | undefined {
  const resolved = resolvedZone(zone);
  const upper = zone.toUpperCase();
  if (upper === 'UTC' || upper === 'GMT' || (resolved && zone.includes('/'))) return undefined;
  const meant = ZONE_ABBREVIATIONS[upper];
  if (meant) {
    return `"${zone}" is an abbreviation, not a region: PostgreSQL reads it as a fixed offset with no summer time, other tools as a region with one. Name the region, e.g. ${meant} (the tz database's Area/Location names)`;
  }
  if (/^(UTC|GMT)\s*[+-]/i.test(zone) || /^[+-]\d/.test(zone)) {
    return `"${zone}" is an offset, not a region: name the region whose days the shop counts, e.g. Europe/Paris (an offset keeps no summer time; Etc/GMT-1 is one hour ahead of UTC, as POSIX writes it)`;
  }
  if (resolved) return `"${zone}" is an old alias: name the region, ${resolved} (the tz database's Area/Location names)`;
  // A misspelt region (`Europe/Pariss`, `America/NewYork`, `europe/paris` on a system that takes case as written).
  const near = didYouMean(zone, Intl.supportedValuesOf('timeZone'));
  return `not an IANA time zone${near || ' (e.g. Europe/Paris)'}`;
}

export const timeZone = z
  .string()
  .trim()
  .superRefine((zone, ctx) => {
    const problem = timeZoneProblem(zone);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
/** The ISO 4217 codes of the currencies in use, as Node's ICU lists them. */
const CURRENCIES: readonly string[] = Intl.supportedValuesOf('currency');

export const currencyCode = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{3}$/, 'expected an ISO 4217 currency code such as USD')
  .transform((c) => c.toUpperCase())
  .superRefine((code, ctx) => {
    // A typo (EUO) would otherwise pass and fail the first run on a rate nobody publishes.
    if (!CURRENCIES.includes(code)) ctx.addIssue({ code: 'custom', message: `${code} is not the ISO 4217 code of a currency in use${didYouMean(code, CURRENCIES)}` });
  });

/** strftime's directives, as the date patterns of a file write them. */
const STRFTIME: Record<string, string> = { Y: 'YYYY', y: 'YY', m: 'MM', d: 'DD', e: 'D', b: 'MMM', H: 'HH', I: 'hh', M: 'mm', S: 'ss', p: 'A', z: 'Z', f: 'SSS' };
const NO_PAD: Record<string, string> = { d: 'D', m: 'M', H: 'H', I: 'h' };

/**
 * The pattern a `dateFormat` written in another tool's tokens means, or undefined: strftime's
 * (`%d/%m/%Y`), or lower-case date tokens (`dd/MM/yyyy` of Java and .NET, `dd/mm/yyyy` of a
 * spreadsheet, where `mm` is the month when no hour comes before it); then each run of letters
 * that is no token made the token it most likely means (`DD/MM/YYY` → `DD/MM/YYYY`, a `T` →
 * `[T]`). Only a pattern the check takes is offered.
 */
export function dateFormatMeant(format: string): string | undefined {
  const other = otherToolsPattern(format) ?? format;
  if (!dateFormatProblem(other)) return other === format ? undefined : other;
  return dateFormatTokensMeant(other);
}

function otherToolsPattern(format: string): string | undefined {
  if (/%-?[a-zA-Z]/.test(format)) {
    // %-d and %-m (no leading zero) are D and M.
    const meant = format.replace(/%(-?)([a-zA-Z])/g, (whole, bare: string, d: string) => (bare && NO_PAD[d]) || STRFTIME[d] || whole);
    return meant === format ? undefined : meant;
  }
  if (/YY/.test(format) || !/yy/.test(format)) return undefined;
  let meant = format.replace(/yyyy/g, 'YYYY').replace(/yy/g, 'YY').replace(/dd/g, 'DD').replace(/(^|[^a-zA-Z])d(?![a-zA-Z])/g, '$1D');
  // Without an upper-case M, the first mm before any hour is the month.
  if (!/M/.test(meant)) meant = meant.replace(/^([^Hh]*?)mm/, '$1MM');
  return meant;
}

/**
 * A file's date pattern: the tokens of the date parser (lib/date-format.ts), a year, a month and
 * a day among them, each once, any other letter in `[brackets]`. A letter that is no token would
 * be looked for as written in every date (`DD/MM/YYY` wants a `Y` after the year), and every row
 * quarantined.
 */
const dateFormat = (example: string) =>
  z
    .string()
    .superRefine((format, ctx) => {
      const problem = dateFormatProblem(format);
      if (!problem) return;
      const meant = dateFormatMeant(format);
      const message = problem.kind === 'incomplete' ? `expected a date pattern with YYYY, MM and DD, e.g. ${example}` : problem.message;
      ctx.addIssue({ code: 'custom', message: `${message}${meant ? ` (did you mean "${meant}"?)` : ''}` });
    });

/**
 * The sheet read from a file source's `.xlsx` workbooks: its name, or its number counted from 1;
 * without it, the first sheet that holds a row.
 */
const sheet = z.union([z.string().trim().min(1, 'expected a sheet name or number'), z.number().int().min(1, 'expected a sheet number from 1')]);

/**
 * The decimal mark of a file source's amounts, when its files do not show it: with `,`, `1.234`
 * is 1234 and `4,205` is 4.205; with `.`, `1.234` is 1.234 and `4,205` is 4205. Without it, each
 * file's mark is found from its amounts.
 */
const decimalMark = z.enum(['.', ','], { message: 'expected "." or ","' });

/** Keys every source entry takes. */
const sourceBase = {
  enabled: z.boolean().default(true),
  startDate: isoDate.optional(),
  lookbackDays: z.number().int().min(0).max(365).optional(),
};

export const shopifyConfig = z
  .object({
    ...sourceBase,
    shop: z
      .string()
      .transform(shopDomain)
      .pipe(
        z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/,
            "expected the shop's myshopify.com domain, e.g. my-shop.myshopify.com (the Admin API answers there, not on the shop's own domain)",
          ),
      ),
    /** The Admin API access token of an app installed on the shop (`shpat_…`). */
    accessTokenEnv: envName.default('SHOPIFY_ACCESS_TOKEN'),
    /** Instead of a token: the client ID and secret of a Dev Dashboard app, exchanged for a token on each run. */
    clientIdEnv: envName.optional(),
    clientSecretEnv: envName.optional(),
    /** The pinned Admin API version; Shopify supports each quarterly version for 12 months. */
    apiVersion: z.string().regex(/^\d{4}-(01|04|07|10)$/, 'expected a Shopify API version such as 2026-10').default('2026-10'),
    apiBaseUrl: z.string().url().optional(),
    /** A read spanning more days than this runs as a bulk operation instead of paging. */
    bulkThresholdDays: z.number().int().min(1).default(30),
    /** How long a bulk operation may run; past it, the operation is cancelled and its window read again in halves. */
    bulkTimeoutMinutes: z.number().positive().default(60),
    /** A bulk read exports at most this many days per operation; each window lands and commits on its own. */
    bulkWindowDays: z.number().positive().default(30),
    /** A window whose operation fails or times out is halved down to this; failing at it fails the stream. */
    bulkMinWindowHours: z.number().min(0.25).default(1),
    /** Attempts per request before the stream fails (429, 5xx, THROTTLED, network errors are retried). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    timeoutSeconds: z.number().positive().default(60),
  })
  .strict()
  .refine((c) => (c.clientIdEnv === undefined) === (c.clientSecretEnv === undefined), {
    message: 'set both clientIdEnv and clientSecretEnv (a Dev Dashboard app), or neither (an access token in accessTokenEnv)',
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

export const stripeConfig = z
  .object({
    ...sourceBase,
    secretKeyEnv: envName.default('STRIPE_SECRET_KEY'),
    /** Overrides passed to the Stripe client (a proxy, or a local test server). */
    host: z.string().optional(),
    port: z.number().int().positive().optional(),
    protocol: z.enum(['http', 'https']).optional(),
    /** Requests started per second, shared by every stream reading with the same secret key. */
    maxRequestsPerSecond: z.number().positive().default(20),
    /** Attempts per request before the stream fails (429, 5xx, network errors are retried). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    timeoutSeconds: z.number().positive().default(80),
  })
  .strict();

export const ga4Config = z
  .object({
    ...sourceBase,
    /** The GA4 properties to read (`123456789` or `properties/123456789`), all with the one credential. */
    propertyIds: z
      .array(
        z
          .union([z.string(), z.number()])
          .transform((v) => String(v).trim().replace(/^properties\//, ''))
          .pipe(z.string().superRefine((id, ctx) => {
            if (/^\d+$/.test(id)) return;
            // The IDs the Google tag and old Analytics show, mistaken for the property's.
            const why = /^G-/i.test(id)
              ? `${id} is a web stream's measurement ID, not the property's ID: `
              : /^UA-/i.test(id)
                ? `${id} is a Universal Analytics ID (Google shut Universal Analytics down in 2024), not a GA4 property's ID: `
                : '';
            ctx.addIssue({ code: 'custom', message: `${why}expected a GA4 property id such as 123456789 (GA4 Admin → Property details → Property ID)` });
          })),
      )
      .min(1),
    /** A service-account key file (JSON); without it, application default credentials. */
    credentialsFile: z.string().min(1).optional(),
    /**
     * The currency of `purchaseRevenue` in rows that do not say it themselves (the extractor
     * adds each property's `property_currency_code`; an imported file may lack it). Default:
     * `reportingCurrency`.
     */
    currency: currencyCode.optional(),
    /** Overrides passed to the Data API client (a proxy, or a local test server). */
    apiEndpoint: z.string().min(1).optional(),
    port: z.number().int().positive().optional(),
    protocol: z.enum(['http', 'https']).optional(),
    /** Tokens left untouched: the run stops once an hourly or daily token quota has fewer than this. */
    quotaReserve: z.number().int().min(0).default(50),
    /** Rows per runReport request (the API's `limit`; it allows up to 250,000). */
    pageSize: z.number().int().min(1).max(250_000).default(10_000),
    /** Attempts per request before the stream fails (5xx, UNAVAILABLE, network errors are retried). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    timeoutSeconds: z.number().positive().default(60),
  })
  .strict();

/** A Google Ads customer id, written with or without dashes. */
const googleAdsCustomerId = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim().replace(/-/g, ''))
  .pipe(
    z.string().superRefine((id, ctx) => {
      if (/^\d{10}$/.test(id)) return;
      // The Google tag's conversion ID (AW-…) is shown beside the account and mistaken for it.
      const why = /^AW\d+$/i.test(id) ? `AW-${id.slice(2)} is a conversion tracking ID (the Google tag's), not a customer id: ` : '';
      ctx.addIssue({ code: 'custom', message: `${why}expected a Google Ads customer id such as 123-456-7890 (the ten digits at the top of the Google Ads interface)` });
    }),
  );

export const googleAdsConfig = z
  .object({
    ...sourceBase,
    /** The client accounts to read (not manager accounts), all with the one OAuth credential. */
    customerIds: z.array(googleAdsCustomerId).min(1),
    /** The manager account through which the credential reaches the client accounts, if any. */
    loginCustomerId: googleAdsCustomerId.optional(),
    developerTokenEnv: envName.default('GOOGLE_ADS_DEVELOPER_TOKEN'),
    clientIdEnv: envName.default('GOOGLE_ADS_CLIENT_ID'),
    clientSecretEnv: envName.default('GOOGLE_ADS_CLIENT_SECRET'),
    refreshTokenEnv: envName.default('GOOGLE_ADS_REFRESH_TOKEN'),
    /** Dates per GAQL query (one query per customer and window). */
    queryWindowDays: z.number().int().min(1).max(90).default(7),
    /** Attempts per query before the stream fails (RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL, network errors are retried). */
    maxAttempts: z.number().int().min(1).max(10).default(6),
    /** The longest wait for a query's next rows before the query is given up and tried again (the client has no time-out). */
    idleTimeoutSeconds: z.number().positive().max(3600).default(600),
  })
  .strict();

/**
 * The action type of Ads Manager's *Purchases* column: purchases on the website, in the app,
 * offline and on Meta together (docs/sources/meta-ads.md compares the other types; DECISIONLOG.md
 * says why).
 */
export const DEFAULT_META_PURCHASE_ACTION_TYPE = 'omni_purchase';

export const metaAdsConfig = z
  .object({
    ...sourceBase,
    adAccountIds: z
      .array(
        z
          .union([z.string(), z.number()])
          .transform((v) => String(v).trim().replace(/^act_/, ''))
          .pipe(z.string().regex(/^\d+$/, 'expected an ad account id such as act_1234567890')),
      )
      .min(1),
    accessTokenEnv: envName.default('META_ACCESS_TOKEN'),
    graphBaseUrl: z.string().url().optional(),
    /** The Marketing API version; default META_DEFAULT_API_VERSION (extractors/api-versions.ts), not the SDK's, which Meta shut off. */
    apiVersion: z.string().regex(/^v\d+\.\d+$/, 'expected a Marketing API version such as v27.0').optional(),
    /** Sent with every report (and kept in the stream's cursor), so Ads Manager settings do not change the numbers. */
    actionAttributionWindows: z.array(z.string().min(1)).min(1).default(['7d_click', '1d_view']),
    /** The one action type counted as a purchase; see DEFAULT_META_PURCHASE_ACTION_TYPE. */
    purchaseActionType: z.string().default(DEFAULT_META_PURCHASE_ACTION_TYPE),
    /** An async report run not finished after this long is given up and its window split. */
    jobTimeoutMinutes: z.number().positive().default(30),
    /** Dates per async report run (smaller for very large accounts). */
    jobWindowDays: z.number().int().min(1).max(90).default(7),
  })
  .strict();

/** The fields of a shipment record (docs/streams.md), which a file's columns can be mapped to. */
export const shipmentFields = [
  'order_id',
  'tracking_number',
  'carrier',
  'service',
  'shipped_at',
  'estimated_delivery_at',
  'delivered_at',
  'returned_at',
  'status',
  'shipping_cost',
  'currency',
  'updated_at',
] as const;

export type ShipmentField = (typeof shipmentFields)[number];

export const shipmentsConfig = z
  .object({
    ...sourceBase,
    /** A folder, a file, or a glob such as `exports/*.csv`; relative to the working directory. */
    path: z.string().min(1).optional(),
    /** Their column → shipment field; a column already named like a field needs no entry. */
    columns: z.record(z.string(), z.enum(shipmentFields, { message: `expected a shipment field: ${shipmentFields.join(', ')}` })).default({}),
    /** How the files write dates, e.g. `DD/MM/YYYY HH:mm`; default ISO 8601. */
    dateFormat: dateFormat('DD/MM/YYYY HH:mm').optional(),
    /** The sheet of an `.xlsx` export to read (name or number); default the first that holds a row. */
    sheet: sheet.optional(),
    /** The files' decimal mark; default found from each file's amounts. */
    decimalMark: decimalMark.optional(),
    /** The zone of file times written without an offset. */
    timeZone: timeZone.default('UTC'),
    carrierApi: z
      .object({
        provider: z.enum(['easypost']).default('easypost'),
        apiKeyEnv: envName.default('EASYPOST_API_KEY'),
        baseUrl: z.string().url().optional(),
        maxRequestsPerSecond: z.number().positive().default(5),
        /** Attempts per request before the stream fails (429, 5xx, network errors are retried). */
        maxAttempts: z.number().int().min(1).max(10).default(6),
        timeoutSeconds: z.number().positive().default(60),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => c.path !== undefined || c.carrierApi !== undefined, {
    message: 'set path (a folder or glob of export files), carrierApi, or both',
    // Reported with the entry's other mistakes, not only once they are fixed.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

/** The fields of a unit-cost record (`costs.unit_costs`). */
export const costFields = ['sku', 'unit_cost', 'currency', 'valid_from'] as const;

export type CostField = (typeof costFields)[number];

/** Unit costs kept in a spreadsheet or an ERP, dropped as CSV/JSONL files (like the shipments file drop). */
export const costsConfig = z
  .object({
    ...sourceBase,
    /** A folder, a file, or a glob such as `costs/*.csv`; relative to the working directory. */
    path: z.string().min(1),
    /** Their column → cost field; a column already named like a field needs no entry. */
    columns: z.record(z.string(), z.enum(costFields, { message: `expected a cost field: ${costFields.join(', ')}` })).default({}),
    /** How the files write `valid_from`, e.g. `DD/MM/YYYY`; default ISO 8601. */
    dateFormat: dateFormat('DD/MM/YYYY').optional(),
    /** The sheet of an `.xlsx` cost workbook to read (name or number); default the first that holds a row. */
    sheet: sheet.optional(),
    /** The files' decimal mark; default found from each file's amounts. */
    decimalMark: decimalMark.optional(),
  })
  .strict();

export const fxConfig = z
  .object({
    ...sourceBase,
    path: z.string().optional(),
    /** The sheet of an `.xlsx` rates workbook to read (name or number); default the first that holds a row. */
    sheet: sheet.optional(),
    ecb: z.boolean().default(false),
    ecbUrl: z.string().url().optional(),
  })
  .strict();

export const demoConfig = z
  .object({
    ...sourceBase,
    seed: z.number().int().default(42),
    // Two years: long enough for churn (180 days), cohorts, year-over-year comparisons and predicted CLV.
    days: z.number().int().min(1).max(3650).default(730),
    ordersPerDay: z.number().positive().default(12),
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

/**
 * An alert rule: a `metrics.kpi_daily` metric over the last `windowDays` complete days, or the
 * built-in `stream_freshness_hours` (the oldest stream's age), `run_failed` (1 when the run
 * failed) or `records_set_aside` (records the last build set aside), compared with `threshold`.
 * `run_failed` and `records_set_aside` need no `op` or `threshold` (≥ 1, > 0).
 */
export const alertRule = z
  .object({
    name: z.string().min(1).optional(),
    metric: z.string().min(1),
    op: z.enum(['>', '>=', '<', '<=', '=', '!=']).optional(),
    threshold: z.number().optional(),
    windowDays: z.number().int().positive().max(366).default(7),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.metric === 'run_failed' || rule.metric === 'records_set_aside') return;
    if (rule.op === undefined) ctx.addIssue({ code: 'custom', path: ['op'], message: `${rule.metric}: expected a comparison (>, >=, <, <=, =, !=)` });
    if (rule.threshold === undefined) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `${rule.metric}: expected a number to compare with` });
  });

/** A cron expression (5 fields, or 6 with seconds first) in `reportingTimezone`, and the sources it runs (default all). */
export const scheduleEntry = z
  .object({
    cron: z.string().refine((expr) => validateCron(expr), { message: 'not a cron expression (e.g. "0 3 * * *", or "*/30 * * * * *" with seconds)' }),
    sources: z.array(z.string()).min(1).optional(),
  })
  .strict();

/**
 * What a chat webhook is sent as: `auto` tells it from the URL's host (Teams Workflows, Discord,
 * else Slack-compatible); the others name it (lib/webhook-flavour.ts).
 */
const webhookFormat = z.enum(WEBHOOK_FORMATS);

/** A report delivered on a schedule (docs/reports.md): written into `reportsDir`, then sent. */
export const reportEntry = z
  .object({
    cron: z.string().refine((expr) => validateCron(expr), { message: 'not a cron expression (e.g. "0 7 * * 1")' }),
    kind: z.enum(['weekly', 'monthly', 'quarterly']),
    to: z
      .object({
        /**
         * A chat webhook, or the env var holding it: Slack-compatible (`{"text": …}`), a Teams
         * Workflows webhook (an Adaptive Card) or Discord's (`{"content": …}`), told from its host.
         */
        webhook: z.string().url().optional(),
        webhookEnv: envName.optional(),
        /** The webhook's format when its host does not tell it (a proxy, a domain of the shop's own); default `auto`. */
        webhookFormat: webhookFormat.optional(),
        email: z
          .object({
            /** The env var holding the SMTP URL (smtp://user:password@host:587), a secret. */
            smtpUrlEnv: envName,
            from: z.string().min(3),
            to: z.array(z.string().min(3)).min(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

/**
 * The config entry of each source of the stream catalogue (catalog/catalog.ts), by the source's
 * name: the config's source keys. The compiler refuses a catalogue source without its entry
 * here, and an entry here for a source the catalogue does not have.
 */
export const sourceConfigSchemas = {
  shopify: shopifyConfig,
  stripe: stripeConfig,
  ga4: ga4Config,
  google_ads: googleAdsConfig,
  meta_ads: metaAdsConfig,
  shipments: shipmentsConfig,
  // In the catalogue's order (costs before fx).
  costs: costsConfig,
  fx: fxConfig,
} satisfies { [K in CatalogSource]: z.ZodType };

export const configSchema = z
  .object({
    reportingTimezone: timeZone.default('UTC'),
    reportingCurrency: currencyCode.default('USD'),
    churnAfterDays: z.number().int().positive().default(180),
    channels: z.array(channelRule).optional(),
    sources: z
      .object(sourceConfigSchemas)
      .partial()
      .extend({ demo: demoConfig.optional() })
      .strict()
      .default({}),
    schedules: z.array(scheduleEntry).default([{ cron: '0 3 * * *' }]),
    scheduleOverlap: z.enum(['wait', 'skip']).default('skip'),
    /**
     * When `verite schedule` starts, a run or a report whose last firing time passed while no
     * scheduler was running (a reboot at 02:55, a deploy) is fired once at once (docs/operations.md).
     */
    scheduleCatchUp: z.boolean().default(true),
    freshnessHours: z.number().positive().default(36),
    /**
     * Warnings not to record with each run, by their code (lib/warning-codes.ts): a standing
     * condition the shop knows of, such as a thresholded GA4 property. They are still logged.
     */
    silenceWarnings: z
      .array(z.string())
      .superRefine((codes, ctx) => {
        const known = Object.keys(WARNING_CODES);
        codes.forEach((code, i) => {
          if (!known.includes(code)) ctx.addIssue({ code: 'custom', path: [i], message: `no warning ${JSON.stringify(code)}${didYouMean(code, known)} (the codes: ${known.join(', ')})` });
        });
      })
      .default([]),
    /**
     * Per-stream freshness limits in hours, by `source.stream`, over `freshnessHours` (and over
     * the built-in `fx.rates` limit of at least 96 h: rates exist on business days only).
     */
    streamFreshnessHours: z
      .record(z.string(), z.number().positive())
      .superRefine((limits, ctx) => {
        const known = catalogStreams().filter((s) => s.identity.datesData !== false).map((s) => s.name);
        for (const key of Object.keys(limits)) {
          if (!known.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: `no stream ${key} (expected source.stream: ${known.join(', ')})` });
        }
      })
      .default({}),
    alerts: z
      .object({
        webhookUrl: z.string().url().optional(),
        webhookUrlEnv: envName.optional(),
        /** The alert webhook's format when its host does not tell it; default `auto` (lib/webhook-flavour.ts). */
        webhookFormat: webhookFormat.optional(),
        /**
         * A monitor's ping URL (healthchecks.io, Cronitor, …), fetched after each run of every
         * source that succeeded, or the env var holding it (scheduler/heartbeat.ts).
         */
        heartbeatUrl: z.string().url().optional(),
        heartbeatUrlEnv: envName.optional(),
        rules: z.array(alertRule).default([]),
      })
      .strict()
      .default({ rules: [] }),
    retries: z
      .object({
        streamAttempts: z.number().int().min(1).max(10).default(2),
        backoffSeconds: z.number().min(0).default(5),
        /** The longest wait a provider may ask for (Retry-After, a quota's delay) before the stream gives up instead. */
        maxRetryAfterMinutes: z.number().positive().default(15),
        /**
         * `verite schedule`: a scheduled run that failed is fired again this many times, for the
         * sources that failed, `runRetryMinutes` apart, unless the schedule fires first.
         */
        runRetries: z.number().int().min(0).max(5).default(2),
        runRetryMinutes: z.number().positive().max(24 * 60).default(30),
        /**
         * `verite schedule`: a scheduled report whose send failed is fired again this many times,
         * for the same period and the places not reached, `reportRetryMinutes` apart, unless the
         * report fires on its own cron first (or while the failed firing was under way). At most 2: a period is fired at most 3 times for a
         * place (MAKE_UP_FIRINGS in scheduler/scheduler.ts), its retries and the next start's
         * made-up firing together.
         */
        reportRetries: z
          .number()
          .int()
          .min(0)
          .max(2, 'at most 2: a report period is fired at most 3 times for a place (the firing and two more, retries and the made-up firing at start together)')
          .default(2),
        reportRetryMinutes: z.number().positive().max(24 * 60).default(30),
      })
      .strict()
      .default({ streamAttempts: 2, backoffSeconds: 5, maxRetryAfterMinutes: 15, runRetries: 2, runRetryMinutes: 30, reportRetries: 2, reportRetryMinutes: 30 }),
    /** Reports delivered on a schedule by `verite schedule`, and where reports are written (docs/reports.md). */
    reports: z.array(reportEntry).default([]),
    reportsDir: z.string().min(1).default('.verite/reports'),
    /**
     * Where `reportsDir` can be read from a browser (`verite serve`'s `/reports/` behind the shop's
     * proxy, or a static host serving the folder): the webhook's message and the e-mail link the
     * report there, where a file's path on the server meant nothing on a phone.
     */
    reportsUrl: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//i.test(u), { message: 'expected an http(s) URL, e.g. https://reports.shop.example/reports/' })
      .optional(),
    /**
     * Font files (TrueType, OpenType, a collection, WOFF2) for the e-mailed charts' characters
     * DejaVu Sans has no glyph of (Chinese, Japanese, Korean, Thai, Devanagari, …); for what
     * they lack, fonts are looked for in the system's font folders (docs/reports.md, "Charts").
     */
    reportFonts: z.array(z.string().min(1)).default([]),
    /** How the transform brings its tables up to date (docs/scale.md, "Incremental build"). */
    transform: z
      .object({
        /**
         * Each model is rebuilt in full when its last full build is this many days old (the
         * other runs replace only what changed); 0 rebuilds in full every run.
         */
        fullRebuildEveryDays: z.number().int().min(0).default(7),
        /**
         * The memory each sort or hash of the transform may take before spilling to disk
         * (PostgreSQL's `work_mem`, and `maintenance_work_mem` for its indexes), set for the
         * transform's transaction only.
         */
        workMem: z
          .string()
          .regex(/^\d+\s*(kB|MB|GB)$/, 'a PostgreSQL memory size such as 256MB')
          .default('256MB'),
      })
      .strict()
      .default({ fullRebuildEveryDays: 7, workMem: '256MB' }),
    /** The predicted-CLV models (docs/metrics.md, "Predicted customer value"; docs/clv.md). */
    clv: z
      .object({
        /** Fit after the metrics refresh of a run whose orders changed; `verite clv fit` works either way. */
        enabled: z.boolean().default(true),
        /** Each month k of the 12-month predicted value is discounted by (1 + rate)^k. */
        monthlyDiscountRate: z.number().min(0).max(1).default(0.01),
        /** Fewer customers with a repeat purchase than this: no fit, and a note saying so. */
        minRepeatCustomers: z.number().int().min(1).default(100),
      })
      .strict()
      .default({ enabled: true, monthlyDiscountRate: 0.01, minRepeatCustomers: 100 }),
  })
  .strict();

export type VeriteConfig = z.output<typeof configSchema>;
export type SourcesConfig = VeriteConfig['sources'];
export type ReportEntry = z.output<typeof reportEntry>;
export type ScheduleEntry = z.output<typeof scheduleEntry>;
export type SourceName = keyof SourcesConfig;
/** The parsed config entry of a source of the catalogue. */
export type ConfigOf<K extends CatalogSource> = z.output<(typeof sourceConfigSchemas)[K]>;
export type ShopifyConfig = z.output<typeof shopifyConfig>;
export type StripeConfig = z.output<typeof stripeConfig>;
export type Ga4Config = z.output<typeof ga4Config>;
export type GoogleAdsConfig = z.output<typeof googleAdsConfig>;
export type MetaAdsConfig = z.output<typeof metaAdsConfig>;
export type ShipmentsConfig = z.output<typeof shipmentsConfig>;
export type FxConfig = z.output<typeof fxConfig>;
export type CostsConfig = z.output<typeof costsConfig>;
export type DemoConfig = z.output<typeof demoConfig>;
export type ChannelRule = z.output<typeof channelRule>;
export type AlertRule = z.output<typeof alertRule>;
