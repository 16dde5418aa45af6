import { hostname } from 'node:os';
import { sql } from 'kysely';
import type { AlertRule, VeriteConfig } from '../config/schema.ts';
import { httpRequest } from '../lib/http.ts';
import { addDays, localDate } from '../lib/dates.ts';
import { errorMessage } from '../lib/errors.ts';
import { redactString, type Logger } from '../lib/logger.ts';
import { freshnessLimit, hasOwnFreshnessLimit, streamStatus } from '../pipeline/status.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { metricParts } from '../metrics/alert-metrics.ts';
import { formatMetricValue } from '../metrics/format-value.ts';
import { ruleKey } from '../metrics/alert-rules.ts';
import { alertWebhookSetting, secretUrl } from './secret-url.ts';
import { webhookPostBody, type WebhookFormat, type WebhookMessage } from '../lib/webhook-flavour.ts';

type Op = NonNullable<AlertRule['op']>;

/** The run an alert check follows (for `run_failed`). */
export interface FinishedRun {
  runId: string;
  status: 'succeeded' | 'failed';
  error?: string;
  /** A failed run the scheduler will try again: `run_failed` gives no verdict until the retry's. */
  retrying?: boolean;
}

export interface AlertCheckOptions {
  warehouse: Pick<Warehouse, 'db'>;
  config: VeriteConfig;
  log: Logger;
  /** The check's clock (the window ends the day before its local date). */
  now?: Date;
  /** The run that just finished; without it `run_failed` has no data. */
  run?: FinishedRun;
  signal?: AbortSignal;
  /** Where `alerts.webhookUrlEnv` is read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Judge only the rules it accepts; the others keep their verdicts (default: every rule). */
  only?: (rule: AlertRule) => boolean;
}

/** What one rule did in a check. */
export interface AlertOutcome {
  rule: string;
  metric: string;
  /** Null: no data to judge (the rule keeps its previous verdict). */
  value: number | null;
  firing: boolean;
  change: 'fired' | 'cleared' | 'still firing' | 'ok' | 'no data';
  /** The webhook took a message in this check. */
  sent: boolean;
  message: string;
}

/** Slack-compatible incoming-webhook body. */
export interface WebhookPayload {
  text: string;
  blocks: Record<string, unknown>[];
}

interface Evaluation {
  value: number | null;
  /** What the value covers, for the message ("over the last 7 days (…)", "stale: …"). */
  detail: string;
  /** The verdict, when it is not `value op threshold` (streams judged against limits of their own). */
  firing?: boolean;
}

/**
 * Checks every alert rule at the end of a run. A rule whose condition starts to hold is sent to
 * the webhook (Slack-compatible JSON, or what a Teams or Discord webhook takes) and logged;
 * while it keeps holding it is not sent again; once it clears a "resolved" message is sent, and
 * it can fire again later. The verdicts live in `ops.alert_state`, so this holds across runs and
 * processes. A message the webhook refused is sent again at the next check. Never throws for a
 * rule or the webhook: those are logged.
 */
export async function checkAlerts(options: AlertCheckOptions): Promise<AlertOutcome[]> {
  const { warehouse, config, log } = options;
  const rules = config.alerts.rules;
  const now = options.now ?? new Date();
  const db = warehouse.db;
  if (rules.length === 0) return [];
  const keys = rules.map(ruleKey);
  // Rules removed from the config leave no state behind to surprise a later check.
  await db.deleteFrom('ops.alert_state').where('rule', 'not in', keys).execute();
  const states = await db.selectFrom('ops.alert_state').selectAll().where('rule', 'in', keys).execute();
  const webhook = webhookUrl(config, options.env ?? process.env, log);
  const outcomes: AlertOutcome[] = [];
  for (const [i, rule] of rules.entries()) {
    if (options.only && !options.only(rule)) continue;
    const key = keys[i]!;
    const previous = states.find((s) => s.rule === key);
    const wasFiring = previous?.firing ?? false;
    let evaluation: Evaluation;
    try {
      evaluation = await evaluate(warehouse, config, rule, now, options.run);
    } catch (error) {
      log.error({ alert: key, err: errorMessage(error) }, 'alert rule could not be evaluated');
      evaluation = { value: null, detail: `could not be evaluated: ${errorMessage(error)}` };
    }
    const { op, threshold } = condition(rule);
    const firing = evaluation.value === null ? wasFiring : (evaluation.firing ?? compare(evaluation.value, op, threshold));
    const changed = firing !== wasFiring;
    let notified = changed ? false : (previous?.notified ?? true);
    // A firing the webhook never took needs no "resolved" either.
    if (changed && !firing && previous && !previous.notified) notified = true;
    // Stored and sent to a chat channel: a run's error may quote a provider's answer.
    const message = redactString(describe(rule, key, evaluation, firing, config.reportingCurrency, options.run));
    let sent = false;
    if (!notified) {
      if (webhook) {
        try {
          await postWebhook(webhook, payload(message, firing, key, options.run), log, options.signal);
          sent = true;
          notified = true;
        } catch (error) {
          log.error({ alert: key, err: errorMessage(error) }, 'alert webhook failed; the message is sent again at the next check');
        }
      } else {
        notified = true; // nowhere to send it: the log line is the alert
      }
    }
    const change: AlertOutcome['change'] = evaluation.value === null ? 'no data' : changed ? (firing ? 'fired' : 'cleared') : firing ? 'still firing' : 'ok';
    if (change === 'fired') log.warn({ alert: key, value: evaluation.value, sent }, message);
    else if (change === 'cleared') log.info({ alert: key, value: evaluation.value, sent }, message);
    else if (change === 'still firing') log.info({ alert: key, value: evaluation.value }, `${message} (still firing, not sent again)`);
    else log.debug({ alert: key, value: evaluation.value }, message);
    await db
      .insertInto('ops.alert_state')
      .values({
        rule: key, metric: rule.metric, firing, notified, value: evaluation.value, message, checked_at: now, run_id: options.run?.runId ?? null,
        fired_at: changed && firing ? now : (previous?.fired_at ?? null),
        cleared_at: changed && !firing ? now : (previous?.cleared_at ?? null),
      })
      .onConflict((oc) =>
        oc.column('rule').doUpdateSet((eb) => ({
          metric: eb.ref('excluded.metric'), firing: eb.ref('excluded.firing'), notified: eb.ref('excluded.notified'),
          value: eb.ref('excluded.value'), message: eb.ref('excluded.message'), checked_at: eb.ref('excluded.checked_at'),
          run_id: eb.ref('excluded.run_id'), fired_at: eb.ref('excluded.fired_at'), cleared_at: eb.ref('excluded.cleared_at'),
        })),
      )
      .execute();
    outcomes.push({ rule: key, metric: rule.metric, value: evaluation.value, firing, change, sent, message });
  }
  return outcomes;
}

