import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import type { Source } from '../../extractors/types.ts';
import { logger } from '../../lib/logger.ts';
import type { WebhookPayload } from '../../scheduler/alerts.ts';
import { runJob } from '../../scheduler/run-job.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import type { PostLoadStep } from '../../warehouse/post-load-step.ts';
import { createTestDatabase } from '../support/database.ts';
import { createFakeTables, fakeSource } from '../support/fake-source.ts';
import { startWebhook, type LocalWebhook } from '../support/webhook.ts';

/**
 * A signal (SIGTERM, the scheduler stopping) that comes while the post-load steps run: the step
 * running finishes, the ones after it do not start, and the run is recorded as what happened.
 */

let wh: Warehouse;
let hook: LocalWebhook<WebhookPayload>;
beforeAll(async () => {
  wh = await createTestDatabase('stopped_between_steps');
  await createFakeTables(wh.db);
  hook = await startWebhook<WebhookPayload>();
});
afterAll(async () => {
  await hook?.close();
  await wh?.close();
});
beforeEach(async () => {
  hook.received.length = 0;
  await wh.pool.query('delete from ops.alert_state');
});

/** run_failed, and records_set_aside (0 here: a verdict is stored whenever it is judged). */
const config = () =>
  configSchema.parse({
    retries: { streamAttempts: 1, backoffSeconds: 0 },
    alerts: { webhookUrl: hook.url, rules: [{ metric: 'run_failed' }, { metric: 'records_set_aside' }] },
  });

/** The transform, metrics and clv steps, recording that they ran; `signalDuring` aborts the signal while that step runs. */
function steps(controller: AbortController, signalDuring: string, ran: string[]): PostLoadStep[] {
  return ['transform', 'metrics', 'clv'].map((name) => ({
    name,
    run: async () => {
      ran.push(name);
      if (name === signalDuring) controller.abort(new Error('interrupted by SIGTERM'));
      return { status: 'succeeded', summary: `${name} done` };
    },
  }));
}

/** A source whose one stream fails at once. */
const broken: Source<unknown> = {
  name: 'broken',
  streams: [{ ...fakeSource({ streams: ['ticks'] }).streams[0]!, name: 'ticks', read: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('HTTP 503 from the API')) }) }) }],
};

describe('a signal while the post-load steps run', () => {
  it('during the transform: the metrics and clv steps do not start, the run is interrupted, and no alert rule is judged', async () => {
    const controller = new AbortController();
    const ran: string[] = [];
    const sources = [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }];
    const job = await runJob({ warehouse: wh, config: config(), log: logger(), sources, steps: steps(controller, 'transform', ran), signal: controller.signal, overlap: 'skip', heartbeat: true });
    expect(ran).toEqual(['transform']);
    expect(job.status).toBe('interrupted');
    const error = 'interrupted by SIGTERM; the metrics and clv steps did not run, the next run does them (every stream was read, and the transform step ran)';
    const row = await wh.db.selectFrom('ops.runs').select(['status', 'error']).where('id', '=', job.runId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'interrupted', error });
    // Nothing failed before the signal: the rules keep their verdicts (none yet), and nothing is sent.
    expect(await wh.db.selectFrom('ops.alert_state').select('rule').execute()).toEqual([]);
    expect(hook.received).toEqual([]);
  });

  it('after a stream failed: the run is interrupted, and run_failed alone is judged and sent with that failure', async () => {
    const controller = new AbortController();
    const ran: string[] = [];
    const sources = [
      { source: broken, config: {} },
      { source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} },
    ];
    const job = await runJob({ warehouse: wh, config: config(), log: logger(), sources, steps: steps(controller, 'transform', ran), signal: controller.signal, overlap: 'skip' });
    expect(ran).toEqual(['transform']);
    expect(job.status).toBe('interrupted');
    const row = await wh.db.selectFrom('ops.runs').select(['status', 'error']).where('id', '=', job.runId).executeTakeFirstOrThrow();
    expect(row).toEqual({
      status: 'interrupted',
      error: 'interrupted by SIGTERM; the metrics and clv steps did not run, the next run does them (every stream was read, and the transform step ran); broken.ticks: HTTP 503 from the API',
    });
    // records_set_aside is not judged after a stopped run: it has no verdict stored.
    expect(await wh.db.selectFrom('ops.alert_state').select(['rule', 'firing']).execute()).toEqual([{ rule: 'run_failed', firing: true }]);
    expect(hook.received.map((m) => m.text)).toEqual([
      `:rotating_light: verite alert: run ${job.runId} failed: broken.ticks: HTTP 503 from the API (the run was then stopped: interrupted by SIGTERM)`,
    ]);
  });

  it('during the last step: nothing is left undone, so the run ends as it ran and its alert rules are judged', async () => {
    const controller = new AbortController();
    const ran: string[] = [];
    const sources = [{ source: fakeSource({ streams: ['ticks'], pages: 1 }), config: {} }];
    const job = await runJob({ warehouse: wh, config: config(), log: logger(), sources, steps: steps(controller, 'clv', ran), signal: controller.signal, overlap: 'skip' });
    expect(ran).toEqual(['transform', 'metrics', 'clv']);
    expect(job.status).toBe('succeeded');
    const row = await wh.db.selectFrom('ops.runs').select(['status', 'error']).where('id', '=', job.runId).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'succeeded', error: null });
    // Both rules judged: the run succeeded (run_failed 0), and nothing was set aside (0).
    const states = await wh.db.selectFrom('ops.alert_state').select(['rule', 'value', 'firing']).orderBy('rule').execute();
    expect(states).toEqual([
      { rule: 'records_set_aside', value: 0, firing: false },
      { rule: 'run_failed', value: 0, firing: false },
    ]);
  });
});
