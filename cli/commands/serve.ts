import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { isLoopbackName, readOnlyDatabase, startReportServer, type ReportServer } from '../../reports/server.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import type { VeriteConfig } from '../../config/schema.ts';
import { reportsFolder } from './report.ts';
import { action, commandContext, EXIT, interruptSignal, parseList, withWarehouse, type GlobalOptions } from '../context.ts';

export interface ServeOptions {
  port: string;
  host: string;
  biRole: string;
  /** `--allowed-host`: names a reverse proxy on this machine passes on, comma-separated. */
  allowedHost?: string;
}

/** `--allowed-host`'s names, checked: host names, no scheme, port or path. */
export function allowedHostsOption(value: string | undefined): string[] {
  const names = parseList(value, '--allowed-host') ?? [];
  for (const name of names) {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)) {
      throw new UsageError(`--allowed-host ${JSON.stringify(name)}: expected a host name such as reports.example.com (no scheme, port or path)`);
    }
  }
  return names;
}

/** A port option, checked: a whole number in digits (`""` and `" "` were port 0, `0x50` port 80). */
export function portOption(name: string, value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65_535) throw new UsageError(`${name} ${JSON.stringify(value)}: expected a port number (0–65535)`);
  return n;
}

/**
 * The connection string a BI tool uses: the warehouse's, as the BI role, without a password.
 * Of its parameters, the TLS ones that hold for any login are kept (`sslmode`, `sslrootcert`,
 * `system` included, which the tools' libpq reads); verite's own client certificate
 * (`sslcert`, `sslkey`) and the rest are not, being verite's.
 */
export function biConnectionString(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  const kept = new URLSearchParams();
  for (const name of ['sslmode', 'sslrootcert']) {
    const value = u.searchParams.get(name);
    if (value !== null) kept.set(name, value);
  }
  u.search = kept.toString();
  return u.toString();
}

/**
 * Starts the report pages beside a command that keeps the warehouse open (`verite serve`,
 * `verite schedule --serve`) and says where they are and how a BI tool connects.
 */
export async function serveReports(warehouse: Warehouse, config: VeriteConfig, log: Logger, opts: ServeOptions): Promise<ReportServer & { closeAll(): Promise<void> }> {
  const port = portOption('--port', opts.port);
  const allowedHosts = allowedHostsOption(opts.allowedHost);
  if (!isLoopbackName(opts.host)) {
    log.warn({ host: opts.host }, 'serving the reports beyond this machine: anyone who can reach this address reads the shop’s figures, without a login (docs/reports.md)');
  }
  const readOnly = readOnlyDatabase(warehouse.url);
  let server: ReportServer;
  try {
    server = await startReportServer({ db: readOnly.db, config, log, host: opts.host, port, allowedHosts });
  } catch (error) {
    await readOnly.db.destroy();
    throw error;
  }
  const role = await warehouse.pool.query('select 1 from pg_roles where rolname = $1', [opts.biRole]).catch(() => ({ rowCount: 0 }));
  const out = process.stdout;
  out.write(`Reports, live views and the metric catalogue: ${server.url}/ (read-only; Ctrl-C to stop)\n`);
  out.write(`Warehouse for BI tools, as role ${opts.biRole}: ${biConnectionString(warehouse.url, opts.biRole)}\n`);
  if (!role.rowCount) out.write(`  role ${opts.biRole} does not exist yet: verite bi grant --role ${opts.biRole} --password-env VAR\n`);
  return {
    url: server.url,
    close: server.close,
    useConfig: server.useConfig,
    closeAll: async () => {
      await server.close();
      await readOnly.db.destroy();
    },
  };
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('keeps the warehouse up and serves the reports, live views and the metric catalogue, read-only (docs/reports.md)')
    .option('--port <port>', 'port of the pages', '8080')
    .option('--warehouse-port <port>', "the embedded warehouse's fixed port, for BI tools", '5433')
    .option('--host <address>', 'address of the pages (default loopback; anything else exposes the figures: docs/reports.md)', '127.0.0.1')
    .option('--bi-role <name>', 'the role of `verite bi grant` named in the connection string', 'verite_bi')
    .option('--allowed-host <names>', 'names (comma-separated) a reverse proxy on this machine passes on in Host; other names are refused (421) while serving on loopback')
    .action(
      action(async (opts: ServeOptions & { warehousePort: string }) => {
        const embeddedPort = portOption('--warehouse-port', opts.warehousePort);
        portOption('--port', opts.port);
        allowedHostsOption(opts.allowedHost);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const { signal, dispose } = interruptSignal(ctx.log);
        try {
          return await withWarehouse(
            ctx.log,
            async (warehouse) => {
              // With --demo, the demo shop's reports (written by `verite run --demo`) beside its warehouse.
              const config = { ...ctx.config, reportsDir: reportsFolder(ctx.config, ctx.demo) };
              const server = await serveReports(warehouse, config, ctx.log, opts);
              await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
              await server.closeAll();
              process.stdout.write('Stopped serving.\n');
              return EXIT.ok;
            },
            { embeddedPort },
          );
        } finally {
          dispose();
        }
      }),
    );
}
