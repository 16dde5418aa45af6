import path from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { VeriteConfig } from '../../config/schema.ts';
import { errorMessage, UsageError } from '../../lib/errors.ts';
import type { Database } from '../../warehouse/database.ts';
import { makeReport, reportPath, writeReport } from '../../reports/index.ts';
import { REPORT_KINDS, type ReportKind } from '../../reports/period.ts';
import { parsePeriod } from '../../reports/period.ts';
import { deliverReport } from '../../scheduler/report-delivery.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';

/** The reports folder of the shop, or with `--demo` the demo shop's, beside it. */
export function reportsFolder(config: VeriteConfig, demo: boolean): string {
  return demo ? path.join(config.reportsDir, 'demo') : config.reportsDir;
}

/**
 * Writes the reports of `kinds` for their last complete period into `dir` (the demo's closing
 * step): one line each saying where, or why not; a report that cannot be made fails nothing.
 */
export async function writeReportsLines(db: Kysely<Database>, config: VeriteConfig, kinds: readonly ReportKind[], dir: string, now: Date): Promise<string[]> {
  const lines: string[] = [];
  for (const kind of kinds) {
    try {
      const report = await makeReport(db, config, { kind, now });
      const file = reportPath({ reportsDir: dir }, report.data);
      await writeReport(file, report.html);
      const partial = report.data.current.partial ? ` (${report.data.current.partial})` : '';
      lines.push(`  ${`${kind} ${report.data.current.period.id}${partial}`.padEnd(40)} ${path.resolve(file)}`);
    } catch (error) {
      lines.push(`  ${kind.padEnd(40)} not written: ${errorMessage(error)}`);
    }
  }
  return lines;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a business review as one self-contained HTML page (docs/reports.md)')
    .argument('<kind>', `${REPORT_KINDS.join(', ')}`)
    .option('--period <period>', 'the period: 2026-W48 (weekly), 2026-11 (monthly), 2026-Q4 (quarterly); default the last complete one')
    .option('--out <file>', 'where to write it (default <reportsDir>/<kind>-<period>.html)')
    .option('--send', 'also send it now as the configured reports of that kind are sent (their webhook and e-mail), even where it went before: to try a delivery without waiting for its day')
    .action(
      action(async (kind: string, opts: { period?: string; out?: string; send?: boolean }) => {
        if (!(REPORT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`report: expected ${REPORT_KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
        // A period that is not one is said before the warehouse is opened (or found without metrics).
        if (opts.period !== undefined) parsePeriod(kind as ReportKind, opts.period);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        if (opts.send) return sendReports(ctx, kind as ReportKind, opts);
        return withWarehouse(
          ctx.log,
          async (warehouse) => {
            const report = await makeReport(warehouse.db, ctx.config, { kind: kind as ReportKind, period: opts.period, now: new Date() });
            const file = opts.out ?? reportPath({ reportsDir: reportsFolder(ctx.config, ctx.demo) }, report.data);
            await writeReport(file, report.html);
            const partial = report.data.current.partial ? ` (${report.data.current.partial})` : '';
            process.stdout.write(`${report.data.layout.title} ${report.data.current.period.id}${partial}: ${file}\n`);
            return EXIT.ok;
          },
          { migrate: false },
        );
      }),
    );
}

/**
 * `verite report KIND --send`: each configured report of that kind made and sent now, through the
 * scheduler's own delivery (written into `reportsDir`, then its webhook and e-mail, recorded in
 * `ops.report_deliveries`), to every place even where the period went before. Exits 1 when a
 * send failed.
 */
async function sendReports(ctx: Awaited<ReturnType<typeof commandContext>>, kind: ReportKind, opts: { period?: string; out?: string }): Promise<number> {
  if (ctx.demo) throw new UsageError("the demo shop's reports are not sent: --send delivers the configured reports of the real shop");
  if (opts.out !== undefined) throw new UsageError('--send writes the report where the scheduled one goes (reportsDir): leave out --out');
  const entries = ctx.config.reports.filter((r) => r.kind === kind);
  if (!entries.length) {
    const kinds = [...new Set(ctx.config.reports.map((r) => r.kind))];
    throw new UsageError(`no ${kind} report is configured, so there is nowhere to send it (configured: ${kinds.join(', ') || 'none'}; add one under "reports" with its "to", docs/reports.md)`);
  }
  return withWarehouse(ctx.log, async (warehouse) => {
    let failed = false;
    for (const [i, entry] of entries.entries()) {
      // By hand, a failed send is tried again at once: whoever asked is waiting for the answer.
      const result = await deliverReport({ warehouse, config: ctx.config, log: ctx.log, entry, now: new Date(), period: opts.period, resend: true, sleep: async () => undefined });
      const label = `${kind} ${result.period ?? ''}`.trim();
      process.stdout.write(`${entries.length > 1 ? `reports entry ${i + 1}, ` : ''}${label}
`);
      for (const o of result.outcomes) {
        const where = o.channel === 'file' && result.file ? ` ${result.file}` : '';
        process.stdout.write(`  ${o.channel.padEnd(8)} ${o.status}${where}${o.error ? `: ${o.error}` : ''}
`);
        if (o.status === 'failed') failed = true;
      }
    }
    return failed ? EXIT.failed : EXIT.ok;
  });
}

