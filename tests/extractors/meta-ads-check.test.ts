import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { setSleep } from '../../lib/http.ts';
import { logger } from '../../lib/logger.ts';
import { checkSources } from '../../pipeline/check.ts';
import { startFakeGraph, type FakeGraph } from './support/meta-graph-server.ts';

/**
 * `verite check` on a Meta token that will stop working: Meta never says a token is about to
 * expire, and a person's token lasts 60 days, so the nightly run just starts failing with code
 * 190. The check reads the token's own `debug_token` (a local Graph stand-in answers it in
 * Meta's published shape) and warns ahead of its end.
 */

const NOW = new Date('2026-12-05T09:00:00Z');
const TOKEN = 'EAAmetacheck-system-user-token';
const at = (iso: string) => Date.parse(iso) / 1000;

let graph: FakeGraph;
let restoreSleep: () => void;

beforeAll(async () => {
  restoreSleep = setSleep(async () => undefined);
  process.env.VERITE_META_CHECK_TOKEN = TOKEN;
  graph = await startFakeGraph(TOKEN);
  graph.accounts.set('111', { timezone_name: 'Europe/Paris', currency: 'EUR', name: 'Shop FR' });
});
afterAll(async () => {
  restoreSleep();
  delete process.env.VERITE_META_CHECK_TOKEN;
  await graph.close();
});

async function check(tokenInfo: Record<string, unknown>) {
  graph.tokenInfo = tokenInfo;
  graph.requests.length = 0;
  const config = configSchema.parse({
    reportingTimezone: 'Europe/Paris',
    reportingCurrency: 'EUR',
    sources: { meta_ads: { adAccountIds: ['111'], accessTokenEnv: 'VERITE_META_CHECK_TOKEN', graphBaseUrl: graph.url } },
  });
  const [result] = await checkSources({ config, log: logger(), now: NOW });
  return { level: result!.level, messages: result!.findings.map((f) => `${f.level}: ${f.message}`) };
}

const valid = { app_id: '4410000000001', type: 'USER', application: 'verite shop reporting', is_valid: true, scopes: ['ads_read', 'business_management'], user_id: '100090000000001' };
const RENEW = "make a token that does not expire: a system user's (Business settings, System users, Generate token, expiry Never); a person's token lasts 60 days";

describe("verite check: the Meta token's life", () => {
  it('says nothing of a token that never expires, asking debug_token with the token itself', async () => {
    const { level, messages } = await check({ ...valid, expires_at: 0, data_access_expires_at: 0 });
    expect(level).toBe('ok');
    expect(messages.filter((m) => m.includes('token'))).toEqual([]);
    const asked = graph.requests.find((r) => r.path === 'debug_token');
    expect(asked?.params.input_token).toBe(TOKEN);
  });

  it('gives the end of a token that expires later, and warns 14 days ahead of it', async () => {
    // 2027-01-20 is 46 days after the check: said, not warned.
    expect((await check({ ...valid, expires_at: at('2027-01-20T12:00:00Z') })).messages).toContain('ok: the token expires on 2027-01-20');
    // 2026-12-15 12:00 is 10 days and 3 hours after 2026-12-05 09:00.
    const soon = await check({ ...valid, expires_at: at('2026-12-15T12:00:00Z') });
    expect(soon.level).toBe('warning');
    expect(soon.messages).toContain(`warning: the token in VERITE_META_CHECK_TOKEN expires on 2026-12-15, in 10 days: the runs fail from then; ${RENEW}`);
  });

  it('warns of the end of its access to data, and calls a token without ads_read a problem', async () => {
    const ending = await check({ ...valid, expires_at: 0, data_access_expires_at: at('2026-12-08T00:00:00Z') });
    // 2026-12-08 00:00 is 2 days and 15 hours after the check.
    expect(ending.messages).toContain(`warning: the token's access to data ends on 2026-12-08, in 2 days: the person must use the app again before then, or ${RENEW}`);
    const unscoped = await check({ ...valid, expires_at: 0, scopes: ['public_profile', 'pages_show_list'] });
    expect(unscoped.level).toBe('problem');
    expect(unscoped.messages).toContain(
      'problem: the token in VERITE_META_CHECK_TOKEN lacks the permission ads_read (it has public_profile, pages_show_list): give the system user ads_read on the ad accounts and generate the token again with it',
    );
    // ads_management includes reading.
    expect((await check({ ...valid, expires_at: 0, scopes: ['ads_management'] })).level).toBe('ok');
  });

  it('calls an expired or invalidated token a problem', async () => {
    const expired = await check({ ...valid, is_valid: false, expires_at: at('2026-11-30T08:00:00Z') });
    expect(expired.level).toBe('problem');
    expect(expired.messages).toContain(`problem: Meta says the token in VERITE_META_CHECK_TOKEN is no longer valid (it expired on 2026-11-30): ${RENEW}, and put it in VERITE_META_CHECK_TOKEN`);
  });

  it('goes on without it when Meta will not say', async () => {
    graph.script({ match: (r) => r.path === 'debug_token', status: 400, body: { error: { message: '(#100) You must provide an app access token, or a user access token that is an owner or developer of the app', type: 'OAuthException', code: 100, fbtrace_id: 'AbC' } } });
    const { level, messages } = await check({ ...valid });
    expect(level).toBe('ok');
    expect(messages.filter((m) => !m.includes('Marketing API'))).toEqual(['ok: ad account act_111 in EUR, Europe/Paris']);
    expect(graph.pendingScripts()).toBe(0);
  });
});
