import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { VeriteConfig } from '../config/schema.ts';
import { errorMessage, UsageError } from '../lib/errors.ts';
import { redactString, type Logger } from '../lib/logger.ts';
import { metricDefinitions } from '../metrics/definitions/index.ts';
import { driverUrl } from '../warehouse/connection.ts';
import type { Database } from '../warehouse/database.ts';
import { escapeHtml } from './html.ts';
import { makeReport } from './index.ts';
import { REPORT_KINDS, type ReportKind } from './period.ts';

/**
 * `verite serve`'s pages (docs/reports.md): the reports written so far and their archive, a
 * live view of each report from the current data, and the metric catalogue. Read-only by
 * construction: GET and HEAD only (405 otherwise), the only inputs are a report kind and a
 * period that must parse as one, and every query runs in a session whose transactions are read
 * only (`default_transaction_read_only`), inside a READ ONLY transaction.
 */

export interface ReportServerOptions {
  /** A database handle whose sessions are read-only ({@link readOnlyDatabase}). */
  db: Kysely<Database>;
  config: VeriteConfig;
  log: Logger;
  /** Default 127.0.0.1; anything else is the caller's explicit choice (`--host`). */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /**
   * Names besides this machine's own that requests to a loopback-bound server may be addressed
   * to (`--allowed-host`): a reverse proxy on this machine that passes on the public name.
   */
  allowedHosts?: readonly string[];
  now?: () => Date;
}

/** An address or name that is this machine: 127.0.0.0/8, ::1, `localhost` (and `*.localhost`, which browsers keep on loopback). */
export function isLoopbackName(name: string): boolean {
  const n = name.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return n === 'localhost' || n.endsWith('.localhost') || n === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(n);
}

/**
 * Whether a request to a loopback-bound server is addressed to it: its `Host` names this
 * machine or an allowed name. A page on another site the browser is reading can have its name
 * re-pointed at 127.0.0.1 (DNS rebinding) and then read the pages as its own; its requests carry
 * its own name, and are refused. A request without a `Host` (HTTP/1.0, no browser) is answered.
 */
