import { sql } from 'kysely';
import { hasRates, nonNegative, references, soldLinesWithoutCost, soldVariantsMissingFromProducts, unlistedSoldVariantsIndex } from '../checks.ts';
import { ratesChangedOn } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { fxRateJoin, joinedRate, rateOn } from '../sql.ts';

/**
 * One row per order line, with its order's date, counted flag and currency, its sales and its
 * unit cost (docs/metrics.md, "Products, stock and profit"). `quantity` is Shopify's, the units
 * ordered; `sold_quantity` leaves out the units an order edit removed (staging's
 * `removed_quantity`), and `line_sales` is of those units. Refunded units stay sold: the refund
 * lines take them back. Lines come from staging with their
 * order left-joined, so a line whose order is not in core.orders (core.orders dropped it, or
 * only the lines were rebuilt with `--select`) shows up and fails the reference check instead
 * of disappearing.
 *
 * The unit cost is the `costs` row of the line's SKU with the latest `valid_from` on or before
 * the order's date, else the variant's current Shopify cost, else unknown (`unit_cost_source`
 * says which); it is converted on the order's date like the line.
 */
export const coreOrderLines = defineModel({
  name: 'core.order_lines',
  dependsOn: ['staging.shopify_order_lines', 'staging.shopify_orders', 'core.orders', 'core.product_variants', 'staging.costs_unit_costs'],
  description:
    "Order lines with the order's local date and counted flag; sold_quantity = quantity less the units an order edit removed; line_total = price × quantity − total_discount; line_sales of the units sold, net of every discount and of included tax; the unit cost valid on the order's date.",
  uniqueKey: ['order_id', 'line_id'],
  indexes: [['order_id'], ['order_date'], ['variant_id'], unlistedSoldVariantsIndex],
  checks: [
    references('core.order_lines', 'order_id', 'core.orders', 'order_id', ['line_id']),
    hasRates('core.order_lines', [['line_total', 'line_total_rc'], ['line_sales', 'line_sales_rc']], 'order_date'),
    hasRates('core.order_lines', [['unit_cost', 'unit_cost_rc']], 'order_date', 'unit_cost_currency'),
    nonNegative('core.order_lines', ['quantity', 'price', 'total_discount'], 'line_id'),
    soldLinesWithoutCost(),
    soldVariantsMissingFromProducts(),
  ],
  incremental: {
    replaceBy: 'order_id',
    scope: { 'staging.shopify_order_lines': 'order_id', 'staging.shopify_orders': 'order_id', 'core.orders': 'order_id' },
    changed: (c) => sql`
      select x.order_id as value from ${c.replaced('core.orders')} x
      union select x.order_id from ${c.replaced('staging.shopify_order_lines')} x
      union select x.order_id from ${c.replaced('staging.shopify_orders')} x
      union select l.order_id from core.order_lines l where l.order_date in ${ratesChangedOn(c)}
      union select l.order_id from core.order_lines l where l.variant_id in (select v.variant_id from ${c.replaced('core.product_variants')} v)
      -- The lines of a SKU whose cost changed, dated on or after the cost's valid_from (old or
      -- new): an earlier line reads an earlier cost. A pseudo-constant filter first, so that no
      -- cost changed reads no line.
      union select l.order_id from core.order_lines l
        join ${c.replaced('staging.costs_unit_costs')} u on u.sku = l.sku and l.order_date >= u.valid_from
       where exists (select 1 from ${c.replaced('staging.costs_unit_costs')} u)
      union select l.order_id from core.order_lines l
        join core.product_variants v on v.variant_id = l.variant_id
        join ${c.replaced('staging.costs_unit_costs')} u on u.sku = v.sku and l.order_date >= u.valid_from
       where exists (select 1 from ${c.replaced('staging.costs_unit_costs')} u)`,
  },
  build: (db, ctx) => {
    // A line an order edit took units off counts the units left: its discount and tax, allocated
    // over the units ordered, count for the same share. A line without removed units is worked
    // out as before, with no division.
    const includedTax = sql`case when so.taxes_included then l.tax else 0 end`;
    const lineSales = sql`(case when l.removed_quantity = 0 then l.price * l.quantity - l.discount - ${includedTax}
      else l.price * (l.quantity - l.removed_quantity) - (l.discount + ${includedTax}) * (l.quantity - l.removed_quantity) / l.quantity end)`;
    return db
      .selectFrom('staging.shopify_order_lines as l')
      .leftJoin('core.orders as o', 'o.order_id', 'l.order_id')
      .leftJoin('core.fx_rates as ofx', (j) => j.on(fxRateJoin('ofx', sql`o.currency`, sql`o.order_date`)))
      .leftJoin('staging.shopify_orders as so', 'so.order_id', 'l.order_id')
      .leftJoin('core.product_variants as v', 'v.variant_id', 'l.variant_id')
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom('staging.costs_unit_costs as c')
            .select(['c.unit_cost', 'c.currency'])
            .where(sql<boolean>`c.sku = coalesce(l.sku, v.sku) and c.valid_from <= o.order_date`)
            .orderBy('c.valid_from', 'desc')
            .limit(1)
            .as('c'),
        (join) => join.onTrue(),
      )
      .select([
        sql<string>`l.order_id`.as('order_id'),
        sql<string>`l.line_id`.as('line_id'),
        sql<string>`o.order_date`.as('order_date'),
        sql<boolean>`o.is_counted`.as('is_counted'),
        sql<string | null>`l.product_id`.as('product_id'),
        sql<string | null>`l.variant_id`.as('variant_id'),
        sql<string | null>`l.sku`.as('sku'),
        sql<string | null>`l.title`.as('title'),
        sql<string | null>`l.variant_title`.as('variant_title'),
        sql<string | null>`l.vendor`.as('vendor'),
        sql<number>`l.quantity`.as('quantity'),
        sql<number>`l.removed_quantity`.as('removed_quantity'),
        sql<number>`l.quantity - l.removed_quantity`.as('sold_quantity'),
        sql<string>`l.price`.as('price'),
        sql<string>`l.total_discount`.as('total_discount'),
        sql<string>`l.price * l.quantity - l.total_discount`.as('line_total'),
        sql<string>`l.discount`.as('discount'),
        sql<string>`l.tax`.as('tax'),
        sql<boolean>`coalesce(so.taxes_included, false)`.as('taxes_included'),
        sql<string>`${lineSales}`.as('line_sales'),
        sql<string>`o.currency`.as('currency'),
        sql<string>`(l.price * l.quantity - l.total_discount) * ${joinedRate('ofx', sql`o.currency`, ctx.reportingCurrency)}`.as('line_total_rc'),
        sql<string>`${lineSales} * ${joinedRate('ofx', sql`o.currency`, ctx.reportingCurrency)}`.as('line_sales_rc'),
        sql<boolean>`v.variant_id is not null`.as('variant_in_products'),
        sql<string | null>`case when c.unit_cost is not null then 'costs' when v.unit_cost is not null then 'shopify' end`.as('unit_cost_source'),
        sql<string | null>`coalesce(c.unit_cost, v.unit_cost)`.as('unit_cost'),
        sql<string | null>`case when c.unit_cost is not null then c.currency when v.unit_cost is not null then v.unit_cost_currency end`.as('unit_cost_currency'),
        sql<string | null>`coalesce(c.unit_cost, v.unit_cost) * ${rateOn(sql`case when c.unit_cost is not null then c.currency else v.unit_cost_currency end`, sql`o.order_date`, ctx.reportingCurrency)}`.as(
          'unit_cost_rc',
        ),
      ]);
  },
});
