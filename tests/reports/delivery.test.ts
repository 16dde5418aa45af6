import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type ReportEntry } from '../../config/schema.ts';
import { createLogger } from '../../lib/logger.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { renderReportHtml } from '../../reports/html.ts';
import { makeReport } from '../../reports/index.ts';
import { deliverReport, REPORT_LOCK_NAMESPACE, reportSummary, type ReportDeliveryResult } from '../../scheduler/report-delivery.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import { runTransforms } from '../../transforms/runner.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';
import { waitFor } from '../support/spawn-script.ts';
import { runCli } from '../support/cli.ts';
import { CONFIG, landShop } from '../metrics/support/shop.ts';

/**
 * Issue 15, acceptance 3: a scheduled report reaches a local webhook and a local SMTP server
 * (both on 127.0.0.1) with the headline numbers of the hand-made shop (tests/metrics/support/
 * shop.ts: the last complete week is 2024-W10); a delivery that fails is retried once,
 * recorded in ops.report_deliveries, and fails nothing else.
 */

const silent = createLogger({ write: () => undefined }, 'silent');
const now = new Date('2024-03-12T06:00:00Z');
let wh: Warehouse;
let dir: string;
let web: Server;
let webUrl: string;
const posts: { path: string; text: string; body: unknown }[] = [];
let smtp: SMTPServer;
let smtpPort: number;
const mails: { from: string; to: string[]; raw: string }[] = [];
const logins: { user: string; pass: string }[] = [];

/** A quoted-printable body as text (soft line breaks joined, =XX decoded). */
const unquote = (s: string) => Buffer.from(s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');

/** The leaf parts of a MIME message: each one's headers and (still encoded) body. */
function mimeParts(raw: string): { headers: string; body: string }[] {
  const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1]!);
  const escaped = boundaries.map((b) => b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const chunks = raw.split(new RegExp(`\r\n--(?:${escaped.join('|')})(?:--)?\r\n`));
  return chunks
    .map((chunk) => {
      const at = chunk.indexOf('\r\n\r\n');
      return at < 0 ? { headers: chunk, body: '' } : { headers: chunk.slice(0, at), body: chunk.slice(at + 4) };
    })
    .filter((p) => /^content-type:/im.test(p.headers) && !/^content-type: multipart\//im.test(p.headers));
}

/** The Subject header, its RFC 2047 encoded words decoded. */
function subject(raw: string): string {
  const folded = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1] ?? '';
  return folded
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?Q\?(.*?)\?=/gi, (_, t: string) => unquote(t.replace(/_/g, ' ')));
}

beforeAll(async () => {
  wh = await createTestDatabase('reports_delivery');
  await landShop(wh.pool);
  const config = configSchema.parse({ ...CONFIG });
  expect((await runTransforms(wh, config, { now })).status).toBe('succeeded');
  expect((await refreshMetrics(wh, config, silent, { now })).error).toBeUndefined();
  dir = await mkdtemp(path.join(tmpdir(), 'verite-delivery-'));
  web = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const json = JSON.parse(body) as { text: string };
      posts.push({ path: req.url ?? '', text: json.text, body: json });
      if (req.url === '/fail') res.writeHead(500).end('no');
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  smtp = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ user: auth.username ?? '', pass: auth.password ?? '' });
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString('latin1')));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => web?.close(resolve));
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await wh?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const configWith = (reports: unknown[]) => configSchema.parse({ ...CONFIG, schedules: [], reports, reportsDir: dir });

async function deliveries() {
  return (await wh.pool.query(`select kind, period, channel, status, attempts, error from ops.report_deliveries order by id`)).rows;
}

