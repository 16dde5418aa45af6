import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/** One row per published rate: 1 `base` is worth `rate` `quote` on `date`. */
export const stagingFxRates = defineModel({
  name: 'staging.fx_rates',
  dependsOn: ['raw.fx__rates'],
  description: 'Published exchange rates (from a file or the ECB), one row per date and pair.',
  uniqueKey: ['date', 'base', 'quote'],
  build: (db) =>
    db
      .selectFrom('raw.fx__rates')
      .select([
        sql<string>`ops.try_date(_record->>'date')`.as('date'),
        sql<string>`upper(_record->>'base')`.as('base'),
        sql<string>`upper(_record->>'quote')`.as('quote'),
        sql<string>`ops.try_numeric(_record->>'rate')`.as('rate'),
      ])
      .where(sql<boolean>`ops.try_numeric(_record->>'rate') > 0 and ops.try_date(_record->>'date') is not null`),
});
