import { sql, type Kysely } from 'kysely';

/**
 * `ops.refunded_units(refunds, line_item_id)`: how many units of one line item the successful
 * refunds of a Shopify order hold (a refund with a `refund` transaction of status `success`, as
 * `staging.shopify_refund_lines.is_successful` tells it): the `quantity` of every
 * `refund_line_items[]` entry naming it (0 when none). Those units come back through the refund
 * lines; a unit taken back by a refund that paid nothing (an exchange, a restock of an unpaid
 * order) comes back through none, so it counts as removed. `staging.shopify_order_lines` asks it for the rare line whose
 * `current_quantity` is below its `quantity`, to tell the units an order edit removed from the
 * units refunded (Shopify's `current_quantity` excludes both). A function, not a subquery in the
 * model's select list, which would keep the model's scan in one process (docs/scale.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function ops.refunded_units(refunds jsonb, line_item_id text) returns numeric language sql immutable parallel safe as $$
      select coalesce(sum(ops.parse_integer(i.item->>'quantity')), 0)
        from jsonb_array_elements(case when jsonb_typeof(refunds) = 'array' then refunds else '[]'::jsonb end) r(refund)
        cross join lateral jsonb_array_elements(case when jsonb_typeof(r.refund->'refund_line_items') = 'array' then r.refund->'refund_line_items' else '[]'::jsonb end) i(item)
       where i.item->>'line_item_id' = line_item_id
         and exists (select 1 from jsonb_array_elements(case when jsonb_typeof(r.refund->'transactions') = 'array' then r.refund->'transactions' else '[]'::jsonb end) t(tx)
                      where lower((t.tx->>'kind') collate "C") = 'refund' and lower((t.tx->>'status') collate "C") = 'success')
    $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists ops.refunded_units(jsonb, text)`.execute(db);
}
