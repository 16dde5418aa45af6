import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel, type TransformContext } from '../model.ts';
import { asciiLower, asciiUpper, jsonEpoch, rawRecordsOnce } from '../sql.ts';
import { countProblem, currencyProblem, dateRange, epochProblem, foldedProblem, plainCurrency, plainEpoch, plainInteger, problems, rawRecordsCheck } from '../validation.ts';

const text = (name: string) => sql`_record->>${sql.lit(name)}`;

/** Stripe amounts are integers in the currency's minor unit. */
const major = (field: string) =>
  sql<string>`coalesce(ops.parse_integer(_record->>${sql.lit(field)}), 0) / power(10::numeric, ops.currency_exponent(_record->>'currency'))`;

export const chargeProblem = (ctx: TransformContext) => {
  const range = dateRange(ctx);
  return problems(
    epochProblem('created', text('created'), range, { required: true }),
    countProblem('amount', text('amount'), { required: true }),
    countProblem('amount_captured', text('amount_captured')),
    countProblem('amount_refunded', text('amount_refunded')),
    currencyProblem('currency', text('currency'), { required: true }),
  );
};

/**
 * A charge that plainly has no problem ({@link chargeProblem} is null): a pattern or a lookup
 * per field, where the problem's functions cost twice the build's own parsing.
 */
export const chargePlain = (ctx: TransformContext) =>
  sql<boolean>`(${plainEpoch(text('created'), dateRange(ctx))} and ${plainInteger(text('amount'), { required: true })}
    and ${plainInteger(text('amount_captured'))} and ${plainInteger(text('amount_refunded'))} and ${plainCurrency(text('currency'), { required: true })})`;

/** The model's check, run in its own scan of the raw records (`foldedInto`): the few not plain are read again. */
const CHARGES_CHECK = rawRecordsCheck('stripe', 'charges', 'charge_id', chargeProblem, { plain: chargePlain, foldedInto: 'staging.stripe_charges' });

/**
 * One row per Stripe charge, amounts in major units. A charge whose `created`, amounts (whole
 * minor units, not negative) or currency do not parse is set aside.
 */
export const stagingStripeCharges = defineModel({
  name: 'staging.stripe_charges',
  dependsOn: ['raw.stripe__charges'],
  description: 'Stripe charges, one row per charge, amounts converted from minor to major units.',
  uniqueKey: ['charge_id'],
  checks: [CHARGES_CHECK],
  // The incremental build of core.payments and core.shipments finds the rows naming an order through these.
  indexes: [['metadata_order_id'], ['payment_intent']],
  incremental: byRawKey('stripe', 'charges', 'charge_id'),
  build: (db, ctx) =>
    db.selectFrom(rawRecordsOnce('raw.stripe__charges')).select([
      '_key as charge_id',
      jsonEpoch('created').as('created_at'),
      sql<string | null>`${asciiLower(sql`_record->>'status'`)}`.as('status'),
      sql<string>`${asciiUpper(sql`btrim(_record->>'currency')`)}`.as('currency'),
      major('amount').as('amount'),
      major('amount_captured').as('amount_captured'),
      major('amount_refunded').as('amount_refunded'),
      sql<string | null>`nullif(case when jsonb_typeof(_record->'customer') = 'object' then _record #>> '{customer,id}' else _record->>'customer' end, '')`.as('stripe_customer_id'),
      sql<string | null>`nullif(case when jsonb_typeof(_record->'payment_intent') = 'object' then _record #>> '{payment_intent,id}' else _record->>'payment_intent' end, '')`.as('payment_intent'),
      sql<string | null>`nullif(btrim(_record #>> '{metadata,order_id}'), '')`.as('metadata_order_id'),
      sql<string | null>`nullif(_record->>'failure_code', '')`.as('failure_code'),
      sql<string | null>`_record #>> '{outcome,type}'`.as('outcome_type'),
      foldedProblem(CHARGES_CHECK, ctx),
    ]),
});
