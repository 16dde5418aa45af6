import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { jsonId, jsonNumeric, jsonText, jsonTimestamp } from '../sql.ts';

/** One row per Shopify order: the Admin API Order flattened into typed columns. */
export const stagingShopifyOrders = defineModel({
  name: 'staging.shopify_orders',
  dependsOn: ['raw.shopify__orders'],
  description: 'Shopify orders, one row per order (the newest version landed), typed.',
  uniqueKey: ['order_id'],
  build: (db) =>
    db.selectFrom('raw.shopify__orders').select([
      sql<string>`_key`.as('order_id'),
      jsonText('_record', 'name').as('order_name'),
      jsonTimestamp('_record', 'created_at').as('created_at'),
      jsonTimestamp('_record', 'updated_at').as('updated_at'),
      jsonTimestamp('_record', 'cancelled_at').as('cancelled_at'),
      sql<boolean>`coalesce((_record->>'test')::boolean, false)`.as('is_test'),
      sql<string>`upper(coalesce(_record->>'currency', _record #>> '{total_price_set,shop_money,currency_code}'))`.as('currency'),
      sql<string>`coalesce(${jsonNumeric('_record', 'total_price')}, 0)`.as('total_price'),
      sql<string>`coalesce(${jsonNumeric('_record', 'subtotal_price')}, 0)`.as('subtotal_price'),
      sql<string>`coalesce(${jsonNumeric('_record', 'total_discounts')}, 0)`.as('total_discounts'),
      sql<string>`coalesce(${jsonNumeric('_record', 'total_tax')}, 0)`.as('total_tax'),
      sql<string>`coalesce(${jsonNumeric('_record', 'total_shipping_price_set', 'shop_money', 'amount')},
        (select sum(ops.try_numeric(l->>'price')) from jsonb_array_elements(case when jsonb_typeof(_record->'shipping_lines') = 'array' then _record->'shipping_lines' else '[]'::jsonb end) l), 0)`.as('total_shipping'),
      jsonId('_record', 'customer', 'id').as('shopify_customer_id'),
      sql<string | null>`nullif(lower(btrim(coalesce(_record->>'email', _record #>> '{customer,email}'))), '')`.as('email'),
      sql<string | null>`nullif(_record->>'landing_site', '')`.as('landing_site'),
      sql<string | null>`nullif(_record->>'referring_site', '')`.as('referring_site'),
      sql<string[]>`coalesce((select array_agg(lower(g)) from jsonb_array_elements_text(case when jsonb_typeof(_record->'payment_gateway_names') = 'array' then _record->'payment_gateway_names' else '[]'::jsonb end) g), '{}')`.as('payment_gateway_names'),
      jsonText('_record', 'financial_status').as('financial_status'),
    ]),
});
