import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { viewColumns } from './columns.ts';
import { DATA_STATUS_COLUMNS } from './data-status.ts';
import { computedAs } from './catalog.ts';
import type { CatalogEntry, MetricArea, MetricDefinition } from './definition.ts';
import { measureSources } from './measure-sources.ts';
import { dimensionDefinitions, metricDefinitions } from './definitions/index.ts';
import { overARange } from './over-a-range.ts';
import { defaultChannelRules, FALLBACK_CHANNEL } from '../transforms/channels.ts';
import type { ChannelRule } from '../config/schema.ts';
import { metricLogs, metricViews } from './views/index.ts';

/** Where `npm run docs:metrics` writes the page. */
export const METRICS_DOC = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));

const AREAS: [MetricArea, string][] = [
  ['sales', 'Sales'],
  ['profit', 'Products and profit'],
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
export function renderMetricsDoc(definitions: readonly MetricDefinition[] = metricDefinitions): string {
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
    '## The metric contract',
    '',
    'What a number of schema `metrics` means. Every table, the catalogue, the run summary and the alerts follow these',
    'conventions (the Conventions a formula below refers to); where a choice was made between two common definitions,',
    'DECISIONLOG.md records it.',
    '',
    '- **Dates and day boundaries.** A day is a local date in `reportingTimezone` (an IANA name, UTC by default), from local',
    '  midnight to local midnight. An event with a timestamp counts on its local date: an order on that of its `created_at`,',
    '  a refund on its own (not its order\'s), a Stripe charge on its creation, a shipment on the day it shipped, was delivered',
    '  or was returned. GA4 and the ad platforms report whole days in their property\'s or account\'s own time zone; those',
    '  days are taken as they are.',
    '- **Money** is in `reportingCurrency` (ISO 4217, USD by default). Each amount is converted at the rate of its own local',
    '  date; a date without a published rate (a weekend, a holiday) takes the latest earlier rate, for at most 7 days, after',
    '  which the rate is missing and the conversion fails loudly rather than using 1. Amounts keep their full precision:',
    '  nothing is rounded before it is summed or divided.',
    '- **Counted orders** are neither test orders, cancelled nor deleted in Shopify (a deletion event of `shopify.deletions`).',
    '  The others stay in `core.orders` with their flags and count in no metric, and neither do their refunds or shipments.',
    '- **Customers.** A customer is the shop\'s customer id, else the lower-cased, trimmed e-mail of a guest order, else the',
    '  order itself. A customer\'s first order is their earliest counted order; they are a new customer on its date.',
    '- **Revenue and refunds.** Revenue is gross: `total_price` of the counted orders (after discounts, with shipping and',
    '  tax). Refunds are the successful refund transactions of counted orders, dated and converted on their own date, so a',
    '  refund lowers the net revenue of the day it is made, not of its order\'s day.',
    '- **Channels.** An order\'s channel comes from the UTM parameters of its landing page, else its referrer (the rules are',
    '  the config\'s `channels`, or the defaults: "Channel rules" below); a GA4 row\'s from its session source and medium',
    '  through the same rules; ad spend carries its platform\'s channel.',
    '- **Additive first.** Every table publishes the additive parts (sums and counts) next to each ratio. Over any range',
    '  of rows (a month of days, several channels), compute a ratio as SUM(numerator) / SUM(denominator), never as the',
    '  average of the daily ratios. A ratio whose denominator is 0 is NULL, not 0. The column "over a range" below gives the',
    '  expression for every metric.',
    '- **Not additive**: distinct counts (`customers`, `orders_shipped`) and snapshots (`customer_kpis`) are never summed over',
    '  rows; `kpi_weekly` and `kpi_monthly` recount customers and orders shipped over the period. The counts of',
    '  `cohort_monthly` sum across cohorts at one `months_since_first_order` (a pooled retention curve), never over the months',
    '  of one cohort.',
    '- **Base measures and grains.** A base measure (a sum or a count) is declared once, with the rows it reads, its',
    '  aggregate and the date that places it on the time axis; `kpi_daily`, `kpi_weekly`, `kpi_monthly` and',
    '  `kpi_channel_daily` are generated from the measures they publish. A week or a month adds up the days of an additive',
    '  measure and recounts a distinct count over the whole period. "computed as" below (the catalogue\'s `computed_as`) is the',
    '  SQL a base measure runs, or how a derived metric is computed from the other columns of its row.',
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
    ...channelRulesSection(),
    '## Rows the base measures read',
    '',
    '| rows | what they are | dated by | grouped by |',
    '| --- | --- | --- | --- |',
    ...measureSources.map((m) => `| \`${m.name}\` | ${cell(m.description)} | ${m.dates.map((d) => `\`${d}\``).join(', ')} | ${m.dimensions.map((d) => `\`${d}\``).join(', ') || '—'} |`),
    '',
    '## Views',
    '',
  );
  for (const view of [...metricViews, ...metricLogs]) {
    out.push(`### \`metrics.${view.name}\``, '', `${view.grain[0]!.toUpperCase()}${view.grain.slice(1)}.`, '', '| column | metric | unit | over a range |', '| --- | --- | --- | --- |');
    for (const e of viewColumns(view, definitions)) {
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
    for (const m of definitions.filter((x) => x.area === area)) {
      out.push(`#### \`${m.name}\` — ${m.label}`, '', m.description, '', '| | |', '| --- | --- |');
      out.push(`| formula | ${cell(m.formula)} |`);
      const computed = computedAs(m);
      if (computed) out.push(`| computed as | \`${cell(computed)}\` |`);
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


/** `a`, `b` or `c`. */
const anyOf = (values: readonly string[]) => {
  const quoted = values.map((v) => `\`${v}\``);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]!;
};

/** A channel rule's conditions in words, in the order transforms/channels.ts tests them. */
function ruleInWords(rule: ChannelRule): string {
  const parts = [
    rule.sources?.length ? `source is ${anyOf(rule.sources)}` : '',
    rule.sourceContains?.length ? `source contains ${anyOf(rule.sourceContains)}` : '',
    rule.mediums?.length ? `medium is ${anyOf(rule.mediums)}` : '',
    rule.noUtm ? 'no source and no medium' : '',
    rule.referrerHostContains?.length ? `the referrer's host contains ${anyOf(rule.referrerHostContains)}` : '',
    rule.anyReferrer ? 'a referrer' : '',
    rule.anySourceOrMedium ? 'a source or a medium' : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', and ') : 'always';
}

/** An object of strings, lists of strings and booleans as JSON on one line, spaced as the docs' examples are. */
const jsonLine = (value: object) =>
  `{ ${Object.entries(value)
    .map(([key, v]) => `${JSON.stringify(key)}: ${Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v)}`)
    .join(', ')} }`;

/** The example of docs/metrics.md: a channel of the shop's own before the default rules. */
const CHANNELS_EXAMPLE: readonly ChannelRule[] = [{ channel: 'affiliates', sources: ['awin', 'impact'], mediums: ['affiliate'] }, ...defaultChannelRules];

/** "Channel rules": the default table, generated from the rules themselves, and the config's `channels`. */
function channelRulesSection(): string[] {
  return [
    '## Channel rules',
    '',
    'The channel of an order and of a GA4 row (`channel` in `kpi_channel_daily` and `clv_summary`, the channel of an order in',
    '`core.orders`, of a session in `core.traffic`) is the `channel` of the first rule, in order, whose conditions all hold;',
    `\`${FALLBACK_CHANNEL}\` when none does. What a rule reads:`,
    '',
    '- **source** and **medium**: for an order, the `utm_source` and `utm_medium` parameters of its landing page\'s URL',
    '  (`landing_site`; the parameter\'s name in any case, its value decoded and trimmed, an empty value counting as none); for a',
    '  GA4 row, its `sessionSource` and `sessionMedium` (GA4\'s `(direct)`, `(none)` and `(not set)` count as none).',
    '- **the referrer\'s host**: for an order, the host of its `referring_site` (lower-cased, without scheme, user or port, and',
    '  read without a scheme too: `www.google.com/search`); a GA4 row has none.',
    '',
    'The default rules:',
    '',
    '| # | when | channel |',
    '| --- | --- | --- |',
    ...defaultChannelRules.map((rule, i) => `| ${i + 1} | ${cell(ruleInWords(rule))} | \`${rule.channel}\` |`),
    `| | no rule above | \`${FALLBACK_CHANNEL}\` |`,
    '',
    'The config\'s `channels` replaces this table whole: a list of rules, tried in its order, the first that holds giving',
    'the channel. Each rule names its `channel` (any name) and any of these conditions; a rule holds when every condition it',
    'names does, and a list holds when one of its values does:',
    '',
    '| key | holds when |',
    '| --- | --- |',
    '| `sources` | the source is one of the values |',
    '| `sourceContains` | the source contains one of the values |',
    '| `mediums` | the medium is one of the values |',
    '| `referrerHostContains` | the referrer\'s host contains one of the values (`google.` for every Google domain) |',
    '| `noUtm: true` | there is neither a source nor a medium |',
    '| `anyReferrer: true` | there is a referrer |',
    '| `anySourceOrMedium: true` | there is a source or a medium |',
    '',
    '- The letters A to Z are compared in any case (`Google` is `google`); the values are lower-cased, so another letter (`é`)',
    '  matches only where the row has it in lower case.',
    '- A condition on what a row lacks does not hold: `sources` never matches an order without `utm_source`, and',
    '  `referrerHostContains` and `anyReferrer` never match a GA4 row.',
    '- A channel reached two ways takes two rules (`organic_search` above). `false` for a key that takes `true` is the same as',
    '  leaving it out, and a rule with no condition holds for every row: the rules after it are never reached.',
    '- Nothing of the defaults is kept: write out the ones you still want. An empty list makes every row `direct`.',
    '- Ad spend keeps its platform\'s channel, `google_ads` or `meta_ads`, whatever the rules: name the rules of paid traffic so,',
    '  or `kpi_channel_daily` puts the spend and the orders it brought on different rows.',
    '- The rules are a setting of the transform: after a change, the next run (or `verite transform`) rebuilds staging and core',
    '  in full with them, then the metrics; `verite metrics refresh` alone refuses core built with the old ones until then.',
    '',
    'An `affiliates` channel for the shop\'s affiliate networks, before the default rules, written out:',
    '',
    '```json',
    '{',
    '  "channels": [',
    ...CHANNELS_EXAMPLE.map((rule, i) => `    ${jsonLine(rule)}${i < CHANNELS_EXAMPLE.length - 1 ? ',' : ''}`),
    '  ]',
    '}',
    '```',
    '',
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(METRICS_DOC, renderMetricsDoc());
  process.stdout.write(`wrote docs/metrics.md (${metricDefinitions.length} metrics, ${metricViews.length} views)\n`);
}
