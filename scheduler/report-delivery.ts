import { createHash } from 'node:crypto';
import path from 'node:path';
import { readSecret } from '../config/load.ts';
import type { ReportEntry, VeriteConfig } from '../config/schema.ts';
import { httpRequest } from '../lib/http.ts';
import { errorMessage } from '../lib/errors.ts';
import { redactString, type Logger } from '../lib/logger.ts';
import { headlineText } from '../reports/html.ts';
import { reportEmail, type ReportEmail } from '../reports/email.ts';
import type { ReportData } from '../reports/data.ts';
import { makeReport, reportPath, writeReport } from '../reports/index.ts';
import { holdSessionLock } from '../pipeline/lock.ts';
import type { Warehouse } from '../warehouse/connection.ts';
import { reportWebhookSetting, secretUrl, sendsMessages } from './secret-url.ts';
import { lonePercent } from '../lib/url-parts.ts';
import { RetiredWebhookError, webhookPostBody } from '../lib/webhook-flavour.ts';
import { nodemailer, smtpTransportOptions, startTlsRefusal } from './smtp-transport.ts';

export interface ReportDeliveryOptions {
  warehouse: Pick<Warehouse, 'db' | 'pool'>;
  config: VeriteConfig;
  log: Logger;
  entry: ReportEntry;
  /** The time of the firing (the report's "made at"). */
  now: Date;
  /** Where secrets are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Waits before the one retry of a failed send (default 30 s); tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
  /** How long to wait for another scheduler's delivery of the same period (default 10 minutes; a PostgreSQL interval). */
  lockTimeout?: string;
  /** The period to report (`2026-W48`); default the last complete one, as a firing makes. */
  period?: string;
  /** Send to every place even when the period's report already reached it (`verite report --send`). */
  resend?: boolean;
  /**
   * Whether an `smtp://` server on this machine is logged in to without TLS when it offers no
   * STARTTLS (default true; scheduler/smtp-transport.ts). Tests pass false to stand a local
   * server in for another machine's.
   */
  trustLoopbackSmtp?: boolean;
}

export type DeliveryChannel = 'file' | 'webhook' | 'email';

export interface DeliveryOutcome {
  channel: DeliveryChannel;
  /**
   * `skipped`: the period's report had already reached that place (sent by another scheduler, or
   * by an earlier firing), or the place refused its last send of the period for good (then
   * `permanent`, with that send's `error`): not sent again, and not recorded again.
   */
  status: 'delivered' | 'failed' | 'skipped';
  attempts: number;
  error: string | null;
  /**
   * A failure that trying again cannot mend (a retired webhook), recorded as such
   * (`ops.report_deliveries.permanent`): neither `verite schedule`'s retry nor its next start
   * fires the report again for it, and no later firing of the period sends there.
   */
  permanent?: true;
}

export interface ReportDeliveryResult {
  file: string | null;
  period: string | null;
  outcomes: DeliveryOutcome[];
}

const RETRY_DELAY_MS = 30_000;

/** The advisory lock namespace of report deliveries ("vrrp"); the key is the hashtext of the kind and period. */
export const REPORT_LOCK_NAMESPACE = 0x76727270;

/** How long a delivery waits for another scheduler's delivery of the same period before giving up. */
const REPORT_LOCK_TIMEOUT = '10min';

/**
 * Where a channel of a report entry sends, as a digest: the resolved webhook URL (else its
 * setting), or the SMTP variable and the recipients. Two entries or two schedulers sending the
 * same kind of report to the same place give the same digest; the URL, with its token, and the
 * addresses are never stored.
 */
export function deliveryTarget(entry: ReportEntry, channel: 'webhook' | 'email', env: NodeJS.ProcessEnv): string {
  let place: unknown;
  if (channel === 'webhook') {
    const setting = reportWebhookSetting(entry.to);
    let url: string | null = null;
    try {
      url = secretUrl(setting, env);
    } catch {
      url = null;
    }
    place = url ?? { webhook: setting.url ?? null, webhookEnv: setting.env ?? null };
  } else {
    const email = entry.to.email!;
    place = { smtpUrlEnv: email.smtpUrlEnv, to: email.to.map((a) => a.trim().toLowerCase()).sort() };
  }
  return createHash('sha256').update(JSON.stringify([entry.kind, channel, place])).digest('hex').slice(0, 16);
}

