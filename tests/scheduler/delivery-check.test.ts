import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { checkDelivery, deliversAnything, reportTimingFindings } from '../../scheduler/delivery-check.ts';
import { runCli } from '../support/cli.ts';
import { GARUDA, LOHIT_DEVANAGARI, requireTestFonts } from '../support/font-files.ts';

/**
 * `verite check` looks at where reports and alerts go without sending anything: the SMTP server
 * is asked to log in (a local one, which takes one user and password), the webhooks are read but
 * never called, the addresses and the reports folder are looked at.
 */

const USER = 'reports@shop.test';
const PASSWORD = 'right-horse-battery';

let smtp: SMTPServer;
let smtpPort: number;
let logins: { user: string; pass: string }[];
let mails: number;
let closedPort: number;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verite-delivery-check-'));
  logins = [];
  mails = 0;
  smtp = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      mails++;
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
  // A port nobody listens on: one bound, then let go.
  const probe: Server = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const smtpUrl = (user: string, password: string, port = smtpPort) => `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`;

function config(reports: unknown[], extra: Record<string, unknown> = {}) {
  return configSchema.parse({ schedules: [], reports, reportsDir: join(dir, 'reports'), ...extra });
}

const email = (smtpUrlEnv: string, to = ['owner@shop.test']) => ({ smtpUrlEnv, from: 'verite <reports@shop.test>', to });

