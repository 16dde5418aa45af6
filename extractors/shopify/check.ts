import type { ShopifyConfig } from '../../config/schema.ts';
import { addDays } from '../../lib/dates.ts';
import { apiVersionVerdict } from '../api-versions.ts';
import { accountFindings, callProblem, describeAccount, missingSecrets, ok, problem, type CheckContext, type CheckFinding } from '../check.ts';
import { maxRetryAfterMs } from '../../lib/http.ts';
import { latestVersionAt } from './api-version.ts';
import { shopifyClient } from './graphql-client.ts';

/**
 * One query for the check: the shop's name, currency and zone (any app may read `shop`) and the
 * scopes the merchant granted the app (`currentAppInstallation`, the app's own installation).
 * Fields as the GraphQL Admin API 2026-10 reference defines them: `Shop.name: String!`,
 * `Shop.currencyCode: CurrencyCode!`, `Shop.ianaTimezone: String!`,
 * `QueryRoot.currentAppInstallation: AppInstallation!`, `AppInstallation.accessScopes:
 * [AccessScope!]!`, `AccessScope.handle: String!`.
 */
export const CHECK_QUERY = `query VeriteCheck {
  shop { name currencyCode ianaTimezone }
  currentAppInstallation { accessScopes { handle } }
}`;

interface CheckAnswer {
  shop: { name: string; currencyCode: string; ianaTimezone: string };
  currentAppInstallation: { accessScopes: { handle: string }[] };
}

/** Orders older than this are hidden from an app without `read_all_orders` (Shopify's Order reference). */
const RECENT_ORDER_DAYS = 60;

/**
 * The scopes the streams need, each with why: `read_orders`, `read_customers`, `read_products`
 * (an inventory item's unit cost too, since 2025-01) and `read_inventory` (a level's location
 * id too, since 2025-04: Shopify's changelog) always, and
 * `read_all_orders` when `startDate` reaches further back than the 60 days of orders Shopify
 * shows an app without it. A `write_` scope grants its `read_` scope.
 */
export function requiredScopes(startDate: string, now: Date): { scope: string; why: string }[] {
  const scopes = [
    { scope: 'read_orders', why: 'the orders stream reads orders, their line items, refunds and transactions' },
    { scope: 'read_customers', why: 'the customers stream reads customers' },
    { scope: 'read_products', why: "the products stream reads products, their variants and each variant's unit cost" },
    { scope: 'read_inventory', why: "the inventory_levels stream reads each inventory item's stock at each location" },
  ];
  const oldestVisible = addDays(now.toISOString().slice(0, 10), -RECENT_ORDER_DAYS);
  if (startDate < oldestVisible) {
    scopes.push({
      scope: 'read_all_orders',
      why: `startDate ${startDate} is more than ${RECENT_ORDER_DAYS} days back, and without it Shopify shows only the last ${RECENT_ORDER_DAYS} days of orders (or set startDate on or after ${oldestVisible})`,
    });
  }
  return scopes;
}

/**
 * Checks the `shopify` entry: the secrets it names are set; the token (or the client
 * credentials) is accepted by the shop's Admin API; the app has the scopes the streams need;
 * the shop's zone and currency against the reporting ones. One GraphQL query, through the
 * extractor's own client (retries, cost throttle, version checks, redaction).
 */
export async function checkShopify(ctx: CheckContext<ShopifyConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const secrets = config.clientIdEnv && config.clientSecretEnv
    ? [
        { env: config.clientIdEnv, key: 'clientIdEnv', holds: "the client ID of the app's Dev Dashboard credentials" },
        { env: config.clientSecretEnv, key: 'clientSecretEnv', holds: "the client secret of the app's Dev Dashboard credentials" },
      ]
    : [{ env: config.accessTokenEnv, key: 'accessTokenEnv', holds: `the Admin API access token (shpat_…) of an app installed on ${config.shop}` }];
  const missing = missingSecrets(ctx, secrets);
  if (missing.length) return missing;

  // A version Shopify no longer serves is reported by its own finding; the credentials are
  // still checked, with the current version.
  const usable = apiVersionVerdict('shopify', config.apiVersion, ctx.now).level === 'problem' ? latestVersionAt(ctx.now) : config.apiVersion;
  let answer: CheckAnswer;
  try {
    const client = shopifyClient({
      config: { ...config, apiVersion: usable },
      stream: 'check',
      now: ctx.now,
      log: ctx.log,
      signal: ctx.signal,
      secret: ctx.secret,
      // The version's end of life is the check's own finding, judged on --as-of.
      warnOnce: () => undefined,
      maxRetryAfterMs: maxRetryAfterMs(ctx.global),
    });
    answer = await client.query<CheckAnswer>('shop and access scopes', CHECK_QUERY);
  } catch (error) {
    return [callProblem(`the Admin API of ${config.shop}`, error)];
  }

  const findings: CheckFinding[] = [];
  const granted = new Set(answer.currentAppInstallation.accessScopes.map((s) => s.handle));
  const has = (scope: string) => granted.has(scope) || granted.has(scope.replace(/^read_/, 'write_'));
  const needed = requiredScopes(ctx.startDate, ctx.now);
  for (const { scope, why } of needed) {
    if (!has(scope)) findings.push(problem(`the app lacks the access scope ${scope} (${why}): grant it in the app's Admin API access scopes, then use the token issued after the change`));
  }
  const shop = { label: `shop ${config.shop}`, timeZone: answer.shop.ianaTimezone, currency: answer.shop.currencyCode };
  findings.push(...accountFindings(ctx, shop, 'warning'));
  findings.push(ok(`shop "${answer.shop.name}" ${describeAccount(shop)}; access scopes ${needed.map((n) => n.scope).filter(has).join(', ') || 'none'}`));
  return findings;
}