describe('scheduled reports (issue 15)', () => {
  it('reach the webhook and the SMTP server with the headline numbers, and are recorded', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}/hook`, email: { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] } } };
    const config = configWith([entry]);
    const sleeps: number[] = [];
    const result = await deliverReport({
      warehouse: wh, config, log: silent, entry: config.reports[0]!, now,
      env: { REPORT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` }, sleep: async (ms) => void sleeps.push(ms),
    });
    const file = path.join(dir, 'weekly-2024-W10.html');
    expect(result).toEqual({
      file, period: '2024-W10',
      outcomes: [
        { channel: 'file', status: 'delivered', attempts: 1, error: null },
        { channel: 'webhook', status: 'delivered', attempts: 1, error: null },
        { channel: 'email', status: 'delivered', attempts: 1, error: null },
      ],
    });
    expect(sleeps).toEqual([]);
    expect(await readFile(file, 'utf8')).toContain('<h1>Weekly business review: 2024-W10</h1>');

    // The webhook's short message: the week's headline numbers (worked out in report-page.test.ts), what changed, the file.
    const hook = posts.filter((p) => p.path === '/hook');
    expect(hook).toHaveLength(1);
    const lines = hook[0]!.text.split('\n');
    expect(lines[0]).toBe('*Weekly business review 2024-W10* · shop');
    expect(lines).toContain('• Revenue: 354.18 USD');
    expect(lines).toContain('• Orders: 6');
    expect(lines).toContain('• Sessions: 470');
    expect(lines).toContain('• Conversion rate: 1.28%');
    expect(lines).toContain('• Return rate: 25.00%');
    expect(lines).toContain('What changed: 1 order(s) without payment; 1 payment(s) without order');
    expect(lines.at(-1)).toBe(`Report: ${file}`);

    // The e-mail: the page itself as the HTML body.
    expect(mails).toHaveLength(1);
    expect(mails[0]!.from).toBe('verite@shop.test');
    expect(mails[0]!.to).toEqual(['owner@shop.test']);
    expect(subject(mails[0]!.raw)).toBe('Weekly business review 2024-W10 · shop');
    const body = unquote(mails[0]!.raw);
    expect(body).toMatch(/<article class="headline" data-metric="revenue"[^>]*>\s*<h3[^>]*>Revenue<\/h3>\s*<p class="value">354\.18 USD<\/p>/);

    // Its charts as PNG images the body shows by cid (Gmail and Outlook show no SVG in a message), twice the page's size.
    const page = await readFile(file, 'utf8');
    const charts = [...page.matchAll(/data-chart="([^"]+)"[^>]*><h3>[^<]*<\/h3><svg\b[^>]*\bwidth="(\d+)" height="(\d+)"/g)].map((m) => ({ name: m[1]!, width: Number(m[2]), height: Number(m[3]) }));
    expect(charts.length).toBeGreaterThan(0);
    const parts = mimeParts(mails[0]!.raw);
    const html = parts.find((p) => /^content-type: text\/html/im.test(p.headers) && !/^content-disposition: attachment/im.test(p.headers))!;
    const shown = unquote(html.body);
    expect(shown).not.toContain('<svg');
    // The page's CSS custom properties written out (Gmail keeps none, and drops a style block it cannot read).
    expect(page).toContain('color: var(--ink)');
    expect(shown).not.toContain('var(--');
    expect(shown).toMatch(/body \{[^}]*color: #1d2330;/);
    const images = parts.filter((p) => /^content-type: image\/png/im.test(p.headers));
    expect(images).toHaveLength(charts.length);
    for (const chart of charts) {
      expect(shown).toContain(`<img src="cid:${chart.name}.chart@verite"`);
      const image = images.find((p) => p.headers.includes(`<${chart.name}.chart@verite>`))!;
      const png = Buffer.from(image.body.replace(/\s+/g, ''), 'base64');
      expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
      // IHDR: width and height, big-endian, at bytes 16 and 20.
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([chart.width * 2, chart.height * 2]);
    }
    // And the page itself, attached whole, to open in a browser.
    const attached = parts.find((p) => /^content-disposition: attachment; filename=weekly-2024-W10\.html/im.test(p.headers))!;
    expect(Buffer.from(attached.body.replace(/\s+/g, ''), 'base64').toString('utf8')).toBe(page);

    expect(await deliveries()).toEqual([
      { kind: 'weekly', period: '2024-W10', channel: 'file', status: 'delivered', attempts: 1, error: null },
      { kind: 'weekly', period: '2024-W10', channel: 'webhook', status: 'delivered', attempts: 1, error: null },
      { kind: 'weekly', period: '2024-W10', channel: 'email', status: 'delivered', attempts: 1, error: null },
    ]);
  });

  it('names a password that breaks the SMTP URL, sending nothing and never quoting it', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    mails.length = 0;
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { email: { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] } } };
    const config = configWith([entry]);
    // An SMTP password as Amazon SES makes them, with a "/", written into the URL as it is.
    const result = await deliverReport({
      warehouse: wh, config, log: silent, entry: config.reports[0]!, now,
      env: { REPORT_SMTP_URL: `smtp://AKIAEXAMPLE:BLa/b+cdSecret@127.0.0.1:${smtpPort}` }, sleep: async () => undefined,
    });
    const said = 'the user or password in REPORT_SMTP_URL holds a "/", "?" or "#", which ends a URL\'s user part: URL-encode them (/ as %2F, ? as %3F, # as %23), as in a URL such as smtps://smtp.example.com:465 with user:password@ before the host';
    expect(result.outcomes.at(-1)).toEqual({ channel: 'email', status: 'failed', attempts: 2, error: said });
    expect(mails).toEqual([]);
    // Encoded, the same password goes through.
    const encoded = await deliverReport({
      warehouse: wh, config, log: silent, entry: config.reports[0]!, now,
      env: { REPORT_SMTP_URL: `smtp://AKIAEXAMPLE:BLa%2Fb+cdSecret@127.0.0.1:${smtpPort}` }, sleep: async () => undefined,
    });
    expect(encoded.outcomes.at(-1)).toEqual({ channel: 'email', status: 'delivered', attempts: 1, error: null });
    expect(mails).toHaveLength(1);
    expect(logins.at(-1)).toEqual({ user: 'AKIAEXAMPLE', pass: 'BLa/b+cdSecret' });
    // A # after an @ of the password parses, with a host of the password's: named all the same. A lone % too.
    for (const [url, error] of [
      [`smtp://mailer:p@ss#w0rd@127.0.0.1:${smtpPort}`, said],
      [`smtp://mailer:100%sure@127.0.0.1:${smtpPort}`, 'the user or password in REPORT_SMTP_URL holds a % that two hexadecimal digits do not follow: URL-encode a % as %25, as in a URL such as smtps://smtp.example.com:465 with user:password@ before the host'],
    ]) {
      await wh.pool.query('delete from ops.report_deliveries');
      const broken = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env: { REPORT_SMTP_URL: url }, sleep: async () => undefined });
      expect(broken.outcomes.at(-1), url).toMatchObject({ channel: 'email', status: 'failed', error });
    }
    expect(mails).toHaveLength(1);
  });

  it('shows money to the minor unit of the reporting currency, in the page and in the message: 354.177 KWD, 354 JPY, 354.18 USD', async () => {
    const { data } = await makeReport(wh.db, configWith([]), { kind: 'weekly', now });
    // Revenue of 2024-W10: O6 120 + O7 40 + O8 49.99 EUR × 1.08375 (54.1766625) + O9 30 + O11 20 + O12 90 = 354.1766625,
    // over 6 orders an AOV of 59.02944375. The shop's figures, shown as a shop reporting in each currency sees its own:
    // KWD to 3 places (354.1766 → 354.177; 59.0294 → 59.029), JPY to none (354.1 → 354; 59.02 → 59), USD to 2 (354.176 → 354.18; 59.029 → 59.03).
    for (const [currency, revenue, aov] of [['KWD', '354.177 KWD', '59.029 KWD'], ['JPY', '354 JPY', '59 JPY'], ['USD', '354.18 USD', '59.03 USD']] as const) {
      const shown = { ...data, currency };
      const html = renderReportHtml(shown);
      const card = (metric: string) => new RegExp(`data-metric="${metric}"[\\s\\S]*?<p class="value">([^<]*)</p>`).exec(html)?.[1];
      expect(card('revenue'), currency).toBe(revenue);
      expect(card('aov'), currency).toBe(aov);
      // The message's line of a headline, without its change against the week before.
      const message = reportSummary(shown, path.join(dir, 'weekly-2024-W10.html')).split('\n');
      const line = (label: string) => message.find((l) => l.startsWith(`• ${label}: `))?.replace(/ \([+−][\d.]+% vs [^)]*\)$/, '');
      expect(line('Revenue'), currency).toBe(`• Revenue: ${revenue}`);
      expect(line('Average order value'), currency).toBe(`• Average order value: ${aov}`);
    }
  });

  it('does not log in without TLS to an SMTP server of another machine that offers no STARTTLS', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    mails.length = 0;
    logins.length = 0;
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { email: { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] } } };
    const config = configWith([entry]);
    // smtp:// on 587 style, to the local server (STARTTLS disabled), which the seam makes another machine's.
    const env = { REPORT_SMTP_URL: `smtp://mailer:S3cretPassw0rd@127.0.0.1:${smtpPort}` };
    const refused = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env, sleep: async () => undefined, trustLoopbackSmtp: false });
    // The error, then the server's answer to STARTTLS as its cause.
    expect(refused.outcomes.at(-1)).toEqual({
      channel: 'email', status: 'failed', attempts: 2,
      error: `SMTP server 127.0.0.1:${smtpPort}: it does not offer STARTTLS, so verite did not log in: the password would cross the network unencrypted. ` +
        'Use its TLS port (smtps://…:465) or a server that offers STARTTLS on 587; only a server on this machine (127.0.0.1, ::1, localhost) is logged in to without TLS ' +
        '(caused by: Error upgrading connection with STARTTLS: 500 Error: command not recognized)',
    });
    // The server saw no AUTH, nor a message.
    expect(logins).toEqual([]);
    expect(mails).toEqual([]);
    // On this machine (the default) the same server is a trusted local relay: the login goes in plain text.
    const local = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env, sleep: async () => undefined });
    expect(local.outcomes.at(-1)).toEqual({ channel: 'email', status: 'delivered', attempts: 1, error: null });
    expect(logins).toEqual([{ user: 'mailer', pass: 'S3cretPassw0rd' }]);
    expect(mails).toHaveLength(1);
  });

  it('sends to a relay of another machine that takes mail without a login, though it offers no STARTTLS', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    mails.length = 0;
    logins.length = 0;
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { email: { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] } } };
    const config = configWith([entry]);
    // A Compose service's postfix, as it were: no user in the URL; the seam makes the local server another machine's.
    const env = { REPORT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
    const sent = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env, sleep: async () => undefined, trustLoopbackSmtp: false });
    expect(sent.outcomes.at(-1)).toEqual({ channel: 'email', status: 'delivered', attempts: 1, error: null });
    expect(logins).toEqual([]);
    expect(mails.map((m) => m.to)).toEqual([['owner@shop.test']]);
  });

  it('reaches each place once per period: two schedulers firing together, a later firing of the same period', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    mails.length = 0;
    const email = { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] };
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}/twice`, email } };
    const config = configWith([entry]);
    const deliver = (reportEntry: ReportEntry) =>
      deliverReport({ warehouse: wh, config, log: silent, entry: reportEntry, now, env: { REPORT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` }, sleep: async () => undefined });
    // Two schedulers for availability (two sessions of the warehouse) fire the Monday report at once.
    const [a, b] = await Promise.all([deliver(config.reports[0]!), deliver(config.reports[0]!)]);
    const statuses = (r: ReportDeliveryResult) => r.outcomes.map((o) => `${o.channel} ${o.status}`);
    // Each writes its own reports folder; the webhook and the mail go out once, whichever came first.
    expect([statuses(a), statuses(b)]).toEqual(
      expect.arrayContaining([
        ['file delivered', 'webhook delivered', 'email delivered'],
        ['file delivered', 'webhook skipped', 'email skipped'],
      ]),
    );
    expect(posts.filter((p) => p.path === '/twice')).toHaveLength(1);
    expect(mails).toHaveLength(1);

    // A later firing for the same week (a daily cron on a weekly report, a restart's catch-up) sends nothing again;
    // an entry sending the same week to other recipients is another place.
    expect(statuses(await deliver(config.reports[0]!))).toEqual(['file delivered', 'webhook skipped', 'email skipped']);
    const other = configWith([{ ...entry, to: { email: { ...email, to: ['finance@shop.test'] } } }]).reports[0]!;
    expect(statuses(await deliver(other))).toEqual(['file delivered', 'email delivered']);
    expect(posts.filter((p) => p.path === '/twice')).toHaveLength(1);
    expect(mails.map((m) => m.to)).toEqual([['owner@shop.test'], ['finance@shop.test']]);
    expect((await deliveries()).filter((r) => r.channel !== 'file')).toEqual([
      { kind: 'weekly', period: '2024-W10', channel: 'webhook', status: 'delivered', attempts: 1, error: null },
      { kind: 'weekly', period: '2024-W10', channel: 'email', status: 'delivered', attempts: 1, error: null },
      { kind: 'weekly', period: '2024-W10', channel: 'email', status: 'delivered', attempts: 1, error: null },
    ]);
    // No place is stored in words: the webhook's URL carries its token.
    const targets = (await wh.pool.query<{ target: string | null }>(`select target from ops.report_deliveries where channel <> 'file' order by id`)).rows.map((r) => r.target);
    expect(targets.every((t) => t !== null && /^[0-9a-f]{16}$/.test(t))).toBe(true);
    expect(new Set(targets).size).toBe(3);
  });

  it('a failed delivery is retried once, recorded in ops, and the scheduler carries on', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    posts.length = 0;
    // Fires every second; the webhook answers 500; the SMTP URL's variable is not set.
    const config = configWith([{ cron: '* * * * * *', kind: 'monthly', to: { webhook: `${webUrl}/fail`, email: { smtpUrlEnv: 'REPORT_SMTP_UNSET', from: 'a@shop.test', to: ['b@shop.test'] } } }]);
    const results: ReportDeliveryResult[] = [];
    const sleeps: number[] = [];
    const scheduler = startScheduler({
      warehouse: wh, config, log: silent, now: () => now, onReport: (r) => results.push(r),
      reportDelivery: { env: {}, sleep: async (ms) => void sleeps.push(ms) },
    });
    try {
      // Two firings: the first one's failure did not stop the schedule.
      await waitFor('two report firings', () => results.length >= 2);
    } finally {
      await scheduler.stop();
    }
    const failed = { channel: 'webhook', status: 'failed', attempts: 2, error: expect.stringContaining('HTTP 500') };
    const noSmtp = { channel: 'email', status: 'failed', attempts: 2, error: expect.stringContaining('REPORT_SMTP_UNSET is not set') };
    expect(results[0]).toEqual({
      file: path.join(dir, 'monthly-2024-02.html'), period: '2024-02',
      outcomes: [{ channel: 'file', status: 'delivered', attempts: 1, error: null }, failed, noSmtp],
    });
    // Each send was tried twice, with one pause between. Stopping the scheduler aborts the sends of a firing still in
    // flight (recorded as failed), so a later firing may have posted fewer times; one that met the 500 twice posted twice.
    const refused = results.filter((r) => r.outcomes.some((o) => o.channel === 'webhook' && o.error?.includes('HTTP 500'))).length;
    const hookPosts = posts.filter((p) => p.path === '/fail').length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(hookPosts).toBeGreaterThanOrEqual(2 * refused);
    expect(hookPosts).toBeLessThanOrEqual(2 * results.length);
    expect(sleeps.length).toBe(2 * results.length);
    const rows = await deliveries();
    expect(rows.slice(0, 3)).toEqual([
      { kind: 'monthly', period: '2024-02', channel: 'file', status: 'delivered', attempts: 1, error: null },
      { kind: 'monthly', period: '2024-02', ...failed },
      { kind: 'monthly', period: '2024-02', ...noSmtp },
    ]);
    // Nothing of a run was touched: a report is not a run.
    expect((await wh.pool.query(`select count(*)::int as n from ops.runs`)).rows[0].n).toBe(0);
  });

  it('sends nothing while another scheduler holds the period past the wait (it sends, and records what it sent)', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    const other = await wh.pool.connect();
    try {
      // The other scheduler, delivering 2024-W10 and not done.
      await other.query('select pg_advisory_lock($1, hashtext($2))', [REPORT_LOCK_NAMESPACE, 'weekly 2024-W10']);
      const config = configWith([{ cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}/busy` } }]);
      const result = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env: {}, sleep: async () => undefined, lockTimeout: '200ms' });
      expect(result.outcomes.map((o) => `${o.channel} ${o.status}`)).toEqual(['file delivered', 'webhook skipped']);
      expect(posts.filter((p) => p.path === '/busy')).toEqual([]);
    } finally {
      await other.query('select pg_advisory_unlock_all()');
      other.release();
    }
  });

  it('`verite report weekly --send` delivers the configured weekly report now, again where it went before, and says how each send went', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    mails.length = 0;
    const configFile = path.join(dir, 'send.config.json');
    const email = { smtpUrlEnv: 'REPORT_SMTP_URL', from: 'verite@shop.test', to: ['owner@shop.test'] };
    writeFileSync(configFile, JSON.stringify({ ...CONFIG, reportsDir: dir, reports: [{ cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}/manual`, email } }] }));
    const env = { DATABASE_URL: wh.url, VERITE_CONFIG: configFile, REPORT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
    for (let n = 1; n <= 2; n++) {
      const sent = await runCli(['report', 'weekly', '--period', '2024-W10', '--send'], { env });
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout).toBe(`weekly 2024-W10\n  file     delivered ${path.join(dir, 'weekly-2024-W10.html')}\n  webhook  delivered\n  email    delivered\n`);
      expect(posts.filter((p) => p.path === '/manual')).toHaveLength(n);
      expect(mails).toHaveLength(n);
    }
    // The command's process drew the charts too.
    expect(mimeParts(mails.at(-1)!.raw).filter((p) => /^content-type: image\/png/im.test(p.headers)).length).toBeGreaterThan(0);
    // A failed send exits 1; no monthly report is configured, so there is nowhere to send one.
    const refused = await runCli(['report', 'weekly', '--period', '2024-W10', '--send'], { env: { ...env, REPORT_SMTP_URL: 'smtp://127.0.0.1:1' } });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^ {2}email {4}failed: /m);
    const none = await runCli(['report', 'monthly', '--send'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no monthly report is configured, so there is nowhere to send it (configured: weekly;');
  });

  it('links the report under reportsUrl in the webhook message, where the file path meant nothing on a phone', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}/linked` } };
    for (const reportsUrl of ['https://reports.shop.test/reports/', 'https://reports.shop.test/reports']) {
      const config = configSchema.parse({ ...CONFIG, schedules: [], reports: [entry], reportsDir: dir, reportsUrl });
      await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env: {}, sleep: async () => undefined });
      await wh.pool.query('delete from ops.report_deliveries');
    }
    const linked = posts.filter((p) => p.path === '/linked').map((p) => p.text.split('\n').at(-1));
    expect(linked).toEqual(['Report: https://reports.shop.test/reports/weekly-2024-W10.html', 'Report: https://reports.shop.test/reports/weekly-2024-W10.html']);
    expect(() => configSchema.parse({ reportsUrl: 'reports.shop.test' })).toThrow();
    expect(() => configSchema.parse({ reportsUrl: 'ftp://reports.shop.test/' })).toThrow('expected an http(s) URL');
  });

  it('sends the message in the format of the webhook: Slack-compatible as before, a Teams Adaptive Card, Discord content', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    const reportsUrl = 'https://reports.shop.test/reports/';
    for (const [path, webhookFormat] of [['/as-slack', undefined], ['/as-teams', 'teams'], ['/as-discord', 'discord']] as const) {
      const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { webhook: `${webUrl}${path}`, webhookFormat } };
      const config = configSchema.parse({ ...CONFIG, schedules: [], reports: [entry], reportsDir: dir, reportsUrl });
      const result = await deliverReport({ warehouse: wh, config, log: silent, entry: config.reports[0]!, now, env: {}, sleep: async () => undefined });
      expect(result.outcomes.find((o) => o.channel === 'webhook')).toEqual({ channel: 'webhook', status: 'delivered', attempts: 1, error: null });
      await wh.pool.query('delete from ops.report_deliveries');
    }
    // The message of the hand-made shop's 2024-W10 (354.18 USD over 6 orders is 59.03 an order).
    const lines = [
      'Weekly business review 2024-W10',
      '• Revenue: 354.18 USD',
      '• Orders: 6',
      '• Sessions: 470',
      '• Conversion rate: 1.28%',
      '• Average order value: 59.03 USD',
      '• Cart abandonment rate: 89.29%',
      '• Return rate: 25.00%',
      '• On-time delivery rate: 66.67%',
      'What changed: 1 order(s) without payment; 1 payment(s) without order',
    ];
    const link = 'https://reports.shop.test/reports/weekly-2024-W10.html';
    const bodyOf = (path: string) => posts.filter((p) => p.path === path).map((p) => p.body);
    expect(bodyOf('/as-slack')).toEqual([{ text: [`*${lines[0]}* · shop`, ...lines.slice(1), `Report: ${link}`].join('\n') }]);
    expect(bodyOf('/as-teams')).toEqual([
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
              body: [`**${lines[0]}** · shop`, ...lines.slice(1), `Report: [${link}](${link})`].map((text) => ({ type: 'TextBlock', text, wrap: true })),
            },
          },
        ],
      },
    ]);
    expect(bodyOf('/as-discord')).toEqual([{ content: [`**${lines[0]}** · shop`, ...lines.slice(1), `Report: ${link}`].join('\n') }]);
  });

  it('fails a delivery to a retired Office 365 connector at once, saying to create a Workflows webhook, and posts nothing', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    const entry = { cron: '0 7 * * 1', kind: 'weekly', to: { webhookEnv: 'TEAMS_HOOK' } };
    const config = configWith([entry]);
    const sleeps: number[] = [];
    const result = await deliverReport({
      warehouse: wh, config, log: silent, entry: config.reports[0]!, now,
      env: { TEAMS_HOOK: 'https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner-secret' }, sleep: async (ms) => void sleeps.push(ms),
    });
    const retired =
      'the webhook is a Microsoft Teams Office 365 connector (webhook.office.com), which Microsoft retired (its retirement completed on 22 May 2026): ' +
      'a message posted there never reaches the channel; in Teams, create a Workflows webhook ("Post to a channel when a webhook request is received") and use its URL';
    expect(result.outcomes.find((o) => o.channel === 'webhook')).toEqual({ channel: 'webhook', status: 'failed', attempts: 1, error: retired, permanent: true });
    // Not tried again 30 seconds later: it takes nothing, then or now.
    expect(sleeps).toEqual([]);
    expect((await deliveries()).filter((d) => d.channel === 'webhook')).toEqual([{ kind: 'weekly', period: '2024-W10', channel: 'webhook', status: 'failed', attempts: 1, error: retired }]);
    await wh.pool.query('delete from ops.report_deliveries');
  });

  it('verite status shows the last delivery of each kind of report to each place, a failure with its error', async () => {
    await wh.pool.query('delete from ops.report_deliveries');
    await wh.pool.query(`insert into ops.report_deliveries (kind, period, file, channel, status, attempts, error, scheduled_for, finished_at, target) values
      ('weekly', '2024-W10', 'w10.html', 'file', 'delivered', 1, null, '2024-03-11T06:00:00Z', '2024-03-11T06:00:05Z', null),
      ('weekly', '2024-W10', 'w10.html', 'webhook', 'failed', 2, 'POST report webhook: HTTP 500', '2024-03-11T06:00:00Z', '2024-03-11T06:00:40Z', 'a1b2c3d4e5f60718'),
      ('weekly', '2024-W11', 'w11.html', 'file', 'delivered', 1, null, '2024-03-18T06:00:00Z', '2024-03-18T06:00:04Z', null),
      ('weekly', '2024-W11', 'w11.html', 'webhook', 'delivered', 1, null, '2024-03-18T06:00:00Z', '2024-03-18T06:00:06Z', 'a1b2c3d4e5f60718'),
      ('monthly', '2024-02', 'm02.html', 'email', 'failed', 2, 'REPORT_SMTP_URL is not set', '2024-03-01T06:00:00Z', '2024-03-01T06:00:31Z', 'ffeeddccbbaa9988')`);
    const configFile = path.join(dir, 'status.config.json');
    writeFileSync(configFile, JSON.stringify({ reportingTimezone: 'UTC', schedules: [{ cron: '0 3 * * *' }, { cron: '*/30 * * * *', sources: ['shopify'] }], reports: [{ cron: '0 7 * * 1', kind: 'weekly' }] }));
    const status = await runCli(['status'], { env: { DATABASE_URL: wh.url, VERITE_CONFIG: configFile } });
    expect(status.code, status.stderr).toBe(0);
    // What the scheduler fires, with the next time of each (in UTC here): 03:00, a half hour, a Monday 07:00.
    const schedules = status.stdout.slice(status.stdout.indexOf('\nSchedules ('), status.stdout.indexOf('\nReports ('));
    expect(schedules).toMatch(/^run of every source\s+0 3 \* \* \*\s+\d{4}-\d\d-\d\dT03:00:00\.000Z\s*$/m);
    expect(schedules).toMatch(/^run of shopify\s+\*\/30 \* \* \* \*\s+\d{4}-\d\d-\d\dT\d\d:[03]0:00\.000Z\s*$/m);
    expect(schedules).toMatch(/^weekly report\s+0 7 \* \* 1\s+\d{4}-\d\d-\d\dT07:00:00\.000Z\s*$/m);
    const monday = /^weekly report\s+\S+ \S+ \S+ \S+ \S+\s+(\S+)/m.exec(schedules)![1]!;
    expect(new Date(monday).getUTCDay()).toBe(1);
    const section = status.stdout.slice(status.stdout.indexOf('\nReports ('));
    expect(section).toMatch(/^monthly\s+email\s+2024-02\s+FAILED\s+2\s+2024-03-01T06:00:31\.000Z\s+REPORT_SMTP_URL is not set\s*$/m);
    expect(section).toMatch(/^weekly\s+file\s+2024-W11\s+delivered\s+1\s+2024-03-18T06:00:04\.000Z\s*$/m);
    expect(section).toMatch(/^weekly\s+webhook\s+2024-W11\s+delivered\s+1\s+2024-03-18T06:00:06\.000Z\s*$/m);
    // The week before's failed post is history, not the last word.
    expect(section).not.toContain('HTTP 500');
  });
});

