import type { AlertRule } from '../config/schema.ts';
import { BUILT_IN_ALERT_METRICS, metricParts } from './alert-metrics.ts';

/** The key of a rule in `ops.alert_state`: its name, else its condition. */
export function ruleKey(rule: AlertRule): string {
  if (rule.name) return rule.name;
  if (rule.metric === 'run_failed') return 'run_failed';
  if (rule.metric === 'records_set_aside' && rule.op === undefined && rule.threshold === undefined) return 'records_set_aside';
  const condition = `${rule.metric} ${rule.op} ${rule.threshold}`;
  return rule.metric === 'stream_freshness_hours' ? condition : `${condition} over ${rule.windowDays}d`;
}

/**
 * Every problem of the alert rules (unknown metrics, metrics that cannot be summed over a
 * window, rules sharing a key), for one error: `verite run` and `verite schedule` refuse a config
 * with any at start, and `verite check` reports them, from this one function.
 */
export function alertRuleProblems(rules: readonly AlertRule[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    if (!(BUILT_IN_ALERT_METRICS as readonly string[]).includes(rule.metric)) {
      const parts = metricParts(rule.metric);
      if ('error' in parts) problems.push(`alerts.rules.${i}.metric: ${parts.error}`);
    }
    const key = ruleKey(rule);
    const first = seen.get(key);
    if (first !== undefined) problems.push(`alerts.rules.${i}: same rule as alerts.rules.${first} ("${key}"); give one a name`);
    else seen.set(key, i);
  });
  return problems;
}
