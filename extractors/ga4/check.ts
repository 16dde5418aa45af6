import type { Ga4Config } from '../../config/schema.ts';
import { accountFindings, callProblem, describeAccount, ok, type CheckContext, type CheckFinding } from '../check.ts';
import { maxRetryAfterMs, withRetry } from '../../lib/http.ts';
import { createGa4Client, type Ga4ReportClient } from './client.ts';
import { translateFailure } from './failure.ts';
import { SOURCE, zoneProbe, type Ga4ClientFactory } from './read.ts';

/**
 * Checks the `ga4` entry: the credential (the service-account key of `credentialsFile`, else
 * application default credentials) is accepted and may read each property, with the probe the
 * stream itself starts with (a one-row runReport, through the extractor's client and retry
 * policy); each property's zone and currency (the answer's metadata) against the reporting ones.
 */
export async function checkGa4(ctx: CheckContext<Ga4Config>, createClient: Ga4ClientFactory = createGa4Client): Promise<CheckFinding[]> {
  const config = ctx.config;
  let client: Ga4ReportClient;
  try {
    client = createClient(config);
  } catch (error) {
    return [callProblem('the Data API client', error)];
  }
  const findings: CheckFinding[] = [];
  const seen: string[] = [];
  try {
    for (const id of config.propertyIds) {
      const request = `runReport properties/${id} (check)`;
      const where = { source: SOURCE, stream: 'check', request };
      try {
        const answer = await withRetry(
          { ...where, log: ctx.log, signal: ctx.signal, retry: { attempts: config.maxAttempts, maxRetryAfterMs: maxRetryAfterMs(ctx.global) } },
          async () => {
            try {
              return await client.runReport(zoneProbe(id));
            } catch (error) {
              throw translateFailure(error, { ...where, propertyId: id, reserve: config.quotaReserve });
            }
          },
        );
        const property = { label: `GA4 property ${id}`, timeZone: answer.metadata?.timeZone || null, currency: answer.metadata?.currencyCode || null };
        findings.push(...accountFindings(ctx, property, 'problem'));
        seen.push(`${property.label} ${describeAccount(property)}`);
      } catch (error) {
        findings.push(callProblem(`GA4 property ${id}`, error));
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  if (seen.length) findings.push(ok(seen.join('; ')));
  return findings;
}
