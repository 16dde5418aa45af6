import { AdAccount } from 'facebook-nodejs-business-sdk';
import type { MetaAdsConfig } from '../../config/schema.ts';
import { apiVersionVerdict, META_DEFAULT_API_VERSION } from '../api-versions.ts';
import { accountFindings, callProblem, describeAccount, missingSecrets, ok, problem, type CheckContext, type CheckFinding } from '../check.ts';
import { maxRetryAfterMs } from '../../lib/http.ts';
import { GraphApi, metaTokenProblem } from './graph-api.ts';

/** The AdAccount fields read (Marketing API AdAccount reference): `currency` (ISO 4217) and `timezone_name` (IANA). */
const ACCOUNT_FIELDS = ['account_id', 'name', 'currency', 'timezone_name'];

/**
 * Checks the `meta_ads` entry: the token's variable is set; the token may read each ad account
 * (one `GET act_{id}` each, through the extractor's Graph client: retries, throttling, Meta's
 * error codes explained); each account's zone and currency against the reporting ones. A
 * version warning Meta sends back (`X-Ad-Api-Version-Warning`) comes out as a warning.
 */
export async function checkMetaAds(ctx: CheckContext<MetaAdsConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const missing = missingSecrets(ctx, [{ env: config.accessTokenEnv, key: 'accessTokenEnv', holds: 'the access token of a system user with ads_read on the ad accounts' }]);
  if (missing.length) return missing;
  const wrongToken = metaTokenProblem(ctx.secret(config.accessTokenEnv), config.accessTokenEnv);
  if (wrongToken) return [problem(wrongToken)];
  const configured = config.apiVersion ?? META_DEFAULT_API_VERSION;
  // A version Meta no longer serves is reported by its own finding; the token is still checked, with the default.
  const version = apiVersionVerdict('meta_ads', configured, ctx.now).level === 'problem' ? META_DEFAULT_API_VERSION : configured;
  const api = new GraphApi({
    accessToken: ctx.secret(config.accessTokenEnv),
    accessTokenEnv: config.accessTokenEnv,
    baseUrl: config.graphBaseUrl,
    version,
    http: { source: 'meta_ads', stream: 'check', log: ctx.log, signal: ctx.signal, retry: { maxRetryAfterMs: maxRetryAfterMs(ctx.global) } },
    warnOnce: ctx.warnOnce,
  });
  const findings: CheckFinding[] = [];
  const seen: string[] = [];
  for (const id of config.adAccountIds) {
    const label = `ad account act_${id}`;
    try {
      const data = (await new AdAccount(`act_${id}`, {}, undefined, api).read(ACCOUNT_FIELDS)).exportAllData();
      const account = { label, timeZone: typeof data.timezone_name === 'string' ? data.timezone_name : null, currency: typeof data.currency === 'string' ? data.currency : null };
      findings.push(...accountFindings(ctx, account, 'problem'));
      seen.push(`${label} ${describeAccount(account)}`);
    } catch (error) {
      findings.push(callProblem(label, error));
    }
  }
  if (seen.length) findings.push(ok(seen.join('; ')));
  return findings;
}
