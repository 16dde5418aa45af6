import { sql, type Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import { UsageError } from '../lib/errors.ts';
import type { MetricDefinition } from '../metrics/definition.ts';
import { metricByName } from '../metrics/definitions/index.ts';
import type { Database } from '../warehouse/database.ts';
import { rawTableName } from '../warehouse/tables/raw.ts';
import { CHANGE_THRESHOLD, REPORT_LAYOUTS, type ReportLayout } from './kinds.ts';
import { monthsOf, parsePeriod, periodOf, previousPeriod, trailingPeriods, yearEarlier, type ReportKind, type ReportPeriod } from './period.ts';
import { productsSection, type ProductsSection } from './products.ts';
import { metricValue, relativeChange, type MetricRow } from './values.ts';

/** A period's rows of kpi_weekly or kpi_monthly and how much of it they cover. */
export interface PeriodFigures {
  period: ReportPeriod;
  rows: MetricRow[];
  daysWithData: number;
  /** Every day of the period has data and the period is over (is_complete of the views). */
  complete: boolean;
  /** Empty when complete; else why not ("partial: 10 of 31 days", "no data"). */
  partial: string;
}

/** One source stream's "data as of" (metrics.data_status). */
export interface SourceStatus {
  name: string;
  newestDataDate: string | null;
  lastSuccessAt: Date | null;
  fresh: boolean | null;
  incompleteFrom: string | null;
}

export interface Headline {
  metric: MetricDefinition;
  value: number | null;
  previous: number | null;
  yearAgo: number | null;
  /** Null when not compared (see the notes). */
  changePrevious: number | null;
  changeYear: number | null;
  /** Why a comparison is not made, or what the value lacks, in words. */
  notes: string[];
  /** Source streams with no data for the period. */
  missingSources: string[];
}

export interface ChannelFigures {
  channel: string;
  revenue: number | null;
  adSpend: number | null;
  roas: number | null;
  platformRoas: number | null;
}

export interface ReportData {
  kind: ReportKind;
  layout: ReportLayout;
  shop: string;
  currency: string;
  timeZone: string;
  generatedAt: Date;
  current: PeriodFigures;
  previous: PeriodFigures;
  yearAgo: PeriodFigures;
  /** The metrics' last complete day (metrics.data_status); null when no refresh ran. */
  completeThrough: string | null;
  refreshedAt: Date | null;
  sources: SourceStatus[];
  headlines: Headline[];
  trend: { labels: string[]; current: (number | null)[]; yearBefore: (number | null)[] };
  delivery: { labels: string[]; onTime: (number | null)[]; returnRate: (number | null)[] };
  funnel: { label: string; value: number | null }[];
  channels: ChannelFigures[];
  cohorts: { months: string[]; offsets: number[]; cells: { cohort: number; offset: number; value: number }[] };
  /** Best sellers, out of stock, most returned; null until the products table exists (reports/products.ts). */
  products: ProductsSection | null;
  /** Predicted 12-month value over the cohorts' ad spend, per channel; null when metrics.clv_summary does not exist. */
  clvToCac: { channel: string; value: number }[] | null;
  changes: string[];
  alerts: { rule: string; message: string }[];
  reconciliation: { ordersWithoutPayment: number; paymentsWithoutOrder: number };
}

export interface ReportRequest {
  kind: ReportKind;
  /** `2026-W48`, `2026-11`, `2026-Q4`; default the last complete period. */
  period?: string;
  /** The time the report is made (injected by tests and the scheduler). */
  now: Date;
}

/** The streams a metric needs data from; fx.rates is left out (one currency needs no rate). */
const neededStreams = (m: MetricDefinition) => m.sources.filter((s) => s !== 'fx.rates');

async function tableExists(db: Kysely<Database>, name: string): Promise<boolean> {
  const r = await sql<{ t: string | null }>`select to_regclass(${name})::text as t`.execute(db);
  return r.rows[0]?.t !== null && r.rows[0]?.t !== undefined;
}

const periodTable = (kind: ReportKind) => (kind === 'weekly' ? 'metrics.kpi_weekly' : 'metrics.kpi_monthly');

async function periodRows(db: Kysely<Database>, table: 'metrics.kpi_weekly' | 'metrics.kpi_monthly', from: string, to: string): Promise<MetricRow[]> {
  return (await db.selectFrom(table).selectAll().where('date', '>=', from).where('date', '<=', to).orderBy('date').execute()) as MetricRow[];
}

async function figures(db: Kysely<Database>, period: ReportPeriod): Promise<PeriodFigures> {
  const rows = await periodRows(db, periodTable(period.kind), period.start, period.end);
  const expected = period.kind === 'quarterly' ? 3 : 1;
  const daysWithData = rows.reduce((s, r) => s + Number(r.days_with_data), 0);
  const complete = rows.length === expected && daysWithData === period.days && rows.every((r) => r.is_complete === true);
  let partial = '';
  if (rows.length === 0) partial = 'no data';
  else if (daysWithData < period.days) partial = `partial: ${daysWithData} of ${period.days} days`;
  else if (!complete) partial = 'partial: not complete yet (metrics.data_status)';
  return { period, rows, daysWithData, complete, partial };
}

/** The last period of `kind` that is complete; else the latest with data (labelled partial); null when there is none. */
async function defaultPeriod(db: Kysely<Database>, kind: ReportKind, completeThrough: string | null): Promise<ReportPeriod | null> {
  const table = periodTable(kind);
  if (kind !== 'quarterly') {
    const done = await db.selectFrom(table).select('date').where('is_complete', '=', true).orderBy('date', 'desc').limit(1).executeTakeFirst();
    if (done) return periodOf(kind, done.date);
  } else if (completeThrough !== null) {
    // The quarter holding the last complete day is complete only if that day ends it.
    const holding = periodOf(kind, completeThrough);
    const q = holding.end === completeThrough ? holding : previousPeriod(holding);
    if ((await periodRows(db, table, q.start, q.end)).length > 0) return q;
  }
  const latest = await db.selectFrom(table).select('date').orderBy('date', 'desc').limit(1).executeTakeFirst();
  return latest ? periodOf(kind, latest.date) : null;
}

const percent = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`;

/**
 * Everything a report shows, read from the metrics tables: the period asked for (default the
 * last complete one), the one before and the same one a year earlier, the trends, channels,
 * funnel, cohorts, alerts and reconciliation gaps. Partial periods and missing sources are
 * said in `notes`, and their changes left uncompared.
 */
export async function loadReportData(db: Kysely<Database>, config: VeriteConfig, request: ReportRequest): Promise<ReportData> {
  const { kind } = request;
  const layout = REPORT_LAYOUTS[kind];
  if (!(await tableExists(db, 'metrics.kpi_daily'))) throw new UsageError('no metrics yet: run `verite run` (or `verite transform`) first');

  const status = (await tableExists(db, 'metrics.data_status')) ? await db.selectFrom('metrics.data_status').selectAll().execute() : [];
  const metricsRow = status.find((s) => s.source === 'metrics');
  const completeThrough = metricsRow?.complete_through ?? null;
  const sources: SourceStatus[] = status
    .filter((s) => s.source !== 'metrics')
    .map((s) => ({ name: `${s.source}.${s.stream}`, newestDataDate: s.newest_data_date, lastSuccessAt: s.last_success_at, fresh: s.is_fresh, incompleteFrom: s.incomplete_from }));

  const period = request.period !== undefined ? parsePeriod(kind, request.period) : await defaultPeriod(db, kind, completeThrough);
  if (period === null) throw new UsageError(`no ${kind} period has data yet: metrics.${periodTable(kind).slice(8)} is empty`);
  const [current, previous, yearAgo] = await Promise.all([figures(db, period), figures(db, previousPeriod(period)), figures(db, yearEarlier(period))]);

  const landed = await landedStreams(db, sources, layout.headlines);
  const headlines = layout.headlines.map((name) => headline(name, current, previous, yearAgo, landed));
  const changes = headlines
    .filter((h) => h.changePrevious !== null && Math.abs(h.changePrevious) >= CHANGE_THRESHOLD)
    .map((h) => `${h.metric.label} ${percent(h.changePrevious!)} against ${previous.period.id}`);

  // Trends: the trailing periods and the same ones a year earlier.
  const unit = layout.trailing.unit;
  const last = periodOf(unit, period.end);
  const trailing = trailingPeriods(last, layout.trailing.count);
  const before = trailing.map(yearEarlier);
  const trendTable = periodTable(unit);
  const trendRows = await periodRows(db, trendTable, before[0]!.start, last.end);
  const rowOf = (p: ReportPeriod) => trendRows.filter((r) => r.date === p.start);
  const valueAt = (metric: string) => (p: ReportPeriod) => {
    const rows = rowOf(p);
    return rows.length ? metricValue(metric, rows) : null;
  };
  const trend = { labels: trailing.map((p) => p.id), current: trailing.map(valueAt(layout.trendMetric)), yearBefore: before.map(valueAt(layout.trendMetric)) };
  const delivery = { labels: trailing.map((p) => p.id), onTime: trailing.map(valueAt('on_time_delivery_rate')), returnRate: trailing.map(valueAt('return_rate')) };

  const funnel = ['sessions', 'add_to_carts', 'checkouts', 'orders'].map((name) => ({ label: metricByName(name)!.label, value: metricValue(name, current.rows) }));

  const channelRows = (await db
    .selectFrom('metrics.kpi_channel_daily')
    .select(['channel', sql<string>`sum(revenue)`.as('revenue'), sql<string>`sum(ad_spend)`.as('ad_spend'), sql<string>`sum(platform_conversion_value)`.as('platform_conversion_value')])
    .where('date', '>=', period.start)
    .where('date', '<=', period.end)
    .groupBy('channel')
    .orderBy('channel')
    .execute()) as MetricRow[];
  const channels = channelRows.map((r) => ({
    channel: String(r.channel),
    revenue: metricValue('revenue', [r]),
    adSpend: metricValue('ad_spend', [r]),
    roas: metricValue('roas', [r]),
    platformRoas: metricValue('platform_roas', [r]),
  }));

  const cohorts = layout.cohorts > 0 ? await cohortCells(db, period, layout.cohorts) : { months: [], offsets: [], cells: [] };
  const products = await productsSection(db, period);
  const clvToCac = layout.charts.includes('clv_to_cac') && (await tableExists(db, 'metrics.clv_summary')) ? await clvByChannel(db, period) : null;

  const alerts = (await db.selectFrom('ops.alert_state').select(['rule', 'message']).where('firing', '=', true).orderBy('rule').execute()).map((a) => ({
    rule: a.rule,
    message: a.message ?? a.rule,
  }));
  const gaps = await db
    .selectFrom('metrics.revenue_reconciliation_daily')
    .select([sql<string>`coalesce(sum(orders_without_payment), 0)`.as('o'), sql<string>`coalesce(sum(payments_without_order), 0)`.as('p')])
    .where('date', '>=', period.start)
    .where('date', '<=', period.end)
    .executeTakeFirstOrThrow();

  return {
    kind,
    layout,
    shop: config.sources.shopify?.shop ?? (config.sources.demo ? 'demo shop' : 'shop'),
    currency: config.reportingCurrency,
    timeZone: config.reportingTimezone,
    generatedAt: request.now,
    current,
    previous,
    yearAgo,
    completeThrough,
    refreshedAt: metricsRow?.last_success_at ?? null,
    sources,
    headlines,
    trend,
    delivery,
    funnel,
    channels,
    cohorts,
    products,
    clvToCac,
    changes,
    alerts,
    reconciliation: { ordersWithoutPayment: Number(gaps.o), paymentsWithoutOrder: Number(gaps.p) },
  };
}

/**
 * The newest local date each stream needed by the headlines has data for (metrics.data_status);
 * a stream the status does not date (shipments files carry no version) counts as landed through
 * any date when its raw table holds a record, and as absent otherwise.
 */
async function landedStreams(db: Kysely<Database>, sources: readonly SourceStatus[], headlines: readonly string[]): Promise<Map<string, string | null>> {
  const needed = new Set(headlines.flatMap((h) => neededStreams(metricByName(h)!)));
  const out = new Map<string, string | null>();
  for (const name of needed) {
    const dated = sources.find((s) => s.name === name)?.newestDataDate;
    if (dated) {
      out.set(name, dated);
      continue;
    }
    const [source, stream] = name.split('.') as [string, string];
    const table = rawTableName(source, stream);
    const any = (await tableExists(db, table)) ? await sql<{ one: number }>`select 1 as one from ${sql.table(table)} limit 1`.execute(db) : { rows: [] };
    out.set(name, any.rows.length ? '9999-12-31' : null);
  }
  return out;
}

function headline(name: string, current: PeriodFigures, previous: PeriodFigures, yearAgo: PeriodFigures, landed: ReadonlyMap<string, string | null>): Headline {
  const metric = metricByName(name);
  if (!metric) throw new Error(`report headline ${name} is not a metric (metrics/definitions)`);
  // A source with no data at all, or none since before the period, would read as zeros: say it instead.
  const missingSources = neededStreams(metric).filter((s) => {
    const newest = landed.get(s) ?? null;
    return newest === null || newest < current.period.start;
  });
  const value = missingSources.length ? null : metricValue(name, current.rows);
  const prev = metricValue(name, previous.rows);
  const year = metricValue(name, yearAgo.rows);
  const notes: string[] = [];
  if (missingSources.length) notes.push(`no data from ${missingSources.join(', ')} for ${current.period.id}`);
  const compare = (other: PeriodFigures, v: number | null) => {
    if (value === null || v === null) return null;
    if (current.partial) return null;
    if (other.partial) return null;
    return relativeChange(value, v);
  };
  if (current.partial && value !== null) notes.push(`${current.period.id} is ${current.partial}: not compared`);
  else if (value !== null) {
    for (const [label, other] of [['previous period', previous], ['a year earlier', yearAgo]] as const) {
      if (other.partial) notes.push(`${other.period.id} (${label}) is ${other.partial}: not compared`);
    }
  }
  return { metric, value, previous: prev, yearAgo: year, changePrevious: compare(previous, prev), changeYear: compare(yearAgo, year), notes, missingSources };
}

/** Retention of the `count` cohorts up to the period's last month, over their first `count` months (measured months up to the period's end). */
async function cohortCells(db: Kysely<Database>, period: ReportPeriod, count: number): Promise<ReportData['cohorts']> {
  const lastMonth = monthsOf(period).at(-1)!;
  const months = trailingPeriods(periodOf('monthly', lastMonth), count).map((p) => p.start);
  const rows = await db
    .selectFrom('metrics.cohort_monthly')
    .select(['cohort_month', 'months_since_first_order', 'retention_rate'])
    .where('cohort_month', '>=', months[0]!)
    .where('cohort_month', '<=', lastMonth)
    .where('date', '<=', period.end)
    .where('months_since_first_order', '<', count)
    .execute();
  const cells = rows
    .filter((r) => r.retention_rate !== null)
    .map((r) => ({ cohort: months.indexOf(r.cohort_month), offset: r.months_since_first_order, value: Number(r.retention_rate) }));
  return { months: months.map((m) => m.slice(0, 7)), offsets: Array.from({ length: count }, (_, i) => i), cells };
}

/** Predicted 12-month value over ad spend per channel, for the cohorts of the trailing 12 months (channels without spend left out). */
async function clvByChannel(db: Kysely<Database>, period: ReportPeriod): Promise<{ channel: string; value: number }[]> {
  const lastMonth = monthsOf(period).at(-1)!;
  const first = trailingPeriods(periodOf('monthly', lastMonth), 12)[0]!.start;
  const rows = (await db
    .selectFrom('metrics.clv_summary')
    .select(['channel', sql<string>`sum(predicted_clv_12m)`.as('predicted_clv_12m'), sql<string>`sum(ad_spend)`.as('ad_spend')])
    .where('cohort_month', '>=', first)
    .where('cohort_month', '<=', lastMonth)
    .groupBy('channel')
    .orderBy('channel')
    .execute()) as MetricRow[];
  return rows.flatMap((r) => {
    const value = metricValue('predicted_ltv_to_cac', [r]);
    return value === null ? [] : [{ channel: String(r.channel), value }];
  });
}
