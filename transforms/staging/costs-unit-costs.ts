import { sql } from 'kysely';
import { defineModel } from '../model.ts';
import { asciiUpper, rawRecordsOnce } from '../sql.ts';
import { amountProblem, currencyProblem, dateRange, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

/**
 * One row per SKU and `valid_from`: from that date on (until a later row of the same SKU), one
 * unit costs `unit_cost` in `currency`. The file source refuses bad rows on landing; a record
 * landed otherwise (an older file, a hand-written import) is checked again here, and set aside
 * when its SKU is missing or its cost, currency or date does not parse. A cost may be dated
 * ahead (a supplier's announced price), up to a year.
 */
export const stagingCostsUnitCosts = defineModel({
  name: 'staging.costs_unit_costs',
  dependsOn: ['raw.costs__unit_costs'],
  description: 'Unit costs from cost files, one row per SKU and valid_from.',
  uniqueKey: ['cost_key'],
  // Each order line looks up its SKU's latest cost on or before its date.
  indexes: [['sku', 'valid_from']],
  checks: [
    rawRecordsCheck('costs', 'unit_costs', 'cost_key', (ctx) => {
      const range = dateRange(ctx);
      const text = (name: string) => sql`_record->>${sql.lit(name)}`;
      return problems(
        sql`ops.absent_problem('sku', ${text('sku')}, true)`,
        amountProblem('unit_cost', text('unit_cost'), { required: true }),
        currencyProblem('currency', text('currency'), { required: true }),
        timestampProblem('valid_from', text('valid_from'), range, { required: true, dateOnly: true, promise: true }),
      );
    }),
  ],
  build: (db) =>
    db.selectFrom(rawRecordsOnce('raw.costs__unit_costs')).select([
      '_key as cost_key',
      sql<string>`btrim(_record->>'sku')`.as('sku'),
      sql<string>`ops.parse_decimal(_record->>'unit_cost')`.as('unit_cost'),
      sql<string>`${asciiUpper(sql`btrim(_record->>'currency')`)}`.as('currency'),
      // A date alone, or a timestamp taken for its date as written.
      sql<string>`coalesce(ops.parse_date(_record->>'valid_from'), ops.parse_date(left(btrim(_record->>'valid_from'), 10)))`.as('valid_from'),
    ]),
});
