import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { landRecords } from '../support/land.ts';

/**
 * Which of Meta's overlapping purchase action types `staging.meta_ads_campaigns` counts (issue
 * 11: purchases that match Ads Manager). One campaign-day where the types differ, as they do
 * when some purchases happen outside the website: 3 on the website (`purchase` and the pixel's
 * `offsite_conversion.fb_pixel_purchase`), 1 more in the app, so 4 across channels
 * (`omni_purchase`, what Ads Manager's *Purchases* column shows).
 */
const row = {
  account_id: '222', account_currency: 'EUR', account_timezone_name: 'UTC', campaign_id: '33', campaign_name: 'spring',
  date_start: '2024-03-02', date_stop: '2024-03-02', spend: '20.00', impressions: '1000', reach: '800', clicks: '40',
  actions: [
    { action_type: 'link_click', value: '40' },
    { action_type: 'purchase', value: '3' },
    { action_type: 'offsite_conversion.fb_pixel_purchase', value: '3' },
    { action_type: 'app_custom_event.fb_mobile_purchase', value: '1' },
    { action_type: 'omni_purchase', value: '4' },
  ],
  action_values: [
    { action_type: 'purchase', value: '300.00' },
    { action_type: 'offsite_conversion.fb_pixel_purchase', value: '300.00' },
    { action_type: 'app_custom_event.fb_mobile_purchase', value: '80.00' },
    { action_type: 'omni_purchase', value: '380.00' },
  ],
};

let wh: Warehouse;

beforeAll(async () => {
  wh = await createTestDatabase('meta_purchase_type');
  await landRecords(wh.pool, 'meta_ads', 'campaign_insights_daily', [row]);
});
afterAll(async () => wh?.close());

async function conversions(metaAds: Record<string, unknown>): Promise<[number, number]> {
  const config = configSchema.parse({ sources: { meta_ads: { adAccountIds: ['222'], ...metaAds } } });
  const result = await runModels(wh.db, config, { models, select: ['staging.meta_ads_campaigns'], now: new Date('2024-03-06T12:00:00Z') });
  expect(result.error).toBeUndefined();
  const got = (await wh.pool.query('select conversions, conversions_value from staging.meta_ads_campaigns')).rows;
  expect(got).toHaveLength(1);
  return [Number(got[0].conversions), Number(got[0].conversions_value)];
}

describe('Meta purchases counted under one action type', () => {
  it('counts omni_purchase by default, the number Ads Manager shows as Purchases', async () => {
    expect(configSchema.parse({ sources: { meta_ads: { adAccountIds: ['222'] } } }).sources.meta_ads!.purchaseActionType).toBe('omni_purchase');
    // 4 purchases worth 380.00: the website's 3 (300.00) and the app's 1 (80.00), never the sum of the overlapping types (11, 1060.00).
    expect(await conversions({})).toEqual([4, 380]);
  });

  it('counts exactly the type purchaseActionType names', async () => {
    expect(await conversions({ purchaseActionType: 'purchase' })).toEqual([3, 300]);
    expect(await conversions({ purchaseActionType: 'offsite_conversion.fb_pixel_purchase' })).toEqual([3, 300]);
    // A type the rows do not hold counts nothing rather than falling back to another one.
    expect(await conversions({ purchaseActionType: 'onsite_web_purchase' })).toEqual([0, 0]);
  });
});
