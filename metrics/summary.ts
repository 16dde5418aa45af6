import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { addDays, localDate } from '../lib/dates.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Database } from '../warehouse/database.ts';
import { incompleteReadText, isIncomplete } from './data-status.ts';
import { formatMetricValue } from './format-value.ts';
import { derivationParts, subtrahends, type MetricDefinition } from './definition.ts';
import { metricByName } from './definitions/index.ts';
import { summable } from './over-a-range.ts';

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
  'gross_margin',
  'contribution_margin',
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

/** How much of a period kpi_daily covers. */
export interface PeriodCoverage {
  daysWithData: number;
  daysInPeriod: number;
}

export interface PeriodSummary {
  kind: 'day' | 'week' | 'month';
  current: Period;
  previous: Period;
  currentCoverage: PeriodCoverage;
  previousCoverage: PeriodCoverage;
  /**
   * False when either period has data on only some of its days (the data began within it): a
   * change between unequal spans would mislead, so `change` is null and the summary says "partial".
   */
  comparable: boolean;
  values: HeadlineValue[];
}

/** The week or month after the compared one, which ends after the last complete day, when it already has data: shown, never compared. */
export interface PeriodInProgress {
  kind: 'week' | 'month';
  period: Period;
  coverage: PeriodCoverage;
  /** The last day of data in it up to today. */
  through: string;
}

/** A stream whose last read left its data incomplete, from metrics.data_status. */
export interface IncompleteStream {
  source: string;
  stream: string;
  lastRunStatus: string | null;
  /** Null when no read of it ever succeeded. */
  incompleteFrom: string | null;
}

export interface RunSummary {
  /**
   * The last complete day: yesterday in the reporting time zone, or earlier: the last complete
   * day of data of the refresh (metrics.data_status), never after the last day of kpi_daily.
   */
  asOf: string;
  currency: string;
  periods: PeriodSummary[];
  inProgress: PeriodInProgress[];
  incompleteStreams: IncompleteStream[];
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
    if (!summable(metric)) throw new Error(`${metric.name} cannot be computed over several days from kpi_daily (it is not additive)`);
    return [metric.column];
  }
  return derivationParts(d).flatMap((p) => additiveParts(definition(p)));
}

/** A metric over a period from the sums of its parts: a ratio is SUM/SUM, NULL over a zero denominator. */
function valueOf(metric: MetricDefinition, sums: Record<string, number | null>): number | null {
  const d = metric.derivation;
  if (!d) return sums[metric.column] ?? null;
  if (d.kind === 'difference') {
    const values = [d.minuend, ...subtrahends(d)].map((p) => valueOf(definition(p), sums));
    if (values.some((v) => v === null)) return null;
    const [first, ...rest] = values as number[];
    return rest.reduce((a, b) => a - b, first!);
  }
  const n = valueOf(definition(d.numerator), sums);
  const q = valueOf(definition(d.denominator), sums);
  if (n === null || q === null || q === 0) return null;
  return d.complement ? 1 - n / q : n / q;
}

/** A period the data covers on some of its days only (the first one, where the data began). */
const isPartial = (c: PeriodCoverage) => c.daysWithData > 0 && c.daysWithData < c.daysInPeriod;

/** The number of days from `from` to `to`, both included. */
const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;

