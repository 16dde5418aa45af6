import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { redactString } from '../../lib/logger.ts';
import { METRIC_TABLES, type CatalogEntry, type MetricTableName } from '../../metrics/definition.ts';
import { viewColumns } from '../../metrics/columns.ts';
import { metricLogs, metricViews } from '../../metrics/views/index.ts';
import { catalogEntries, findEntry } from '../../metrics/definitions/index.ts';
import { computedFromRow, overARange } from '../../metrics/over-a-range.ts';
import { measureText } from '../../metrics/measure.ts';
import { refreshMetrics } from '../../metrics/refresh.ts';
import { whileHoldingRunLock } from '../../pipeline/lock.ts';
import { runTransforms, staleCoreModels } from '../../transforms/runner.ts';
import { createProgress } from '../../lib/progress.ts';
import { recordedRun } from '../../pipeline/run-log.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

/**
 * The lines `verite metrics describe` prints for one entry: "computed" in the columns of its row,
 * "over a range" in the words of docs/metrics.md (both from metrics/over-a-range.ts).
 */
export function describeEntry(entry: CatalogEntry): string {
  const rows: [string, string | undefined][] = [
    ['formula', entry.kind === 'metric' ? entry.formula : undefined],
    ['unit', entry.kind === 'metric' ? entry.unit : undefined],
    ['measure', entry.kind === 'metric' && entry.measure ? measureText(entry.measure) : undefined],
    ['computed', entry.kind === 'metric' ? computedFromRow(entry) : undefined],
    ['over a range', entry.kind === 'metric' ? overARange(entry) : undefined],
    ['kind', entry.kind === 'dimension' ? 'dimension (not a metric)' : undefined],
    ['column', entry.column],
    ['views', entry.views.map((v) => `metrics.${v}`).join(', ')],
    ['sources', entry.sources.join(', ') || '(none: derived from the row)'],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined);
  const width = Math.max(...shown.map(([k]) => k.length));
  return [`${entry.name} — ${entry.label}`, entry.description, '', ...shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ''].join('\n');
}

