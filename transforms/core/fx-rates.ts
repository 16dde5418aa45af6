import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * How many days a published rate is carried forward (weekends, bank holidays) before it counts
 * as missing: a rate of day D serves D + 1 … D + 7; on D + 8 it is missing.
 */
export const MAX_CARRY_DAYS = 7;

/**
 * A rate per date and currency into the reporting currency: the direct pair, else the inverse
 * of the opposite pair, else the cross rate through EUR (the ECB publishes EUR-based rates; a
 * rates file's row to EUR, `ARS,EUR,0.0011`, serves as well, and wins over the EUR-based row of
 * its day); a day without a published rate takes the last one, for at most
 * {@link MAX_CARRY_DAYS} days.
 */
export const coreFxRates = defineModel({
  name: 'core.fx_rates',
  dependsOn: ['staging.fx_rates'],
  description: '1 unit of each currency in the reporting currency, for every day from the first published rate to today.',
  uniqueKey: ['date', 'currency'],
  indexes: [['currency', 'date']],
  build: (db, ctx) => {
    const r = sql.lit(ctx.reportingCurrency);
    return db
      .selectFrom(sql<{ date: string; currency: string; rate: string; method: string; rate_date: string }>`(
        -- The two legs of a cross rate, each a fraction (num / den: no rate is rounded by a
        -- division before the last one). 1 unit of a currency in EUR: its row to EUR (1 ARS is
        -- worth 0.0011 EUR, a rates file's) before the inverse of the EUR-based one (the ECB's);
        -- 1 EUR in the reporting currency: the row from EUR before the inverse of the opposite
        -- one. Each leg takes the row written from the currency, as the direct pair wins below.
        with in_eur as (
          select distinct on (date, currency) date, currency, num, den from (
            select date, base as currency, rate as num, 1::numeric as den, 1 as leg from staging.fx_rates where quote = 'EUR' and base <> 'EUR'
            union all
            select date, quote, 1::numeric, rate, 2 from staging.fx_rates where base = 'EUR' and quote <> 'EUR'
          ) legs order by date, currency, leg
        ),
        eur_in_reporting as (
          select distinct on (date) date, num, den from (
            select date, rate as num, 1::numeric as den, 1 as leg from staging.fx_rates where base = 'EUR' and quote = ${r}
            union all
            select date, 1::numeric, rate, 2 from staging.fx_rates where base = ${r} and quote = 'EUR'
          ) legs order by date, leg
        ),
        published as (
          select date, base as currency, rate, 'direct' as method, 1 as priority from staging.fx_rates where quote = ${r} and base <> ${r}
          union all
          select date, quote, 1 / rate, 'inverse', 2 from staging.fx_rates where base = ${r} and quote <> ${r}
          union all
          select x.date, x.currency, (x.num * e.num) / (x.den * e.den), 'cross', 3
            from in_eur x
            join eur_in_reporting e on e.date = x.date
           where x.currency not in (${r}, 'EUR')
        ),
        best as (
          select distinct on (date, currency) date, currency, rate, method from published order by date, currency, priority
        ),
        days as (
          select d::date as date
            from generate_series(
              (select min(date) from best),
              greatest((select max(date) from best), (${sql.lit(ctx.now.toISOString())}::timestamptz at time zone ${sql.lit(ctx.reportingTimezone)})::date),
              interval '1 day') d
        )
        select days.date, c.currency, p.rate,
               case when p.date = days.date then p.method else 'carried' end as method,
               p.date as rate_date
          from days
          cross join (select distinct currency from best) c
          join lateral (
            select b.date, b.rate, b.method from best b
             where b.currency = c.currency and b.date <= days.date and b.date >= days.date - ${sql.lit(MAX_CARRY_DAYS)}
             order by b.date desc limit 1
          ) p on true
      )`.as('x'))
      .select(['x.date', 'x.currency', 'x.rate', 'x.method', 'x.rate_date']);
  },
});
