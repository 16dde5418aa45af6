/**
 * Operations: the cron scheduler, one locked run with its alert check, and the alert rules.
 * The backfill runner and the run lock live in `pipeline/` next to the run they drive.
 */
export { startScheduler, type Scheduler, type SchedulerOptions, type ScheduleEntryStatus } from './scheduler.ts';
export { runJob, recordSkippedRun, describeHolder, type RunJobOptions, type RunJobResult } from './run-job.ts';
export { checkAlerts, alertRuleProblems, ruleKey, type AlertOutcome, type AlertCheckOptions, type FinishedRun, type WebhookPayload } from './alerts.ts';
export { metricParts, BUILT_IN_ALERT_METRICS, type MetricParts } from './alert-metrics.ts';
