import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { defineModel, type Model } from '../../transforms/model.ts';
import { models } from '../../transforms/models.ts';
import { runModels } from '../../transforms/runner.ts';
import { stagingFxRates } from '../../transforms/staging/fx-rates.ts';
import { coreColumns } from '../../warehouse/tables/core.ts';
import { stagingColumns } from '../../warehouse/tables/staging.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { columnDrift, readBuiltColumns, type BuiltColumn } from '../support/column-drift.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * The Kysely types of `staging` and `core` (warehouse/tables/staging.ts, core.ts) against the
 * tables the models build: the types are derived from column lists, and these lists are
 * compared with PostgreSQL's catalog after a build.
 */
let wh: Warehouse;
const config = configSchema.parse({ reportingTimezone: 'Europe/Paris', reportingCurrency: 'USD' });
const NOW = new Date('2024-03-06T12:00:00Z');
const declared = { ...stagingColumns, ...coreColumns };
const modelTables = new Set(models.map((m) => m.name));

beforeAll(async () => {
  wh = await createTestDatabase('types_match');
});
afterAll(async () => wh?.close());

async function build(list = models) {
  const result = await runModels(wh.db, config, { models: list, now: NOW });
  expect(result.error).toBeUndefined();
}

describe('the staging and core types match the tables the models build', () => {
  it('declares every table and column the models build, of the kind they build it', async () => {
    await build();
    const built = await readBuiltColumns(wh.pool, ['staging', 'core']);
    // Every model's table is there to compare, and the one table a migration makes (CLV).
    expect(new Set(built.map((c) => c.table))).toEqual(new Set([...modelTables, 'core.customer_predictions']));
    expect(columnDrift(declared, built, modelTables)).toEqual([]);
  });

  it('fails when a model renames a column the types still declare', async () => {
    // Not through defineModel, whose type check would refuse it before it ran.
    // Its checks read the column it renames: they are not what this test is about.
    const renamed: Model = {
      ...stagingFxRates,
      checks: [],
      build: (db, ctx) => db.selectFrom(stagingFxRates.build(db, ctx).as('m')).select([sql`rate_key`.as('rate_key'), sql`date`.as('date'), sql`base`.as('base'), sql`quote`.as('quote'), sql`rate`.as('rate_value')]),
    };
    await build([renamed]);
    const built = await readBuiltColumns(wh.pool, ['staging', 'core']);
    expect(columnDrift(declared, built, modelTables)).toEqual([
      'staging.fx_rates.rate: the types declare it, but the table has no such column',
      'staging.fx_rates.rate_value: the table has it (numeric), but the types declare no such column',
    ]);
  });

  it('fails when a model builds a column of another kind than the types say', async () => {
    const retyped = defineModel({
      ...stagingFxRates,
      checks: [],
      build: (db, ctx) => db.selectFrom(stagingFxRates.build(db, ctx).as('m')).select([sql`rate_key`.as('rate_key'), sql`date`.as('date'), sql`base`.as('base'), sql`quote`.as('quote'), sql<string>`rate::text`.as('rate')]),
    });
    await build([retyped]);
    const built = await readBuiltColumns(wh.pool, ['staging', 'core']);
    expect(columnDrift(declared, built, modelTables)).toEqual(['staging.fx_rates.rate: the table holds text, the types say numeric']);
  });
});

describe('column drift', () => {
  const column = (table: string, name: string, type: string, notNull = false): BuiltColumn => ({ table, column: name, type, notNull });

  it('names a table on one side only', () => {
    const problems = columnDrift({ 'core.a': { id: 'text' } }, [column('core.b', 'id', 'text')], new Set(['core.a', 'core.b']));
    expect(problems).toEqual(['core.a: the types declare it, but the warehouse has no such table', 'core.b: in the warehouse, but the types declare no such table']);
  });

  it('compares nullability only where the catalog records it (a migration made the table)', () => {
    const declaredHere = { 'core.fit': { id: 'text', score: 'numeric', note: 'text?' } } as const;
    const built = [column('core.fit', 'id', 'text', true), column('core.fit', 'score', 'numeric'), column('core.fit', 'note', 'text', true)];
    expect(columnDrift(declaredHere, built, new Set())).toEqual([
      'core.fit.score: the table says nullable, the types say not null',
      'core.fit.note: the table says not null, the types say nullable',
    ]);
    // Built by `create table … as`: every column is nullable in the catalog, whatever the model's SQL.
    expect(columnDrift(declaredHere, built, new Set(['core.fit']))).toEqual([]);
  });
});

/**
 * The same rename caught when the code is compiled (`npm run typecheck` fails if defineModel
 * stops refusing it): a model's query must select the columns its table's type declares.
 */
export const renamedInTheModelOnly = () =>
  // @ts-expect-error: selects rate_value, which staging.fx_rates does not declare, and no rate
  defineModel({
    ...stagingFxRates,
    name: 'staging.fx_rates',
    build: (db) => db.selectFrom('raw.fx__rates').select([sql<string>`1`.as('date'), sql<string>`1`.as('base'), sql<string>`1`.as('quote'), sql<string>`1`.as('rate_value')]),
  });
