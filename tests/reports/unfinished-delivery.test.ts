import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { deliverReport, deliveryTarget, type ReportDeliveryResult } from '../../scheduler/report-delivery.ts';
import { missedFirings, startScheduler, type CaughtUpFiring } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import * as m0036 from '../../warehouse/migrations/0036-report-delivery-refusals-before-0035.ts';
import { spawnScript, waitFor } from '../support/spawn-script.ts';
import type { LocalWebhook } from '../support/webhook.ts';
import { CONFIG } from '../metrics/support/shop.ts';
import { periodOf, publishedShop, REPORT_EMAIL as email, type PublishedShop } from './support/published-shop.ts';
import type { TestRelay } from '../support/smtp.ts';

/**
 * A scheduled report firing that did not reach every place it sends to: the process died after
 * the report was written and recorded (killed during the pause before the retry of a 503, a
 * deploy in the middle of the send), or a send failed. The next start of the scheduler makes it
 * up for the places not reached, for the same period, and sends nothing again where it went.
 * The hand-made shop (tests/metrics/support/shop.ts) has 2024-W10 as its last complete week;
 * the report fires on Tuesdays at 06:00 (UTC, the shop's zone): 2024-03-12T06:00:00Z.
 */

const silent = createLogger({ write: () => undefined }, 'silent');
const FIRING = '2024-03-12T06:00:00Z';
/** The Friday after: the scheduler starts again, before the next Tuesday's firing. */
const RESTART = '2024-03-15T18:00:00Z';
let shop: PublishedShop;
let wh: Warehouse;
let dir: string;
let hook: LocalWebhook<{ text: string }>;
let relay: TestRelay;

beforeAll(async () => {
  shop = await publishedShop('unfinished_delivery', new Date('2024-03-12T06:00:00Z'));
  ({ wh, dir, hook, relay } = shop);
});
afterAll(async () => shop?.close());
beforeEach(async () => {
  await shop.reset();
});

/** A retired Teams Office 365 connector's URL: nothing is posted to it (lib/webhook-flavour.ts), here or anywhere. */
const TEAMS_CONNECTOR = 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner-secret';
const env = () => ({ REPORT_SMTP_URL: relay.url, TEAMS_HOOK: TEAMS_CONNECTOR });
const topWith = (to: Record<string, unknown>) => ({ ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to }] });
const deliveries = async () =>
  (await wh.pool.query(`select period, channel, status, attempts from ops.report_deliveries order by id`)).rows as { period: string; channel: string; status: string; attempts: number }[];

/** The scheduler started at `now`: what it found missed, and the reports it made up (once they ended). */
async function startAt(now: string, top: Record<string, unknown>): Promise<{ caught: CaughtUpFiring[]; reports: ReportDeliveryResult[] }> {
  const config = configSchema.parse(top);
  const reports: ReportDeliveryResult[] = [];
  const scheduler = startScheduler({
    warehouse: wh, config, log: silent, steps: [], resolve: () => [],
    now: () => new Date(now),
    onReport: (r) => void reports.push(r),
    reportDelivery: { sleep: async () => undefined, env: env() },
  });
  try {
    const caught = await scheduler.caughtUp;
    await waitFor('the made-up reports to end', () => reports.length >= caught.length);
    return { caught, reports };
  } finally {
    await scheduler.stop();
  }
}

const outcomes = (r: ReportDeliveryResult) => r.outcomes.map((o) => `${o.channel} ${o.status}`);
/** The warning at start for a place whose last send of the period was refused for good: what to do instead. */
const REFUSED =
  'a report place refused its last send for good (a retired Teams Office 365 connector): not made up at start; create a Workflows webhook in Teams ("Post to a channel when a webhook request is received") and set its URL in the place named';

