import type { TaskContext, TaskFn } from 'node-cron';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { deliverReport, entryPlaces, REPORT_LOCK_NAMESPACE, type ReportDeliveryResult } from '../../scheduler/report-delivery.ts';
import { startReloadableScheduler } from '../../scheduler/reload.ts';
import { startScheduler, type Scheduler } from '../../scheduler/scheduler.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { heldTimers, type HeldTimer } from '../support/held-timers.ts';
import type { LocalWebhook } from '../support/webhook.ts';
import { CONFIG } from '../metrics/support/shop.ts';
import { periodOf, publishedShop, REPORT_EMAIL as email, type PublishedShop } from '../reports/support/published-shop.ts';
import type { TestRelay } from '../support/smtp.ts';

/**
 * The cron tasks the scheduler armed, by expression (the latest scheduler's): a test fires an
 * entry's cron itself, as node-cron would at its time, instead of waiting for the clock.
 */
const cronTasks = vi.hoisted(() => new Map<string, TaskFn>());
vi.mock('node-cron', async (importOriginal) => {
  const real = await importOriginal<typeof import('node-cron')>();
  const schedule: typeof real.schedule = (expression, func, options) => {
    if (typeof func === 'function') cronTasks.set(expression, func);
    return real.schedule(expression, func, options);
  };
  return { ...real, schedule, default: { ...real.default, schedule } };
});

/** Fires the cron task of `expression` as node-cron does at `at`. */
const fireCron = (expression: string, at: string) => void cronTasks.get(expression)!({ date: new Date(at) } as TaskContext);

/**
 * A scheduled report whose send failed (a webhook answering 503 at the firing and at its retry
 * 30 s later, an SMTP relay down for a few minutes) is fired again while `verite schedule` runs,
 * `retries.reportRetryMinutes` later, for the same period and only the places not reached; on
 * timers the test fires itself. The hand-made shop (tests/metrics/support/shop.ts) has 2024-W10
 * as its last complete week on Tuesday 12 March 2024; the weekly report fires on Tuesdays at
 * 06:00 (UTC, the shop's zone). It last went out on 5 March (2024-W09), and the scheduler starts
 * at 09:00 on the 12th: the 06:00 firing is fired at start (`scheduleCatchUp`), which is the
 * firing whose send fails.
 */

const NOW = '2024-03-12T09:00:00Z';
let shop: PublishedShop;
let wh: Warehouse;
let dir: string;
let hook: LocalWebhook<{ text: string }>;
let relay: TestRelay;

beforeAll(async () => {
  shop = await publishedShop('report_retry', new Date(NOW));
  ({ wh, dir, hook, relay } = shop);
});
afterAll(async () => shop?.close());
beforeEach(async () => {
  await shop.reset();
  // The week before went out on its time: the firing of 12 March 06:00 is the one missed.
  await wh.pool.query(
    `insert into ops.report_deliveries (kind, period, file, channel, status, attempts, scheduled_for, finished_at) values ('weekly', '2024-W09', 'w.html', 'file', 'delivered', 1, '2024-03-05T06:00:00Z', '2024-03-05T06:00:09Z')`,
  );
});

const env = () => ({ REPORT_SMTP_URL: relay.url });
const deliveries = async () =>
  (await wh.pool.query(`select period, channel, status, attempts from ops.report_deliveries where period <> '2024-W09' order by id`)).rows as { period: string; channel: string; status: string; attempts: number }[];
const outcomes = (r: ReportDeliveryResult) => r.outcomes.map((o) => `${o.channel} ${o.status}`);

/**
 * The scheduler started at {@link NOW} with the weekly report sending to `to`, on held timers:
 * `next()` resolves with the next report firing's result (after its retry, if any, was planned).
 * `at` gives the report another cron expression (default Tuesdays at 06:00), a clock that
 * moves (default {@link NOW}) and the pause between a send's two attempts (default none).
 */
