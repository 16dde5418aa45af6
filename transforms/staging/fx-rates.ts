import { sql } from 'kysely';
import { ratesLookInverted } from '../checks.ts';
import { defineModel } from '../model.ts';
import { asciiUpper, jsonNumeric, jsonText } from '../sql.ts';
import { amountProblem, currencyProblem, dateRange, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

/**
 * One row per published rate: 1 `base` is worth `rate` `quote` on `date`. The file source reads
 * its rows into this shape on landing (extractors/fx/rate-row.ts); a record landed otherwise (a
 * JSON file given to `verite import`, an older landing) is checked here and set aside with why
 * when its date, codes or rate will not do, instead of being left out without a word.
 */
export const stagingFxRates = defineModel({
  name: 'staging.fx_rates',
  dependsOn: ['raw.fx__rates'],
  description: 'Published exchange rates (from a file or the ECB), one row per date and pair.',
  uniqueKey: ['date', 'base', 'quote'],
  checks: [
    rawRecordsCheck('fx', 'rates', 'rate_key', (ctx) => {
      const text = (name: string) => sql`_record->>${sql.lit(name)}`;
      return problems(
        timestampProblem('date', text('date'), dateRange(ctx), { required: true, dateOnly: true }),
        currencyProblem('base', text('base'), { required: true }),
        currencyProblem('quote', text('quote'), { required: true }),
        amountProblem('rate', text('rate'), { required: true }),
        sql`case when ops.parse_decimal(_record->>'rate') = 0 then 'rate ' || ops.quoted(_record->>'rate') || ' is zero' end`,
      );
    }),
    ratesLookInverted(),
  ],
  build: (db) => {
    const date = sql<string | null>`ops.try_date(${jsonText('_record', 'date')})`;
    const rate = jsonNumeric('_record', 'rate');
    return db
      .selectFrom('raw.fx__rates')
      .select([
        '_key as rate_key',
        date.as('date'),
        // Codes are ASCII: upper case by ASCII's rules, whatever the database's (docs/architecture.md, "The database's collation").
        asciiUpper(jsonText('_record', 'base')).as('base'),
        asciiUpper(jsonText('_record', 'quote')).as('quote'),
        rate.as('rate'),
      ])
      .where(rate, '>', sql<string>`0`)
      .where(date, 'is not', null);
  },
});
