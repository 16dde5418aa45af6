import { beforeAll, describe, expect, it } from 'vitest';
import { renderCharts } from '../../reports/charts.ts';
import { REPORT_LAYOUTS } from '../../reports/kinds.ts';
import type { ReportData } from '../../reports/data.ts';

/**
 * The value axes of the charts of a shop taking tens of millions a week (yen, won, or past ten
 * million dollars): `50,000,000` was wider than the 64 px left margin in the fonts that draw it,
 * and lost its leading digits at the edge (`0,000,000`). Each label must be the whole number,
 * and lie within the 580 px wide chart in any font.
 */

/** Only what the trend, funnel and channel-mix charts read: a weekly review of a yen shop. */
function yenShop(): ReportData {
  const weeks = ['2023-W50', '2023-W51', '2023-W52', '2024-W01', '2024-W02', '2024-W03', '2024-W04', '2024-W05', '2024-W06', '2024-W07', '2024-W08', '2024-W09', '2024-W10'];
  const none = (n: number) => Array<null>(n).fill(null);
  const channel = (name: string, revenue: number, adSpend: number | null) => ({ channel: name, revenue, adSpend, roas: null, platformRoas: null });
  return {
    layout: { ...REPORT_LAYOUTS.weekly, charts: ['trend', 'funnel', 'channel_mix'] },
    currency: 'JPY',
    current: { period: { id: '2024-W10' } },
    trend: {
      labels: weeks,
      current: [...none(4), 15_000_000, 7_500_000, 9_000_000, null, null, 12_000_000, 3_750_000, null, 53_126_500],
      yearBefore: [...none(12), 16_500_000],
    },
    funnel: [{ label: 'Sessions', value: 1_250_000 }, { label: 'Add to cart', value: 180_000 }, { label: 'Checkout', value: 60_000 }, { label: 'Orders', value: 35_500 }],
    channels: [channel('Paid search', 25_600_000, 3_000_000), channel('Organic', 18_000_000, null), channel('Email', 4_000_000, 500_000)],
  } as unknown as ReportData;
}

const WIDTH = 580;
/** ECharts' axis labels: 12 px. No character of a number label (digits , . - K M B T) is wider than 1 em in any font (DejaVu Sans' widest, M, is 0.86 em). */
const FONT_PX = 12;

/** The number labels of a chart's SVG: their text, anchor and x. */
function numberLabels(svg: string, anchor: 'end' | 'middle'): { text: string; x: number }[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)]
    .filter((m) => m[1]!.includes(`text-anchor="${anchor}"`) && /^-?[\d.,]+[KMBT]?$/.test(m[2]!))
    .map((m) => ({ text: m[2]!, x: Number(/transform="translate\(([\d.]+) /.exec(m[1]!)![1]) }));
}

describe('value axes of large amounts', () => {
  let charts: Map<string, string>;
  beforeAll(() => {
    charts = new Map(renderCharts(yenShop()).charts.map((c) => [c.name, c.svg]));
  });

  it('label the trend\'s y-axis whole and within the chart (issue: leading digits cut at 50,000,000)', () => {
    const labels = numberLabels(charts.get('trend')!, 'end');
    // Top 53,126,500 over ECharts' 5 splits: 10,625,300, rounded to a nice 10,000,000 (1.06 × 10^7 → 1);
    // ticks 0 to 60,000,000, the first multiple of 10M above the top.
    expect(labels.map((l) => l.text)).toEqual(['0', '10M', '20M', '30M', '40M', '50M', '60M']);
    // Right-aligned at x: its left edge is at least x − 12 px a character, which must not pass 0.
    for (const l of labels) expect(l.x - FONT_PX * l.text.length, l.text).toBeGreaterThanOrEqual(0);
  });

  it('label the channel mix\'s y-axis whole and within the chart', () => {
    const labels = numberLabels(charts.get('channel_mix')!, 'end');
    // Top 25,600,000 / 5 = 5,120,000 → 5,000,000 (5.12 → 5); ticks 0 to 30,000,000.
    expect(labels.map((l) => l.text)).toEqual(['0', '5M', '10M', '15M', '20M', '25M', '30M']);
    for (const l of labels) expect(l.x - FONT_PX * l.text.length, l.text).toBeGreaterThanOrEqual(0);
  });

  it('label the funnel\'s x-axis whole and within the chart', () => {
    const labels = numberLabels(charts.get('funnel')!, 'middle');
    // Top 1,250,000 / 5 = 250,000 → 300,000 (2.5 → 3); ticks 0 to 1,500,000.
    expect(labels.map((l) => l.text)).toEqual(['0', '300K', '600K', '900K', '1.2M', '1.5M']);
    for (const l of labels) {
      expect(l.x - (FONT_PX * l.text.length) / 2, l.text).toBeGreaterThanOrEqual(0);
      expect(l.x + (FONT_PX * l.text.length) / 2, l.text).toBeLessThanOrEqual(WIDTH);
    }
  });
});
