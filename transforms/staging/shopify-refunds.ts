import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * One row per refund transaction of a Shopify order (a refund can pay back through several
 * transactions). Dated by the refund's own `created_at`; the transaction's kind and status
 * are kept so core can take the successful refunds only.
 */
export const stagingShopifyRefunds = defineModel({
  name: 'staging.shopify_refunds',
  dependsOn: ['raw.shopify__orders'],
  description: 'Refund transactions of Shopify orders, one row per transaction.',
  uniqueKey: ['refund_transaction_id'],
  build: (db) =>
    db
      .selectFrom(sql<{ order_id: string; refund: unknown; rord: number; tx: unknown; tord: number }>`(
        select o._key as order_id, r.refund, r.rord, t.tx, t.tord
          from raw.shopify__orders o
          cross join lateral jsonb_array_elements(case when jsonb_typeof(o._record->'refunds') = 'array' then o._record->'refunds' else '[]'::jsonb end)
            with ordinality as r(refund, rord)
          cross join lateral jsonb_array_elements(case when jsonb_typeof(r.refund->'transactions') = 'array' then r.refund->'transactions' else '[]'::jsonb end)
            with ordinality as t(tx, tord))`.as('x'))
      .select([
        sql<string>`coalesce(nullif(x.tx->>'id', ''), x.order_id || ':' || x.rord || ':' || x.tord)`.as('refund_transaction_id'),
        sql<string>`coalesce(nullif(x.refund->>'id', ''), x.order_id || ':' || x.rord)`.as('refund_id'),
        sql<string>`x.order_id`.as('order_id'),
        // The refund's date is what METRICS.md counts; a transaction time is the fallback.
        sql<Date | null>`coalesce(ops.try_timestamptz(x.refund->>'created_at'), ops.try_timestamptz(x.tx->>'created_at'))`.as('created_at'),
        sql<string | null>`lower(x.tx->>'kind')`.as('kind'),
        sql<string | null>`lower(x.tx->>'status')`.as('status'),
        sql<string>`coalesce(ops.try_numeric(x.tx->>'amount'), 0)`.as('amount'),
        sql<string | null>`upper(nullif(x.tx->>'currency', ''))`.as('currency'),
      ]),
});