function condition(rule: AlertRule): { op: Op; threshold: number } {
  if (rule.metric === 'run_failed') return { op: rule.op ?? '>=', threshold: rule.threshold ?? 1 };
  if (rule.metric === 'records_set_aside') return { op: rule.op ?? '>', threshold: rule.threshold ?? 0 };
  return { op: rule.op!, threshold: rule.threshold! };
}

function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '=': return value === threshold;
    case '!=': return value !== threshold;
  }
}

const OP_WORDS: Record<Op, string> = { '>': 'above', '>=': 'at or above', '<': 'below', '<=': 'at or below', '=': 'equal to', '!=': 'not equal to' };

async function evaluate(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, rule: AlertRule, now: Date, run?: FinishedRun): Promise<Evaluation> {
  if (rule.metric === 'run_failed') {
    if (!run) return { value: null, detail: 'no run to judge' };
    if (run.status === 'failed' && run.retrying) return { value: null, detail: `run ${run.runId} failed and is tried again later: its retry is judged` };
    return { value: run.status === 'failed' ? 1 : 0, detail: run.status === 'failed' ? `run ${run.runId} failed: ${run.error ?? 'unknown error'}` : `run ${run.runId} succeeded` };
  }
  if (rule.metric === 'records_set_aside') return setAsideRecords(warehouse);
  if (rule.metric === 'stream_freshness_hours') {
    const { op, threshold } = condition(rule);
    // A stream with a limit of its own (streamFreshnessHours, or fx.rates' business-day one) is
    // judged against it; the others against the rule's threshold.
    const limitOf = (key: string) => freshnessLimit(config, key, threshold);
    const streams = (await streamStatus(warehouse.db, config, now)).filter((s) => s.ageHours !== null);
    if (streams.length === 0) return { value: null, detail: 'no stream has landed data yet' };
    const byAge = (a: { ageHours: number | null }, b: { ageHours: number | null }) => b.ageHours! - a.ageHours!;
    const matching = streams.filter((s) => compare(s.ageHours!, op, limitOf(`${s.source}.${s.stream}`))).sort(byAge);
    const shown = matching.length ? matching : [...streams].sort(byAge).slice(0, 1);
    const list = shown
      .map((s) => {
        const key = `${s.source}.${s.stream}`;
        const since = s.ageOf === 'last read' ? ' since its last successful read' : '';
        return `${key} at ${s.ageHours!.toFixed(1)} h${since}${hasOwnFreshnessLimit(config, key) ? ` (limit ${limitOf(key)} h)` : ''}`;
      })
      .join(', ');
    return { value: shown[0]!.ageHours!, detail: `hours (${matching.length ? 'stale' : 'oldest'}: ${list})`, firing: matching.length > 0 };
  }
  const parts = metricParts(rule.metric);
  if ('error' in parts) throw new Error(parts.error);
  const today = localDate(now, config.reportingTimezone);
  const from = addDays(today, -rule.windowDays);
  const to = addDays(today, -1);
  const window = `over the last ${rule.windowDays} day${rule.windowDays === 1 ? '' : 's'} (${from} to ${to})`;
  const exists = await sql<{ t: string | null }>`select to_regclass('metrics.kpi_daily')::text as t`.execute(warehouse.db);
  if (!exists.rows[0]?.t) return { value: null, detail: 'metrics.kpi_daily does not exist yet' };
  const columns = parts.kind === 'sum' ? [parts.column, parts.column] : [parts.numerator, parts.denominator];
  const res = await sql<{ days: number; a: number | null; b: number | null }>`
    select count(*)::int as days, sum(${sql.ref(columns[0]!)})::float8 as a, sum(${sql.ref(columns[1]!)})::float8 as b
      from metrics.kpi_daily where date between ${from}::date and ${to}::date`.execute(warehouse.db);
  const row = res.rows[0];
  if (!row || row.days === 0) return { value: null, detail: `no data ${window}` };
  if (parts.kind === 'sum') return { value: row.a ?? 0, detail: window };
  // A ratio whose denominator is 0 is NULL (docs/metrics.md), so the rule cannot judge it.
  if (row.a === null || row.b === null || row.b === 0) return { value: null, detail: `${parts.denominator} is 0 ${window}` };
  const ratio = row.a / row.b;
  return { value: parts.complement ? 1 - ratio : ratio, detail: window };
}

