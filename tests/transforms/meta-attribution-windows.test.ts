import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * Which attribution window `staging.meta_ads_campaigns` counts. Each `actions[]` /
 * `action_values[]` entry holds `value` (Meta: "metric value of default attribution window", the
 * account's setting) and one key per window asked for. The count is, per kind (click, view,
 * engaged view), the longest window the entry holds, summed over the kinds; an entry without a
 * window key counts its `value`. One campaign-day per case, `omni_purchase` counted; a
 * `purchase` entry with other numbers shows that no other type is read.
 */
const row = (campaign: string, purchases: Record<string, unknown>, worth: Record<string, unknown>) => ({
  account_id: '222', account_currency: 'EUR', account_timezone_name: 'UTC', campaign_id: campaign, campaign_name: campaign,
  date_start: '2024-03-02', date_stop: '2024-03-02', spend: '20.00', impressions: '1000', reach: '800', clicks: '40',
  actions: [{ action_type: 'purchase', value: '90', '1d_click': '90' }, { action_type: 'omni_purchase', ...purchases }],
  action_values: [{ action_type: 'purchase', value: '9000', '1d_click': '9000' }, { action_type: 'omni_purchase', ...worth }],
});

const NOW = new Date('2024-03-06T12:00:00Z');
let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('meta_attribution_windows');
  await landRecords(wh.pool, 'meta_ads', 'campaign_insights_daily', [
    // Asked for ["1d_click"]: the account's default window says 5, the window asked for 2.
    row('one-day-click', { value: '5', '1d_click': '2' }, { value: '250.00', '1d_click': '100.00' }),
    // The default 7-day click and 1-day view: 4 after a click plus 1 after a view without one.
    row('click-and-view', { value: '9', '7d_click': '4', '1d_view': '1' }, { value: '450.00', '7d_click': '200.50', '1d_view': '49.50' }),
    // Nested click windows: the 7-day window holds the 1-day one's 2, so 6, not 8.
    row('nested-clicks', { value: '7', '1d_click': '2', '7d_click': '6' }, { value: '350.00', '1d_click': '100.00', '7d_click': '300.00' }),
    // All three kinds: 28-day click (5, holding the 1- and 7-day ones) + 1-day view (1) + 1-day engaged view (2).
    row('three-kinds', { value: '11', '1d_click': '1', '7d_click': '3', '28d_click': '5', '1d_view': '1', '1d_ev': '2' },
      { value: '550.00', '1d_click': '50.00', '7d_click': '150.00', '28d_click': '250.00', '1d_view': '50.00', '1d_ev': '100.00' }),
    // Landed without window keys: its value.
    row('no-window', { value: '3' }, { value: '150.00' }),
    // value is not read when a window is there, so it need not parse.
    row('value-unread', { value: 'n/a', '7d_click': '1' }, { value: 'n/a', '7d_click': '40.00' }),
    // A window read that is not an amount, or is null: the row is set aside.
    row('bad-window', { value: '3', '7d_click': 'two', '1d_view': '1' }, { value: '150.00', '7d_click': '100.00', '1d_view': '50.00' }),
    row('null-window', { value: '3', '1d_view': '1' }, { value: '150.00', '7d_click': null, '1d_view': '50.00' }),
    // A shorter window that is not read is not checked either.
    row('short-unread', { value: '3', '1d_click': 'x', '7d_click': '2' }, { value: '150.00', '1d_click': 'x', '7d_click': '80.00' }),
  ]);
  const config = configSchema.parse({ sources: { meta_ads: { adAccountIds: ['222'], actionAttributionWindows: ['1d_click'] } } });
  const result = await runModels(wh.db, config, { models, select: ['staging.meta_ads_campaigns'], now: NOW });
  expect(result.error).toBeUndefined();
});
afterAll(async () => wh?.close());

describe('Meta purchases counted in the attribution windows each row holds', () => {
  it('counts, per kind of window, the longest one the entry holds, summed over the kinds; an entry without windows counts its value', async () => {
    const got = (await wh.pool.query(`select campaign_id, conversions::text, conversions_value::text from staging.meta_ads_campaigns order by campaign_id`)).rows;
    expect(got).toEqual([
      { campaign_id: 'click-and-view', conversions: '5', conversions_value: '250.00' },
      { campaign_id: 'nested-clicks', conversions: '6', conversions_value: '300.00' },
      { campaign_id: 'no-window', conversions: '3', conversions_value: '150.00' },
      { campaign_id: 'one-day-click', conversions: '2', conversions_value: '100.00' },
      { campaign_id: 'short-unread', conversions: '2', conversions_value: '80.00' },
      { campaign_id: 'three-kinds', conversions: '8', conversions_value: '400.00' },
      { campaign_id: 'value-unread', conversions: '1', conversions_value: '40.00' },
    ]);
  });

  it('sets a row aside when a window it reads is not an amount, naming the entry and the window', async () => {
    const got = (await wh.pool.query(`select key, reason from ops.set_aside where source = 'meta_ads' order by key`)).rows;
    expect(got).toEqual([
      { key: expect.stringContaining('bad-window'), reason: 'actions[1].7d_click "two" is not a decimal amount' },
      { key: expect.stringContaining('null-window'), reason: 'action_values[1].7d_click is missing' },
    ]);
  });
});
