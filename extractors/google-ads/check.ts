import type { GoogleAdsConfig } from '../../config/schema.ts';
import { accountFindings, callProblem, describeAccount, missingSecrets, ok, problem, type CheckContext, type CheckFinding } from '../check.ts';
import { readSecrets, secretsProblem, type GoogleAdsClientFactory } from './client.ts';
import { sdkFactory } from './index.ts';
import { ACCOUNT_QUERY, queryAll } from './read.ts';

/**
 * Checks the `google_ads` entry: the four secrets' variables are set; the OAuth credential and
 * developer token are accepted and reach each customer, with the query the stream itself starts
 * with (`customer.time_zone`, `customer.currency_code`, `customer.manager`, through the
 * client-shaped seam and the stream's retry policy and error translation); no customer is a
 * manager account; each customer's zone and currency against the reporting ones.
 */
export async function checkGoogleAds(ctx: CheckContext<GoogleAdsConfig>, createClient: GoogleAdsClientFactory = sdkFactory): Promise<CheckFinding[]> {
  const config = ctx.config;
  const missing = missingSecrets(ctx, [
    { env: config.developerTokenEnv, key: 'developerTokenEnv', holds: 'the developer token of the manager account (API Center)' },
    { env: config.clientIdEnv, key: 'clientIdEnv', holds: 'the OAuth client ID' },
    { env: config.clientSecretEnv, key: 'clientSecretEnv', holds: 'the OAuth client secret' },
    { env: config.refreshTokenEnv, key: 'refreshTokenEnv', holds: 'a refresh token with the adwords scope' },
  ]);
  if (missing.length) return missing;
  const secrets = readSecrets(ctx.secret, config);
  const wrong = secretsProblem(secrets, config);
  if (wrong) return [problem(wrong)];
  let client;
  try {
    client = await createClient(config, secrets);
  } catch (error) {
    return [callProblem('the Google Ads client', error)];
  }
  const findings: CheckFinding[] = [];
  const seen: string[] = [];
  for (const id of config.customerIds) {
    const label = `customer ${id}`;
    try {
      const customer = (await queryAll(client, id, ACCOUNT_QUERY, { ctx, describe: `${label} (check)`, attempts: config.maxAttempts }))[0]?.customer;
      if (!customer) {
        findings.push(problem(`${label} answered no customer row: check customerIds`));
        continue;
      }
      if (customer.manager === true) {
        findings.push(problem(`${label} is a manager account, which has no campaigns of its own: list its client accounts in customerIds and put ${id} in loginCustomerId`));
        continue;
      }
      const account = { label, timeZone: customer.time_zone ?? null, currency: customer.currency_code ?? null };
      findings.push(...accountFindings(ctx, account, 'problem'));
      seen.push(`${label} ${describeAccount(account)}`);
    } catch (error) {
      findings.push(callProblem(label, error));
    }
  }
  if (seen.length) findings.push(ok(seen.join('; ')));
  return findings;
}
