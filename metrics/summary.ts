import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { addDays, localDate } from '../lib/dates.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';
import { derivationParts, type MetricDefinition } from './definition.ts';
import { metricByName } from './definitions/index.ts';

/** The KPIs the run summary shows, each computed from the additive parts of kpi_daily. */
export const HEADLINE_METRICS = [
  'revenue',
  'orders',
  'aov',
  'conversion_rate',
  'ad_spend',
  'cac',
  'mer',
  'payment_acceptance_rate',
  'on_time_delivery_rate',
] as const;

export interface Period {
  from: string;
  to: string;
}

export interface HeadlineValue {
  metric: string;
  label: string;
  current: number | null;
  previous: number | null;
  /** Relative change (0.1 = +10 %) or, for a rate shown as a percentage, the difference in points (0.01 = +1 pp). */
  change: number | null;
  changeKind: 'relative' | 'points';
}

export interface PeriodSummary {
  kind: 'day' | 'week' | 'month';
  current: Period;
  previous: Period;
  values: HeadlineValue[];
}

export interface RunSummary {
  /** The last complete day: yesterday in the reporting time zone, or the last day of kpi_daily if earlier. */
  asOf: string;
  currency: string;
  periods: PeriodSummary[];
}

/**
 * The last complete day, ISO week (Monday to Sunday) and calendar month ending on or before
 * `asOf`, each with the period just before it.
 */
export function completePeriods(asOf: string): Record<PeriodSummary['kind'], { current: Period; previous: Period }> {
  const isoDay = new Date(`${asOf}T00:00:00Z`).getUTCDay() || 7; // Monday 1 … Sunday 7
  const weekEnd = isoDay === 7 ? asOf : addDays(asOf, -isoDay);
  const nextDay = addDays(asOf, 1);
  const monthEnd = nextDay.slice(8) === '01' ? asOf : addDays(`${asOf.slice(0, 7)}-01`, -1);
  const monthStart = `${monthEnd.slice(0, 7)}-01`;
  const previousMonthEnd = addDays(monthStart, -1);
  return {
    day: { current: { from: asOf, to: asOf }, previous: { from: addDays(asOf, -1), to: addDays(asOf, -1) } },
    week: { current: { from: addDays(weekEnd, -6), to: weekEnd }, previous: { from: addDays(weekEnd, -13), to: addDays(weekEnd, -7) } },
    month: { current: { from: monthStart, to: monthEnd }, previous: { from: `${previousMonthEnd.slice(0, 7)}-01`, to: previousMonthEnd } },
  };
}

function definition(name: string): MetricDefinition {
  const m = metricByName(name);
  if (!m || !m.views.includes('kpi_daily')) throw new Error(`${name} is not a kpi_daily metric`);
  return m;
}

/** The additive kpi_daily columns a metric is computed from. */
function additiveParts(metric: MetricDefinition): string[] {
  const d = metric.derivation;
  if (!d) {
    if (!metric.additive) throw new Error(`${metric.name} cannot be computed over several days from kpi_daily (it is not additive)`);
    return [metric.column];
  }
  return derivationParts(d).flatMap((p) => additiveParts(definition(p)));
}

/** A metric over a period from the sums of its parts: a ratio is SUM/SUM, NULL over a zero denominator. */
function valueOf(metric: MetricDefinition, sums: Record<string, number | null>): number | null {
  const d = metric.derivation;
  if (!d) return sums[metric.column] ?? null;
  if (d.kind === 'difference') {
    const a = valueOf(definition(d.minuend), sums);
    const b = valueOf(definition(d.subtrahend), sums);
    return a === null || b === null ? null : a - b;
  }
  const n = valueOf(definition(d.numerator), sums);
  const q = valueOf(definition(d.denominator), sums);
  if (n === null || q === null || q === 0) return null;
  return d.complement ? 1 - n / q : n / q;
}

/**
 * The headline KPIs for the last complete day, ISO week and month against the period before
 * each, computed from `metrics.kpi_daily` as SUM(numerator) / SUM(denominator) from the metric
 * definitions. Null when kpi_daily is empty.
 */
