import type { Command } from 'commander';
import { sql } from 'kysely';
import { UsageError } from '../../lib/errors.ts';
import { action, commandContext, countOption, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { redactDeep } from '../../lib/logger.ts';
import { apiVersionReport, END_OF_LIFE_WARNING_DAYS } from '../../extractors/api-versions.ts';
import { alertStatus, backfillStatus, costCoverage, reportStatus, streamStatus } from '../../pipeline/status.ts';
import { nextFiring } from '../../scheduler/scheduler.ts';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("last runs, each stream's cursor and freshness, quarantine counts")
    .option('--runs <n>', 'how many recent runs to show', '10')
    .option('--format <format>', 'table or json', 'table')
    .action(
      action(async (opts: { runs: string; format: string }) => {
        const runCount = countOption('--runs', opts.runs);
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format must be table or json, not ${opts.format}`);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          const stored = {
            runs: await warehouse.db
              .selectFrom('ops.runs')
              .select(['id', 'kind', 'trigger', 'status', 'started_at', 'finished_at', 'records_landed', 'records_quarantined', 'error', 'warnings'])
              .orderBy('started_at', 'desc')
              .limit(runCount)
              .execute(),
            streams: await streamStatus(warehouse.db, ctx.config, new Date()),
            quarantine: await warehouse.db
              .selectFrom('ops.quarantine')
              .select(['source', 'stream', sql<number>`count(*)::int`.as('records'), sql<Date>`max(quarantined_at)`.as('latest')])
              .groupBy(['source', 'stream'])
              .orderBy('source')
              .execute(),
            // Each raw record once, whatever models set it aside.
            setAside: await warehouse.db
              .selectFrom('ops.set_aside')
              .select(['source', 'stream', sql<number>`count(distinct key)::int`.as('records'), sql<Date>`min(since)`.as('since')])
              .groupBy(['source', 'stream'])
              .orderBy('source')
              .orderBy('stream')
              .execute(),
            backfills: await backfillStatus(warehouse.db),
            alerts: await alertStatus(warehouse.db),
            reports: await reportStatus(warehouse.db),
            // What `verite schedule` fires, and when next (a daylight-saving gap's end included);
            // nothing for the demo shop, which `verite schedule` refuses: the config's schedules are the real shop's.
            schedules: ctx.demo
              ? []
              : [
                  ...ctx.config.schedules.map((e) => ({ fires: `run of ${e.sources?.join(', ') ?? 'every source'}`, cron: e.cron, next: nextFiring(e.cron, ctx.config.reportingTimezone, new Date()) })),
                  ...ctx.config.reports.map((r) => ({ fires: `${r.kind} report`, cron: r.cron, next: nextFiring(r.cron, ctx.config.reportingTimezone, new Date()) })),
                ],
            costCoverage: await costCoverage(warehouse.db),
            apiVersions: apiVersionReport(ctx.config, new Date()),
          };
          // Redacted once, field by field, for either format: stored errors quote providers'
          // answers and connection strings (rows written before errors were redacted on the way in).
          const report = redactDeep(stored) as typeof stored;
          const { runs, streams, quarantine, setAside, backfills, alerts, reports, schedules, apiVersions, costCoverage: coverage } = report;
          if (opts.format === 'json') {
            process.stdout.write(`${JSON.stringify(report)}\n`);
            return EXIT.ok;
          }
          process.stdout.write(`Warehouse: ${warehouse.describe}\n\nRecent runs\n`);
          process.stdout.write(
            formatTable(
              runs.map((r) => ({
                run: r.id.slice(0, 8),
                kind: r.kind,
                trigger: r.trigger,
                status: r.status,
                started: r.started_at,
                seconds: r.finished_at ? ((r.finished_at.getTime() - r.started_at.getTime()) / 1000).toFixed(1) : '',
                landed: r.records_landed,
                quarantined: r.records_quarantined,
                error: oneLine(r.error ?? r.warnings ?? '', 80),
              })),
            ),
          );
          // The table cuts them to a line: the last run's error or warnings, whole.
          const last = runs[0];
          const said = last?.error ?? last?.warnings;
          if (last && said) {
            process.stdout.write(`\n${last.error ? 'Error' : 'Warnings'} of the last run (${last.id.slice(0, 8)}, ${last.status}):\n`);
            for (const line of said.split('\n')) process.stdout.write(`  ${line}\n`);
          }
          process.stdout.write(`\nStreams (fresh while the newest data is at most limit_h hours old: freshnessHours, ${ctx.config.freshnessHours} h, unless the stream has its own)\n`);
          const sparse = streams.filter((s) => s.sparse).map((s) => `${s.source}.${s.stream}`);
          if (sparse.length) process.stdout.write(`(${sparse.join(', ')}: data that may go days without a change, so a successful read counts too: age "(read)" is that of the last one)\n`);
          process.stdout.write(
            formatTable(
              streams.map((s) => ({
                stream: `${s.source}.${s.stream}`,
                rows: s.rows,
                cursor: cursorText(s.cursor),
                data_through: s.dataThrough,
                limit_h: s.freshnessHours,
                age_hours: s.ageHours === null ? '' : `${s.ageHours.toFixed(1)}${s.ageOf === 'last read' ? ' (read)' : ''}`,
                fresh: s.fresh === null ? '' : s.fresh ? 'yes' : 'NO',
                last_run: s.lastRunStatus ?? '',
                last_run_at: s.lastRunAt,
                quarantined: s.quarantined,
                // The whole text is in `verite status --format json` and ops.stream_runs.
                last_error: s.lastError ? oneLine(s.lastError, 100) : '',
              })),
            ),
          );
          if (coverage) {
            const share = coverage.coverage === null ? 'no product sales' : `${(coverage.coverage * 100).toFixed(1)}% of product sales have a unit cost`;
            process.stdout.write(
              `\nCost coverage, ${coverage.from} to ${coverage.to} (the last 30 days of data): ${share}` +
                `${coverage.coverage !== null && coverage.coverage < 1 ? '; the rest count at zero cost in cogs and gross profit (cogs_coverage)' : ''}\n`,
            );
          }
          process.stdout.write('\nQuarantine\n');
          process.stdout.write(quarantine.length ? formatTable(quarantine) : '(empty)\n');
          process.stdout.write('\nSet aside by the last transform (left out of every metric; verite quarantine list)\n');
          process.stdout.write(setAside.length ? formatTable(setAside) : '(none)\n');
          if (backfills.length) {
            process.stdout.write('\nBackfills (an unfinished one resumes when the same command is run again)\n');
            process.stdout.write(
              formatTable(
                backfills.map((b) => ({
                  backfill: b.id.slice(0, 8), stream: b.stream ? `${b.source}.${b.stream}` : `${b.source}.*`, from: b.from, to: b.to,
                  status: b.status, chunks: `${b.chunksDone}/${b.chunks}`, landed: b.landed, updated: b.updatedAt, error: (b.error ?? '').slice(0, 80),
                })),
              ),
            );
          }
          if (alerts.length) {
            process.stdout.write('\nAlerts\n');
            process.stdout.write(
              formatTable(alerts.map((a) => ({ rule: a.rule, firing: a.firing ? 'FIRING' : 'ok', value: a.value, since: a.firing ? a.fired_at : a.cleared_at, checked: a.checked_at }))),
            );
          }
          if (ctx.demo) {
            process.stdout.write("\nSchedules: none. The demo shop is not scheduled: `verite run --demo` builds it again; `verite schedule` runs the real shop's sources, into its own warehouse\n");
          } else if (schedules.length) {
            process.stdout.write(`\nSchedules (fired while verite schedule runs; cron times in ${ctx.config.reportingTimezone})\n`);
            process.stdout.write(formatTable(schedules.map((e) => ({ fires: e.fires, cron: e.cron, next: e.next ?? '' }))));
          }
          if (reports.length) {
            process.stdout.write('\nReports (the last delivery of each kind to each place; all of them in ops.report_deliveries)\n');
            process.stdout.write(
              formatTable(
                reports.map((r) => ({
                  report: r.kind, channel: r.channel, period: r.period ?? '', status: r.status === 'failed' ? 'FAILED' : r.status,
                  attempts: r.attempts, at: r.finished_at, error: r.error ? oneLine(r.error, 100) : '',
                })),
              ),
            );
          }
          if (apiVersions.length) {
            process.stdout.write(`\nAPI versions (a warning within ${END_OF_LIFE_WARNING_DAYS} days of the end, a problem past it; verite check judges them too)\n`);
            process.stdout.write(
              formatTable(
                apiVersions.map((v) => ({
                  source: v.source, api: v.api, version: v.version, ends: v.endOfLife ?? 'not announced', days_left: v.daysLeft ?? '',
                  verdict: v.level === 'ok' ? 'ok' : v.level.toUpperCase(), set_by: v.setting, note: v.level === 'ok' ? '' : v.message,
                })),
              ),
            );
          }
          return EXIT.ok;
        });
      }),
    );
}

/**
 * A stream's cursor on one table line: its JSON, cut at 48 characters, except that a report
 * stream's cursor that lists the accounts it has read (`adAccountIds`, `customerIds`,
 * `propertyIds`) is shown whole: which accounts are in it decides what the next run reads.
 */
function cursorText(cursor: unknown): string {
  if (cursor === null || cursor === undefined) return '';
  const text = JSON.stringify(cursor);
  const listsIds = typeof cursor === 'object' && !Array.isArray(cursor) && Object.entries(cursor).some(([key, value]) => key.endsWith('Ids') && Array.isArray(value));
  return listsIds ? text : text.slice(0, 48);
}

/** A stored error on one table line: newlines folded, cut at `width` characters. */
function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}
