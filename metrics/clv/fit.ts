import { sql, type Kysely, type Transaction } from 'kysely';
import type { VeriteConfig } from '../../config/schema.ts';
import { UsageError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Database } from '../../warehouse/database.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { analyzeRefreshed, lockRefreshes, refreshMetrics, type MetricsRefreshResult } from '../refresh.ts';
import { clvSummary, customerKpis } from '../views/index.ts';
import { fitBgNbd, type BgNbdParameters } from './bg-nbd.ts';
import { predictGroups } from './customer-value.ts';
import { createHistories, historyCounts, ordersState, readHistoryGroups, readSpendGroups } from './customer-histories.ts';
import { fitGammaGamma, populationMeanSpend, type GammaGammaParameters } from './gamma-gamma.ts';

export interface ClvFitOptions {
  /** E: the histories are taken as of this date (default: the date of the last counted order). */
  calibrationEnd?: string;
  /** H: check the predictions against the orders after E up to this date. */
  holdoutEnd?: string;
  /** Skip the fit when one was already made as of E from the same orders (a run's step). */
  onlyWhenOrdersChanged?: boolean;
  /** When the fit is made (fitted_at); default now. */
  now?: Date;
  log?: Logger;
  /** Called in the fit's transaction just before it commits (a run records there that its fit was published). */
  beforeCommit?: (trx: Kysely<Database>) => Promise<void>;
}

export interface HoldoutCheck {
  end: string;
  weeks: number;
  actualRepeatTransactions: number;
  predictedRepeatTransactions: number;
  /** Pearson, per customer; null when either side does not vary. */
  correlation: number | null;
}

/** A fit, as `metrics.clv_model` keeps it. */
export interface ClvModel {
  fittedAt: Date;
  calibrationEnd: string;
  customers: number;
  repeatCustomers: number;
  bgNbd: BgNbdParameters & { logLikelihood: number };
  /** Fitted on the repeat customers with a positive mean value (`customers`). */
  gammaGamma: GammaGammaParameters & { logLikelihood: number; customers: number };
  holdout: HoldoutCheck | null;
  ordersChecksum: string;
  /** What a reader of the estimates should know (see {@link fitNotes}), one sentence each. */
  notes: string[];
}

/** a + b past which the beta distribution of the drop-out probability is, for every purpose, one value. */
const UNBOUNDED_BETA = 1e4;

/** The fit's counts and estimates under their `metrics.clv_model` column names: what the table and `verite clv fit --format json` share. */
export function fitColumns(model: ClvModel) {
  return {
    customers: model.customers,
    repeat_customers: model.repeatCustomers,
    r: model.bgNbd.r,
    alpha: model.bgNbd.alpha,
    a: model.bgNbd.a,
    b: model.bgNbd.b,
    bgnbd_log_likelihood: model.bgNbd.logLikelihood,
    p: model.gammaGamma.p,
    q: model.gammaGamma.q,
    gamma: model.gammaGamma.gamma,
    gamma_gamma_log_likelihood: model.gammaGamma.logLikelihood,
  };
}

/**
 * Sentences about estimates that need reading with care: a and b that grew without bound (the
 * likelihood rises as they grow together: every customer drops out with about the same
 * probability, a/(a+b), and only that ratio means something), and a spend model without a finite
 * mean (q ≤ 1), where the expected spend of a customer without repeat purchases is NULL.
 */
export function fitNotes(bgNbd: BgNbdParameters, gammaGamma: GammaGammaParameters): string[] {
  const notes: string[] = [];
  const { a, b } = bgNbd;
  if (a + b > UNBOUNDED_BETA) {
    notes.push(
      `a and b grew without bound (a + b = ${(a + b).toExponential(1)}): customers drop out after a purchase with about the same probability, ` +
        `a/(a + b) = ${(a / (a + b)).toFixed(3)}; only that ratio means something`,
    );
  }
  if (gammaGamma.q <= 1) {
    notes.push(`the Gamma-Gamma q is ${gammaGamma.q.toFixed(3)}, at most 1: the spend model has no finite mean, so customers without a repeat purchase get no expected spend (NULL)`);
  }
  return notes;
}