function start(to: Record<string, unknown>, retries: Record<string, unknown> = {}, moreEnv: Record<string, string> = {}, at: { cron?: string; now?: () => Date; sleep?: (ms: number) => Promise<void> } = {}) {
  const config = configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, retries, reports: [{ cron: at.cron ?? '0 6 * * 2', kind: 'weekly', to }] });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'info');
  const { timers, held } = heldTimers();
  const waiting: ((r: ReportDeliveryResult) => void)[] = [];
  const done: ReportDeliveryResult[] = [];
  const scheduler: Scheduler = startScheduler({
    warehouse: wh, config, log, steps: [], resolve: () => [], timers,
    now: at.now ?? (() => new Date(NOW)),
    onReport: (r) => {
      done.push(r);
      waiting.shift()?.(r);
    },
    reportDelivery: { sleep: at.sleep ?? (async () => undefined), env: { ...env(), ...moreEnv } },
  });
  let seen = 0;
  const next = () => {
    const i = seen++;
    return i < done.length ? Promise.resolve(done[i]!) : new Promise<ReportDeliveryResult>((resolve) => waiting.push(resolve));
  };
  /** The report retries planned, pending or not: the timers of `reportRetryMinutes`. */
  const retryTimers = (minutes = 30): HeldTimer[] => held.filter((t) => t.ms === minutes * 60_000);
  const said = (msg: string) => lines.filter((l) => l.msg === msg);
  return { scheduler, config, next, retryTimers, said };
}

/**
 * The pauses between a send's two attempts: let by at once, or, once `hold(true)`, held until the
 * test lets each go (`paused()` resolves with the release of the next one a firing is in).
 */
function pauses() {
  let holding = false;
  const held: (() => void)[] = [];
  const waiting: ((go: () => void) => void)[] = [];
  return {
    sleep: (_ms: number) => (holding ? new Promise<void>((go) => void (waiting.length ? waiting.shift()!(go) : held.push(go))) : Promise.resolve()),
    hold: (on: boolean) => void (holding = on),
    /** Holds no more, and lets every pause held go (a test that failed with a firing in one). */
    release: () => {
      holding = false;
      for (const go of held.splice(0)) go();
    },
    paused: () => new Promise<() => void>((resolve) => void (held.length ? resolve(held.shift()!) : waiting.push(resolve))),
  };
}

/**
 * The firing of 5 March (2024-W09) as one whose process died during its send: its file row names
 * the webhook as a place it was to reach, and no send of the week is recorded. A scheduler started
 * before 06:00 on Tuesday the 12th makes 2024-W09 up at start for the webhook; the cron's firing
 * at 06:00 makes 2024-W10.
 */
async function w09NotSent(): Promise<void> {
  const entry = configSchema.parse({ ...CONFIG, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to: { webhook: hook.url } }] }).reports[0]!;
  await wh.pool.query(`update ops.report_deliveries set places = $1 where period = '2024-W09'`, [entryPlaces(entry, env())]);
}

/** The line said when a firing that failed was followed by a newer one while it was under way. */
const SUPERSEDED = 'the retry of a failed report send is dropped: the report fired again while the failed firing was under way';

