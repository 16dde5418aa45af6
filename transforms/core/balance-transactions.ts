import { sql } from 'kysely';
import { chargeDaysWithoutBalanceTransactions, hasRates } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { fxRateJoin, joinedRate, localDate } from '../sql.ts';

/**
 * Stripe balance transactions on the local date they were created, converted on that date,
 * with the two parts the profit metrics read (docs/metrics.md): `payment_fee`, the fee Stripe
 * kept (`fee`, plus minus the `amount` of a `stripe_fee` transaction, a fee billed apart whose
 * own `fee` is 0), and `payout`, cash sent to the bank (minus the `amount` of a `payout`).
 */
export const coreBalanceTransactions = defineModel({
  name: 'core.balance_transactions',
  dependsOn: ['staging.stripe_balance_transactions', 'core.fx_rates', 'core.payments'],
  description: 'Stripe balance transactions on their local date, with their payment fee and payout, converted on that date.',
  uniqueKey: ['balance_transaction_id'],
  indexes: [['transaction_date']],
  checks: [
    hasRates('core.balance_transactions', [['amount', 'amount_rc'], ['fee', 'fee_rc'], ['net', 'net_rc']], 'transaction_date'),
    chargeDaysWithoutBalanceTransactions(),
  ],
  incremental: {
    replaceBy: 'balance_transaction_id',
    scope: { 'staging.stripe_balance_transactions': 'balance_transaction_id' },
    changed: (c) => sql`
      select x.balance_transaction_id as value from ${c.replaced('staging.stripe_balance_transactions')} x
      union select t.balance_transaction_id from core.balance_transactions t where t.transaction_date in ${ratesChangedOn(c)}`,
  },
  build: (db, ctx) => {
    const date = localDate(sql`t.created_at`, ctx.reportingTimezone);
    const rate = joinedRate('fx', sql`t.currency`, ctx.reportingCurrency);
    const paymentFee = sql`(t.fee + case when t.type = 'stripe_fee' then -t.amount else 0 end)`;
    const payout = sql`(case when t.type = 'payout' then -t.amount else 0 end)`;
    return db
      .selectFrom('staging.stripe_balance_transactions as t')
      .leftJoin('core.fx_rates as fx', (j) => j.on(fxRateJoin('fx', sql`t.currency`, date)))
      .where(sql<boolean>`t.created_at is not null`)
      .select([
        't.balance_transaction_id',
        sql<Date>`t.created_at`.as('created_at'),
        date.as('transaction_date'),
        't.type',
        't.reporting_category',
        't.status',
        't.source_id',
        't.currency',
        't.amount',
        't.fee',
        't.net',
        sql<string>`${paymentFee}`.as('payment_fee'),
        sql<string>`${payout}`.as('payout'),
        sql<string>`t.amount * ${rate}`.as('amount_rc'),
        sql<string>`t.fee * ${rate}`.as('fee_rc'),
        sql<string>`t.net * ${rate}`.as('net_rc'),
        sql<string>`${paymentFee} * ${rate}`.as('payment_fee_rc'),
        sql<string>`${payout} * ${rate}`.as('payout_rc'),
      ]);
  },
});
