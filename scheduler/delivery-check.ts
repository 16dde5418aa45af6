import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { readSecret } from '../config/load.ts';
import type { ChannelRule, ReportEntry, VeriteConfig } from '../config/schema.ts';
import { ok, problem, warning, worstLevel, type CheckFinding, type CheckLevel } from '../extractors/check.ts';
import { ConfigError, errorMessage } from '../lib/errors.ts';
import { redactString } from '../lib/logger.ts';
import { isRemoteHost } from '../pipeline/warehouse-check.ts';
import { smtpUrlProblem } from './report-delivery.ts';
import { nodemailer, smtpTransportOptions, startTlsRefusal } from './smtp-transport.ts';
import { alertWebhookSetting, hasSecretUrl, heartbeatSetting, reportWebhookSetting, secretUrl, secretUrlEnv, sendsMessages, type SecretUrlSetting } from './secret-url.ts';
import { lastCronTimeBetween, nextCronTime } from './scheduler.ts';
import { flavourLabel, RETIRED_CONNECTOR, webhookFlavour } from '../lib/webhook-flavour.ts';
import { localDate } from '../lib/dates.ts';
import { periodOf } from '../reports/period.ts';
import { fallbackAdvice, fallbackFonts, mainFont, missingTextCharacters, namedFontProblem, type ChartFonts } from '../reports/chart-fonts.ts';

/**
 * `verite check`'s look at where reports and alerts go, sending nothing: what a shop owner
 * otherwise learns on the Monday the weekly review does not arrive. Each report's webhook and
 * SMTP variables are read; the SMTP server is asked to log in (nodemailer's `verify`: connect,
 * TLS, authenticate, quit); the addresses are looked at; the reports folder must be writable.
 * A webhook is never called: a call posts a message in the channel.
 */

export interface DeliveryCheckOptions {
  config: Pick<VeriteConfig, 'reports' | 'reportsDir' | 'alerts' | 'schedules' | 'reportingTimezone'> & {
    reportFonts?: readonly string[];
    channels?: readonly Pick<ChannelRule, 'channel'>[];
  };
  /** The folders searched for what DejaVu Sans and `reportFonts` lack (default: the system's, as the delivery searches). */
  fontFolders?: readonly string[];
  /** Where secrets are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** How long the SMTP server has to answer each step (default 15 s). */
  smtpTimeoutMs?: number;
  /** As report delivery's: whether an `smtp://` server on this machine is logged in to without TLS (default true); tests pass false. */
  trustLoopbackSmtp?: boolean;
}

export interface DeliveryCheckResult {
  level: CheckLevel;
  findings: CheckFinding[];
}

/** Whether the config delivers anything a check can look at: a report, or an alert webhook. */
export function deliversAnything(config: DeliveryCheckOptions['config'], env: NodeJS.ProcessEnv = process.env): boolean {
  return config.reports.length > 0 || hasSecretUrl(alertWebhookSetting(config), env) || hasSecretUrl(heartbeatSetting(config), env);
}

