import { createRequire } from 'node:module';
import type * as Echarts from 'echarts';
import type { ChartName } from './kinds.ts';
import type { ReportData } from './data.ts';

/**
 * The report's charts, drawn on the server to SVG by ECharts' server-side renderer (no DOM, no
 * script in the page; DECISIONLOG.md, "reports"). Each data point is an SVG element ECharts
 * marks with `ecmeta_data_index`, which the tests count.
 */

export interface RenderedChart {
  name: ChartName;
  title: string;
  /** What the chart shows and how to read it, under it. */
  caption: string;
  svg: string;
  /** Data points drawn (non-null values), for the page and the tests. */
  points: number;
}

const WIDTH = 580;
const HEIGHT = 300;
/**
 * Single quotes inside: ECharts writes the family into a `style="…"` attribute as it is, and a
 * double quote there ended the attribute (browsers kept `system-ui, -apple-system, ` and an SVG
 * parser refused the chart).
 */
const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const COLOURS = ['#2f5fb3', '#a0a7b4', '#d9822b', '#3c9d5d', '#b53f3f', '#7a4fb3'];

/**
 * ECharts, loaded on the first chart: its single-file build, required once. Importing the package
 * as ES modules at start-up read some 600 files and cost every command a second, reports or not.
 */
let echartsLibrary: typeof Echarts | undefined;
function echarts(): typeof Echarts {
  echartsLibrary ??= createRequire(import.meta.url)('echarts') as typeof Echarts;
  return echartsLibrary;
}

