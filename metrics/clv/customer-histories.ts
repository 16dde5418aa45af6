import { sql, type Kysely } from 'kysely';
import type { Database } from '../../warehouse/database.ts';
import { historyGroups, type HistoryGroups } from './history-groups.ts';
import { spendGroups, type SpendGroups } from './gamma-gamma.ts';

/**
 * The customers' purchase histories, read from `core.orders` as docs/metrics.md defines them
 * ("Predicted customer value"): a customer's purchase days are the distinct local dates of
 * their counted orders up to the calibration end E, a day's `total_price_rc` summed (refunds
 * not subtracted); x = purchase days − 1, t_x and T the days from the first purchase day to
 * the last and to E (divided by 7 for the models, which count in weeks), m the mean value of
 * the repeat days. With a hold-out end H, also each customer's purchase days after E up to H.
 *
 * They are kept in a temporary table of the fit's transaction, `clv_history`, one row per
 * customer, so the fit reads them grouped and the predictions are written back per customer
 * by a join, never one customer at a time through JavaScript.
 */

/** The counted orders as they stand: the last order's date, and a checksum that changes with any order. */
export interface OrdersState {
  lastOrderDate: string | null;
  checksum: string;
}

export async function ordersState(db: Kysely<Database>): Promise<OrdersState> {
  const res = await sql<{ last_date: string | null; orders: string; hash: string }>`
    select max(order_date)::text as last_date, count(*)::text as orders,
           coalesce(sum(hashtextextended(customer_key || '|' || order_date::text || '|' || total_price_rc::text, 0)::numeric), 0)::text as hash
      from core.orders
     where is_counted`.execute(db);
  const row = res.rows[0]!;
  return { lastOrderDate: row.last_date, checksum: `${row.orders}:${row.hash}` };
}

/** Creates `clv_history` (dropped at the end of the transaction) for calibration end E and an optional hold-out end H. */
export async function createHistories(trx: Kysely<Database>, calibrationEnd: string, holdoutEnd: string | null): Promise<void> {
  await sql`
    create temporary table clv_history on commit drop as
    with days as (
      select customer_key, order_date, sum(total_price_rc) as value
        from core.orders
       where is_counted and order_date <= coalesce(${holdoutEnd}::date, ${calibrationEnd}::date)
       group by customer_key, order_date
    ), numbered as (
      select customer_key, order_date, value, row_number() over (partition by customer_key order by order_date) as seq
        from days
       where order_date <= ${calibrationEnd}::date
    ), calibration as (
      select customer_key,
             (count(*) - 1)::int as x,
             (max(order_date) - min(order_date))::int as tx_days,
             (${calibrationEnd}::date - min(order_date))::int as t_days,
             sum(value) filter (where seq > 1) / nullif(count(*) - 1, 0) as m
        from numbered
       group by customer_key
    ), holdout as (
      select customer_key, count(*)::int as n
        from days
       where order_date > ${calibrationEnd}::date
       group by customer_key
    )
    select c.*, coalesce(h.n, 0) as holdout
      from calibration c
      left join holdout h using (customer_key)`.execute(trx);
  await sql`analyze clv_history`.execute(trx);
}

export interface HistoryCounts {
  customers: number;
  /** x > 0. */
  repeatCustomers: number;
  /** x > 0 and m > 0: the customers the spend model is fitted on. */
  spendCustomers: number;
}

export async function historyCounts(trx: Kysely<Database>): Promise<HistoryCounts> {
  const res = await sql<HistoryCounts>`
    select count(*)::int as "customers", (count(*) filter (where x > 0))::int as "repeatCustomers", (count(*) filter (where x > 0 and m > 0))::int as "spendCustomers"
      from clv_history`.execute(trx);
  return res.rows[0]!;
}

/** The histories grouped by (x, t_x, T), in weeks, with the days kept to join the predictions back. */
export async function readHistoryGroups(trx: Kysely<Database>): Promise<{ groups: HistoryGroups; txDays: Int32Array; tDays: Int32Array }> {
  const res = await sql<{ x: number; tx_days: number; t_days: number; n: number }>`
    select x, tx_days, t_days, count(*)::int as n from clv_history group by x, tx_days, t_days`.execute(trx);
  const rows = res.rows;
  return {
    groups: historyGroups({ x: rows.map((r) => r.x), tx: rows.map((r) => r.tx_days / 7), T: rows.map((r) => r.t_days / 7), count: rows.map((r) => r.n) }),
    txDays: Int32Array.from(rows, (r) => r.tx_days),
    tDays: Int32Array.from(rows, (r) => r.t_days),
  };
}

/** The repeat customers' (x, m), grouped, for the spend model. */
export async function readSpendGroups(trx: Kysely<Database>): Promise<SpendGroups> {
  const res = await sql<{ x: number; m: number; n: number }>`
    select x, m::float8 as m, count(*)::int as n from clv_history where x > 0 and m > 0 group by x, m`.execute(trx);
  return spendGroups({ x: res.rows.map((r) => r.x), m: res.rows.map((r) => r.m), count: res.rows.map((r) => r.n) });
}