export async function checkDelivery(options: DeliveryCheckOptions): Promise<DeliveryCheckResult> {
  const { config } = options;
  const env = options.env ?? process.env;
  const findings: CheckFinding[] = [];
  if (config.reports.length) findings.push(...reportsFolderFindings(config.reportsDir));
  // Where the messages say the report is, when any report sends one.
  if (config.reports.some((r) => sendsMessages(r.to))) findings.push(reportsUrlFinding(config));
  findings.push(...reportTimingFindings(config));
  // The e-mailed charts' fonts, read as the delivery reads them (only e-mail draws the charts as images).
  if (config.reports.some((r) => r.to.email)) {
    findings.push(...(await reportFontFindings(config.reportFonts ?? [])));
    findings.push(...(await channelNameFindings(config.channels ?? [], { files: config.reportFonts ?? [], folders: options.fontFolders })));
  }
  // The same SMTP server named by several reports is asked once.
  const verified = new Map<string, Promise<CheckFinding>>();
  for (const [i, entry] of config.reports.entries()) {
    const label = `reports[${i}] (${entry.kind})`;
    const to = entry.to;
    if (!sendsMessages(to)) {
      findings.push(ok(`${label}: written into ${config.reportsDir} only (no webhook or e-mail under "to")`));
      continue;
    }
    if (to.webhook || to.webhookEnv) findings.push(webhookFinding(label, reportWebhookSetting(to, `${label}.to`), env));
    if (to.email) findings.push(...(await emailFindings(label, to.email, env, verified, { timeoutMs: options.smtpTimeoutMs ?? 15_000, trustLoopback: options.trustLoopbackSmtp })));
  }
  if (hasSecretUrl(alertWebhookSetting(config), env)) findings.push(webhookFinding('alerts', alertWebhookSetting(config), env));
  // The heartbeat is read, never pinged: a ping tells the monitor that a run succeeded.
  if (hasSecretUrl(heartbeatSetting(config), env)) {
    findings.push(webhookFinding('heartbeat', heartbeatSetting(config), env, { noun: 'ping URL', untouched: 'not pinged: a ping tells the monitor a run succeeded' }));
  }
  return { level: worstLevel(findings), findings };
}

/**
 * Each file of `reportFonts` can be read and is a font the charts can draw with; one that cannot
 * is a warning, not a problem: the report is still sent, its charts looking for the characters
 * DejaVu Sans lacks in the system's font folders only, and the delivery's warning says so then.
 */
async function reportFontFindings(files: readonly string[]): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  for (const [i, file] of files.entries()) {
    const wrong = await namedFontProblem(file);
    if (!wrong) {
      findings.push(ok(`reportFonts[${i}]: ${file}: a font the e-mailed charts draw with`));
      continue;
    }
    // A relative path is read from the folder verite runs in, which a service may set apart.
    const relative = path.isAbsolute(file) ? '' : ` (a relative path is read from the folder verite runs in, ${process.cwd()})`;
    findings.push(
      warning(
        `reportFonts[${i}]: ${wrong}${relative}: the e-mailed charts will look for the characters DejaVu Sans lacks in the system's font folders only`,
      ),
    );
  }
  return findings;
}

/**
 * The channel names the e-mailed charts write (the channel mix, predicted value over CAC): the
 * names of the config's `channels` rules. The charts' other text is verite's own labels, dates
 * and figures, all in DejaVu Sans. A character of a name that DejaVu Sans lacks is drawn from a
 * font of `reportFonts` or of the system's folders, as the delivery looks for one; one that none
 * has is drawn as a box, which the owner would first see in the e-mail. A warning: the report is
 * still sent.
 */
async function channelNameFindings(rules: readonly Pick<ChannelRule, 'channel'>[], fonts: ChartFonts): Promise<CheckFinding[]> {
  const names = [...new Set(rules.map((r) => r.channel))];
  const { characters } = await mainFont();
  const lacking = missingTextCharacters(names.join(' '), characters);
  if (lacking.length === 0) return [];
  const found = await fallbackFonts(lacking, fonts);
  if (found.missing.length === 0) {
    return [ok(`channels: the characters of the channel names DejaVu Sans lacks (${lacking.join('')}) are drawn with ${found.drawing.join(', ')}`)];
  }
  const boxed = names.filter((name) => [...name].some((c) => found.missing.includes(c)));
  const quoted = boxed.map((name) => `"${name}"`).join(', ');
  return [
    warning(
      `channels: ${quoted} ${boxed.length === 1 ? 'holds' : 'hold'} characters no font at hand has (${found.missing.join('')}): the e-mailed charts will draw them as boxes; ${fallbackAdvice(found.missing, found.problems, fonts)}`,
    ),
  ];
}