/** How many records the last build set aside (each raw record once), naming the first few. */
async function setAsideRecords(warehouse: Pick<Warehouse, 'db'>): Promise<Evaluation> {
  const res = await sql<{ n: number; first: string[] | null }>`
    select count(*)::int as n,
           (array_agg(source || '.' || stream || ' ' || key || ': ' || reason order by source, stream, key))[1:3] as first
      from (select distinct on (source, stream, key) source, stream, key, reason from ops.set_aside order by source, stream, key, reason) r`.execute(warehouse.db);
  const { n, first } = res.rows[0] ?? { n: 0, first: null };
  const more = n > 3 ? `; and ${n - 3} more` : '';
  const what = `record${n === 1 ? '' : 's'} set aside by the last build`;
  return { value: n, detail: n ? `${what} (${(first ?? []).join('; ')}${more}): see verite quarantine list` : what };
}

/**
 * A value or threshold as the message shows it: a kpi_daily metric as the run summary shows it
 * (money to its currency's minor unit with the currency's code, rates in %, MER as a multiple),
 * hours to one decimal, counts whole, with thousands separators.
 */
function formatValue(metric: string, value: number, currency: string): string {
  if (metric === 'stream_freshness_hours') return Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (metric === 'records_set_aside') return value.toLocaleString('en-US');
  return formatMetricValue(metric, value, currency, { withCurrency: true });
}

function describe(rule: AlertRule, key: string, evaluation: Evaluation, firing: boolean, currency: string, run?: FinishedRun): string {
  const label = rule.name ? `${rule.name}: ` : '';
  if (rule.metric === 'run_failed') {
    return firing ? `verite alert: ${label}${evaluation.detail}` : `verite resolved: ${label}${run ? `run ${run.runId} succeeded` : evaluation.detail}`;
  }
  const { op, threshold } = condition(rule);
  const limit = formatValue(rule.metric, threshold, currency);
  const subject = `${rule.metric} ${OP_WORDS[op]} ${limit}`;
  if (evaluation.value === null) return `verite alert check: ${label}${key}: ${evaluation.detail}`;
  const value = formatValue(rule.metric, evaluation.value, currency);
  return firing
    ? `verite alert: ${label}${subject}: ${value} ${evaluation.detail}`
    : `verite resolved: ${label}${rule.metric} is ${value} ${evaluation.detail} (rule: ${OP_WORDS[op]} ${limit})`;
}

/** An alert's message: Slack's text and blocks, and the same words for a Teams card or a Discord message. */
function payload(message: string, firing: boolean, key: string, run?: FinishedRun): WebhookMessage {
  const context = [`rule \`${key}\``, `host ${hostname()}`, ...(run ? [`run ${run.runId}`] : [])].join(' · ');
  const text = `${firing ? ':rotating_light:' : ':white_check_mark:'} ${message}`;
  const slack: WebhookPayload = {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
    ],
  };
  return { text, context, slack };
}

/**
 * The webhook URL (a secret: it carries the channel's token), or null to only log: from the
 * variable `webhookUrlEnv` names, else `webhookUrl`, else `VERITE_ALERT_WEBHOOK_URL` when set.
 */
function webhookUrl(config: VeriteConfig, env: NodeJS.ProcessEnv, log: Logger): { url: string; format?: WebhookFormat } | null {
  try {
    const setting = alertWebhookSetting(config);
    const url = secretUrl(setting, env);
    return url === null ? null : { url, format: setting.format };
  } catch (error) {
    log.error({ err: errorMessage(error) }, 'alerts are only logged');
    return null;
  }
}

/** Posts the message in the format the webhook's place takes; a retired connector fails without a call. */
async function postWebhook(webhook: { url: string; format?: WebhookFormat }, message: WebhookMessage, log: Logger, signal?: AbortSignal): Promise<void> {
  const { url } = webhook;
  const body = webhookPostBody(url, webhook.format, message);
  await httpRequest(
    // The URL is never named in errors or logs: `describe` stands for it.
    { source: 'alerts', log, signal, retry: { attempts: 3, timeoutMs: 15_000 } },
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), describe: 'POST alert webhook' },
  );
}
