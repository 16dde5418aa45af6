import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { adAccountShape, graphErrorShape, insightsRowShape, reportRunShape, reportRunStartShape, resultsPageShape } from './support/meta-shapes.ts';
import { startFakeGraph, type FakeGraph, type InsightsRow } from './support/meta-graph-server.ts';

/**
 * The Graph API stand-in answers with Meta's published shapes (issue 11): each answer the Meta
 * source reads is checked against the shapes derived from Meta's SDK API specification and
 * Graph API guides (support/meta-shapes.ts says which).
 */
const TOKEN = 'EAAshapes-token-0123456789';
let fake: FakeGraph;

const call = async (method: 'GET' | 'POST', path: string, params: Record<string, string> = {}): Promise<{ status: number; body: unknown }> => {
  const query = new URLSearchParams({ access_token: TOKEN, ...params }).toString();
  const res = method === 'GET'
    ? await fetch(`${fake.url}/v24.0/${path}?${query}`)
    : await fetch(`${fake.url}/v24.0/${path}`, { method, body: query, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { status: res.status, body: JSON.parse(await res.text()) };
};

const problems = (shape: z.ZodType, value: unknown): string[] => {
  const result = shape.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

const row = (campaign: string, date: string): InsightsRow => ({
  account_id: '111', account_currency: 'USD', campaign_id: campaign, campaign_name: `Campaign ${campaign}`, date_start: date, date_stop: date,
  spend: '10.00', impressions: '1000', reach: '800', clicks: '25',
  actions: [{ action_type: 'omni_purchase', value: '2', '7d_click': '2', '1d_view': '0' }],
  action_values: [{ action_type: 'omni_purchase', value: '99.80', '7d_click': '99.80', '1d_view': '0' }],
});

beforeAll(async () => {
  fake = await startFakeGraph(TOKEN);
  fake.accounts.set('111', { timezone_name: 'Europe/Paris', currency: 'USD', name: 'Shop' });
  fake.rows = (_account, date) => ['c1', 'c2', 'c3'].map((c) => row(c, date));
  fake.pollsToComplete = 2;
});
afterAll(async () => fake?.close());

describe('the Graph API stand-in against the published shapes', () => {
  it('answers the ad account, an async report, its status and its result pages as the Graph API does', async () => {
    const account = await call('GET', 'act_111', { fields: 'account_id,name,timezone_name,currency' });
    expect(problems(adAccountShape, account.body)).toEqual([]);

    const started = await call('POST', 'act_111/insights', { level: 'campaign', time_increment: '1', time_range: '{"since":"2024-03-01","until":"2024-03-02"}' });
    expect(problems(reportRunStartShape, started.body)).toEqual([]);
    const runId = (started.body as { report_run_id: string }).report_run_id;
    for (let poll = 0; poll < 2; poll++) expect(problems(reportRunShape, (await call('GET', runId, { fields: 'id,async_status,async_percent_completion' })).body)).toEqual([]);

    let page = await call('GET', `${runId}/insights`, { limit: '500' });
    let rows = 0;
    for (;;) {
      expect(problems(resultsPageShape, page.body)).toEqual([]);
      const body = page.body as { data: unknown[]; paging: { next?: string } };
      rows += body.data.length;
      if (!body.paging.next) break;
      const res = await fetch(body.paging.next);
      page = { status: res.status, body: JSON.parse(await res.text()) };
    }
    expect(rows).toBe(6);
  });

  it('answers errors in the Graph API error envelope, code 1 "reduce the amount of data" included', async () => {
    const refused = await fetch(`${fake.url}/v24.0/act_111?access_token=wrong`);
    expect(problems(graphErrorShape, JSON.parse(await refused.text()))).toEqual([]);
    expect(problems(graphErrorShape, (await call('GET', 'act_999')).body)).toEqual([]);
    fake.tooMuchData = () => true;
    const started = (await call('POST', 'act_111/insights', { level: 'campaign', time_increment: '1', time_range: '{"since":"2024-03-01","until":"2024-03-01"}' })).body as { report_run_id: string };
    const tooMuch = await call('GET', `${started.report_run_id}/insights`, { limit: '500' });
    fake.tooMuchData = () => false;
    expect(tooMuch.status).toBe(500);
    expect(problems(graphErrorShape, tooMuch.body)).toEqual([]);
    expect((tooMuch.body as { error: { code: number } }).error.code).toBe(1);
  });

  it("leaves a deleted or archived campaign out of an account's report unless filtering asks for its status, and refuses a malformed filtering", async () => {
    fake.campaignStatus.set('c2', 'DELETED');
    fake.campaignStatus.set('c3', 'ARCHIVED');
    const start = (params: Record<string, string>) =>
      call('POST', 'act_111/insights', { level: 'campaign', time_increment: '1', time_range: '{"since":"2024-03-01","until":"2024-03-02"}', ...params });
    const campaigns = async (params: Record<string, string>): Promise<string[]> => {
      const started = await start(params);
      expect(started.status).toBe(200);
      const runId = (started.body as { report_run_id: string }).report_run_id;
      for (let poll = 0; poll < 2; poll++) await call('GET', runId, { fields: 'id,async_status,async_percent_completion' });
      const ids: string[] = [];
      let body = (await call('GET', `${runId}/insights`, { limit: '500' })).body as { data: InsightsRow[]; paging: { next?: string } };
      for (;;) {
        ids.push(...body.data.map((r) => r.campaign_id));
        if (!body.paging.next) return ids.sort();
        body = JSON.parse(await (await fetch(body.paging.next)).text()) as typeof body;
      }
    };
    const statuses = (operator: string, value: unknown) => ({ filtering: JSON.stringify([{ field: 'campaign.effective_status', operator, value }]) });
    try {
      // Two days of c1, c2 and c3; without filtering only the live c1.
      expect(await campaigns({})).toEqual(['c1', 'c1']);
      expect(await campaigns(statuses('IN', ['ACTIVE', 'PAUSED', 'DELETED', 'ARCHIVED', 'IN_PROCESS', 'WITH_ISSUES']))).toEqual(['c1', 'c1', 'c2', 'c2', 'c3', 'c3']);
      expect(await campaigns(statuses('IN', ['DELETED']))).toEqual(['c2', 'c2']);
      expect(await campaigns(statuses('NOT_IN', ['ACTIVE']))).toEqual([]);

      for (const filtering of [
        'campaign.effective_status',
        '{"field":"campaign.effective_status","operator":"IN","value":["ACTIVE"]}',
        '[{"operator":"IN","value":["ACTIVE"]}]',
        '[{"field":"campaign.effective_status","operator":"AMONG","value":["ACTIVE"]}]',
        '[{"field":"campaign.effective_status","operator":"IN"}]',
        // An ad's status, not a campaign's.
        '[{"field":"campaign.effective_status","operator":"IN","value":["ACTIVE","CAMPAIGN_PAUSED"]}]',
      ]) {
        const refused = await start({ filtering });
        expect(refused.status, filtering).toBe(400);
        expect(problems(graphErrorShape, refused.body)).toEqual([]);
        expect((refused.body as { error: { code: number } }).error.code).toBe(100);
      }
    } finally {
      fake.campaignStatus.clear();
    }
  });

  it('finds what a hand-made row gets wrong (the check can fail)', () => {
    expect(problems(insightsRowShape, { ...row('c1', '2024-03-01'), spend: 10 })).toEqual(['spend: Invalid input: expected string, received number']);
    expect(problems(insightsRowShape, { ...row('c1', '2024-03-01'), actions: [{ action_type: 'purchase', value: '1', '90d_click': '1' }] })).toHaveLength(1);
  });
});
