import type { Command } from 'commander';
import { sql } from 'kysely';
import { isoDate } from '../../config/schema.ts';
import { UsageError } from '../../lib/errors.ts';
import { fitClv, fitColumns, type ClvModel } from '../../metrics/clv/fit.ts';
import { action, commandContext, EXIT, printError, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { requireWritable } from '../../warehouse/writable.ts';

const grouped = (value: number, decimals = 0) => value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });

/** A date option, checked: YYYY-MM-DD and a real calendar date. */
function dateOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const parsed = isoDate.safeParse(value);
  if (!parsed.success || Number.isNaN(Date.parse(`${value}T00:00:00Z`)) || new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`${name} ${JSON.stringify(value)}: expected a date as YYYY-MM-DD`);
  }
  return value;
}

/** The fit as `metrics.clv_model` names its columns (what `--format json` prints). */
function modelRecord(model: ClvModel, published: boolean): Record<string, unknown> {
  return {
    fitted_at: model.fittedAt.toISOString(),
    calibration_end: model.calibrationEnd,
    published,
    ...fitColumns(model),
    gamma_gamma_customers: model.gammaGamma.customers,
    holdout_end: model.holdout?.end ?? null,
    holdout_weeks: model.holdout?.weeks ?? null,
    holdout_actual_repeat_transactions: model.holdout?.actualRepeatTransactions ?? null,
    holdout_predicted_repeat_transactions: model.holdout?.predictedRepeatTransactions ?? null,
    holdout_correlation: model.holdout?.correlation ?? null,
    notes: model.notes,
  };
}

/** The fit as text: the data it was made from, the estimates, the hold-out check, what was written. */
export function formatFit(model: ClvModel, published: boolean, lastOrderNote: string): string {
  const { r, alpha, a, b } = model.bgNbd;
  const { p, q, gamma } = model.gammaGamma;
  const rows: [string, string][] = [
    ['customers', `${grouped(model.customers)} (first purchase on or before ${model.calibrationEnd})`],
    ['repeat customers', `${grouped(model.repeatCustomers)} (two or more purchase days)`],
    ['BG/NBD', `r ${r.toFixed(4)}  alpha ${alpha.toFixed(4)}  a ${a.toFixed(4)}  b ${b.toFixed(4)}`],
    ['  log-likelihood', model.bgNbd.logLikelihood.toFixed(2)],
    ['Gamma-Gamma', `p ${p.toFixed(4)}  q ${q.toFixed(4)}  gamma ${gamma.toFixed(4)}  (${grouped(model.gammaGamma.customers)} repeat customers with a positive mean)`],
    ['  log-likelihood', model.gammaGamma.logLikelihood.toFixed(2)],
  ];
  const h = model.holdout;
  if (h) {
    rows.push(
      [`hold-out to ${h.end}`, `${h.weeks.toFixed(1)} weeks after the calibration end`],
      ['  actual repeat transactions', grouped(h.actualRepeatTransactions)],
      ['  predicted repeat transactions', grouped(h.predictedRepeatTransactions, 1)],
      ['  correlation per customer', h.correlation === null ? 'n/a (no variation)' : h.correlation.toFixed(3)],
    );
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    `CLV models fitted as of ${model.calibrationEnd} (fitted_at ${model.fittedAt.toISOString()})`,
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    ...model.notes.map((note) => `note: ${note}`),
    published
      ? `Published: core.customer_predictions (${grouped(model.customers)} customers), metrics.clv_summary and metrics.customer_kpis rebuilt; the row is in metrics.clv_model.`
      : `A back-test (${lastOrderNote}): the row is in metrics.clv_model; the published predictions are unchanged.`,
    '',
  ].join('\n');
}