/** A place a report is sent to, as `ops.report_deliveries` names it: the channel and its {@link deliveryTarget}. */
export const placeOf = (channel: string, target: string): string => `${channel} ${target}`;

/** The channel of a place {@link placeOf} named. */
export const channelOfPlace = (place: string): 'webhook' | 'email' => place.slice(0, place.indexOf(' ')) as 'webhook' | 'email';

/** The places a report entry sends to (its webhook, its e-mail), as {@link placeOf} names them; none for a page alone. */
export function entryPlaces(entry: ReportEntry, env: NodeJS.ProcessEnv): string[] {
  const channels: ('webhook' | 'email')[] = [];
  if (entry.to.webhook || entry.to.webhookEnv) channels.push('webhook');
  if (entry.to.email) channels.push('email');
  return channels.map((channel) => placeOf(channel, deliveryTarget(entry, channel, env)));
}

/**
 * Where a place of `entry` is set in the config, to name it in a message: `reports[0]
 * (weekly).to.webhookEnv (TEAMS_HOOK)`, `reports[0] (weekly).to.email`; never its URL or addresses.
 */
export function placeSetting(entry: ReportEntry, index: number, place: string): string {
  const label = `reports[${index}] (${entry.kind}).to`;
  if (channelOfPlace(place) === 'email') return `${label}.email`;
  return entry.to.webhookEnv ? `${label}.webhookEnv (${entry.to.webhookEnv})` : `${label}.webhook`;
}

/** How the sends of a period went, by place, whichever scheduler or firing made them. */
export interface PeriodSends {
  /** The places a send reached (recorded delivered). */
  reached: Set<string>;
  /** The places not reached whose last send was refused for good (recorded `permanent`), with its error. */
  refused: Map<string, string | null>;
}

/** How the sends of the report of `kind` for `period` went ({@link PeriodSends}). */
export async function periodSends(db: Warehouse['db'], kind: string, period: string): Promise<PeriodSends> {
  const rows = await db
    .selectFrom('ops.report_deliveries')
    .select(['channel', 'target', 'status', 'permanent', 'error'])
    .where('kind', '=', kind)
    .where('period', '=', period)
    .where('channel', '<>', 'file')
    .where('target', 'is not', null)
    .orderBy('id')
    .execute();
  const reached = new Set<string>();
  const last = new Map<string, (typeof rows)[number]>();
  for (const row of rows) {
    const place = placeOf(row.channel, row.target!);
    if (row.status === 'delivered') reached.add(place);
    last.set(place, row);
  }
  const refused = new Map<string, string | null>();
  for (const [place, row] of last) if (!reached.has(place) && row.status === 'failed' && row.permanent) refused.set(place, row.error);
  return { reached, refused };
}

/** The places of a period's scheduled firings that no delivery of the period reached. */
export interface UnreachedPlaces {
  kind: string;
  period: string;
  /** The latest scheduled firing of the period (its `scheduled_for`). */
  firing: Date;
  /** Each place not reached, with how many firings of the period were to send there. */
  places: Map<string, number>;
  /** Those of {@link places} whose last send of the period was refused for good, with its error ({@link PeriodSends.refused}). */
  refused: Map<string, string | null>;
}

/**
 * The period of the latest scheduled firing of `kind` that wrote its report, and the places its
 * firings were to send to (the `places` of their file rows) that no delivery of the period
 * reached: a firing whose process died before a send was recorded, or whose send failed. Null
 * when no such firing was recorded (before migration 0032, or only by `verite report --send`).
 */
