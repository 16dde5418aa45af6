import { hostname } from 'node:os';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { alertRuleProblems } from '../../metrics/alert-rules.ts';
import { checkAlerts, type WebhookPayload } from '../../scheduler/alerts.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { startWebhook, type LocalWebhook } from '../support/webhook.ts';

let wh: Warehouse;
let hook: LocalWebhook<WebhookPayload>;
let url: string;
/** What the webhook received, and how it answers next. */
let received: WebhookPayload[];
let answer = 200;
let restoreSleep: () => void;

beforeAll(async () => {
  wh = await createTestDatabase('alerts');
  // metrics.kpi_daily as docs/metrics.md publishes it, with the columns these rules read.
  await wh.pool.query(`create table metrics.kpi_daily (
    date date primary key, ad_spend numeric, new_customers bigint, shipments_on_time bigint, shipments_delivered_with_promise bigint)`);
  // A Slack-like path: the token in it makes the URL a secret.
  hook = await startWebhook<WebhookPayload>({ path: '/services/T000/B000/secret-token', answer: () => answer });
  ({ url, received } = hook);
});
afterAll(async () => {
  await hook?.close();
  await wh?.close();
});
beforeEach(async () => {
  received.length = 0;
  answer = 200;
  restoreSleep = setSleep(async () => undefined);
  await wh.pool.query('delete from metrics.kpi_daily; delete from ops.alert_state; delete from ops.stream_state');
});
afterEach(() => restoreSleep());

const env = () => ({ VERITE_TEST_WEBHOOK: url });
// The check runs on 8 May in UTC: the last 7 complete days are 1 to 7 May.
const now = new Date('2024-05-08T10:00:00Z');

/** One day of kpi_daily. */
async function day(date: string, adSpend: number, newCustomers: number, onTime = 9, withPromise = 10): Promise<void> {
  await wh.pool.query(
    `insert into metrics.kpi_daily values ($1, $2, $3, $4, $5)
     on conflict (date) do update set ad_spend = $2, new_customers = $3, shipments_on_time = $4, shipments_delivered_with_promise = $5`,
    [date, adSpend, newCustomers, onTime, withPromise],
  );
}

function config(rules: unknown[]) {
  return configSchema.parse({ alerts: { webhookUrlEnv: 'VERITE_TEST_WEBHOOK', rules } });
}

