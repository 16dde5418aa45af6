import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiLower, asciiUpper, jsonDecimal, jsonElements, jsonId, jsonText, rawPartOnce } from '../sql.ts';
import { ORDERS_WITH_REFUNDS } from './shopify-orders.ts';
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
  // Each record's own JSON array is read once: a cache of it (Memoize) never hits, and holds
  // half a gigabyte per process at a million orders.
  planner: { enable_memoize: 'off' },
  incremental: byRawKey('shopify', 'orders', 'order_id'),
  build: (db) =>
    db
      .selectFrom(rawPartOnce('raw.shopify__orders', 'refunds', ORDERS_WITH_REFUNDS))
      .crossJoinLateral(jsonElements(sql`o.part`, 'r', 'refund'))
      .crossJoinLateral(jsonElements(sql`r.refund->'transactions'`, 't', 'tx'))
      .where((eb) => eb.not(isSetAside('shopify', 'orders', sql.ref('o._key'))))
      .select((eb) => [
        // Without ids, a transaction is known by its order and its place in it.
        eb.fn.coalesce(jsonId('t.tx', 'id'), sql<string>`o._key || ':' || r.ord || ':' || t.ord`).as('refund_transaction_id'),
        eb.fn.coalesce(jsonId('r.refund', 'id'), sql<string>`o._key || ':' || r.ord`).as('refund_id'),
        'o._key as order_id',
        // The refund's date is what docs/metrics.md counts; a transaction time stands in only when the
        // refund has none (one that does not parse sets the order aside).
        sql<Date | null>`ops.parse_timestamptz(coalesce(nullif(btrim(${jsonText('r.refund', 'created_at')}), ''), ${jsonText('t.tx', 'created_at')}))`.as('created_at'),
        asciiLower(jsonText('t.tx', 'kind')).as('kind'),
        asciiLower(jsonText('t.tx', 'status')).as('status'),
        eb.fn.coalesce(jsonDecimal('t.tx', 'amount'), sql<string>`0`).as('amount'),
        sql<string | null>`${asciiUpper(sql`nullif(btrim(${jsonText('t.tx', 'currency')}), '')`)}`.as('currency'),
      ]),
});
