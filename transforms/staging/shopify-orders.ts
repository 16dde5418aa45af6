import { sql, type RawBuilder } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel, type PartialIndex, type TransformContext, type WarnCheck } from '../model.ts';
import { asciiLower, asciiUpper, checkedTimestamp, isoTimestamp, jsonDecimal, jsonElements, jsonId, jsonText, jsonTextsOnce, rawRecordsOnce, urlParam } from '../sql.ts';
import { amountProblem, booleanProblem, countProblem, currencyProblem, dateRange, foldedProblem, plainAmount, plainJsonAmounts, plainJsonCurrencies, plainJsonTimestamps, plainJsonValues, plainParsedDate, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

const CURRENCY = sql`coalesce(_record->>'currency', _record #>> '{total_price_set,shop_money,currency_code}')`;

/**
 * Why an order cannot be used, or null: its own fields, its line items and its successful
 * refund transactions (the parts the metrics count) must all parse. A bad line or refund sets
 * the whole order aside: counting the order without it would misstate the order.
 */
export function shopifyOrderProblem(ctx: TransformContext) {
  const range = dateRange(ctx);
  const text = (name: string) => sql`_record->>${sql.lit(name)}`;
  const at = (prefix: string, ord: string, name: string) => sql.raw(`'${prefix}[' || (${ord} - 1) || ']${name}'`);
  return problems(
    timestampProblem('created_at', text('created_at'), range, { required: true }),
    timestampProblem('cancelled_at', text('cancelled_at'), range),
    ...orderFieldProblems(),

    sql`(select string_agg(${amountProblem(at('shipping_lines', 's.ord', '.price'), sql`s.line->>'price'`)}, '; ') from ${jsonElements(sql`_record->'shipping_lines'`, 's', 'line')})`,
    sql`(select string_agg(nullif(concat_ws('; ',
        ${countProblem(at('line_items', 'l.ord', '.quantity'), sql`l.line->>'quantity'`)},
        ${countProblem(at('line_items', 'l.ord', '.current_quantity'), sql`l.line->>'current_quantity'`)},
        ${amountProblem(at('line_items', 'l.ord', '.price'), sql`l.line->>'price'`)},
        ${amountProblem(at('line_items', 'l.ord', '.total_discount'), sql`l.line->>'total_discount'`)},
        (select string_agg(${amountProblem(sql.raw(`'line_items[' || (l.ord - 1) || '].discount_allocations[' || (d.ord - 1) || '].amount'`), sql`d.alloc->>'amount'`)}, '; ')
           from ${jsonElements(sql`l.line->'discount_allocations'`, 'd', 'alloc')}),
        (select string_agg(${amountProblem(sql.raw(`'line_items[' || (l.ord - 1) || '].tax_lines[' || (t.ord - 1) || '].price'`), sql`t.tax->>'price'`)}, '; ')
           from ${jsonElements(sql`l.line->'tax_lines'`, 't', 'tax')})), ''), '; ')
      from ${jsonElements(sql`_record->'line_items'`, 'l', 'line')})`,
    // The refunded line items the product metrics count.
    sql`(select string_agg(nullif(concat_ws('; ',
        ${countProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].refund_line_items[' || (i.ord - 1) || '].quantity'`), sql`i.item->>'quantity'`)},
        ${amountProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].refund_line_items[' || (i.ord - 1) || '].subtotal'`), sql`i.item->>'subtotal'`)},
        ${amountProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].refund_line_items[' || (i.ord - 1) || '].total_tax'`), sql`i.item->>'total_tax'`)}), ''), '; ')
      from ${jsonElements(sql`_record->'refunds'`, 'r', 'refund')}
      cross join lateral ${jsonElements(sql`r.refund->'refund_line_items'`, 'i', 'item')})`,
    // The refunded shipping lines, whose tax is refunded tax.
    sql`(select string_agg(nullif(concat_ws('; ',
        ${amountProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].refund_shipping_lines[' || (s.ord - 1) || '].subtotal_amount'`), sql`s.line->>'subtotal_amount'`)},
        ${amountProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].refund_shipping_lines[' || (s.ord - 1) || '].tax_amount'`), sql`s.line->>'tax_amount'`)}), ''), '; ')
      from ${jsonElements(sql`_record->'refunds'`, 'r', 'refund')}
      cross join lateral ${jsonElements(sql`r.refund->'refund_shipping_lines'`, 's', 'line')})`,
    // Only the transactions the metrics count (successful refunds) must parse.
    sql`(select string_agg(nullif(concat_ws('; ',
        ${timestampProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].created_at'`), sql`coalesce(nullif(btrim(r.refund->>'created_at'), ''), t.tx->>'created_at')`, range, { required: true })},
        ${amountProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].transactions[' || (t.ord - 1) || '].amount'`), sql`t.tx->>'amount'`, { required: true })},
        ${currencyProblem(sql.raw(`'refunds[' || (r.ord - 1) || '].transactions[' || (t.ord - 1) || '].currency'`), sql`t.tx->>'currency'`)}), ''), '; ')
      from ${jsonElements(sql`_record->'refunds'`, 'r', 'refund')}
      cross join lateral ${jsonElements(sql`r.refund->'transactions'`, 't', 'tx')}
      where ${asciiLower(sql`t.tx->>'kind'`)} = 'refund' and ${asciiLower(sql`t.tx->>'status'`)} = 'success')`,
  );
}

/** The order's own fields that are not dates: expressions of built-in operators once inlined. */
function orderFieldProblems() {
  const text = (name: string) => sql`_record->>${sql.lit(name)}`;
  return [
    booleanProblem('test', text('test')),
    booleanProblem('taxes_included', text('taxes_included')),
    currencyProblem('currency', CURRENCY, { required: true }),
    amountProblem('total_price', text('total_price'), { required: true }),
    amountProblem('subtotal_price', text('subtotal_price')),
    amountProblem('total_discounts', text('total_discounts')),
    amountProblem('total_tax', text('total_tax')),
    amountProblem('total_shipping_price_set.shop_money.amount', sql`_record #>> '{total_shipping_price_set,shop_money,amount}'`),
  ];
}

/**
 * The raw orders whose record holds refunds (`has_refunds` of this model, built first), for
 * `rawPartOnce`'s `where` (on the raw table as `t`): a refund model reads those records alone, a
 * few percent of the orders, where reading every record to find them cost as much as staging all
 * the orders.
 */
export const ORDERS_WITH_REFUNDS = sql<boolean>`exists (select 1 from staging.shopify_orders so where so.order_id = t._key and so.has_refunds)`;

/**
 * The order's own fields plainly pass {@link orderFieldProblems}: the booleans `true`, `false` or
 * absent, the currency an ISO 4217 code in capitals, the total a plain decimal. A pattern of
 * `[0-9]`: the problems' own expressions, which parse every amount twice, cost as much as
 * reading the record. Its other amounts are matched with its lines' ({@link shopifyOrderPlain}).
 */
function orderFieldsPlain() {
  const text = (name: string) => sql`_record->>${sql.lit(name)}`;
  const bool = (name: string) => sql`(${text(name)} is null or ${text(name)} in ('true', 'false'))`;
  return sql<boolean>`(${bool('test')} and ${bool('taxes_included')} and ops.is_currency(${CURRENCY})
    and ${plainAmount(text('total_price'), { required: true })})`;
}

/**
 * An order that plainly has no problem ({@link shopifyOrderProblem} is null): its own fields
 * pass, its dates parse and fall within the range, every amount and quantity of its lines and
 * shipping lines (its `current_quantity` too) is a plain number, and it has no refunds or plainly good ones. Most orders are;
 * the check works out the problem of the others only. It runs where the model selects it, and
 * reads the dates the model parsed (`u.created_at`, `u.cancelled_at`, {@link plainParsedDate}):
 * matching their texts a second time cost some 3 s at a million orders.
 */
function shopifyOrderPlain(ctx: TransformContext) {
  const range = dateRange(ctx);
  const record = sql`_record`;
  return sql<boolean>`(${orderFieldsPlain()}
    and ${plainParsedDate({ absent: sql`false`, at: sql.ref('u.created_at') }, range)}
    and ${plainParsedDate({ absent: sql`tx.cancelled_at is null`, at: sql.ref('u.cancelled_at') }, range)}
    and ${plainJsonValues(record, ['$.line_items[*].quantity', '$.line_items[*].current_quantity'], 'count')}
    and ${plainJsonAmounts(
      record,
      ['$.line_items[*].price', '$.line_items[*].total_discount', '$.line_items[*].discount_allocations[*].amount', '$.line_items[*].tax_lines[*].price', '$.shipping_lines[*].price'],
      [['subtotal_price'], ['total_discounts'], ['total_tax'], ['total_shipping_price_set', 'shop_money', 'amount']],
    )}
    and (coalesce(_record->'refunds', '[]'::jsonb) = '[]'::jsonb or ${refundsPlain(ctx)}))`;
}

/**
 * The refunds of an order plainly have no problem: every refund has its own plain date (which the
 * check reads before its transactions'), dated two days inside the range; every refunded line's
 * quantity and amounts, every refunded shipping line's amounts, and every transaction's amount
 * (present) and currency are plain. All
 * transactions are read, not only the successful refunds the check reads: more than it needs.
 */
function refundsPlain(ctx: TransformContext) {
  const record = sql`_record`;
  const count = (path: string) => sql`jsonb_array_length(jsonb_path_query_array(_record, ${sql.lit(path)}))`;
  return sql<boolean>`(${plainJsonTimestamps(record, '$.refunds[*].created_at', dateRange(ctx))}
    and ${count('$.refunds[*].created_at')} = ${count('$.refunds[*]')}
    and ${plainJsonValues(record, '$.refunds[*].refund_line_items[*].quantity', 'count')}
    and ${plainJsonValues(record, '$.refunds[*].refund_line_items[*].subtotal', 'amount')}
    and ${plainJsonValues(record, '$.refunds[*].refund_line_items[*].total_tax', 'amount')}
    and ${plainJsonValues(record, ['$.refunds[*].refund_shipping_lines[*].subtotal_amount', '$.refunds[*].refund_shipping_lines[*].tax_amount'], 'amount')}
    and ${plainJsonValues(record, '$.refunds[*].transactions[*].amount', 'amount', { nullable: false })}
    and ${count('$.refunds[*].transactions[*].amount')} = ${count('$.refunds[*].transactions[*]')}
    and ${plainJsonCurrencies(record, '$.refunds[*].transactions[*].currency')})`;
}

/**
 * The order's payment gateways, lower case (`ops.lower_texts`). An array of plain names (no
 * quote, backslash or comma; not empty) is read from its JSON text, which is the names in
 * quotes separated by `", "`: no call per order. Anything else goes to the function.
 */
function paymentGatewayNames(names: RawBuilder<unknown>): RawBuilder<string[]> {
  return sql<string[]>`case
    when ${names} is null then '{}'::text[]
    when ${names} = '[]'::jsonb then '{}'::text[]
    when (${names})::text ~ '^\\["[^"\\\\,]+"(, "[^"\\\\,]+")*\\]$' then string_to_array(substr(${asciiLower(sql`(${names})::text`)}, 3, length((${names})::text) - 4), '", "')
    else ops.lower_texts(${names}) end`;
}

const TAXES_UNKNOWN = 'taxes_included is null';

/**
 * The orders whose record does not say whether their prices include tax, indexed so that the
 * warning below reads them alone on a nightly run (a shop that has read them again has none).
 */
const taxesUnknownIndex: PartialIndex = { name: 'shopify_orders_taxes_unknown', columns: ['created_at'], where: TAXES_UNKNOWN };

/**
 * Orders landed without `taxes_included` (by a release that did not ask the Admin API for it) in
 * a shop whose other orders include tax: they count as tax-exclusive, so their line sales, and
 * the product sales, margins and profit of their days, hold the tax. The warning gives the
 * backfill that reads them again over their dates. A shop whose orders exclude tax is not warned:
 * tax-exclusive is right for them. The shop's orders are looked at for one that includes tax
 * only when some order says nothing (a `case`, so it is not asked first).
 */
export function ordersWithoutTaxesIncluded(): WarnCheck {
  return {
    name: 'orders say whether their prices include tax',
    severity: 'warn',
    failing: (_db, ctx) => {
      const day = sql`(created_at at time zone ${sql.lit(ctx.reportingTimezone)})::date`;
      return sql`select m.orders, m.first_date, m.last_date
          from (select count(*)::int as orders, min(${day})::text as first_date, max(${day})::text as last_date
                  from staging.shopify_orders where ${sql.raw(TAXES_UNKNOWN)}) m
         where case when m.orders > 0 then exists (select 1 from staging.shopify_orders where taxes_included) else false end`;
    },
    describe: (rows) => {
      const r = rows[0] as { orders: number; first_date: string | null; last_date: string | null };
      const n = `${r.orders} order${r.orders === 1 ? '' : 's'}`;
      const span = r.first_date === r.last_date ? `on ${String(r.first_date)}` : `from ${String(r.first_date)} to ${String(r.last_date)}`;
      const range = `--from ${String(r.first_date ?? 'DATE')} --to ${String(r.last_date ?? 'DATE')}`;
      return `${n} created ${span} ${r.orders === 1 ? 'was' : 'were'} landed without taxes_included (by a release of verite that did not read it), in a shop whose orders include tax: counted as tax-exclusive, their product sales hold the tax. Read them again: verite backfill --source shopify --stream orders ${range}`;
    },
  };
}

/** The check of the raw orders, run in the model's own scan: the few not plain are read again. */
const ORDERS_CHECK = rawRecordsCheck('shopify', 'orders', 'order_id', shopifyOrderProblem, { plain: shopifyOrderPlain, foldedInto: 'staging.shopify_orders' });

/**
 * One row per Shopify order: the Admin API Order flattened into typed columns. An order whose
 * fields do not parse (see {@link shopifyOrderProblem}) is set aside, with its lines and
 * refunds: the staging models that read the same raw orders leave it out.
 */
export const stagingShopifyOrders = defineModel({
  name: 'staging.shopify_orders',
  dependsOn: ['raw.shopify__orders'],
  description: 'Shopify orders, one row per order (the newest version landed), typed.',
  uniqueKey: ['order_id'],
  indexes: [taxesUnknownIndex],
  checks: [ORDERS_CHECK, ordersWithoutTaxesIncluded()],
  incremental: byRawKey('shopify', 'orders', 'order_id'),
  build: (db, ctx) =>
    db
      // Each record read out of storage once, not once per field.
      .selectFrom(rawRecordsOnce('raw.shopify__orders'))
      // The texts read once that the expressions below name several times.
      .crossJoinLateral(jsonTextsOnce('tx', ['created_at', 'cancelled_at', 'updated_at', 'landing_site']))
      // The landing URL's UTM parameters and the referrer's host, parsed here where the scan runs
      // on parallel workers (core.orders' channel rules read them), which core.orders paid in
      // one process. The UTM parameters mostly without a pattern (urlParam): with one, 4 µs each
      // on a landing URL that has them. The dates are parsed here once, for their columns and
      // for the plain test of the folded check.
      .crossJoinLateral(
        sql<{ utm_source: string | null; utm_medium: string | null; utm_campaign: string | null; referrer_host: string | null; created_at: Date | null; cancelled_at: Date | null }>`(select * from unnest(
          array[${urlParam(sql.ref('tx.landing_site'), 'utm_source')}],
          array[${urlParam(sql.ref('tx.landing_site'), 'utm_medium')}],
          array[${urlParam(sql.ref('tx.landing_site'), 'utm_campaign')}],
          array[ops.url_host(r._record->>'referring_site')],
          array[${isoTimestamp(sql.ref('tx.created_at'))}],
          array[${isoTimestamp(sql.ref('tx.cancelled_at'))}]) as p(utm_source, utm_medium, utm_campaign, referrer_host, created_at, cancelled_at))`.as('u'),
      )
      .select((eb) => {
        const decimal = (...path: string[]) => eb.fn.coalesce(jsonDecimal('_record', ...path), sql<string>`0`);
        return [
          'r._key as order_id',
          jsonText('_record', 'name').as('order_name'),
          sql<Date | null>`u.created_at`.as('created_at'),
          checkedTimestamp(sql.ref('tx.updated_at')).as('updated_at'),
          sql<Date | null>`u.cancelled_at`.as('cancelled_at'),
          eb.fn.coalesce(sql<boolean | null>`ops.parse_boolean(${jsonText('_record', 'test')})`, sql.lit(false)).as('is_test'),
          // Prices include tax (most EU shops): line sales take the tax out.
          // Null when the record does not say (landed before verite asked for the field): core
          // counts it tax-exclusive, and TAXES_UNKNOWN_CHECK warns of it in a shop that includes tax.
          sql<boolean | null>`ops.parse_boolean(${jsonText('_record', 'taxes_included')})`.as('taxes_included'),
          sql<string>`${asciiUpper(sql`btrim(${CURRENCY})`)}`.as('currency'),
          decimal('total_price').as('total_price'),
          decimal('subtotal_price').as('subtotal_price'),
          decimal('total_discounts').as('total_discounts'),
          decimal('total_tax').as('total_tax'),
          // The shipping lines are summed only for an order without the total (older API
          // versions), by a function: a subquery here would keep the model in one process.
          sql<string>`coalesce(${jsonDecimal('_record', 'total_shipping_price_set', 'shop_money', 'amount')},
            case when _record->'shipping_lines' is not null then ops.sum_decimals(_record->'shipping_lines', 'price') end, 0)`.as('total_shipping'),
          jsonId('_record', 'customer', 'id').as('shopify_customer_id'),
          sql<string | null>`nullif(${asciiLower(sql`btrim(coalesce(_record->>'email', _record #>> '{customer,email}'))`)}, '')`.as('email'),
          jsonId('_record', 'landing_site').as('landing_site'),
          jsonId('_record', 'referring_site').as('referring_site'),
          sql<string | null>`u.utm_source`.as('utm_source'),
          sql<string | null>`u.utm_medium`.as('utm_medium'),
          sql<string | null>`u.utm_campaign`.as('utm_campaign'),
          sql<string | null>`u.referrer_host`.as('referrer_host'),
          paymentGatewayNames(sql`_record->'payment_gateway_names'`).as('payment_gateway_names'),
          jsonText('_record', 'financial_status').as('financial_status'),
          // Whether the record holds refunds (an array of any): the refund models read only these
          // records again, not every order.
          sql<boolean>`coalesce(jsonb_typeof(_record->'refunds') = 'array' and _record->'refunds' <> '[]'::jsonb, false)`.as('has_refunds'),
          foldedProblem(ORDERS_CHECK, ctx),
        ];
      }),
});