export async function unreachedPlaces(db: Warehouse['db'], kind: string): Promise<UnreachedPlaces | null> {
  const latest = await db
    .selectFrom('ops.report_deliveries')
    .select(['period', 'scheduled_for'])
    .where('kind', '=', kind)
    .where('channel', '=', 'file')
    .where('status', '=', 'delivered')
    .where('places', 'is not', null)
    .where('period', 'is not', null)
    .orderBy('scheduled_for', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!latest?.period || !latest.scheduled_for) return null;
  const period = latest.period;
  const intended = await db
    .selectFrom('ops.report_deliveries')
    .select('places')
    .where('kind', '=', kind)
    .where('period', '=', period)
    .where('channel', '=', 'file')
    .where('status', '=', 'delivered')
    .where('places', 'is not', null)
    .execute();
  const { reached, refused } = await periodSends(db, kind, period);
  const places = new Map<string, number>();
  for (const row of intended) {
    for (const place of new Set(row.places ?? [])) if (!reached.has(place)) places.set(place, (places.get(place) ?? 0) + 1);
  }
  return { kind, period, firing: new Date(latest.scheduled_for), places, refused: new Map([...refused].filter(([place]) => places.has(place))) };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where a report written to `file` is read: under `reportsUrl` when set, else the file's path on this machine. */
export function reportLink(file: string, reportsUrl?: string): string {
  if (!reportsUrl) return path.resolve(file);
  const base = reportsUrl.endsWith('/') ? reportsUrl : `${reportsUrl}/`;
  return new URL(encodeURIComponent(path.basename(file)), base).href;
}

/** The short message of a report: its headline numbers, what changed, and where the page is. */
export function reportSummary(data: ReportData, file: string, reportsUrl?: string): string {
  const partial = data.current.partial ? ` (${data.current.partial})` : '';
  const lines = [`*${data.layout.title} ${data.current.period.id}*${partial} · ${data.shop}`];
  for (const h of data.headlines) {
    const change = h.changePrevious === null ? '' : ` (${h.changePrevious >= 0 ? '+' : '−'}${Math.abs(h.changePrevious * 100).toFixed(1)}% vs ${data.previous.period.id})`;
    lines.push(`• ${h.metric.label}: ${headlineText(h, data.currency)}${change}`);
  }
  const changed = [...data.changes, ...data.alerts.map((a) => `alert firing: ${a.message}`)];
  if (data.reconciliation.ordersWithoutPayment) changed.push(`${data.reconciliation.ordersWithoutPayment} order(s) without payment`);
  if (data.reconciliation.paymentsWithoutOrder) changed.push(`${data.reconciliation.paymentsWithoutOrder} payment(s) without order`);
  if (changed.length) lines.push(`What changed: ${changed.join('; ')}`);
  lines.push(`Report: ${reportLink(file, reportsUrl)}`);
  return lines.join('\n');
}

/**
 * One scheduled report (docs/reports.md): made from the metrics of the last complete period,
 * written into `reportsDir`, then sent to the webhook (a short message, in the format its place
 * takes: lib/webhook-flavour.ts) and by
 * e-mail (the page as the HTML body). Each send is retried once; every outcome, failure
 * included, is recorded in `ops.report_deliveries`. Never throws: a report that cannot be made
 * or sent is logged and recorded, and the data runs go on.
 */
export async function deliverReport(options: ReportDeliveryOptions): Promise<ReportDeliveryResult> {
  const { warehouse, config, log, entry, now } = options;
  const env = options.env ?? process.env;
  const sleep = options.sleep ?? defaultSleep;
  const outcomes: DeliveryOutcome[] = [];
  let file: string | null = null;
  let period: string | null = null;
  const record = async (outcome: DeliveryOutcome & { status: 'delivered' | 'failed' }, target: string | null = null, places: string[] | null = null) => {
    outcomes.push(outcome);
    try {
      await warehouse.db
        .insertInto('ops.report_deliveries')
        .values({ kind: entry.kind, period, file, channel: outcome.channel, status: outcome.status, attempts: outcome.attempts, error: outcome.error, scheduled_for: now, finished_at: new Date(), target, places, permanent: outcome.permanent ?? false })
        .execute();
    } catch (error) {
      log.error({ report: entry.kind, err: errorMessage(error) }, 'report delivery could not be recorded');
    }
    const fields = { report: entry.kind, period, channel: outcome.channel, attempts: outcome.attempts, err: outcome.error ?? undefined };
    if (outcome.status === 'failed') log.error(fields, 'report delivery failed');
    else log.info(fields, 'report delivered');
  };

  let data: ReportData;
  let html: string;
  try {
    ({ data, html } = await makeReport(warehouse.db, config, { kind: entry.kind, now, period: options.period }));
    period = data.current.period.id;
    file = reportPath(config, data);
    await writeReport(file, html);
    // Where this firing is to send it: a place without its delivered row after this (the process
    // died during the send, or the send failed) is made up at the next start (missedFirings).
    // Not for a delivery asked for by hand, whose caller sees how it went.
    await record({ channel: 'file', status: 'delivered', attempts: 1, error: null }, null, options.resend ? null : entryPlaces(entry, env));
  } catch (error) {
    await record({ channel: 'file', status: 'failed', attempts: 1, error: redactString(errorMessage(error)) });
    return { file: null, period, outcomes };
  }

  // The places this period's report already reached (another scheduler, an earlier firing), and
  // those that refused its last send for good.
  let release: (() => Promise<void>) | null = null;
  let sent: PeriodSends = { reached: new Set(), refused: new Map() };
  /** Another scheduler has held this period's delivery longer than the lock's time-out: it is sending, or stuck. */
  let busyElsewhere = false;
  const sends = sendsMessages(entry.to);
  try {
    // The period's delivery lock, across processes and machines: two schedulers firing the same
    // report send it once (the second waits, then finds the places served).
    if (sends) {
      release = await holdSessionLock(warehouse.pool, REPORT_LOCK_NAMESPACE, `${entry.kind} ${period!}`, { lockTimeout: options.lockTimeout ?? REPORT_LOCK_TIMEOUT });
      // Asked for by hand (`resend`), it goes again where it went before.
      if (!options.resend) sent = await periodSends(warehouse.db, entry.kind, period!);
    }
  } catch (error) {
    if ((error as { code?: unknown }).code === '55P03') {
      // lock_not_available: sending too could reach every place twice; the other one records what it sent.
      busyElsewhere = true;
      log.warn({ report: entry.kind, period }, 'another scheduler is still delivering this report (its lock held past the wait): not sent from here');
    } else {
      // Without the lock (the warehouse went away after the report was made), send as before.
      log.warn({ report: entry.kind, period, err: errorMessage(error) }, 'report delivery could not check what was already sent; sending');
    }
  }

  /** A send, retried once after a pause; not made when the period's report already reached that place, or it refused its last send for good. */
  const attempt = async (channel: 'webhook' | 'email', send: () => Promise<void>) => {
    const target = deliveryTarget(entry, channel, env);
    const place = placeOf(channel, target);
    if (busyElsewhere || sent.reached.has(place)) {
      outcomes.push({ channel, status: 'skipped', attempts: 0, error: null });
      if (!busyElsewhere) log.info({ report: entry.kind, period, channel }, 'report already delivered there for this period (by another scheduler or an earlier firing): not sent again');
      return;
    }
    if (sent.refused.has(place)) {
      const error = sent.refused.get(place)!;
      outcomes.push({ channel, status: 'skipped', attempts: 0, error, permanent: true });
      log.info({ report: entry.kind, period, channel, err: error ?? undefined }, 'report not sent there: the place refused its last send of this period for good');
      return;
    }
    let lastError = '';
    for (let n = 1; n <= 2; n++) {
      try {
        await send();
        return record({ channel, status: 'delivered', attempts: n, error: null }, target);
      } catch (error) {
        lastError = redactString(errorMessage(error));
        // A retired webhook takes nothing, now or in 30 seconds.
        if (error instanceof RetiredWebhookError) return record({ channel, status: 'failed', attempts: n, error: lastError, permanent: true }, target);
        if (n === 1) {
          log.warn({ report: entry.kind, channel, err: lastError }, 'report delivery failed; retrying once');
          await sleep(RETRY_DELAY_MS);
        }
      }
    }
    return record({ channel, status: 'failed', attempts: 2, error: lastError }, target);
  };

  try {
    const summary = reportSummary(data, file, config.reportsUrl);
    const to = entry.to;
    if (to.webhook || to.webhookEnv) {
      await attempt('webhook', async () => {
        const setting = reportWebhookSetting(to);
        const url = secretUrl(setting, env)!;
        // The body the webhook's place takes (Slack-compatible, a Teams card, Discord's content); none for a retired connector.
        const body = webhookPostBody(url, setting.format, { text: summary, keepLastLine: true });
        await httpRequest(
          // The URL carries the channel's token: `describe` stands for it in errors and logs.
          { source: 'reports', log, signal: options.signal, retry: { attempts: 1, timeoutMs: 15_000 } },
          { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), describe: 'POST report webhook' },
        );
      });
    }
    if (to.email) {
      const email = to.email;
      let mail: ReportEmail | undefined;
      await attempt('email', async () => {
        const smtpUrl = readSecret(email.smtpUrlEnv, 'reports.to.email.smtpUrlEnv', env);
        const wrong = smtpUrlProblem(smtpUrl, email.smtpUrlEnv);
        if (wrong) throw new Error(wrong);
        // The charts as images (Gmail and Outlook show no SVG in a message), the page attached.
        if (!mail) {
          mail = await reportEmail(html, file, { files: config.reportFonts });
          for (const { chart, reason, characters } of mail.notDrawn) {
            if (characters) log.warn({ report: entry.kind, chart, characters, err: reason }, 'characters of the charts no font at hand has are drawn as boxes in the e-mailed images');
            else log.warn({ report: entry.kind, chart, err: reason }, 'a chart could not be drawn as an image; the e-mail keeps its SVG');
          }
        }
        // STARTTLS required before the login, unless TLS from the start or a server on this machine.
        const smtp = smtpTransportOptions(smtpUrl, { trustLoopback: options.trustLoopbackSmtp });
        const transport = nodemailer().createTransport(smtp);
        try {
          await transport.sendMail({
            from: email.from,
            to: email.to,
            subject: `${data.layout.title} ${data.current.period.id}${data.current.partial ? ' (partial)' : ''} · ${data.shop}`,
            text: summary,
            html: mail.html,
            attachments: mail.attachments,
          });
        } catch (error) {
          const refused = startTlsRefusal(error);
          throw refused ? new Error(`SMTP server ${smtp.host ?? 'localhost'}:${smtp.port ?? 587}: ${refused}`, { cause: error }) : error;
        } finally {
          transport.close();
        }
      });
    }
  } finally {
    await release?.();
  }
  return { file, period, outcomes };
}

