import { AdAccount } from 'facebook-nodejs-business-sdk';
import type { MetaAdsConfig } from '../../config/schema.ts';
import { apiVersionVerdict, META_DEFAULT_API_VERSION } from '../api-versions.ts';
import { accountFindings, callProblem, describeAccount, missingSecrets, ok, problem, warning, type CheckContext, type CheckFinding } from '../check.ts';
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
  const findings: CheckFinding[] = await tokenFindings(api, ctx.secret(config.accessTokenEnv), config.accessTokenEnv, ctx.now);
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

/** How long before a token's or its data access's end `verite check` warns. */
export const TOKEN_EXPIRY_WARNING_DAYS = 14;

/** What `debug_token` says of a token (Graph API reference, "Debug Token"; 0 for a time that never comes). */
interface TokenInfo {
  is_valid?: boolean;
  expires_at?: number;
  data_access_expires_at?: number;
  scopes?: string[];
}

/**
 * The token's life and permissions, from `GET debug_token?input_token=` asked with the token
 * itself (a token may inspect one of its own app): a token that expires, or whose data access
 * expires (a user's token, 90 days after the user last used the app), within
 * {@link TOKEN_EXPIRY_WARNING_DAYS} days is a warning, past it a problem; a token without
 * `ads_read` (or `ads_management`, which includes it) is a problem. Nothing when Meta will not
 * say: the account reads below still prove the token.
 */
async function tokenFindings(api: GraphApi, token: string, envVar: string, now: Date): Promise<CheckFinding[]> {
  let info: TokenInfo;
  try {
    const answer = (await api.call('GET', ['debug_token'], { input_token: token })) as { data?: TokenInfo } | undefined;
    if (!answer?.data) return [];
    info = answer.data;
  } catch {
    return [];
  }
  const findings: CheckFinding[] = [];
  // debug_token's `type` tells an app's token from a user's, not a system user's from a person's: one advice for both.
  const renew = "make a token that does not expire: a system user's (Business settings, System users, Generate token, expiry Never); a person's token lasts 60 days";
  const day = (seconds: number) => new Date(seconds * 1000).toISOString().slice(0, 10);
  const daysLeft = (seconds: number) => Math.floor((seconds * 1000 - now.getTime()) / 86_400_000);
  if (info.is_valid === false) {
    findings.push(problem(`Meta says the token in ${envVar} is no longer valid${info.expires_at ? ` (it expired on ${day(info.expires_at)})` : ''}: ${renew}, and put it in ${envVar}`));
  } else if (info.expires_at) {
    const left = daysLeft(info.expires_at);
    if (left < 0) findings.push(problem(`the token in ${envVar} expired on ${day(info.expires_at)}: ${renew}`));
    else if (left <= TOKEN_EXPIRY_WARNING_DAYS) findings.push(warning(`the token in ${envVar} expires on ${day(info.expires_at)}, in ${left} day${left === 1 ? '' : 's'}: the runs fail from then; ${renew}`));
    else findings.push(ok(`the token expires on ${day(info.expires_at)}`));
  }
  if (info.is_valid !== false && info.data_access_expires_at) {
    const left = daysLeft(info.data_access_expires_at);
    const what = `the token's access to data ends on ${day(info.data_access_expires_at)}`;
    if (left < 0) findings.push(problem(`${what.replace('ends', 'ended')}: the person must use the app again to renew it, or ${renew}`));
    else if (left <= TOKEN_EXPIRY_WARNING_DAYS) findings.push(warning(`${what}, in ${left} day${left === 1 ? '' : 's'}: the person must use the app again before then, or ${renew}`));
  }
  if (info.is_valid !== false && Array.isArray(info.scopes) && !info.scopes.includes('ads_read') && !info.scopes.includes('ads_management')) {
    findings.push(problem(`the token in ${envVar} lacks the permission ads_read (it has ${info.scopes.length ? info.scopes.join(', ') : 'none'}): give the system user ads_read on the ad accounts and generate the token again with it`));
  }
  return findings;
}
