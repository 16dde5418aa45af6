import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { makeReport, reportPath, REPORT_KINDS, writeReport, type ReportKind } from '../../reports/index.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write a business review as one self-contained HTML page (docs/reports.md)')
    .argument('<kind>', `${REPORT_KINDS.join(', ')}`)
    .option('--period <period>', 'the period: 2026-W48 (weekly), 2026-11 (monthly), 2026-Q4 (quarterly); default the last complete one')
    .option('--out <file>', 'where to write it (default <reportsDir>/<kind>-<period>.html)')
    .action(
      action(async (kind: string, opts: { period?: string; out?: string }) => {
        if (!(REPORT_KINDS as readonly string[]).includes(kind)) throw new UsageError(`report: expected ${REPORT_KINDS.join(', ')}, not ${JSON.stringify(kind)}`);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(
          ctx.log,
          async (warehouse) => {
            const report = await makeReport(warehouse.db, ctx.config, { kind: kind as ReportKind, period: opts.period, now: new Date() });
            const file = opts.out ?? reportPath(ctx.config, report.data);
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