/**
 * Why the SMTP URL in `envVar` cannot be read, or undefined. Its parser says only "Invalid URL";
 * the usual cause is a password with a `/`, `?` or `#` (Amazon SES's SMTP passwords may hold a
 * `/`), which ends the user part of a URL unless encoded. The message never quotes the URL.
 */
export function smtpUrlProblem(url: string, envVar: string): string | undefined {
  // Written so that no redaction pattern takes it for a credential.
  const expected = 'a URL such as smtps://smtp.example.com:465 with user:password@ before the host';
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed && (lonePercent(parsed.username) || lonePercent(parsed.password))) {
    return `the user or password in ${envVar} holds a % that two hexadecimal digits do not follow: URL-encode a % as %25, as in ${expected}`;
  }
  // `user:p@ss#w0rd@smtp…` parses, with `ss` for its host: a # is never part of an SMTP URL's address.
  if (parsed && (parsed.protocol === 'smtp:' || parsed.protocol === 'smtps:') && parsed.hostname && !url.includes('#')) return undefined;
  // The user part runs from "//" to the last "@": a "/", "?" or "#" in it cut the URL short.
  const userPart = /^[a-z]+:\/\/(.*)@[^@]*$/i.exec(url)?.[1];
  if (userPart && /[/?#]/.test(userPart)) {
    return `the user or password in ${envVar} holds a "/", "?" or "#", which ends a URL's user part: URL-encode them (/ as %2F, ? as %3F, # as %23), as in ${expected}`;
  }
  if (parsed) return `${envVar} is not an SMTP URL (it begins with ${parsed.protocol}): expected ${expected}`;
  return `${envVar} does not parse as a URL: expected ${expected}, both URL-encoded`;
}