/** The ISO week or month that follows `period` (which ends on a Sunday, or on a month's last day). */
function nextPeriod(kind: 'week' | 'month', period: Period): Period {
  const from = addDays(period.to, 1);
  if (kind === 'week') return { from, to: addDays(from, 6) };
  const next = new Date(`${from}T00:00:00Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  return { from, to: addDays(next.toISOString().slice(0, 10), -1) };
}

/** What metrics.data_status says: the last complete day of data, and the streams whose data is incomplete; null before it exists. */
async function readDataStatus(db: Kysely<Database>): Promise<{ completeThrough: string | null; incomplete: IncompleteStream[] } | null> {
  const exists = await sql<{ found: boolean }>`select to_regclass('metrics.data_status') is not null as found`.execute(db);
  if (!exists.rows[0]?.found) return null;
  const rows = await db
    .selectFrom('metrics.data_status')
    .select(['source', 'stream', 'last_run_status', 'incomplete_from', 'complete_through'])
    .orderBy('source')
    .orderBy('stream')
    .execute();
  const metrics = rows.find((r) => r.source === 'metrics' && r.stream === 'refresh');
  const incomplete = rows
    .filter((r) => r !== metrics && isIncomplete({ lastRunStatus: r.last_run_status }))
    .map((r) => ({ source: r.source, stream: r.stream, lastRunStatus: r.last_run_status, incompleteFrom: r.incomplete_from }));
  return { completeThrough: metrics?.complete_through ?? null, incomplete };
}

/**
 * The headline KPIs for the last complete day, ISO week and month against the period before
 * each, computed from `metrics.kpi_daily` as SUM(numerator) / SUM(denominator) from the metric
 * definitions. The periods end on or before the last complete day (never in a period still in
 * progress, nor after the day from which a stream whose last read failed is incomplete); a
 * period the data covers only in part is not compared (`comparable`). Null when kpi_daily is empty.
 */
export async function headlineSummary(
  db: Kysely<Database>,
  config: Pick<VeriteConfig, 'reportingTimezone' | 'reportingCurrency'>,
  options: { now?: Date; metrics?: readonly string[] } = {},
): Promise<RunSummary | null> {
  const metrics = (options.metrics ?? HEADLINE_METRICS).map(definition);
  const bounds = await db.selectFrom('metrics.kpi_daily').select([sql<string | null>`max(date)`.as('last')]).executeTakeFirst();
  if (!bounds?.last) return null;
  const last = bounds.last;
  const status = await readDataStatus(db);
  const today = localDate(options.now ?? new Date(), config.reportingTimezone);
  const yesterday = addDays(today, -1);
  const asOf = [yesterday, last, status?.completeThrough ?? last].reduce((a, b) => (a < b ? a : b));
  const parts = [...new Set(metrics.flatMap(additiveParts))];
  const sumsOver = async (period: Period): Promise<{ sums: Record<string, number | null>; coverage: PeriodCoverage }> => {
    const row = await db
      .selectFrom('metrics.kpi_daily')
      .where('date', '>=', period.from)
      .where('date', '<=', period.to)
      .select([sql<number>`count(*)`.as('__days'), ...parts.map((p) => sql<string | null>`sum(${sql.ref(p)})`.as(p))])
      .executeTakeFirst();
    const values = row as Record<string, unknown> | undefined;
    const days = Number(values?.__days ?? 0);
    // A period before the first day of data has no value, rather than zeros.
    const sums = Object.fromEntries(parts.map((p) => [p, values && days > 0 && values[p] !== null ? Number(values[p]) : null]));
    return { sums, coverage: { daysWithData: days, daysInPeriod: daysBetween(period.from, period.to) } };
  };
  const periods: PeriodSummary[] = [];
  for (const [kind, { current, previous }] of Object.entries(completePeriods(asOf)) as [PeriodSummary['kind'], { current: Period; previous: Period }][]) {
    const [now, before] = [await sumsOver(current), await sumsOver(previous)];
    const comparable = !isPartial(now.coverage) && !isPartial(before.coverage);
    periods.push({
      kind,
      current,
      previous,
      currentCoverage: now.coverage,
      previousCoverage: before.coverage,
      comparable,
      values: metrics.map((m) => {
        const cur = valueOf(m, now.sums);
        const prev = valueOf(m, before.sums);
        const points = m.display === 'percent';
        const change = !comparable || cur === null || prev === null ? null : points ? cur - prev : prev === 0 ? null : (cur - prev) / Math.abs(prev);
        return { metric: m.name, label: m.label, current: cur, previous: prev, change, changeKind: points ? 'points' : 'relative' };
      }),
    });
  }
  // The week and month after the compared ones (in progress, or past the last complete day), up to today: shown apart, never compared.
  const inProgress: PeriodInProgress[] = [];
  for (const p of periods) {
    if (p.kind === 'day') continue;
    const period = nextPeriod(p.kind, p.current);
    const through = [period.to, last, today].reduce((a, b) => (a < b ? a : b));
    if (through < period.from) continue;
    const { coverage } = await sumsOver({ from: period.from, to: through });
    if (coverage.daysWithData > 0) inProgress.push({ kind: p.kind, period, coverage: { ...coverage, daysInPeriod: daysBetween(period.from, period.to) }, through });
  }
  return { asOf, currency: config.reportingCurrency, periods, inProgress, incompleteStreams: status?.incomplete ?? [] };
}

function formatChange(value: HeadlineValue): string {
  if (value.change === null) return 'n/a';
  const sign = value.change > 0 ? '+' : value.change < 0 ? '-' : '±';
  const magnitude = Math.abs(value.change) * 100;
  return value.changeKind === 'points' ? `${sign}${magnitude.toFixed(2)} pp` : `${sign}${magnitude.toFixed(1)}%`;
}

/** A period as the summary names it: a day or a week by its first day, a month as YYYY-MM. */
const periodLabel = (kind: PeriodSummary['kind'], period: Period) => `${kind} ${kind === 'month' ? period.from.slice(0, 7) : period.from}`;

/** The lines under the table: partial periods, periods in progress, streams whose data is incomplete. */
function notes(summary: RunSummary): string[] {
  const out: string[] = [];
  for (const p of summary.periods) {
    for (const [period, coverage] of [[p.previous, p.previousCoverage], [p.current, p.currentCoverage]] as const) {
      if (!isPartial(coverage)) continue;
      const begins = addDays(period.to, 1 - coverage.daysWithData);
      out.push(`Partial: ${periodLabel(p.kind, period)} has data on ${coverage.daysWithData} of its ${coverage.daysInPeriod} days (the data begins on ${begins}); no change is computed against it.`);
    }
  }
  for (const p of summary.inProgress) {
    const view = p.kind === 'week' ? 'kpi_weekly' : 'kpi_monthly';
    out.push(
      `Partial, not compared: ${periodLabel(p.kind, p.period)} (${p.coverage.daysWithData} of ${p.coverage.daysInPeriod} days with data, to ${p.through}; ` +
        `it ends after ${summary.asOf}, the last complete day: is_complete = false in metrics.${view}).`,
    );
  }
  for (const s of summary.incompleteStreams) {
    out.push(`Incomplete data: ${incompleteReadText(s)} (metrics.data_status); the periods above end by ${summary.asOf}.`);
  }
  return out;
}

/** The summary as an aligned text table, one row per KPI, one value and change column per period, then notes. */
export function formatRunSummary(summary: RunSummary | null): string {
  if (!summary) return '\nHeadline KPIs: none yet (metrics.kpi_daily is empty).\n';
  const [day, week, month] = summary.periods as [PeriodSummary, PeriodSummary, PeriodSummary];
  const title = (p: PeriodSummary) => `${periodLabel(p.kind, p.current)}${isPartial(p.currentCoverage) ? ' (partial)' : ''}`;
  const header = ['KPI', title(day), 'vs prior', title(week), 'vs prior', title(month), 'vs prior'];
  const change = (p: PeriodSummary, i: number) => (p.comparable ? formatChange(p.values[i]!) : 'partial');
  const body = day.values.map((v, i) => [
    v.label,
    formatMetricValue(v.metric, v.current, summary.currency),
    change(day, i),
    formatMetricValue(v.metric, week.values[i]!.current, summary.currency),
    change(week, i),
    formatMetricValue(v.metric, month.values[i]!.current, summary.currency),
    change(month, i),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [
    '',
    `Headline KPIs in ${summary.currency}: last complete day, ISO week and month to ${summary.asOf}, each against the period before`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    ...notes(summary),
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
