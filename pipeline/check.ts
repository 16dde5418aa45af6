import type { VeriteConfig } from '../config/schema.ts';
import { readSecret } from '../config/load.ts';
import { sourceSettings } from '../config/source-settings.ts';
// Every extractor registers its source: a check covers all the config names.
import { apiVersionVerdict, configuredApiVersion, isVersionedSource } from '../extractors/api-versions.ts';
import { ok, problem, warning, worstLevel, type CheckContext, type CheckFinding, type CheckLevel, type SourceCheck } from '../extractors/check.ts';
import { sourceCheck } from '../extractors/source-checks.ts';
import type { KnownSources } from '../extractors/types.ts';
import { errorMessage, UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { defaultStartDate } from './extract.ts';
import { resolveSources } from './run.ts';
import { codedWarning } from '../lib/warning-codes.ts';
import { alertRuleProblems } from '../metrics/alert-rules.ts';

export interface CheckOptions {
  config: VeriteConfig;
  log: Logger;
  /** Only these sources (`--sources a,b`); an unknown or disabled one is a usage error. */
  only?: string[];
  /** The clock calls are made on; default now. */
  now?: Date;
  /** The date API versions' end of life is judged on (`--as-of`); default `now`. */
  asOf?: Date;
  signal?: AbortSignal;
  /** The extractors the config's sources are resolved to (default: extractors/sources.ts). */
  known?: KnownSources;
  /** Checks to use instead of the registered ones, by source (tests fill the Google Ads seam here). */
  checks?: Readonly<Record<string, SourceCheck>>;
}

/** What `verite check` found for one source: its verdict (the worst finding) and every finding, problems first. */
export interface SourceCheckResult {
  source: string;
  level: CheckLevel;
  findings: CheckFinding[];
}

const ORDER: Record<CheckLevel, number> = { problem: 0, warning: 1, ok: 2 };

/** Sorts findings problems first, then warnings, then what is fine. */
export const problemsFirst = (a: CheckFinding, b: CheckFinding): number => ORDER[a.level] - ORDER[b.level];

/**
 * Checks every enabled source of the config (or those of `only`), landing nothing: each
 * source's own check (configuration, secrets, one cheap call with its extractor's client,
 * account zone and currency), the warnings its client raised on the way, and its API version's
 * end of life on `asOf`. Sources are checked side by side; results come in the order of `sources`.
 */
export async function checkSources(options: CheckOptions): Promise<SourceCheckResult[]> {
  const { config } = options;
  const now = options.now ?? new Date();
  const asOf = options.asOf ?? now;
  const signal = options.signal ?? new AbortController().signal;
  const selected = resolveSources(config, options.only, options.known);
  return Promise.all(
    selected.map(async ({ source, config: entry }): Promise<SourceCheckResult> => {
      const name = source.name;
      const warned: string[] = [];
      const ctx: CheckContext<unknown> = {
        config: entry,
        global: config,
        state: null,
        window: null,
        startDate: defaultStartDate(entry, now),
        lookbackDays: sourceSettings(entry).lookbackDays ?? 0,
        now,
        asOf,
        log: options.log.child({ source: name, check: true }),
        signal,
        secret: (envVar) => readSecret(envVar, `${name}: ${envVar}`),
        warnOnce: (message, code) => {
          const text = codedWarning(message, code);
          if (!warned.includes(text)) warned.push(text);
        },
      };
      const findings: CheckFinding[] = [];
      const check = options.checks?.[name] ?? (await sourceCheck(name));
      if (check) {
        try {
          findings.push(...(await check(ctx)));
        } catch (error) {
          findings.push(problem(`the check itself failed: ${errorMessage(error)}`));
        }
      }
      findings.push(...warned.map(warning));
      if (isVersionedSource(name)) {
        const verdict = apiVersionVerdict(name, configuredApiVersion(name, entry), asOf);
        findings.push({ level: verdict.level, message: verdict.message });
      }
      findings.sort(problemsFirst);
      return { source: name, level: worstLevel(findings), findings };
    }),
  );
}

/** What `verite check` found in the config as a whole (its `config` line). */
export interface ConfigCheckResult {
  level: CheckLevel;
  findings: CheckFinding[];
}

/**
 * What `verite run` or `verite schedule` would refuse at start in a config its schema took: an
 * alert rule on a metric an alert cannot watch (unknown, or a distinct count over a window) or
 * two rules with one key (`alertRuleProblems`, as `verite run` and `verite schedule` judge
 * them), and a schedule naming a source that is not configured or is disabled (`resolveSources`,
 * as `verite schedule` resolves each schedule at start). Each is a problem; none, one `ok`.
 */
export function checkConfig(config: VeriteConfig, known?: KnownSources): ConfigCheckResult {
  const findings: CheckFinding[] = alertRuleProblems(config.alerts.rules).map((p) => problem(`verite run and verite schedule refuse ${p}`));
  config.schedules.forEach((entry, i) => {
    try {
      resolveSources(config, entry.sources, known);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      findings.push(problem(`verite schedule refuses schedules.${i}.sources (${entry.cron}): ${error.message}`));
    }
  });
  if (!findings.length) {
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    findings.push(ok(`${count(config.alerts.rules.length, 'alert rule')} and ${count(config.schedules.length, 'schedule')}, as verite run and verite schedule take them`));
  }
  return { level: worstLevel(findings), findings };
}
