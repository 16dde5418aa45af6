import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { logger } from '../../lib/logger.ts';
import { checkAlerts } from '../../scheduler/alerts.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { startWebhook, type LocalWebhook } from '../support/webhook.ts';

/**
 * Audit of issue 7: docker-compose.yml passes VERITE_ALERT_WEBHOOK_URL, but only a config whose
 * `alerts.webhookUrlEnv` named it sent anything. Without a name (or a `webhookUrl`), that
 * variable is now read by default, as the sources' `...Env` keys have default names.
 */
let wh: Warehouse;
let hook: LocalWebhook<{ text: string }>;
let url: string;
beforeAll(async () => {
  wh = await createTestDatabase('webhook_env');
  hook = await startWebhook({ path: '/services/T000/B000/token' });
  url = hook.url;
});
afterAll(async () => {
  await hook?.close();
  await wh?.close();
});

const config = configSchema.parse({ alerts: { rules: [{ metric: 'run_failed' }] } });
const failed = { runId: 'run-1', status: 'failed' as const, error: 'shopify.orders: HTTP 401' };

describe('the alert webhook from the environment', () => {
  it('is VERITE_ALERT_WEBHOOK_URL when the config names no variable; an empty one (compose’s default) only logs', async () => {
    const [quiet] = await checkAlerts({ warehouse: wh, config, log: logger(), run: failed, env: { VERITE_ALERT_WEBHOOK_URL: '' } });
    expect(quiet).toMatchObject({ change: 'fired', sent: false });
    expect(hook.received).toEqual([]);
    await wh.pool.query('delete from ops.alert_state');
    const [sent] = await checkAlerts({ warehouse: wh, config, log: logger(), run: failed, env: { VERITE_ALERT_WEBHOOK_URL: url } });
    expect(sent).toMatchObject({ change: 'fired', sent: true });
    expect(hook.received.map((p) => p.text)).toEqual([':rotating_light: verite alert: run run-1 failed: shopify.orders: HTTP 401']);
  });
});