export type ClvFitResult =
  /**
   * `published`: E is the date of the last counted order, so the fit replaced
   * core.customer_predictions and rebuilt clv_summary and customer_kpis (`refresh`), all in one
   * commit; an earlier E (a back-test) writes its clv_model row only.
   */
  | { status: 'fitted'; model: ClvModel; published: boolean; refresh?: MetricsRefreshResult }
  /** No fit, and why, in a sentence for the run's summary. */
  | { status: 'skipped'; reason: string };

/**
 * The models did not converge, the warehouse refused a write, or the tables read from the
 * predictions could not be rebuilt: nothing of the fit was kept.
 */
export class ClvFitError extends Error {
  override name = 'ClvFitError';
}

const DAY_MS = 86_400_000;
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS);
const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * Fits the BG/NBD and Gamma-Gamma models on the counted orders up to the calibration end
 * (docs/metrics.md, "Predicted customer value") and writes what it found in one transaction: a
 * `metrics.clv_model` row and, when E is the date of the last counted order, every customer's
 * predictions in `core.customer_predictions` and `metrics.clv_summary` and
 * `metrics.customer_kpis` rebuilt from them. A fit stopped or failed at any point leaves
 * nothing: never a fit recorded (which the next run's step would take as done) with tables
 * still showing the previous predictions.
 *
 * No fit (`skipped`, with the reason) when there is no counted order, no customer before E,
 * fewer repeat customers than `clv.minRepeatCustomers` (a fit on so few gives unstable
 * numbers), or, with `onlyWhenOrdersChanged`, when a fit as of E was already made from the same
 * orders. Throws a UsageError for dates that do not fit the data, a ClvFitError when a model
 * does not converge.
 */
export async function fitClv(warehouse: Pick<Warehouse, 'db'>, config: VeriteConfig, options: ClvFitOptions = {}): Promise<ClvFitResult> {
  const { log } = options;
  const exists = await sql<{ oid: string | null }>`select to_regclass('core.orders')::text as oid`.execute(warehouse.db);
  if (!exists.rows[0]?.oid) return { status: 'skipped', reason: 'no fit: core.orders does not exist yet; run `verite transform` (or `verite run`) first' };
  const state = await ordersState(warehouse.db);
  if (!state.lastOrderDate) return { status: 'skipped', reason: 'no fit: no counted orders yet' };
  const last = state.lastOrderDate;
  const calibrationEnd = options.calibrationEnd ?? last;
  const holdoutEnd = options.holdoutEnd ?? null;
  if (calibrationEnd > last) throw new UsageError(`the calibration end ${calibrationEnd} is after the last counted order (${last}): the histories would run past the data`);
  if (holdoutEnd !== null && holdoutEnd <= calibrationEnd) throw new UsageError(`the hold-out end ${holdoutEnd} must be after the calibration end ${calibrationEnd}`);
  if (holdoutEnd !== null && holdoutEnd > last) {
    throw new UsageError(`the hold-out end ${holdoutEnd} is after the last counted order (${last}): the actual purchases of the hold-out would be undercounted`);
  }
  const published = calibrationEnd === last;
  const fittedAt = options.now ?? new Date();
  const trx = await warehouse.db.startTransaction().execute();
  let result: ClvFitResult;
  try {
    result = await fitIn(trx, config, { calibrationEnd, holdoutEnd, published, fittedAt, checksum: state.checksum, onlyWhenOrdersChanged: options.onlyWhenOrdersChanged });
    if (result.status === 'fitted' && result.published) {
      // The tables that read the predictions, rebuilt from the new ones (and the catalogue with
      // them) in the same transaction, under the refresh's lock taken at the start.
      const refresh = await refreshMetrics(warehouse, config, log, { views: [customerKpis, clvSummary], within: trx });
      if (refresh.status === 'failed') {
        throw new ClvFitError(`the models were fitted, but rebuilding metrics.clv_summary and metrics.customer_kpis failed (${refresh.error}); nothing of the fit was kept`);
      }
      result = { ...result, refresh };
    }
    await options.beforeCommit?.(trx);
    await trx.commit().execute();
  } catch (error) {
    await trx.rollback().execute().catch(() => undefined);
    throw error;
  }
  if (result.status === 'skipped') {
    log?.info({ calibrationEnd }, `CLV: ${result.reason}`);
    return result;
  }
  const { model } = result;
  log?.info(
    { calibrationEnd, customers: model.customers, repeatCustomers: model.repeatCustomers, bgNbd: model.bgNbd, gammaGamma: model.gammaGamma, holdout: model.holdout, published: result.published },
    'CLV models fitted',
  );
  if (result.refresh) await analyzeRefreshed(warehouse, result.refresh.tables, log);
  return result;
}

/** What one fit is asked to do, its dates checked. */
interface FitPlan {
  calibrationEnd: string;
  holdoutEnd: string | null;
  /** E is the last counted order's date: the predictions are published. */
  published: boolean;
  fittedAt: Date;
  /** Of the counted orders the fit reads (`ordersState`). */
  checksum: string;
  onlyWhenOrdersChanged?: boolean;
}

/**
 * The fit in the caller's transaction: its clv_model row and, when `published`, the
 * predictions; the views read from them are the caller's to rebuild before it commits.
 */
async function fitIn(trx: Transaction<Database>, config: VeriteConfig, fit: FitPlan): Promise<ClvFitResult> {
  const { calibrationEnd, holdoutEnd, published, fittedAt, checksum } = fit;
  await sql`set local timezone = 'UTC'`.execute(trx);
  // One fit at a time: two runs finishing together would otherwise both fit and both publish.
  await sql`select pg_advisory_xact_lock(hashtext('verite.clv.fit'))`.execute(trx);
  // A fit that publishes rebuilds metric tables in this transaction: it takes the refresh's lock
  // now, before it reads or writes any table, as a refresh takes it first. Taken later, with
  // its predictions written, it could wait for a refresh that waits for a table lock behind it.
  if (published) await lockRefreshes(trx);
  if (fit.onlyWhenOrdersChanged) {
    const previous = await trx
      .selectFrom('metrics.clv_model')
      .select('fitted_at')
      .where('calibration_end', '=', calibrationEnd)
      .where('orders_checksum', '=', checksum)
      .orderBy('fitted_at', 'desc')
      .executeTakeFirst();
    if (previous) return { status: 'skipped', reason: `not fitted again: the orders have not changed since the fit of ${previous.fitted_at.toISOString()} (as of ${calibrationEnd})` };
  }
  await createHistories(trx, calibrationEnd, holdoutEnd);
  const counts = await historyCounts(trx);
  if (counts.customers === 0) return { status: 'skipped', reason: `no fit: no customer's first counted order is on or before ${calibrationEnd}` };
  const minimum = config.clv.minRepeatCustomers;
  if (counts.repeatCustomers < minimum) {
    return {
      status: 'skipped',
      reason:
        `no fit: ${grouped(counts.repeatCustomers)} of ${grouped(counts.customers)} customers bought on two or more days up to ${calibrationEnd}, fewer than ` +
        `clv.minRepeatCustomers (${grouped(minimum)}); a fit on so few repeat customers gives unstable predictions, so the predicted-CLV tables keep what they had`,
    };
  }
  if (counts.spendCustomers === 0) return { status: 'skipped', reason: 'no fit: no repeat customer has a positive mean order value, so the spend model cannot be fitted' };
  const { groups, txDays, tDays } = await readHistoryGroups(trx);
  const bgNbd = fitBgNbd(groups);
  if (!bgNbd.converged) throw new ClvFitError(`the BG/NBD fit did not converge (${bgNbd.reason ?? 'no reason given'}); nothing was written`);
  const gammaGamma = fitGammaGamma(await readSpendGroups(trx));
  if (!gammaGamma.converged) throw new ClvFitError(`the Gamma-Gamma fit did not converge (${gammaGamma.reason ?? 'no reason given'}); nothing was written`);
  const holdoutWeeks = holdoutEnd === null ? undefined : daysBetween(calibrationEnd, holdoutEnd) / 7;
  const predictions = predictGroups(bgNbd.parameters, groups, { monthlyDiscountRate: config.clv.monthlyDiscountRate, holdoutWeeks });
  await sql`
    create temporary table clv_group_prediction (
      x int, tx_days int, t_days int, p_alive float8, expected_purchases_90d float8, expected_purchases_365d float8, discounted_purchases_12m float8, holdout float8
    ) on commit drop`.execute(trx);
  const CHUNK = 50_000;
  for (let from = 0; from < groups.size; from += CHUNK) {
    const part = <T extends ArrayLike<number>>(column: T) => Array.from(column).slice(from, from + CHUNK);
    await sql`
      insert into clv_group_prediction
      select * from unnest(${part(groups.x)}::int[], ${part(txDays)}::int[], ${part(tDays)}::int[], ${part(predictions.pAlive)}::float8[],
                           ${part(predictions.expectedPurchases90d)}::float8[], ${part(predictions.expectedPurchases365d)}::float8[],
                           ${part(predictions.discountedPurchases12m)}::float8[], ${part(predictions.expectedPurchasesHoldout ?? new Float64Array(groups.size))}::float8[])`.execute(trx);
  }
  let holdout: HoldoutCheck | null = null;
  if (holdoutEnd !== null && holdoutWeeks !== undefined) {
    const check = await sql<{ actual: number; predicted: number; correlation: number | null }>`
      select sum(h.holdout)::int as actual, sum(g.holdout) as predicted, corr(h.holdout, g.holdout) as correlation
        from clv_history h join clv_group_prediction g using (x, tx_days, t_days)`.execute(trx);
    const row = check.rows[0]!;
    holdout = { end: holdoutEnd, weeks: holdoutWeeks, actualRepeatTransactions: row.actual, predictedRepeatTransactions: row.predicted, correlation: row.correlation };
  }
  const model: ClvModel = {
    fittedAt,
    calibrationEnd,
    customers: counts.customers,
    repeatCustomers: counts.repeatCustomers,
    bgNbd: { ...bgNbd.parameters, logLikelihood: bgNbd.logLikelihood },
    gammaGamma: { ...gammaGamma.parameters, logLikelihood: gammaGamma.logLikelihood, customers: gammaGamma.customers },
    holdout,
    ordersChecksum: checksum,
    notes: fitNotes(bgNbd.parameters, gammaGamma.parameters),
  };
  await trx
    .insertInto('metrics.clv_model')
    .values({
      date: calibrationEnd,
      fitted_at: fittedAt,
      calibration_end: calibrationEnd,
      ...fitColumns(model),
      holdout_end: holdout?.end ?? null,
      holdout_actual_repeat_transactions: holdout?.actualRepeatTransactions ?? null,
      holdout_predicted_repeat_transactions: holdout?.predictedRepeatTransactions ?? null,
      holdout_correlation: holdout?.correlation ?? null,
      orders_checksum: checksum,
    })
    .execute();
  if (published) await publishPredictions(trx, model, populationMeanSpend(gammaGamma.parameters));
  return { status: 'fitted', model, published };
}

/**
 * Replaces every customer's predictions: the groups' expectations joined back to the
 * customers, the spend (Gamma-Gamma, per customer from x and m) and the 12-month value
 * computed here in SQL at full precision.
 */
async function publishPredictions(trx: Kysely<Database>, model: ClvModel, populationMean: number | null): Promise<void> {
  const { p, q, gamma } = model.gammaGamma;
  await sql`delete from core.customer_predictions`.execute(trx);
  await sql`
    insert into core.customer_predictions
      (customer_key, calibration_end, fitted_at, x, t_x, t, m, p_alive, expected_purchases_90d, expected_purchases_365d, expected_spend, predicted_clv_12m)
    select h.customer_key, ${model.calibrationEnd}::date, ${model.fittedAt}::timestamptz, h.x, h.tx_days / 7.0, h.t_days / 7.0, h.m,
           g.p_alive::numeric, g.expected_purchases_90d::numeric, g.expected_purchases_365d::numeric,
           s.spend, s.spend * g.discounted_purchases_12m::numeric
      from clv_history h
      join clv_group_prediction g using (x, tx_days, t_days)
     cross join lateral (
       select case
                when h.x = 0 then ${populationMean}::numeric
                when ${p}::numeric * h.x + ${q}::numeric - 1 > 0
                  then ${p}::numeric * (${gamma}::numeric + h.m * h.x) / (${p}::numeric * h.x + ${q}::numeric - 1)
              end as spend) s`.execute(trx);
}
