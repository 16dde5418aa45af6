import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiLower, asciiUpper, jsonEpoch } from '../sql.ts';

/** One row per Stripe refund, amount in major units. */
export const stagingStripeRefunds = defineModel({
  name: 'staging.stripe_refunds',
  dependsOn: ['raw.stripe__refunds'],
  description: 'Stripe refunds, one row per refund, amounts in major units.',
  uniqueKey: ['refund_id'],
  incremental: byRawKey('stripe', 'refunds', 'refund_id'),
  build: (db) =>
    db.selectFrom('raw.stripe__refunds').select([
      '_key as refund_id',
      sql<string | null>`nullif(case when jsonb_typeof(_record->'charge') = 'object' then _record #>> '{charge,id}' else _record->>'charge' end, '')`.as('charge_id'),
      jsonEpoch('created').as('created_at'),
      sql<string | null>`${asciiLower(sql`_record->>'status'`)}`.as('status'),
      sql<string>`${asciiUpper(sql`_record->>'currency'`)}`.as('currency'),
      sql<string>`coalesce(ops.try_numeric(_record->>'amount'), 0) / power(10::numeric, ops.currency_exponent(_record->>'currency'))`.as('amount'),
    ]),
});