describe('a scheduled report whose send failed, while the scheduler runs', () => {
  it('is fired again reportRetryMinutes later for the same period, and sent only where it did not go', async () => {
    // The webhook is down at 06:00 and 30 s later; the e-mail goes out.
    shop.answers = [503, 503];
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url, email }, { reportRetryMinutes: 45 });
    try {
      const first = await next();
      expect([first.period, outcomes(first)]).toEqual(['2024-W10', ['file delivered', 'webhook failed', 'email delivered']]);
      const [timer] = retryTimers(45);
      expect(retryTimers(45)).toHaveLength(1);
      expect(timer!.cleared).toBe(false);
      expect(said('scheduled report send failed; firing it again later').map((l) => [l.report, l.period, l.channels, l.retry, l.of, l.inMinutes])).toEqual([['weekly', '2024-W10', ['webhook'], 1, 2, 45]]);

      // 45 minutes later the webhook is back.
      timer!.fire();
      const second = await next();
      expect([second.period, outcomes(second)]).toEqual(['2024-W10', ['file delivered', 'webhook delivered', 'email skipped']]);
      expect(await deliveries()).toEqual([
        { period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 },
        { period: '2024-W10', channel: 'webhook', status: 'failed', attempts: 2 },
        { period: '2024-W10', channel: 'email', status: 'delivered', attempts: 1 },
        { period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 },
        { period: '2024-W10', channel: 'webhook', status: 'delivered', attempts: 1 },
      ]);
      // Two 503s, then the week's one message; one e-mail, not two.
      expect(shop.posts).toBe(3);
      expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
      expect(relay.mails).toEqual([['owner@shop.test']]);
      // Every place reached: no further retry.
      expect(retryTimers(45)).toHaveLength(1);
    } finally {
      await scheduler.stop();
    }
  });

  it('with reportRetries 1 and a webhook that stays down: one retry, then a warning and no timer', async () => {
    shop.answers = Array(4).fill(503);
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url }, { reportRetries: 1 });
    try {
      expect(outcomes(await next())).toEqual(['file delivered', 'webhook failed']);
      expect(retryTimers()).toHaveLength(1);
      retryTimers()[0]!.fire();
      const again = await next();
      expect([again.period, outcomes(again)]).toEqual(['2024-W10', ['file delivered', 'webhook failed']]);
      expect(retryTimers()).toHaveLength(1);
      expect(said('scheduled report send failed; firing it again later').map((l) => [l.retry, l.of])).toEqual([[1, 1]]);
      expect(said('scheduled report send failed again; no retry left while the scheduler runs').map((l) => [l.level, l.period, l.channels, l.retries])).toEqual([[40, '2024-W10', ['webhook'], 1]]);
      // Two firings, each a post and its 30-s retry.
      expect(shop.posts).toBe(4);
      expect((await deliveries()).filter((r) => r.channel === 'webhook').map((r) => r.status)).toEqual(['failed', 'failed']);
    } finally {
      await scheduler.stop();
    }
  });

  it('is not fired again past three firings of the period, its retries and the firings made up at start together', async () => {
    shop.answers = Array(6).fill(503);
    const top = configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to: { webhook: hook.url } }] });
    // The 06:00 firing and the one made up at a start that day both failed: a third start makes the last firing.
    for (const now of ['2024-03-12T06:00:00Z', '2024-03-12T08:00:00Z']) {
      const r = await deliverReport({ warehouse: wh, config: top, log: createLogger({ write: () => undefined }, 'silent'), entry: top.reports[0]!, now: new Date(now), env: env(), sleep: async () => undefined });
      expect(outcomes(r)).toEqual(['file delivered', 'webhook failed']);
    }
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url });
    try {
      const third = await next();
      expect([third.period, outcomes(third)]).toEqual(['2024-W10', ['file delivered', 'webhook failed']]);
      expect(retryTimers()).toEqual([]);
      expect(said('a report did not reach every place it sends to after 3 firings of its period: not fired again (the next period goes out at its time)').map((l) => [l.period, l.firings])).toEqual([['2024-W10', 3]]);
      expect(shop.posts).toBe(6);
    } finally {
      await scheduler.stop();
    }
  });

  it('is not fired again for a retired webhook, which takes nothing however often it is tried', async () => {
    const teams = 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner-secret';
    const { scheduler, next, retryTimers, said } = start({ webhookEnv: 'TEAMS_HOOK', email }, {}, { TEAMS_HOOK: teams });
    try {
      expect(outcomes(await next())).toEqual(['file delivered', 'webhook failed', 'email delivered']);
      expect(retryTimers()).toEqual([]);
      expect(said('scheduled report send failed; firing it again later')).toEqual([]);
      expect(relay.mails).toEqual([['owner@shop.test']]);
    } finally {
      await scheduler.stop();
    }
  });

  it('is fired again for the e-mail only beside a retired webhook, which the retry does not try again', async () => {
    const teams = 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner-secret';
    // The relay is down at 06:00 and 30 s later; the connector refuses for good, at once.
    shop.refusing = true;
    const { scheduler, next, retryTimers, said } = start({ webhookEnv: 'TEAMS_HOOK', email }, {}, { TEAMS_HOOK: teams });
    try {
      expect(outcomes(await next())).toEqual(['file delivered', 'webhook failed', 'email failed']);
      expect(said('scheduled report send failed; firing it again later').map((l) => l.channels)).toEqual([['email']]);
      shop.refusing = false;
      retryTimers()[0]!.fire();
      const again = await next();
      expect([again.period, outcomes(again)]).toEqual(['2024-W10', ['file delivered', 'webhook skipped', 'email delivered']]);
      expect(relay.mails).toEqual([['owner@shop.test']]);
      // The connector's one refusal, at the firing; two refused mails, then the one taken.
      expect((await deliveries()).filter((r) => r.channel !== 'file')).toEqual([
        { period: '2024-W10', channel: 'webhook', status: 'failed', attempts: 1 },
        { period: '2024-W10', channel: 'email', status: 'failed', attempts: 2 },
        { period: '2024-W10', channel: 'email', status: 'delivered', attempts: 1 },
      ]);
      expect(retryTimers()).toHaveLength(1);
    } finally {
      await scheduler.stop();
    }
  });

  it('a pending retry is dropped when the scheduler stops, or is retired by a reload', async () => {
    for (const how of ['stop', 'retire'] as const) {
      shop.answers = [503, 503];
      shop.posts = 0;
      await wh.pool.query(`delete from ops.report_deliveries where period <> '2024-W09'`);
      const { scheduler, next, retryTimers, said } = start({ webhook: hook.url });
      try {
        expect(outcomes(await next())).toEqual(['file delivered', 'webhook failed']);
        expect(retryTimers().map((t) => t.cleared)).toEqual([false]);
        await (how === 'stop' ? scheduler.stop() : scheduler.retire());
        expect(retryTimers().map((t) => t.cleared), how).toEqual([true]);
        const dropped = how === 'stop'
          ? 'the retry of a failed report send is dropped as the scheduler stops: its next start makes it up (scheduleCatchUp)'
          : 'the retry of a failed report send is dropped with the configuration it was planned under: the report fires again at its next time';
        expect(said(dropped).map((l) => [l.period, l.retry]), how).toEqual([['2024-W10', 1]]);
        expect(shop.posts).toBe(2);
      } finally {
        await scheduler.stop();
      }
    }
  });

  it('a pending retry survives a reload that keeps its entry, re-keyed if the entry moved, and delivers the period where it did not go', async () => {
    // The webhook answers 503 to the post at start and to its 30-s retry. The reload (SIGHUP)
    // puts a monthly report before the weekly one, unchanged: its retry, due 30 minutes after
    // 09:00, is still pending, as the first retry of two, and brings 2024-W10 to the webhook.
    shop.answers = [503, 503];
    const to = { webhook: hook.url };
    const config = configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to }] });
    const next = configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 7 1 * *', kind: 'monthly', to: {} }, { cron: '0 6 * * 2', kind: 'weekly', to }] });
    const lines: Record<string, unknown>[] = [];
    const { timers, held } = heldTimers();
    const done: ReportDeliveryResult[] = [];
    let ended: ((r: ReportDeliveryResult) => void) | undefined;
    const result = () => new Promise<ReportDeliveryResult>((resolve) => (done.length ? resolve(done.shift()!) : (ended = resolve)));
    const scheduler = startReloadableScheduler({
      warehouse: wh, config, steps: [], resolve: () => [], timers, reread: async () => next,
      log: createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'info'),
      now: () => new Date(NOW),
      onReport: (r) => (ended ? (ended(r), (ended = undefined)) : done.push(r)),
      reportDelivery: { sleep: async () => undefined, env: env() },
    });
    const retryTimers = () => held.filter((t) => t.ms === 30 * 60_000);
    try {
      expect(outcomes(await result())).toEqual(['file delivered', 'webhook failed']);
      expect(retryTimers().map((t) => t.cleared)).toEqual([false]);
      expect((await scheduler.reload()).reloaded).toBe(true);
      // The old scheduler's timer let go, the new one's pending, due at 09:30 as before (the clock says 09:00).
      expect(retryTimers().map((t) => t.cleared)).toEqual([true, false]);
      expect(lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('the retry of a failed report send is dropped'))).toEqual([]);
      retryTimers()[1]!.fire();
      const retried = await result();
      expect([retried.period, outcomes(retried)]).toEqual(['2024-W10', ['file delivered', 'webhook delivered']]);
      // The first retry of two, as planned before the reload.
      expect(lines.filter((l) => l.msg === 'report schedule fired').map((l) => l.late)).toEqual([
        'caught up: missed 2024-03-12T06:00:00.000Z',
        'retry 1 of 2 after a failed send',
      ]);
      // Two 503s, then the week, once.
      expect(shop.posts).toBe(3);
      expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
    } finally {
      await scheduler.stop();
    }
  });

  it('a pending retry is dropped by a reload that changes its entry or sets reportRetries to 0, saying so', async () => {
    const to = { webhook: hook.url };
    const reloads = {
      'another cron': { reports: [{ cron: '0 7 * * 2', kind: 'weekly', to }] },
      'another place': { reports: [{ cron: '0 6 * * 2', kind: 'weekly', to: { email } }] },
      'no retries': { reports: [{ cron: '0 6 * * 2', kind: 'weekly', to }], retries: { reportRetries: 0 } },
    };
    for (const [how, change] of Object.entries(reloads)) {
      shop.answers = [503, 503];
      await wh.pool.query(`delete from ops.report_deliveries where period <> '2024-W09'`);
      const config = configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, reports: [{ cron: '0 6 * * 2', kind: 'weekly', to }] });
      const lines: Record<string, unknown>[] = [];
      const { timers, held } = heldTimers();
      let first!: (r: ReportDeliveryResult) => void;
      const failed = new Promise<ReportDeliveryResult>((resolve) => (first = resolve));
      const scheduler = startReloadableScheduler({
        warehouse: wh, config, steps: [], resolve: () => [], timers,
        reread: async () => configSchema.parse({ ...CONFIG, schedules: [], reportsDir: dir, ...change }),
        log: createLogger({ write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }, 'info'),
        now: () => new Date(NOW),
        onReport: (r) => first(r),
        reportDelivery: { sleep: async () => undefined, env: env() },
      });
      try {
        expect(outcomes(await failed), how).toEqual(['file delivered', 'webhook failed']);
        expect((await scheduler.reload()).reloaded, how).toBe(true);
        expect(held.filter((t) => t.ms === 30 * 60_000).map((t) => t.cleared), how).toEqual([true]);
        const dropped = 'the retry of a failed report send is dropped with the configuration it was planned under: the report fires again at its next time';
        expect(lines.filter((l) => l.msg === dropped).map((l) => [l.period, l.retry]), how).toEqual([['2024-W10', 1]]);
      } finally {
        await scheduler.stop();
      }
    }
  });

  it("drops a pending retry when the entry's own cron fires first, which sends the period where it did not go", async () => {
    // The weekly review on a daily cron (06:00 UTC). Made at start (09:00 on Tuesday 12 March)
    // for 2024-W10, its webhook answers 503 to the post and to its 30-s retry: the retry is
    // planned a day later, Wednesday 09:00. The cron fires at 06:00 on Wednesday, first; the last
    // complete week is still 2024-W10, and that firing sends it to the webhook.
    shop.answers = [503, 503];
    let clock = new Date(NOW);
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url }, { reportRetryMinutes: 24 * 60 }, {}, { cron: '0 6 * * *', now: () => clock });
    try {
      const first = await next();
      expect([first.period, outcomes(first)]).toEqual(['2024-W10', ['file delivered', 'webhook failed']]);
      expect(retryTimers(24 * 60).map((t) => t.cleared)).toEqual([false]);

      clock = new Date('2024-03-13T06:00:00Z');
      fireCron('0 6 * * *', '2024-03-13T06:00:00Z');
      const second = await next();
      expect([second.period, outcomes(second)]).toEqual(['2024-W10', ['file delivered', 'webhook delivered']]);
      expect(said('the retry of a failed report send is dropped: the report schedule fired first').map((l) => [l.level, l.report, l.schedule, l.period])).toEqual([[30, 'weekly', '0 6 * * *', '2024-W10']]);
      expect(retryTimers(24 * 60).map((t) => t.cleared)).toEqual([true]);

      // Wednesday 09:00, the dropped retry's time: every timer not cleared goes off; then the firings end.
      clock = new Date('2024-03-13T09:00:00Z');
      for (const t of retryTimers(24 * 60)) if (!t.cleared) t.fire();
      await scheduler.stop();
      // The firing at start and the cron's, no third: two 503s, then the week's one message.
      expect(said('report schedule fired')).toHaveLength(2);
      expect(shop.posts).toBe(3);
      expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
      expect(await deliveries()).toEqual([
        { period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 },
        { period: '2024-W10', channel: 'webhook', status: 'failed', attempts: 2 },
        { period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1 },
        { period: '2024-W10', channel: 'webhook', status: 'delivered', attempts: 1 },
      ]);
    } finally {
      await scheduler.stop();
    }
  });

  for (const underWay of ['in its 30-s pause', 'waiting for the period lock'] as const) {
    it(`plans no retry for a firing ${underWay} when the cron fires, which would send the older week after the newer one`, async () => {
      // Started at 05:59:30 on Tuesday 12 March, the scheduler makes 2024-W09 up for the webhook
      // (w09NotSent). That firing is under way at 06:00, when the cron fires and sends 2024-W10:
      // in the pause between its 503 and its second attempt, or waiting for the lock of 2024-W09,
      // which another scheduler holds. Its send then fails (503). A retry planned now, 30 minutes
      // later, would post 2024-W09 after 2024-W10 (the webhook answers 200 by then).
      await w09NotSent();
      const paused = underWay === 'in its 30-s pause';
      // In the pause: W09's first post, W10's, W09's second. For the lock: W10's, then W09's two.
      shop.answers = paused ? [503, 200, 503] : [200, 503, 503];
      const hold = pauses();
      hold.hold(paused);
      const other = await wh.pool.connect();
      let clock = new Date('2024-03-12T05:59:30Z');
      try {
        if (!paused) await other.query('select pg_advisory_lock($1, hashtext($2))', [REPORT_LOCK_NAMESPACE, 'weekly 2024-W09']);
        const { scheduler, next, retryTimers, said } = start({ webhook: hook.url }, {}, {}, { now: () => clock, sleep: hold.sleep });
        try {
          const goOn = paused
            ? await hold.paused()
            : await vi.waitFor(async () => {
                const waits = (await wh.pool.query(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`)).rows[0].n as number;
                expect(waits).toBe(1);
                return () => void other.query('select pg_advisory_unlock_all()');
              }, { timeout: 60_000, interval: 50 });
          clock = new Date('2024-03-12T06:00:00Z');
          fireCron('0 6 * * 2', '2024-03-12T06:00:00Z');
          const newer = await next();
          expect([newer.period, outcomes(newer)]).toEqual(['2024-W10', ['file delivered', 'webhook delivered']]);
          goOn();
          const older = await next();
          expect([older.period, outcomes(older)]).toEqual(['2024-W09', ['file delivered', 'webhook failed']]);

          // 06:30: every retry timer not cleared goes off, and its firing is waited for.
          hold.hold(false);
          clock = new Date('2024-03-12T06:30:00Z');
          const left = retryTimers().filter((t) => !t.cleared);
          for (const t of left) t.fire();
          for (const _ of left) await next();
          await scheduler.stop();
          // The newer week reached the webhook, and nothing after it.
          expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
          expect(shop.posts).toBe(3);
          expect(retryTimers()).toEqual([]);
          expect(said('scheduled report send failed; firing it again later')).toEqual([]);
          expect(said(SUPERSEDED).map((l) => [l.level, l.report, l.schedule, l.period, l.channels])).toEqual([[30, 'weekly', '0 6 * * 2', '2024-W09', ['webhook']]]);
          expect(said('report schedule fired')).toHaveLength(2);
        } finally {
          hold.release();
          await other.query('select pg_advisory_unlock_all()');
          await scheduler.stop();
        }
      } finally {
        other.release();
      }
    });
  }

  it('plans no further retry for a retry in its 30-s pause when the cron fires', async () => {
    // Started at 05:00 on Tuesday 12 March with retries 59 minutes apart, the scheduler makes
    // 2024-W09 up for the webhook (w09NotSent): 503 twice, at 05:00:00 and 05:00:30. Its retry
    // comes at 05:59:30: 503, then its pause, in which the cron fires at 06:00 and sends 2024-W10;
    // then 503 again. A second retry, at 06:59, would post 2024-W09 after 2024-W10 (and past the
    // three firings of 2024-W09: the one of 5 March, the one made up at start and its retry).
    await w09NotSent();
    shop.answers = [503, 503, 503, 200, 503];
    const hold = pauses();
    let clock = new Date('2024-03-12T05:00:00Z');
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url }, { reportRetryMinutes: 59 }, {}, { now: () => clock, sleep: hold.sleep });
    try {
      const first = await next();
      expect([first.period, outcomes(first)]).toEqual(['2024-W09', ['file delivered', 'webhook failed']]);
      expect(retryTimers(59)).toHaveLength(1);

      clock = new Date('2024-03-12T05:59:30Z');
      hold.hold(true);
      retryTimers(59)[0]!.fire();
      const goOn = await hold.paused();
      clock = new Date('2024-03-12T06:00:00Z');
      fireCron('0 6 * * 2', '2024-03-12T06:00:00Z');
      const newer = await next();
      expect([newer.period, outcomes(newer)]).toEqual(['2024-W10', ['file delivered', 'webhook delivered']]);
      goOn();
      const retried = await next();
      expect([retried.period, outcomes(retried)]).toEqual(['2024-W09', ['file delivered', 'webhook failed']]);

      hold.hold(false);
      clock = new Date('2024-03-12T06:59:00Z');
      // Any retry planned after the first one (already fired) goes off, and its firing is waited for.
      const left = retryTimers(59).slice(1).filter((t) => !t.cleared);
      for (const t of left) t.fire();
      for (const _ of left) await next();
      await scheduler.stop();
      expect(hook.received.map((p) => periodOf(p.text))).toEqual(['2024-W10']);
      expect(shop.posts).toBe(5);
      // The first firing's retry only.
      expect(retryTimers(59)).toHaveLength(1);
      expect(said('scheduled report send failed; firing it again later').map((l) => [l.period, l.retry])).toEqual([['2024-W09', 1]]);
      expect(said(SUPERSEDED).map((l) => [l.period, l.channels])).toEqual([['2024-W09', ['webhook']]]);
      expect(said('report schedule fired')).toHaveLength(3);
    } finally {
      hold.release();
      await scheduler.stop();
    }
  });

  it('plans the next retry for a retry that nothing followed while it was under way: it is the newest firing', async () => {
    // The 06:00 firing made at start (09:00) fails at the webhook, and so does its retry, whose
    // pause is held a while with nothing firing: that retry plans the second one.
    shop.answers = [503, 503, 503, 503];
    const hold = pauses();
    const { scheduler, next, retryTimers, said } = start({ webhook: hook.url }, {}, {}, { sleep: hold.sleep });
    try {
      expect(outcomes(await next())).toEqual(['file delivered', 'webhook failed']);
      hold.hold(true);
      retryTimers()[0]!.fire();
      (await hold.paused())();
      const retried = await next();
      expect([retried.period, outcomes(retried)]).toEqual(['2024-W10', ['file delivered', 'webhook failed']]);
      expect(retryTimers()).toHaveLength(2);
      expect(said('scheduled report send failed; firing it again later').map((l) => [l.period, l.retry, l.of])).toEqual([['2024-W10', 1, 2], ['2024-W10', 2, 2]]);
      expect(said(SUPERSEDED)).toEqual([]);
      expect(shop.posts).toBe(4);
    } finally {
      hold.release();
      await scheduler.stop();
    }
  });

  it('takes reportRetries from 0 to 2 and reportRetryMinutes up to a day, both defaulting beside the run retries', () => {
    expect(configSchema.parse({}).retries).toMatchObject({ runRetries: 2, runRetryMinutes: 30, reportRetries: 2, reportRetryMinutes: 30 });
    expect(configSchema.safeParse({ retries: { reportRetries: 3 } }).success).toBe(false);
    expect(configSchema.safeParse({ retries: { reportRetryMinutes: 0 } }).success).toBe(false);
    expect(configSchema.safeParse({ retries: { reportRetryMinutes: 24 * 60 + 1 } }).success).toBe(false);
    expect(configSchema.parse({ retries: { reportRetries: 0, reportRetryMinutes: 24 * 60 } }).retries).toMatchObject({ reportRetries: 0, reportRetryMinutes: 24 * 60 });
  });
});