export function registerClv(program: Command): void {
  const clv = program.command('clv').description('the predicted customer value models (BG/NBD and Gamma-Gamma; docs/clv.md)');

  clv
    .command('fit')
    .description('fit the models on the counted orders up to the calibration end, print the fit and its hold-out check, and write metrics.clv_model')
    .option('--calibration-end <date>', 'fit on the orders up to this date (default: the date of the last counted order, which also publishes the predictions)')
    .option('--holdout-end <date>', 'check the predictions against the orders after the calibration end up to this date')
    .option('--format <format>', 'table or json', 'table')
    .action(
      action(async (opts: { calibrationEnd?: string; holdoutEnd?: string; format: string }) => {
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format must be table or json, not ${opts.format}`);
        const calibrationEnd = dateOption('--calibration-end', opts.calibrationEnd);
        const holdoutEnd = dateOption('--holdout-end', opts.holdoutEnd);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          // The fit writes, and makes temporary tables: refused before it starts, saying why, as
          // the other commands that write are (a standby, a read-only database, no TEMPORARY).
          const client = await warehouse.pool.connect();
          try {
            await requireWritable(client);
          } finally {
            client.release();
          }
          const result = await fitClv(warehouse, ctx.config, { calibrationEnd, holdoutEnd, log: ctx.log });
          if (result.status === 'skipped') {
            if (opts.format === 'json') process.stdout.write(`${JSON.stringify({ status: 'skipped', reason: result.reason })}\n`);
            printError(`verite: ${result.reason}`);
            return EXIT.failed;
          }
          const last = await sql<{ last: string | null }>`select max(order_date)::text as last from core.orders where is_counted`.execute(warehouse.db);
          const note = `the calibration end is before the last counted order, ${last.rows[0]?.last ?? '?'}`;
          if (opts.format === 'json') process.stdout.write(`${JSON.stringify({ status: 'fitted', ...modelRecord(result.model, result.published) })}\n`);
          else process.stdout.write(formatFit(result.model, result.published, note));
          return EXIT.ok;
        });
      }),
    );

  clv
    .command('show')
    .description("one customer's purchase days and what the last published fit predicts for them")
    .argument('<customer>', 'the customer key: the shop customer id, or the e-mail of a guest')
    .action(
      action(async (customer: string) => {
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          // A guest's key is the lower-cased, trimmed e-mail: accept it as typed too.
          const keys = [...new Set([customer, customer.trim().toLowerCase()])];
          const days = await sql<{ customer_key: string; date: string; orders: number; value: string }>`
            select customer_key, order_date::text as date, count(*)::int as orders, sum(total_price_rc)::text as value
              from core.orders
             where is_counted and customer_key = any(${keys}::text[])
             group by customer_key, order_date
             order by customer_key = ${customer} desc, order_date`.execute(warehouse.db);
          const key = days.rows[0]?.customer_key;
          if (!key) throw new UsageError(`no customer ${JSON.stringify(customer)} with a counted order (a customer key is the shop's customer id, or a guest's e-mail)`);
          const prediction = await warehouse.db.selectFrom('core.customer_predictions').selectAll().where('customer_key', '=', key).executeTakeFirst();
          const history = days.rows.filter((d) => d.customer_key === key);
          process.stdout.write(`Customer ${key}: ${history.length} purchase day${history.length === 1 ? '' : 's'} (counted orders, ${ctx.config.reportingCurrency})\n`);
          process.stdout.write(
            formatTable(
              history.map((d) => ({
                date: d.date,
                orders: d.orders,
                value: d.value,
                '': prediction && d.date > prediction.calibration_end ? 'after the calibration end' : '',
              })),
            ),
          );
          if (!prediction) {
            printError(`verite: no prediction for ${key}: no fit has been published since this customer's first order (verite clv fit)`);
            return EXIT.failed;
          }
          const n = (v: string | null, digits: number) => (v === null ? 'n/a' : Number(v).toFixed(digits));
          const rows: [string, string][] = [
            ['as of (calibration end)', `${prediction.calibration_end} (fitted_at ${prediction.fitted_at.toISOString()})`],
            ['x (repeat purchase days)', String(prediction.x)],
            ['t_x (weeks to the last)', n(prediction.t_x, 2)],
            ['T (weeks to the calibration end)', n(prediction.t, 2)],
            ['m (mean repeat value)', n(prediction.m, 2)],
            ['p_alive', n(prediction.p_alive, 4)],
            ['expected purchases, 90 days', n(prediction.expected_purchases_90d, 3)],
            ['expected purchases, 365 days', n(prediction.expected_purchases_365d, 3)],
            ['expected spend per purchase', n(prediction.expected_spend, 2)],
            ['predicted value, 12 months', `${n(prediction.predicted_clv_12m, 2)} (discounted monthly, clv.monthlyDiscountRate)`],
          ];
          const width = Math.max(...rows.map(([k]) => k.length));
          process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
          return EXIT.ok;
        });
      }),
    );
}
