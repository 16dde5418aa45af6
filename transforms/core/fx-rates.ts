import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * How many days a published rate is carried forward (weekends, bank holidays) before it counts
 * as missing: a rate of day D serves D + 1 … D + 7; on D + 8 it is missing.
 */
export const MAX_CARRY_DAYS = 7;

/**
 * A rate per date and currency into the reporting currency: the direct pair, else the inverse
 * of the opposite pair, else the cross rate through EUR (the ECB publishes EUR-based rates);
 * a day without a published rate takes the last one, for at most {@link MAX_CARRY_DAYS} days.
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
        with published as (
          select date, base as currency, rate, 'direct' as method, 1 as priority from staging.fx_rates where quote = ${r} and base <> ${r}
          union all
          select date, quote, 1 / rate, 'inverse', 2 from staging.fx_rates where base = ${r} and quote <> ${r}
          union all
          select a.date, a.quote, b.rate / a.rate, 'cross', 3
            from staging.fx_rates a
            join staging.fx_rates b on b.date = a.date and b.base = 'EUR' and b.quote = ${r}
           where a.base = 'EUR' and a.quote not in (${r}, 'EUR')
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