export async function headlineSummary(
  db: Kysely<Database>,
  config: Pick<VeriteConfig, 'reportingTimezone' | 'reportingCurrency'>,
  options: { now?: Date; metrics?: readonly string[] } = {},
): Promise<RunSummary | null> {
  const metrics = (options.metrics ?? HEADLINE_METRICS).map(definition);
  const bounds = await db.selectFrom('metrics.kpi_daily').select([sql<string | null>`max(date)`.as('last')]).executeTakeFirst();
  if (!bounds?.last) return null;
  const yesterday = addDays(localDate(options.now ?? new Date(), config.reportingTimezone), -1);
  const asOf = bounds.last < yesterday ? bounds.last : yesterday;
  const parts = [...new Set(metrics.flatMap(additiveParts))];
  const sumsOver = async (period: Period): Promise<Record<string, number | null>> => {
    const row = await db
      .selectFrom('metrics.kpi_daily')
      .where('date', '>=', period.from)
      .where('date', '<=', period.to)
      .select([sql<number>`count(*)`.as('__days'), ...parts.map((p) => sql<string | null>`sum(${sql.ref(p)})`.as(p))])
      .executeTakeFirst();
    const values = row as Record<string, unknown> | undefined;
    // A period before the first day of data has no value, rather than zeros.
    return Object.fromEntries(parts.map((p) => [p, values && Number(values.__days) > 0 && values[p] !== null ? Number(values[p]) : null]));
  };
  const periods: PeriodSummary[] = [];
  for (const [kind, { current, previous }] of Object.entries(completePeriods(asOf)) as [PeriodSummary['kind'], { current: Period; previous: Period }][]) {
    const [now, before] = [await sumsOver(current), await sumsOver(previous)];
    periods.push({
      kind,
      current,
      previous,
      values: metrics.map((m) => {
        const cur = valueOf(m, now);
        const prev = valueOf(m, before);
        const points = m.display === 'percent';
        const change = cur === null || prev === null ? null : points ? cur - prev : prev === 0 ? null : (cur - prev) / Math.abs(prev);
        return { metric: m.name, label: m.label, current: cur, previous: prev, change, changeKind: points ? 'points' : 'relative' };
      }),
    });
  }
  return { asOf, currency: config.reportingCurrency, periods };
}

const grouped = (value: number, decimals: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });

/** A metric value as the summary shows it: money with 2 decimals, rates in %, MER as a multiple. */
function formatMetricValue(metric: string, value: number | null): string {
  if (value === null) return 'n/a';
  const m = metricByName(metric);
  if (!m) return String(value);
  if (m.unit === 'count') return grouped(value, Number.isInteger(value) ? 0 : 2);
  if (m.unit === 'currency') return grouped(value, 2);
  if (m.unit === 'days') return `${grouped(value, 1)} d`;
  if (m.display === 'percent') return `${grouped(value * 100, 2)}%`;
  if (m.display === 'multiple') return `${grouped(value, 2)}x`;
  return grouped(value, 2);
}

function formatChange(value: HeadlineValue): string {
  if (value.change === null) return 'n/a';
  const sign = value.change > 0 ? '+' : value.change < 0 ? '-' : '±';
  const magnitude = Math.abs(value.change) * 100;
  return value.changeKind === 'points' ? `${sign}${magnitude.toFixed(2)} pp` : `${sign}${magnitude.toFixed(1)}%`;
}

/** The summary as an aligned text table, one row per KPI, one value and change column per period. */
export function formatRunSummary(summary: RunSummary | null): string {
  if (!summary) return '\nHeadline KPIs: none yet (metrics.kpi_daily is empty).\n';
  const [day, week, month] = summary.periods as [PeriodSummary, PeriodSummary, PeriodSummary];
  const header = ['KPI', `day ${day.current.from}`, 'vs prior', `week ${week.current.from}`, 'vs prior', `month ${month.current.from.slice(0, 7)}`, 'vs prior'];
  const body = day.values.map((v, i) => [
    v.label,
    formatMetricValue(v.metric, v.current),
    formatChange(v),
    formatMetricValue(v.metric, week.values[i]!.current),
    formatChange(week.values[i]!),
    formatMetricValue(v.metric, month.values[i]!.current),
    formatChange(month.values[i]!),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [
    '',
    `Headline KPIs in ${summary.currency}: last complete day, ISO week and month to ${summary.asOf}, each against the period before`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
  ].join('\n');
}

/** The summary text for `verite run`; a failure to compute it is logged, never fails the run. */
export async function runSummaryText(db: Kysely<Database>, config: VeriteConfig, log?: Logger): Promise<string> {
  try {
    return formatRunSummary(await headlineSummary(db, config));
  } catch (error) {
    log?.warn({ err: errorMessage(error) }, 'could not compute the headline KPIs');
    return '';
  }
}
