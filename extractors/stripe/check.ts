import type { StripeConfig } from '../../config/schema.ts';
import { callProblem, missingSecrets, ok, problem, statusOf, warning, type CheckContext, type CheckFinding } from '../check.ts';
import { BALANCE_TRANSACTIONS, CHARGES, REFUNDS } from './object-kinds.ts';
import { createStripeApi, stripeKeyProblem } from './stripe-api.ts';

/**
 * Checks the `stripe` entry: the key's variable is set; Stripe accepts the key and lets it read
 * what the streams read (charges, refunds, events, balance transactions: one one-item list
 * each, through the extractor's Stripe client with its retries and rate bound). A refused key
 * is a 401; a restricted key without a permission a 403, whose message names the permission
 * Stripe wants (`rak_charge_read` …), which the finding repeats. Stripe accounts
 * have no reporting zone to compare (every timestamp is an instant) and charge in many
 * currencies, so neither is checked here.
 */
export async function checkStripe(ctx: CheckContext<StripeConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const missing = missingSecrets(ctx, [
    { env: config.secretKeyEnv, key: 'secretKeyEnv', holds: 'a restricted key (rk_live_…) that reads charges, refunds, events and balance transactions, or the secret key' },
  ]);
  if (missing.length) return missing;
  const key = ctx.secret(config.secretKeyEnv);
  const wrongKey = stripeKeyProblem(key, config.secretKeyEnv);
  if (wrongKey) return [problem(wrongKey)];
  const findings: CheckFinding[] = [];
  if (/^(sk|rk)_test_/.test(key)) findings.push(warning(`the key in ${config.secretKeyEnv} is a test-mode key: it sees test data only`));

  const now = Math.floor(ctx.now.getTime() / 1000);
  const charges = createStripeApi(ctx, CHARGES);
  const refunds = createStripeApi(ctx, REFUNDS);
  const balance = createStripeApi(ctx, BALANCE_TRANSACTIONS);
  const reads = [
    { what: 'charges', permission: 'Charges', call: () => charges.listCreated({ gte: 0, lte: now }, undefined, 1) },
    { what: 'refunds', permission: 'Refunds', call: () => refunds.listCreated({ gte: 0, lte: now }, undefined, 1) },
    { what: 'events', permission: 'Events', call: () => charges.listEvents({ limit: 1 }) },
    { what: 'balance transactions', permission: 'Balance', call: () => balance.listCreated({ gte: 0, lte: now }, undefined, 1) },
  ];
  const readable: string[] = [];
  for (const read of reads) {
    try {
      await read.call();
      readable.push(read.what);
    } catch (error) {
      const status = statusOf(error);
      if (status === 401) {
        // One refused key refuses every call: say it once.
        return [problem(`Stripe refused the key in ${config.secretKeyEnv} (HTTP 401): put a live secret key or a restricted key of the account there (Dashboard → Developers → API keys)`)];
      }
      if (status === 403) {
        // Stripe's message names the permission it wants ("Having the 'rak_event_read' permission would allow …").
        const named = /'(rak_[a-z_]+)'/.exec(error instanceof Error ? error.message : '')?.[1];
        findings.push(
          problem(`the key in ${config.secretKeyEnv} may not read ${read.what} (HTTP 403): give the restricted key Read access to ${read.permission}${named ? ` (Stripe asks for ${named})` : ''}`),
        );
      } else {
        findings.push(callProblem(`listing ${read.what}`, error));
      }
    }
  }
  if (readable.length) findings.push(ok(`the key reads ${readable.join(', ')}`));
  return findings;
}
