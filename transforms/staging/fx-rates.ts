import { sql } from 'kysely';
import { ratesLookInverted } from '../checks.ts';
import { defineModel } from '../model.ts';
import { asciiUpper, jsonNumeric, jsonText } from '../sql.ts';

/** One row per published rate: 1 `base` is worth `rate` `quote` on `date`. */
export const stagingFxRates = defineModel({
  name: 'staging.fx_rates',
  dependsOn: ['raw.fx__rates'],
  description: 'Published exchange rates (from a file or the ECB), one row per date and pair.',
  uniqueKey: ['date', 'base', 'quote'],
  checks: [ratesLookInverted()],
  build: (db) => {
    const date = sql<string | null>`ops.try_date(${jsonText('_record', 'date')})`;
    const rate = jsonNumeric('_record', 'rate');
    return db
      .selectFrom('raw.fx__rates')
      .select([
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
