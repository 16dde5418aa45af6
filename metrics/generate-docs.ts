import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { viewColumns } from './columns.ts';
import { DATA_STATUS_COLUMNS } from './data-status.ts';
import type { CatalogEntry, MetricArea } from './definition.ts';
import { dimensionDefinitions, metricDefinitions } from './definitions/index.ts';
import { overARange } from './over-a-range.ts';
import { metricLogs, metricViews } from './views/index.ts';

/** Where `npm run docs:metrics` writes the page. */
export const METRICS_DOC = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));

const AREAS: [MetricArea, string][] = [
  ['sales', 'Sales'],
  ['customers', 'Customers'],
  ['marketing', 'Marketing'],
  ['payments', 'Payments'],
  ['fulfilment', 'Fulfilment'],
  ['reconciliation', 'Reconciliation'],
  ['clv', 'Predicted customer value'],
];

/** A table cell: pipes escaped, on one line. */
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function unitOf(e: CatalogEntry): string {
  if (e.kind === 'dimension') return e.sqlType;
  if (e.unit === 'ratio' && e.display === 'percent') return 'ratio (a share, 0 to 1)';
  if (e.unit === 'ratio' && e.display === 'multiple') return 'ratio (a multiple)';
  return e.unit;
}

/**
 * `docs/metrics.md`, generated from the metric definitions (the one place a formula is
 * written): the views with their columns, then every metric by area.
 */
export function renderMetricsDoc(): string {
  const out: string[] = [];
  out.push(
    '# Metrics',
    '',
    '<!-- Generated from metrics/definitions/ by `npm run docs:metrics`. Do not edit by hand: a test fails when this page',
    '     and the definitions disagree. -->',
    '',
    'Every KPI verite publishes, as defined once in code (`metrics/definitions/`). The same definitions build the tables of',
    'schema `metrics`, fill the data dictionary `metrics.catalog` and print the run summary, so this page, the tables and the',
    'catalogue cannot disagree. `verite metrics list` and `verite metrics describe NAME` show the same from the command line.',
    '',
    '## Reading the numbers',
    '',
    '- **Dates** are local dates in `reportingTimezone`: an order counts on the local date of its `created_at`, a refund on',
    '  its own date, a delivery on the day it arrived. GA4 and ad platforms report days in their own time zone, taken as they are.',
    '- **Money** is in `reportingCurrency`, each amount converted at the rate of its own date, kept at full precision.',
    '- **Counted orders** are neither test orders, cancelled nor deleted in Shopify (a deletion event of `shopify.deletions`).',
    '- **Ratios** are published next to their additive parts. Over any range of rows (a month of days, several channels),',
    '  compute a ratio as SUM(numerator) / SUM(denominator), never as the average of the daily ratios. A ratio whose',
    '  denominator is 0 is NULL, not 0. The column "over a range" below gives the expression for every metric.',
    '- **Not additive**: distinct counts (`customers`, `orders_shipped`) and snapshots (`customer_kpis`) are never summed over',
    '  rows; `kpi_weekly` and `kpi_monthly` recount customers and orders shipped over the period. The counts of',
    '  `cohort_monthly` sum across cohorts at one `months_since_first_order` (a pooled retention curve), never over the months',
    '  of one cohort.',
    '- **Complete periods.** The last complete day of data is yesterday (in `reportingTimezone`) at the refresh, or earlier:',
    '  never after the last day of `kpi_daily`, never after the day a fresh stream is complete through (the day before its last',
    '  successful read began; a date report\'s last report date), and before the day from which a stream whose last read failed',
    '  is incomplete. `kpi_weekly`, `kpi_monthly` and `cohort_monthly` flag a period ending after it `is_complete = false`:',
    '  the week or month in progress is not a collapse. `days_with_data` < `days_in_period` marks a period the data covers only',
    '  in part (the first one, where the data began). Compare complete periods of equal length, or say that one is partial.',
    '- **Data as of.** `metrics.data_status` (below) gives every source stream\'s newest data, last successful read and',
    '  freshness, and the metrics\' own row (`metrics`, `refresh`) the last complete day (`complete_through`). When a stream\'s',
    '  last read failed, the metrics are still published from what was landed, and its row says from which day (`incomplete_from`).',
    '',
    '## Views',
    '',
  );
  for (const view of [...metricViews, ...metricLogs]) {
    out.push(`### \`metrics.${view.name}\``, '', `${view.grain[0]!.toUpperCase()}${view.grain.slice(1)}.`, '', '| column | metric | unit | over a range |', '| --- | --- | --- | --- |');
    for (const e of viewColumns(view)) {
      const name = e.name === e.column ? e.label : `${e.label} (\`${e.name}\`)`;
      out.push(`| \`${e.column}\` | ${cell(name)} | ${unitOf(e)} | ${e.kind === 'metric' ? cell(overARange(e)) : 'dimension'} |`);
    }
    out.push('');
  }
  out.push(
    '### `metrics.data_status`',
    '',
    'One row per source stream that was ever read or landed, and one for the metrics themselves (`source` `metrics`, `stream`',
    '`refresh`). Written by each refresh with what it knew when it built the metrics; `is_fresh` is worked out when the row',
    'is read, so it turns false when runs stop. A view, readable by the BI role like every table of `metrics`.',
    '',
    '| column | type | meaning |',
    '| --- | --- | --- |',
    ...DATA_STATUS_COLUMNS.map(([column, type, text]) => `| \`${column}\` | ${type} | ${cell(text)} |`),
    '',
  );
  out.push('## Metrics', '');
  for (const [area, title] of AREAS) {
    out.push(`### ${title}`, '');
    for (const m of metricDefinitions.filter((x) => x.area === area)) {
      out.push(`#### \`${m.name}\` — ${m.label}`, '', m.description, '', '| | |', '| --- | --- |');
      out.push(`| formula | ${cell(m.formula)} |`);
      out.push(`| unit | ${unitOf(m)} |`);
      out.push(`| over a range | ${cell(overARange(m))} |`);
      if (m.column !== m.name) out.push(`| column | \`${m.column}\` |`);
      out.push(`| views | ${m.views.map((v) => `\`${v}\``).join(', ')} |`);
      out.push(`| sources | ${m.sources.map((s) => `\`${s}\``).join(', ')} |`, '');
    }
  }
  out.push('## Dimensions', '', 'The columns that say what a row is about.', '', '| column | views | meaning |', '| --- | --- | --- |');
  for (const d of dimensionDefinitions) out.push(`| \`${d.column}\` (${d.sqlType}) | ${d.views.map((v) => `\`${v}\``).join(', ')} | ${cell(d.description)} |`);
  out.push('');
  return out.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(METRICS_DOC, renderMetricsDoc());
  process.stdout.write(`wrote docs/metrics.md (${metricDefinitions.length} metrics, ${metricViews.length} views)\n`);
}
