import { sql } from 'kysely';
import type { PartialIndex, StopCheck, WarnCheck } from './model.ts';

/** Rows whose amount has no reporting-currency value: the rate was missing. */
export function hasRates(table: string, pairs: readonly (readonly [amount: string, converted: string])[], dateColumn: string, currencyColumn = 'currency'): StopCheck {
  return {
    name: 'every amount has an exchange rate',
    failing: () =>
      sql`select distinct ${sql.ref(currencyColumn)} as currency, ${sql.ref(dateColumn)} as date from ${sql.table(table)}
          where ${sql.join(pairs.map(([a, c]) => sql`(${sql.ref(a)} is not null and ${sql.ref(c)} is null)`), sql` or `)}
          order by 2, 1 limit 20`,
    describe: (rows) => {
      const first = rows[0] as { currency: string | null; date: string | null };
      const more = rows.length > 1 ? ` (and ${rows.length - 1} more currency-days)` : '';
      if (first.currency === null) return `an amount has no currency${first.date ? ` (on ${first.date})` : ''}${more}`;
      if (first.date === null) return `an amount in ${first.currency} has no date to take its exchange rate on${more}`;
      return `no exchange rate from ${first.currency} on ${first.date}${more}: add rates to the fx source (verite import fx rates FILE, or fx.ecb)`;
    },
  };
}

/** Amount columns must not be negative. */
export function nonNegative(table: string, columns: readonly string[], key: string): StopCheck {
  return {
    name: `non-negative ${columns.join(', ')}`,
    failing: () =>
      sql`select ${sql.ref(key)}, ${sql.join(columns.map((c) => sql.ref(c)))} from ${sql.table(table)}
          where ${sql.join(columns.map((c) => sql`${sql.ref(c)} < 0`), sql` or `)} limit 5`,
  };
}

/**
 * Every non-null `column` of `table` names an existing row of `parent`. Only meaningful when
 * `table` is built without going through `parent` (a left join, or from staging), so that an
 * orphan can show up; `sampleColumns` identify the orphan rows in the report.
 */
export function references(table: string, column: string, parent: string, parentColumn: string, sampleColumns: readonly string[] = []): StopCheck {
  const shown = sql.join([column, ...sampleColumns].map((c) => sql`t.${sql.ref(c)}`));
  return {
    name: `${column} references ${parent}.${parentColumn}`,
    failing: () =>
      sql`select ${shown} from ${sql.table(table)} t
          where t.${sql.ref(column)} is not null
            and not exists (select 1 from ${sql.table(parent)} p where p.${sql.ref(parentColumn)} = t.${sql.ref(column)})
          order by ${shown}
          limit 5`,
    describe: (rows) => {
      const values = [...new Set(rows.map((r) => String(r[column])))];
      return `${column} ${values.join(', ')}${rows.length === 5 ? ' …' : ''} not found in ${parent}`;
    },
  };
}

/** No row dated after today in the reporting time zone. */
export function notInFuture(table: string, dateColumn: string, key: string): StopCheck {
  return {
    name: `no ${dateColumn} in the future`,
    failing: (_db, ctx) =>
      sql`select ${sql.ref(key)}, ${sql.ref(dateColumn)} from ${sql.table(table)}
          where ${sql.ref(dateColumn)} > (${sql.lit(ctx.now.toISOString())}::timestamptz at time zone ${sql.lit(ctx.reportingTimezone)})::date
          limit 5`,
  };
}

/**
 * Sold lines without a unit cost (neither in the costs file nor in Shopify): cogs counts them at
 * zero cost. Only once the shop has costs somewhere (a products stream or a costs file), so a
 * shop that has set up neither is not warned on every run.
 */
export function soldLinesWithoutCost(): WarnCheck {
  return {
    name: 'sold lines have a unit cost',
    code: 'sold-lines-without-cost',
    severity: 'warn',
    // A SKU the costs file writes in other capitals is named beside it (SKUs are matched exactly).
    failing: () =>
      sql`select x.*, (select min(c.sku) from staging.costs_unit_costs c where x.sku is not null and c.sku <> x.sku and lower(c.sku collate "C") = lower(x.sku collate "C")) as costs_sku
            from (select coalesce(sku, 'variant ' || variant_id, title, 'line ' || line_id) as item, sku, count(*)::int as lines, min(order_date)::text as first_date
                    from core.order_lines
                   where is_counted and sold_quantity > 0 and unit_cost is null
                     and (exists (select 1 from core.product_variants) or exists (select 1 from staging.costs_unit_costs))
                   group by 1, 2 order by 3 desc, 1 limit 20) x
           order by x.lines desc, x.item`,
    describe: (rows) => {
      const items = rows
        .slice(0, 5)
        .map((r) => `${String(r.item)} (${String(r.lines)} lines from ${String(r.first_date)}${r.costs_sku ? `; the costs file writes it ${String(r.costs_sku)}` : ''})`);
      const more = rows.length > 5 ? ` and ${rows.length - 5}${rows.length === 20 ? '+' : ''} more` : '';
      return `sold lines without a unit cost, counted at zero cost (see cogs_coverage): ${items.join(', ')}${more}; add their cost in Shopify or in the costs file`;
    },
  };
}

/** The sold lines of variants the products stream does not have: few, in a shop that reads its products. */
const UNLISTED_SOLD_VARIANTS = 'is_counted and sold_quantity > 0 and variant_id is not null and not variant_in_products';

/**
 * The index of those lines on `core.order_lines`, declared with the model: the warning below
 * describes the whole table, and without it read every line on every nightly run (0.4 s at a
 * million orders, growing with the shop).
 */