/** The reports folder exists and may be written, or its nearest existing folder may (the report makes the rest). */
function reportsFolderFindings(dir: string): CheckFinding[] {
  const absolute = path.resolve(dir);
  let existing = absolute;
  for (;;) {
    try {
      const stat = statSync(existing);
      if (!stat.isDirectory()) return [problem(`reportsDir ${dir}: ${existing === absolute ? 'it is' : `${existing} is`} a file, not a folder: reports cannot be written there`)];
      break;
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return [problem(`reportsDir ${dir}: verite may not write into ${existing}: give this user write access, or set reportsDir to a folder it may write`)];
  }
  return [ok(existing === absolute ? `reports are written into ${dir}` : `reports are written into ${dir} (made on the first report)`)];
}

/**
 * A webhook's URL is read and looked at, never called. Slack's, Mattermost's, Teams Workflows'
 * and Discord's webhooks are https; http is only for a receiver on the same machine or network.
 * A Teams Office 365 connector's URL is a problem: Microsoft retired those connectors.
 */
function webhookFinding(label: string, setting: SecretUrlSetting, env: NodeJS.ProcessEnv, kind = { noun: 'webhook', untouched: 'not called: a call would post a message' }): CheckFinding {
  let url: string;
  try {
    url = secretUrl(setting, env)!;
  } catch (error) {
    return problem(error instanceof ConfigError ? error.problems.join('; ') : errorMessage(error));
  }
  const variable = secretUrlEnv(setting, env);
  const where = variable ? `${setting.key}Env (${variable})` : setting.key;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return problem(`${where}: the ${kind.noun} does not parse as a URL (expected https://…)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return problem(`${where}: the ${kind.noun} is a ${parsed.protocol} URL: expected https://`);
  let seen = `${label}: ${kind.noun} on ${parsed.host}`;
  // A chat webhook's format, from its host or the config (a ping URL has none).
  if (kind.noun === 'webhook') {
    const flavour = webhookFlavour(parsed, setting.format);
    if (flavour === 'retired-teams-connector') return problem(`${seen}: ${RETIRED_CONNECTOR}`);
    if (flavour !== 'slack' || (setting.format && setting.format !== 'auto')) seen += `, ${flavourLabel(flavour)}`;
  }
  // Another machine, as the warehouse check tells it (a loopback address or a name without a dot is this machine's or its network's).
  if (parsed.protocol === 'http:' && isRemoteHost(parsed.hostname)) {
    return warning(`${seen} is plain http: its token and the report's figures cross the network unencrypted; use its https address`);
  }
  return ok(`${seen} (${kind.untouched})`);
}

/**
 * Where the messages say the report is: under `reportsUrl` (read, never fetched: behind a proxy
 * it may need a login the check does not have), else the file's path on this machine, which a
 * reader of the message elsewhere cannot open.
 */
function reportsUrlFinding(config: Pick<VeriteConfig, 'reportsUrl' | 'reportsDir'>): CheckFinding {
  if (!config.reportsUrl) {
    return ok(`the messages give each report's path in ${config.reportsDir} (set reportsUrl to where a browser reads that folder, and they link the page there)`);
  }
  const url = new URL(config.reportsUrl);
  if (url.protocol === 'http:' && isRemoteHost(url.hostname)) {
    return warning(`reportsUrl ${config.reportsUrl} is plain http to another machine: the reports' figures cross the network unencrypted; use its https address`);
  }
  return ok(`the messages link each report under ${config.reportsUrl} (not fetched)`);
}

type EmailSettings = NonNullable<ReportEntry['to']['email']>;

/** An address as nodemailer takes it: `a@b.example`, or `Name <a@b.example>`. */
const ADDRESS = /^(?:[^<>]*<\s*)?[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+(?:\s*>)?$/;

interface SmtpAsking {
  timeoutMs: number;
  trustLoopback?: boolean;
}

async function emailFindings(label: string, email: EmailSettings, env: NodeJS.ProcessEnv, verified: Map<string, Promise<CheckFinding>>, asking: SmtpAsking): Promise<CheckFinding[]> {
  const findings: CheckFinding[] = [];
  const bad = [email.from, ...email.to].filter((a) => !ADDRESS.test(a.trim()));
  for (const address of bad) {
    const field = address === email.from ? 'from' : 'to';
    findings.push(problem(`${label}.to.email.${field}: "${address}" is not an e-mail address (expected name@example.com, or Name <name@example.com>; one address per entry of "to")`));
  }
  let smtpUrl: string;
  try {
    smtpUrl = readSecret(email.smtpUrlEnv, `${label}.to.email.smtpUrlEnv`, env);
  } catch (error) {
    findings.push(problem(error instanceof ConfigError ? error.problems.join('; ') : errorMessage(error)));
    return findings;
  }
  const wrong = smtpUrlProblem(smtpUrl, email.smtpUrlEnv);
  if (wrong) {
    findings.push(problem(`${label}: ${wrong}`));
    return findings;
  }
  if (!verified.has(smtpUrl)) verified.set(smtpUrl, verifySmtp(smtpUrl, email.smtpUrlEnv, asking));
  const login = await verified.get(smtpUrl)!;
  findings.push({ level: login.level, message: `${label}: ${login.message}` });
  return findings;
}

/**
 * The SMTP server named by the URL, asked to log in and let go (nothing is sent), with the
 * transport a report's e-mail takes: STARTTLS required before the login unless the URL is
 * smtps:// or the server is on this machine.
 */
async function verifySmtp(smtpUrl: string, envVar: string, asking: SmtpAsking): Promise<CheckFinding> {
  const url = new URL(smtpUrl);
  const port = url.port || (url.protocol === 'smtps:' ? '465' : '587');
  const server = `${url.hostname}:${port}`;
  const login = url.username ? 'accepted the login' : 'answered (the URL has no user: sending without logging in)';
  const { timeoutMs } = asking;
  const transport = nodemailer().createTransport({ ...smtpTransportOptions(smtpUrl, { trustLoopback: asking.trustLoopback }), connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  try {
    await transport.verify();
    return ok(`SMTP server ${server} (${envVar}) ${login}, nothing sent`);
  } catch (error) {
    return problem(`SMTP server ${server} (${envVar}): ${smtpFailure(error)}`);
  } finally {
    transport.close();
  }
}

/** nodemailer's error as what to do about it, never quoting the URL. */
function smtpFailure(error: unknown): string {
  const e = error as { code?: string; responseCode?: number; message?: string };
  const said = redactString(errorMessage(error));
  const refused = startTlsRefusal(error);
  if (refused) return refused;
  // smtps:// (TLS from the first byte) to a port that speaks plain SMTP first, as 587 and 25 do.
  if (/wrong version number|packet length too long/i.test(said)) {
    return 'it does not speak TLS from the first byte on this port: smtps:// is for port 465; for 587 or 25 write smtp:// (the server is asked for STARTTLS)';
  }
  switch (e.code) {
    case 'EAUTH':
      return `the login was refused (${said}): check the user and password in the URL (URL-encoded), and that the account may send over SMTP (Gmail and Microsoft 365 want an app password)`;
    case 'ECONNECTION':
    case 'ESOCKET':
    case 'ETIMEDOUT':
      return `could not be reached (${said}): check the host and port (587 for smtp:// with STARTTLS, 465 for smtps://) and that this machine may connect out to it`;
    case 'EDNS':
      return `its host name does not resolve (${said})`;
    case 'ETLS':
      return `TLS failed (${said}): smtps:// is for port 465; use smtp:// for 587, where the server offers STARTTLS`;
    default:
      return said;
  }
}

/** How soon after a nightly run starts a report may fire before it risks being made ahead of the run's end. */
const REPORT_AFTER_RUN_MINUTES = 60;

/**
 * A report that fires less than an hour after a daily run of every source starts: made before
 * the run has landed the last day, the report's "last complete period" is the one before (a
 * Monday review of the week before last), or its last day is missing. Judged on the report's
 * next firing; only schedules of every source that fire once a day or less count (a schedule
 * every 30 minutes keeps the data fresh all day).
 */
export function reportTimingFindings(config: Pick<VeriteConfig, 'reports' | 'schedules' | 'reportingTimezone'>, now: Date = new Date()): CheckFinding[] {
  const daily = config.schedules.filter((s) => {
    if (s.sources !== undefined) return false;
    const fields = cron.parse(s.cron);
    return fields.hour.length === 1 && fields.minute.length === 1 && fields.second.length === 1;
  });
  const findings: CheckFinding[] = [];
  for (const [i, report] of config.reports.entries()) {
    const next = nextCronTime(report.cron, config.reportingTimezone, now);
    if (!next) continue;
    for (const schedule of daily) {
      // The run's latest start at or before the report's minute, within the hour before it.
      const started = lastCronTimeBetween(schedule.cron, config.reportingTimezone, new Date(next.getTime() - REPORT_AFTER_RUN_MINUTES * 60_000), new Date(next.getTime() + 60_000));
      if (!started) continue;
      const gap = Math.round((next.getTime() - started.getTime()) / 60_000);
      findings.push(
        warning(
          `reports[${i}] (${report.kind}) fires ${gap === 0 ? 'when' : `${gap} minute${gap === 1 ? '' : 's'} after`} the run of every source (${schedule.cron}) starts: made before that run has ended, the report is of the period before, or lacks its last day; fire it some hours after the run (e.g. "0 7 * * 1" for a Monday review after a run at 03:00)`,
        ),
      );
      break;
    }
    if (!findings.some((f) => f.message.startsWith(`reports[${i}] `))) findings.push(...firstDayFindings(config, i, report, now));
  }
  return findings;
}

const PERIOD_WORD = { weekly: 'week', monthly: 'month', quarterly: 'quarter' } as const;

/** How many of a report's next firings are looked through for one on the first day of its period. */
const FIRINGS_LOOKED_AT = 100;

/**
 * A weekly, monthly or quarterly report that fires on its period's first day (the shop's
 * calendar) before any schedule of every source has started that day: the period that just
 * ended lacks its last day until that run, so the report's "last complete period" is the one
 * before (a report at 00:30 on 1 April, a run at 03:00, reports February). Judged on the report's
 * next firing on such a day; nothing is said when no schedule runs every source (runs started
 * elsewhere, by the system's cron), as verite cannot know when they come.
 */
function firstDayFindings(config: Pick<VeriteConfig, 'schedules' | 'reportingTimezone'>, i: number, report: ReportEntry, now: Date): CheckFinding[] {
  const everySource = config.schedules.filter((s) => s.sources === undefined);
  if (!everySource.length) return [];
  const tz = config.reportingTimezone;
  let firing: Date | null = now;
  let day: string | null = null;
  for (let n = 0; n < FIRINGS_LOOKED_AT && firing; n++) {
    firing = nextCronTime(report.cron, tz, firing);
    if (!firing) break;
    const date = localDate(firing, tz);
    if (periodOf(report.kind, date).start === date) {
      day = date;
      break;
    }
  }
  if (!firing || !day) return [];
  // Started that day: a schedule's latest time at or before the report's minute falls on the same local date.
  const startedThatDay = everySource.some((s) => {
    if (cron.parse(s.cron).second.length > 1) return true;
    const started = lastCronTimeBetween(s.cron, tz, new Date(firing.getTime() - 26 * 3_600_000), new Date(firing.getTime() + 60_000));
    return started !== null && localDate(started, tz) === day;
  });
  if (startedThatDay) return [];
  const period = PERIOD_WORD[report.kind];
  return [
    warning(
      `reports[${i}] (${report.kind}) fires on the first day of its ${period} (${day}) before any run of every source (${everySource.map((s) => s.cron).join(', ')}) has started that day: the ${period} that just ended lacks its last day until that run, so the report covers the ${period} before it; fire it some hours after the run`,
    ),
  ];
}