describe('the delivery check', () => {
  it('logs in to the SMTP server and sends nothing; reads the webhook without calling it', async () => {
    const before = logins.length;
    const result = await checkDelivery({
      config: config([{ cron: '0 7 * * 1', kind: 'weekly', to: { webhookEnv: 'HOOK', email: email('SMTP_URL') } }]),
      env: { SMTP_URL: smtpUrl(USER, PASSWORD), HOOK: 'https://hooks.slack.com/services/T000/B000/XXXX' },
    });
    expect(result.level).toBe('ok');
    expect(result.findings.map((f) => f.message)).toEqual([
      `reports are written into ${join(dir, 'reports')} (made on the first report)`,
      `the messages give each report's path in ${join(dir, 'reports')} (set reportsUrl to where a browser reads that folder, and they link the page there)`,
      'reports[0] (weekly): webhook on hooks.slack.com (not called: a call would post a message)',
      `reports[0] (weekly): SMTP server 127.0.0.1:${smtpPort} (SMTP_URL) accepted the login, nothing sent`,
    ]);
    expect(logins.slice(before)).toEqual([{ user: USER, pass: PASSWORD }]);
    expect(mails).toBe(0);
  });

  it('names a refused login, an unreachable server, an unset variable and a broken address as problems', async () => {
    const result = await checkDelivery({
      config: config([
        { cron: '0 7 * * 1', kind: 'weekly', to: { email: email('SMTP_WRONG', ['owner@shop.test', 'accounts at shop.test']) } },
        { cron: '0 7 1 * *', kind: 'monthly', to: { email: email('SMTP_DOWN') } },
        { cron: '0 7 1 1 *', kind: 'quarterly', to: { webhookEnv: 'HOOK_UNSET' } },
        { cron: '0 8 * * 1', kind: 'weekly', to: { email: email('SMTP_TLS') } },
      ]),
      env: { SMTP_WRONG: smtpUrl(USER, 'wrong-horse'), SMTP_DOWN: smtpUrl(USER, PASSWORD, closedPort), SMTP_TLS: smtpUrl(USER, PASSWORD).replace('smtp://', 'smtps://') },
      smtpTimeoutMs: 5_000,
    });
    expect(result.level).toBe('problem');
    const messages = result.findings.map((f) => `${f.level}: ${f.message}`);
    expect(messages).toContainEqual(
      'problem: reports[0] (weekly).to.email.to: "accounts at shop.test" is not an e-mail address (expected name@example.com, or Name <name@example.com>; one address per entry of "to")',
    );
    const refused = messages.find((m) => m.startsWith(`problem: reports[0] (weekly): SMTP server 127.0.0.1:${smtpPort} (SMTP_WRONG): the login was refused (`));
    expect(refused, messages.join('\n')).toBeDefined();
    expect(refused).toContain('check the user and password in the URL');
    // The password is never quoted.
    expect(messages.join('\n')).not.toContain('wrong-horse');
    const down = messages.find((m) => m.startsWith(`problem: reports[1] (monthly): SMTP server 127.0.0.1:${closedPort} (SMTP_DOWN): could not be reached (`));
    expect(down, messages.join('\n')).toBeDefined();
    // smtps:// to a server that speaks plain SMTP first (as on 587).
    expect(messages).toContainEqual(
      `problem: reports[3] (weekly): SMTP server 127.0.0.1:${smtpPort} (SMTP_TLS): it does not speak TLS from the first byte on this port: smtps:// is for port 465; for 587 or 25 write smtp:// (the server is asked for STARTTLS)`,
    );
    expect(messages).toContainEqual(
      'problem: reports[2] (quarterly).to.webhookEnv: the environment variable HOOK_UNSET is not set (nor HOOK_UNSET_FILE, naming a file that holds it)',
    );
  });

  it('calls a server of another machine that offers no STARTTLS a problem, without logging in', async () => {
    const before = logins.length;
    const reports = [{ cron: '0 7 * * 1', kind: 'weekly', to: { email: email('SMTP_URL') } }];
    // The local server (STARTTLS disabled) stands in for another machine's.
    const result = await checkDelivery({ config: config(reports), env: { SMTP_URL: smtpUrl(USER, PASSWORD) }, trustLoopbackSmtp: false, smtpTimeoutMs: 5_000 });
    expect(result.level).toBe('problem');
    expect(result.findings.map((f) => `${f.level}: ${f.message}`)).toContainEqual(
      `problem: reports[0] (weekly): SMTP server 127.0.0.1:${smtpPort} (SMTP_URL): it does not offer STARTTLS, so verite did not log in: the password would cross the network unencrypted. ` +
        'Use its TLS port (smtps://…:465) or a server that offers STARTTLS on 587; only a server on this machine (127.0.0.1, ::1, localhost) is logged in to without TLS',
    );
    expect(logins.length - before).toBe(0);
    // On this machine it is a local relay, and the login is asked for as before.
    const local = await checkDelivery({ config: config(reports), env: { SMTP_URL: smtpUrl(USER, PASSWORD) } });
    expect(local.level).toBe('ok');
    expect(logins.length - before).toBe(1);
  });

  it('asks a server shared by several reports once', async () => {
    const before = logins.length;
    const result = await checkDelivery({
      config: config([
        { cron: '0 7 * * 1', kind: 'weekly', to: { email: email('SMTP_URL') } },
        { cron: '0 7 1 * *', kind: 'monthly', to: { email: email('SMTP_URL') } },
      ]),
      env: { SMTP_URL: smtpUrl(USER, PASSWORD) },
    });
    expect(result.level).toBe('ok');
    expect(result.findings.filter((f) => f.message.includes('accepted the login'))).toHaveLength(2);
    expect(logins.length - before).toBe(1);
  });

  it('warns of a webhook over plain http to another machine, and takes one on this machine', async () => {
    const result = await checkDelivery({
      config: config([{ cron: '0 7 * * 1', kind: 'weekly', to: { webhook: 'http://chat.example.com/hooks/abc' } }], { alerts: { webhookUrlEnv: 'ALERT_HOOK' } }),
      env: { ALERT_HOOK: 'http://127.0.0.1:8065/hooks/xyz' },
    });
    expect(result.findings.map((f) => `${f.level}: ${f.message}`)).toEqual([
      `ok: reports are written into ${join(dir, 'reports')} (made on the first report)`,
      `ok: the messages give each report's path in ${join(dir, 'reports')} (set reportsUrl to where a browser reads that folder, and they link the page there)`,
      "warning: reports[0] (weekly): webhook on chat.example.com is plain http: its token and the report's figures cross the network unencrypted; use its https address",
      'ok: alerts: webhook on 127.0.0.1:8065 (not called: a call would post a message)',
    ]);
    expect(result.level).toBe('warning');
  });

  it('names a Teams Workflows or Discord webhook, and calls a retired Office 365 connector a problem', async () => {
    const result = await checkDelivery({
      config: config(
        [
          { cron: '0 7 * * 1', kind: 'weekly', to: { webhookEnv: 'TEAMS_HOOK' } },
          { cron: '0 7 1 * *', kind: 'monthly', to: { webhookEnv: 'DISCORD_HOOK' } },
          { cron: '0 7 1 1,4,7,10 *', kind: 'quarterly', to: { webhook: 'https://relay.shop.example/chat', webhookFormat: 'teams' } },
        ],
        { alerts: { webhookUrlEnv: 'ALERT_HOOK' } },
      ),
      env: {
        TEAMS_HOOK: 'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s3cret',
        DISCORD_HOOK: 'https://discord.com/api/webhooks/123/t0ken',
        ALERT_HOOK: 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner',
      },
    });
    expect(result.findings.filter((f) => /webhook/.test(f.message)).map((f) => `${f.level}: ${f.message}`)).toEqual([
      'ok: reports[0] (weekly): webhook on prod-12.westeurope.logic.azure.com, a Teams Workflows webhook: sent as an Adaptive Card (not called: a call would post a message)',
      'ok: reports[1] (monthly): webhook on discord.com, a Discord webhook: sent as Discord content of at most 2,000 characters (not called: a call would post a message)',
      'ok: reports[2] (quarterly): webhook on relay.shop.example, a Teams Workflows webhook: sent as an Adaptive Card (not called: a call would post a message)',
      'problem: alerts: webhook on contoso.webhook.office.com: the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired ' +
        '(its retirement completed on 22 May 2026): a message posted there never reaches the channel; in Teams, create a Workflows webhook ' +
        '("Post to a channel when a webhook request is received") and use its URL',
    ]);
    expect(result.level).toBe('problem');
    expect(JSON.stringify(result)).not.toMatch(/s3cret|t0ken/);
  });

  it('says where the messages link the reports: reportsUrl, read and never fetched, warned of over plain http to another machine', async () => {
    const weekly = [{ cron: '0 7 * * 1', kind: 'weekly', to: { webhook: 'https://hooks.slack.com/services/T000/B000/XXXX' } }];
    const linked = (reportsUrl: string) => checkDelivery({ config: config(weekly, { reportsUrl }), env: {} }).then((r) => r.findings.find((f) => f.message.includes('reportsUrl') || f.message.includes('link each report'))!);
    expect(await linked('https://reports.shop.test/reports/')).toEqual({ level: 'ok', message: 'the messages link each report under https://reports.shop.test/reports/ (not fetched)' });
    expect(await linked('http://reports.shop.test/reports/')).toEqual({
      level: 'warning',
      message: "reportsUrl http://reports.shop.test/reports/ is plain http to another machine: the reports' figures cross the network unencrypted; use its https address",
    });
    expect((await linked('http://127.0.0.1:8080/reports/')).level).toBe('ok');
    // A report that is only written sends no message: nothing to say of links.
    const written = await checkDelivery({ config: config([{ cron: '0 7 * * 1', kind: 'weekly' }]), env: {} });
    expect(written.findings.some((f) => f.message.includes('reportsUrl'))).toBe(false);
  });

  it("reads each reportFonts file when a report is e-mailed: a font is fine, a missing file, a text file or a bitmap font is a warning", async () => {
    requireTestFonts();
    const text = join(dir, 'not-a-font.ttf');
    writeFileSync(text, 'this is a text file\n');
    const missing = join(dir, 'gone', 'NotoSansThai-Regular.ttf');
    // A TrueType table directory holding only a bitmap strike (EBLC/EBDT, no glyf or CFF outlines).
    const bitmap = join(dir, 'bitmap.ttf');
    writeFileSync(bitmap, bitmapOnlyFont());
    const files = [GARUDA, missing, text, bitmap, 'fonts/Relative.ttf'];
    const fallbackNote = ": the e-mailed charts will look for the characters DejaVu Sans lacks in the system's font folders only";
    const result = await checkDelivery({
      config: config([{ cron: '0 7 * * 1', kind: 'weekly', to: { email: email('SMTP_URL') } }], { reportFonts: files }),
      env: { SMTP_URL: smtpUrl(USER, PASSWORD) },
    });
    const fonts = result.findings.filter((f) => f.message.startsWith('reportFonts'));
    expect(fonts).toEqual([
      { level: 'ok', message: `reportFonts[0]: ${GARUDA}: a font the e-mailed charts draw with` },
      { level: 'warning', message: `reportFonts[1]: ${missing}: ENOENT: no such file or directory, open '${missing}'${fallbackNote}` },
      { level: 'warning', message: `reportFonts[2]: ${text}: not a TrueType, OpenType or WOFF2 font${fallbackNote}` },
      { level: 'warning', message: `reportFonts[3]: ${bitmap}: holds no outline font (bitmap fonts are not drawn)${fallbackNote}` },
      {
        level: 'warning',
        message: `reportFonts[4]: fonts/Relative.ttf: ENOENT: no such file or directory, open 'fonts/Relative.ttf' (a relative path is read from the folder verite runs in, ${process.cwd()})${fallbackNote}`,
      },
    ]);
    // A warning, not a problem: the report is still sent.
    expect(result.level).toBe('warning');
    // No report e-mailed, no chart drawn as an image: the files are not read.
    const webhookOnly = await checkDelivery({
      config: config([{ cron: '0 7 * * 1', kind: 'weekly', to: { webhookEnv: 'HOOK' } }], { reportFonts: files }),
      env: { HOOK: 'https://hooks.slack.com/services/T000/B000/XXXX' },
    });
    expect(webhookOnly.findings.filter((f) => f.message.startsWith('reportFonts'))).toEqual([]);
  });

  it("names the channel names the e-mailed charts would draw as boxes, and the font that draws them when one does", async () => {
    requireTestFonts();
    // The config's channel rules name the channels the charts write; a Thai one, which DejaVu Sans lacks.
    const channels = [{ channel: 'ร้านค้า', sources: ['line'] }, { channel: 'email', mediums: ['email'] }];
    const reports = [{ cron: '0 7 * * 1', kind: 'weekly', to: { email: email('SMTP_URL') } }];
    const env = { SMTP_URL: smtpUrl(USER, PASSWORD) };
    const noFonts = mkdtempSync(join(dir, 'no-fonts-'));
    const withThai = mkdtempSync(join(dir, 'thai-fonts-'));
    copyFileSync(GARUDA, join(withThai, 'Garuda.ttf'));
    const about = async (extra: Record<string, unknown>, fontFolders: string[], to: unknown[] = reports) =>
      (await checkDelivery({ config: config(to, { channels, ...extra }), env, fontFolders })).findings.filter((f) => f.message.startsWith('channels:'));

    // ร, its tone mark, า, น and ค, each once, in the order written.
    expect(await about({}, [noFonts])).toEqual([
      {
        level: 'warning',
        message: `channels: "ร้านค้า" holds characters no font at hand has (ร้านค): the e-mailed charts will draw them as boxes; no Thai font was found under ${noFonts}: install one (Debian, Ubuntu: apt-get install fonts-thai-tlwg, or only fonts-tlwg-garuda-ttf, or fonts-noto-core) or name its file in the config's reportFonts`,
      },
    ]);
    // Only the named font that has them is named (Lohit Devanagari has no Thai).
    expect(await about({ reportFonts: [LOHIT_DEVANAGARI, GARUDA] }, [noFonts])).toEqual([{ level: 'ok', message: `channels: the characters of the channel names DejaVu Sans lacks (ร้านค) are drawn with ${GARUDA}` }]);
    expect(await about({}, [withThai])).toEqual([{ level: 'ok', message: `channels: the characters of the channel names DejaVu Sans lacks (ร้านค) are drawn with ${join(withThai, 'Garuda.ttf')}` }]);
    // Names DejaVu Sans draws whole, or no chart e-mailed: nothing to say.
    expect(await about({ channels: [{ channel: 'Newsletter – été', mediums: ['email'] }] }, [noFonts])).toEqual([]);
    expect(await about({}, [noFonts], [{ cron: '0 7 * * 1', kind: 'weekly', to: { webhookEnv: 'HOOK' } }])).toEqual([]);
  });

  it('refuses a reports folder that is a file', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const result = await checkDelivery({ config: configSchema.parse({ schedules: [], reports: [{ cron: '0 7 * * 1', kind: 'weekly' }], reportsDir: join(file, 'reports') }), env: {} });
    expect(result.findings[0]).toEqual({ level: 'problem', message: `reportsDir ${join(file, 'reports')}: ${file} is a file, not a folder: reports cannot be written there` });
    expect(result.findings[1]).toEqual({ level: 'ok', message: `reports[0] (weekly): written into ${join(file, 'reports')} only (no webhook or e-mail under "to")` });
  });

  it('warns of a report that fires within the hour after the nightly run of every source starts', () => {
    // Sunday 6 December 2026, noon UTC: the weekly report's next firing is Monday the 7th.
    const now = new Date('2026-12-06T12:00:00Z');
    const timing = (top: Record<string, unknown>) => reportTimingFindings(configSchema.parse(top), now).map((f) => `${f.level}: ${f.message}`);
    const advice = 'made before that run has ended, the report is of the period before, or lacks its last day; fire it some hours after the run (e.g. "0 7 * * 1" for a Monday review after a run at 03:00)';
    // The default schedule: every source at 03:00; the review at 03:05 comes 5 minutes later.
    expect(timing({ reports: [{ cron: '5 3 * * 1', kind: 'weekly' }] })).toEqual([`warning: reports[0] (weekly) fires 5 minutes after the run of every source (0 3 * * *) starts: ${advice}`]);
    expect(timing({ reports: [{ cron: '0 3 * * 1', kind: 'weekly' }] })).toEqual([`warning: reports[0] (weekly) fires when the run of every source (0 3 * * *) starts: ${advice}`]);
    // On the shop's clock: 03:30 Paris is 30 minutes after 03:00 Paris.
    expect(timing({ reportingTimezone: 'Europe/Paris', reports: [{ cron: '30 3 * * 1', kind: 'weekly' }] })).toEqual([`warning: reports[0] (weekly) fires 30 minutes after the run of every source (0 3 * * *) starts: ${advice}`]);
    // Four hours later, a schedule of some sources only, or one every 30 minutes: nothing to say.
    expect(timing({ reports: [{ cron: '0 7 * * 1', kind: 'weekly' }] })).toEqual([]);
    expect(timing({ schedules: [{ cron: '0 3 * * *', sources: ['stripe'] }, { cron: '*/30 * * * *' }], reports: [{ cron: '5 3 * * 1', kind: 'weekly' }] })).toEqual([]);
    // A monthly review on the 1st at 03:20, after a run at 03:00 (the 1st of January 2027 is the next).
    expect(timing({ reports: [{ cron: '20 3 1 * *', kind: 'monthly' }] })).toEqual([`warning: reports[0] (monthly) fires 20 minutes after the run of every source (0 3 * * *) starts: ${advice}`]);
  });

  it('warns of a report that fires on its period’s first day before the nightly run of every source', () => {
    // Sunday 15 March 2025, midnight UTC: the monthly report's next firing is Tuesday 1 April,
    // 00:30 in Paris; the run at 03:00 Paris comes 2 h 30 later, so March's last day (the 31st)
    // is not landed yet and the last complete month is February.
    const now = new Date('2025-03-15T00:00:00Z');
    const timing = (top: Record<string, unknown>) => reportTimingFindings(configSchema.parse({ reportingTimezone: 'Europe/Paris', ...top }), now).map((f) => `${f.level}: ${f.message}`);
    expect(timing({ schedules: [{ cron: '0 3 * * *' }], reports: [{ cron: '30 0 1 * *', kind: 'monthly' }] })).toEqual([
      'warning: reports[0] (monthly) fires on the first day of its month (2025-04-01) before any run of every source (0 3 * * *) has started that day: the month that just ended lacks its last day until that run, so the report covers the month before it; fire it some hours after the run',
    ]);
    // At 07:00, four hours after the run: nothing to say.
    expect(timing({ schedules: [{ cron: '0 3 * * *' }], reports: [{ cron: '0 7 1 * *', kind: 'monthly' }] })).toEqual([]);
    // A weekly review on Mondays at 01:00: Monday 17 March 2025 is the first day of its week.
    expect(timing({ schedules: [{ cron: '0 3 * * *' }], reports: [{ cron: '0 1 * * 1', kind: 'weekly' }] })).toEqual([
      'warning: reports[0] (weekly) fires on the first day of its week (2025-03-17) before any run of every source (0 3 * * *) has started that day: the week that just ended lacks its last day until that run, so the report covers the week before it; fire it some hours after the run',
    ]);
    // A report at 02:00: a run of some sources only at 00:10 does not count; a run of every
    // source at 00:10 does (1 h 50 before the report, past the hour the other warning looks at).
    expect(timing({ schedules: [{ cron: '10 0 * * *', sources: ['stripe'] }, { cron: '0 3 * * *' }], reports: [{ cron: '0 2 1 * *', kind: 'monthly' }] })).toHaveLength(1);
    expect(timing({ schedules: [{ cron: '10 0 * * *' }], reports: [{ cron: '0 2 1 * *', kind: 'monthly' }] })).toEqual([]);
    // No schedule at all (runs started by the system's cron): nothing to judge.
    expect(timing({ schedules: [], reports: [{ cron: '30 0 1 * *', kind: 'monthly' }] })).toEqual([]);
  });

  it('is part of check when the config delivers anything', () => {
    expect(deliversAnything(config([]), {})).toBe(false);
    expect(deliversAnything(config([]), { VERITE_ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/C' })).toBe(true);
    expect(deliversAnything(config([{ cron: '0 7 * * 1', kind: 'weekly' }]), {})).toBe(true);
  });

  it('runs as `verite check --sources delivery`, exiting 1 on a refused login', async () => {
    const file = join(dir, 'verite.json');
    writeFileSync(file, JSON.stringify({ reportsDir: join(dir, 'cli-reports'), reports: [{ cron: '0 7 * * 1', kind: 'weekly', to: { email: email('VERITE_REPORT_SMTP') } }] }));
    const bad = await runCli(['check', '--sources', 'delivery'], { env: { VERITE_CONFIG: file, VERITE_REPORT_SMTP: smtpUrl(USER, 'wrong-horse') }, cwd: dir });
    expect(bad.code, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^delivery\s+problem\s+reports\[0\] \(weekly\): SMTP server 127\.0\.0\.1:\d+ \(VERITE_REPORT_SMTP\): the login was refused/m);
    expect(bad.stdout).toContain('The delivery of reports and alerts has a problem: fix it before the first run.');
    expect(bad.stdout + bad.stderr).not.toContain('wrong-horse');
    const good = await runCli(['check', '--sources', 'delivery'], { env: { VERITE_CONFIG: file, VERITE_REPORT_SMTP: smtpUrl(USER, PASSWORD) }, cwd: dir });
    expect(good.code, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toContain('The delivery of reports and alerts is ready.');
  });
});

/**
 * A font file with a TrueType table directory whose only glyph data is a bitmap strike: `head`,
 * `maxp`, `cmap` (format 4, mapping A to glyph 1) and `EBLC`/`EBDT`, no `glyf` or `CFF `. The
 * tables' contents are the least a reader needs; their checksums are not checked by readers.
 */
function bitmapOnlyFont(): Buffer {
  const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
  const head = Buffer.alloc(54);
  head.writeUInt32BE(0x00010000, 0); // version
  head.writeUInt32BE(0x5f0f3cf5, 12); // magic number
  head.writeUInt16BE(1000, 18); // units per em
  const maxp = Buffer.concat([u32(0x00005000), u16(2)]); // version 0.5, 2 glyphs
  // cmap: one subtable (3,1) of format 4 with the segments A–A and the final 0xFFFF.
  const segments = [[0x41, 0x41, -0x40], [0xffff, 0xffff, 1]];
  const format4 = Buffer.concat([
    u16(4), u16(16 + segments.length * 8), u16(0), u16(segments.length * 2), u16(4), u16(1), u16(0),
    ...segments.map(([, end]) => u16(end!)), u16(0),
    ...segments.map(([start]) => u16(start!)),
    ...segments.map(([, , delta]) => u16(delta! & 0xffff)),
    ...segments.map(() => u16(0)),
  ]);
  const cmap = Buffer.concat([u16(0), u16(1), u16(3), u16(1), u32(12), format4]);
  const eblc = Buffer.concat([u32(0x00020000), u32(0)]); // version 2.0, no strikes
  const ebdt = u32(0x00020000);
  const tables: [string, Buffer][] = [['EBDT', ebdt], ['EBLC', eblc], ['cmap', cmap], ['head', head], ['maxp', maxp]];
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  let offset = 12 + tables.length * 16;
  const records: Buffer[] = [];
  const bodies: Buffer[] = [];
  for (const [tag, data] of tables) {
    records.push(Buffer.concat([Buffer.from(tag, 'latin1'), u32(0), u32(offset), u32(data.length)]));
    bodies.push(pad(data));
    offset += pad(data).length;
  }
  return Buffer.concat([u32(0x00010000), u16(tables.length), u16(64), u16(2), u16(16), ...records, ...bodies]);
}
