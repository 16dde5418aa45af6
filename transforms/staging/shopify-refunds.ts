import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { isSetAside } from '../validation.ts';

/**
 * One row per refund transaction of a Shopify order (a refund can pay back through several
 * transactions). Dated by the refund's own `created_at`; the transaction's kind and status
 * are kept so core can take the successful refunds only. The refunds of an order set aside
 * are left out with it.
 */
export const stagingShopifyRefunds = defineModel({
  name: 'staging.shopify_refunds',
  dependsOn: ['raw.shopify__orders', 'staging.shopify_orders'],
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
            with ordinality as t(tx, tord)
         where not ${isSetAside('shopify', 'orders', sql`o._key`)})`.as('x'))
      .select([
        sql<string>`coalesce(nullif(x.tx->>'id', ''), x.order_id || ':' || x.rord || ':' || x.tord)`.as('refund_transaction_id'),
        sql<string>`coalesce(nullif(x.refund->>'id', ''), x.order_id || ':' || x.rord)`.as('refund_id'),
        sql<string>`x.order_id`.as('order_id'),
        // The refund's date is what METRICS.md counts; a transaction time stands in only when the
        // refund has none (one that does not parse sets the order aside).
        sql<Date | null>`ops.parse_timestamptz(coalesce(nullif(btrim(x.refund->>'created_at'), ''), x.tx->>'created_at'))`.as('created_at'),
        sql<string | null>`lower(x.tx->>'kind')`.as('kind'),
        sql<string | null>`lower(x.tx->>'status')`.as('status'),
        sql<string>`coalesce(ops.parse_decimal(x.tx->>'amount'), 0)`.as('amount'),
        sql<string | null>`upper(nullif(btrim(x.tx->>'currency'), ''))`.as('currency'),
      ]),
});