describe('alerts', () => {
  it('fires CAC above 40 over 7 days to the webhook once, not again while it holds, then resolves and can fire again', async () => {
    const cfg = config([
      { name: 'CAC too high', metric: 'cac', op: '>', threshold: 40, windowDays: 7 },
      { metric: 'on_time_delivery_rate', op: '<', threshold: 0.9, windowDays: 7 },
    ]);
    // 1–7 May: 100 a day of ad spend (700) for 2+2+2+2+2+2+3 = 15 new customers: CAC 46.67.
    // On time: 9 of 10 promised each day = 63/70 = 0.9, not below 0.9.
    for (let d = 1; d <= 7; d++) await day(`2024-05-0${d}`, 100, d === 7 ? 3 : 2);
    // Outside the window, and large enough to change the verdicts if they were counted.
    await day('2024-04-30', 100000, 1, 0, 10);
    await day('2024-05-08', 100000, 1, 0, 10);

    const first = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(first.map((o) => [o.rule, o.change, o.sent])).toEqual([
      ['CAC too high', 'fired', true],
      ['on_time_delivery_rate < 0.9 over 7d', 'ok', false],
    ]);
    expect(first[0]!.value).toBeCloseTo(700 / 15, 10);
    expect(first[1]!.value).toBeCloseTo(0.9, 10);
    const text = 'verite alert: CAC too high: cac above 40.00 USD: 46.67 USD over the last 7 days (2024-05-01 to 2024-05-07)';
    expect(received).toEqual([
      {
        text: `:rotating_light: ${text}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: `:rotating_light: ${text}` } },
          { type: 'context', elements: [{ type: 'mrkdwn', text: expect.stringMatching(/^rule `CAC too high` · host .+$/) }] },
        ],
      },
    ]);

    // The next run's check: still above 40, so nothing is sent again.
    const second = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(second[0]).toMatchObject({ change: 'still firing', firing: true, sent: false });
    expect(received).toHaveLength(1);

    // 7 May restated: 10 new customers → 700 / 22 = 31.82, below 40: resolved, sent once.
    await day('2024-05-07', 100, 10);
    const third = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(third[0]).toMatchObject({ change: 'cleared', firing: false, sent: true });
    expect(received[1]!.text).toBe(':white_check_mark: verite resolved: CAC too high: cac is 31.82 USD over the last 7 days (2024-05-01 to 2024-05-07) (rule: above 40.00 USD)');
    await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(received).toHaveLength(2);

    // A day later the window is 2–8 May: 600 + 100000 spend for 10 + 10 + 1 = 21 new customers → fires again.
    const later = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now: new Date('2024-05-09T10:00:00Z'), env: env() });
    expect(later[0]).toMatchObject({ change: 'fired', sent: true });
    expect(later[0]!.value).toBeCloseTo(100600 / 21, 10);
    // On-time over 2–8 May: (54 + 0) / 70 is below 0.9 → fires too.
    expect(later[1]).toMatchObject({ change: 'fired', sent: true });
    expect(later[1]!.value).toBeCloseTo(54 / 70, 10);
    expect(received.map((p) => p.text.split(':')[1])).toEqual(['rotating_light', 'white_check_mark', 'rotating_light', 'rotating_light']);
  });

  it('a run that failed alerts once until a run succeeds', async () => {
    const cfg = config([{ metric: 'run_failed' }]);
    const failed = { runId: 'run-1', status: 'failed' as const, error: 'shopify.orders: HTTP 401' };
    expect((await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env(), run: failed }))[0]).toMatchObject({ change: 'fired', sent: true });
    expect(received.map((p) => p.text)).toEqual([':rotating_light: verite alert: run run-1 failed: shopify.orders: HTTP 401']);
    await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env(), run: { ...failed, runId: 'run-2' } });
    expect(received).toHaveLength(1);
    await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env(), run: { runId: 'run-3', status: 'succeeded' } });
    expect(received.map((p) => p.text)).toEqual([
      ':rotating_light: verite alert: run run-1 failed: shopify.orders: HTTP 401',
      ':white_check_mark: verite resolved: run run-3 succeeded',
    ]);
  });

  it('a stream not fresh for 36 hours fires, naming the stale streams', async () => {
    const cfg = config([{ metric: 'stream_freshness_hours', op: '>', threshold: 36 }]);
    await wh.pool.query(
      `insert into ops.stream_state (source, stream, state, data_through, updated_at) values
       ('shopify', 'orders', null, $1, now()), ('ga4', 'traffic_daily', null, $2, now())`,
      [new Date(now.getTime() - 50 * 3_600_000), new Date(now.getTime() - 12 * 3_600_000)],
    );
    const [outcome] = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(outcome).toMatchObject({ change: 'fired', value: 50, sent: true });
    expect(received[0]!.text).toBe(':rotating_light: verite alert: stream_freshness_hours above 36: 50 hours (stale: shopify.orders at 50.0 h)');
  });

  it('a message the webhook refused is sent at the next check', async () => {
    const cfg = config([{ metric: 'cac', op: '>', threshold: 40, windowDays: 1 }]);
    await day('2024-05-07', 100, 2); // CAC 50
    answer = 503;
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const first = await checkAlerts({ warehouse: wh, config: cfg, log, now, env: env() });
    expect(first[0]).toMatchObject({ change: 'fired', sent: false });
    // Three attempts (503 is retried), then one error line that names the request, never the URL.
    expect(lines.filter((l) => l.includes('retrying after HTTP 503'))).toHaveLength(2);
    const failure = lines.map((l) => JSON.parse(l) as { msg: string; err?: string }).find((l) => l.msg.startsWith('alert webhook failed'));
    expect(failure?.err).toBe('[alerts, POST alert webhook, HTTP 503] gave up after 3 attempts: HTTP 503: unavailable (caused by: HTTP 503: unavailable)');
    expect(lines.join('\n')).not.toContain('secret-token');
    answer = 200;
    const second = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(second[0]).toMatchObject({ change: 'still firing', sent: true });
    expect(received.map((p) => p.text)).toEqual([':rotating_light: verite alert: cac above 40.00 USD: 50.00 USD over the last 1 day (2024-05-07 to 2024-05-07)']);
    await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(received).toHaveLength(1);
  });

  it('shows values and thresholds in their units: money to the currency\'s minor unit with its code, rates in %', async () => {
    // 1–7 May: 1,763.67 of ad spend a day in yen = 12,345.69 over the week; on time 9 of 10 a day = 90%.
    for (let d = 1; d <= 7; d++) await day(`2024-05-0${d}`, 1763.67, 1);
    const rules = [
      { metric: 'ad_spend', op: '>', threshold: 10000, windowDays: 7 },
      { metric: 'on_time_delivery_rate', op: '<', threshold: 0.95, windowDays: 7 },
    ];
    const yen = configSchema.parse({ reportingCurrency: 'JPY', alerts: { webhookUrlEnv: 'VERITE_TEST_WEBHOOK', rules } });
    await checkAlerts({ warehouse: wh, config: yen, log: logger(), now, env: env() });
    const window = 'over the last 7 days (2024-05-01 to 2024-05-07)';
    expect(received.map((p) => p.text)).toEqual([
      `:rotating_light: verite alert: ad_spend above 10,000 JPY: 12,346 JPY ${window}`,
      `:rotating_light: verite alert: on_time_delivery_rate below 95.00%: 90.00% ${window}`,
    ]);
  });

  it('sends a Teams Workflows webhook an Adaptive Card and a Discord webhook its content, as webhookFormat names them', async () => {
    await day('2024-05-07', 100, 2); // CAC 50
    const rules = [{ name: 'CAC too high', metric: 'cac', op: '>', threshold: 40, windowDays: 1 }];
    const text = 'verite alert: CAC too high: cac above 40.00 USD: 50.00 USD over the last 1 day (2024-05-07 to 2024-05-07)';
    const teams = configSchema.parse({ alerts: { webhookUrlEnv: 'VERITE_TEST_WEBHOOK', webhookFormat: 'teams', rules } });
    expect((await checkAlerts({ warehouse: wh, config: teams, log: logger(), now, env: env() }))[0]).toMatchObject({ change: 'fired', sent: true });
    expect(received).toEqual([
      {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: `\u{1F6A8} ${text}`, wrap: true },
                { type: 'TextBlock', text: expect.stringMatching(/^rule `CAC too high` · host .+$/), wrap: true, isSubtle: true, size: 'Small' },
              ],
            },
          },
        ],
      },
    ]);

    await wh.pool.query('delete from ops.alert_state');
    received.length = 0;
    const discord = configSchema.parse({ alerts: { webhookUrlEnv: 'VERITE_TEST_WEBHOOK', webhookFormat: 'discord', rules } });
    expect((await checkAlerts({ warehouse: wh, config: discord, log: logger(), now, env: env() }))[0]).toMatchObject({ change: 'fired', sent: true });
    // Discord reads no Slack shortcode in a webhook's content: the emoji itself, and the context on its own line.
    expect(received).toEqual([{ content: `\u{1F6A8} ${text}\nrule \`CAC too high\` · host ${hostname()}` }]);
  });

  it('posts nothing to a retired Office 365 connector: the alert fails, saying to create a Workflows webhook', async () => {
    await day('2024-05-07', 100, 2); // CAC 50
    const cfg = configSchema.parse({ alerts: { webhookUrlEnv: 'VERITE_TEST_WEBHOOK', rules: [{ metric: 'cac', op: '>', threshold: 40, windowDays: 1 }] } });
    const lines: string[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const hookUrl = 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner-secret';
    const [outcome] = await checkAlerts({ warehouse: wh, config: cfg, log, now, env: { VERITE_TEST_WEBHOOK: hookUrl } });
    expect(outcome).toMatchObject({ change: 'fired', sent: false });
    const failure = lines.map((l) => JSON.parse(l) as { msg: string; err?: string }).find((l) => l.msg.startsWith('alert webhook failed'));
    expect(failure?.err).toBe(
      'the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired (its retirement completed on 22 May 2026): ' +
        'a message posted there never reaches the channel; in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL',
    );
    // No request was made: no retry lines, and the URL is never logged.
    expect(lines.filter((l) => l.includes('retrying'))).toEqual([]);
    expect(lines.join('\n')).not.toContain('owner-secret');
  });

  it('no data is no verdict: a missing kpi_daily day or a zero denominator neither fires nor clears', async () => {
    const cfg = config([{ metric: 'cac', op: '>', threshold: 40, windowDays: 1 }]);
    const [empty] = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(empty).toMatchObject({ change: 'no data', value: null, firing: false });
    await day('2024-05-07', 100, 0);
    const [zero] = await checkAlerts({ warehouse: wh, config: cfg, log: logger(), now, env: env() });
    expect(zero).toMatchObject({ change: 'no data', value: null });
    expect(received).toEqual([]);
  });

  it('rejects rules it cannot check, naming each', () => {
    const parsed = configSchema.safeParse({ alerts: { rules: [{ metric: 'cac' }, { metric: 'run_failed' }] } });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'alerts.rules.0.op: cac: expected a comparison (>, >=, <, <=, =, !=)',
      'alerts.rules.0.threshold: cac: expected a number to compare with',
    ]);
    const rules = config([
      { metric: 'customers', op: '>', threshold: 1 },
      { metric: 'profit', op: '>', threshold: 1 },
      { metric: 'cac', op: '>', threshold: 40 },
      { metric: 'cac', op: '>', threshold: 40 },
    ]).alerts.rules;
    const problems = alertRuleProblems(rules);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('alerts.rules.0.metric: customers cannot be alerted on over a window: distinct customers cannot be summed over days; use new_customers');
    expect(problems[1]).toMatch(/^alerts\.rules\.1\.metric: unknown alert metric profit \(expected stream_freshness_hours, run_failed, records_set_aside, or a kpi_daily metric: .*\bcac\b.*\)$/);
    expect(problems[2]).toBe('alerts.rules.3: same rule as alerts.rules.2 ("cac > 40 over 7d"); give one a name');
  });
});
