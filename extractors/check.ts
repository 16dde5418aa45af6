import { ConfigError, ExtractError, errorMessage, SecretNotSetError } from '../lib/errors.ts';
import type { ReadContext } from './types.ts';

/**
 * The contract of `verite check`: each source's check (`extractors/<source>/check.ts`) looks at
 * its configuration, secrets, credentials and account without landing anything, and says what
 * it found, each finding `ok`, `warning` or `problem`, a warning or a problem with what to do.
 */

export type CheckLevel = 'ok' | 'warning' | 'problem';

export interface CheckFinding {
  level: CheckLevel;
  message: string;
}

/**
 * What a check is given: a stream's read context (so it builds the extractor's own client, with
 * its retries and redaction), no cursor and no window, plus the date API versions are judged on.
 */
export interface CheckContext<C> extends ReadContext<C> {
  /** The date an API version's end of life is judged on (`--as-of`; default today). */
  asOf: Date;
}

/** One source's check. */
export type SourceCheck<C = any> = (ctx: CheckContext<C>) => Promise<CheckFinding[]>;

export const ok = (message: string): CheckFinding => ({ level: 'ok', message });
export const warning = (message: string): CheckFinding => ({ level: 'warning', message });
export const problem = (message: string): CheckFinding => ({ level: 'problem', message });

const RANK: Record<CheckLevel, number> = { ok: 0, warning: 1, problem: 2 };

/** The worst level of some findings (`ok` for none). */
export function worstLevel(findings: readonly CheckFinding[]): CheckLevel {
  return findings.reduce<CheckLevel>((worst, f) => (RANK[f.level] > RANK[worst] ? f.level : worst), 'ok');
}

/**
 * A problem for every secret whose environment variable is not set, all at once (reading the
 * ones that are set registers them for redaction).
 */
export function missingSecrets(ctx: Pick<ReadContext<unknown>, 'secret'>, vars: readonly { env: string; key: string; holds: string }[]): CheckFinding[] {
  const out: CheckFinding[] = [];
  for (const v of vars) {
    try {
      ctx.secret(v.env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Set but unusable (empty, or its _FILE unreadable): the reason as readSecret gives it.
      out.push(problem(error instanceof SecretNotSetError ? `the environment variable ${v.env} (${v.key}) is not set: export it with ${v.holds}` : error.problems.join('; ')));
    }
  }
  return out;
}

/** A call that failed, as a problem: the error's own message (which says what to do), without its causes' bodies. */
export function callProblem(what: string, error: unknown): CheckFinding {
  return problem(`${what} failed: ${error instanceof ExtractError ? error.message : errorMessage(error)}`);
}

/** The HTTP status an extractor's error carries, if any. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ExtractError ? error.context.status : undefined;
}

export interface Account {
  /** Names the account in messages, e.g. `ad account act_123` or `shop my-shop.myshopify.com`. */
  label: string;
  timeZone?: string | null;
  currency?: string | null;
}

/**
 * The account's zone and currency against the reporting ones.
 *
 * A zone whose clock differs from `reportingTimezone` is `zoneMismatch`: a problem for the
 * report sources (GA4, Google Ads, Meta), whose rows are whole days of the account's zone and
 * cannot be moved into another zone's days, so every per-day ratio against orders would mix two
 * different 24 hours; a warning for Shopify, whose timestamps verite dates itself (only the
 * shop admin's own reports, dated in the shop's zone, then differ from verite's days). Two zone
 * names with the same clock (`Europe/Berlin` and `Europe/Paris`) are no mismatch.
 *
 * A currency other than `reportingCurrency` needs rates: fine with the `fx` source configured,
 * a problem without it (the run would fail for want of a rate).
 */
export function accountFindings(ctx: Pick<ReadContext<unknown>, 'global' | 'now'>, account: Account, zoneMismatch: 'warning' | 'problem'): CheckFinding[] {
  const out: CheckFinding[] = [];
  const reporting = ctx.global.reportingTimezone;
  if (!account.timeZone) {
    out.push(warning(`${account.label} reports no time zone: its days are taken as UTC days`));
  } else if (!sameClock(account.timeZone, reporting, ctx.now)) {
    const why =
      zoneMismatch === 'problem'
        ? `its daily rows cover ${account.timeZone} days, which verite cannot move into ${reporting} days`
        : `verite dates its orders in ${reporting}, so its days differ from the shop admin's reports`;
    out.push({
      level: zoneMismatch,
      message: `${account.label} is in ${account.timeZone}, not in reportingTimezone ${reporting}: ${why}; set reportingTimezone to ${account.timeZone} (or the account's zone to ${reporting})`,
    });
  }
  const currency = account.currency?.toUpperCase();
  if (currency && currency !== ctx.global.reportingCurrency) {
    const fx = ctx.global.sources.fx;
    if (!fx || fx.enabled === false || (!fx.ecb && !fx.path)) {
      out.push(problem(`${account.label} is in ${currency}, not in reportingCurrency ${ctx.global.reportingCurrency}, and no fx source is configured: add "fx": { "ecb": true } (or a rates file) so its amounts can be converted`));
    }
  }
  return out;
}

/** The account's zone and currency, for an ok line: `in EUR, Europe/Paris`. */
export function describeAccount(account: Account): string {
  return `in ${account.currency ?? 'an unnamed currency'}, ${account.timeZone ?? 'no time zone'}`;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset of `zone` at `at`, as `GMT+01:00`. */
function offsetAt(zone: string, at: Date): string {
  let format = offsetFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, format);
  }
  return format.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

const HOUR_MS = 3_600_000;

/**
 * Whether two zones keep the same clock over the year from `from`: the same name (aliases
 * resolved), or the same UTC offset at every hour. An unknown zone is never the same.
 */
function sameClock(a: string, b: string, from: Date): boolean {
  let canonicalA: string;
  let canonicalB: string;
  try {
    canonicalA = new Intl.DateTimeFormat('en-US', { timeZone: a }).resolvedOptions().timeZone;
    canonicalB = new Intl.DateTimeFormat('en-US', { timeZone: b }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  if (canonicalA === canonicalB) return true;
  // Offsets change on the hour (or half hour): one sample in the middle of every hour sees each change.
  const start = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS / 2;
  for (let t = start; t < start + 366 * 24 * HOUR_MS; t += HOUR_MS) {
    const at = new Date(t);
    if (offsetAt(canonicalA, at) !== offsetAt(canonicalB, at)) return false;
  }
  return true;
}