describe('a report firing that did not reach every place', () => {
  it('killed in the pause after a 503: the next start makes it up, and the webhook gets the week once', async () => {
    const top = topWith({ webhook: hook.url });
    shop.answers = [503];
    const child = spawnScript('report-delivery-runner.ts', { DATABASE_URL: wh.url, REPORT_CONFIG: JSON.stringify(top), REPORT_NOW: FIRING });
    try {
      await waitFor('the 503 and the pause before the retry', () => {
        if (child.child.exitCode !== null) throw new Error(`the delivery ended: ${child.stderr()}`);
        return child.logLines().some((l) => l.msg === 'report delivery failed; retrying once');
      });
    } finally {
      child.child.kill('SIGKILL');
    }
    expect((await child.exited).signal).toBe('SIGKILL');
    // The report was written and recorded; the webhook's send never was.
    expect(await deliveries()).toEqual([{ period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 }]);
    expect([shop.posts, hook.received.length]).toEqual([1, 0]);

    // No cron time passed since (the next is Tuesday 19 March): only the unfinished firing is made up.
    const config = configSchema.parse(top);
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env() })).toEqual([
      { kind: 'report', index: 0, cron: '0 6 * * 2', missed: new Date(FIRING), lastFiring: new Date(FIRING), unfinished: { period: '2024-W10', channels: ['webhook'] } },
    ]);
    // Started only after the next Tuesday's time, it is that missed firing that is made up, as before
    // (of the last complete period then): one firing, not one for each period.
    expect(await missedFirings(wh, config, new Date('2024-03-19T09:00:00Z'), { env: env() })).toEqual([
      { kind: 'report', index: 0, cron: '0 6 * * 2', missed: new Date('2024-03-19T06:00:00Z'), lastFiring: new Date(FIRING) },
    ]);
    const { caught, reports } = await startAt(RESTART, top);
    expect(caught).toHaveLength(1);
    expect(reports.map((r) => [r.period, outcomes(r)])).toEqual([['2024-W10', ['file delivered', 'webhook delivered']]]);
    // One 503, then the week's one message.
    expect(shop.posts).toBe(2);
    expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);

    // Every place reached: the start after that makes up nothing.
    expect(await missedFirings(wh, config, new Date('2024-03-16T09:00:00Z'), { env: env() })).toEqual([]);
    expect((await startAt('2024-03-16T09:00:00Z', top)).reports).toEqual([]);
    expect(hook.received).toHaveLength(1);
  });

  it('a send that failed: the next start sends the period there, and not again where it went', async () => {
    const top = topWith({ webhook: hook.url, email });
    const config = configSchema.parse(top);
    shop.refusing = true;
    const first = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now: new Date(FIRING), env: env(), sleep: async () => undefined });
    expect(outcomes(first)).toEqual(['file delivered', 'webhook delivered', 'email failed']);
    expect(await deliveries()).toEqual([
      { period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 },
      { period: '2024-W10', channel: 'webhook', status: 'delivered', attempts: 1 },
      { period: '2024-W10', channel: 'email', status: 'failed', attempts: 2 },
    ]);

    shop.refusing = false;
    const { caught, reports } = await startAt(RESTART, top);
    expect(caught.map((c) => [c.kind, c.missed.toISOString(), c.unfinished])).toEqual([['report', '2024-03-12T06:00:00.000Z', { period: '2024-W10', channels: ['email'] }]]);
    expect(reports.map((r) => [r.period, outcomes(r)])).toEqual([['2024-W10', ['file delivered', 'webhook skipped', 'email delivered']]]);
    expect(relay.mails).toEqual([['owner@shop.test']]);
    expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
    expect(await missedFirings(wh, config, new Date('2024-03-16T09:00:00Z'), { env: env() })).toEqual([]);
  });

  it('a firing that reached every place is not made up, nor after its places changed in the config', async () => {
    const top = topWith({ webhook: hook.url, email });
    const config = configSchema.parse(top);
    const first = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now: new Date(FIRING), env: env(), sleep: async () => undefined });
    expect(outcomes(first)).toEqual(['file delivered', 'webhook delivered', 'email delivered']);
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env() })).toEqual([]);

    // Restarted after the recipients and the webhook changed (a new address, a rotated URL): those
    // are other places that no firing of the week was to reach; sending the week again at start
    // would give the owner the same message twice.
    const changed = topWith({ webhook: `${hook.url}/rotated`, email: { ...email, to: ['owner@shop.test', 'finance@shop.test'] } });
    const { caught, reports } = await startAt(RESTART, changed);
    expect([caught, reports]).toEqual([[], []]);
    expect([hook.received.length, relay.mails.length]).toEqual([1, 1]);
  });

  it('is made up at two starts at most: a place three firings of the period did not reach is left to the next period', async () => {
    const top = topWith({ webhook: hook.url });
    const config = configSchema.parse(top);
    // The webhook refuses every post: the firing, and a made-up firing at each of two starts.
    shop.answers = Array(6).fill(503);
    const fire = (now: string) => deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now: new Date(now), env: env(), sleep: async () => undefined });
    expect(outcomes(await fire(FIRING))).toEqual(['file delivered', 'webhook failed']);
    const again = (await startAt('2024-03-13T10:00:00Z', top)).caught;
    expect(again.map((c) => [c.missed.toISOString(), c.lastFiring.toISOString(), c.unfinished])).toEqual([['2024-03-12T06:00:00.000Z', '2024-03-12T06:00:00.000Z', { period: '2024-W10', channels: ['webhook'] }]]);
    // The made-up firing is the period's latest: the next start names it.
    const third = (await startAt('2024-03-14T10:00:00Z', top)).caught;
    expect(third.map((c) => [c.missed.toISOString(), c.lastFiring.toISOString()])).toEqual([['2024-03-13T10:00:00.000Z', '2024-03-13T10:00:00.000Z']]);
    expect(shop.posts).toBe(6);
    expect((await deliveries()).filter((r) => r.channel === 'webhook').map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);

    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'warn');
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env(), log })).toEqual([]);
    expect(lines.map((l) => [l.msg, l.period, l.channels, l.firings])).toEqual([
      ['a report did not reach every place it sends to after 3 firings of its period: not made up again (the next period goes out at its time)', '2024-W10', ['webhook'], 3],
    ]);
    expect(shop.posts).toBe(6);
  });

  it('a place whose last send was refused for good (a retired Teams connector) is not made up at start, saying what to do', async () => {
    // The firing of 06:00: the connector refuses for good (no call made), the relay is down.
    const top = topWith({ webhookEnv: 'TEAMS_HOOK', email });
    const config = configSchema.parse(top);
    shop.refusing = true;
    const first = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now: new Date(FIRING), env: env(), sleep: async () => undefined });
    expect(first.outcomes.map((o) => [o.channel, o.status, o.attempts, o.permanent ?? false])).toEqual([['file', 'delivered', 1, false], ['webhook', 'failed', 1, true], ['email', 'failed', 2, false]]);

    // The relay is back by the start: the week is made up for the e-mail only, and says why not for the connector.
    shop.refusing = false;
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'warn');
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env(), log })).toEqual([
      { kind: 'report', index: 0, cron: '0 6 * * 2', missed: new Date(FIRING), lastFiring: new Date(FIRING), unfinished: { period: '2024-W10', channels: ['email'] } },
    ]);
    expect(lines.map((l) => [l.msg, l.report, l.schedule, l.place, l.period])).toEqual([[REFUSED, 'weekly', '0 6 * * 2', 'reports[0] (weekly).to.webhookEnv (TEAMS_HOOK)', '2024-W10']]);
    expect(String(lines[0]!.err)).toMatch(/^the webhook is a Microsoft Teams Office 365 connector .* create a Workflows webhook/);
    expect(JSON.stringify(lines)).not.toContain('owner-secret');

    const { caught, reports } = await startAt(RESTART, top);
    expect(caught.map((c) => c.unfinished)).toEqual([{ period: '2024-W10', channels: ['email'] }]);
    expect(reports.map((r) => [r.period, outcomes(r)])).toEqual([['2024-W10', ['file delivered', 'webhook skipped', 'email delivered']]]);
    expect(relay.mails).toEqual([['owner@shop.test']]);
    // The connector's one refusal, at 06:00, recorded as for good: not tried again.
    expect((await wh.pool.query(`select channel, status, attempts, permanent from ops.report_deliveries where channel <> 'file' order by id`)).rows).toEqual([
      { channel: 'webhook', status: 'failed', attempts: 1, permanent: true },
      { channel: 'email', status: 'failed', attempts: 2, permanent: false },
      { channel: 'email', status: 'delivered', attempts: 1, permanent: false },
    ]);
  });

  it('a refusal recorded before migration 0035 says permanent false: 0036 makes it true, and the start makes nothing up for it', async () => {
    // Two weekly entries, as a release before 0035 recorded their firing of 06:00: the retired
    // connector's refusal (one attempt, verite's message, no call made) and a webhook's 503 twice,
    // each with permanent false (the column's default when 0035 added it).
    const top = { ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to: { webhookEnv: 'TEAMS_HOOK' } }, { cron: '0 6 * * 2', kind: 'weekly', to: { webhook: hook.url } }] };
    const config = configSchema.parse(top);
    const [connector, down] = config.reports.map((entry) => deliveryTarget(entry, 'webhook', env())) as [string, string];
    const refusal =
      'the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired (its retirement completed on 22 May 2026): ' +
      'a message posted there never reaches the channel; in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL';
    const http503 = '[reports, POST report webhook, HTTP 503] gave up after 1 attempts: HTTP 503: unavailable (caused by: HTTP 503: unavailable)';
    await wh.pool.query(
      `insert into ops.report_deliveries (kind, period, file, channel, status, attempts, error, scheduled_for, finished_at, target, places) values
         ('weekly', '2024-W10', 'w.html', 'file', 'delivered', 1, null, $1, $1, null, array['webhook ' || $2]),
         ('weekly', '2024-W10', 'w.html', 'webhook', 'failed', 1, $4, $1, $1, $2, null),
         ('weekly', '2024-W10', 'w.html', 'file', 'delivered', 1, null, $1, $1, null, array['webhook ' || $3]),
         ('weekly', '2024-W10', 'w.html', 'webhook', 'failed', 2, $5, $1, $1, $3, null)`,
      [FIRING, connector, down, refusal, http503],
    );
    const permanent = async () => (await wh.pool.query(`select channel, target, permanent from ops.report_deliveries where channel <> 'file' order by id`)).rows;
    // As recorded then, the next start made the week up for both places, the connector too.
    expect((await missedFirings(wh, config, new Date(RESTART), { env: env() })).map((c) => [c.index, c.unfinished])).toEqual([
      [0, { period: '2024-W10', channels: ['webhook'] }],
      [1, { period: '2024-W10', channels: ['webhook'] }],
    ]);

    await m0036.up(wh.db as Kysely<unknown>);
    expect(await permanent()).toEqual([
      { channel: 'webhook', target: connector, permanent: true },
      { channel: 'webhook', target: down, permanent: false },
    ]);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'warn');
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env(), log })).toEqual([
      { kind: 'report', index: 1, cron: '0 6 * * 2', missed: new Date(FIRING), lastFiring: new Date(FIRING), unfinished: { period: '2024-W10', channels: ['webhook'] } },
    ]);
    expect(lines.map((l) => [l.msg, l.place, l.err])).toEqual([[REFUSED, 'reports[0] (weekly).to.webhookEnv (TEAMS_HOOK)', refusal]]);
    // Run again (a second migrator, a restore), it changes nothing.
    await m0036.up(wh.db as Kysely<unknown>);
    expect((await permanent()).map((r) => r.permanent)).toEqual([true, false]);
  });

  it('a firing whose only place left refused for good is not made up at all', async () => {
    const top = topWith({ webhookEnv: 'TEAMS_HOOK', email });
    const config = configSchema.parse(top);
    const first = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now: new Date(FIRING), env: env(), sleep: async () => undefined });
    expect(outcomes(first)).toEqual(['file delivered', 'webhook failed', 'email delivered']);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'warn');
    expect(await missedFirings(wh, config, new Date(RESTART), { env: env(), log })).toEqual([]);
    expect(lines.map((l) => [l.msg, l.place])).toEqual([[REFUSED, 'reports[0] (weekly).to.webhookEnv (TEAMS_HOOK)']]);
    expect((await startAt(RESTART, top)).reports).toEqual([]);
    expect(relay.mails).toEqual([['owner@shop.test']]);
    expect((await deliveries()).map((r) => `${r.channel} ${r.status}`)).toEqual(['file delivered', 'webhook failed', 'email delivered']);
  });
});