function svg(option: Echarts.EChartsCoreOption, height = HEIGHT): string {
  const chart = echarts().init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    chart.setOption({ animation: false, color: COLOURS, textStyle: { fontFamily: FONT }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const count = (...series: (number | null)[][]) => series.reduce((n, s) => n + s.filter((v) => v !== null).length, 0);
const round = (v: number | null, digits: number) => (v === null ? null : Number(v.toFixed(digits)));
const grid = { left: 64, right: 24, top: 40, bottom: 48 };

/**
 * Value-axis labels of amounts and counts in short form (`50M`, `1.5K`, `750`): written out,
 * `50,000,000` (a yen or won shop, or one past ten million dollars) is wider than the left
 * margin in the fonts that draw it (DejaVu Sans in the e-mailed images, the system's in a
 * browser), and lost its first digits at the edge. ECharts keeps a label within the chart by
 * its own estimate of the text's width, which is narrower than those fonts'; a short label
 * leaves room whatever the font. Two decimals at most: axis ticks are round numbers.
 */
const SHORT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });
const shortLabels = { formatter: (value: number) => SHORT.format(value) };
const legend = { top: 4, textStyle: { fontFamily: FONT } };

/** The charts of a report, in its layout's order; a chart without data is left out (and said so in the page). */
export function renderCharts(data: ReportData): { charts: RenderedChart[]; empty: string[] } {
  const charts: RenderedChart[] = [];
  const empty: string[] = [];
  for (const name of data.layout.charts) {
    const chart = render(name, data);
    if (chart === null) continue;
    if (chart.points === 0) empty.push(chart.title);
    else charts.push(chart);
  }
  return { charts, empty };
}

function render(name: ChartName, d: ReportData): RenderedChart | null {
  const cur = d.currency;
  switch (name) {
    case 'trend': {
      const unit = d.layout.trailing.unit === 'weekly' ? 'weeks' : 'months';
      const label = d.layout.trendMetric.replace('_', ' ');
      const current = d.trend.current.map((v) => round(v, 2));
      const before = d.trend.yearBefore.map((v) => round(v, 2));
      return {
        name,
        title: `${label[0]!.toUpperCase()}${label.slice(1)}, trailing ${d.trend.labels.length} ${unit}, with the year before`,
        caption: `${cur}. Bars: each ${unit.slice(0, -1)}; line: the same ${unit.slice(0, -1)} a year earlier${unit === 'weeks' ? ' (52 weeks before)' : ''}.`,
        points: count(current, before),
        svg: svg({
          legend,
          grid,
          xAxis: { type: 'category', data: d.trend.labels, axisLabel: { rotate: 30 } },
          yAxis: { type: 'value', axisLabel: shortLabels },
          series: [
            { type: 'bar', name: 'This year', data: current },
            { type: 'line', name: 'Year before', data: before, showSymbol: true, symbol: 'circle', symbolSize: 6, connectNulls: false },
          ],
        }),
      };
    }
    case 'delivery': {
      const onTime = d.delivery.onTime.map((v) => round(v === null ? null : v * 100, 1));
      const returns = d.delivery.returnRate.map((v) => round(v === null ? null : v * 100, 1));
      return {
        name,
        title: 'On-time delivery and return rate',
        caption: 'Percent, per period: deliveries on or before the promised date over deliveries with a promise; returns over deliveries.',
        points: count(onTime, returns),
        svg: svg({
          legend,
          grid,
          xAxis: { type: 'category', data: d.delivery.labels, axisLabel: { rotate: 30 } },
          yAxis: { type: 'value', axisLabel: { formatter: '{value}%' } },
          series: [
            { type: 'line', name: 'On-time delivery', data: onTime, showSymbol: true, symbol: 'circle', symbolSize: 6 },
            { type: 'line', name: 'Return rate', data: returns, showSymbol: true, symbol: 'diamond', symbolSize: 7 },
          ],
        }),
      };
    }
    case 'funnel': {
      const values = d.funnel.map((f) => f.value);
      return {
        name,
        title: 'Conversion funnel',
        caption: `${d.current.period.id}: sessions, add to cart and checkout from GA4; orders from the shop.`,
        points: count(values),
        svg: svg({
          grid: { ...grid, left: 140, right: 64 },
          xAxis: { type: 'value', axisLabel: shortLabels },
          yAxis: { type: 'category', data: d.funnel.map((f) => f.label), inverse: true },
          series: [{ type: 'bar', name: 'Count', data: values, label: { show: true, position: 'right' } }],
        }),
      };
    }
    case 'channel_mix': {
      const revenue = d.channels.map((c) => round(c.revenue, 2));
      const spend = d.channels.map((c) => (c.adSpend === null || c.adSpend === 0 ? null : round(c.adSpend, 2)));
      return {
        name,
        title: 'Channel mix: revenue and ad spend',
        caption: `${cur}, ${d.current.period.id}, by the channel of the order (revenue) and of the platform (spend).`,
        points: count(revenue, spend),
        svg: svg({
          legend,
          grid,
          xAxis: { type: 'category', data: d.channels.map((c) => c.channel), axisLabel: { interval: 0, rotate: 20 } },
          yAxis: { type: 'value', axisLabel: shortLabels },
          series: [
            { type: 'bar', name: 'Revenue', data: revenue },
            { type: 'bar', name: 'Ad spend', data: spend },
          ],
        }),
      };
    }
    case 'channel_roas': {
      const paid = d.channels.filter((c) => c.roas !== null || c.platformRoas !== null);
      const real = paid.map((c) => round(c.roas, 2));
      const platform = paid.map((c) => round(c.platformRoas, 2));
      return {
        name,
        title: 'ROAS: the shop\'s orders against what the platform claims',
        caption: `${d.current.period.id}, channels with spend: revenue of the channel's orders over its spend, beside the platform's conversion value over the same spend.`,
        points: count(real, platform),
        svg: svg({
          legend,
          grid,
          xAxis: { type: 'category', data: paid.map((c) => c.channel) },
          yAxis: { type: 'value', axisLabel: { formatter: '{value}×' } },
          series: [
            { type: 'bar', name: 'Real ROAS', data: real },
            { type: 'bar', name: 'Platform ROAS', data: platform },
          ],
        }),
      };
    }
    case 'cohort_retention': {
      const cells = d.cohorts.cells.map((c) => [c.offset, c.cohort, round(c.value * 100, 1)]);
      return {
        name,
        title: 'Cohort retention',
        caption: 'Percent of each first-order month\'s customers who ordered again N months later (row: cohort; column: months since the first order).',
        points: cells.length,
        svg: svg(
          {
            grid: { left: 72, right: 24, top: 16, bottom: 88 },
            xAxis: { type: 'category', data: d.cohorts.offsets.map(String), name: 'months since first order', nameLocation: 'middle', nameGap: 26 },
            yAxis: { type: 'category', data: d.cohorts.months, inverse: true },
            visualMap: { min: 0, max: 100, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#f2f5fb', '#2f5fb3'] } },
            series: [{ type: 'heatmap', name: 'Retention', data: cells, label: { show: true, fontSize: 10 } }],
          },
          Math.max(HEIGHT, 32 * d.cohorts.months.length + 110),
        ),
      };
    }
    case 'clv_to_cac': {
      if (d.clvToCac === null) return null;
      const values = d.clvToCac.map((c) => round(c.value, 2));
      return {
        name,
        title: 'Predicted 12-month value over acquisition spend, per channel',
        caption: 'Cohorts of the trailing 12 months: their predicted 12-month value over the channel\'s ad spend in their first month.',
        points: count(values),
        svg: svg({
          grid,
          xAxis: { type: 'category', data: d.clvToCac.map((c) => c.channel) },
          yAxis: { type: 'value', axisLabel: { formatter: '{value}×' } },
          series: [{ type: 'bar', name: 'Predicted CLV / CAC', data: values, label: { show: true, position: 'top' } }],
        }),
      };
    }
  }
}