export const unlistedSoldVariantsIndex: PartialIndex = { name: 'order_lines_unlisted_variants', columns: ['variant_id'], where: UNLISTED_SOLD_VARIANTS };

/** Sold variants the products stream does not have (names and Shopify costs are then unknown for them). */
export function soldVariantsMissingFromProducts(): WarnCheck {
  return {
    name: 'sold variants are in the products stream',
    code: 'sold-variants-not-listed',
    severity: 'warn',
    failing: () =>
      sql`select variant_id, max(sku collate "C") collate "default" as sku, count(*)::int as lines
            from core.order_lines
           where ${sql.raw(UNLISTED_SOLD_VARIANTS)}
             and exists (select 1 from core.product_variants)
           group by variant_id order by 3 desc, 1 limit 20`,
    describe: (rows) => {
      const items = rows.slice(0, 5).map((r) => `${String(r.variant_id)}${r.sku ? ` (${String(r.sku)})` : ''}`);
      const more = rows.length > 5 ? ` and ${rows.length - 5}${rows.length === 20 ? '+' : ''} more` : '';
      return `sold variants not in shopify.products: ${items.join(', ')}${more} (deleted products, or products not read yet)`;
    },
  };
}

/**
 * Days with succeeded Stripe charges but no balance transaction of type charge: the fees of those
 * days are missing from payment_fees. Only once balance transactions are landed at all.
 *
 * Asked day by day, from the first day with a succeeded charge to the last, through the indexes
 * on `core.payments.payment_date` and `core.balance_transactions.transaction_date`: a few
 * lookups a day. Grouping every charge by its day read the whole table on every nightly run
 * (0.6 s at a million charges, against 0.06 s). A charge without a date (none reaches core
 * today) is a day of its own, listed last, as the grouping listed it.
 */
export function chargeDaysWithoutBalanceTransactions(): WarnCheck {
  return {
    name: 'days with charges have balance transactions',
    code: 'charge-days-without-balance',
    severity: 'warn',
    failing: () =>
      sql`with span as (select min(payment_date) as first, max(payment_date) as last from core.payments where status = 'succeeded'),
               days as (select d::date as day from span, generate_series(span.first, span.last, interval '1 day') as d)
          select * from (
            select days.day::text as date, (select count(*)::int from core.payments p where p.payment_date = days.day and p.status = 'succeeded') as charges
              from days
             where exists (select 1 from core.payments p where p.payment_date = days.day and p.status = 'succeeded')
               and not exists (select 1 from core.balance_transactions b where b.transaction_date = days.day and b.type in ('charge', 'payment'))
            union all
            select null, count(*)::int from core.payments where payment_date is null and status = 'succeeded' having count(*) > 0
          ) as found
          where exists (select 1 from core.balance_transactions)
          order by date nulls last limit 20`,
    describe: (rows) => {
      const days = rows.slice(0, 5).map((r) => `${String(r.date)} (${String(r.charges)} charges)`);
      const more = rows.length > 5 ? ` and ${rows.length - 5}${rows.length === 20 ? '+' : ''} more days` : '';
      return `days with Stripe charges but no balance transaction, so payment_fees misses their fees: ${days.join(', ')}${more}`;
    },
  };
}

/**
 * Published rates that look written the wrong way round (a careless rates file): a rate that
 * moved more than 10% from the pair's rate of the published day before (at most 31 days before)
 * to within 5% of its inverse, or a pair and its opposite on one day that disagree by more than
 * 2% (their product should be 1). A real move rarely does either; the rate is used as written, and
 * the run warns.
 */
export function ratesLookInverted(): WarnCheck {
  return {
    name: 'rates are not written the wrong way round',
    severity: 'warn',
    failing: () =>
      sql`with r as (
            select date, base, quote, rate, lag(rate) over w as before_rate, lag(date) over w as before_date
              from staging.fx_rates
            window w as (partition by base, quote order by date)
          )
          select * from (
            select 'inverse' as kind, base, quote, date::text as date, rate::text as rate, before_date::text as other_date, before_rate::text as other_rate
              from r
             where before_date >= date - 31 and abs(rate * before_rate - 1) < 0.05 and abs(rate / before_rate - 1) > 0.1
            union all
            select 'opposite', a.base, a.quote, a.date::text, a.rate::text, b.date::text, b.rate::text
              from staging.fx_rates a
              join staging.fx_rates b on b.date = a.date and b.base = a.quote and b.quote = a.base
             where a.base < a.quote collate "C" and abs(a.rate * b.rate - 1) > 0.02
          ) x
          order by date desc, base, quote limit 20`,
    describe: (rows) => {
      const said = rows.slice(0, 3).map((r) =>
        r.kind === 'inverse'
          ? `${String(r.base)}→${String(r.quote)} is ${String(r.rate)} on ${String(r.date)} and was ${String(r.other_rate)} on ${String(r.other_date)}, nearly its inverse`
          : `${String(r.base)}→${String(r.quote)} is ${String(r.rate)} and ${String(r.quote)}→${String(r.base)} ${String(r.other_rate)} on ${String(r.date)}, which are not each other's inverse`,
      );
      const more = rows.length > 3 ? ` (and ${rows.length - 3}${rows.length === 20 ? '+' : ''} more)` : '';
      return `exchange rates that look written the wrong way round: ${said.join('; ')}${more}. A row of a rates file means 1 base is worth rate quote (docs/sources/fx.md); correct the file and import it again`;
    },
  };
}
