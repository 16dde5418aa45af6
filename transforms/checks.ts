import { sql } from 'kysely';
import type { StopCheck } from './model.ts';

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
