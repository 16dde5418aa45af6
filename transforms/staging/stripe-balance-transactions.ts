import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel, type TransformContext } from '../model.ts';
import { asciiLower, asciiUpper, jsonEpoch, rawRecordsOnce } from '../sql.ts';
import { currencyProblem, dateRange, epochProblem, foldedProblem, integerProblem, plainCurrency, plainEpoch, plainInteger, problems, rawRecordsCheck } from '../validation.ts';

const text = (name: string) => sql`_record->>${sql.lit(name)}`;

/** Stripe amounts are integers in the currency's minor unit; a balance transaction's may be negative. */
const major = (field: string) =>
  sql<string>`coalesce(ops.parse_integer(_record->>${sql.lit(field)}), 0) / power(10::numeric, ops.currency_exponent(_record->>'currency'))`;

export const balanceTransactionProblem = (ctx: TransformContext) => {
  const range = dateRange(ctx);
  return problems(
    epochProblem('created', text('created'), range, { required: true }),
    integerProblem('amount', text('amount'), { required: true }),
    // Signed: a won dispute's reversal gives the dispute fee back as a negative fee.
    integerProblem('fee', text('fee')),
    integerProblem('net', text('net')),
    currencyProblem('currency', text('currency'), { required: true }),
  );
};

/** A balance transaction that plainly has no problem ({@link balanceTransactionProblem} is null). */
export const balanceTransactionPlain = (ctx: TransformContext) =>
  sql<boolean>`(${plainEpoch(text('created'), dateRange(ctx))} and ${plainInteger(text('amount'), { required: true, signed: true })}
    and ${plainInteger(text('fee'), { signed: true })} and ${plainInteger(text('net'), { signed: true })} and ${plainCurrency(text('currency'), { required: true })})`;

/** The model's check, run in its own scan of the raw records (`foldedInto`): the few not plain are read again. */
const BALANCE_TRANSACTIONS_CHECK = rawRecordsCheck('stripe', 'balance_transactions', 'balance_transaction_id', balanceTransactionProblem, {
  plain: balanceTransactionPlain,
  foldedInto: 'staging.stripe_balance_transactions',
});

/**
 * One row per Stripe balance transaction (a charge, a refund, a payout, a fee billed apart …),
 * amounts in major units with their sign: a payout's `amount` is negative, its cash leaves the
 * balance. A transaction whose `created`, amounts (whole minor units, signed: a won dispute's
 * reversal returns the dispute fee as a negative `fee`) or currency do not parse is set aside.
 */
export const stagingStripeBalanceTransactions = defineModel({
  name: 'staging.stripe_balance_transactions',
  dependsOn: ['raw.stripe__balance_transactions'],
  description: 'Stripe balance transactions, one row per transaction, signed amounts in major units.',
  uniqueKey: ['balance_transaction_id'],
  checks: [BALANCE_TRANSACTIONS_CHECK],
  incremental: byRawKey('stripe', 'balance_transactions', 'balance_transaction_id'),
  build: (db, ctx) =>
    db.selectFrom(rawRecordsOnce('raw.stripe__balance_transactions')).select([
      '_key as balance_transaction_id',
      jsonEpoch('created').as('created_at'),
      jsonEpoch('available_on').as('available_on'),
      sql<string | null>`${asciiLower(sql`nullif(btrim(_record->>'type'), '')`)}`.as('type'),
      sql<string | null>`${asciiLower(sql`nullif(btrim(_record->>'reporting_category'), '')`)}`.as('reporting_category'),
      sql<string | null>`${asciiLower(sql`nullif(btrim(_record->>'status'), '')`)}`.as('status'),
      sql<string>`${asciiUpper(sql`btrim(_record->>'currency')`)}`.as('currency'),
      major('amount').as('amount'),
      major('fee').as('fee'),
      major('net').as('net'),
      sql<string | null>`nullif(case when jsonb_typeof(_record->'source') = 'object' then _record #>> '{source,id}' else _record->>'source' end, '')`.as('source_id'),
      foldedProblem(BALANCE_TRANSACTIONS_CHECK, ctx),
    ]),
});
