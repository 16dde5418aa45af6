import { sql, type RawBuilder } from 'kysely';
import { baseColumns } from '../columns.ts';
import { isCompleteExpression, lastCompleteDay } from '../data-status.ts';
import { metricByName } from '../definitions/index.ts';
import { defineView, type MetricView } from '../view.ts';
import { countedShipments } from './counted-shipments.ts';

/**
 * Distinct counts cannot be summed over days: they are recounted over the period, customers from
 * the orders (a customer who orders on Monday and Friday is one customer of the week), orders
 * shipped from the shipments (an order shipped in two parcels on two days is one order shipped).
 */
const RECOUNTED_FROM_ORDERS: Record<string, RawBuilder<number>> = {
  customers: sql<number>`count(distinct customer_key)`,
  new_customers: sql<number>`count(distinct customer_key) filter (where is_first_order)`,
};
const RECOUNTED_FROM_SHIPMENTS: Record<string, RawBuilder<number>> = {
  orders_shipped: sql<number>`count(distinct order_id)`,
};
const RECOUNTED = [...Object.keys(RECOUNTED_FROM_ORDERS), ...Object.keys(RECOUNTED_FROM_SHIPMENTS)];

/** The columns that say how much of the period the row covers, after its date. */
const COVERAGE = ['days_in_period', 'days_with_data', 'is_complete'];

/**
 * A view with the columns of kpi_daily per ISO week (Monday first, labelled by its Monday) or
 * per month (labelled by its first day): each additive column summed over the period's days,
 * customers, new customers and orders shipped recounted distinct, and every ratio recomputed
 * from those (by the refresh, from the definitions), never averaged. Each row says how many of
 * its days kpi_daily covers and whether the period is complete (its last day is on or before
 * the last complete day of data), so a period still in progress does not read as a collapse.
 */
function periodView(name: 'kpi_weekly' | 'kpi_monthly', unit: 'week' | 'month'): MetricView {
  const shape = { name, dimensions: ['date', ...COVERAGE] } as const;
  return defineView({
    ...shape,
    grain: unit === 'week' ? 'one row per ISO week (Monday first), dated by its Monday' : 'one row per calendar month, dated by its first day',
    indexes: [{ columns: ['date'], unique: true }],
    build: (db, ctx) => {
      const metrics = baseColumns(shape).filter((c) => c !== 'date' && !COVERAGE.includes(c));
      const summed = metrics.filter((c) => !RECOUNTED.includes(c));
      const notAdditive = summed.filter((c) => !metricByName(c)?.additive);
      if (notAdditive.length) throw new Error(`${name}: ${notAdditive.join(', ')} can be neither summed over days nor recounted`);
      const period = (column: string) => sql<string>`date_trunc(${sql.lit(unit)}, ${sql.ref(column)})::date`;
      const next = sql<string>`(s.date + ${sql.lit(`1 ${unit}`)}::interval)::date`;
      return db
        .with('sums', (q) =>
          q
            .selectFrom('metrics.kpi_daily')
            .groupBy(period('date'))
            .select([period('date').as('date'), sql<number>`count(*)`.as('days_with_data'), ...summed.map((c) => sql<string>`sum(${sql.ref(c)})`.as(c))]),
        )
        .with('recounted_orders', (q) =>
          q
            .selectFrom('core.orders')
            .where('is_counted', '=', true)
            .groupBy(period('order_date'))
            .select([period('order_date').as('date'), ...Object.entries(RECOUNTED_FROM_ORDERS).map(([c, expr]) => expr.as(c))]),
        )
        .with('shipments_c', (q) => countedShipments(q))
        .with('recounted_shipments', (q) =>
          q
            .selectFrom('shipments_c')
            .where('shipped_date', 'is not', null)
            .groupBy(period('shipped_date'))
            .select([period('shipped_date').as('date'), ...Object.entries(RECOUNTED_FROM_SHIPMENTS).map(([c, expr]) => expr.as(c))]),
        )
        .selectFrom('sums as s')
        .leftJoin('recounted_orders as o', 'o.date', 's.date')
        .leftJoin('recounted_shipments as h', 'h.date', 's.date')
        .select([
          's.date',
          sql<number>`${next} - s.date`.as('days_in_period'),
          's.days_with_data',
          isCompleteExpression(sql<string>`${next} - 1`, lastCompleteDay(db, ctx.completeness)).as('is_complete'),
          ...summed.map((c) => sql.ref(`s.${c}`).as(c)),
          ...Object.keys(RECOUNTED_FROM_ORDERS).map((c) => sql<number>`coalesce(${sql.ref(`o.${c}`)}, 0)`.as(c)),
          ...Object.keys(RECOUNTED_FROM_SHIPMENTS).map((c) => sql<number>`coalesce(${sql.ref(`h.${c}`)}, 0)`.as(c)),
        ]);
    },
  });
}

/** `metrics.kpi_weekly`: kpi_daily by ISO week. */
export const kpiWeekly = periodView('kpi_weekly', 'week');

/** `metrics.kpi_monthly`: kpi_daily by month. */
export const kpiMonthly = periodView('kpi_monthly', 'month');