export function hostAllowed(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (hostHeader === undefined || hostHeader === '') return true;
  let name: string;
  try {
    name = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  return isLoopbackName(name) || allowed.some((a) => a.toLowerCase() === name.toLowerCase());
}

export interface ReportServer {
  url: string;
  close(): Promise<void>;
  /**
   * The configuration the next requests are served with (the reports folder, and the live views'
   * conventions): `verite schedule --serve`'s pages follow a reload (SIGHUP) as its firings do.
   */
  useConfig(config: VeriteConfig): void;
}

/** A connection pool on `url` whose every session is read-only and whose statements time out after a minute. */
export function readOnlyDatabase(url: string): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: driverUrl(url),
    max: 4,
    application_name: 'verite serve',
    // Dates, floats and times written as verite reads them, whatever the server's defaults (warehouse/connection.ts).
    options: '-c default_transaction_read_only=on -c statement_timeout=60s -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1 -c TimeZone=UTC',
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return { pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}

const REPORT_FILE = /^(weekly|monthly|quarterly)-(\d{4}-(?:W\d{2}|\d{2}|Q\d))\.html$/;

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>body{margin:0 auto;max-width:1100px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330}
table{border-collapse:collapse;font-size:13px}td,th{padding:4px 10px;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}.muted{color:#667085}</style></head>
<body>${body}</body></html>
`;

async function reportFiles(dir: string): Promise<{ name: string; kind: string; period: string; modified: Date }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const files = await Promise.all(
    names.flatMap((name) => {
      const m = REPORT_FILE.exec(name);
      return m ? [stat(path.join(dir, name)).then((s) => ({ name, kind: m[1]!, period: m[2]!, modified: s.mtime }))] : [];
    }),
  );
  return files.sort((a, b) => (a.kind === b.kind ? b.period.localeCompare(a.period) : REPORT_KINDS.indexOf(a.kind as ReportKind) - REPORT_KINDS.indexOf(b.kind as ReportKind)));
}

async function indexPage(config: VeriteConfig): Promise<string> {
  const files = await reportFiles(config.reportsDir);
  const latest = REPORT_KINDS.map((kind) => files.find((f) => f.kind === kind)).filter((f) => f !== undefined);
  const link = (f: { name: string; period: string; kind: string }) => `<a href="/reports/${encodeURIComponent(f.name)}">${escapeHtml(f.kind)} ${escapeHtml(f.period)}</a>`;
  return page(
    'verite',
    `<h1>verite</h1>
<h2>Live reports, from the current data</h2>
<ul>${REPORT_KINDS.map((k) => `<li><a href="/live/${k}">${k}</a> <span class="muted">(last complete period; <code>?period=</code> for another)</span></li>`).join('')}</ul>
<h2>Latest reports written</h2>
${latest.length ? `<ul>${latest.map((f) => `<li>${link(f)}</li>`).join('')}</ul>` : `<p class="muted">None yet in ${escapeHtml(config.reportsDir)}: <code>verite report weekly</code>, or the <code>reports</code> of the config.</p>`}
<h2>Archive</h2>
${files.length ? `<table><tr><th>Report</th><th>Written</th></tr>${files.map((f) => `<tr><td>${link(f)}</td><td>${f.modified.toISOString().slice(0, 16).replace('T', ' ')} UTC</td></tr>`).join('')}</table>` : '<p class="muted">Empty.</p>'}
<h2><a href="/catalogue">Metric catalogue</a></h2>`,
  );
}

/** The metric catalogue: every metric's definition, as `metrics.catalog` and docs/metrics.md hold them. */
export function cataloguePage(): string {
  const rows = metricDefinitions
    .map(
      (m) =>
        `<tr id="${escapeHtml(m.name)}"><td><code>${escapeHtml(m.name)}</code></td><td>${escapeHtml(m.label)}</td><td>${escapeHtml(m.description)}</td><td><code>${escapeHtml(m.formula)}</code></td><td>${escapeHtml(m.unit)}</td><td>${escapeHtml(m.views.join(', '))}</td></tr>`,
    )
    .join('\n');
  return page('Metric catalogue · verite', `<h1>Metric catalogue</h1><p class="muted"><a href="/">verite</a> · ${metricDefinitions.length} metrics</p>
<table><tr><th>Name</th><th>Label</th><th>Definition</th><th>Formula</th><th>Unit</th><th>Published in</th></tr>
${rows}</table>`);
}

class HttpError extends Error {
  readonly status: number;
  constructor(
    status: number,
    message: string,
  ) {
    super(message);
    this.status = status;
  }
}

/** Starts the pages on `host:port`; resolves once listening. */
export async function startReportServer(options: ReportServerOptions): Promise<ReportServer> {
  const { db, log } = options;
  let config = options.config;
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  // Bound to this machine only: requests must be addressed to it. Bound beyond it (--host), the
  // pages are open to whoever reaches the address, whatever name they use.
  const guardHost = isLoopbackName(host);
  const allowedHosts = options.allowedHosts ?? [];

  const route = async (req: IncomingMessage): Promise<{ status: number; html: string }> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts.length === 0) return { status: 200, html: await indexPage(config) };
    if (parts.length === 1 && (parts[0] === 'catalogue' || parts[0] === 'catalog')) return { status: 200, html: cataloguePage() };
    if (parts.length === 2 && parts[0] === 'reports') {
      const name = decodeURIComponent(parts[1]!);
      if (!REPORT_FILE.test(name)) throw new HttpError(404, 'no such report');
      try {
        return { status: 200, html: await readFile(path.join(config.reportsDir, name), 'utf8') };
      } catch {
        throw new HttpError(404, 'no such report');
      }
    }
    if (parts.length === 2 && parts[0] === 'live') {
      const kind = parts[1]! as ReportKind;
      if (!REPORT_KINDS.includes(kind)) throw new HttpError(404, `no report ${kind}`);
      const period = url.searchParams.get('period') ?? undefined;
      try {
        const report = await db.transaction().execute(async (trx) => {
          await sql`set transaction read only`.execute(trx);
          return makeReport(trx, config, { kind, period, now: now() });
        });
        return { status: 200, html: report.html };
      } catch (error) {
        if (error instanceof UsageError) throw new HttpError(error.message.startsWith('--period') ? 400 : 404, error.message);
        throw error;
      }
    }
    throw new HttpError(404, 'not found');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, html: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
      res.end(req.method === 'HEAD' ? undefined : html);
    };
    if (guardHost && !hostAllowed(req.headers.host, allowedHosts)) {
      // Answered before anything is read: 421, the request was not meant for this server.
      send(421, page('421', `<h1>421 Misdirected request</h1><p>These pages answer requests addressed to this machine (127.0.0.1 or localhost), not to ${escapeHtml(req.headers.host ?? '')}. A reverse proxy on this machine that passes on another name: start verite serve with --allowed-host NAME (docs/reports.md).</p>`));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // Nothing served changes anything: any other method is refused before it is read.
      send(405, page('405', '<h1>405 Method not allowed</h1><p>verite serve is read-only: GET and HEAD only.</p>'), { allow: 'GET, HEAD' });
      return;
    }
    route(req).then(
      (r) => send(r.status, r.html),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        const message = redactString(errorMessage(error));
        if (status === 500) log.error({ url: req.url, err: message }, 'serve: page failed');
        send(status, page(String(status), `<h1>${status}</h1><p>${escapeHtml(message)}</p><p><a href="/">verite</a></p>`));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      // Node's words name the address; what to do is ours to say.
      if (error.code === 'EADDRINUSE') reject(new Error(`${host}:${options.port} is taken by another program (another verite serve?): give another --port (${error.message})`, { cause: error }));
      else if (error.code === 'EACCES') reject(new Error(`${host}:${options.port} may not be listened on by this user (ports below 1024 need privileges): give --port 8080 or another above 1023 (${error.message})`, { cause: error }));
      else reject(error);
    });
    server.listen(options.port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    useConfig: (next) => {
      config = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