export function registerMetrics(program: Command): void {
  const metrics = program.command('metrics').description('the metric catalogue and the metric tables (schema metrics)');

  metrics
    .command('list')
    .description('list every published metric (and, with --all, the dimension columns)')
    .option('--view <view>', `only the columns of one view (${METRIC_TABLES.join(', ')})`)
    .option('--all', 'include the dimension columns (date, channel …)')
    .option('--format <format>', 'table or json', 'table')
    .action(
      action(async (opts: { view?: string; all?: boolean; format: string }) => {
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format must be table or json, not ${opts.format}`);
        if (opts.view !== undefined && !METRIC_TABLES.includes(opts.view as MetricTableName)) throw new UsageError(`--view ${opts.view}: expected one of ${METRIC_TABLES.join(', ')}`);
        const view = [...metricViews, ...metricLogs].find((v) => v.name === opts.view);
        // A view's columns in table order; else the catalogue's order.
        const entries = view ? viewColumns(view) : catalogEntries.filter((e) => opts.all || e.kind === 'metric');
        if (opts.format === 'json') {
          process.stdout.write(`${JSON.stringify(entries)}\n`);
          return EXIT.ok;
        }
        process.stdout.write(
          formatTable(
            entries.map((e) => ({
              metric: e.name,
              ...(opts.view ? { column: e.column } : {}),
              unit: e.kind === 'metric' ? e.unit : 'dimension',
              label: e.label,
              views: e.views.join(', '),
            })),
          ),
        );
        return EXIT.ok;
      }),
    );

  metrics
    .command('describe')
    .description('label, description, formula, unit, sources and views of one metric (a name, or view.column)')
    .argument('<name>', 'a metric name such as aov, or view.column such as customer_kpis.customers')
    .action(
      action(async (name: string) => {
        const entry = findEntry(name);
        if (!entry) {
          const near = catalogEntries.filter((e) => e.name.includes(name) || e.column.includes(name) || name.includes(e.name)).map((e) => e.name);
          throw new UsageError(`no metric ${name}${near.length ? ` (did you mean ${near.slice(0, 6).join(', ')}?)` : ''}; \`verite metrics list\` lists them all`);
        }
        process.stdout.write(describeEntry(entry));
        return EXIT.ok;
      }),
    );

  metrics
    .command('refresh')
    .description('bring every metric table and metrics.catalog up to date from core, in one transaction (only what the transform replaced, unless --full)')
    .option('--transform', 'rebuild staging and core from raw first (as `verite transform`)')
    .option('--full', 'rebuild every metric table in full, whatever changed')
    .action(
      action(async (opts: { transform?: boolean; full?: boolean }) => {
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          const progress = createProgress({ log: ctx.log, out: process.stderr });
          // One row of ops.runs (kind metrics) for the command, so a killed refresh leaves a trace too.
          const refreshed = await recordedRun(
            warehouse,
            { kind: 'metrics', step: opts.transform ? 'the transform or the metrics refresh' : 'the metrics refresh' },
            async (step) => {
              // The transform under the run lock, as in a run (docs/scale.md, "Watermark").
              const transformed = opts.transform
                ? await whileHoldingRunLock(warehouse.pool, () =>
                    step('transform', (beforeCommit) => runTransforms(warehouse, ctx.config, { log: ctx.log, progress, beforeCommit }), (r) => r.status === 'succeeded'),
                  ).finally(() => progress.done('transform'))
                : null;
              if (transformed?.status === 'failed') return { transformed, result: null };
              // Without the transform, core must be what this version's models build with these settings.
              const stale = transformed ? [] : await staleCoreModels(warehouse, ctx.config);
              if (stale.length) {
                const error = `${stale.join(', ')} ${stale.length === 1 ? 'was' : 'were'} built by another version of verite or with other settings (reporting time zone or currency, channel rules): run \`verite metrics refresh --transform\` (or \`verite transform\`) first`;
                return { transformed, result: { status: 'failed' as const, tables: [], error } };
              }
              const result = await step(
                'metrics',
                (beforeCommit) => refreshMetrics(warehouse, ctx.config, ctx.log, { progress, ...(opts.full ? { full: true } : {}), beforeCommit }),
                (r) => r.status === 'succeeded',
              ).finally(() => progress.done('metrics'));
              return { transformed, result };
            },
            ({ transformed, result }) =>
              result ? { status: result.status, error: result.error } : { status: 'failed', error: `transform failed, nothing refreshed: ${transformed?.error}` },
          );
          if (!refreshed.result) {
            process.stderr.write(`verite: transform failed, nothing refreshed: ${refreshed.transformed?.error}\n`);
            return EXIT.failed;
          }
          for (const warning of refreshed.transformed?.warnings ?? []) process.stderr.write(`verite: warning: ${warning} (left out of every metric; verite quarantine list)\n`);
          for (const note of refreshed.transformed?.notes ?? []) process.stderr.write(`verite: warning: ${redactString(note)}\n`);
          const result = refreshed.result;
          if (result.tables.length) {
            process.stdout.write(
              formatTable(result.tables.map((t) => ({ table: t.table, rows: t.rows, ms: t.ms, mode: t.mode, deleted: t.replaced.deleted, inserted: t.replaced.inserted }))),
            );
          }
          if (result.status === 'failed') {
            if (result.failed?.sql) process.stderr.write(`SQL of ${result.failed.table}:\n${result.failed.sql}\n`);
            process.stderr.write(`verite: metrics refresh failed, the previous metric tables are kept: ${result.error}\n`);
            return EXIT.failed;
          }
          const how = result.fullRefreshReason === undefined ? ' (incremental: only the rows the changes in core can move)' : '';
          process.stdout.write(`${result.tables.length} metric tables refreshed in one transaction${how}.\n`);
          if (result.fullRefreshReason !== undefined) process.stdout.write(`Rebuilt in full: ${result.fullRefreshReason}.\n`);
          return EXIT.ok;
        });
      }),
    );
}
